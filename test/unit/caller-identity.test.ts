/**
 * The start-up STS lookup: an identity when STS answers, and otherwise a classified failure
 * (no credentials, refused credentials, unreachable endpoint) with its fix. The SDK's own
 * errors are produced for real where a socket can produce them (a closed port, a server that
 * never answers); credentials AWS refuses come from aws-sdk-client-mock.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { GetCallerIdentityCommand, STSClient, type STSClientConfig } from '@aws-sdk/client-sts';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { classifyCallerIdentityError, lookupCallerIdentity } from '../../src/aws/caller-identity.js';
import { freePort } from '../../testkit/moto.js';

const ACCOUNT = '123456789012';
const clients: STSClient[] = [];
const servers: { server: Server; sockets: Set<Socket> }[] = [];

function stsAt(endpoint: string, credentials: STSClientConfig['credentials'] = { accessKeyId: 'test', secretAccessKey: 'test' }) {
  const sts = new STSClient({ region: 'us-east-1', endpoint, credentials, maxAttempts: 1 });
  clients.push(sts);
  return sts;
}

function awsError(name: string, status: number): Error {
  return Object.assign(new Error(`${name} happened`), { name, $metadata: { httpStatusCode: status } });
}

/** A TCP server that accepts connections and never answers. */
async function silentServer(): Promise<string> {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  servers.push({ server, sockets });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return `http://127.0.0.1:${address.port}`;
}

afterEach(async () => {
  for (const sts of clients.splice(0)) sts.destroy();
  for (const { server, sockets } of servers.splice(0)) {
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});

describe('lookupCallerIdentity', () => {
  it('names the account and the identity STS answers with', async () => {
    const sts = stsAt('http://127.0.0.1:1');
    mockClient(sts)
      .on(GetCallerIdentityCommand)
      .resolves({ Account: ACCOUNT, Arn: `arn:aws:sts::${ACCOUNT}:assumed-role/billing-bot/task`, UserId: 'AROA:task' });
    expect(await lookupCallerIdentity(sts)).toEqual({ found: true, account: ACCOUNT, arn: `arn:aws:sts::${ACCOUNT}:assumed-role/billing-bot/task` });
  });

  it('no credentials: says so, with where to set them', async () => {
    const noCredentials = () => Promise.reject(Object.assign(new Error('Could not load credentials from any providers'), { name: 'CredentialsProviderError' }));
    const found = await lookupCallerIdentity(stsAt('http://127.0.0.1:1', noCredentials));
    expect(found).toMatchObject({ found: false, problem: 'no-credentials', reason: 'no AWS credentials' });
    if (found.found) throw new Error('unreachable');
    expect(found.fix).toMatch(/AWS_PROFILE/);
    expect(found.fix).toMatch(/AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY/);
  });

  it('a profile the SDK cannot load: says which, with the same fix', () => {
    const missing = classifyCallerIdentityError(
      Object.assign(new Error('Profile billing could not be found or parsed in shared credentials file.'), { name: 'CredentialsProviderError' }),
    );
    expect(missing).toMatchObject({ problem: 'no-credentials' });
    expect(missing.reason).toContain('Profile billing could not be found');
    expect(missing.fix).toMatch(/AWS_PROFILE/);
  });

  it('credentials AWS refuses: names the error and says to check or renew them', async () => {
    const sts = stsAt('http://127.0.0.1:1');
    mockClient(sts).on(GetCallerIdentityCommand).rejects(awsError('InvalidClientTokenId', 403));
    const found = await lookupCallerIdentity(sts);
    expect(found).toMatchObject({ found: false, problem: 'refused' });
    if (found.found) throw new Error('unreachable');
    expect(found.reason).toBe('AWS refused the credentials (InvalidClientTokenId (HTTP 403): InvalidClientTokenId happened)');
    expect(found.fix).toMatch(/renew an expired session/);
    for (const name of ['ExpiredToken', 'SignatureDoesNotMatch', 'UnrecognizedClientException']) {
      expect(classifyCallerIdentityError(awsError(name, 403)).problem, name).toBe('refused');
    }
  });

  it('an endpoint nobody listens on: unreachable, naming the address, with AWS_ENDPOINT_URL in the fix', async () => {
    const port = await freePort();
    const found = await lookupCallerIdentity(stsAt(`http://127.0.0.1:${port}`));
    expect(found).toMatchObject({ found: false, problem: 'unreachable' });
    if (found.found) throw new Error('unreachable');
    expect(found.reason).toBe(`the STS endpoint did not answer (connect ECONNREFUSED 127.0.0.1:${port})`);
    expect(found.fix).toMatch(/AWS_ENDPOINT_URL and AWS_ENDPOINT_URL_STS/);
  });

  it('an endpoint that never answers: abandoned at the deadline, unreachable', async () => {
    const found = await lookupCallerIdentity(stsAt(await silentServer()), 300);
    expect(found).toMatchObject({ found: false, problem: 'unreachable' });
    if (found.found) throw new Error('unreachable');
    expect(found.reason).toBe('the STS endpoint did not answer (no reply within 0.3 s)');
  });

  it('anything else: the error as it came, and a general fix', () => {
    const other = classifyCallerIdentityError(awsError('InternalFailure', 500));
    expect(other).toMatchObject({ problem: 'failed', reason: 'sts:GetCallerIdentity failed (InternalFailure (HTTP 500): InternalFailure happened)' });
  });
});
