/**
 * The lifecycle phase: full lifecycles end to end on a quiet bot (request → confirmation →
 * Approve click → requester told the grant is active; see bench/lifecycle.ts), bounded in count
 * and time. Each is then checked where its outcome lives (membership of the IAM group on moto,
 * ACTIVE in the table), and the bot's CPU, DynamoDB capacity, Slack and IAM calls over the phase
 * are divided by the lifecycles completed. IAM calls are counted by the proxy in front of moto,
 * by action, over the whole window (background calls such as the cached GetAccountSummary
 * included, amortised). Then the same costs per step, on lifecycles of their own (measureSteps).
 * Lifecycles of their own run first and are not counted (warmUp): the figures are a running
 * bot's, with the first lifecycles' cost reported beside them.
 */
import { GetGroupCommand } from '@aws-sdk/client-iam';
import { postToBot } from '../../testkit/slack-signing.js';
import { approveText, requestText } from '../bodies.js';
import { type CapacitySnapshot, DynamoProxy } from '../dynamo-proxy.js';
import { ADMINS, LEVELS, SIGNING_SECRET } from '../fixtures.js';
import { type LifecycleRun, runLifecycles, until } from '../lifecycle.js';
import { perMap, settle, sum } from '../measure.js';
import { cpuMs } from '../procs.js';
import { fmt } from '../report.js';
import { requestIdInReply } from '../slack-tracker.js';
import type { BotUnderTest } from './bot.js';
import { type CallFloorResult, measureCallFloor } from './call-floor.js';
import type { PhaseContext } from './context.js';

/** The figures results.json reports at its top level, per lifecycle. */
export interface LifecycleContract {
  per_s: number;
  cpu_ms_per_lifecycle: number;
  wcu_per_lifecycle: number;
  rcu_per_lifecycle: number;
  slack_calls_per_lifecycle: number;
  iam_calls_per_lifecycle: number;
  /** The same costs by step (measured apart, on their own lifecycles: see measureSteps). */
  per_step: PerStep;
  /** What the lifecycle's calls alone cost the bot's clients (bench/phases/call-floor.ts). */
  call_floor?: CallFloorResult;
}

/** One step's cost per lifecycle. */
export interface StepCost {
  iam_calls: number;
  iam_calls_by_action: Record<string, number>;
  slack_calls: number;
  slack_calls_by_method: Record<string, number>;
  response_url_posts: number;
  wcu: number;
  rcu: number;
  cpu_ms: number;
  dynamodb_ops: Record<string, number>;
}

const NO_STEP: StepCost = {
  iam_calls: Number.NaN,
  iam_calls_by_action: {},
  slack_calls: Number.NaN,
  slack_calls_by_method: {},
  response_url_posts: Number.NaN,
  wcu: Number.NaN,
  rcu: Number.NaN,
  cpu_ms: Number.NaN,
  dynamodb_ops: {},
};

export interface PerStep {
  /** Lifecycles the breakdown was measured on. */
  lifecycles: number;
  /** The signed command, its ack, the pre-checks, storing and posting the request, the confirmation. */
  request: StepCost;
  /** The signed Approve click, its ack, the re-check, the grant, storing ACTIVE, the messages. */
  approve_grant: StepCost;
}

export interface LifecycleResult {
  contract: LifecycleContract;
  extras: {
    completed: number;
    verified_active_and_member: number;
    failures: number;
    failure_samples: string[];
    window_ms: number;
    concurrency: number;
    /** The lifecycles run first on the started bot, not counted above: what the first ones after start cost. */
    warmup: { lifecycles: number; cpu_ms_per_lifecycle: number };
    median_ms: number | null;
    p90_ms: number | null;
    capacity_per_lifecycle_asked_by_bot: { wcu: number; rcu: number };
    capacity_per_lifecycle_added_by_proxy: { wcu: number; rcu: number };
    dynamodb_ops_per_lifecycle: Record<string, number>;
    dynamodb_ops_without_capacity_per_lifecycle: Record<string, number>;
    dynamodb_failed_ops: Record<string, number>;
    iam_calls_per_lifecycle_by_action: Record<string, number>;
    slack_calls_per_lifecycle_by_method: Record<string, number>;
    response_url_posts_per_lifecycle: number;
  };
}

/** What the bot has done so far, by every counter the phase divides. */
export interface Counters {
  cpu: number;
  slack: number;
  responses: number;
  iam: Record<string, number>;
  dynamo: CapacitySnapshot;
}

export function readCounters(ctx: PhaseContext, bot: BotUnderTest): Counters {
  const { rig } = ctx;
  return {
    cpu: cpuMs(bot.pid),
    slack: rig.slack.calls().length,
    responses: rig.slack.responses().length,
    iam: rig.iamCallsByAction(),
    dynamo: rig.dynamoProxy.snapshot(),
  };
}

