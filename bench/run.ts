/**
 * `npm run bench`: the performance figures of PRODUCT §6, measured on this machine in one run,
 * beside a bare Bolt app. Starts everything on 127.0.0.1, drives it with autocannon (bounded in
 * count and time), prints a table against the budgets and writes bench/results.json.
 *
 * Environment:
 *   BENCH_QUICK=1       small counts, to try the harness (figures not comparable; results.json not written)
 *   BENCH_PHASES=a,b    only these phases: period, baseline, help, lifecycle, requests, approve, bundled, embedded
 *                       (approve needs requests); results.json is written only when all ran
 *   BENCH_CPU_PROF=1    the bot runs with --cpu-prof; the profile's folder is printed (=all: the bare Bolt app too)
 *   BENCH_KEEP=1        keep the logs (bot, bare Bolt, load specs) in the temp folder
 *   BENCH_BOT_NODE_ARGS='--trace-gc'   extra node arguments for the bot (diagnosis; its log gets V8's lines)
 *   BENCH_PIN=0         no CPU pinning (by default the process under test has CPU 0 to itself; see procs.ts)
 *   BENCH_NICE=0        the emulators run at normal priority (by default they yield to the bot and the load generator)
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetGroupCommand } from '@aws-sdk/client-iam';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { loadConfig } from '../src/config.js';
import { ACTION } from '../src/slack/ids.js';
import { DynamoRequestStore } from '../src/store/dynamo-store.js';
import { ensureTable } from '../src/store/table.js';
import { iamClient } from '../testkit/iam-fixtures.js';
import { buildBlockAction, buildCommand } from '../testkit/slack-payloads.js';
import { signSlackRequest } from '../testkit/slack-signing.js';
import { startBundledBot } from './bundled.js';
import { type CapacitySnapshot, DynamoProxy } from './dynamo-proxy.js';
import { ADMIN_CHANNEL, ADMINS, createIamFixtures, type Employee, employees, GENERAL_CHANNEL, LEVELS, SIGNING_SECRET, TEAM } from './fixtures.js';
import { runLifecycles } from './lifecycle.js';
import type { LoadResult, LoadSpec, SignedBody } from './loadgen.js';
import { type PeriodResult, type Seeder, startSeeding, timePeriodReads } from './period.js';
import { cpuAccount, cpuMs, memoryMb, otherCpuShare, ownCpuShare, ProcessSampler, placement, ROOT, setNice, spawnNode } from './procs.js';
import { fmt, type Row, table } from './report.js';
import { botEnv, logProblems, type Rig, Stoppers, startBare, startBotProcess, startDynalite, startRig } from './rig.js';
import { SlackTracker } from './slack-tracker.js';

const QUICK = process.env.BENCH_QUICK === '1';
const ALL_PHASES = ['period', 'baseline', 'help', 'lifecycle', 'requests', 'approve', 'bundled', 'embedded'] as const;
type PhaseName = (typeof ALL_PHASES)[number];
const PHASES = new Set<PhaseName>(process.env.BENCH_PHASES ? (process.env.BENCH_PHASES.split(',').map((p) => p.trim()) as PhaseName[]) : ALL_PHASES);
const SETTINGS = {
  connections: 50,
  /** Each duration-bounded load run (baseline, help) lasts this long, after a short warm-up. */
  loadSeconds: QUICK ? 3 : 10,
  warmupSeconds: QUICK ? 1 : 2,
  /** Employees for the unique request and approve bursts: one request per level each. */
  burstPeople: QUICK ? 60 : 300,
  /**
   * Each burst (baseline, requests, approvals) is split into this many rounds, each from a fresh
   * load-generator process on a quiet server; the figures are the rounds' medians, so one
   * scheduling hiccup on a shared 2-core machine moves one round, not the result.
   */
  burstRounds: 3,
  lifecyclePeople: QUICK ? 15 : 80,
  lifecycleMax: QUICK ? 20 : 150,
  lifecycleSeconds: QUICK ? 15 : 25,
  lifecycleConcurrency: 8,
  weekItems: 1_000,
  historyItems: QUICK ? 10_000 : 100_000,
  historyDays: 700,
  periodRuns: QUICK ? 3 : 7,
  /** The bundled bot's help load (for its memory under load). */
  bundledSeconds: QUICK ? 2 : 5,
  /** The bot on STORE=embedded: a help load, then lifecycles, for its memory and throughput. */
  embeddedLifecycleMax: QUICK ? 10 : 80,
  /** How long the bot may take to finish a burst's post-ack work before the run moves on. */
  drainSeconds: 90,
};
const BUDGET = { ackP99Ms: 100, commandVsBaseline: 0.5, periodRatio: 1.5, periodAim: 1.2, summaryRatio: 1.5, startupMs: 2_000, peakRssMb: 200 };
const BOT_TABLE = 'bench-billing-access';

