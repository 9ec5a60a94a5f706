/**
 * The hints setup, audit and doctor share (src/environment-hints.ts): which errors they
 * recognise, through the bot's own wrappers, and that doctor's checks speak them word for word.
 * The CLIs meeting the real causes as processes: test/integration/cli-hints.test.ts.
 */
import { DescribeTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetGroupCommand, IAMClient } from '@aws-sdk/client-iam';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { AwsDoctorProbe } from '../../src/aws/doctor-probe.js';
import { AwsIamGateway } from '../../src/aws/iam.js';
import { checkGroup, checkPermissions, checkTable } from '../../src/doctor/checks.js';
import { formatHint, heldStoreHint, hintForError, noCredentialsHint, unreachableEndpointHint } from '../../src/environment-hints.js';
import { EmbeddedStoreInUseError, IamUnavailableError } from '../../src/errors.js';
import { freePort } from '../../testkit/moto.js';

const named = (name: string, message: string, extra: Record<string, unknown> = {}) => Object.assign(new Error(message), { name, ...extra });
const noProviders = () => named('CredentialsProviderError', 'Could not load credentials from any providers');

/** A loopback port that refuses connections: listened on, then closed. */
const refusedPort = freePort;

describe('hintForError', () => {
  it('no credentials: the SDK’s CredentialsProviderError, bare or wrapped by the IAM gateway, never named in the hint', () => {
    for (const err of [noProviders(), new IamUnavailableError('GetGroup', noProviders())]) {
      const hint = hintForError(err, { service: 'IAM' });
      expect(hint).toEqual(noCredentialsHint());
      expect(formatHint(hint ?? noCredentialsHint())).not.toMatch(/CredentialsProviderError|Could not load credentials/);
    }
    expect(noCredentialsHint().fix).toMatch(/AWS_PROFILE/);
    expect(noCredentialsHint().fix).toMatch(/AWS_ACCESS_KEY_ID/);
    expect(noCredentialsHint().fix).toMatch(/AWS_ENDPOINT_URL/);
  });

  it('credentials that exist but do not load (a profile that is not there): the same fix, with the SDK’s reason', () => {
    const err = named('CredentialsProviderError', 'Could not resolve credentials using profile: [nope] in configuration/credentials file(s).');
    const hint = hintForError(err, { service: 'DynamoDB' });
    expect(hint?.fix).toBe(noCredentialsHint().fix);
    expect(hint?.problem).toMatch(/profile: \[nope\]/);
  });

  it('an endpoint that refuses, a host that does not resolve, a connection that times out: the endpoint hint for that service', () => {
    const refused = named('Error', 'connect ECONNREFUSED 127.0.0.1:9', { code: 'ECONNREFUSED' });
    expect(hintForError(refused, { service: 'DynamoDB' })).toEqual(unreachableEndpointHint('DynamoDB', 'connect ECONNREFUSED 127.0.0.1:9'));
    expect(hintForError(refused, { service: 'DynamoDB' })?.fix).toMatch(/AWS_ENDPOINT_URL_DYNAMODB/);
    const unknownHost = named('Error', 'getaddrinfo ENOTFOUND moto.invalid', { code: 'ENOTFOUND' });
    expect(hintForError(new IamUnavailableError('GetGroup', unknownHost), { service: 'IAM' })?.problem).toBe(
      'the IAM endpoint did not answer (getaddrinfo ENOTFOUND moto.invalid)',
    );
    const timeout = named('TimeoutError', 'Socket timed out without establishing a connection within 2000 ms');
    expect(hintForError(timeout, { service: 'STS' })?.fix).toMatch(/AWS_ENDPOINT_URL_STS/);
  });

  it('the embedded store held by another process: the held-store hint naming DATA_DIR', () => {
    const hint = hintForError(new EmbeddedStoreInUseError('in use'), { service: 'DynamoDB', dataDir: '/srv/bot/data' });
    expect(hint).toEqual(heldStoreHint('/srv/bot/data'));
    expect(hint?.problem).toMatch(/\/srv\/bot\/data/);
    expect(hint?.fix).toMatch(/DATA_DIR/);
    expect(hint?.fix).toMatch(/STORE=dynamodb/);
  });

  it('anything else is not guessed at: undefined, and the caller reports the error as it is', () => {
    expect(hintForError(named('AccessDeniedException', 'no'), { service: 'DynamoDB' })).toBeUndefined();
    expect(hintForError(named('Error', 'boom', { code: 'EPIPE' }), { service: 'IAM' })).toBeUndefined();
    expect(hintForError('a string', { service: 'IAM' })).toBeUndefined();
  });
});

describe('doctor’s checks give the shared hints', () => {
  const clients: { destroy(): void }[] = [];
  afterEach(() => {
    for (const c of clients.splice(0)) c.destroy();
  });

  it('no credentials: the group line and the permissions line carry noCredentialsHint’s fix', async () => {
    const iam = new IAMClient({ region: 'us-east-1' });
    const sts = new STSClient({ region: 'us-east-1' });
    clients.push(iam, sts);
    mockClient(iam).on(GetGroupCommand).rejects(noProviders());
    mockClient(sts).on(GetCallerIdentityCommand).rejects(noProviders());
    const level = { level: 'read-only', groupName: 'BillingReadOnly', policyArn: 'arn:aws:iam::aws:policy/AWSBillingReadOnlyAccess', approvalsRequired: 1 };
    const gateway = new AwsIamGateway({ client: iam, groups: [level.groupName], policyArns: [level.policyArn] });
    const group = await checkGroup(gateway, level, []);
    expect(group.result).toMatchObject({ status: 'fail', fix: noCredentialsHint().fix });
    expect(group.result.detail).toBe(`could not read IAM: ${noCredentialsHint().problem}`);
    const permissions = await checkPermissions({ probe: new AwsDoctorProbe(iam, sts), groups: [], iamMode: 'live', iamUserMapping: 'email-localpart' });
    expect(permissions).toMatchObject({ status: 'fail', fix: noCredentialsHint().fix });
  });

  it('an endpoint nothing listens on: the table line names the address and carries the endpoint hint (a real refused connection)', async () => {
    const port = await refusedPort();
    const dynamo = new DynamoDBClient({
      endpoint: `http://127.0.0.1:${port}`,
      region: 'us-east-1',
      maxAttempts: 1,
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    });
    clients.push(dynamo);
    const table = await checkTable(dynamo, { tableName: 'billing-access', store: 'dynamodb' });
    const why = `connect ECONNREFUSED 127.0.0.1:${port}`;
    expect(table.result).toMatchObject({ status: 'fail', fix: unreachableEndpointHint('DynamoDB', why).fix });
    expect(table.result.detail).toBe(`could not read the table: ${unreachableEndpointHint('DynamoDB', why).problem}`);
    // The same error the SDK gave doctor, handed to the hint directly, gives the same words.
    const err = await dynamo.send(new DescribeTableCommand({ TableName: 'billing-access' })).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(hintForError(err, { service: 'DynamoDB' })).toEqual(unreachableEndpointHint('DynamoDB', why));
  });
});
