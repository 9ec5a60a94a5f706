/**
 * The approve phase: signed Approve clicks by the admins, each on its own pending request left by
 * the request bursts (so it needs the requests phase), count-bounded, in rounds like the
 * requests. The ack is the approve_ack figure; each round waits until every click has ended in a
 * grant announced, a failure or a refusal before the next.
 */
import { ACTION } from '../../src/slack/ids.js';
import { buildBlockAction } from '../../testkit/slack-payloads.js';
import { sign } from '../bodies.js';
import { ADMIN_CHANNEL, ADMINS } from '../fixtures.js';
import type { SignedBody } from '../loadgen.js';
import { type BurstResult, rounds } from '../measure.js';
import { fmt } from '../report.js';
import { type BotUnderTest, burstInRounds } from './bot.js';
import type { PhaseContext } from './context.js';

/** How the clicks ended, counted since the phase began. */
interface ClickOutcome {
  granted: number;
  failed: number;
  refused: number;
  busy: number;
}

export type ApproveResult = BurstResult &
  ClickOutcome & {
    all_done_ms_by_round: number[];
    drained: boolean;
    bot_cpu_ms_per_click: number;
  };

export async function measureApproveBursts(ctx: PhaseContext, bot: BotUnderTest): Promise<ApproveResult> {
  bot.sampler.setPhase('approve burst');
  const clicks = approveClicks(ctx);
  const outcome = outcomeSinceNow(ctx);
  const { load, drained, doneMs, botCpuMs } = await burstInRounds(ctx, bot, {
    label: (n) => `approve_ack (burst ${n})`,
    window: 'approve_burst',
    bodyRounds: rounds(clicks, ctx.settings.burstRounds),
    done: (answered) => {
      const o = outcome();
      return o.granted + o.failed + o.refused >= answered;
    },
  });
  const o = outcome();
  ctx.log(
    `  approve bursts: ${o.granted} granted, ${o.failed} failed, ${o.refused} refused (${o.busy} busy); each round all done within ${doneMs.map((d) => fmt(d / 1000, 1)).join(' / ')} s${drained ? '' : ' (NOT drained: timed out)'}`,
  );
  const result: ApproveResult = { ...load, ...o, all_done_ms_by_round: doneMs, drained, bot_cpu_ms_per_click: botCpuMs / Math.max(1, load.requests) };
  ctx.clock.done('approve bursts');
  return result;
}

/** One signed Approve click per request the bursts posted, the admins taking turns, on the admin message it was posted as. */
function approveClicks(ctx: PhaseContext): SignedBody[] {
  const { tracker, rig } = ctx;
  const tsById = tracker.messageTs();
  const ids = ctx.burstRequests.map(({ person, level }) => tracker.posted.get(`${person.userId}:${level}`)?.id).filter((id): id is string => Boolean(id));
  return ids.map((id, i) =>
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
}

/** A reader of how the clicks sent from now on have ended, from what the bot told Slack. */
function outcomeSinceNow(ctx: PhaseContext): () => ClickOutcome {
  const { tracker } = ctx;
  const ephemeralsBefore = tracker.ephemerals;
  const busyBefore = tracker.busyEphemerals;
  const activeBefore = tracker.active.size;
  const failedBefore = tracker.failed.size;
  return () => ({
    granted: tracker.active.size - activeBefore,
    failed: tracker.failed.size - failedBefore,
    refused: tracker.ephemerals - ephemeralsBefore,
    busy: tracker.busyEphemerals - busyBefore,
  });
}
