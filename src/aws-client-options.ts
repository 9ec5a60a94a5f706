/**
 * What every AWS SDK client of the bot shares: the region option, the time limits on each call
 * and no SDK logging. No SDK import here: the thread that answers Slack loads this (the STS
 * client at start-up) without loading the IAM and DynamoDB clients.
 */

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
