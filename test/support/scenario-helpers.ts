/**
 * Small helpers shared by the integration scenarios: reading what the bot answered to a
 * command (ack body or response_url), collecting everything the bot sent to Slack, and a
 * second bot instance with a capturing logger for the log-hygiene checks.
 */

import { Writable } from 'node:stream';
import { afterEach, beforeEach, expect } from 'vitest';
import { type RunningBot, startBot } from '../../src/bot-one-thread.js';
import type { AccessRequest } from '../../src/domain/request.js';
import { createLogger } from '../../src/log.js';
import { ACTION, FIELD, VIEW } from '../../src/slack/ids.js';
import { buildBlockAction, buildCommand, buildViewSubmission } from '../../testkit/slack-payloads.js';
import { type BotResponse, postToBot } from '../../testkit/slack-signing.js';
import { workerAwsEndpoint } from './aws-endpoint.js';
import type { StoredMessage } from './fake-slack.js';
import { ADMIN_CHANNEL, Harness, type HarnessOptions, PEOPLE, SIGNING_SECRET, TEAM } from './harness.js';

/**
 * Registers beforeEach/afterEach that start a fresh Harness with `options` for every test of
 * the enclosing describe and stop it afterwards; returns a getter for the running one.
 */
export function useHarness(options: Omit<HarnessOptions, 'awsEndpoint'> = {}): () => Harness {
  let current: Harness | undefined;
  beforeEach(async () => {
    current = await Harness.start({ awsEndpoint: workerAwsEndpoint(), ...options });
  });
  afterEach(async () => {
    await current?.stop();
    current = undefined;
  });
  return () => {
    if (!current) throw new Error('the harness is not running (use it inside a test)');
    return current;
  };
}

/** The request as the table holds it now. */
export async function stored(h: Harness, id: string): Promise<AccessRequest> {
  const request = await h.bot.deps.store.get(id);
  if (!request) throw new Error(`request ${id} is not in the table`);
  return request;
}

/** A pending request, with its admin message recorded in the table. */
export async function pendingRequest(h: Harness, userId: string, text: string): Promise<AccessRequest> {
  const request = await h.requestByText(userId, text);
  await h.idle();
  const current = await stored(h, request.id);
  expect(current.status).toBe('PENDING');
  expect(current.adminMessage).toBeTruthy();
  return current;
}

/** Requests by text and has an admin (admin1 unless named) approve it: the ACTIVE grant. */
export async function activeGrant(h: Harness, userId: string, text: string, approver: string = PEOPLE.admin1.id): Promise<AccessRequest> {
  const request = await pendingRequest(h, userId, text);
  expect((await h.click(approver, 'approve', request.id)).status).toBe(200);
  await h.waitForStatus(request.id, 'ACTIVE');
  await h.idle();
  return stored(h, request.id);
}

/** The text of an ephemeral answer put in the ack's body, if any. */
export function ackText(res: BotResponse): string | undefined {
  const json = res.json as { text?: unknown } | undefined;
  return typeof json?.text === 'string' && json.text.length > 0 ? json.text : undefined;
}

/** Every answer to a command: the ack's body first, then each response_url body. */
export function commandAnswers(h: Harness, res: BotResponse & { key: string }): string[] {
  const fromAck = ackText(res);
  return [...(fromAck ? [fromAck] : []), ...h.replies(res.key)];
}

/** Waits for the first answer to a command (ack body or response_url) and returns all answers joined. */
export async function waitForAnswer(h: Harness, res: BotResponse & { key: string }): Promise<string> {
  await h.slack.waitFor(() => commandAnswers(h, res).length > 0);
  return commandAnswers(h, res).join('\n');
}

/** The response_url bodies (full JSON) recorded for a command. */
export function responseBodies(h: Harness, key: string): Record<string, unknown>[] {
  return h.slack.responses(key).map((r) => r.body);
}

/** A message as one searchable string: fallback text and blocks. */
export function messageContent(m: Pick<StoredMessage, 'text' | 'blocks'> | undefined): string {
  if (!m) return '';
  return `${m.text}\n${JSON.stringify(m.blocks ?? [])}`;
}

export function buttonLabels(m: Pick<StoredMessage, 'blocks'> | undefined): string[] {
  const labels: string[] = [];
  for (const block of (m?.blocks ?? []) as { type?: string; elements?: { type?: string; text?: { text?: string } }[] }[]) {
    if (block.type !== 'actions') continue;
    for (const el of block.elements ?? []) if (el.type === 'button' && el.text?.text) labels.push(el.text.text);
  }
  return labels;
}

