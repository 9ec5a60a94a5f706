/** The test suite's fake Slack is the playground's stand-in: one implementation. */
export * from '../../playground/slack-standin.js';
export { SlackStandIn as FakeSlack } from '../../playground/slack-standin.js';
