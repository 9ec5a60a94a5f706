import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { IAMClient } from '@aws-sdk/client-iam';
import { describe, expect, it } from 'vitest';
import { withoutSdkLogging } from '../../src/aws-client-options.js';
import { openIam } from '../../src/aws-clients.js';

const loggerSteps = (client: { middlewareStack: { identify(): string[] } }) =>
  client.middlewareStack.identify().filter((m) => m.startsWith('loggerMiddleware'));

describe("the bot's AWS clients", () => {
  it('carry no SDK logger middleware (it filters every call for a logger that prints nothing)', () => {
    // The SDK's own stack has it: if it were renamed, removing it by name would silently do nothing.
    expect(loggerSteps(new IAMClient({ region: 'us-east-1' }))).toHaveLength(1);
    expect(loggerSteps(new DynamoDBClient({ region: 'us-east-1' }))).toHaveLength(1);
    expect(loggerSteps(openIam({ region: 'us-east-1' }))).toEqual([]);
    expect(loggerSteps(withoutSdkLogging(new DynamoDBClient({ region: 'us-east-1' })))).toEqual([]);
  });
});
