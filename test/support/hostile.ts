/**
 * Hostile-input support for test/reliability/hostile-input.test.ts: fast-check generators of the
 * text people (or forgers) can put into commands, modals, buttons and payloads, and the checker
 * that everything the bot sent to Slack carries user text only escaped (`&amp;`, `&lt;`, `&gt;`,
 * the rule of src/slack/escape.ts), so no `<!channel>`, `<@…>` or link markup came from a user.
 */
import fc from 'fast-check';
import type { FakeSlack } from './fake-slack.js';

/** Fixed so a failure can be replayed; printed with every failing property by `runProperty`. */
export const HOSTILE_SEED = Number(process.env.HOSTILE_SEED ?? 20261202);

/** Markup a user could type to ping, mention or disguise a link; ids are ones no fixture has. */
export const INJECTIONS = [
  '<!channel>',
  '<!here>',
  '<!everyone>',
  '<!subteam^S0INJECT>',
  '<@U0INJECT1>',
  '<@W0INJECT2|boss>',
  '<#C0INJECT3>',
  '<https://evil.example|click>',
  '<https://evil.example>',
  '<mailto:x@evil.example|mail>',
  '<!date^1700000000^{date}|x>',
  '&lt;!channel&gt;',
  '&amp;',
  '&',
  '<',
  '>',
  '*bold*',
  '_italic_',
  '~strike~',
  '`code`',
  '```block```',
  '> quote',
  ':rotating_light:',
  '\u202e',
  '\u0000',
  '\r\n',
] as const;

/** Words the parser gives a meaning to, and near misses of them. */
export const COMMAND_WORDS = [
  'help',
  'HELP',
  'status',
  'Status',
  'summary',
  'done',
  'cancel',
  'revoke',
  'link',
  'read-only',
  'READ-ONLY',
  'read_only',
  'full',
  'Full',
  'BillingFull',
  'admin',
  'AdministratorAccess',
  'break-glass',
  '7d',
  '0d',
  '-1d',
  '999999d',
  '1.5d',
  '7D',
  '01ARZ3NDEKTSV4RRFFQ69G5FAV',
  '01arz3ndektsv4rrffq69g5fav',
  'helpme',
  'status?',
  'cancel\u200b',
  'ｈｅｌｐ',
] as const;

/** Text heavy in what breaks naive handling: astral planes, combining marks, RTL, controls. */
export const unicodeHeavy = fc.oneof(
  fc.string({ unit: 'grapheme', maxLength: 60 }),
  fc.string({ unit: 'binary', maxLength: 60 }),
  fc
    .array(fc.constantFrom('\u0301', '\u200d', '\u202e', '\ufeff', '\ud83d\ude00', '\u{1f468}\u200d\u{1f469}', 'ﷺ', '𝕏', '\u0007', '\u001b[31m'), {
      maxLength: 40,
    })
    .map((xs) => xs.join('')),
);

const word = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...COMMAND_WORDS) },
  { weight: 3, arbitrary: fc.constantFrom(...INJECTIONS) },
  { weight: 2, arbitrary: fc.string({ maxLength: 12 }) },
  { weight: 1, arbitrary: unicodeHeavy },
);

/** Slash-command text up to a few KB: word salads of command words, markup and unicode. */
export const hostileText = fc.oneof(
  { weight: 4, arbitrary: fc.array(word, { maxLength: 14 }).map((ws) => ws.join(' ')) },
  { weight: 1, arbitrary: fc.string({ maxLength: 600 }) },
  { weight: 1, arbitrary: unicodeHeavy },
  {
    weight: 1,
    arbitrary: fc.tuple(fc.constantFrom(...INJECTIONS), fc.integer({ min: 0, max: 4000 })).map(([markup, n]) => `read-only 7d ${markup} ${'y'.repeat(n)}`),
  },
);

/** A short hostile string: a button value, a select value, an id. */
export const hostileValue = fc.oneof(fc.constantFrom(...INJECTIONS, ...COMMAND_WORDS, ''), fc.string({ maxLength: 40 }), unicodeHeavy);

