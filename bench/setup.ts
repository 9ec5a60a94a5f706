/**
 * Brings up what all phases share, in the order the run has always done it: the rig (fake Slack,
 * moto and dynalite behind their counting proxies) and the tracker of the bot's Slack traffic;
 * the period tables' seeding, started in the background beside the IAM users and groups; the
 * bot's table; and the real requests the bursts will send. Returns the phases' context.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DynamoRequestStore } from '../src/store/dynamo-store.js';
import { ensureTable } from '../src/store/table.js';
import { iamClient } from '../testkit/iam-fixtures.js';
import { burstRequests } from './bodies.js';
import { buildBotBundle } from './bundled.js';
import { ADMIN_CHANNEL, createIamFixtures, employees, LEVELS } from './fixtures.js';
import { NO_IDLE_WORK, type PhaseContext } from './phases/context.js';
import { PeriodSeeding } from './phases/period.js';
import { fmt } from './report.js';
import { type Rig, type Stoppers, startRig } from './rig.js';
import { BOT_TABLE, loadPairs } from './settings.js';
import { SlackTracker } from './slack-tracker.js';

/** What the runner has before anything starts. */
export type RunBasics = Pick<PhaseContext, 'settings' | 'stoppers' | 'logDir' | 'log' | 'meter' | 'clock' | 'cpuProfiles'>;

export async function setUp(basics: RunBasics): Promise<{ ctx: PhaseContext; period: PeriodSeeding | undefined }> {
  const { settings, stoppers, log, clock } = basics;
  const people = {
    burst: employees('emp', settings.burstPeople),
    lifecycle: employees('life', settings.lifecyclePeople),
    steps: settings.phases.has('lifecycle') ? employees('step', settings.lifecycleStepPeople) : [],
    warmup: settings.phases.has('lifecycle') ? employees('warm', settings.lifecycleWarmupPeople) : [],
    load: employees('load', Math.ceil(loadPairs(settings) / LEVELS.length)),
  };
  const everyone = [...people.burst, ...people.lifecycle, ...people.steps, ...people.warmup, ...people.load];
  const rig = await startRig(stoppers, everyone);
  const tracker = new SlackTracker(rig.slack, ADMIN_CHANNEL);
  tracker.start();
  stoppers.add('Slack tracker', async () => tracker.stop());
  const iam = iamClient(rig.moto.endpoint);
  clock.done('start moto, dynalite, fake Slack, proxies');

  // The period tables (100,000+ items) are seeded in the background whenever nothing is timed:
  // beside the IAM fixtures now, and later while the bot works off its bursts.
  const period = settings.phases.has('period') ? await PeriodSeeding.start(basics) : undefined;
  const seeding = period ?? NO_IDLE_WORK;
  const fixturesStarted = performance.now();
  await createIamFixtures(iam, everyone);
  log(`  IAM: 2 groups and ${everyone.length} users in ${fmt((performance.now() - fixturesStarted) / 1000, 1)} s`);
  await seeding.pause();
  clock.done(period ? 'IAM users (period tables seeding beside)' : 'IAM users');

  const requests = await openBotTable(basics.stoppers, rig, BOT_TABLE);
  const bundle = settings.fromSource ? undefined : await buildBotBundle(basics.logDir);
  if (bundle) {
    log(`  bundle: ${fmt(bundle.bytes / 1e6, 1)} MB built in ${fmt(bundle.build_ms, 0)} ms, as npm run build makes it; every bot process runs it`);
    clock.done('bot bundle');
  }
  const ctx: PhaseContext = {
    ...basics,
    rig,
    tracker,
    people,
    burstRequests: burstRequests(people.burst, rig.slack),
    observers: { iam, requests },
    seeding,
    bundle,
  };
  return { ctx, period };
}

/** A bot's table, created directly on dynalite (not through the counting proxy); a store on it to read outcomes. */
export async function openBotTable(stoppers: Stoppers, rig: Rig, table: string): Promise<DynamoRequestStore> {
  const client = new DynamoDBClient({ endpoint: rig.dynamo.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' } });
  stoppers.add(`bench DynamoDB client (${table})`, async () => client.destroy());
  await ensureTable(client, table);
  return new DynamoRequestStore(DynamoDBDocumentClient.from(client), table);
}
