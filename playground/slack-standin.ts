/**
 * A small, stateful stand-in for the Slack Web API (plus response_url endpoints): what the
 * playground runs the bot against, and what the test suite records and checks calls with.
 *
 * It speaks the same wire format as slack.com: POST /api/<method> with an
 * `application/x-www-form-urlencoded` (or JSON) body and `Authorization: Bearer <token>`,
 * answering HTTP 200 with `{ ok: true, ... }` or `{ ok: false, error }`; the faults of
 * standin-faults.ts (429 with Retry-After, 5xx, a held answer) are set with `setFault`.
 *
 * Kept as one file past the usual size: every Web API method here reads and writes the same
 * in-memory workspace (channels, users, messages, views, responses) that the tests and the
 * page read back; the pure Block Kit validation lives apart in block-kit.ts, the faults in
 * standin-faults.ts, and Socket Mode's WebSocket (which holds no workspace state) in
 * socket-mode-standin.ts.
 */
import { EventEmitter } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { isObject, validateBlocks, validateView } from './block-kit.js';
import { SocketModeEndpoint } from './socket-mode-standin.js';
import { answerHttpFault, type Fault, type FaultOptions, FaultTable, faultError, hold } from './standin-faults.js';

export { validateBlocks, validateView } from './block-kit.js';
export type { Fault, FaultOptions } from './standin-faults.js';

export interface FakeUser {
  id: string;
  name: string;
  realName?: string;
  email?: string;
  teamId?: string;
  isRestricted?: boolean;
  isUltraRestricted?: boolean;
  deleted?: boolean;
  isBot?: boolean;
}

export interface FakeChannel {
  id: string;
  name: string;
  /** When listed, membership is enforced (postEphemeral, conversations.info is_member). */
  members?: string[];
}

export interface FakeSlackOptions {
  botToken: string;
  /** Default 'T0001'. */
  teamId?: string;
  /** Default 'UBOT'. */
  botUserId?: string;
  channels: FakeChannel[];
  users: FakeUser[];
  usergroups?: Record<string, string[]>;
  /** Listen on this port (default: a free one). Always 127.0.0.1. */
  port?: number;
  /** Extra HTTP routes (the playground's page); return true when handled. */
  routes?: (req: IncomingMessage, res: ServerResponse, url: URL, body: string) => boolean | Promise<boolean>;
  /**
   * Socket Mode: the app-level token (xapp-…) `apps.connections.open` takes. With it, that method
   * answers with the stand-in's own WebSocket address, where a bot connects and is said hello
   * (playground/socket-mode-standin.ts); without it the method is unknown, as before.
   */
  appToken?: string;
}

export interface RecordedCall {
  method: string;
  args: Record<string, unknown>;
  ok: boolean;
  error?: string;
  /** When the call arrived (ms since the epoch). */
  at: number;
  /** The HTTP status, when not 200 (a 429 or a 5xx fault). */
  status?: number;
}

export interface StoredMessage {
  channel: string;
  ts: string;
  threadTs?: string;
  text: string;
  blocks?: unknown[];
  user: string;
  edited?: boolean;
  /** Set for chat.postEphemeral messages: the only user who can see it. */
  ephemeralTo?: string;
}

export interface RecordedResponse {
  key: string;
  body: Record<string, unknown>;
  /** Set when the fake refused the body (e.g. 'invalid_blocks'); the HTTP status was then 400. */
  error?: string;
}

export interface OpenedView {
  triggerId: string;
  /** The current state of the view (after any views.update). */
  view: Record<string, unknown>;
  viewId: string;
}

type Args = Record<string, unknown>;
type Reply = { ok: true; [key: string]: unknown } | { ok: false; error: string; [key: string]: unknown };
type Handler = (args: Args) => Reply;

interface ResolvedChannel {
  id: string;
  name: string;
  members?: string[];
  isIm: boolean;
  imUser?: string;
}

interface StoredView {
  triggerId: string;
  viewId: string;
  hash: string;
  view: Record<string, unknown>;
}

