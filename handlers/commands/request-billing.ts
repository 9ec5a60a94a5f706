import type { AllMiddlewareArgs, SlackCommandMiddlewareArgs } from '@slack/bolt';
import { type Command, parseCommand } from '../../src/domain/command.js';
import { ValidationError } from '../../src/errors.js';
import { escapeMrkdwn, renderText } from '../../src/slack/escape.js';
import { helpText } from '../../src/slack/help.js';
import { requestConfirmation, statusReply } from '../../src/slack/messages.js';
import { requestModal } from '../../src/slack/views.js';
import type { HandlerDeps, JobDeps } from '../deps.js';
import { refreshHome } from '../home.js';
import { BUSY_MESSAGE, commandRateMessage, ephemeral, userMessage } from '../reply.js';

type Args = SlackCommandMiddlewareArgs & AllMiddlewareArgs;

/** /request-billing: parse, ack at once, then do the work off the ack path and reply ephemerally. */
export function requestBillingCommand(deps: HandlerDeps) {
  const { config, log, dryRun } = deps;
  const parseOptions = {
    levels: config.levels.map((l) => l.level),
    defaultDurationDays: config.defaultDurationDays,
    maxDurationDays: config.maxDurationDays,
    breakGlassEnabled: config.breakGlassMaxHours !== undefined,
  };
  // The help text depends on the configuration only: built once.
  const helpReply = ephemeral(helpText(config), dryRun);

  return async ({ command, ack, respond, client }: Args): Promise<void> => {
    const context = { event: 'command', userId: command.user_id, teamId: command.team_id, channelId: command.channel_id };
    const rate = await deps.commandRate.take(command.team_id, command.user_id);
    if (!rate.allowed) {
      log.info({ ...context, outcome: 'rate_limited' });
      await ack(ephemeral(commandRateMessage(deps.commandRate.perMinute, rate.retryInSeconds), dryRun));
      return;
    }
    let parsed: Command;
    try {
      parsed = parseCommand(command.text, parseOptions);
    } catch (err) {
      log.info({ ...context, outcome: 'invalid' });
      await ack(ephemeral(err instanceof ValidationError ? renderText(err.parts) : 'Could not read that command.', dryRun));
      return;
    }
    log.info({ ...context, kind: parsed.kind });

    switch (parsed.kind) {
      case 'help':
        await ack(helpReply);
        return;
      case 'modal':
        await ack();
        try {
          await client.views.open({
            trigger_id: command.trigger_id,
            view: requestModal(config.levels, config.maxDurationDays, config.defaultDurationDays),
          });
        } catch (err) {
          await respond(ephemeral(userMessage(err, log, context), dryRun));
        }
        return;
      default: {
        const caller = { userId: command.user_id, teamId: command.team_id, channelId: command.channel_id };
        const taken = deps.jobs.submit({ kind: 'command', command: parsed, caller, responseUrl: command.response_url });
        // Refused as busy in the ack itself: a flood's refusals cost this thread no call to Slack.
        await ack(taken ? undefined : ephemeral(BUSY_MESSAGE, dryRun));
      }
    }
  };
}

/** A command's work, after the ack: what the command does, answered through its response_url. */
export interface CommandJob {
  kind: 'command';
  command: Exclude<Command, { kind: 'help' | 'modal' }>;
  caller: Caller;
  responseUrl: string;
}

export async function runCommandJob(deps: JobDeps, job: CommandJob): Promise<void> {
  const { command, caller } = job;
  const context = { event: 'command', userId: caller.userId, teamId: caller.teamId, channelId: caller.channelId };
  await run(deps, command, caller, (text) => deps.respond(job.responseUrl, ephemeral(text, deps.dryRun)), context);
  // What the command changed shows on the person's Home, when they have one open.
  if (CHANGES_HOME.has(command.kind)) await refreshHome(deps, caller.userId);
}

/** Commands whose outcome the person's own Home shows (their requests and grants, or an admin's lists). */
const CHANGES_HOME: ReadonlySet<Command['kind']> = new Set(['request', 'cancel', 'done', 'revoke']);

export interface Caller {
  userId: string;
  teamId: string;
  channelId: string;
}

async function run(deps: JobDeps, parsed: CommandJob['command'], caller: Caller, reply: (text: string) => Promise<void>, context: object): Promise<void> {
  const { userId, teamId, channelId } = caller;
  try {
    switch (parsed.kind) {
      case 'request': {
        const result = await deps.requests.submit({ userId, teamId, ...parsed });
        const extension = result.extends?.expiresAt ? { currentExpiresAt: result.extends.expiresAt } : undefined;
        let text = requestConfirmation(result.request, extension);
        if (result.request.breakGlass)
          text =
            result.request.status === 'ACTIVE'
              ? `:rotating_light: Break-glass access granted until ${result.request.expiresAt}. The admins are alerted.`
              : `:rotating_light: Break-glass access could not be granted: the change in AWS did not go through. The admins are alerted and see the details (reference \`${result.request.id}\`).`;
        if (result.adminPostFailed) text += '\n:warning: The admin channel could not be told yet; the request is stored and will be posted again.';
        await reply(text);
        return;
      }
      case 'status':
        await reply(statusReply(await deps.requests.status(userId)));
        return;
      case 'cancel': {
        const cancelled = await deps.requests.cancel(userId, parsed.requestId);
        await reply(`Request \`${cancelled.id}\` is cancelled.`);
        return;
      }
      case 'link':
        await deps.requests.link(userId, channelId, parsed.userId, parsed.iamUserName);
        await reply(`<@${parsed.userId}> is now linked to IAM user \`${escapeMrkdwn(parsed.iamUserName)}\`.`);
        return;
      case 'revoke': {
        const ended = await deps.lifecycle.revoke(userId, parsed.target, channelId);
        await reply(`Revoked: ${ended.map((g) => `\`${g.id}\` (${g.level}, <@${g.requesterId}>)`).join(', ') || 'nothing (already ended)'}.`);
        return;
      }
      case 'done': {
        const ended = await deps.lifecycle.done(userId, parsed.level);
        await reply(`Done: your ${ended.map((g) => `*${g.level}*`).join(', ') || ''} billing access is ended and removed. Thanks for giving it back early.`);
        return;
      }
      case 'summary': {
        const report = await deps.summaries.postOnDemand(userId, channelId);
        await reply(
          `Summary of the last 7 days posted in <#${deps.config.adminChannelId}> (${report.stats.total} requests, ${report.activeGrants.length} active grants).`,
        );
        return;
      }
    }
  } catch (err) {
    await reply(userMessage(err, deps.log, context));
  }
}
