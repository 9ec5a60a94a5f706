/**
 * The period phase: the weekly period read and the summary, on a week of requests alone against
 * the same week beside 100,000 older ones (PRODUCT §6's ratios). The tables live on a dynalite of
 * their own and are seeded from the start of the run, in the background, only while nothing is
 * timed (every other phase pauses the seeding before it measures); the reads are timed last, once
 * the seeding has finished.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { loadConfig } from '../../src/config.js';
import type { Log } from '../measure.js';
import { type PeriodOptions, type PeriodResult, type PeriodTables, timePeriodReads } from '../period.js';
import { type StartedSeeding, startSeeding } from '../period-seeding.js';
import { type NodeChild, setNice } from '../procs.js';
import { fmt } from '../report.js';
import { botEnv, startDynalite } from '../rig.js';
import { BOT_TABLE } from '../settings.js';
import type { IdleWork, PhaseContext } from './context.js';

const TABLES: PeriodTables = { weekOnly: 'bench-week-only', withHistory: 'bench-week-with-history' };

/** The seeding under way: paused and resumed by the other phases, then finished and timed by `measure`. */
export class PeriodSeeding implements IdleWork {
  private constructor(
    private readonly log: Log,
    private readonly dynamo: NodeChild,
    private readonly options: PeriodOptions,
    private readonly seeding: StartedSeeding,
  ) {}

  /** Starts the period tables' dynalite and the seeding of both tables, in the background. */
  static async start(ctx: Pick<PhaseContext, 'settings' | 'stoppers' | 'log'>): Promise<PeriodSeeding> {
    const dynamo = await startDynalite(ctx.stoppers, 'dynalite (period tables)');
    // Its LevelDB compacts in the background after seeding pauses: never ahead of the bot.
    if (ctx.settings.nice) setNice(dynamo.process.pid);
    const client = new DynamoDBClient({ endpoint: dynamo.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' } });
    ctx.stoppers.add('period DynamoDB client', async () => client.destroy());
    const { settings } = ctx;
    const options: PeriodOptions = {
      client,
      config: summaryConfig(),
      weekItems: settings.weekItems,
      historyItems: settings.historyItems,
      historyDays: settings.historyDays,
      runs: settings.periodRuns,
      log: ctx.log,
    };
    return new PeriodSeeding(ctx.log, dynamo.process, options, await startSeeding(options, TABLES));
  }

  async pause(): Promise<void> {
    const { seeder } = this.seeding;
    await seeder.pause();
    this.log(`  (seeding paused at ${seeder.written.toLocaleString('en-US')} of ${seeder.total.toLocaleString('en-US')} items)`);
  }

  resume(): void {
    this.seeding.seeder.resume();
  }

  /** Lets the seeding finish, then times the period query and the summary on both tables. */
  async measure(ctx: PhaseContext): Promise<PeriodResult> {
    const { seeder, items, week } = this.seeding;
    seeder.resume();
    await seeder.done;
    const seedMs = seeder.seedingMs;
    ctx.log(`  seeded ${items.toLocaleString('en-US')} items in ${fmt(seedMs / 1000, 1)} s of seeding (${fmt(items / (seedMs / 1000), 0)} items/s)`);
    ctx.clock.done('period tables: rest of the seeding');
    const reads = await ctx.meter.measure('period', () => timePeriodReads(this.options, TABLES, week));
    const result: PeriodResult = { ...reads, seed: { items, ms: seedMs, items_per_s: items / (seedMs / 1000) }, week };
    await this.dynamo.stop();
    ctx.log(
      `  period_query: ${fmt(reads.period_query.week_only_ms, 1)} ms week only, ${fmt(reads.period_query.with_history_ms, 1)} ms with history (×${fmt(reads.period_query.ratio, 2)}); summary: ${fmt(reads.summary.week_only_ms, 1)} / ${fmt(reads.summary.with_history_ms, 1)} ms (×${fmt(reads.summary.ratio, 2)})`,
    );
    ctx.clock.done('period query and summary timing');
    return result;
  }
}

/** The bot's configuration, for the summary timed in this process (its endpoints are not used there). */
function summaryConfig() {
  return loadConfig(botEnv({ slackApiUrl: 'http://127.0.0.1:9/api/', dynamoUrl: '', iamUrl: '' }, 0, BOT_TABLE));
}
