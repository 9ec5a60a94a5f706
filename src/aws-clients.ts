/**
 * The bot's IAM and DynamoDB clients, each with the bot's time limits and retries, and nothing
 * else: src/deps.ts (in the work thread) builds the bot's here, the CLIs theirs. The STS client
 * is src/sts-client.ts, so that main.ts can ask who the bot is without loading these.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { IAMClient } from '@aws-sdk/client-iam';
import { AWS_HTTP_TIMEOUTS, type AwsOptions, withoutSdkLogging } from './aws-client-options.js';
import type { Config } from './config.js';
import { type EmbeddedDynamo, startEmbeddedDynamo } from './store/embedded.js';

export function openIam(aws: AwsOptions): IAMClient {
  // Standard-mode retries with backoff and jitter absorb IAM throttling, resets and timeouts before an error reaches a request.
  // cacheMiddleware: the middleware stack is resolved once per command type, not again on every
  // call (about a fifth of a call's CPU here); no IAM command of the bot adds middleware of its own.
  return withoutSdkLogging(
    new IAMClient({ ...(aws.region ? { region: aws.region } : {}), maxAttempts: 5, requestHandler: AWS_HTTP_TIMEOUTS, cacheMiddleware: true }),
  );
}

/**
 * The DynamoDB client: embedded (loopback dynalite with dummy credentials) or the SDK's own chain.
 * It resolves its middleware stack once per command type (cacheMiddleware), which lib-dynamodb's
 * client refuses: items go through src/store/document-client.ts's DocumentTable.
 */
export async function openDynamo(config: Pick<Config, 'store' | 'dataDir'>, aws: AwsOptions): Promise<{ client: DynamoDBClient; embedded?: EmbeddedDynamo }> {
  if (config.store === 'embedded') {
    const embedded = await startEmbeddedDynamo(config.dataDir);
    const client = new DynamoDBClient({
      endpoint: embedded.endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'embedded', secretAccessKey: 'embedded' },
      cacheMiddleware: true,
    });
    return { client: withoutSdkLogging(client), embedded };
  }
  return {
    client: withoutSdkLogging(
      new DynamoDBClient({ ...(aws.region ? { region: aws.region } : {}), maxAttempts: 5, requestHandler: AWS_HTTP_TIMEOUTS, cacheMiddleware: true }),
    ),
  };
}
