/**
 * A dynalite server in its own process (in memory, loopback), so its work never shares an event
 * loop with the load generator or the fake Slack. Prints `{"endpoint": …}` once listening;
 * stops on SIGTERM or SIGINT.
 */
import { startEmbeddedDynamo } from '../src/store/embedded.js';

const dynamo = await startEmbeddedDynamo(null);
process.stdout.write(`${JSON.stringify({ endpoint: dynamo.endpoint })}\n`);
const stop = () => {
  void dynamo.close().finally(() => process.exit(0));
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