/** Form fields that carry JSON (the WebClient JSON-encodes any object/array argument). */
const JSON_FIELDS = new Set(['blocks', 'attachments', 'view', 'metadata']);

const MAX_TEXT_LENGTH = 40_000;
const BASE_TS_SECONDS = 1_700_000_000;
/** Where apps.connections.open sends a Socket Mode bot. */
const SOCKET_MODE_PATH = '/socket-mode';

// ---------------------------------------------------------------------------
// Server
// ---------------------------------------------------------------------------

function ok(fields: Record<string, unknown> = {}): Reply {
  return { ok: true, ...fields };
}

function err(error: string, fields: Record<string, unknown> = {}): Reply {
  return { ok: false, error, ...fields };
}

function invalid(error: string, problem: string): Reply {
  return err(error, { errors: [problem], response_metadata: { messages: [`[ERROR] ${problem}`] } });
}

function str(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return undefined;
}

function toList(value: unknown): string[] {
  if (Array.isArray(value)) return value.map(String);
  const s = str(value);
  if (!s) return [];
  if (s.startsWith('[')) {
    try {
      const parsed: unknown = JSON.parse(s);
      if (Array.isArray(parsed)) return parsed.map(String);
    } catch {
      // fall through to comma separated
    }
  }
  return s
    .split(',')
    .map((part) => part.trim())
    .filter(Boolean);
}

function parseForm(raw: string): Args {
  const args: Args = {};
  for (const [key, value] of new URLSearchParams(raw)) {
    if (JSON_FIELDS.has(key)) {
      try {
        args[key] = JSON.parse(value);
      } catch {
        args[key] = value;
      }
    } else {
      args[key] = value;
    }
  }
  return args;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}

function sendText(res: ServerResponse, status: number, text: string): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

export class SlackStandIn {
  readonly apiUrl: string;
  readonly teamId: string;
  readonly botUserId: string;
  readonly botId = 'B0BOT';

  private readonly server: Server;
  /** `http://127.0.0.1:<port>`: the stand-in's own address. */
  readonly baseUrl: string;
  /** Emits 'change' after every Web API call and response_url post (the playground page listens). */
  readonly changes = new EventEmitter();
  private readonly routes: FakeSlackOptions['routes'];
  private readonly botToken: string;
  private readonly appToken: string | undefined;
  /** Socket Mode's WebSocket endpoint (only with `appToken`). */
  readonly socketMode = new SocketModeEndpoint();
  private readonly channels: FakeChannel[];
  private readonly users: FakeUser[];
  private readonly usergroups: Record<string, string[]>;

  private callLog: RecordedCall[] = [];
  private messageLog: StoredMessage[] = [];
  private responseLog: RecordedResponse[] = [];
  private views = new Map<string, StoredView>();
  /** Each user's published Home tab (views.publish), by user id. */
  private homes = new Map<string, StoredView>();
  private usedTriggers = new Set<string>();
  private readonly faults = new FaultTable();
  private tsCounter = 0;
  private viewCounter = 0;

  private readonly methods: Record<string, Handler> = {
    'auth.test': () => this.authTest(),
    'chat.postMessage': (a) => this.postMessage(a),
    'chat.update': (a) => this.update(a),
    'chat.postEphemeral': (a) => this.postEphemeral(a),
    'views.open': (a) => this.viewsOpen(a),
    'views.update': (a) => this.viewsUpdate(a),
    'views.publish': (a) => this.viewsPublish(a),
    'users.info': (a) => this.usersInfo(a),
    'usergroups.users.list': (a) => this.usergroupUsers(a),
    'conversations.info': (a) => this.conversationsInfo(a),
    'conversations.open': (a) => this.conversationsOpen(a),
  };

