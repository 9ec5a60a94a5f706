/**
 * What a benchmark run does, read once from the environment (the variables are documented in
 * run.ts): which phases run, how big and how long each load is (small under BENCH_QUICK), where
 * CPU profiles go, and the budgets of PRODUCT §6 the figures are held against.
 */
import { join } from 'node:path';

export const ALL_PHASES = [
  'period',
  'baseline',
  'help',
  'lifecycle',
  'requests',
  'approve',
  'sustained',
  'saturation',
  'source',
  'embedded',
  'identity-scale',
  'review-scale',
] as const;
export type PhaseName = (typeof ALL_PHASES)[number];

export const BUDGET = {
  ackP99Ms: 100,
  commandVsBaseline: 0.5,
  /** Sustained mixed load: the bot's ack p99 at most this times bare Bolt's at the same rate. */
  sustainedVsBare: 1.5,
  /** The rate (total, requests/s) the sustained budget is held at. */
  sustainedBudgetRate: 150,
  saturationP99Ms: 1_000,
  periodRatio: 1.5,
  periodAim: 1.2,
  summaryRatio: 1.5,
  startupMs: 2_000,
  peakRssMb: 200,
  lifecycleIamCalls: 8,
  lifecycleCpuMs: 20,
};

/** The bot's table on the shared dynalite. */
export const BOT_TABLE = 'bench-billing-access';

export interface Settings {
  quick: boolean;
  /** The phases asked for, in the order BENCH_PHASES names them (all by default). */
  phases: ReadonlySet<PhaseName>;
  /** BENCH_CPU_PROF: the bot only (`bot`), the bare Bolt app too (`all`). */
  cpuProfile: 'off' | 'bot' | 'all';
  keepLogs: boolean;
  /** Priorities on (BENCH_NICE not 0): emulators yield, the load generator goes first. */
  nice: boolean;
  connections: number;
  /** Each duration-bounded load run (baseline, help) lasts this long, after a short warm-up. */
  loadSeconds: number;
  warmupSeconds: number;
  /** Employees for the unique request and approve bursts: one request per level each. */
  burstPeople: number;
  /**
   * Each burst (baseline, requests, approvals) is split into this many rounds, each from a fresh
   * load-generator process on a quiet server; the figures are the rounds' medians, so one
   * scheduling hiccup on a shared 2-core machine moves one round, not the result.
   */
  burstRounds: number;
  lifecyclePeople: number;
  lifecycleMax: number;
  lifecycleSeconds: number;
  lifecycleConcurrency: number;
  /**
   * Lifecycles run first and not counted (employees of their own): the first ones after start pay
   * for compiling and loading the work path, which a bot that runs for days pays once. Their own
   * CPU per lifecycle is reported beside the figure.
   */
  lifecycleWarmupPeople: number;
  weekItems: number;
  historyItems: number;
  historyDays: number;
  periodRuns: number;
  /** The bot from source (`npm start`, under tsx): its help load, for its memory under load. */
  sourceSeconds: number;
  /**
   * BENCH_FROM_SOURCE=1: every bot process runs from source under tsx, as `npm start` does (for
   * readable CPU profiles); by default they run the bundle `npm run build` makes, as the image does.
   */
  fromSource: boolean;
  /** The bot on STORE=embedded: a help load, then lifecycles, for its memory and throughput. */
  embeddedLifecycleMax: number;
  /** How long the bot may take to finish a burst's post-ack work before the run moves on. */
  drainSeconds: number;
  /** Lifecycles of the per-step breakdown (all requests, then all approvals, each step measured apart). */
  lifecycleStepPeople: number;
  /** Sustained mixed load: total rates (requests/s, commands and clicks taking turns, half each), each for `sustainedSeconds`. */
  sustainedRates: number[];
  sustainedSeconds: number;
  /**
   * Rounds per sustained rate, bare Bolt's and the bot's taking turns (bare, bot, bare, bot):
   * a slow minute of the machine lands on both sides, not on one.
   */
  sustainedRounds: number;
  /** Saturation: each flood lasts this long. */
  saturationSeconds: number;
  /** Distinct (employee, level) requests each saturation flood's commands cycle through. */
  saturationPairs: number;
  /** Clicks per second (steady) during the command flood: their ack and time to grant. */
  floodClickRate: number;
  /** How long the sustained and saturation phases wait for the bot to finish a load's post-ack work (a full queue is 1,000 jobs per lane). */
  loadDrainSeconds: number;
  /**
   * BENCH_WORK_QUEUE: the post-ack setting the load phases also run with, on a second bot (JSON over
   * WORK_QUEUE_OPTIONS plus `thread`; default {"thread":false}, the post-ack work in the thread that
   * answers Slack with the acks-first pause; `off`: the shipped bot only).
   */
  workQueueVariant: Record<string, unknown> | undefined;
  /** The trial options set (BENCH_SUSTAINED_RATES, BENCH_BOT_ENV, BENCH_BOT_NODE_ARGS): with any, the run is not the bot as shipped. */
  trialOptions: string[];
}

