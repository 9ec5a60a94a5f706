/**
 * The requests phase: bursts of real `/request-billing <level> 7d …` commands, each from its own
 * employee and level (every one valid and unique), count-bounded, in rounds on a quiet bot. The
 * ack is the command_ack figure; each round waits until every request has its reply before the
 * next. The pending requests it leaves are what the approve phase clicks.
 */
import { sign } from '../bodies.js';
import { type BurstResult, rounds } from '../measure.js';
import { fmt } from '../report.js';
import { type BotUnderTest, burstInRounds } from './bot.js';
import type { PhaseContext } from './context.js';

export type RequestsResult = BurstResult & {
  pending_requests_created: number;
  all_answered_ms_by_round: number[];
  drained: boolean;
  bot_cpu_ms_per_request: number;
};

export async function measureRequestBursts(ctx: PhaseContext, bot: BotUnderTest): Promise<RequestsResult> {
  const { tracker } = ctx;
  bot.sampler.setPhase('request burst');
  const replies = () => [...tracker.replies.keys()].filter((k) => k.startsWith('cr:')).length;
  const { load, drained, doneMs, botCpuMs } = await burstInRounds(ctx, bot, {
    label: (n) => `command_ack (request burst ${n})`,
    window: 'command_request_burst',
    bodyRounds: rounds(
      ctx.burstRequests.map((r) => r.text),
      ctx.settings.burstRounds,
    ).map((texts) => texts.map(sign)),
    done: (answered) => replies() >= answered,
  });
  const created = ctx.burstRequests.filter(({ person, level }) => tracker.posted.has(`${person.userId}:${level}`)).length;
  ctx.log(
    `  request bursts: ${replies()} replies, ${created} pending requests posted; each round all answered within ${doneMs.map((d) => fmt(d / 1000, 1)).join(' / ')} s${drained ? '' : ' (NOT drained: timed out)'}`,
  );
  const result: RequestsResult = {
    ...load,
    pending_requests_created: created,
    all_answered_ms_by_round: doneMs,
    drained,
    bot_cpu_ms_per_request: botCpuMs / Math.max(1, load.requests),
  };
  ctx.clock.done('request bursts');
  return result;
}