/** What the bot sent as message content, one entry per Web API call or response_url body. */
export interface SentContent {
  via: string;
  text: string;
  raw: string;
}

const MESSAGE_METHODS = ['chat.postMessage', 'chat.update', 'chat.postEphemeral'];

export function sentMessages(h: Harness): SentContent[] {
  const out: SentContent[] = [];
  for (const call of h.slack.calls()) {
    if (!MESSAGE_METHODS.includes(call.method)) continue;
    out.push({ via: call.method, text: String(call.args.text ?? ''), raw: JSON.stringify(call.args) });
  }
  for (const r of h.slack.responses()) out.push({ via: `response_url:${r.key}`, text: String(r.body.text ?? ''), raw: JSON.stringify(r.body) });
  return out;
}

/** Everything the bot sent outwards to Slack (every Web API call's arguments and every response_url body), as one string. */
export function everythingSent(h: Harness, extraAckBodies: BotResponse[] = []): string {
  return [
    ...h.slack.calls().map((c) => JSON.stringify(c.args)),
    ...h.slack.responses().map((r) => JSON.stringify(r.body)),
    ...extraAckBodies.map((r) => r.text),
  ].join('\n');
}

/** A fresh Slack request id that no stored request has. */
export const UNKNOWN_REQUEST_ID = '01ARZ3NDEKTSV4RRFFQ69G5FAV';

// ---------------------------------------------------------------------------
// A second bot with a log destination (the Harness starts its bot with a silent logger)
// ---------------------------------------------------------------------------

export class LogCapture extends Writable {
  private readonly chunks: string[] = [];

  override _write(chunk: Buffer | string, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.chunks.push(typeof chunk === 'string' ? chunk : chunk.toString('utf8'));
    callback();
  }

  get text(): string {
    return this.chunks.join('');
  }

  get lines(): string[] {
    return this.text.split('\n').filter(Boolean);
  }
}

/**
 * Runs another instance of the bot beside the Harness's own, on the same config, store,
 * fake Slack and IAM proxy, but logging at `level` through the production logger into a
 * LogCapture. Requests are sent to it directly, with known trigger_ids and response_urls.
 */
export class LoggedBot {
  private constructor(
    readonly bot: RunningBot,
    readonly logs: LogCapture,
  ) {}

  static async start(h: Harness, level: 'info' | 'debug' | 'trace'): Promise<LoggedBot> {
    const logs = new LogCapture();
    const config = { ...h.bot.deps.config, logLevel: level };
    const bot = await startBot({ config, log: createLogger(level, logs), aws: { region: 'us-east-1' }, slackRetries: 0 });
    return new LoggedBot(bot, logs);
  }

  get url(): string {
    return `http://127.0.0.1:${this.bot.port}/slack/events`;
  }

  command(userId: string, text: string, responseUrl: string, triggerId: string): Promise<BotResponse> {
    return postToBot(this.url, SIGNING_SECRET, buildCommand({ user_id: userId, text, response_url: responseUrl, trigger_id: triggerId, team_id: TEAM }));
  }

  click(
    userId: string,
    action: keyof typeof ACTION,
    requestId: string,
    responseUrl: string,
    triggerId: string,
    channelId = ADMIN_CHANNEL,
  ): Promise<BotResponse> {
    return postToBot(this.url, SIGNING_SECRET, buildBlockAction({ userId, channelId, actionId: ACTION[action], value: requestId, responseUrl, triggerId }));
  }

  submitRequestModal(userId: string, fields: { level: string; duration: string; justification: string }): Promise<BotResponse> {
    return postToBot(
      this.url,
      SIGNING_SECRET,
      buildViewSubmission({
        userId,
        callbackId: VIEW.request,
        values: {
          [FIELD.level.block]: { [FIELD.level.action]: { type: 'static_select', selected_option: { value: fields.level } } },
          [FIELD.duration.block]: { [FIELD.duration.action]: { type: 'static_select', selected_option: { value: fields.duration } } },
          [FIELD.justification.block]: { [FIELD.justification.action]: { type: 'plain_text_input', value: fields.justification } },
        },
      }),
    );
  }

  /** Waits until this bot has no post-ack work left. */
  async idle(): Promise<void> {
    await new Promise((r) => setTimeout(r, 20));
    await this.bot.deps.work.onIdle();
  }

  async stop(): Promise<void> {
    await this.bot.stop();
  }
}