// ---------------------------------------------------------------------------
// Slack-shaped payloads with parts missing or of the wrong kind
// ---------------------------------------------------------------------------

/** A value of the wrong kind for any field: what breaks code that reads a field without checking it. */
export const wrongKind = fc.constantFrom<unknown>(null, 42, 'x', [], {}, true);

/** Mostly the right value; else one of the wrong kind, or the field left out. */
function maybe<T>(right: fc.Arbitrary<T>): fc.Arbitrary<T | unknown> {
  return fc.oneof({ weight: 3, arbitrary: right }, { weight: 1, arbitrary: wrongKind }, { weight: 1, arbitrary: fc.constant(undefined) });
}

/** The ids a shaped payload draws from (the fixture's people, channels and the bot's own ids). */
export interface ShapeIds {
  userIds: readonly string[];
  channelIds: readonly string[];
  teamId: string;
  actionIds: readonly string[];
  callbackIds: readonly string[];
  /** The modal fields ({block, action}) a view's state may fill. */
  fields: readonly { block: string; action: string }[];
  /** Where a `response_url` points. */
  responseUrl: string;
}

/**
 * A payload of each kind Bolt routes (block_actions, view_submission and view_closed, shortcuts,
 * block_suggestion, dialog_submission, event_callback, a slash command's fields, url_verification,
 * and a made-up type), each part right, of the wrong kind, or left out: the bodies a signed but
 * malformed request carries. Fields left out are `undefined` (JSON.stringify drops them).
 * Slash commands only ask for help, status or the modal, so a case never stores a request.
 */
export function slackShapedPayload(ids: ShapeIds): fc.Arbitrary<Record<string, unknown>> {
  const id = (known: readonly string[]) => fc.oneof(fc.constantFrom(...known), hostileValue);
  const user = maybe(fc.record({ id: maybe(id(ids.userIds)), team_id: fc.constant(ids.teamId) }));
  const team = maybe(fc.constant({ id: ids.teamId }));
  const channel = maybe(fc.record({ id: maybe(fc.constantFrom(...ids.channelIds)) }));
  const action = fc.record({
    action_id: maybe(id(ids.actionIds)),
    block_id: fc.constant('b'),
    type: fc.constant('button'),
    value: maybe(hostileValue),
  });
  const actions = maybe(fc.array(fc.oneof({ weight: 4, arbitrary: action }, { weight: 1, arbitrary: wrongKind }), { maxLength: 3 }));
  const entry = fc.record({
    type: fc.constant('static_select'),
    value: maybe(hostileValue),
    selected_option: maybe(fc.record({ value: maybe(hostileValue) })),
  });
  const field = fc.constantFrom(...ids.fields);
  const values = maybe(
    fc.array(fc.tuple(field, maybe(entry)), { maxLength: 3 }).map((pairs) => {
      const out: Record<string, Record<string, unknown>> = {};
      for (const [f, e] of pairs) out[f.block] = { [f.action]: e };
      return out;
    }),
  );
  const view = maybe(
    fc.record({
      callback_id: maybe(id(ids.callbackIds)),
      private_metadata: maybe(hostileValue),
      state: maybe(fc.record({ values })),
    }),
  );
  const responseUrl = maybe(fc.constant(ids.responseUrl));
  const interactive = { user, team, channel, response_url: responseUrl, trigger_id: fc.constant('1.2.x') };
  const event = maybe(
    fc.record({
      type: maybe(fc.constantFrom('message', 'app_mention', 'reaction_added', 'subteam_created')),
      user: maybe(id(ids.userIds)),
      channel: maybe(fc.constantFrom(...ids.channelIds)),
      item: maybe(fc.record({ channel: fc.constantFrom(...ids.channelIds) })),
      subteam: maybe(fc.record({ created_by: id(ids.userIds) })),
    }),
  );
  return fc.oneof(
    fc.record({ type: fc.constant('block_actions'), ...interactive, actions }),
    fc.record({
      type: fc.constantFrom('view_submission', 'view_closed'),
      user,
      team,
      view,
      response_urls: maybe(fc.array(fc.record({ response_url: responseUrl }))),
    }),
    fc.record({ type: fc.constantFrom('shortcut', 'message_action'), ...interactive, callback_id: maybe(hostileValue) }),
    fc.record({ type: fc.constant('block_suggestion'), user, team, channel, action_id: maybe(hostileValue), value: maybe(hostileValue) }),
    fc.record({ type: fc.constant('dialog_submission'), user, team, channel, submission: maybe(fc.constant({})) }),
    fc.record({
      type: fc.constant('event_callback'),
      team_id: fc.constant(ids.teamId),
      event,
      authorizations: maybe(fc.array(fc.oneof(fc.constant({ team_id: ids.teamId }), wrongKind), { maxLength: 2 })),
    }),
    fc.record({
      command: maybe(fc.constant('/request-billing')),
      text: maybe(fc.constantFrom('help', 'status', '')),
      user_id: maybe(id(ids.userIds)),
      channel_id: maybe(fc.constantFrom(...ids.channelIds)),
      team_id: maybe(fc.constant(ids.teamId)),
      response_url: responseUrl,
      trigger_id: fc.constant('1.2.x'),
    }),
    fc.record({ type: fc.constant('url_verification'), challenge: hostileValue }),
    fc.record({ type: hostileValue, user, team }),
  );
}

