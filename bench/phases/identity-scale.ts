/**
 * The identity-at-scale phase (PRODUCT §6, `identity_at_scale`): 5,000 IAM users tagged with
 * their email, and a stream of IAM_USER_MAPPING=tag lookups through the bot's own AwsIamGateway,
 * each IAM call it makes counted. The lookups are spread over simulated time (the gateway's
 * clock), a few a minute with some unknown addresses among them, so the index is rebuilt as its
 * caches age (hits after five minutes, misses after one), as a busy bot would see it.
 *
 * The users live in an IAM account of their own on the shared moto (an STS session into another
 * account id), so no other phase sees them. moto answers GetAccountAuthorizationDetails with every
 * user in one page whatever MaxItems asks; IAM pages by at most 1,000, so the figures say what the
 * same builds cost there too.
 *
 * Also exports what the review-at-scale phase shares: the account of its own, the call counter,
 * and seeding a few calls at a time.
 */
import { CreateUserCommand, IAMClient } from '@aws-sdk/client-iam';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { AwsIamGateway } from '../../src/aws/iam.js';
import { fmt } from '../report.js';
import type { PhaseContext } from './context.js';

/** A type, not an interface: bench/results.ts takes it as figures with any more fields. */
export type IdentityAtScaleResult = {
  iam_users: number;
  /** IAM calls over the stream's lookups, divided by the lookups (builds as moto answers them). */
  iam_calls_per_lookup: number;
  lookups: number;
  ms_per_lookup: number;
  /** The same builds paged as IAM pages them (1,000 users a call). */
  iam_calls_per_lookup_paged_by_1000: number;
  /** The first lookup, on an empty cache: one build. */
  first_lookup_iam_calls: number;
  first_lookup_ms: number;
  index_builds: number;
  /** CPU of this process per build (the SDK parsing the users and their tags: the bot's event loop in production). */
  cpu_ms_per_build: number;
  /** The stream's simulated span, and how it was made. */
  simulated_minutes: number;
  lookups_per_minute: number;
  misses: number;
  iam_calls_by_action: Record<string, number>;
  seed_ms: number;
};

const USERS = 5_000;
/** Lookups in the stream, and its pace in simulated time. */
const LOOKUPS = { full: 200, quick: 60 };
const LOOKUP_EVERY_MS = 3_000;
/** Every tenth lookup is an address nobody is tagged with. */
const MISS_EVERY = 10;
/** IAM's largest page of GetAccountAuthorizationDetails. */
const IAM_PAGE = 1_000;

/** IAM calls one client made (each attempt, retries included), by action, and the most in flight at once. */
export interface CallCounter {
  readonly byAction: Record<string, number>;
  total(): number;
  readonly inFlight: { now: number; max: number };
  reset(): void;
}

/** Counts every HTTP attempt `client` makes (inside the SDK's retry loop) and how many are in flight. */
export function countCalls(client: IAMClient): CallCounter {
  const counter = {
    byAction: {} as Record<string, number>,
    inFlight: { now: 0, max: 0 },
    total: () => Object.values(counter.byAction).reduce((a, b) => a + b, 0),
    reset: () => {
      for (const key of Object.keys(counter.byAction)) delete counter.byAction[key];
      counter.inFlight.max = counter.inFlight.now;
    },
  };
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const action = (context.commandName ?? 'unknown').replace(/Command$/, '');
      counter.byAction[action] = (counter.byAction[action] ?? 0) + 1;
      counter.inFlight.now++;
      counter.inFlight.max = Math.max(counter.inFlight.max, counter.inFlight.now);
      try {
        return await next(args);
      } finally {
        counter.inFlight.now--;
      }
    },
    { step: 'finalizeRequest', priority: 'low', name: 'benchCallCounter' },
  );
  return counter;
}

/** An IAM client on moto acting in IAM account `accountId` (an STS session into it): that account's users and groups only. */
export async function scaleAccountClient(endpoint: string, accountId: string): Promise<IAMClient> {
  const base = { endpoint, region: 'us-east-1' };
  const sts = new STSClient({ ...base, credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' } });
  const session = await sts.send(new AssumeRoleCommand({ RoleArn: `arn:aws:iam::${accountId}:role/bench-scale`, RoleSessionName: 'bench-scale' }));
  sts.destroy();
  const c = session.Credentials;
  if (!c?.AccessKeyId || !c.SecretAccessKey) throw new Error(`moto gave no credentials for account ${accountId}`);
  return new IAMClient({ ...base, credentials: { accessKeyId: c.AccessKeyId, secretAccessKey: c.SecretAccessKey, sessionToken: c.SessionToken } });
}

/** Runs `task` for 0..count-1, `concurrency` at a time. */
export async function eachAtMost(count: number, concurrency: number, task: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, count) }, async () => {
      while (next < count) await task(next++);
    }),
  );
}

