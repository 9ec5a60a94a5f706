/**
 * The playground page's HTTP side: serves the page, the state a person sees (with the billing
 * groups as the IAM stand-in holds them), live updates (server-sent events), and turns what the
 * person does into what Slack would send the bot: form-encoded slash commands, `payload=` JSON
 * and Events API JSON (opening the bot's Home tab), signed, posted to the bot's /slack/events. Its Widen control edits a group in the IAM
 * stand-in directly, as someone with console access would.
 *
 * Any page a developer visits can send requests to 127.0.0.1, so the page's own endpoints (/ui/)
 * take only same-origin JSON carrying this run's token, which only the served page knows.
 * One file: every endpoint shares that check and the same signing of what it sends the bot.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { IamFault } from './iam-account.js';
import type { IamStandIn } from './iam-standin.js';
import type { OpenedView, SlackStandIn, StoredMessage } from './slack-standin.js';
import { BOT_USER_ID, CHANNELS, PEOPLE, type Secrets, sign, TEAM_ID, triggerId, WIDENING_POLICY_ARN } from './workspace.js';

const WEB_DIR = join(dirname(fileURLToPath(import.meta.url)), 'web');
const STATIC: Record<string, string> = {
  '/': 'index.html',
  '/app.js': 'app.js',
  '/render.js': 'render.js',
  '/style.css': 'style.css',
};
const HTML = 'text/html; charset=utf-8';
const TYPES: Record<string, string> = { html: HTML, js: 'text/javascript; charset=utf-8', css: 'text/css; charset=utf-8' };

/** The header the page sends the run's token in. EventSource cannot set headers: /ui/events takes `?token=`. */
export const TOKEN_HEADER = 'x-playground-token';
/** Where index.html carries the token; filled in as the page is served. */
const TOKEN_META = '<meta name="playground-token" content="">';

interface Refusal {
  status: 403 | 415;
  error: string;
}

/** Equal tokens, in time that does not depend on where they differ; hashing first gives both one length. */
function sameToken(given: string, expected: string): boolean {
  const digest = (value: string) => createHash('sha256').update(value).digest();
  return timingSafeEqual(digest(given), digest(expected));
}

