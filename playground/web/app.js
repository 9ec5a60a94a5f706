import { escapeHtml, mrkdwn, renderBlocks, renderHome, renderModal } from './render.js';

const ADMIN_CHANNEL = 'C0BILLINGADMINS';
const GENERAL_CHANNEL = 'C0GENERAL';
const BOT = 'U0BILLINGBOT';
/** The sidebar entry for the bot's Home tab: kept where a channel id would be, never sent as one. */
const HOME = 'home';
/** This run's token, put in the page as it is served: the playground refuses /ui/ calls without it. */
const TOKEN = document.querySelector('meta[name="playground-token"]')?.content ?? '';

/** A JSON value kept in localStorage, so a reload shows the same view. */
function stored(key, fallback) {
  try {
    return JSON.parse(localStorage.getItem(key) ?? 'null') ?? fallback;
  } catch {
    return fallback;
  }
}
const keep = (key, value) => localStorage.setItem(key, JSON.stringify(value));

let me = localStorage.getItem('playground.me') || 'U0JANE';
/** Each person's open channel, as each Slack account keeps its own; a person seen first lands where their role belongs. */
const channelOf = stored('playground.channels', {});
/**
 * The newest message ts each person has seen per channel: what is newer is unread. Kept for this
 * run only (the stand-in numbers messages afresh each run).
 */
const seenStore = stored('playground.seen', {});
const seen = seenStore.run === TOKEN ? (seenStore.people ?? {}) : {};
/** null until the state says who the person is: an admin lands in #billing-admins, anyone else in #general. */
let channel = channelOf[me] ?? null;
let state = null;
/**
 * After the person sends a command or a form, the newest DM ts then: a DM from the bot newer than
 * that, arriving while they look elsewhere, is the reply, and the page says where it went.
 */
let awaitingReply = null;
/** The note saying a reply went to the DM, shown until the person opens it or acts again. */
let replyNote = null;
/** The modal on screen: which view, and the view and errors it was drawn from. */
let openViewId = null;
let openViewDrawn = '';
/** A note from the page itself (not the bot), e.g. an unknown command; shown only here. */
let pageNote = null;
/** Who the Home tab was last opened for while it stays on screen: opening it again tells the bot again, as in Slack. */
let homeOpenedFor = null;

const $ = (id) => document.getElementById(id);

/** Refused for the token: the playground was restarted since this page was loaded, with a new one. */
function stale() {
  events.close();
  $('hint').textContent = 'The playground was restarted: reload this page.';
}

async function post(path, body) {
  const res = await fetch(path, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-playground-token': TOKEN },
    body: JSON.stringify({ user: me, ...body }),
  });
  if (res.status === 403) {
    stale();
    return { ok: false };
  }
  return res.json();
}

/** Names by id for mentions: people, the bot, and channels (`<#C…>` shows `#billing-admins`). */
function names() {
  return Object.fromEntries(
    (state?.people ?? [])
      .map((p) => [p.id, p.realName || p.name])
      .concat([[BOT, 'Billing bot']])
      .concat((state?.channels ?? []).filter((c) => !c.im).map((c) => [c.id, c.name])),
  );
}

const dmOf = (user) => `D${user}`;

/** Where a person lands: their last channel, else #billing-admins for an admin and #general for anyone else. */
function landingChannel(user) {
  if (channelOf[user]) return channelOf[user];
  return state?.people.find((p) => p.id === user)?.role === 'admin' ? ADMIN_CHANNEL : GENERAL_CHANNEL;
}

function openChannelView(id) {
  if (id !== HOME) homeOpenedFor = null;
  channel = id;
  channelOf[me] = id;
  keep('playground.channels', channelOf);
  if (id === dmOf(me)) replyNote = null;
}

const tsNumber = (ts) => Number(ts) || 0;

/** Messages others can see (not ephemerals) in a channel, newer than what the person has seen there. */
function unread(channelId) {
  const last = seen[me]?.[channelId] ?? 0;
  return state.messages.filter((m) => m.channel === channelId && !m.ephemeral && tsNumber(m.ts) > last).length;
}