/** A user made by an earlier run on the same moto is as good as a new one. */
export const existed = (err: unknown) =>
  (err as { name?: string }).name === 'EntityAlreadyExists' || (err as { name?: string }).name === 'EntityAlreadyExistsException';

const userName = (i: number) => `scale${String(i).padStart(4, '0')}`;
const emailOf = (i: number) => `${userName(i)}@corp.com`;

export async function measureIdentityAtScale(ctx: PhaseContext): Promise<IdentityAtScaleResult> {
  const seeder = await scaleAccountClient(ctx.rig.moto.endpoint, '210000000015');
  const seedStarted = performance.now();
  await eachAtMost(USERS, 16, async (i) => {
    // Upper case in the tag: the lookup compares addresses case-insensitively.
    const tags = [
      { Key: 'email', Value: i % 7 === 0 ? emailOf(i).toUpperCase() : emailOf(i) },
      { Key: 'team', Value: `team-${i % 40}` },
    ];
    await seeder.send(new CreateUserCommand({ UserName: userName(i), Tags: tags })).catch((err: unknown) => {
      if (!existed(err)) throw err;
    });
  });
  const seedMs = performance.now() - seedStarted;
  seeder.destroy();
  ctx.log(`  IAM: ${USERS.toLocaleString('en-US')} users tagged email=<address> in ${fmt(seedMs / 1000, 1)} s (an account of their own)`);
  ctx.clock.done('identity at scale: IAM users');

  const client = await scaleAccountClient(ctx.rig.moto.endpoint, '210000000015');
  const calls = countCalls(client);
  let simulatedNow = Date.now();
  const gateway = new AwsIamGateway({ client, groups: [], now: () => simulatedNow });
  const lookups = ctx.settings.quick ? LOOKUPS.quick : LOOKUPS.full;
  await ctx.seeding.pause();

  const run = await ctx.meter.measure('identity-scale', async () => {
    const cpuBefore = process.cpuUsage();
    const started = performance.now();
    let builds = 0;
    let firstCalls = 0;
    let firstMs = 0;
    let misses = 0;
    for (let n = 0; n < lookups; n++) {
      const miss = n % MISS_EVERY === MISS_EVERY - 1;
      const i = (n * 2_749) % USERS;
      const before = calls.total();
      const t = performance.now();
      const found = await gateway.findUserByEmailTag(miss ? `nobody${n}@corp.com` : emailOf(i));
      if (n === 0) {
        firstCalls = calls.total() - before;
        firstMs = performance.now() - t;
      }
      if (calls.total() > before) builds++;
      const expected = miss ? undefined : userName(i);
      if (found !== expected)
        throw new Error(`lookup ${n}: ${miss ? 'an unknown address' : emailOf(i)} gave ${found ?? 'nobody'}, not ${expected ?? 'nobody'}`);
      if (miss) misses++;
      simulatedNow += LOOKUP_EVERY_MS;
    }
    const cpu = process.cpuUsage(cpuBefore);
    return { ms: performance.now() - started, cpuMs: (cpu.user + cpu.system) / 1000, builds, firstCalls, firstMs, misses };
  });
  client.destroy();

  const total = calls.total();
  const pagesPerBuild = Math.ceil(USERS / IAM_PAGE);
  const result: IdentityAtScaleResult = {
    iam_users: USERS,
    iam_calls_per_lookup: total / lookups,
    lookups,
    ms_per_lookup: run.ms / lookups,
    iam_calls_per_lookup_paged_by_1000: (run.builds * pagesPerBuild) / lookups,
    first_lookup_iam_calls: run.firstCalls,
    first_lookup_ms: run.firstMs,
    index_builds: run.builds,
    cpu_ms_per_build: run.builds ? run.cpuMs / run.builds : 0,
    simulated_minutes: (lookups * LOOKUP_EVERY_MS) / 60_000,
    lookups_per_minute: 60_000 / LOOKUP_EVERY_MS,
    misses: run.misses,
    iam_calls_by_action: { ...calls.byAction },
    seed_ms: seedMs,
  };
  ctx.log(
    `  identity at scale: ${lookups} lookups over ${fmt(result.simulated_minutes, 0)} simulated minutes, ${run.builds} index builds, ${total} IAM calls ` +
      `(${fmt(result.iam_calls_per_lookup, 3)} a lookup; ${fmt(result.iam_calls_per_lookup_paged_by_1000, 3)} paged by 1,000 as IAM does), ` +
      `${fmt(result.ms_per_lookup, 1)} ms a lookup, first ${fmt(run.firstMs, 0)} ms, ${fmt(result.cpu_ms_per_build, 0)} ms CPU a build`,
  );
  ctx.clock.done('identity at scale: lookups');
  return result;
}
