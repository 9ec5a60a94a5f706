/**
 * The baseline: a bare Bolt app (HTTP receiver) that only acknowledges a signed slash command
 * or button click.
 * Same receiver options as the bot; given its ids so it never calls auth.test.
 * Env: PORT, SLACK_SIGNING_SECRET, SLACK_BOT_TOKEN, SLACK_API_URL.
 */
import { App, HTTPReceiver, LogLevel } from '@slack/bolt';

const receiver = new HTTPReceiver({
  signingSecret: process.env.SLACK_SIGNING_SECRET ?? '',
  endpoints: '/slack/events',
  processBeforeResponse: false,
  customRoutes: [
    {
      path: '/healthz',
      method: ['GET'],
      handler: (_req, res) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end('{"ok":true}');
      },
    },
  ],
});
const app = new App({
  token: process.env.SLACK_BOT_TOKEN ?? '',
  receiver,
  tokenVerificationEnabled: false,
  botId: 'B0BOT',
  botUserId: 'UBOT',
  logLevel: LogLevel.WARN,
  clientOptions: { slackApiUrl: process.env.SLACK_API_URL ?? 'http://127.0.0.1:9/api/' },
});
app.command('/request-billing', async ({ ack }) => {
  await ack();
});
// Button clicks (the sustained phase's Approve clicks): acked, nothing more.
app.action(/.*/, async ({ ack }) => {
  await ack();
});
await receiver.start({ port: Number(process.env.PORT), host: '127.0.0.1' });
const stop = () => {
  void app.stop().finally(() => process.exit(0));
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