/** `application/json; charset=utf-8` is `application/json`. */
function mediaType(header: string | undefined): string {
  return (header ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
}

interface Ephemeral {
  user: string;
  channel: string;
  ts: string;
  text: string;
  blocks?: unknown[];
}

/** An ack's reply, placed among the response_url replies by how many of those came before it. */
interface AckReply extends Ephemeral {
  after: number;
  seq: number;
}

interface ViewOwner {
  user: string;
  closed: boolean;
  errors?: Record<string, string>;
}

const APP_ID = 'A0PLAYGROUND';
const FORM = 'application/x-www-form-urlencoded';

/** Words that are /request-billing subcommands: typed bare, the page suggests the whole command. */
const SUBCOMMANDS = new Set(['help', 'status', 'cancel', 'revoke', 'done', 'link', 'summary']);

/** As Slack does for a command with should_escape: `@jane` becomes `<@U0JANE|jane>`. */
export function escapeMentions(text: string): string {
  return text.replace(/(^|\s)@([a-z0-9._-]+)/gi, (whole, space: string, name: string) => {
    const person = PEOPLE.find((p) => p.name === name.toLowerCase());
    return person ? `${space}<@${person.id}|${person.name}>` : whole;
  });
}

export class PlaygroundUi {
  private readonly triggers = new Map<string, string>();
  private readonly viewOwners = new Map<string, ViewOwner>();
  private readonly ackReplies: AckReply[] = [];
  private readonly responseKeys = new Map<string, { user: string; channel: string }>();
  private counter = 0;
  /** Made for this run: a page from elsewhere, or from an earlier run, does not have it. */
  private readonly token = randomBytes(32).toString('base64url');
  botUrl = '';
  /** The IAM stand-in the bot runs against, shown on the page; undefined when the bot uses another endpoint. */
  iam: IamStandIn | undefined;

  constructor(
    private readonly slack: () => SlackStandIn,
    private readonly secrets: Secrets,
  ) {}

  /** The stand-in's extra routes: true when this request was the page's. */
  readonly route = async (req: IncomingMessage, res: ServerResponse, url: URL, body: string): Promise<boolean> => {
    const file = STATIC[url.pathname];
    if (req.method === 'GET' && file === 'index.html') return this.index(req, res, url);
    if (req.method === 'GET' && file) {
      const content = await readFile(join(WEB_DIR, file));
      res.writeHead(200, { 'content-type': TYPES[file.split('.').pop() ?? 'html'] ?? 'text/plain', 'cache-control': 'no-store' });
      res.end(content);
      return true;
    }
    if (req.method === 'GET' && url.pathname === '/favicon.ico') {
      res.writeHead(204, { 'cache-control': 'max-age=86400' });
      res.end();
      return true;
    }
    if (url.pathname.startsWith('/ui/')) {
      const refusal = this.refusal(req, url);
      if (refusal) return this.json(res, refusal.status, { ok: false, error: refusal.error });
    }
    if (req.method === 'GET' && url.pathname === '/ui/state') return this.json(res, 200, this.state(url.searchParams.get('user') ?? ''));
    if (req.method === 'GET' && url.pathname === '/ui/events') return this.events(req, res);
    if (req.method === 'POST' && url.pathname.startsWith('/ui/')) {
      let input: Record<string, unknown>;
      try {
        input = JSON.parse(body) as Record<string, unknown>;
      } catch {
        return this.json(res, 400, { ok: false, error: 'invalid JSON' });
      }
      const user = String(input.user ?? '');
      if (!PEOPLE.some((p) => p.id === user)) return this.json(res, 400, { ok: false, error: 'unknown user' });
      switch (url.pathname) {
        case '/ui/command':
          return this.json(res, 200, await this.command(user, String(input.channel ?? ''), String(input.text ?? '')));
        case '/ui/action':
          return this.json(res, 200, await this.action(user, input));
        case '/ui/home':
          return this.json(res, 200, await this.openHome(user));
        case '/ui/view':
          return this.json(res, 200, await this.submitView(user, String(input.viewId ?? ''), (input.values ?? {}) as Record<string, Record<string, unknown>>));
        case '/ui/view/close':
          this.closeView(String(input.viewId ?? ''));
          return this.json(res, 200, { ok: true });
        case '/ui/iam/group': {
          const result = this.widenGroup(String(input.groupName ?? ''), input.widen === true);
          return this.json(res, result.ok ? 200 : 400, result);
        }
        default:
          return false;
      }
    }
    return false;
  };

  /**
   * The playground's origin as this request names it, or undefined for any other Host. A
   * DNS-rebound name (evil.example resolving to 127.0.0.1) would make a foreign page same-origin
   * with the playground and let it read the token from index.html; checking Host stops that.
   */
  private ownOrigin(req: IncomingMessage, url: URL): string | undefined {
    const host = req.headers.host?.toLowerCase();
    return host === url.host || host === `localhost:${url.port}` ? `http://${host}` : undefined;
  }

  /** Why a request to /ui/ is refused, or undefined when it is the page's own. */
  private refusal(req: IncomingMessage, url: URL): Refusal | undefined {
    const own = this.ownOrigin(req, url);
    if (!own) return { status: 403, error: 'unexpected Host' };
    // Browsers send Origin on every cross-origin request that could change something; a request
    // without one is a same-origin GET, or from a client that is not a browser and still needs the token.
    if (req.headers.origin !== undefined && req.headers.origin !== own) return { status: 403, error: 'cross-origin request' };
    // same-site covers another port on this host, which is not this origin either; none is a URL the person opened.
    const site = req.headers['sec-fetch-site'];
    if (site !== undefined && site !== 'same-origin' && site !== 'none') return { status: 403, error: `${site} request` };
    // A cross-site HTML form can send only form, multipart or text/plain bodies; JSON needs a CORS preflight this server never grants.
    if (req.method !== 'GET' && mediaType(req.headers['content-type']) !== 'application/json') return { status: 415, error: 'expected application/json' };
    const header = req.headers[TOKEN_HEADER];
    const given = typeof header === 'string' ? header : url.pathname === '/ui/events' ? url.searchParams.get('token') : null;
    if (given === null || !sameToken(given, this.token)) return { status: 403, error: 'missing or wrong playground token: reload the page' };
    return undefined;
  }

  /** The page, carrying this run's token; never framed by another site, where clicks could be steered. */
  private async index(req: IncomingMessage, res: ServerResponse, url: URL): Promise<true> {
    if (!this.ownOrigin(req, url)) return this.json(res, 403, { ok: false, error: 'unexpected Host' });
    const html = await readFile(join(WEB_DIR, 'index.html'), 'utf8');
    if (!html.includes(TOKEN_META)) throw new Error(`playground/web/index.html lacks ${TOKEN_META}`);
    res.writeHead(200, {
      'content-type': HTML,
      'cache-control': 'no-store',
      'content-security-policy': "frame-ancestors 'none'",
      'x-frame-options': 'DENY',
    });
    res.end(html.replace(TOKEN_META, `<meta name="playground-token" content="${this.token}">`));
    return true;
  }

  private json(res: ServerResponse, status: number, body: unknown): true {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
    return true;
  }

  private events(req: IncomingMessage, res: ServerResponse): true {
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive' });
    res.write('retry: 1000\n\n');
    const send = () => res.write('data: change\n\n');
    // One listener per open page; many tabs are normal, not a leak.
    this.slack().changes.setMaxListeners(0);
    this.slack().changes.on('change', send);
    const iamChanges = this.iam?.account.changes;
    iamChanges?.setMaxListeners(0);
    iamChanges?.on('change', send);
    req.on('close', () => {
      this.slack().changes.off('change', send);
      iamChanges?.off('change', send);
    });
    return true;
  }

  private changed(): void {
    this.slack().changes.emit('change');
  }

  /** What one person sees: channels, their DMs, their ephemerals, their open modal. */
  state(user: string) {
    const slack = this.slack();
    const visible = (m: StoredMessage) => !m.ephemeralTo || m.ephemeralTo === user;
    const messages = slack.messages().filter((m) => visible(m) && (!m.channel.startsWith('D') || m.channel === `D${user}`));
    // In the order they arrived: ack replies and response_url replies interleaved.
    const ordered: { key: [number, number, number]; reply: Ephemeral }[] = [
      ...this.ackReplies.filter((e) => e.user === user).map(({ after, seq, ...reply }) => ({ key: [after, 0, seq] as [number, number, number], reply })),
      ...slack.responses().flatMap((r, i) => {
        const where = this.responseKeys.get(r.key);
        if (!where || where.user !== user || r.error) return [];
        const reply: Ephemeral = {
          user,
          channel: where.channel,
          ts: `resp.${String(i).padStart(6, '0')}`,
          text: String(r.body.text ?? ''),
          ...(Array.isArray(r.body.blocks) ? { blocks: r.body.blocks as unknown[] } : {}),
        };
        return [{ key: [i, 1, 0] as [number, number, number], reply }];
      }),
    ];
    ordered.sort((a, b) => a.key[0] - b.key[0] || a.key[1] - b.key[1] || a.key[2] - b.key[2]);
    const ephemerals = ordered.map((o) => o.reply);
    const views = slack
      .openedViews()
      .filter((v) => {
        const owner = this.viewOwners.get(v.viewId) ?? this.adopt(v.viewId, v.triggerId);
        return owner?.user === user && !owner.closed;
      })
      .map((v) => ({ viewId: v.viewId, view: v.view, errors: this.viewOwners.get(v.viewId)?.errors ?? {} }));
    return {
      me: user,
      team: TEAM_ID,
      people: PEOPLE.map(({ id, name, realName, role, hint }) => ({ id, name, realName, role, hint })),
      channels: [...CHANNELS.map((c) => ({ id: c.id, name: c.name })), { id: `D${user}`, name: 'Billing bot (DM)', im: true }],
      messages: messages.map((m) => ({
        channel: m.channel,
        ts: m.ts,
        threadTs: m.threadTs,
        text: m.text,
        blocks: m.blocks,
        user: m.user,
        edited: m.edited,
        ephemeral: Boolean(m.ephemeralTo),
      })),
      ephemerals,
      views,
      home: this.homeState(user),
      iam: this.iamState(),
    };
  }

  /** The person's Home tab for the page: the view the bot last published for them, or null before it published one. */
  private homeState(user: string) {
    const home = this.home(user);
    return home ? { viewId: home.viewId, view: home.view } : null;
  }

  /** The person's Home tab as the bot last published it, or undefined before it published one. */
  private home(user: string): OpenedView | undefined {
    return this.slack().homeOf(user);
  }

  /** A Home view as Slack hands it to the app: in app_home_opened and in a click's `view`. */
  private homeViewJson(home: OpenedView): Record<string, unknown> {
    return {
      team_id: TEAM_ID,
      private_metadata: '',
      callback_id: '',
      state: { values: {} },
      hash: '1700000000.playground',
      clear_on_close: false,
      notify_on_close: false,
      close: null,
      submit: null,
      previous_view_id: null,
      root_view_id: home.viewId,
      app_id: APP_ID,
      external_id: '',
      app_installed_team_id: TEAM_ID,
      bot_id: 'B0PLAYGROUND',
      ...home.view,
      id: home.viewId,
      type: 'home',
    };
  }

  /** The billing groups as the IAM stand-in holds them: members and policies, live. */
  private iamState() {
    if (!this.iam) return null;
    return {
      accountId: this.iam.account.accountId,
      groups: this.iam.account.groups().map((g) => ({
        groupName: g.groupName,
        members: g.members.map((m) => m.userName),
        policies: [...g.attachedPolicyArns, ...[...g.inlinePolicies.keys()].map((name) => `inline: ${name}`)],
        widened: g.attachedPolicyArns.includes(WIDENING_POLICY_ARN),
      })),
    };
  }

  /**
   * The page's Widen / Narrow control: attaches a policy far beyond billing to a group (as someone
   * editing it in the console would), so the group guard refuses grants into it; Narrow detaches it.
   */
  widenGroup(groupName: string, widen: boolean): { ok: true } | { ok: false; error: string } {
    if (!this.iam) return { ok: false, error: 'The bot runs against another AWS endpoint (AWS_ENDPOINT_URL): change its groups there.' };
    try {
      if (widen) this.iam.account.attachGroupPolicy(groupName, WIDENING_POLICY_ARN);
      else if (this.iam.account.group(groupName).attachedPolicyArns.includes(WIDENING_POLICY_ARN))
        this.iam.account.detachGroupPolicy(groupName, WIDENING_POLICY_ARN);
      return { ok: true };
    } catch (err) {
      if (err instanceof IamFault) return { ok: false, error: err.message };
      throw err;
    }
  }

  private adopt(viewId: string, trigger: string): ViewOwner | undefined {
    const user = this.triggers.get(trigger);
    if (!user) return undefined;
    const owner = { user, closed: false };
    this.viewOwners.set(viewId, owner);
    return owner;
  }

  private newTrigger(user: string): string {
    const id = triggerId();
    this.triggers.set(id, user);
    return id;
  }

  private responseUrl(user: string, channel: string): string {
    this.counter += 1;
    const key = `${user}.${channel}.${this.counter}`;
    this.responseKeys.set(key, { user, channel });
    return this.slack().responseUrl(key);
  }

  private async post(body: string, contentType = FORM): Promise<{ status: number; body: string }> {
    const res = await fetch(this.botUrl, {
      method: 'POST',
      headers: { 'content-type': contentType, ...sign(this.secrets.signingSecret, body) },
      body,
    });
    return { status: res.status, body: await res.text() };
  }

  private userJson(user: string) {
    const person = PEOPLE.find((p) => p.id === user);
    return { id: user, username: person?.name ?? user, name: person?.name ?? user, team_id: TEAM_ID };
  }

  /** A slash command, form-encoded and signed as Slack sends it. */
  async command(user: string, channel: string, text: string) {
    const trimmed = text.trim();
    if (!trimmed.startsWith('/request-billing')) {
      const first = trimmed.split(/\s+/)[0]?.toLowerCase() ?? '';
      const suggestion = SUBCOMMANDS.has(first) ? ` Did you mean \`/request-billing ${trimmed}\`?` : '';
      return { ok: false, error: `Only the /request-billing command exists in this workspace.${suggestion}` };
    }
    const form = new URLSearchParams({
      token: 'playground',
      team_id: TEAM_ID,
      team_domain: 'playground',
      channel_id: channel,
      channel_name: CHANNELS.find((c) => c.id === channel)?.name ?? 'directmessage',
      user_id: user,
      user_name: PEOPLE.find((p) => p.id === user)?.name ?? user,
      command: '/request-billing',
      text: escapeMentions(trimmed.slice('/request-billing'.length).trim()),
      api_app_id: APP_ID,
      is_enterprise_install: 'false',
      response_url: this.responseUrl(user, channel),
      trigger_id: this.newTrigger(user),
    }).toString();
    const res = await this.post(form);
    this.recordAck(user, channel, res.body);
    return { ok: res.status === 200, status: res.status };
  }

  private recordAck(user: string, channel: string, body: string): void {
    if (!body) return;
    try {
      const reply = JSON.parse(body) as { text?: string; blocks?: unknown[] };
      if (reply.text || reply.blocks) {
        this.counter += 1;
        this.ackReplies.push({
          after: this.slack().responses().length,
          seq: this.counter,
          user,
          channel,
          ts: `ack.${String(this.counter).padStart(6, '0')}`,
          text: reply.text ?? '',
          ...(reply.blocks ? { blocks: reply.blocks } : {}),
        });
        this.changed();
      }
    } catch {
      // An ack with a non-JSON body shows nothing, as in Slack.
    }
  }

  /**
   * The person opens the bot's Home tab: an Events API `app_home_opened`, JSON and signed as
   * Slack sends it, carrying the Home last published for them, if any. The bot answers with views.publish.
   */
  async openHome(user: string) {
    const now = Date.now();
    this.counter += 1;
    const published = this.home(user);
    const event = {
      type: 'app_home_opened',
      user,
      channel: `D${user}`,
      tab: 'home',
      event_ts: (now / 1000).toFixed(6),
      ...(published ? { view: this.homeViewJson(published) } : {}),
    };
    const body = {
      token: 'playground',
      team_id: TEAM_ID,
      api_app_id: APP_ID,
      event,
      type: 'event_callback',
      event_id: `Ev0PLAYGROUND${String(this.counter).padStart(6, '0')}`,
      event_time: Math.floor(now / 1000),
      authorizations: [{ enterprise_id: null, team_id: TEAM_ID, user_id: BOT_USER_ID, is_bot: true, is_enterprise_install: false }],
      is_ext_shared_channel: false,
    };
    const res = await this.post(JSON.stringify(body), 'application/json');
    return { ok: res.status === 200, status: res.status };
  }

  /** The clicked button as block_actions carries it. */
  private clickedButton(input: Record<string, unknown>) {
    return {
      type: 'button',
      action_id: String(input.actionId ?? ''),
      block_id: String(input.blockId ?? ''),
      text: { type: 'plain_text', text: String(input.label ?? ''), emoji: true },
      value: String(input.value ?? ''),
      action_ts: `${Date.now() / 1000}`,
    };
  }

  /** A button click: `payload=` block_actions JSON, with the message or the Home tab it was on. */
  async action(user: string, input: Record<string, unknown>) {
    if (input.viewId !== undefined) return this.homeAction(user, input);
    const channel = String(input.channel ?? '');
    const messageTs = String(input.messageTs ?? '');
    const message = this.slack()
      .messages(channel)
      .find((m) => m.ts === messageTs);
    const payload = {
      type: 'block_actions',
      user: this.userJson(user),
      api_app_id: APP_ID,
      token: 'playground',
      container: { type: 'message', message_ts: messageTs, channel_id: channel, is_ephemeral: false },
      trigger_id: this.newTrigger(user),
      team: { id: TEAM_ID, domain: 'playground' },
      enterprise: null,
      is_enterprise_install: false,
      channel: { id: channel, name: CHANNELS.find((c) => c.id === channel)?.name ?? 'directmessage' },
      message: { type: 'message', ts: messageTs, text: message?.text ?? '', blocks: message?.blocks ?? [], user: message?.user },
      state: { values: {} },
      response_url: this.responseUrl(user, channel),
      actions: [this.clickedButton(input)],
    };
    const res = await this.post(new URLSearchParams({ payload: JSON.stringify(payload) }).toString());
    return { ok: res.status === 200, status: res.status };
  }

  /**
   * A click in the person's Home tab: block_actions from a view, as Slack sends it: the Home in
   * `view`, `container.type` 'view', and no channel, message or response_url.
   */
  private async homeAction(user: string, input: Record<string, unknown>) {
    const home = this.home(user);
    if (!home || home.viewId !== String(input.viewId)) return { ok: false, error: 'That Home tab is no longer shown: open it again.' };
    const payload = {
      type: 'block_actions',
      user: this.userJson(user),
      api_app_id: APP_ID,
      token: 'playground',
      container: { type: 'view', view_id: home.viewId },
      trigger_id: this.newTrigger(user),
      team: { id: TEAM_ID, domain: 'playground' },
      enterprise: null,
      is_enterprise_install: false,
      view: this.homeViewJson(home),
      actions: [this.clickedButton(input)],
    };
    const res = await this.post(new URLSearchParams({ payload: JSON.stringify(payload) }).toString());
    return { ok: res.status === 200, status: res.status };
  }

  /** A modal submission: `payload=` view_submission; field errors from the bot go back onto the fields. */
  async submitView(user: string, viewId: string, values: Record<string, Record<string, unknown>>) {
    const stored = this.slack()
      .openedViews()
      .find((v) => v.viewId === viewId);
    const owner = this.viewOwners.get(viewId);
    if (!stored || owner?.user !== user || owner.closed) return { ok: false, error: 'That form is no longer open.' };
    const view = stored.view as Record<string, unknown>;
    const payload = {
      type: 'view_submission',
      team: { id: TEAM_ID, domain: 'playground' },
      user: this.userJson(user),
      api_app_id: APP_ID,
      token: 'playground',
      trigger_id: this.newTrigger(user),
      view: {
        ...view,
        id: viewId,
        team_id: TEAM_ID,
        private_metadata: view.private_metadata ?? '',
        callback_id: view.callback_id ?? '',
        state: { values },
        hash: '1700000000.playground',
        root_view_id: viewId,
        previous_view_id: null,
        app_id: APP_ID,
        bot_id: 'B0PLAYGROUND',
      },
      response_urls: [],
      is_enterprise_install: false,
      enterprise: null,
    };
    const res = await this.post(new URLSearchParams({ payload: JSON.stringify(payload) }).toString());
    let reply: { response_action?: string; errors?: Record<string, string> } = {};
    try {
      reply = res.body ? (JSON.parse(res.body) as typeof reply) : {};
    } catch {
      reply = {};
    }
    if (res.status === 200 && reply.response_action === 'errors' && reply.errors) {
      owner.errors = reply.errors;
      this.changed();
      return { ok: false, errors: reply.errors };
    }
    owner.closed = res.status === 200;
    this.changed();
    return { ok: res.status === 200, status: res.status };
  }

  closeView(viewId: string): void {
    const owner = this.viewOwners.get(viewId);
    if (owner) owner.closed = true;
    this.changed();
  }
}