const TRIAL_OPTIONS = ['BENCH_SUSTAINED_RATES', 'BENCH_BOT_ENV', 'BENCH_BOT_NODE_ARGS'] as const;

export function readSettings(env: NodeJS.ProcessEnv): Settings {
  const quick = env.BENCH_QUICK === '1';
  // Checked now, so a mistyped trial stops before the run, not at the first bot start (rig.ts applies it).
  extraBotEnv(env);
  return {
    quick,
    phases: new Set<PhaseName>(env.BENCH_PHASES ? (env.BENCH_PHASES.split(',').map((p) => p.trim()) as PhaseName[]) : ALL_PHASES),
    cpuProfile: env.BENCH_CPU_PROF === 'all' ? 'all' : env.BENCH_CPU_PROF === '1' ? 'bot' : 'off',
    keepLogs: env.BENCH_KEEP === '1',
    nice: env.BENCH_NICE !== '0',
    connections: 50,
    loadSeconds: quick ? 3 : 10,
    warmupSeconds: quick ? 1 : 2,
    burstPeople: quick ? 60 : 300,
    burstRounds: 3,
    lifecyclePeople: quick ? 15 : 80,
    lifecycleMax: quick ? 20 : 150,
    lifecycleSeconds: quick ? 15 : 25,
    lifecycleConcurrency: 8,
    lifecycleWarmupPeople: quick ? 3 : 15,
    weekItems: 1_000,
    historyItems: quick ? 10_000 : 100_000,
    historyDays: 700,
    periodRuns: quick ? 3 : 7,
    sourceSeconds: quick ? 2 : 5,
    fromSource: env.BENCH_FROM_SOURCE === '1',
    embeddedLifecycleMax: quick ? 10 : 80,
    drainSeconds: 90,
    lifecycleStepPeople: quick ? 5 : 20,
    sustainedRates: sustainedRatesOf(env),
    sustainedSeconds: quick ? 3 : 10,
    sustainedRounds: quick ? 1 : 2,
    saturationSeconds: quick ? 3 : 10,
    saturationPairs: quick ? 200 : 800,
    floodClickRate: 10,
    loadDrainSeconds: 600,
    trialOptions: TRIAL_OPTIONS.filter((name) => env[name]),
    workQueueVariant: env.BENCH_WORK_QUEUE === 'off' ? undefined : (JSON.parse(env.BENCH_WORK_QUEUE ?? '{"thread":false}') as Record<string, unknown>),
  };
}

/** Per sustained round of the bot (in order: each rate's rounds, then the next rate's): how many commands and clicks it sends (half the rate each). */
export function sustainedCounts(settings: Settings): { rate: number; round: number; commands: number; clicks: number }[] {
  return settings.sustainedRates.flatMap((rate) => {
    const half = Math.round((rate / 2) * settings.sustainedSeconds);
    return Array.from({ length: settings.sustainedRounds }, (_, round) => ({ rate, round: round + 1, commands: half, clicks: half }));
  });
}

/**
 * Pending requests made before the sustained rounds for their clicks: each round clicks requests
 * made before it, first these, then those the earlier rounds' commands made.
 */
