/**
 * The bot's AWS SDK clients, each with the bot's time limits and retries, and nothing else: the
 * entry points build them here (main.ts its STS client before the rest of the bot loads, the
 * CLIs theirs), and src/deps.ts the bot's own.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { IAMClient } from '@aws-sdk/client-iam';
import { STSClient } from '@aws-sdk/client-sts';
import type { Config } from './config.js';
import { type EmbeddedDynamo, startEmbeddedDynamo } from './store/embedded.js';

export interface AwsOptions {
  /** undefined: let the SDK resolve it (AWS_REGION, profile); otherwise this region. */
  region: string | undefined;
}

/**
 * Time limits on every AWS call of the bot (the SDK sets none: a call whose answer never comes
 * would hold an approval or a sweep for good). IAM and DynamoDB answer in well under a second;
 * a call past these ends in a TimeoutError, which standard-mode retries treat as transient, so
 * it is made again (group membership is idempotent; the store's writes are conditional).
 */
export const AWS_HTTP_TIMEOUTS = { connectionTimeout: 2_000, requestTimeout: 5_000, throwOnRequestTimeout: true } as const;

/**
 * The bot logs AWS failures itself and gives the SDK no logger; the SDK's logger middleware would
 * still copy every call's input and output through its sensitive-data filter, for nothing.
 */
export function withoutSdkLogging<C extends { middlewareStack: { remove(name: string): boolean } }>(client: C): C {
  client.middlewareStack.remove('loggerMiddleware');
  return client;
}

export function openIam(aws: AwsOptions): IAMClient {
  // Standard-mode retries with backoff and jitter absorb IAM throttling, resets and timeouts before an error reaches a request.
  // cacheMiddleware: the middleware stack is resolved once per command type, not again on every
  // call (about a fifth of a call's CPU here); no IAM command of the bot adds middleware of its own.
  return withoutSdkLogging(
    new IAMClient({ ...(aws.region ? { region: aws.region } : {}), maxAttempts: 5, requestHandler: AWS_HTTP_TIMEOUTS, cacheMiddleware: true }),
  );
}

/** The DynamoDB client: embedded (loopback dynalite with dummy credentials) or the SDK's own chain. */
export async function openDynamo(config: Pick<Config, 'store' | 'dataDir'>, aws: AwsOptions): Promise<{ client: DynamoDBClient; embedded?: EmbeddedDynamo }> {
  if (config.store === 'embedded') {
    const embedded = await startEmbeddedDynamo(config.dataDir);
    const client = new DynamoDBClient({
      endpoint: embedded.endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'embedded', secretAccessKey: 'embedded' },
    });
    return { client: withoutSdkLogging(client), embedded };
  }
  return {
    client: withoutSdkLogging(new DynamoDBClient({ ...(aws.region ? { region: aws.region } : {}), maxAttempts: 5, requestHandler: AWS_HTTP_TIMEOUTS })),
  };
}

/** STS: who the bot is (the start-up summary; live mode refuses to start without an answer) and doctor's "who am I" before it simulates the bot's own permissions. */
export function openSts(aws: { region: string | undefined }): STSClient {
  return new STSClient({ ...(aws.region ? { region: aws.region } : {}), maxAttempts: 3, requestHandler: AWS_HTTP_TIMEOUTS });
}