/** Runs a property with the fixed seed and a bounded number of runs; the seed is in fast-check's failure report. */
export async function runProperty<Ts extends [unknown, ...unknown[]]>(
  name: string,
  property: fc.IAsyncPropertyWithHooks<Ts> | fc.IPropertyWithHooks<Ts>,
  numRuns: number,
): Promise<void> {
  try {
    await fc.assert(property, { seed: HOSTILE_SEED, numRuns, endOnFailure: true });
  } catch (err) {
    // Counterexamples can be hundreds of KB (huge payloads): the head and the cause are enough.
    const message = err instanceof Error ? err.message : String(err);
    const inner = err instanceof Error ? (err.cause as { message?: string; actual?: unknown } | undefined) : undefined;
    const cause = inner ? `${inner.message ?? ''}${inner.actual !== undefined ? ` actual: ${JSON.stringify(inner.actual)}` : ''}` : '';
    throw new Error(`property "${name}" failed (seed ${HOSTILE_SEED}; HOSTILE_SEED=${HOSTILE_SEED} replays it): ${clip(message)}\ncause: ${clip(cause)}`);
  }
}

function clip(text: string): string {
  return text.length <= 1500 ? text : `${text.slice(0, 1500)}… (${text.length} characters)`;
}

// ---------------------------------------------------------------------------
// What the bot sent, as the mrkdwn Slack will render
// ---------------------------------------------------------------------------

/** A piece of mrkdwn the bot sent, and where it went. */
export interface SentMrkdwn {
  via: string;
  text: string;
}

/**
 * Every string Slack renders as mrkdwn in a message body or view: the message `text` (mrkdwn by
 * default), and every `{type:'mrkdwn', text}` object in blocks, fields and context elements.
 * `plain_text` objects, button values, ids and `private_metadata` are not rendered as mrkdwn.
 */
export function mrkdwnStrings(payload: unknown, via: string): SentMrkdwn[] {
  const out: SentMrkdwn[] = [];
  const visit = (node: unknown): void => {
    if (Array.isArray(node)) {
      for (const item of node) visit(item);
      return;
    }
    if (!node || typeof node !== 'object') return;
    const obj = node as Record<string, unknown>;
    if (obj.type === 'mrkdwn' && typeof obj.text === 'string') out.push({ via, text: obj.text });
    for (const [key, value] of Object.entries(obj)) {
      if (key === 'text' && typeof value === 'string') continue;
      if (typeof value === 'string' && (key === 'blocks' || key === 'view') && (value.startsWith('[') || value.startsWith('{'))) {
        try {
          visit(JSON.parse(value));
        } catch {
          // not JSON: not blocks
        }
        continue;
      }
      visit(value);
    }
  };
  const top = payload as Record<string, unknown>;
  if (typeof top?.text === 'string' && top.type !== 'plain_text') out.push({ via, text: top.text });
  visit(payload);
  return out;
}

