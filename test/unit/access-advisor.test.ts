/**
 * The access advisor reader on a mocked IAM client: the last use of a billing namespace (other
 * services ignored, every page read), a job polled while in progress, and every way a read can
 * fail (job FAILED, throttling, access denied, no answer, the deadline) ending in "usage unknown"
 * with why, never in "unused". At most ADVISOR_CONCURRENCY jobs run at once.
 */
import {
  GenerateServiceLastAccessedDetailsCommand,
  GetServiceLastAccessedDetailsCommand,
  type GetServiceLastAccessedDetailsCommandOutput,
  GetUserCommand,
  IAMClient,
} from '@aws-sdk/client-iam';
import { type AwsClientStub, mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AccessAdvisorReader, ADVISOR_CONCURRENCY } from '../../src/aws/access-advisor.js';
import { DEFAULT_BILLING_NAMESPACES } from '../../src/config.js';
import { awsError, noSuchEntity } from '../support/iam-mock.js';

const ARN = 'arn:aws:iam::123456789012:user/finance/jane.doe';
const CREATED = new Date('2030-03-01T00:00:00Z');

function completed(services: { namespace: string; at?: string }[], more?: { marker: string }): GetServiceLastAccessedDetailsCommandOutput {
  return {
    $metadata: {},
    JobStatus: 'COMPLETED',
    JobCreationDate: CREATED,
    JobCompletionDate: CREATED,
    ServicesLastAccessed: services.map((s) => ({
      ServiceName: `AWS ${s.namespace}`,
      ServiceNamespace: s.namespace,
      ...(s.at ? { LastAuthenticated: new Date(s.at) } : {}),
    })),
    IsTruncated: Boolean(more),
    ...(more ? { Marker: more.marker } : {}),
  };
}

const inProgress: GetServiceLastAccessedDetailsCommandOutput = {
  $metadata: {},
  JobStatus: 'IN_PROGRESS',
  JobCreationDate: CREATED,
  JobCompletionDate: undefined,
  ServicesLastAccessed: [],
};

