/**
 * The Slack payloads the loads send: `/request-billing help` bodies (acked with the help text, no
 * I/O) and the real requests of the bursts, one per employee and level so every one is valid and
 * unique. Bodies are signed with the bench's signing secret when they are about to be sent.
 */
import type { SlackStandIn as FakeSlack } from '../playground/slack-standin.js';
import { ACTION } from '../src/slack/ids.js';
import { buildBlockAction, buildCommand } from '../testkit/slack-payloads.js';
import { signSlackRequest } from '../testkit/slack-signing.js';
import { ADMIN_CHANNEL, type Employee, GENERAL_CHANNEL, LEVELS, SIGNING_SECRET, TEAM } from './fixtures.js';
import type { SignedBody } from './loadgen.js';

export function sign(body: string): SignedBody {
  const h = signSlackRequest(SIGNING_SECRET, body);
  return { body, headers: { 'x-slack-signature': h['x-slack-signature'], 'x-slack-request-timestamp': h['x-slack-request-timestamp'] } };
}

/** `n` signed help commands, rotating through `people`. */
export function helpBodies(people: Employee[], slack: FakeSlack, n: number): SignedBody[] {
  return helpTexts(people, slack, n).map(sign);
}

/** `n` help commands (unsigned), rotating through `people`. */
export function helpTexts(people: Employee[], slack: FakeSlack, n: number): string[] {
  return Array.from({ length: n }, (_, i) => {
    const p = people[i % people.length] as Employee;
    return buildCommand({
      user_id: p.userId,
      user_name: p.iamUserName,
      team_id: TEAM,
      channel_id: GENERAL_CHANNEL,
      text: 'help',
      response_url: slack.responseUrl(`help-${i}`),
    });
  });
}

/** A real request (unsigned) of `person` for `level`, its reply going to response_url key `key`. */
export function requestText(person: Employee, level: string, slack: FakeSlack, key: string, why = 'month-end close for the finance review'): string {
  return buildCommand({
    user_id: person.userId,
    user_name: person.iamUserName,
    team_id: TEAM,
    channel_id: GENERAL_CHANNEL,
    text: `${level} 7d ${why}`,
    response_url: slack.responseUrl(key),
  });
}

/** An admin's Approve click (unsigned) on request `id`, on the admin message `messageTs` when known. */
export function approveText(admin: string, id: string, slack: FakeSlack, key: string, messageTs?: string): string {
  return buildBlockAction({
    userId: admin,
    channelId: ADMIN_CHANNEL,
    actionId: ACTION.approve,
    value: id,
    ...(messageTs ? { messageTs } : {}),
    responseUrl: slack.responseUrl(key),
  });
}

/** One real request of the bursts: who asks for which level, and the (unsigned) command. */
export interface BurstRequest {
  person: Employee;
  level: string;
  text: string;
}

/** Every level for every person; the reply to each goes to response_url key `cr:<user>:<level>`. */
export function burstRequests(people: Employee[], slack: FakeSlack): BurstRequest[] {
  return LEVELS.flatMap((l) => people.map((person) => ({ person, level: l.level as string }))).map(({ person, level }) => ({
    person,
    level,
    text: requestText(person, level, slack, `cr:${person.userId}:${level}`),
  }));
}