export async function measureLifecycles(ctx: PhaseContext, bot: BotUnderTest): Promise<LifecycleResult> {
  bot.sampler.setPhase('lifecycle');
  const warmup = await warmUp(ctx, bot);
  const before = readCounters(ctx, bot);
  const run = await ctx.meter.measure('lifecycle', () =>
    runLifecycles({
      botUrl: bot.url,
      slack: ctx.rig.slack,
      tracker: ctx.tracker,
      people: ctx.people.lifecycle,
      levels: LEVELS.map((l) => l.level),
      max: ctx.settings.lifecycleMax,
      seconds: ctx.settings.lifecycleSeconds,
      concurrency: ctx.settings.lifecycleConcurrency,
    }),
  );
  await settle(ctx.rig);
  const result = await lifecycleResult(ctx, bot, run, before, warmup);
  // After the figures above are read: the breakdown's own lifecycles are not in them.
  result.contract.per_step = await measureSteps(ctx, bot);
  result.contract.call_floor = await measureCallFloor(ctx, result);
  ctx.clock.done('lifecycle');
  return result;
}

/**
 * The per-step breakdown: lifecycles of their own (the step employees, both levels each), every
 * request first (sent `lifecycleConcurrency` at a time, each until its confirmation), then every
 * approval (each until its grant is announced), the bot quiet before, between and after, so
 * every counter read between two quiet points belongs to one step. Each step's counts are
 * divided by the lifecycles.
 */
async function measureSteps(ctx: PhaseContext, bot: BotUnderTest): Promise<PerStep> {
  const { rig, tracker } = ctx;
  const pairs = ctx.people.steps.flatMap((person) => LEVELS.map((l) => ({ person, level: l.level as string })));
  const concurrency = ctx.settings.lifecycleConcurrency;
  await settle(rig);
  const c0 = readCounters(ctx, bot);
  const ids = await inParallel(pairs, concurrency, async ({ person, level }) => {
    const key = `step:${person.userId}:${level}`;
    const ack = await postToBot(bot.url, SIGNING_SECRET, requestText(person, level, rig.slack, key, 'per-step cost of a lifecycle'));
    if (ack.status !== 200) throw new Error(`per-step request answered HTTP ${ack.status}`);
    const id = requestIdInReply(await until(() => tracker.replies.get(key), 30_000, `the confirmation of ${key}`));
    if (!id) throw new Error(`per-step request ${key} not confirmed: ${tracker.replies.get(key)?.slice(0, 200)}`);
    return id;
  });
  await settle(rig);
  const c1 = readCounters(ctx, bot);
  await inParallel(ids, concurrency, async (id, i) => {
    const admin = ADMINS[i % ADMINS.length] as string;
    const ack = await postToBot(bot.url, SIGNING_SECRET, approveText(admin, id, rig.slack, `step-click:${id}`));
    if (ack.status !== 200) throw new Error(`per-step approve answered HTTP ${ack.status}`);
    await until(() => tracker.active.get(id) ?? (tracker.failed.has(id) ? -1 : undefined), 30_000, `the grant of ${id}`);
  });
  await settle(rig);
  const c2 = readCounters(ctx, bot);
  const n = ids.length;
  ctx.log(`  lifecycle per step: ${n} requests, then ${n} approvals, each step measured apart`);
  return { lifecycles: n, request: stepCost(ctx, c0, c1, n), approve_grant: stepCost(ctx, c1, c2, n) };
}

/** What the bot did between two readings (IAM, Slack, DynamoDB, CPU), divided by `n`. */
export function stepCost(ctx: PhaseContext, from: Counters, to: Counters, n: number): StepCost {
  const iam = iamCallsSince(to.iam, from.iam);
  const dynamo = DynamoProxy.diff(to.dynamo, from.dynamo);
  const byMethod: Record<string, number> = {};
  for (const c of ctx.rig.slack.calls().slice(from.slack, to.slack)) byMethod[c.method] = (byMethod[c.method] ?? 0) + 1;
  const per = (v: number) => (n ? v / n : Number.NaN);
  return {
    iam_calls: per(sum(Object.values(iam))),
    iam_calls_by_action: perMap(iam, n),
    slack_calls: per(to.slack - from.slack),
    slack_calls_by_method: perMap(byMethod, n),
    response_url_posts: per(to.responses - from.responses),
    wcu: per(dynamo.asked.write + dynamo.added.write),
    rcu: per(dynamo.asked.read + dynamo.added.read),
    cpu_ms: per(to.cpu - from.cpu),
    dynamodb_ops: perMap(dynamo.ops, n),
  };
}

async function inParallel<T, R>(items: T[], concurrency: number, each: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await each(items[i] as T, i);
      }
    }),
  );
  return out;
}

/**
 * The first lifecycles after start, not counted: they pay once for what a bot that runs for days
 * pays once (compiling the work path, the clients' first calls). Ends on a quiet bot.
 */
