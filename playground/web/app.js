import { escapeHtml, mrkdwn, renderBlocks, renderModal } from './render.js';

const ADMIN_CHANNEL = 'C0BILLINGADMINS';
let me = localStorage.getItem('playground.me') || 'U0JANE';
let channel = localStorage.getItem('playground.channel') || ADMIN_CHANNEL;
let state = null;
let openViewId = null;

const $ = (id) => document.getElementById(id);

async function post(path, body) {
  const res = await fetch(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ user: me, ...body }) });
  return res.json();
}

function names() {
  return Object.fromEntries((state?.people ?? []).map((p) => [p.id, p.realName || p.name]).concat([['U0BILLINGBOT', 'Billing bot']]));
}

function author(id) {
  return names()[id] ?? id;
}

function renderMessage(m, people) {
  const body = m.blocks?.length ? renderBlocks(m.blocks, people) : `<div class="bk-text">${mrkdwn(m.text, people)}</div>`;
  return `<article class="message${m.ephemeral ? ' ephemeral' : ''}" data-ts="${escapeHtml(m.ts)}" data-channel="${escapeHtml(m.channel)}">
    <div class="author">${escapeHtml(author(m.user))}${m.edited ? ' <span class="edited">(edited)</span>' : ''}${m.ephemeral ? ' <span class="only-you">Only visible to you</span>' : ''}</div>
    ${body}
  </article>`;
}

function render() {
  if (!state) return;
  const people = names();
  $('person').innerHTML = state.people
    .map((p) => `<option value="${escapeHtml(p.id)}"${p.id === me ? ' selected' : ''}>${escapeHtml(p.realName)} (${escapeHtml(p.role)})</option>`)
    .join('');
  $('channels').innerHTML = state.channels
    .map(
      (c) =>
        `<button type="button" class="channel${c.id === channel ? ' active' : ''}" data-channel="${escapeHtml(c.id)}">${c.im ? '' : '# '}${escapeHtml(c.name)}</button>`,
    )
    .join('');
  const current = state.channels.find((c) => c.id === channel) ?? state.channels[0];
  if (current && current.id !== channel) channel = current.id;
  $('channel-title').textContent = current ? `${current.im ? '' : '#'}${current.name}` : '';

  const inChannel = state.messages.filter((m) => m.channel === channel);
  const top = inChannel.filter((m) => !m.threadTs);
  $('messages').innerHTML =
    top
      .map((m) => {
        const replies = inChannel.filter((r) => r.threadTs === m.ts);
        const thread = replies.length
          ? `<div class="thread"><div class="thread-count">${replies.length} repl${replies.length === 1 ? 'y' : 'ies'}</div>${replies.map((r) => renderMessage(r, people)).join('')}</div>`
          : '';
        return renderMessage(m, people) + thread;
      })
      .join('') || '<p class="empty">No messages yet.</p>';
  const mine = state.ephemerals.filter((e) => e.channel === channel);
  $('ephemerals').innerHTML = mine.map((e) => renderMessage({ ...e, user: 'U0BILLINGBOT', ephemeral: true }, people)).join('');

  const view = state.views[0];
  const modal = $('modal');
  if (view) {
    if (openViewId !== view.viewId || Object.keys(view.errors ?? {}).length) {
      const kept = openViewId === view.viewId ? readForm() : null;
      modal.querySelector('.modal-card').innerHTML = renderModal(view.view, view.errors);
      if (kept) restoreForm(kept);
      openViewId = view.viewId;
    }
    modal.hidden = false;
  } else {
    modal.hidden = true;
    openViewId = null;
  }
  const messages = $('messages');
  messages.scrollTop = messages.scrollHeight;
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

let refreshing = null;
async function refresh() {
  if (refreshing) return refreshing;
  refreshing = (async () => {
    const res = await fetch(`/ui/state?user=${encodeURIComponent(me)}`);
    state = await res.json();
    render();
  })().finally(() => {
    refreshing = null;
  });
  return refreshing;
}

$('person').addEventListener('change', (e) => {
  me = e.target.value;
  localStorage.setItem('playground.me', me);
  openViewId = null;
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
  const result = await post('/ui/command', { channel, text });
  if (!result.ok && result.error) alert(result.error);
  await refresh();
});

$('run-summary').addEventListener('click', async () => {
  await post('/ui/command', { channel: ADMIN_CHANNEL, text: '/request-billing summary' });
  channel = ADMIN_CHANNEL;
  await refresh();
});

document.addEventListener('click', async (e) => {
  const btn = e.target.closest('.bk-button');
  if (!btn || btn.closest('#modal')) return;
  const message = btn.closest('.message');
  btn.disabled = true;
  await post('/ui/action', {
    channel: message?.dataset.channel ?? channel,
    messageTs: message?.dataset.ts ?? '',
    actionId: btn.dataset.actionId,
    blockId: btn.dataset.blockId,
    value: btn.dataset.value,
    label: btn.dataset.label,
  });
  await refresh();
});

$('modal').addEventListener('submit', async (e) => {
  e.preventDefault();
  if (!openViewId) return;
  await post('/ui/view', { viewId: openViewId, values: readForm() });
  await refresh();
});

$('modal').addEventListener('click', async (e) => {
  if (!e.target.closest('.close') || !openViewId) return;
  await post('/ui/view/close', { viewId: openViewId });
  await refresh();
});

new EventSource('/ui/events').onmessage = () => void refresh();
void refresh();