const MESSAGE_METHODS = new Set([
  'chat.postMessage',
  'chat.update',
  'chat.postEphemeral',
  'chat.scheduleMessage',
  'views.open',
  'views.update',
  'views.publish',
]);

/** All mrkdwn the bot sent since the stand-in was last reset: Web API calls, response_url bodies and ack bodies. */
export function sentMrkdwn(slack: FakeSlack, ackBodies: unknown[] = []): SentMrkdwn[] {
  const out: SentMrkdwn[] = [];
  for (const call of slack.calls()) if (MESSAGE_METHODS.has(call.method)) out.push(...mrkdwnStrings(call.args, call.method));
  for (const r of slack.responses()) out.push(...mrkdwnStrings(r.body, `response_url:${r.key}`));
  for (const body of ackBodies) if (body && typeof body === 'object') out.push(...mrkdwnStrings(body, 'ack'));
  return out;
}

/** Markup the bot itself writes: mentions of known people, the admin channel, dates and its own links. */
export interface MarkupAllowance {
  /** User ids the bot may mention here (the fixture's people; a mention typed in a valid admin command). */
  users: readonly string[];
  channels: readonly string[];
}

const ENTITY = /^&(amp|lt|gt);/;

/**
 * The usage placeholders the bot's own help and usage lines write inside code spans
 * (`/request-billing <level> [<n>d] <justification>`): the bot's words, never a user's (a user's
 * `<` always arrives as `&lt;`).
 */
const BOT_PLACEHOLDERS = new Set(['level', 'n', 'justification', 'id', 'request id', '@user', '@user|id', 'iam-user', 'iam-user-name']);

/**
 * The problems in one mrkdwn string: every `<` must open markup the bot writes itself (a mention
 * of an allowed id, an allowed channel, a `<!date^…>` or a link to AWS's console), never
 * `<!channel>`, `<!here>`, `<!everyone>`, a subteam, another mention or another link; every `&`
 * must start `&amp;`, `&lt;` or `&gt;` (a raw `&` means the text was not escaped).
 */
export function markupProblems(text: string, allow: MarkupAllowance): string[] {
  const problems: string[] = [];
  for (let i = text.indexOf('<'); i !== -1; i = text.indexOf('<', i + 1)) {
    const end = text.indexOf('>', i);
    const inner = end === -1 ? text.slice(i + 1) : text.slice(i + 1, end);
    const ok =
      end !== -1 &&
      !inner.includes('<') &&
      ((/^@[UW][A-Z0-9]+$/.test(inner) && allow.users.includes(inner.slice(1))) ||
        (/^#C[A-Z0-9]+$/.test(inner) && allow.channels.includes(inner.slice(1))) ||
        BOT_PLACEHOLDERS.has(inner) ||
        /^!date\^\d+\^[^|<>&]*\|[^<>&]*$/.test(inner) ||
        /^https:\/\/console\.aws\.amazon\.com\/[^\s|<>]*\|[^<>]*$/.test(inner));
    if (!ok) problems.push(`unexpected markup <${inner.slice(0, 60)}${end === -1 ? '' : '>'}`);
  }
  for (let i = text.indexOf('&'); i !== -1; i = text.indexOf('&', i + 1)) {
    if (!ENTITY.test(text.slice(i))) problems.push(`raw & at ${i}: …${text.slice(Math.max(0, i - 10), i + 10)}…`);
  }
  return problems;
}

/** The problems in everything sent, each with where it went. */
export function sentMarkupProblems(sent: SentMrkdwn[], allow: MarkupAllowance): string[] {
  return sent.flatMap((s) => markupProblems(s.text, allow).map((p) => `${s.via}: ${p} in ${JSON.stringify(s.text.slice(0, 200))}`));
}

/** GET /healthz: the bot is alive and its store answers. */
export async function healthz(port: number): Promise<number> {
  const res = await fetch(`http://127.0.0.1:${port}/healthz`);
  await res.text();
  return res.status;
}
