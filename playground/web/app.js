import { escapeHtml, mrkdwn, renderBlocks, renderModal } from './render.js';

const ADMIN_CHANNEL = 'C0BILLINGADMINS';
const BOT = 'U0BILLINGBOT';
/** This run's token, put in the page as it is served: the playground refuses /ui/ calls without it. */
const TOKEN = document.querySelector('meta[name="playground-token"]')?.content ?? '';
let me = localStorage.getItem('playground.me') || 'U0JANE';
let channel = localStorage.getItem('playground.channel') || ADMIN_CHANNEL;
let state = null;
/** The modal on screen: which view, and the view and errors it was drawn from. */
let openViewId = null;
let openViewDrawn = '';
/** A note from the page itself (not the bot), e.g. an unknown command; shown only here. */
let pageNote = null;

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

function names() {
  return Object.fromEntries((state?.people ?? []).map((p) => [p.id, p.realName || p.name]).concat([[BOT, 'Billing bot']]));
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
    .map((p) => `<option value="${escapeHtml(p.id)}"${p.id === me ? ' selected' : ''}>${escapeHtml(p.realName)} (${escapeHtml(p.role)})</option>`)
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
  const current = state.channels.find((c) => c.id === channel) ?? state.channels[0];
  if (current && current.id !== channel) channel = current.id;
  $('channels').innerHTML = state.channels
    .map(
      (c) =>
        `<button type="button" class="channel${c.id === channel ? ' active' : ''}" data-channel="${escapeHtml(c.id)}"${c.id === channel ? ' aria-current="page"' : ''}>${
          c.im ? '' : '# '
        }${escapeHtml(c.name)}</button>`,
    )
    .join('');
  $('channel-title').textContent = current ? `${current.im ? '' : '#'}${current.name}` : '';

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
  const ephemerals = $('ephemerals');
  const html = mine.join('');
  if (ephemerals.dataset.drawn !== html) {
    ephemerals.innerHTML = html;
    ephemerals.dataset.drawn = html;
    // The newest reply is the one the person is waiting for.
    ephemerals.scrollTop = ephemerals.scrollHeight;
  }

  renderView(people);
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
  // A direct message is the person's own: switching people moves to the new person's DM.
  if (channel.startsWith('D')) channel = `D${me}`;
  localStorage.setItem('playground.channel', channel);
  openViewId = null;
  openViewDrawn = '';
  pageNote = null;
  void refresh();
});

$('channels').addEventListener('click', (e) => {
  const target = e.target.closest('[data-channel]');
  if (!target) return;
  channel = target.dataset.channel;
  localStorage.setItem('playground.channel', channel);
  render();
});

$('composer').addEventListener('submit', async (e) => {
  e.preventDefault();
  const text = $('command').value.trim();
  if (!text) return;
  $('command').value = '';
  pageNote = null;
  const result = await post('/ui/command', { channel, text });
  if (!result.ok && result.error) pageNote = { user: me, channel, text: result.error };
  await refresh();
});

$('run-summary').addEventListener('click', async () => {
  channel = ADMIN_CHANNEL;
  localStorage.setItem('playground.channel', channel);
  await post('/ui/command', { channel: ADMIN_CHANNEL, text: '/request-billing summary' });
  await refresh();
});

document.addEventListener('click', async (e) => {
  const btn = e.target.closest('.bk-button');
  if (!btn || btn.closest('#modal') || btn.disabled) return;
  const message = btn.closest('.message');
  btn.disabled = true;
  try {
    await post('/ui/action', {
      channel: message?.dataset.channel ?? channel,
      messageTs: message?.dataset.ts ?? '',
      actionId: btn.dataset.actionId,
      blockId: btn.dataset.blockId,
      value: btn.dataset.value,
      label: btn.dataset.label,
    });
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
  try {
    await post('/ui/view', { viewId: openViewId, values: readForm() });
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
