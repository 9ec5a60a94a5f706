// A stand-in work thread for test/unit/work-thread.test.ts: speaks src/post-ack/messages.ts.
// workerData.mode: 'ready' (holds jobs until a Retry of request FINISH arrives, then reports every held job
// done), 'missing-table' (fails at start as buildDeps does), 'die' (ready, then ends on the first job).
import { parentPort, workerData } from 'node:worker_threads';

if (workerData.mode === 'missing-table') {
  parentPort.postMessage({ type: 'failed', name: 'MissingTableError', message: 'DynamoDB table "t" does not exist' });
} else {
  const held = [];
  parentPort.on('message', (message) => {
    if (message.type === 'job') {
      if (workerData.mode === 'die') process.exit(3);
      if (message.job.kind === 'decision' && message.job.click.requestId === 'FINISH') {
        for (const label of held.splice(0)) parentPort.postMessage({ type: 'done', label });
        parentPort.postMessage({ type: 'done', label: 'action.retry' });
      } else {
        held.push(message.job.kind === 'decision' ? `action.${message.job.action}` : `command.${message.job.command.kind}`);
      }
    } else if (message.type === 'health') {
      parentPort.postMessage({ type: 'health', id: message.id, answer: { status: 200, body: { ok: true, lastSweep: null, held: held.length } } });
    } else if (message.type === 'stop') {
      parentPort.postMessage({ type: 'stopped' });
    }
  });
  parentPort.postMessage({ type: 'ready', nextSummaryAt: '2026-12-07T09:00:00.000Z' });
}
