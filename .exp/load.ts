import { Agent, request } from 'node:http';
import { signSlackRequest } from '../testkit/slack-signing.js';
const port = Number(process.argv[2]); const rate = 150; const seconds = 8;
const agent = new Agent({ keepAlive: true, maxSockets: 50 });
const body = 'command=%2Frequest-billing&text=help&user_id=U1&team_id=T1&channel_id=C1&response_url=http%3A%2F%2F127.0.0.1%3A9%2Fr&trigger_id=t';
const lat: number[] = [];
const one = () => new Promise<void>((resolve) => {
  const signed = signSlackRequest('secret', body); const t0 = performance.now();
  const req = request({ host: '127.0.0.1', port, path: '/slack/events', method: 'POST', agent, headers: { 'content-type': 'application/x-www-form-urlencoded', ...signed } }, (res) => { res.resume(); res.on('end', () => { lat.push(performance.now() - t0); resolve(); }); });
  req.end(body);
});
const start = performance.now(); const all: Promise<void>[] = [];
for (let i = 0; i < rate * seconds; i++) { const due = start + (i * 1000) / rate; const wait = due - performance.now(); if (wait > 0) await new Promise((r) => setTimeout(r, wait)); all.push(one()); }
await Promise.all(all); lat.sort((a, b) => a - b);
const at = (p: number) => lat[Math.ceil((p / 100) * lat.length) - 1]!.toFixed(1);
console.log(`n=${lat.length} p50=${at(50)} p90=${at(90)} p99=${at(99)} max=${lat[lat.length - 1]!.toFixed(1)}`);
process.exit(0);