function markSeen(channelId) {
  const newest = Math.max(0, ...state.messages.filter((m) => m.channel === channelId).map((m) => tsNumber(m.ts)));
  seen[me] ??= {};
  if ((seen[me][channelId] ?? 0) >= newest) return;
  seen[me][channelId] = newest;
  keep('playground.seen', { run: TOKEN, people: seen });
}

function newestDmTs() {
  return Math.max(0, ...(state?.messages ?? []).filter((m) => m.channel === dmOf(me)).map((m) => tsNumber(m.ts)));
}

/** Call before sending what the bot may answer in the DM (a form's confirmation goes there). */
function expectReply() {
  awaitingReply = { user: me, after: newestDmTs() };
  replyNote = null;
}

/** The reply arrived in the DM while the person looks at another channel: say so, once. */
function noticeReply() {
  if (!awaitingReply || awaitingReply.user !== me) return;
  if (newestDmTs() <= awaitingReply.after) return;
  awaitingReply = null;
  if (channel !== dmOf(me)) replyNote = { user: me };
}

function author(id) {
  return Object.hasOwn(names(), id) ? names()[id] : id;
}

function renderMessage(m, people) {
  const body = m.blocks?.length ? renderBlocks(m.blocks, people) : `<div class="bk-text">${mrkdwn(m.text, people)}</div>`;
  return `<article class="message${m.ephemeral ? ' ephemeral' : ''}" data-ts="${escapeHtml(m.ts)}" data-channel="${escapeHtml(m.channel)}">
    <div class="author">${escapeHtml(m.author ?? author(m.user))}${m.edited ? ' <span class="edited">(edited)</span>' : ''}${m.ephemeral ? ' <span class="only-you">Only visible to you</span>' : ''}</div>
    ${body}
  </article>`;
}

function renderPeople() {
  const options = state.people
    .map(
      (p) =>
        `<option value="${escapeHtml(p.id)}"${p.id === me ? ' selected' : ''}>${escapeHtml(p.realName)} (${escapeHtml(p.role)}${p.hint ? `, ${escapeHtml(p.hint)}` : ''})</option>`,
    )
    .join('');
  // Redrawn only when it changes, so an open drop-down is not closed under the person's pointer.
  if ($('person').dataset.drawn !== options) {
    $('person').innerHTML = options;
    $('person').dataset.drawn = options;
  }
  $('person').value = me;
}