const logLine = (line: string) => process.stderr.write(`${line}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const sum = (values: Iterable<number>) => [...values].reduce((a, b) => a + b, 0);

function sign(body: string): SignedBody {
  const h = signSlackRequest(SIGNING_SECRET, body);
  return { body, headers: { 'x-slack-signature': h['x-slack-signature'], 'x-slack-request-timestamp': h['x-slack-request-timestamp'] } };
}

/** Share of the machine's CPU other work (not this benchmark) took during each measured phase. */
const interference: Record<string, number> = {};

/** Share of the machine's CPU the benchmark's own processes (bot, emulators, fake Slack, load generator) took during each measured phase. */
const rigLoad: Record<string, number> = {};

/** When each measured phase ran (performance.now()), to find it in a CPU profile. */
const windows: Record<string, [number, number]> = {};

/** Runs a measured phase; `restart` moves its start to now (after a warm-up). */
async function measured<T>(label: string, run: (restart: () => void) => Promise<T>): Promise<T> {
  let before = cpuAccount();
  let t = performance.now();
  const out = await run(() => {
    before = cpuAccount();
    t = performance.now();
  });
  windows[label] = [t, performance.now()];
  const after = cpuAccount();
  interference[label] = otherCpuShare(before, after, performance.now() - t);
  rigLoad[label] = ownCpuShare(before, after, performance.now() - t);
  if (interference[label] > 0.1) logLine(`  ! other work on this machine took ${fmt(interference[label] * 100, 0)}% of its CPU during ${label}`);
  return out;
}

/** Runs the load generator on `spec`; after its warm-up (if any), `onWarm` runs before the measured part starts. */
async function runLoad(logDir: string, label: string, spec: LoadSpec, onWarm: () => void = () => undefined): Promise<LoadResult> {
  const specFile = join(logDir, `load-${label.replace(/\W+/g, '-')}.json`);
  writeFileSync(specFile, JSON.stringify(spec));
  const child = spawnNode('bench/loadgen.ts', { env: {}, args: [specFile], stdin: true });
  // It shares its CPU with the emulators, fake Slack and proxies: its clock must not wait for them.
  if (process.env.BENCH_NICE !== '0') setNice(child.pid, -10);
  let out = '';
  let err = '';
  child.child.stdout?.on('data', (c: Buffer) => {
    out += c.toString('utf8');
    if (out.startsWith('{"warm":true}\n')) {
      out = out.slice(out.indexOf('\n') + 1);
      onWarm();
      child.child.stdin?.end('go\n');
    }
  });
  child.child.stderr?.on('data', (c: Buffer) => {
    err = (err + c.toString('utf8')).slice(-4000);
  });
  await child.exited;
  const line = out.trim().split('\n').pop() ?? '';
  if (child.child.exitCode !== 0 || !line.startsWith('{')) throw new Error(`load generator for ${label} failed (code ${child.child.exitCode}): ${err}`);
  const result = JSON.parse(line) as LoadResult;
  if (spec.amount && result.bodiesUsed > spec.bodies.length)
    logLine(`  ! ${label}: ${result.bodiesUsed} bodies prepared for ${spec.bodies.length}: some were sent twice`);
  logLine(
    `  ${label}: ${result.requests} requests in ${fmt(result.durationSec, 2)} s, ${fmt(result.rps, 0)}/s 2xx, p50 ${fmt(result.latency.p50, 2)} ms, p99 ${fmt(result.latency.p99, 2)} ms, status ${JSON.stringify(result.statusCounts)}${result.errors ? `, ${result.errors} errors` : ''}`,
  );
  return result;
}

/** Waits until `done()` or the time is up; true if done. */
async function waitFor(done: () => boolean, seconds: number): Promise<boolean> {
  const deadline = Date.now() + seconds * 1000;
  while (Date.now() < deadline) {
    if (done()) return true;
    await sleep(50);
  }
  return done();
}

/** Waits until the bot's Slack, IAM and DynamoDB traffic has been still for `quietMs`. */
async function settle(rig: Rig, quietMs = 500, maxSeconds = 30): Promise<void> {
  const activity = () => rig.slack.calls().length + rig.slack.responses().length + rig.iamCalls() + sum(Object.values(rig.dynamoProxy.snapshot().ops));
  let last = activity();
  let stillSince = Date.now();
  const deadline = Date.now() + maxSeconds * 1000;
  while (Date.now() - stillSince < quietMs && Date.now() < deadline) {
    await sleep(50);
    const now = activity();
    if (now !== last) {
      last = now;
      stillSince = Date.now();
    }
  }
}

function helpBodies(people: Employee[], responseUrl: (key: string) => string, n: number): SignedBody[] {
  return Array.from({ length: n }, (_, i) => {
    const p = people[i % people.length] as Employee;
    return sign(
      buildCommand({
        user_id: p.userId,
        user_name: p.iamUserName,
        team_id: TEAM,
        channel_id: GENERAL_CHANNEL,
        text: 'help',
        response_url: responseUrl(`help-${i}`),
      }),
    );
  });
}

let interrupted = false;

/** Splits `items` into `n` nearly equal consecutive parts. */
function rounds<T>(items: T[], n: number): T[][] {
  const size = Math.ceil(items.length / n);
  return Array.from({ length: n }, (_, i) => items.slice(i * size, (i + 1) * size)).filter((r) => r.length > 0);
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
};

/** A burst run in rounds: every round's result, and their medians as the burst's figures. */
type BurstResult = LoadResult & { rounds: LoadResult[] };

function ofRounds(results: LoadResult[]): BurstResult {
  const sumOf = (pick: (r: LoadResult) => number) => results.reduce((a, r) => a + pick(r), 0);
  const statusCounts: Record<string, number> = {};
  for (const r of results) for (const [k, v] of Object.entries(r.statusCounts)) statusCounts[k] = (statusCounts[k] ?? 0) + v;
  return {
    requests: sumOf((r) => r.requests),
    ok2xx: sumOf((r) => r.ok2xx),
    statusCounts,
    errors: sumOf((r) => r.errors),
    timeouts: sumOf((r) => r.timeouts),
    durationSec: sumOf((r) => r.durationSec),
    rps: median(results.map((r) => r.rps)),
    latency: {
      p50: median(results.map((r) => r.latency.p50)),
      p90: median(results.map((r) => r.latency.p90)),
      p99: median(results.map((r) => r.latency.p99)),
      max: Math.max(...results.map((r) => r.latency.max)),
      mean: median(results.map((r) => r.latency.mean)),
    },
    autocannon: results[0]?.autocannon ?? { p50: Number.NaN, p99: Number.NaN, requestsPerSecAverage: Number.NaN, durationSec: Number.NaN },
    bodiesUsed: sumOf((r) => r.bodiesUsed),
    slowest: results
      .flatMap((r) => r.slowest)
      .sort((a, b) => b.latency_ms - a.latency_ms)
      .slice(0, 5),
    rounds: results,
  };
}

const perMap = (map: Record<string, number>, n: number) => Object.fromEntries(Object.entries(map).map(([k, v]) => [k, n ? v / n : Number.NaN]));

async function main(): Promise<void> {
  const t0 = performance.now();
  const phaseTimes: Record<string, number> = {};
  let phaseStart = performance.now();
  const phaseDone = (label: string) => {
    const now = performance.now();
    phaseTimes[label] = (now - phaseStart) / 1000;
    logLine(`[${fmt((now - t0) / 1000, 1)} s] ${label}: ${fmt((now - phaseStart) / 1000, 1)} s`);
    phaseStart = now;
  };
  const logDir = mkdtempSync(join(tmpdir(), 'billing-bench-'));
  const cpuProfileDir = process.env.BENCH_CPU_PROF === '1' || process.env.BENCH_CPU_PROF === 'all' ? join(logDir, 'cpu-profile') : undefined;
  const bareProfileDir = process.env.BENCH_CPU_PROF === 'all' ? join(logDir, 'cpu-profile-bare') : undefined;
  const stoppers = new Stoppers();
  const onSignal = (signal: NodeJS.Signals) => {
    if (interrupted) return;
    interrupted = true;
    logLine(`${signal}: stopping everything`);
    void stoppers.stopAll(logLine).finally(() => process.exit(130));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const burstPeople = employees('emp', SETTINGS.burstPeople);
  const lifecyclePeople = employees('life', SETTINGS.lifecyclePeople);
  // The bot's configuration, for the summary timed in this process (its endpoints are not used there).
  const config = loadConfig(botEnv({ slackApiUrl: 'http://127.0.0.1:9/api/', dynamoUrl: '', iamUrl: '' }, 0, BOT_TABLE));
  const loadAtStart = loadavg();
  let ok = false;
  try {
    logLine(
      `billing-access bot benchmark${QUICK ? ' (BENCH_QUICK: small counts, figures not comparable)' : ''}; ${cpus().length} cores, load average ${loadAtStart.map((l) => fmt(l, 2)).join(' ')}; ${placement.underTest ? `process under test on CPU ${placement.underTest}, the rest on CPU ${placement.rest}` : 'no CPU pinning'}; logs in ${logDir}`,
    );
    const rig = await startRig(stoppers, [...burstPeople, ...lifecyclePeople]);
    const tracker = new SlackTracker(rig.slack, ADMIN_CHANNEL);
    tracker.start();
    stoppers.add('Slack tracker', async () => tracker.stop());
    const iam = iamClient(rig.moto.endpoint);
    phaseDone('start moto, dynalite, fake Slack, proxies');

    // The period tables (100,000+ items) are seeded in the background whenever nothing is timed:
    // beside the IAM fixtures now, and later while the bot works off its bursts.
    const periodDynamo = PHASES.has('period') ? await startDynalite(stoppers, 'dynalite (period tables)') : undefined;
    // Its LevelDB compacts in the background after seeding pauses: never ahead of the bot.
    if (periodDynamo && process.env.BENCH_NICE !== '0') setNice(periodDynamo.process.pid);
    const periodClient = periodDynamo
      ? new DynamoDBClient({ endpoint: periodDynamo.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' } })
      : undefined;
    if (periodClient) stoppers.add('period DynamoDB client', async () => periodClient.destroy());
    const periodOptions = {
      client: periodClient as DynamoDBClient,
      config,
      weekItems: SETTINGS.weekItems,
      historyItems: SETTINGS.historyItems,
      historyDays: SETTINGS.historyDays,
      runs: SETTINGS.periodRuns,
      log: logLine,
    };
    const periodTables = { weekOnly: 'bench-week-only', withHistory: 'bench-week-with-history' };
    const seeding = periodDynamo ? await startSeeding(periodOptions, periodTables) : undefined;
    const seeder: Seeder | undefined = seeding?.seeder;
    const pauseSeeding = async () => {
      if (!seeder) return;
      await seeder.pause();
      logLine(`  (seeding paused at ${seeder.written.toLocaleString('en-US')} of ${seeder.total.toLocaleString('en-US')} items)`);
    };
    const fixturesStarted = performance.now();
    await createIamFixtures(iam, [...burstPeople, ...lifecyclePeople]);
    logLine(`  IAM: 2 groups and ${burstPeople.length + lifecyclePeople.length} users in ${fmt((performance.now() - fixturesStarted) / 1000, 1)} s`);
    await pauseSeeding();
    phaseDone(seeder ? 'IAM users (period tables seeding beside)' : 'IAM users');

    // The bot's table, created directly on dynalite (not through the counting proxy).
    const botClient = new DynamoDBClient({
      endpoint: rig.dynamo.endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' },
    });
    stoppers.add('bench DynamoDB client', async () => botClient.destroy());
    await ensureTable(botClient, BOT_TABLE);
    const observer = new DynamoRequestStore(DynamoDBDocumentClient.from(botClient), BOT_TABLE);

    // The real requests of the burst, each from its own employee and level: every one valid and unique.
    const requestPairs = LEVELS.flatMap((l) => burstPeople.map((p) => ({ person: p, level: l.level })));
    const requestTexts = requestPairs.map(({ person, level }) =>
      buildCommand({
        user_id: person.userId,
        user_name: person.iamUserName,
        team_id: TEAM,
        channel_id: GENERAL_CHANNEL,
        text: `${level} 7d month-end close for the finance review`,
        response_url: rig.slack.responseUrl(`cr:${person.userId}:${level}`),
      }),
    );

    // Baseline: the bare Bolt app, the same bodies, the same load.
    let baseline:
      | (LoadResult & { request_burst: BurstResult; startup_ms: number; rss_mb_after_start: number; cpu_ms_per_request: number; peak_rss_mb: number })
      | undefined;
    if (PHASES.has('baseline')) {
      const bare = await startBare(stoppers, rig, logDir, bareProfileDir);
      const bodies = helpBodies(burstPeople, (k) => rig.slack.responseUrl(k), 2_000);
      const warmup = { durationSec: SETTINGS.warmupSeconds, bodies };
      let cpuBefore = 0;
      const load = await measured('baseline', (restart) =>
        runLoad(logDir, 'baseline', { url: bare.url, connections: SETTINGS.connections, durationSec: SETTINGS.loadSeconds, bodies, warmup }, () => {
          restart();
          cpuBefore = cpuMs(bare.process.pid);
        }),
      );
      const burstRounds: LoadResult[] = [];
      for (const [i, texts] of rounds(requestTexts, SETTINGS.burstRounds).entries()) {
        burstRounds.push(
          await measured(`baseline_request_burst_${i + 1}`, (restart) =>
            runLoad(
              logDir,
              `baseline (request burst ${i + 1})`,
              {
                url: bare.url,
                connections: SETTINGS.connections,
                durationSec: SETTINGS.loadSeconds,
                amount: texts.length,
                bodies: texts.map(sign),
                warmup: { durationSec: 1, bodies },
              },
              restart,
            ),
          ),
        );
      }
      const burst = ofRounds(burstRounds);
      baseline = {
        ...load,
        request_burst: burst,
        startup_ms: bare.startupMs,
        rss_mb_after_start: bare.rssAfterStartMb,
        cpu_ms_per_request: (cpuMs(bare.process.pid) - cpuBefore) / Math.max(1, load.requests),
        peak_rss_mb: memoryMb(bare.process.pid).peak,
      };
      await bare.process.stop();
      phaseDone('baseline (bare Bolt)');
    }

    // The bot.
    const bot = await startBotProcess(stoppers, rig, logDir, BOT_TABLE, cpuProfileDir);
    logLine(`  bot: /healthz 200 after ${fmt(bot.startupMs, 0)} ms (its own startupMs: ${bot.ownStartupMs ?? 'n/a'}); pid ${bot.process.pid}`);
    const sampler = new ProcessSampler(bot.process.pid);
    sampler.start();
    stoppers.add('RSS sampler', async () => sampler.stop());
    phaseDone('bot start');

    /**
     * Sends each round of signed bodies to the bot (after a short help warm-up, from a fresh load
     * generator), waits until `done(answered so far)` says its post-ack work is finished, and lets
     * the bot settle before the next round.
     */
    const botBurstInRounds = async (label: (round: number) => string, window: string, bodyRounds: SignedBody[][], done: (answered: number) => boolean) => {
      const results: LoadResult[] = [];
      const doneMs: number[] = [];
      let drained = true;
      let botCpuMs = 0;
      for (const [i, bodies] of bodyRounds.entries()) {
        // Warmed with help (no side effects) from the same load-generator process just before.
        const warmup = { durationSec: 1, bodies: helpBodies(burstPeople, (k) => rig.slack.responseUrl(k), 500) };
        let cpuBefore = 0;
        let started = 0;
        const load = await measured(`${window}_${i + 1}`, (restart) =>
          runLoad(
            logDir,
            label(i + 1),
            { url: bot.url, connections: SETTINGS.connections, durationSec: SETTINGS.loadSeconds, amount: bodies.length, bodies, warmup },
            () => {
              restart();
              cpuBefore = cpuMs(bot.process.pid);
              started = performance.now();
            },
          ),
        );
        botCpuMs += cpuMs(bot.process.pid) - cpuBefore;
        results.push(load);
        seeder?.resume();
        const answered = results.reduce((a, r) => a + r.ok2xx, 0);
        drained = (await waitFor(() => done(answered), SETTINGS.drainSeconds)) && drained;
        doneMs.push(performance.now() - started);
        await settle(rig);
        await pauseSeeding();
      }
      return { load: ofRounds(results), drained, doneMs, botCpuMs };
    };

    let help: (LoadResult & { bot_cpu_ms_per_request: number }) | undefined;
    if (PHASES.has('help')) {
      sampler.setPhase('command_ack');
      const bodies = helpBodies(burstPeople, (k) => rig.slack.responseUrl(k), 2_000);
      const warmup = { durationSec: SETTINGS.warmupSeconds, bodies };
      let cpuBefore = 0;
      const load = await measured('command_ack', (restart) =>
        runLoad(logDir, 'command_ack (help)', { url: bot.url, connections: SETTINGS.connections, durationSec: SETTINGS.loadSeconds, bodies, warmup }, () => {
          restart();
          cpuBefore = cpuMs(bot.process.pid);
        }),
      );
      help = { ...load, bot_cpu_ms_per_request: (cpuMs(bot.process.pid) - cpuBefore) / Math.max(1, load.requests) };
      phaseDone('command_ack (help)');
    }

    // Lifecycles, end to end, on a quiet bot.
    let lifecycle: { contract: Record<string, number>; extras: Record<string, unknown> } | undefined;
    if (PHASES.has('lifecycle')) {
      sampler.setPhase('lifecycle');
      await settle(rig);
      const before = {
        cpu: cpuMs(bot.process.pid),
        slack: rig.slack.calls().length,
        responses: rig.slack.responses().length,
        iam: rig.iamCallsByAction(),
        dynamo: rig.dynamoProxy.snapshot(),
      };
      const run = await measured('lifecycle', () =>
        runLifecycles({
          botUrl: bot.url,
          slack: rig.slack,
          tracker,
          people: lifecyclePeople,
          levels: LEVELS.map((l) => l.level),
          max: SETTINGS.lifecycleMax,
          seconds: SETTINGS.lifecycleSeconds,
          concurrency: SETTINGS.lifecycleConcurrency,
        }),
      );
      await settle(rig);
      const n = run.completed.length;
      const per = (v: number) => (n ? v / n : Number.NaN);
      const cpu = cpuMs(bot.process.pid) - before.cpu;
      const iamAfter = rig.iamCallsByAction();
      const iamDelta: Record<string, number> = {};
      for (const [k, v] of Object.entries(iamAfter)) if (v - (before.iam[k] ?? 0)) iamDelta[k] = v - (before.iam[k] ?? 0);
      const dynamo: CapacitySnapshot = DynamoProxy.diff(rig.dynamoProxy.snapshot(), before.dynamo);
      const slackCalls = rig.slack.calls().slice(before.slack);
      const slackByMethod: Record<string, number> = {};
      for (const c of slackCalls) slackByMethod[c.method] = (slackByMethod[c.method] ?? 0) + 1;
      // The outcome where it lives: membership in IAM (moto, directly) and the stored status.
      const members = new Set<string>();
      for (const l of LEVELS) {
        const out = await iam.send(new GetGroupCommand({ GroupName: l.group }));
        for (const u of out.Users ?? []) members.add(`${u.UserName}:${l.level}`);
      }
      let verified = 0;
      for (const c of run.completed) {
        const stored = await observer.get(c.requestId);
        if (stored?.status === 'ACTIVE' && members.has(`${c.iamUserName}:${c.level}`)) verified += 1;
      }
      const times = run.completed.map((c) => c.ms).sort((a, b) => a - b);
      logLine(
        `  lifecycle: ${n} completed (${verified} verified ACTIVE in the table and members of the IAM group), ${run.failures.length} failed, in ${fmt(run.windowMs / 1000, 1)} s; median ${fmt(times[Math.floor(times.length / 2)] ?? Number.NaN, 0)} ms each`,
      );
      for (const f of run.failures.slice(0, 5)) logLine(`    failed: ${f}`);
      lifecycle = {
        contract: {
          per_s: n / (run.windowMs / 1000),
          cpu_ms_per_lifecycle: per(cpu),
          wcu_per_lifecycle: per(dynamo.asked.write + dynamo.added.write),
          rcu_per_lifecycle: per(dynamo.asked.read + dynamo.added.read),
          slack_calls_per_lifecycle: per(slackCalls.length),
          iam_calls_per_lifecycle: per(sum(Object.values(iamDelta))),
        },
        extras: {
          completed: n,
          verified_active_and_member: verified,
          failures: run.failures.length,
          failure_samples: run.failures.slice(0, 5),
          window_ms: run.windowMs,
          concurrency: SETTINGS.lifecycleConcurrency,
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
      phaseDone('lifecycle');
    }

    // A burst of real requests, each from its own employee and level: every one valid and unique.
    let requests: (BurstResult & Record<string, unknown>) | undefined;
    if (PHASES.has('requests')) {
      sampler.setPhase('request burst');
      const replies = () => [...tracker.replies.keys()].filter((k) => k.startsWith('cr:')).length;
      const {
        load,
        drained,
        doneMs: drainMs,
        botCpuMs,
      } = await botBurstInRounds(
        (n) => `command_ack (request burst ${n})`,
        'command_request_burst',
        rounds(requestTexts, SETTINGS.burstRounds).map((texts) => texts.map(sign)),
        (answered) => replies() >= answered,
      );
      const created = requestPairs.filter(({ person, level }) => tracker.posted.has(`${person.userId}:${level}`)).length;
      logLine(
        `  request bursts: ${replies()} replies, ${created} pending requests posted, ${tracker.busyReplies} busy; each round all answered within ${drainMs.map((d) => fmt(d / 1000, 1)).join(' / ')} s${drained ? '' : ' (NOT drained: timed out)'}`,
      );
      requests = {
        ...load,
        pending_requests_created: created,
        busy_replies: tracker.busyReplies,
        all_answered_ms_by_round: drainMs,
        drained,
        bot_cpu_ms_per_request: botCpuMs / Math.max(1, load.requests),
      };
      phaseDone('request bursts');
    }

    // Approve clicks, each on its own pending request from the bursts.
    let approvals: (BurstResult & Record<string, unknown>) | undefined;
    if (PHASES.has('approve') && requests) {
      sampler.setPhase('approve burst');
      const tsById = tracker.messageTs();
      const ids = requestPairs.map(({ person, level }) => tracker.posted.get(`${person.userId}:${level}`)?.id).filter((id): id is string => Boolean(id));
      const clicks = ids.map((id, i) =>
        sign(
          buildBlockAction({
            userId: ADMINS[i % ADMINS.length] as string,
            channelId: ADMIN_CHANNEL,
            actionId: ACTION.approve,
            value: id,
            ...(tsById.get(id) ? { messageTs: tsById.get(id) as string } : {}),
            responseUrl: rig.slack.responseUrl(`ap:${id}`),
          }),
        ),
      );
      const ephemeralsBefore = tracker.ephemerals;
      const busyBefore = tracker.busyEphemerals;
      const activeBefore = tracker.active.size;
      const failedBefore = tracker.failed.size;
      const outcome = () => ({
        granted: tracker.active.size - activeBefore,
        failed: tracker.failed.size - failedBefore,
        refused: tracker.ephemerals - ephemeralsBefore,
        busy: tracker.busyEphemerals - busyBefore,
      });
      const { load, drained, doneMs, botCpuMs } = await botBurstInRounds(
        (n) => `approve_ack (burst ${n})`,
        'approve_burst',
        rounds(clicks, SETTINGS.burstRounds),
        (answered) => {
          const o = outcome();
          return o.granted + o.failed + o.refused >= answered;
        },
      );
      const o = outcome();
      logLine(
        `  approve bursts: ${o.granted} granted, ${o.failed} failed, ${o.refused} refused (${o.busy} busy); each round all done within ${doneMs.map((d) => fmt(d / 1000, 1)).join(' / ')} s${drained ? '' : ' (NOT drained: timed out)'}`,
      );
      approvals = { ...load, ...o, all_done_ms_by_round: doneMs, drained, bot_cpu_ms_per_click: botCpuMs / Math.max(1, load.requests) };
      phaseDone('approve bursts');
    }

    await pauseSeeding();
    sampler.setPhase('end');
    const memory = memoryMb(bot.process.pid);
    const botCpuTotal = cpuMs(bot.process.pid);
    sampler.stop();
    const drainedAll = (requests?.drained ?? true) && (approvals?.drained ?? true);
    await bot.process.stop('SIGTERM', drainedAll ? 20_000 : 3_000);
    const problems = logProblems(bot.logFile);
    phaseDone('stop the bot');

    // The same bot bundled and run by plain node: what the launch method costs in start-up and memory.
    let bundled: Record<string, unknown> | undefined;
    if (PHASES.has('bundled')) {
      const b = await startBundledBot(stoppers, rig, logDir, BOT_TABLE);
      const bodies = helpBodies(burstPeople, (k) => rig.slack.responseUrl(k), 2_000);
      const load = await measured('bundled_help', (restart) =>
        runLoad(
          logDir,
          'bundled help',
          {
            url: b.url,
            connections: SETTINGS.connections,
            durationSec: SETTINGS.bundledSeconds,
            bodies,
            warmup: { durationSec: SETTINGS.warmupSeconds, bodies },
          },
          restart,
        ),
      );
      bundled = {
        how: 'esbuild bundle of src/main.ts (CommonJS, minified), `node main.cjs`, same environment; dynalite left external',
        bundle_bytes: b.bundle_bytes,
        build_ms: b.build_ms,
        startup_ms: b.startup_ms,
        rss_mb_after_start: b.rss_mb_after_start,
        help_rps: load.rps,
        help_p99_ms: load.latency.p99,
        help_seconds: SETTINGS.bundledSeconds,
        peak_rss_mb: memoryMb(b.pid).peak,
      };
      await b.stop();
      logLine(
        `  bundled: /healthz 200 after ${fmt(b.startup_ms, 0)} ms, ${fmt(b.rss_mb_after_start, 0)} MB after start, ${fmt(bundled.peak_rss_mb as number, 0)} MB peak under ${SETTINGS.bundledSeconds} s of help`,
      );
      phaseDone('bundled bot (start-up and memory)');
    }

    // The bot as `npm start` runs it by default: STORE=embedded (dynalite and LevelDB in the bot's own process).
    let embedded: Record<string, unknown> | undefined;
    if (PHASES.has('embedded')) {
      const e = await startBotProcess(stoppers, rig, logDir, BOT_TABLE, undefined, {
        env: { STORE: 'embedded', DATA_DIR: join(logDir, 'embedded-data') },
        logName: 'bot-embedded.log',
      });
      const eSampler = new ProcessSampler(e.process.pid);
      eSampler.start();
      eSampler.setPhase('help');
      const bodies = helpBodies(burstPeople, (k) => rig.slack.responseUrl(k), 2_000);
      const help = await measured('embedded_help', (restart) =>
        runLoad(
          logDir,
          'embedded help',
          { url: e.url, connections: SETTINGS.connections, durationSec: SETTINGS.bundledSeconds, bodies, warmup: { durationSec: 1, bodies } },
          restart,
        ),
      );
      eSampler.setPhase('lifecycle');
      const run = await measured('embedded_lifecycle', () =>
        runLifecycles({
          botUrl: e.url,
          slack: rig.slack,
          tracker,
          people: lifecyclePeople,
          levels: LEVELS.map((l) => l.level),
          max: SETTINGS.embeddedLifecycleMax,
          seconds: SETTINGS.lifecycleSeconds,
          concurrency: SETTINGS.lifecycleConcurrency,
          keyPrefix: 'lc-embedded',
        }),
      );
      await settle(rig);
      eSampler.stop();
      embedded = {
        how: 'src/main.ts as npm start runs it, STORE=embedded (DATA_DIR in the run folder), IAM_MODE=live',
        startup_ms: e.startupMs,
        rss_mb_after_start: e.rssAfterStartMb,
        help_rps: help.rps,
        help_p99_ms: help.latency.p99,
        lifecycles: run.completed.length,
        lifecycle_failures: run.failures.length,
        lifecycle_per_s: run.completed.length / (run.windowMs / 1000),
        peak_rss_mb: memoryMb(e.process.pid).peak,
        max_rss_mb_by_phase: Object.fromEntries(eSampler.maxRssByPhase),
      };
      await e.process.stop('SIGTERM', 20_000);
      logLine(
        `  embedded: /healthz 200 after ${fmt(e.startupMs, 0)} ms; help ${fmt(help.rps, 0)}/s; ${run.completed.length} lifecycles (${run.failures.length} failed) at ${fmt(embedded.lifecycle_per_s as number, 2)}/s; peak RSS ${fmt(embedded.peak_rss_mb as number, 0)} MB`,
      );
      phaseDone('embedded store (start-up, memory, lifecycles)');
    }

    let period: (Omit<PeriodResult, 'seed' | 'week'> & { seed: PeriodResult['seed']; week: PeriodResult['week'] }) | undefined;
    if (seeding && periodDynamo) {
      seeding.seeder.resume();
      await seeding.seeder.done;
      const seedMs = seeding.seeder.seedingMs;
      logLine(
        `  seeded ${seeding.items.toLocaleString('en-US')} items in ${fmt(seedMs / 1000, 1)} s of seeding (${fmt(seeding.items / (seedMs / 1000), 0)} items/s)`,
      );
      phaseDone('period tables: rest of the seeding');
      const reads = await measured('period', () => timePeriodReads(periodOptions, periodTables, seeding.week));
      period = { ...reads, seed: { items: seeding.items, ms: seedMs, items_per_s: seeding.items / (seedMs / 1000) }, week: seeding.week };
      await periodDynamo.process.stop();
      logLine(
        `  period_query: ${fmt(reads.period_query.week_only_ms, 1)} ms week only, ${fmt(reads.period_query.with_history_ms, 1)} ms with history (×${fmt(reads.period_query.ratio, 2)}); summary: ${fmt(reads.summary.week_only_ms, 1)} / ${fmt(reads.summary.with_history_ms, 1)} ms (×${fmt(reads.summary.ratio, 2)})`,
      );
      phaseDone('period query and summary timing');
    }

    const nan = Number.NaN;
    const results = {
      baseline: { ack_rps: baseline?.rps ?? nan, ack_p50_ms: baseline?.latency.p50 ?? nan, ack_p99_ms: baseline?.latency.p99 ?? nan },
      command_ack: {
        rps: requests?.rps ?? nan,
        p50_ms: requests?.latency.p50 ?? nan,
        p99_ms: requests?.latency.p99 ?? nan,
        concurrency: SETTINGS.connections,
      },
      approve_ack: {
        rps: approvals?.rps ?? nan,
        p50_ms: approvals?.latency.p50 ?? nan,
        p99_ms: approvals?.latency.p99 ?? nan,
        concurrency: SETTINGS.connections,
      },
      lifecycle: lifecycle?.contract ?? {},
      period_query: period?.period_query ?? {},
      summary: period?.summary ?? {},
      startup_ms: bot.startupMs,
      peak_rss_mb: memory.peak,
      extras: {
        quick: QUICK,
        phases_run: [...PHASES],
        machine: {
          cores: cpus().length,
          node: process.version,
          load_average_at_start: loadAtStart,
          cpu_pinning: placement.underTest ? { under_test: placement.underTest, rest: placement.rest } : null,
        },
        other_cpu_share_during: interference,
        rig_cpu_share_during: rigLoad,
        notes: {
          command_ack:
            'signed `/request-billing <level> 7d …` (a real request: acked at once, IAM and Slack calls after the ack), each from its own employee and level, all valid and unique, 50 connections, count-bounded, in rounds (each from a fresh load generator on a quiet bot); rps from the first request sent to the last answer; p50, p99 and rps are the medians of the rounds (each in extras.command_ack_burst.rounds)',
          command_ack_help:
            'signed `/request-billing help` from 2,000 rotating bodies (acked with the help text; no I/O), 50 connections, 10 s after a 2 s warm-up: the same bodies and load as the baseline',
          baseline:
            'bare Bolt app acking the same help bodies for 10 s after a warm-up; request_burst: the same real-request bodies as the bot bursts, in the same rounds (medians)',
          approve_ack:
            'signed Approve clicks, each on its own pending request made by the request bursts; count-bounded (one click per request), in rounds like command_ack (medians)',
          cpu_pinning:
            'the process under test (bare Bolt, then the bot) alone on CPU 0; emulators, fake Slack, proxies and load generator on the others (BENCH_PIN=0: off)',
          capacity:
            'table only (neither emulator reports index capacity); counts calls the bot sent without ReturnConsumedCapacity too (the proxy added TOTAL)',
          startup_ms: 'spawn of `node --import tsx src/main.ts` (no tsx CLI wrapper) to the first 200 from GET /healthz',
          peak_rss_mb: 'VmHWM of the bot process (the node process running src/main.ts), read at the end of the run',
          lifecycle:
            'request → confirmation → Approve click → requester told the grant is active; verified afterwards in IAM (GetGroup) and the table (ACTIVE)',
        },
        baseline: baseline ?? null,
        command_ack_burst: requests ?? null,
        command_ack_help: help ? { ...help, vs_baseline: baseline ? help.rps / baseline.rps : null } : null,
        approve_burst: approvals ?? null,
        lifecycle: lifecycle?.extras ?? null,
        bundled_bot: bundled ?? null,
        embedded_store_bot: embedded ?? null,
        bot: {
          startup_ms: bot.startupMs,
          own_startup_ms: bot.ownStartupMs ?? null,
          vm_rss_mb_at_end: memory.rss,
          max_rss_mb_by_phase: Object.fromEntries(sampler.maxRssByPhase),
          cpu_ms_total: botCpuTotal,
          log_warnings: problems,
          // Each measured phase, in ms since the bot was spawned (a CPU profile's clock starts about there).
          phase_windows_ms: Object.fromEntries(
            Object.entries(windows)
              .filter(([, [from]]) => from >= bot.process.spawnedAt)
              .map(([k, [from, to]]) => [k, [Math.round(from - bot.process.spawnedAt), Math.round(to - bot.process.spawnedAt)]]),
          ),
          ...(cpuProfileDir ? { cpu_profile_dir: cpuProfileDir } : {}),
        },
        period: period ? { seed: period.seed, week: period.week, runs_ms: period.runs } : null,
        phases_s: phaseTimes,
        total_s: (performance.now() - t0) / 1000,
      },
    };

    const complete = !QUICK && ALL_PHASES.every((p) => PHASES.has(p));
    const resultsFile = join(ROOT, 'bench', 'results.json');
    if (complete) {
      writeFileSync(resultsFile, `${JSON.stringify(results, null, 2)}\n`);
      // In the shape the project's formatter wants, so `npm run lint` stays clean after a run.
      spawnSync(join(ROOT, 'node_modules/.bin/biome'), ['format', '--write', resultsFile], { cwd: ROOT, stdio: 'ignore' });
    } else writeFileSync(join(logDir, 'results.json'), `${JSON.stringify(results, null, 2)}\n`);

    const ms = (v: number | undefined) => `${fmt(v ?? nan, 1)} ms`;
    const rows: Row[] = [];
    const burstBase = baseline?.request_burst;
    if (baseline)
      rows.push({
        figure: 'baseline: bare Bolt ack (help, 10 s)',
        value: `${fmt(baseline.rps, 0)}/s, p50 ${ms(baseline.latency.p50)}, p99 ${ms(baseline.latency.p99)}`,
      });
    if (burstBase)
      rows.push({
        figure: 'baseline: bare Bolt ack (request burst)',
        value: `${fmt(burstBase.rps, 0)}/s, p50 ${ms(burstBase.latency.p50)}, p99 ${ms(burstBase.latency.p99)} (${burstBase.requests} in ${burstBase.rounds.length} rounds)`,
      });
    if (requests) {
      rows.push({
        figure: 'command_ack p99 (real requests)',
        value: `${ms(requests.latency.p99)} (p50 ${ms(requests.latency.p50)}; ${requests.requests} unique in ${requests.rounds.length} rounds)`,
        budget: `< ${BUDGET.ackP99Ms} ms`,
        met: requests.latency.p99 < BUDGET.ackP99Ms,
      });
      if (burstBase)
        rows.push({
          figure: 'command_ack throughput (real requests)',
          value: `${fmt(requests.rps, 0)}/s = ${fmt(requests.rps / burstBase.rps, 2)} × bare Bolt on the same burst`,
          budget: `≥ ${BUDGET.commandVsBaseline} × bare Bolt`,
          met: requests.rps >= BUDGET.commandVsBaseline * burstBase.rps,
        });
    }
    if (help) {
      rows.push({ figure: 'help ack p99 (10 s)', value: ms(help.latency.p99), budget: `< ${BUDGET.ackP99Ms} ms`, met: help.latency.p99 < BUDGET.ackP99Ms });
      if (baseline)
        rows.push({
          figure: 'help ack throughput (10 s)',
          value: `${fmt(help.rps, 0)}/s = ${fmt(help.rps / baseline.rps, 2)} × bare Bolt`,
          budget: `≥ ${BUDGET.commandVsBaseline} × bare Bolt`,
          met: help.rps >= BUDGET.commandVsBaseline * baseline.rps,
        });
    }
    if (approvals)
      rows.push({
        figure: 'approve_ack p99',
        value: `${ms(approvals.latency.p99)} (p50 ${ms(approvals.latency.p50)}; ${approvals.requests} clicks, ${fmt(approvals.rps, 0)}/s)`,
        budget: `< ${BUDGET.ackP99Ms} ms`,
        met: approvals.latency.p99 < BUDGET.ackP99Ms,
      });
    if (lifecycle) {
      const c = lifecycle.contract;
      rows.push(
        { figure: 'lifecycle throughput', value: `${fmt(c.per_s ?? nan, 2)}/s (${lifecycle.extras.completed} end to end)` },
        { figure: 'bot CPU per lifecycle', value: ms(c.cpu_ms_per_lifecycle) },
        { figure: 'DynamoDB per lifecycle (table only)', value: `${fmt(c.wcu_per_lifecycle ?? nan, 1)} WCU, ${fmt(c.rcu_per_lifecycle ?? nan, 1)} RCU` },
        { figure: 'Slack / IAM calls per lifecycle', value: `${fmt(c.slack_calls_per_lifecycle ?? nan, 1)} / ${fmt(c.iam_calls_per_lifecycle ?? nan, 1)}` },
      );
    }
    if (period)
      rows.push(
        {
          figure: 'period_query ratio',
          value: `×${fmt(period.period_query.ratio, 2)} (${ms(period.period_query.week_only_ms)} → ${ms(period.period_query.with_history_ms)})`,
          budget: `≤ ${BUDGET.periodRatio} (aim ${BUDGET.periodAim})`,
          met: period.period_query.ratio <= BUDGET.periodRatio,
        },
        {
          figure: 'summary ratio',
          value: `×${fmt(period.summary.ratio, 2)} (${ms(period.summary.week_only_ms)} → ${ms(period.summary.with_history_ms)})`,
          budget: `≤ ${BUDGET.summaryRatio}`,
          met: period.summary.ratio <= BUDGET.summaryRatio,
        },
      );
    rows.push(
      {
        figure: 'startup (spawn → /healthz 200)',
        value: `${fmt(bot.startupMs, 0)} ms (own startupMs ${bot.ownStartupMs ?? 'n/a'})`,
        budget: `< ${BUDGET.startupMs} ms`,
        met: bot.startupMs < BUDGET.startupMs,
      },
      { figure: 'peak RSS (bot, VmHWM)', value: `${fmt(memory.peak, 1)} MB`, budget: `< ${BUDGET.peakRssMb} MB`, met: memory.peak < BUDGET.peakRssMb },
    );
    if (baseline) rows.push({ figure: 'bare Bolt: startup / peak RSS', value: `${fmt(baseline.startup_ms, 0)} ms / ${fmt(baseline.peak_rss_mb, 1)} MB` });
    if (bundled)
      rows.push({
        figure: 'bot bundled (node main.cjs)',
        value: `startup ${fmt(bundled.startup_ms as number, 0)} ms, RSS ${fmt(bundled.rss_mb_after_start as number, 0)} MB idle, ${fmt(bundled.peak_rss_mb as number, 0)} MB peak (help ${SETTINGS.bundledSeconds} s)`,
      });
    if (embedded)
      rows.push({
        figure: 'bot on STORE=embedded',
        value: `startup ${fmt(embedded.startup_ms as number, 0)} ms, ${fmt(embedded.lifecycle_per_s as number, 2)} lifecycles/s, peak RSS ${fmt(embedded.peak_rss_mb as number, 0)} MB`,
      });
    process.stdout.write(`\n${table(rows)}\n\n`);
    const busy = Object.entries(interference).filter(([, share]) => share > 0.1);
    if (busy.length)
      process.stdout.write(
        `Other work on this machine took CPU during: ${busy.map(([k, v]) => `${k} ${fmt(v * 100, 0)}%`).join(', ')}; those figures are not comparable.\n`,
      );
    process.stdout.write(
      `${complete ? `Wrote ${resultsFile}` : `Partial or quick run: results in ${join(logDir, 'results.json')}`}; total ${fmt(results.extras.total_s, 1)} s.\n`,
    );
    if (Object.keys(problems).length) process.stdout.write(`Bot log warnings and errors: ${JSON.stringify(problems)}\n`);
    if (cpuProfileDir) process.stdout.write(`CPU profile of the bot: ${cpuProfileDir}\n`);
    ok = complete;
  } finally {
    await stoppers.stopAll(logLine);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    if (ok && process.env.BENCH_KEEP !== '1') rmSync(logDir, { recursive: true, force: true });
    else logLine(`logs kept in ${logDir}`);
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    if (interrupted) return;
    logLine(`benchmark failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    process.exit(1);
  },
);