async function warmUp(ctx: PhaseContext, bot: BotUnderTest): Promise<LifecycleResult['extras']['warmup']> {
  await settle(ctx.rig);
  const before = cpuMs(bot.pid);
  const run = await runLifecycles({
    botUrl: bot.url,
    slack: ctx.rig.slack,
    tracker: ctx.tracker,
    people: ctx.people.warmup,
    levels: LEVELS.map((l) => l.level),
    max: ctx.people.warmup.length * LEVELS.length,
    seconds: ctx.settings.lifecycleSeconds,
    concurrency: ctx.settings.lifecycleConcurrency,
    keyPrefix: 'warm',
  });
  await settle(ctx.rig);
  if (run.failures.length) throw new Error(`warm-up lifecycles failed: ${run.failures.slice(0, 3).join('; ')}`);
  const n = run.completed.length;
  const cpu = n ? (cpuMs(bot.pid) - before) / n : Number.NaN;
  ctx.log(`  lifecycle warm-up: ${n} lifecycles first, not counted: ${fmt(cpu, 1)} ms of CPU each`);
  return { lifecycles: n, cpu_ms_per_lifecycle: cpu };
}

async function lifecycleResult(
  ctx: PhaseContext,
  bot: BotUnderTest,
  run: LifecycleRun,
  before: Counters,
  warmup: LifecycleResult['extras']['warmup'],
): Promise<LifecycleResult> {
  const { rig } = ctx;
  const n = run.completed.length;
  const per = (v: number) => (n ? v / n : Number.NaN);
  const cpu = cpuMs(bot.pid) - before.cpu;
  const iamDelta = iamCallsSince(rig.iamCallsByAction(), before.iam);
  const dynamo: CapacitySnapshot = DynamoProxy.diff(rig.dynamoProxy.snapshot(), before.dynamo);
  const slackCalls = rig.slack.calls().slice(before.slack);
  const slackByMethod: Record<string, number> = {};
  for (const c of slackCalls) slackByMethod[c.method] = (slackByMethod[c.method] ?? 0) + 1;
  const verified = await countVerified(ctx, run);
  const times = run.completed.map((c) => c.ms).sort((a, b) => a - b);
  ctx.log(
    `  lifecycle: ${n} completed (${verified} verified ACTIVE in the table and members of the IAM group), ${run.failures.length} failed, in ${fmt(run.windowMs / 1000, 1)} s; median ${fmt(times[Math.floor(times.length / 2)] ?? Number.NaN, 0)} ms each`,
  );
  for (const f of run.failures.slice(0, 5)) ctx.log(`    failed: ${f}`);
  return {
    contract: {
      per_s: n / (run.windowMs / 1000),
      cpu_ms_per_lifecycle: per(cpu),
      wcu_per_lifecycle: per(dynamo.asked.write + dynamo.added.write),
      rcu_per_lifecycle: per(dynamo.asked.read + dynamo.added.read),
      slack_calls_per_lifecycle: per(slackCalls.length),
      iam_calls_per_lifecycle: per(sum(Object.values(iamDelta))),
      per_step: { lifecycles: 0, request: NO_STEP, approve_grant: NO_STEP },
    },
    extras: {
      completed: n,
      verified_active_and_member: verified,
      failures: run.failures.length,
      failure_samples: run.failures.slice(0, 5),
      window_ms: run.windowMs,
      concurrency: ctx.settings.lifecycleConcurrency,
      warmup,
      median_ms: times[Math.floor(times.length / 2)] ?? null,
      p90_ms: times[Math.floor(times.length * 0.9)] ?? null,
      capacity_per_lifecycle_asked_by_bot: { wcu: per(dynamo.asked.write), rcu: per(dynamo.asked.read) },
      capacity_per_lifecycle_added_by_proxy: { wcu: per(dynamo.added.write), rcu: per(dynamo.added.read) },
      dynamodb_ops_per_lifecycle: perMap(dynamo.ops, n),
      dynamodb_ops_without_capacity_per_lifecycle: perMap(dynamo.opsWithoutCapacity, n),
      dynamodb_failed_ops: dynamo.failedOps,
      iam_calls_per_lifecycle_by_action: perMap(iamDelta, n),
      slack_calls_per_lifecycle_by_method: perMap(slackByMethod, n),
      response_url_posts_per_lifecycle: per(rig.slack.responses().length - before.responses),
    },
  };
}

/** IAM calls by action since `before`, leaving out the actions not called meanwhile. */
function iamCallsSince(after: Record<string, number>, before: Record<string, number>): Record<string, number> {
  const delta: Record<string, number> = {};
  for (const [k, v] of Object.entries(after)) if (v - (before[k] ?? 0)) delta[k] = v - (before[k] ?? 0);
  return delta;
}

/** Completed lifecycles whose outcome is where it should be: the requester in the level's IAM group, the request ACTIVE in the table. */
async function countVerified(ctx: PhaseContext, run: LifecycleRun): Promise<number> {
  const members = new Set<string>();
  for (const l of LEVELS) {
    const out = await ctx.observers.iam.send(new GetGroupCommand({ GroupName: l.group }));
    for (const u of out.Users ?? []) members.add(`${u.UserName}:${l.level}`);
  }
  let verified = 0;
  for (const c of run.completed) {
    const stored = await ctx.observers.requests.get(c.requestId);
    if (stored?.status === 'ACTIVE' && members.has(`${c.iamUserName}:${c.level}`)) verified += 1;
  }
  return verified;
}