function render() {
  if (!state) return;
  const people = names();
  renderPeople();
  // Whose view is on screen, once it is drawn (the person picker changes before the state arrives).
  document.body.dataset.me = state.me;
  if (channel === null) openChannelView(landingChannel(me));
  const atHome = channel === HOME;
  const current = atHome ? undefined : (state.channels.find((c) => c.id === channel) ?? state.channels[0]);
  if (current && current.id !== channel) channel = current.id;
  if (!atHome) markSeen(channel);
  noticeReply();
  $('channels').innerHTML = state.channels.map(renderChannelLink).join('') + renderHomeLink();
  $('channel-title').textContent = atHome ? 'Billing bot · Home' : current ? `${current.im ? '' : '#'}${current.name}` : '';
  renderReplyNote();
  renderIam();
  showHome(atHome, people);

  const messages = $('messages');
  const inChannel = state.messages.filter((m) => m.channel === channel);
  const top = inChannel.filter((m) => !m.threadTs || !inChannel.some((p) => p.ts === m.threadTs && p !== m));
  const list =
    top
      .map((m) => {
        const replies = inChannel.filter((r) => r.threadTs === m.ts && r !== m);
        const thread = replies.length
          ? `<div class="thread"><div class="thread-count">${replies.length} repl${replies.length === 1 ? 'y' : 'ies'}</div>${replies.map((r) => renderMessage(r, people)).join('')}</div>`
          : '';
        return renderMessage(m, people) + thread;
      })
      .join('') || '<p class="empty">No messages yet.</p>';
  // Redrawn only when something changed, so a click in progress is not lost to an unrelated update.
  if (messages.dataset.drawn !== list) {
    const atBottom = messages.scrollHeight - messages.scrollTop - messages.clientHeight < 40;
    const switched = messages.dataset.channel !== channel;
    messages.innerHTML = list;
    messages.dataset.drawn = list;
    messages.dataset.channel = channel;
    // Follow new messages unless the person scrolled up to read older ones.
    if (atBottom || switched) messages.scrollTop = messages.scrollHeight;
  }

  const mine = state.ephemerals.filter((e) => e.channel === channel).map((e) => renderMessage({ ...e, user: BOT, ephemeral: true }, people));
  if (pageNote && pageNote.user === me && pageNote.channel === channel) {
    mine.push(renderMessage({ ts: 'note', channel, text: pageNote.text, author: 'Slackbot', ephemeral: true }, people));
  }
  // The newest reply is the one the person is waiting for; older ones fold away instead of piling up.
  const older = mine.slice(0, -1);
  const ephemerals = $('ephemerals');
  const html =
    (older.length
      ? `<details class="older"><summary>${older.length} earlier repl${older.length === 1 ? 'y' : 'ies'} only visible to you</summary>${older.join('')}</details>`
      : '') + (mine.at(-1) ?? '');
  if (ephemerals.dataset.drawn !== html) {
    ephemerals.innerHTML = html;
    ephemerals.dataset.drawn = html;
    // The newest reply is the one the person is waiting for.
    ephemerals.scrollTop = ephemerals.scrollHeight;
  }

  renderView(people);
}

/** The bot under Apps in the sidebar: its Home tab. */
function renderHomeLink() {
  const active = channel === HOME;
  return `<div class="sidebar-heading">Apps</div><button type="button" class="channel home-link${active ? ' active' : ''}" data-channel="${HOME}"${
    active ? ' aria-current="page"' : ''
  }>Billing bot · Home</button>`;
}

/**
 * The Home tab in place of the channel: the view the bot published for this person. Entering it
 * tells the bot (app_home_opened), which publishes the Home; it shows up here live.
 */
function showHome(atHome, people) {
  const home = $('home');
  home.hidden = !atHome;
  for (const id of ['messages', 'ephemerals', 'composer', 'hint']) $(id).hidden = atHome;
  if (!atHome) return;
  const html = renderHome(state.home, people);
  // Redrawn only when the published view changed, so a click in progress is not lost.
  if (home.dataset.drawn !== html) {
    home.innerHTML = html;
    home.dataset.drawn = html;
  }
  if (homeOpenedFor !== me) {
    homeOpenedFor = me;
    void post('/ui/home', {});
  }
}

/** A channel in the sidebar: a DM shows how many messages are unread, a channel is bold while it has any. */
function renderChannelLink(c) {
  const active = c.id === channel;
  const count = active ? 0 : unread(c.id);
  const badge = count && c.im ? ` <span class="unread-badge" aria-label="${count} unread">${count}</span>` : '';
  return `<button type="button" class="channel${active ? ' active' : ''}${count ? ' unread' : ''}" data-channel="${escapeHtml(c.id)}"${
    active ? ' aria-current="page"' : ''
  }>${c.im ? '' : '# '}${escapeHtml(c.name)}${badge}</button>`;
}

function renderReplyNote() {
  const note = $('reply-note');
  const show = replyNote?.user === me;
  const html = show ? 'Reply sent to your DM with the bot. <button type="button" class="open-dm">Open the DM</button>' : '';
  if (note.dataset.drawn !== html) {
    note.innerHTML = html;
    note.dataset.drawn = html;
  }
  note.hidden = !show;
}