  private constructor(server: Server, port: number, opts: FakeSlackOptions) {
    this.server = server;
    this.baseUrl = `http://127.0.0.1:${port}`;
    this.apiUrl = `${this.baseUrl}/api/`;
    this.botToken = opts.botToken;
    this.appToken = opts.appToken;
    this.teamId = opts.teamId ?? 'T0001';
    this.botUserId = opts.botUserId ?? 'UBOT';
    this.channels = opts.channels.map((c) => ({ ...c, members: c.members ? [...c.members] : undefined }));
    this.users = opts.users.map((u) => ({ ...u }));
    this.usergroups = { ...(opts.usergroups ?? {}) };
    this.routes = opts.routes;
    this.changes.setMaxListeners(100);
  }

  listUsers(): FakeUser[] {
    return this.users.map((u) => ({ ...u }));
  }

  listChannels(): FakeChannel[] {
    return this.channels.map((c) => ({ ...c }));
  }

  static async start(opts: FakeSlackOptions): Promise<SlackStandIn> {
    let fake: SlackStandIn | undefined;
    const server = createServer((req, res) => {
      if (!fake) return sendText(res, 503, 'starting');
      fake.handle(req, res).catch((error: unknown) => {
        if (!res.headersSent) sendJson(res, 500, { ok: false, error: 'fatal_error', detail: String(error) });
      });
    });
    server.on('upgrade', (req: IncomingMessage, socket: Duplex) => {
      if (fake?.appToken && req.url === SOCKET_MODE_PATH) fake.socketMode.accept(req, socket);
      else socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n');
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(opts.port ?? 0, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    fake = new SlackStandIn(server, (server.address() as AddressInfo).port, opts);
    return fake;
  }

  responseUrl(key: string): string {
    return `${this.baseUrl}/response/${encodeURIComponent(key)}`;
  }

  calls(method?: string): RecordedCall[] {
    return this.callLog.filter((c) => method === undefined || c.method === method);
  }

  responses(key?: string): RecordedResponse[] {
    return this.responseLog.filter((r) => key === undefined || r.key === key);
  }

  /** Changes a user's profile as an edit in Slack would: users.info answers with it from now on. */
  updateUser(userId: string, change: Partial<Omit<FakeUser, 'id'>>): void {
    const user = this.users.find((u) => u.id === userId);
    if (!user) throw new Error(`the Slack stand-in has no user ${userId}`);
    Object.assign(user, change);
  }

  messages(channel?: string): StoredMessage[] {
    return this.messageLog.filter((m) => channel === undefined || m.channel === channel).map((m) => ({ ...m }));
  }

  openedViews(): OpenedView[] {
    return [...this.views.values()].map((v) => ({ triggerId: v.triggerId, view: v.view, viewId: v.viewId }));
  }

  /** The Home tab last published for `userId` (views.publish), or undefined if none was. */
  homeOf(userId: string): OpenedView | undefined {
    const stored = this.homes.get(userId);
    return stored ? { triggerId: stored.triggerId, view: stored.view, viewId: stored.viewId } : undefined;
  }

  async waitFor<T>(probe: () => T | undefined | false, timeoutMs = 5000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    let lastError: unknown;
    for (;;) {
      try {
        const value = probe();
        if (value !== undefined && value !== false) return value;
      } catch (error) {
        lastError = error;
      }
      if (Date.now() >= deadline) break;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const recent = this.callLog
      .slice(-10)
      .map((c) => `${c.method}${c.ok ? '' : ` (${c.error})`}`)
      .join(', ');
    const detail = lastError instanceof Error ? `; last probe error: ${lastError.message}` : '';
    throw new Error(`SlackStandIn.waitFor: condition not met within ${timeoutMs}ms${detail}; recent Slack calls: [${recent || 'none'}]`);
  }

  /** Every call of `method` answers `{ ok: false, error }` until cleared with null (clears its other faults too). */
  setFailure(method: string, error: string | null): void {
    this.faults.clear(method);
    if (error !== null) this.faults.set(method, { kind: 'error', error });
  }

  /** `method` answers with `fault` (`times` calls, or until cleared; only calls `when` matches). */
  setFault(method: string, fault: Fault, options: FaultOptions = {}): void {
    this.faults.set(method, fault, options);
  }

  /** Clears the faults (and failures) of one method, or of all. */
  clearFaults(method?: string): void {
    this.faults.clear(method);
  }

  reset(): void {
    this.callLog = [];
    this.messageLog = [];
    this.responseLog = [];
    this.views.clear();
    this.homes.clear();
    this.usedTriggers.clear();
    this.faults.clear();
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
      this.socketMode.closeAll();
    });
  }

  // -------------------------------------------------------------------------
  // HTTP plumbing
  // -------------------------------------------------------------------------

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', this.baseUrl);
    const raw = await readBody(req);

    if (url.pathname.startsWith('/api/')) {
      const method = decodeURIComponent(url.pathname.slice('/api/'.length));
      const args = this.parseArgs(req, url, raw);
      if (args === undefined) return sendJson(res, 200, err('invalid_json'));
      const arrived = Date.now();
      const fault = this.methods[method] ? this.faults.take(method, args) : undefined;
      if (fault?.kind === 'ratelimited' || fault?.kind === 'http') {
        answerHttpFault(fault, res);
        this.recordFault(method, args, fault, arrived, res.statusCode);
        return;
      }
      if (fault?.kind === 'hang' && !(await hold(fault.ms, req, res))) {
        // The client gave up first: the call is dropped undone.
        this.recordFault(method, args, fault, arrived);
        return;
      }
      sendJson(res, 200, this.dispatch(method, args, req.headers.authorization, fault?.kind === 'error' ? fault.error : undefined));
      this.changes.emit('change');
      return;
    }

    if (url.pathname.startsWith('/response/') && req.method === 'POST') {
      const key = decodeURIComponent(url.pathname.slice('/response/'.length));
      let body: unknown;
      try {
        body = JSON.parse(raw);
      } catch {
        return sendText(res, 400, 'invalid_payload');
      }
      if (!isObject(body)) return sendText(res, 400, 'invalid_payload');
      const problem = body.blocks === undefined ? null : validateBlocks(body.blocks);
      if (problem) {
        this.responseLog.push({ key, body, error: 'invalid_blocks' });
        return sendText(res, 400, 'invalid_blocks');
      }
      this.responseLog.push({ key, body });
      sendText(res, 200, 'ok');
      this.changes.emit('change');
      return;
    }

    if (this.routes && (await this.routes(req, res, url, raw))) return;
    sendText(res, 404, 'not found');
  }

  private parseArgs(req: IncomingMessage, url: URL, raw: string): Args | undefined {
    const args: Args = Object.fromEntries(url.searchParams);
    const contentType = req.headers['content-type'] ?? '';
    if (raw.length === 0) return args;
    if (contentType.includes('application/json')) {
      try {
        const parsed: unknown = JSON.parse(raw);
        return isObject(parsed) ? { ...args, ...parsed } : undefined;
      } catch {
        return undefined;
      }
    }
    return { ...args, ...parseForm(raw) };
  }

  private recordFault(method: string, rawArgs: Args, fault: Fault, at: number, status?: number): void {
    const { token: _token, ...args } = rawArgs;
    const call: RecordedCall = { method, args, ok: false, error: faultError(fault), at };
    if (status !== undefined) call.status = status;
    this.callLog.push(call);
    this.changes.emit('change');
  }

  private dispatch(method: string, rawArgs: Args, authorization: string | undefined, forced?: string): Reply {
    const { token: bodyToken, ...args } = rawArgs;
    const bearer = authorization?.match(/^Bearer\s+(.+)$/i)?.[1];
    const token = bearer ?? str(bodyToken);

    let reply: Reply;
    const handler = this.methods[method];
    if (method === 'apps.connections.open' && this.appToken) reply = this.connectionsOpen(token);
    else if (!token) reply = err('not_authed');
    else if (token !== this.botToken) reply = err('invalid_auth');
    else if (!handler) reply = err('unknown_method');
    else if (forced !== undefined) reply = err(forced);
    else reply = handler(args);

    const call: RecordedCall = { method, args, ok: reply.ok, at: Date.now() };
    if (!reply.ok) call.error = reply.error;
    this.callLog.push(call);
    return reply;
  }

  // -------------------------------------------------------------------------
  // Helpers
  // -------------------------------------------------------------------------

  private nextTs(): string {
    this.tsCounter += 1;
    const seconds = BASE_TS_SECONDS + Math.floor(this.tsCounter / 10_000);
    const micros = String((this.tsCounter % 10_000) * 100).padStart(6, '0');
    return `${seconds}.${micros}`;
  }

  private user(id: unknown): FakeUser | undefined {
    return this.users.find((u) => u.id === id);
  }

  private resolveChannel(raw: unknown): ResolvedChannel | undefined {
    const ref = str(raw);
    if (!ref) return undefined;
    const name = ref.startsWith('#') ? ref.slice(1) : ref;
    const channel = this.channels.find((c) => c.id === ref || c.name === name);
    if (channel) {
      const resolved: ResolvedChannel = { id: channel.id, name: channel.name, isIm: false };
      if (channel.members) resolved.members = channel.members;
      return resolved;
    }
    const user = this.user(ref) ?? (ref.startsWith('D') ? this.user(ref.slice(1)) : undefined);
    if (!user) return undefined;
    return { id: `D${user.id}`, name: user.name, members: [user.id, this.botUserId], isIm: true, imUser: user.id };
  }

  /** Shared checks for message content; returns an error reply or null. */
  private checkContent(args: Args, { requireContent }: { requireContent: boolean }): Reply | null {
    const text = args.text;
    if (text !== undefined && typeof text !== 'string') return err('invalid_arguments');
    const hasBlocks = Array.isArray(args.blocks) && args.blocks.length > 0;
    const hasAttachments = Array.isArray(args.attachments) && args.attachments.length > 0;
    if (requireContent && !text && !hasBlocks && !hasAttachments) return err('no_text');
    if (typeof text === 'string' && text.length > MAX_TEXT_LENGTH) return err('msg_too_long');
    if (args.blocks !== undefined) {
      if (!Array.isArray(args.blocks)) return err('invalid_blocks_format');
      const problem = validateBlocks(args.blocks);
      if (problem) return invalid('invalid_blocks', problem);
    }
    return null;
  }

  private messageJson(m: StoredMessage): Record<string, unknown> {
    const json: Record<string, unknown> = {
      type: 'message',
      user: m.user,
      bot_id: this.botId,
      team: this.teamId,
      text: m.text,
      ts: m.ts,
    };
    if (m.blocks) json.blocks = m.blocks;
    if (m.threadTs) json.thread_ts = m.threadTs;
    if (m.edited) json.edited = { user: m.user, ts: m.ts };
    return json;
  }

  // -------------------------------------------------------------------------
  // Methods
  // -------------------------------------------------------------------------

  /** Slack takes only the app-level token here; a bot token is the wrong type. */
  private connectionsOpen(token: string | undefined): Reply {
    if (!token) return err('not_authed');
    if (token === this.botToken) return err('not_allowed_token_type');
    if (token !== this.appToken) return err('invalid_auth');
    return { ok: true, url: `${this.baseUrl.replace(/^http:/, 'ws:')}${SOCKET_MODE_PATH}` };
  }

  private authTest(): Reply {
    const bot = this.user(this.botUserId);
    return ok({
      url: 'https://fake-workspace.slack.com/',
      team: 'Fake Workspace',
      team_id: this.teamId,
      user: bot?.name ?? 'billing-access-bot',
      user_id: this.botUserId,
      bot_id: this.botId,
      is_enterprise_install: false,
    });
  }

  private postMessage(args: Args): Reply {
    const channel = this.resolveChannel(args.channel);
    if (!channel) return err('channel_not_found');
    if (channel.isIm && this.user(channel.imUser)?.isBot) return err('cannot_dm_bot');
    const problem = this.checkContent(args, { requireContent: true });
    if (problem) return problem;
    const threadTs = str(args.thread_ts);
    if (threadTs !== undefined && !this.messageLog.some((m) => m.channel === channel.id && m.ts === threadTs && !m.ephemeralTo)) {
      return err('thread_not_found');
    }
    const message: StoredMessage = {
      channel: channel.id,
      ts: this.nextTs(),
      text: str(args.text) ?? '',
      user: this.botUserId,
    };
    if (Array.isArray(args.blocks)) message.blocks = args.blocks;
    if (threadTs !== undefined) message.threadTs = threadTs;
    this.messageLog.push(message);
    return ok({ channel: channel.id, ts: message.ts, message: this.messageJson(message) });
  }

  private update(args: Args): Reply {
    const channel = this.resolveChannel(args.channel);
    if (!channel) return err('channel_not_found');
    const ts = str(args.ts);
    const message = this.messageLog.find((m) => m.channel === channel.id && m.ts === ts && !m.ephemeralTo);
    if (!message) return err('message_not_found');
    const problem = this.checkContent(args, { requireContent: true });
    if (problem) return problem;
    if (args.text !== undefined) message.text = str(args.text) ?? '';
    if (Array.isArray(args.blocks)) {
      if (args.blocks.length > 0) message.blocks = args.blocks;
      else delete message.blocks;
    }
    message.edited = true;
    return ok({ channel: channel.id, ts: message.ts, text: message.text, message: this.messageJson(message) });
  }

  private postEphemeral(args: Args): Reply {
    const channel = this.resolveChannel(args.channel);
    if (!channel) return err('channel_not_found');
    const userId = str(args.user);
    if (!userId) return err('invalid_arguments');
    if (!this.user(userId) || (channel.members && !channel.members.includes(userId))) return err('user_not_in_channel');
    const problem = this.checkContent(args, { requireContent: true });
    if (problem) return problem;
    const message: StoredMessage = {
      channel: channel.id,
      ts: this.nextTs(),
      text: str(args.text) ?? '',
      user: this.botUserId,
      ephemeralTo: userId,
    };
    if (Array.isArray(args.blocks)) message.blocks = args.blocks;
    const threadTs = str(args.thread_ts);
    if (threadTs !== undefined) message.threadTs = threadTs;
    this.messageLog.push(message);
    return ok({ message_ts: message.ts });
  }

  private viewJson(stored: StoredView): Record<string, unknown> {
    return {
      id: stored.viewId,
      team_id: this.teamId,
      app_id: 'A0001',
      bot_id: this.botId,
      app_installed_team_id: this.teamId,
      private_metadata: '',
      callback_id: '',
      external_id: '',
      clear_on_close: false,
      notify_on_close: false,
      root_view_id: stored.viewId,
      previous_view_id: null,
      state: { values: {} },
      hash: stored.hash,
      ...stored.view,
    };
  }

  private checkViewArg(view: unknown): { view: Record<string, unknown> } | Reply {
    if (view === undefined) return invalid('invalid_arguments', 'missing required field: view');
    if (typeof view === 'string') return invalid('invalid_arguments', 'view must be a JSON object');
    const problem = validateView(view);
    if (problem) return invalid('invalid_arguments', problem);
    return { view: view as Record<string, unknown> };
  }

  private viewsOpen(args: Args): Reply {
    const triggerId = str(args.trigger_id);
    if (!triggerId) return invalid('invalid_arguments', 'missing required field: trigger_id');
    if (this.usedTriggers.has(triggerId)) return err('exchanged_trigger_id');
    const checked = this.checkViewArg(args.view);
    if ('ok' in checked) return checked;
    this.usedTriggers.add(triggerId);
    this.viewCounter += 1;
    const stored: StoredView = {
      triggerId,
      viewId: `V${String(this.viewCounter).padStart(10, '0')}`,
      hash: `${BASE_TS_SECONDS}.${this.viewCounter}`,
      view: checked.view,
    };
    this.views.set(stored.viewId, stored);
    return ok({ view: this.viewJson(stored) });
  }

  private viewsUpdate(args: Args): Reply {
    const viewId = str(args.view_id);
    const externalId = str(args.external_id);
    if (!viewId && !externalId) return invalid('invalid_arguments', 'missing required field: view_id');
    const stored = viewId ? this.views.get(viewId) : [...this.views.values()].find((v) => v.view.external_id === externalId);
    if (!stored) return err('not_found');
    const hash = str(args.hash);
    if (hash !== undefined && hash !== stored.hash) return err('hash_conflict');
    const checked = this.checkViewArg(args.view);
    if ('ok' in checked) return checked;
    this.viewCounter += 1;
    stored.view = checked.view;
    stored.hash = `${BASE_TS_SECONDS}.${this.viewCounter}`;
    return ok({ view: this.viewJson(stored) });
  }

  /** views.publish: a user's Home tab, kept per user (one view id per user, a new hash each time). */
  private viewsPublish(args: Args): Reply {
    const userId = str(args.user_id);
    if (!userId) return invalid('invalid_arguments', 'missing required field: user_id');
    if (!this.user(userId)) return err('user_not_found');
    const view = args.view;
    if (view === undefined) return invalid('invalid_arguments', 'missing required field: view');
    if (typeof view === 'string') return invalid('invalid_arguments', 'view must be a JSON object');
    const problem = validateView(view, 'home');
    if (problem) return invalid('invalid_arguments', problem);
    const existing = this.homes.get(userId);
    const hash = str(args.hash);
    if (existing && hash !== undefined && hash !== existing.hash) return err('hash_conflict');
    this.viewCounter += 1;
    const stored: StoredView = {
      triggerId: '',
      viewId: existing?.viewId ?? `V${String(this.viewCounter).padStart(10, '0')}`,
      hash: `${BASE_TS_SECONDS}.${this.viewCounter}`,
      view: view as Record<string, unknown>,
    };
    this.homes.set(userId, stored);
    return ok({ view: this.viewJson(stored) });
  }

  private usersInfo(args: Args): Reply {
    const user = this.user(args.user);
    if (!user) return err('user_not_found');
    const realName = user.realName ?? user.name;
    return ok({
      user: {
        id: user.id,
        team_id: user.teamId ?? this.teamId,
        name: user.name,
        real_name: realName,
        deleted: user.deleted ?? false,
        is_bot: user.isBot ?? false,
        is_restricted: user.isRestricted ?? false,
        is_ultra_restricted: user.isUltraRestricted ?? false,
        profile: { email: user.email, real_name: realName, display_name: user.name },
      },
    });
  }

  private usergroupUsers(args: Args): Reply {
    const id = str(args.usergroup);
    const members = id === undefined ? undefined : this.usergroups[id];
    if (!members) return err('no_such_subteam');
    return ok({ users: [...members] });
  }

  private conversationsInfo(args: Args): Reply {
    const channel = this.resolveChannel(args.channel);
    if (!channel) return err('channel_not_found');
    if (channel.isIm) {
      return ok({ channel: { id: channel.id, is_im: true, user: channel.imUser, is_member: true } });
    }
    const isMember = channel.members === undefined || channel.members.includes(this.botUserId);
    return ok({
      channel: {
        id: channel.id,
        name: channel.name,
        is_channel: true,
        is_private: false,
        is_archived: false,
        is_member: isMember,
      },
    });
  }

  private conversationsOpen(args: Args): Reply {
    const users = toList(args.users);
    if (users.length === 0) return err('users_list_not_supplied');
    if (users.length > 1) return err('not_supported');
    const user = this.user(users[0]);
    if (!user) return err('user_not_found');
    if (user.isBot) return err('cannot_dm_bot');
    return ok({ channel: { id: `D${user.id}` } });
  }
}
