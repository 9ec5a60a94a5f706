/**
 * The review-at-scale phase (PRODUCT §6, `review_at_scale`): 500 members in the two billing
 * groups, and the weekly summary's access review of them built by the bot's own SummaryService
 * through its AwsIamGateway, every IAM call counted with the most in flight at once. The groups
 * and users live in an IAM account of their own on the shared moto, so no other phase sees them.
 * The store holds no grants (every member is drift, reported, not removed): the review's IAM
 * reads are the same either way.
 */
import { AddUserToGroupCommand, CreateUserCommand } from '@aws-sdk/client-iam';
import { AwsIamGateway } from '../../src/aws/iam.js';
import { loadConfig } from '../../src/config.js';
import { summarySchedule } from '../../src/deps.js';
import { AdminPolicy } from '../../src/services/admins.js';
import { GroupMembership } from '../../src/services/membership.js';
import type { RequestStore, SummaryStore } from '../../src/services/ports.js';
import { REVIEW_CONCURRENCY, SummaryService } from '../../src/services/summary-service.js';
import { createGroup } from '../../testkit/iam-fixtures.js';
import { LEVELS } from '../fixtures.js';
import { fmt } from '../report.js';
import { botEnv } from '../rig.js';
import { BOT_TABLE } from '../settings.js';
import type { PhaseContext } from './context.js';
import { countCalls, eachAtMost, existed, scaleAccountClient } from './identity-scale.js';

/** A type, not an interface: bench/results.ts takes it as figures with any more fields. */
export type ReviewAtScaleResult = {
  members: number;
  iam_calls: number;
  ms: number;
  /** The most IAM calls in flight at once during the review. */
  max_concurrency: number;
  /** Members the review reads at once (src/services/summary-service.ts). */
  review_concurrency: number;
  iam_calls_per_member: number;
  iam_calls_by_action: Record<string, number>;
  groups: number;
  seed_ms: number;
};

const MEMBERS = 500;
const ACCOUNT = '210000000016';

/** A store with no requests: the summary's reads all answer empty. */
function emptyStore(): RequestStore & SummaryStore {
  const none = async () => [];
  return { listCreatedBetween: none, listByStatus: none, listExpiring: none, appendAudit: async () => undefined } as unknown as RequestStore & SummaryStore;
}

const memberName = (i: number) => `member${String(i).padStart(3, '0')}`;

export async function measureReviewAtScale(ctx: PhaseContext): Promise<ReviewAtScaleResult> {
  const seeder = await scaleAccountClient(ctx.rig.moto.endpoint, ACCOUNT);
  const seedStarted = performance.now();
  for (const l of LEVELS) {
    await createGroup(seeder, l.group, l.policy).catch((err: unknown) => {
      if (!existed(err)) throw err;
    });
  }
  // Members split over the groups, the first level's group holding the larger share.
  await eachAtMost(MEMBERS, 16, async (i) => {
    await seeder.send(new CreateUserCommand({ UserName: memberName(i) })).catch((err: unknown) => {
      if (!existed(err)) throw err;
    });
    const group = LEVELS[i % 5 < 3 ? 0 : 1].group;
    await seeder.send(new AddUserToGroupCommand({ UserName: memberName(i), GroupName: group }));
  });
  const seedMs = performance.now() - seedStarted;
  seeder.destroy();
  ctx.log(`  IAM: ${MEMBERS} members in ${LEVELS.length} billing groups in ${fmt(seedMs / 1000, 1)} s (an account of their own)`);
  ctx.clock.done('review at scale: IAM members');

  const config = loadConfig(botEnv({ slackApiUrl: 'http://127.0.0.1:9/api/', dynamoUrl: '', iamUrl: '' }, 0, BOT_TABLE));
  const client = await scaleAccountClient(ctx.rig.moto.endpoint, ACCOUNT);
  const calls = countCalls(client);
  const iam = new AwsIamGateway({ client, groups: config.levels.map((l) => l.groupName), policyArns: config.levels.map((l) => l.policyArn) });
  const store = emptyStore();
  const summaries = new SummaryService({
    config,
    store,
    iam,
    admins: new AdminPolicy(config.adminUserIds, undefined, { getUser: async () => undefined, usergroupMembers: async () => [] }),
    membership: new GroupMembership(store),
    identity: { approverConflict: async () => undefined },
    poster: { postSummary: async () => undefined },
    clock: { now: () => new Date() },
    log: { info: () => undefined, error: () => undefined },
    replicaId: 'bench-review',
    schedule: summarySchedule(config),
  });
  // The client's first call (its connection, its credentials) outside the measured window.
  await iam.findGroup(config.levels[0]?.groupName ?? '');
  calls.reset();
  await ctx.seeding.pause();

  const now = new Date();
  const run = await ctx.meter.measure('review-scale', async () => {
    const started = performance.now();
    const report = await summaries.build(new Date(now.getTime() - 7 * 86_400_000).toISOString(), now.toISOString());
    return { report, ms: performance.now() - started };
  });
  client.destroy();

  const reviewed = run.report.groups.reduce((n, g) => n + g.members.length, 0);
  const failed = run.report.groups.filter((g) => g.error).map((g) => `${g.groupName}: ${g.error}`);
  if (failed.length || reviewed !== MEMBERS)
    throw new Error(`the review read ${reviewed} of ${MEMBERS} members${failed.length ? `; ${failed.join('; ')}` : ''}`);
  const total = calls.total();
  const result: ReviewAtScaleResult = {
    members: reviewed,
    iam_calls: total,
    ms: run.ms,
    max_concurrency: calls.inFlight.max,
    review_concurrency: REVIEW_CONCURRENCY,
    iam_calls_per_member: total / reviewed,
    iam_calls_by_action: { ...calls.byAction },
    groups: run.report.groups.length,
    seed_ms: seedMs,
  };
  ctx.log(
    `  review at scale: ${reviewed} members in ${result.groups} groups, ${total} IAM calls (${fmt(result.iam_calls_per_member, 2)} a member), ` +
      `${fmt(run.ms, 0)} ms, at most ${result.max_concurrency} calls in flight`,
  );
  ctx.clock.done('review at scale: the review');
  return result;
}