/** The billing groups as the IAM stand-in holds them, with the control that widens one beyond billing. */
function renderIam() {
  const panel = $('iam');
  const iam = state.iam;
  const html = iam
    ? `<h2 class="iam-title">AWS IAM <span class="iam-account">stand-in · ${escapeHtml(iam.accountId)}</span></h2>${iam.groups
        .map(
          (g) => `<div class="iam-group${g.widened ? ' widened' : ''}" data-group="${escapeHtml(g.groupName)}">
        <div class="iam-group-name">${escapeHtml(g.groupName)}</div>
        <div class="iam-policies">${g.policies.map((p) => `<span class="iam-policy">${escapeHtml(p.split('/').pop() ?? p)}</span>`).join(' ')}</div>
        <div class="iam-members">${g.members.length ? g.members.map((m) => `<span class="iam-member">${escapeHtml(m)}</span>`).join(' ') : '<span class="iam-none">no members</span>'}</div>
        <button type="button" class="iam-widen" data-group="${escapeHtml(g.groupName)}" data-widen="${g.widened ? 'false' : 'true'}" title="${
          g.widened
            ? 'Detaches AdministratorAccess again'
            : 'Attaches AdministratorAccess, as an edit in the console would: the group guard then refuses grants'
        }">${g.widened ? 'Narrow back to billing' : 'Widen beyond billing'}</button>
      </div>`,
        )
        .join('')}`
    : '';
  if (panel.dataset.drawn !== html) {
    panel.innerHTML = html;
    panel.dataset.drawn = html;
  }
  panel.hidden = !iam;
}

/** The person's open modal. Redrawn only when its view or errors change, keeping typed values and focus. */
function renderView(people) {
  // The newest modal is the one on top.
  const view = state.views.at(-1);
  const modal = $('modal');
  if (!view) {
    modal.hidden = true;
    openViewId = null;
    openViewDrawn = '';
    return;
  }
  const drawn = JSON.stringify([view.viewId, view.view, view.errors ?? {}]);
  if (drawn !== openViewDrawn) {
    const kept = openViewId === view.viewId ? readForm() : null;
    const focused = document.activeElement?.closest?.('#modal') ? document.activeElement.id : null;
    modal.querySelector('.modal-card').innerHTML = renderModal(view.view, view.errors ?? {}, people);
    if (kept) restoreForm(kept);
    openViewId = view.viewId;
    openViewDrawn = drawn;
    modal.hidden = false;
    const errorField = modal.querySelector('[aria-invalid="true"]');
    const refocus = (focused && document.getElementById(focused)) || errorField || modal.querySelector('[data-block]');
    refocus?.focus();
  }
  modal.hidden = false;
}

function readForm() {
  const values = {};
  for (const el of $('modal').querySelectorAll('[data-block]')) {
    values[el.dataset.block] ??= {};
    values[el.dataset.block][el.dataset.action] =
      el.dataset.type === 'static_select'
        ? {
            type: 'static_select',
            selected_option: el.value ? { value: el.value, text: { type: 'plain_text', text: el.selectedOptions[0]?.textContent ?? el.value } } : null,
          }
        : { type: 'plain_text_input', value: el.value === '' ? null : el.value };
  }
  return values;
}

function restoreForm(values) {
  for (const el of $('modal').querySelectorAll('[data-block]')) {
    const v = values[el.dataset.block]?.[el.dataset.action];
    if (!v) continue;
    el.value = v.selected_option?.value ?? v.value ?? '';
  }
}

// One state request at a time; a change that arrives meanwhile triggers one more, so no update is
// lost, and a state fetched for someone the page no longer shows is dropped.
let refreshing = null;
let again = false;
function refresh() {
  if (refreshing) {
    again = true;
    return refreshing;
  }
  refreshing = (async () => {
    do {
      again = false;
      const user = me;
      const res = await fetch(`/ui/state?user=${encodeURIComponent(user)}`, { headers: { 'x-playground-token': TOKEN } });
      if (res.status === 403) {
        stale();
        return;
      }
      const next = await res.json();
      if (user === me) {
        state = next;
        render();
      } else {
        again = true;
      }
    } while (again);
  })().finally(() => {
    refreshing = null;
  });
  return refreshing;
}