function deferred<T = void>() {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

describe('AccessAdvisorReader', () => {
  let client: IAMClient;
  let iamMock: AwsClientStub<IAMClient>;

  beforeEach(() => {
    client = new IAMClient({ region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
    iamMock = mockClient(client);
    iamMock.on(GenerateServiceLastAccessedDetailsCommand).resolves({ JobId: 'job-1' });
  });

  afterEach(() => {
    iamMock.restore();
    client.destroy();
  });

  const reader = (options: Partial<ConstructorParameters<typeof AccessAdvisorReader>[0]> = {}) =>
    new AccessAdvisorReader({ client, namespaces: DEFAULT_BILLING_NAMESPACES, firstPollMs: 1, maxPollMs: 4, ...options });

  describe('a job that completes', () => {
    it('gives the latest use of a billing namespace, ignoring other services, for the ARN it was given (no GetUser)', async () => {
      iamMock
        .on(GetServiceLastAccessedDetailsCommand)
        .resolves(
          completed([
            { namespace: 'ce', at: '2030-02-10T08:00:00Z' },
            { namespace: 'billing', at: '2030-02-20T08:00:00Z' },
            { namespace: 's3', at: '2030-02-28T08:00:00Z' },
            { namespace: 'budgets' },
          ]),
        );
      const usage = await reader().lastBillingUse({ userName: 'jane.doe', arn: ARN });
      expect(usage).toEqual({ known: true, lastUsedAt: '2030-02-20T08:00:00.000Z', service: 'billing' });
      expect(iamMock.commandCalls(GetUserCommand)).toHaveLength(0);
      expect(iamMock.commandCalls(GenerateServiceLastAccessedDetailsCommand)[0]?.args[0].input).toEqual({ Arn: ARN, Granularity: 'SERVICE_LEVEL' });
      expect(iamMock.commandCalls(GetServiceLastAccessedDetailsCommand)[0]?.args[0].input).toMatchObject({ JobId: 'job-1' });
    });

    it('says "never used" when no billing namespace has a last use (a non-billing one does not count)', async () => {
      iamMock.on(GetServiceLastAccessedDetailsCommand).resolves(completed([{ namespace: 'ce' }, { namespace: 'ec2', at: '2030-02-28T08:00:00Z' }]));
      expect(await reader().lastBillingUse({ userName: 'jane.doe', arn: ARN })).toEqual({ known: true });
    });

    it('a report that lists no billing service at all (the user is no longer allowed one) is usage unknown, never "never used"', async () => {
      iamMock.on(GetServiceLastAccessedDetailsCommand).resolves(completed([{ namespace: 'ec2', at: '2030-02-28T08:00:00Z' }, { namespace: 's3' }]));
      const usage = await reader().lastBillingUse({ userName: 'jane.doe', arn: ARN });
      expect(usage).toEqual({ known: false, reason: expect.stringContaining('lists no billing service') });
    });

    it('reads the ARN with GetUser when the caller has none (it holds the user’s path)', async () => {
      iamMock.on(GetUserCommand).resolves({ User: { UserName: 'jane.doe', UserId: 'AIDA1', Arn: ARN, Path: '/finance/', CreateDate: CREATED } });
      iamMock.on(GetServiceLastAccessedDetailsCommand).resolves(completed([{ namespace: 'ce', at: '2030-02-10T08:00:00Z' }]));
      expect(await reader().lastBillingUse({ userName: 'jane.doe' })).toMatchObject({ known: true, lastUsedAt: '2030-02-10T08:00:00.000Z' });
      expect(iamMock.commandCalls(GenerateServiceLastAccessedDetailsCommand)[0]?.args[0].input.Arn).toBe(ARN);
    });

    it('reads every page, the later ones by Marker', async () => {
      iamMock
        .on(GetServiceLastAccessedDetailsCommand, { JobId: 'job-1', Marker: undefined })
        .resolves(completed([{ namespace: 'ce', at: '2030-02-10T08:00:00Z' }], { marker: 'page-2' }))
        .on(GetServiceLastAccessedDetailsCommand, { JobId: 'job-1', Marker: 'page-2' })
        .resolves(completed([{ namespace: 'payments', at: '2030-02-25T08:00:00Z' }]));
      expect(await reader().lastBillingUse({ userName: 'jane.doe', arn: ARN })).toEqual({
        known: true,
        lastUsedAt: '2030-02-25T08:00:00.000Z',
        service: 'payments',
      });
      expect(iamMock.commandCalls(GetServiceLastAccessedDetailsCommand)).toHaveLength(2);
    });

    it('polls a job in progress until it completes', async () => {
      iamMock
        .on(GetServiceLastAccessedDetailsCommand)
        .resolvesOnce(inProgress)
        .resolvesOnce(inProgress)
        .resolves(completed([{ namespace: 'ce', at: '2030-02-10T08:00:00Z' }]));
      expect(await reader().lastBillingUse({ userName: 'jane.doe', arn: ARN })).toMatchObject({ known: true, lastUsedAt: '2030-02-10T08:00:00.000Z' });
      expect(iamMock.commandCalls(GetServiceLastAccessedDetailsCommand)).toHaveLength(3);
    });
  });

  describe('what cannot be read is "usage unknown", with why', () => {
    it('a job that FAILED: access advisor’s error code, never its message (it may carry ARNs)', async () => {
      iamMock.on(GetServiceLastAccessedDetailsCommand).resolves({
        ...inProgress,
        JobStatus: 'FAILED',
        Error: { Code: 'InternalFailure', Message: 'The report could not be generated.' },
      });
      expect(await reader().lastBillingUse({ userName: 'jane.doe', arn: ARN })).toEqual({
        known: false,
        reason: 'the access advisor job failed (InternalFailure)',
      });
    });

    it('throttling, once the SDK’s retries are spent', async () => {
      iamMock.on(GenerateServiceLastAccessedDetailsCommand).rejects(awsError('Throttling', 'Rate exceeded'));
      expect(await reader().lastBillingUse({ userName: 'jane.doe', arn: ARN })).toEqual({
        known: false,
        reason: 'IAM throttled GenerateServiceLastAccessedDetails (Throttling), after retries',
      });
      iamMock.on(GenerateServiceLastAccessedDetailsCommand).resolves({ JobId: 'job-1' });
      iamMock.on(GetServiceLastAccessedDetailsCommand).rejects(awsError('ThrottlingException', 'Rate exceeded'));
      expect(await reader().lastBillingUse({ userName: 'jane.doe', arn: ARN })).toEqual({
        known: false,
        reason: 'IAM throttled GetServiceLastAccessedDetails (ThrottlingException), after retries',
      });
    });

    it('access denied names the permission the bot lacks', async () => {
      iamMock
        .on(GenerateServiceLastAccessedDetailsCommand)
        .rejects(awsError('AccessDenied', 'User: arn:aws:sts::123456789012:assumed-role/bot is not authorized'));
      const usage = await reader().lastBillingUse({ userName: 'jane.doe', arn: ARN });
      expect(usage).toEqual({ known: false, reason: 'the bot may not call iam:GenerateServiceLastAccessedDetails (AccessDenied)' });
      // The raw message (with the account id) is not passed on.
      expect(JSON.stringify(usage)).not.toContain('123456789012');
    });

    it('a call IAM did not answer in time (the SDK’s TimeoutError, or a reset connection)', async () => {
      iamMock.on(GetServiceLastAccessedDetailsCommand).rejects(awsError('TimeoutError', 'Request did not complete within 5000 ms'));
      expect(await reader().lastBillingUse({ userName: 'jane.doe', arn: ARN })).toEqual({
        known: false,
        reason: 'IAM did not answer GetServiceLastAccessedDetails (TimeoutError)',
      });
      iamMock.on(GetServiceLastAccessedDetailsCommand).rejects(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }));
      expect(await reader().lastBillingUse({ userName: 'jane.doe', arn: ARN })).toEqual({
        known: false,
        reason: 'IAM did not answer GetServiceLastAccessedDetails (ECONNRESET)',
      });
    });

    it('a job still in progress at the deadline', async () => {
      iamMock.on(GetServiceLastAccessedDetailsCommand).resolves(inProgress);
      const usage = await reader().lastBillingUse({ userName: 'jane.doe', arn: ARN }, { deadlineMs: 30 });
      expect(usage).toEqual({ known: false, reason: 'access advisor not read within 30 ms' });
      expect(iamMock.commandCalls(GetServiceLastAccessedDetailsCommand).length).toBeGreaterThan(0);
    });

    it('a call that never answers ends at the deadline', async () => {
      iamMock.on(GenerateServiceLastAccessedDetailsCommand).callsFake(() => new Promise(() => undefined));
      expect(await reader({ deadlineMs: 25 }).lastBillingUse({ userName: 'jane.doe', arn: ARN })).toEqual({
        known: false,
        reason: 'access advisor not read within 25 ms',
      });
    });

    it('a user IAM does not know', async () => {
      iamMock.on(GetUserCommand).rejects(noSuchEntity());
      expect(await reader().lastBillingUse({ userName: 'gone.user' })).toEqual({ known: false, reason: 'no IAM user gone.user' });
      expect(iamMock.commandCalls(GenerateServiceLastAccessedDetailsCommand)).toHaveLength(0);
    });
  });

  describe('a few jobs at a time', () => {
    it(`runs at most ${ADVISOR_CONCURRENCY} jobs at once however many users are asked about, and answers each`, async () => {
      let running = 0;
      let most = 0;
      const gates: (() => void)[] = [];
      iamMock.on(GenerateServiceLastAccessedDetailsCommand).callsFake(async (input: { Arn?: string }) => {
        running += 1;
        most = Math.max(most, running);
        const gate = deferred();
        gates.push(gate.resolve);
        await gate.promise;
        return { JobId: `job-${input.Arn}` };
      });
      iamMock.on(GetServiceLastAccessedDetailsCommand).callsFake(async () => {
        running -= 1;
        return completed([{ namespace: 'ce', at: '2030-02-10T08:00:00Z' }]);
      });
      const advisor = reader();
      const reads = Array.from({ length: 10 }, (_, i) => advisor.lastBillingUse({ userName: `user${i}`, arn: `${ARN}${i}` }));
      // Open the gates one by one as jobs arrive: never more than the limit are waiting at a gate.
      let opened = 0;
      while (opened < 10) {
        await new Promise((r) => setTimeout(r, 1));
        expect(running).toBeLessThanOrEqual(ADVISOR_CONCURRENCY);
        const next = gates[opened];
        if (next) {
          next();
          opened += 1;
        }
      }
      const usages = await Promise.all(reads);
      expect(usages.every((u) => u.known)).toBe(true);
      expect(most).toBe(ADVISOR_CONCURRENCY);
    });

    it('an urgent read (an ending grant’s notice) goes before the reads already waiting (a review’s)', async () => {
      const started: string[] = [];
      const first = deferred();
      iamMock.on(GenerateServiceLastAccessedDetailsCommand).callsFake(async (input: { Arn: string }) => {
        started.push(input.Arn);
        if (started.length === 1) await first.promise;
        return { JobId: `job-${input.Arn}` };
      });
      iamMock.on(GetServiceLastAccessedDetailsCommand).resolves(completed([{ namespace: 'ce', at: '2030-02-10T08:00:00Z' }]));
      const advisor = reader({ concurrency: 1 });
      const reads = [
        advisor.lastBillingUse({ userName: 'review1', arn: 'review1' }),
        advisor.lastBillingUse({ userName: 'review2', arn: 'review2' }),
        advisor.lastBillingUse({ userName: 'review3', arn: 'review3' }),
        advisor.lastBillingUse({ userName: 'ending', arn: 'ending' }, { urgent: true }),
      ];
      await new Promise((r) => setTimeout(r, 5));
      first.resolve();
      await Promise.all(reads);
      expect(started).toEqual(['review1', 'ending', 'review2', 'review3']);
    });

    it('the deadline counts the wait for a turn: a read queued behind stuck jobs is "usage unknown"', async () => {
      iamMock.on(GenerateServiceLastAccessedDetailsCommand).callsFake(() => new Promise(() => undefined));
      const advisor = reader({ concurrency: 1 });
      const stuck = advisor.lastBillingUse({ userName: 'first', arn: `${ARN}1` }, { deadlineMs: 200 });
      const queued = await advisor.lastBillingUse({ userName: 'second', arn: `${ARN}2` }, { deadlineMs: 20 });
      expect(queued).toEqual({ known: false, reason: 'access advisor not read within 20 ms' });
      expect(iamMock.commandCalls(GenerateServiceLastAccessedDetailsCommand)).toHaveLength(1);
      expect(await stuck).toMatchObject({ known: false });
    });
  });
});
