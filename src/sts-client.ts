/**
 * The STS client, apart from the IAM and DynamoDB clients (src/aws-clients.ts): main.ts asks who
 * the bot is while the rest of the bot loads, and the thread that answers Slack loads no other SDK client.
 */
import { STSClient } from '@aws-sdk/client-sts';
import { AWS_HTTP_TIMEOUTS, type AwsOptions } from './aws-client-options.js';

/** STS: who the bot is (the start-up summary; live mode refuses to start without an answer) and doctor's "who am I" before it simulates the bot's own permissions. */
export function openSts(aws: AwsOptions): STSClient {
  return new STSClient({ ...(aws.region ? { region: aws.region } : {}), maxAttempts: 3, requestHandler: AWS_HTTP_TIMEOUTS });
}