$('person').addEventListener('change', (e) => {
  me = e.target.value;
  localStorage.setItem('playground.me', me);
  // Each person has their own view: their last channel, or where their role lands them.
  channel = channelOf[me] ?? null;
  openViewId = null;
  openViewDrawn = '';
  pageNote = null;
  replyNote = null;
  homeOpenedFor = null;
  void refresh();
});

$('channels').addEventListener('click', (e) => {
  const target = e.target.closest('[data-channel]');
  if (!target) return;
  openChannelView(target.dataset.channel);
  render();
});

$('reply-note').addEventListener('click', (e) => {
  if (!e.target.closest('.open-dm')) return;
  openChannelView(dmOf(me));
  render();
});

$('hint').addEventListener('click', (e) => {
  const fill = e.target.closest('.fill');
  if (!fill) return;
  $('command').value = fill.textContent;
  $('command').focus();
});

$('composer').addEventListener('submit', async (e) => {
  e.preventDefault();
  const text = $('command').value.trim();
  // Nothing is sent before the page knows where the person is.
  if (!text || !channel) return;
  $('command').value = '';
  pageNote = null;
  expectReply();
  const result = await post('/ui/command', { channel, text });
  if (!result.ok && result.error) {
    awaitingReply = null;
    pageNote = { user: me, channel, text: result.error };
  }
  await refresh();
});

$('run-summary').addEventListener('click', async () => {
  openChannelView(ADMIN_CHANNEL);
  await post('/ui/command', { channel: ADMIN_CHANNEL, text: '/request-billing summary' });
  await refresh();
});

$('iam').addEventListener('click', async (e) => {
  const btn = e.target.closest('.iam-widen');
  if (!btn || btn.disabled) return;
  btn.disabled = true;
  try {
    await post('/ui/iam/group', { groupName: btn.dataset.group, widen: btn.dataset.widen === 'true' });
  } finally {
    btn.disabled = false;
    await refresh();
  }
});

document.addEventListener('click', async (e) => {
  const btn = e.target.closest('.bk-button');
  if (!btn || btn.closest('#modal') || btn.disabled) return;
  const message = btn.closest('.message');
  const home = btn.closest('.home-view');
  const clicked = { actionId: btn.dataset.actionId, blockId: btn.dataset.blockId, value: btn.dataset.value, label: btn.dataset.label };
  btn.disabled = true;
  try {
    // A click in the Home tab names its view; one on a message names the message and its channel.
    await post(
      '/ui/action',
      home ? { viewId: home.dataset.viewId, ...clicked } : { channel: message?.dataset.channel ?? channel, messageTs: message?.dataset.ts ?? '', ...clicked },
    );
  } finally {
    btn.disabled = false;
    await refresh();
  }
});

$('modal').addEventListener('submit', async (e) => {
  e.preventDefault();
  const submit = $('modal').querySelector('.submit');
  if (!openViewId || submit?.disabled) return;
  if (submit) submit.disabled = true;
  expectReply();
  try {
    const result = await post('/ui/view', { viewId: openViewId, values: readForm() });
    if (!result.ok) awaitingReply = null;
  } finally {
    if (submit) submit.disabled = false;
    await refresh();
  }
});

async function closeModal() {
  if (!openViewId) return;
  await post('/ui/view/close', { viewId: openViewId });
  await refresh();
}

$('modal').addEventListener('click', (e) => {
  if (e.target.closest('.close')) void closeModal();
});

document.addEventListener('keydown', (e) => {
  if (e.key === 'Escape' && !$('modal').hidden) void closeModal();
});

const events = new EventSource(`/ui/events?token=${encodeURIComponent(TOKEN)}`);
events.onmessage = () => void refresh();
// After a reconnect, changes made while the stream was down are fetched at once.
events.onopen = () => void refresh();
void refresh();