export function sustainedPrefill(settings: Settings): number {
  let need = 0;
  let madeByCommands = 0;
  let clicked = 0;
  for (const step of sustainedCounts(settings)) {
    clicked += step.clicks;
    need = Math.max(need, clicked - madeByCommands);
    madeByCommands += step.commands;
  }
  return need;
}

/** Pending requests the saturation phase clicks: the command flood's steady clicks, then the mixed flood's (which cycles through them). */
export function saturationClickTargets(settings: Settings): number {
  return Math.ceil(settings.floodClickRate * settings.saturationSeconds) + settings.saturationPairs;
}

/** What the sustained rounds leave pending (made by their commands, not clicked), for the saturation phase's clicks. */
export function sustainedLeftover(settings: Settings): number {
  const steps = sustainedCounts(settings);
  return sustainedPrefill(settings) + steps.reduce((a, s) => a + s.commands - s.clicks, 0);
}

/**
 * Distinct (employee, level) requests the sustained and saturation phases make on one bot: the
 * pending requests made for the sustained clicks, every sustained command, the saturation clicks'
 * requests the sustained steps did not leave, and each flood's own commands.
 */
export function loadPairs(settings: Settings): number {
  const sustained = settings.phases.has('sustained');
  let pairs = 0;
  if (sustained) pairs += sustainedPrefill(settings) + sustainedCounts(settings).reduce((a, s) => a + s.commands, 0);
  if (settings.phases.has('saturation'))
    pairs += 2 * settings.saturationPairs + Math.max(0, saturationClickTargets(settings) - (sustained ? sustainedLeftover(settings) : 0));
  return pairs;
}
/**
 * Whether this run may stand for the bot as shipped (only then is bench/results.json written, for the README
 * table): every phase, full counts, the contract's sustained rates, and the bot's own flags and
 * environment (no BENCH_BOT_ENV or BENCH_BOT_NODE_ARGS).
 */
export function isComplete(settings: Settings): boolean {
  return settings.trialOptions.length === 0 && !settings.quick && ALL_PHASES.every((p) => settings.phases.has(p));
}

/** BENCH_SUSTAINED_RATES=150 or 50,150: the sustained phase at these total rates only (a trial; default 50 and 150). */
function sustainedRatesOf(env: NodeJS.ProcessEnv): number[] {
  if (!env.BENCH_SUSTAINED_RATES) return [50, 150];
  const rates = env.BENCH_SUSTAINED_RATES.split(',').map((r) => Number(r.trim()));
  if (rates.some((r) => !Number.isInteger(r) || r <= 0)) {
    throw new Error(`BENCH_SUSTAINED_RATES must be whole requests per second, comma-separated (e.g. 150 or 50,150); got ${env.BENCH_SUSTAINED_RATES}`);
  }
  return rates;
}

/**
 * BENCH_BOT_ENV='{"MALLOC_ARENA_MAX":"2"}': variables set on every bot process over the bench's
 * own (a trial of a setting without changing the code; such a run is not complete).
 */
export function extraBotEnv(env: NodeJS.ProcessEnv): Record<string, string> {
  if (!env.BENCH_BOT_ENV) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(env.BENCH_BOT_ENV);
  } catch {
    parsed = undefined;
  }
  const ok = typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) && Object.values(parsed).every((v) => typeof v === 'string');
  if (!ok) throw new Error(`BENCH_BOT_ENV must be a JSON object of strings, e.g. '{"MALLOC_ARENA_MAX":"2"}'; got ${env.BENCH_BOT_ENV}`);
  return parsed as Record<string, string>;
}

/** Where the CPU profiles go, if asked for: the bot's, and the bare Bolt app's. */
export function cpuProfileDirs(settings: Settings, logDir: string): { bot?: string; bare?: string } {
  return {
    ...(settings.cpuProfile !== 'off' ? { bot: join(logDir, 'cpu-profile') } : {}),
    ...(settings.cpuProfile === 'all' ? { bare: join(logDir, 'cpu-profile-bare') } : {}),
  };
}
