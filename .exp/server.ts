import { Worker } from 'node:worker_threads';
import { createHash } from 'node:crypto';
import { App, HTTPReceiver, LogLevel } from '@slack/bolt';
const mode = process.env.MODE ?? 'bare';
const burn = () => { const t = performance.now(); while (performance.now() - t < 1) createHash('sha256').update('x'.repeat(1000)).digest(); };
if (mode === 'thread') {
  new Worker(`const os = require('node:os'); const fs = require('node:fs'); const tid = Number(fs.readlinkSync('/proc/thread-self').split('/').pop()); if (process.env.NICE) os.setPriority(tid, Number(process.env.NICE)); const { createHash } = require('node:crypto'); const burn = () => { const t = performance.now(); while (performance.now() - t < 1) createHash('sha256').update('x'.repeat(1000)).digest(); }; const loop = () => { for (let i = 0; i < 4; i++) burn(); setImmediate(loop); }; loop();`, { eval: true });
}
if (mode === 'inline') { const loop = () => { burn(); setImmediate(loop); }; loop(); }
const receiver = new HTTPReceiver({ signingSecret: 'secret', endpoints: '/slack/events', processBeforeResponse: false });
const app = new App({ token: 'xoxb-x', receiver, tokenVerificationEnabled: false, botId: 'B', botUserId: 'U', logLevel: LogLevel.WARN });
app.command('/request-billing', async ({ ack }) => { await ack(); });
await receiver.start({ port: Number(process.env.PORT), host: '127.0.0.1' });
