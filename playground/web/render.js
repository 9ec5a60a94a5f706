// Block Kit and mrkdwn to HTML, following Slack's rules. Pure functions: the page and the
// unit tests import the same module. Every piece of text is HTML-escaped before any markup
// is added, so nothing a requester types can become script or markup in the page.

const HTML_ESCAPES = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(text) {
  return String(text ?? '').replace(/[&<>"']/g, (c) => HTML_ESCAPES[c]);
}

/** Slack sends `&amp;`, `&lt;`, `&gt;` in message text; they stand for the characters. */
function decodeSlackEntities(text) {
  return text.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
}

/** Only http(s) URLs become links; `javascript:`, `data:`, `mailto:` and the rest never do. */
function safeUrl(url) {
  return /^https?:\/\/\S+$/i.test(url) ? url : null;
}

/** A lookup that ignores inherited properties (`constructor`, `__proto__`). */
function own(map, key) {
  return map && Object.hasOwn(map, key) ? map[key] : undefined;
}

// Private-use characters mark placeholders while a line is formatted; input never supplies them.
const CODE = '\uE000';
const PIECE = '\uE001';

function stripPlaceholders(text) {
  return text.replace(/[\uE000\uE001]/g, '');
}

/** Emoji shortcodes, shown as Slack shows them: the bot's own and a few common ones. */
const EMOJI = {
  white_check_mark: '✅',
  heavy_check_mark: '✔️',
  warning: '⚠️',
  grey_question: '❔',
  link: '🔗',
  question: '❓',
  no_entry: '⛔',
  no_entry_sign: '🚫',
  hourglass_flowing_sand: '⏳',
  hourglass: '⌛',
  rotating_light: '🚨',
  bell: '🔔',
  x: '❌',
  lock: '🔒',
  unlock: '🔓',
  key: '🔑',
  tada: '🎉',
  eyes: '👀',
  memo: '📝',
  information_source: 'ℹ️',
  calendar: '📆',
  clock: '🕐',
  moneybag: '💰',
  chart_with_upwards_trend: '📈',
};

/** `:name:` to the emoji on already-escaped text; unknown names stay as typed. */
function emoji(escaped) {
  return escaped.replace(/:([a-z0-9_]+):/g, (whole, name) => own(EMOJI, name) ?? whole);
}

/** Bold, italic, strike and inline code on already-escaped text, at word boundaries as Slack does. */
function inlineFormat(escaped) {
  const codes = [];
  let out = escaped.replace(/`([^`\n]+)`/g, (_, code) => {
    codes.push(code);
    return `${CODE}${codes.length - 1}${CODE}`;
  });
  // Marks open after a start, space, bracket or entity end and close before an end, space or punctuation.
  const open = `(^|[\\s(>;${PIECE}])`;
  const close = `(?=$|[\\s).,!?:;<&${PIECE}])`;
  for (const [mark, tag] of [
    ['*', 'strong'],
    ['_', 'em'],
    ['~', 'del'],
  ]) {
    const m = `\\${mark}`;
    out = out.replace(new RegExp(`${open}${m}(?!\\s)([^${m}\\n]*?[^${m}\\s])${m}${close}`, 'g'), `$1<${tag}>$2</${tag}>`);
  }
  return out.replace(new RegExp(`${CODE}(\\d+)${CODE}`, 'g'), (_, i) => `<code>${codes[Number(i)]}</code>`);
}

function splitOnce(text, sep) {
  const at = text.indexOf(sep);
  return at < 0 ? [text, undefined] : [text.slice(0, at), text.slice(at + 1)];
}

/**
 * One `<…>` construct: a user, channel or special mention, a date, or a link. Its parts are
 * decoded from Slack's entities, then escaped. Anything else is shown as the literal text it is.
 */
function angle(inner, people) {
  const [rawTarget, rawLabel] = splitOnce(inner, '|');
  const target = decodeSlackEntities(rawTarget);
  const label = rawLabel === undefined ? undefined : decodeSlackEntities(rawLabel);
  if (target.startsWith('@')) {
    const id = target.slice(1);
    const name = own(people, id) ?? label ?? id;
    return `<span class="mention">@${escapeHtml(name)}</span>`;
  }
  // A channel by its current name, as Slack shows it, else the mention's label, else its id.
  if (target.startsWith('#')) return `<span class="mention">#${escapeHtml(own(people, target.slice(1)) ?? label ?? target.slice(1))}</span>`;
  if (target.startsWith('!date^')) return escapeHtml(label ?? target);
  if (target.startsWith('!subteam^')) return `<span class="mention">${escapeHtml(label ?? '@group')}</span>`;
  // <!channel>, <!here>, <!everyone>: shown as text, never a ping.
  if (target.startsWith('!')) return `<span class="mention">@${escapeHtml(label ?? target.slice(1).split('^')[0])}</span>`;
  const url = safeUrl(target);
  if (url) return `<a href="${escapeHtml(url)}" target="_blank" rel="noopener noreferrer">${escapeHtml(label ?? url)}</a>`;
  // A URL with a scheme that is not allowed: its label (or itself) as plain text, never a link.
  if (/^[a-z][a-z0-9+.-]*:/i.test(target)) return escapeHtml(label ?? target);
  return escapeHtml(`<${decodeSlackEntities(inner)}>`);
}

/**
 * One line: `<…>` constructs become placeholders first, so *bold* and _italic_ can span a
 * mention as in Slack; the rest is decoded, HTML-escaped, then formatted.
 */
function renderLine(line, people) {
  const pieces = [];
  const withHoles = line.replace(/<([^<>]*)>/g, (_, inner) => {
    pieces.push(angle(inner, people));
    return `${PIECE}${pieces.length - 1}${PIECE}`;
  });
  const escaped = emoji(escapeHtml(decodeSlackEntities(withHoles)));
  return inlineFormat(escaped).replace(new RegExp(`${PIECE}(\\d+)${PIECE}`, 'g'), (_, i) => pieces[Number(i)] ?? '');
}

const QUOTE = /^(?:&gt;|>)/;
const QUOTE_REST = /^(?:&gt;|>){3}/;

/** Lines of text outside preformatted blocks: `>` quotes a line, `>>>` the rest of the text. */
function renderLines(text, people) {
  const out = [];
  let quoteRest = false;
  for (const line of text.split('\n')) {
    if (!quoteRest && QUOTE_REST.test(line)) {
      quoteRest = true;
      out.push({ quote: true, html: renderLine(line.replace(QUOTE_REST, '').replace(/^ /, ''), people) });
    } else if (quoteRest || QUOTE.test(line)) {
      out.push({ quote: true, html: renderLine(quoteRest ? line : line.replace(QUOTE, '').replace(/^ /, ''), people) });
    } else {
      out.push({ quote: false, html: renderLine(line, people) });
    }
  }
  let html = '';
  out.forEach((l, i) => {
    const prev = out[i - 1];
    // Block quotes are blocks: no line break is needed around them.
    if (l.quote && !prev?.quote) html += '<blockquote>';
    else if (prev?.quote && !l.quote) html += '</blockquote>';
    else if (i > 0) html += '<br>';
    html += l.html;
  });
  return out.at(-1)?.quote ? `${html}</blockquote>` : html;
}

/** mrkdwn text (as Slack stores it, entities escaped) to safe HTML; `people` names people and channels by id. */
export function mrkdwn(text, people = {}) {
  const source = stripPlaceholders(String(text ?? ''));
  // ```preformatted``` blocks, which may span lines, split the text; the rest is formatted per line.
  // An unclosed ``` is shown as typed.
  const parts = source.split('```');
  if (parts.length % 2 === 0) parts.splice(-2, 2, `${parts.at(-2)}\`\`\`${parts.at(-1)}`);
  let html = '';
  parts.forEach((part, i) => {
    if (i % 2 === 1) {
      html += `<pre>${escapeHtml(decodeSlackEntities(part.replace(/^\n/, '').replace(/\n$/, '')))}</pre>`;
      return;
    }
    // The line breaks next to a preformatted block belong to it.
    let lines = i > 0 ? part.replace(/^\n/, '') : part;
    if (i < parts.length - 1) lines = lines.replace(/\n$/, '');
    if (lines !== '' || parts.length === 1) html += renderLines(lines, people);
  });
  return html;
}

function plainText(obj) {
  const escaped = escapeHtml(obj?.text ?? '');
  return obj?.emoji === false ? escaped : emoji(escaped);
}

function textObject(obj, people) {
  if (!obj) return '';
  return obj.type === 'mrkdwn' ? mrkdwn(obj.text, people) : plainText(obj);
}

/** A button's data attributes are all the page needs to send the click back as Slack would. */
function button(el, blockId) {
  const style = el.style === 'primary' ? ' primary' : el.style === 'danger' ? ' danger' : '';
  return `<button type="button" class="bk-button${style}" data-action-id="${escapeHtml(el.action_id ?? '')}" data-block-id="${escapeHtml(blockId ?? '')}" data-value="${escapeHtml(
    el.value ?? '',
  )}" data-label="${escapeHtml(el.text?.text ?? '')}">${plainText(el.text)}</button>`;
}

function element(el, blockId, people) {
  if (!el) return '';
  if (el.type === 'button') return button(el, blockId);
  if (el.type === 'image') return `<span class="bk-image">[image: ${escapeHtml(el.alt_text ?? '')}]</span>`;
  if (el.type === 'mrkdwn' || el.type === 'plain_text') return `<span>${textObject(el, people)}</span>`;
  return `<span class="bk-unsupported">[${escapeHtml(el.type)}]</span>`;
}

/** Message blocks to HTML: header, section (text, fields, accessory), context, divider, actions. */
export function renderBlocks(blocks, people = {}) {
  return (Array.isArray(blocks) ? blocks : [])
    .map((block) => {
      const id = block?.block_id ?? '';
      switch (block?.type) {
        case 'header':
          return `<div class="bk-header">${plainText(block.text)}</div>`;
        case 'divider':
          return '<hr class="bk-divider">';
        case 'section': {
          const text = block.text ? `<div class="bk-text">${textObject(block.text, people)}</div>` : '';
          const fields = block.fields?.length ? `<div class="bk-fields">${block.fields.map((f) => `<div>${textObject(f, people)}</div>`).join('')}</div>` : '';
          const accessory = block.accessory ? `<div class="bk-accessory">${element(block.accessory, id, people)}</div>` : '';
          return `<div class="bk-section"><div class="bk-main">${text}${fields}</div>${accessory}</div>`;
        }
        case 'context':
          return `<div class="bk-context">${(block.elements ?? []).map((e) => element(e, id, people)).join(' ')}</div>`;
        case 'actions':
          return `<div class="bk-actions">${(block.elements ?? []).map((e) => element(e, id, people)).join('')}</div>`;
        case 'image':
          return `<div class="bk-image">[image: ${escapeHtml(block.alt_text ?? '')}]</div>`;
        default:
          return `<div class="bk-unsupported">[${escapeHtml(block?.type ?? 'unknown')} block]</div>`;
      }
    })
    .join('');
}

/**
 * A modal's input blocks as a form; `errors` (from the bot's response_action) sit under their
 * fields. Each control is labelled (label `for` its id) and marked invalid when it has an error.
 * Slack's client-side limits (min_length) are not enforced here, so the bot's own validation shows.
 */
export function renderModal(view, errors = {}, people = {}) {
  const fields = (view?.blocks ?? [])
    .map((block, index) => {
      const id = block.block_id ?? '';
      if (block.type !== 'input') return renderBlocks([block], people);
      const el = block.element ?? {};
      const error = own(errors, id);
      const controlId = `field-${index}`;
      const label = `<label class="field-label" for="${controlId}">${plainText(block.label)}${block.optional ? ' <span class="optional">(optional)</span>' : ''}</label>`;
      const name = `id="${controlId}" data-block="${escapeHtml(id)}" data-action="${escapeHtml(el.action_id ?? '')}" data-type="${escapeHtml(el.type ?? '')}"${
        error ? ` aria-invalid="true" aria-describedby="${controlId}-error"` : ''
      }`;
      let control;
      if (el.type === 'static_select') {
        const initial = el.initial_option?.value;
        const placeholder = initial === undefined ? `<option value="">${plainText(el.placeholder ?? { text: 'Choose an option' })}</option>` : '';
        control = `<select ${name}>${placeholder}${(el.options ?? [])
          .map((o) => `<option value="${escapeHtml(o.value)}"${o.value === initial ? ' selected' : ''}>${plainText(o.text ?? { text: o.value })}</option>`)
          .join('')}</select>`;
      } else if (el.type === 'plain_text_input') {
        const placeholder = el.placeholder?.text ? ` placeholder="${escapeHtml(el.placeholder.text)}"` : '';
        const attrs = `${name}${placeholder}${el.max_length ? ` maxlength="${Number(el.max_length)}"` : ''}`;
        control = el.multiline
          ? `<textarea ${attrs} rows="4">${escapeHtml(el.initial_value ?? '')}</textarea>`
          : `<input ${attrs} value="${escapeHtml(el.initial_value ?? '')}">`;
      } else {
        control = `<span class="bk-unsupported">[${escapeHtml(el.type ?? 'element')}]</span>`;
      }
      const hint = block.hint ? `<div class="hint">${plainText(block.hint)}</div>` : '';
      const errorHtml = error ? `<div class="field-error" id="${controlId}-error" role="alert">${escapeHtml(error)}</div>` : '';
      return `<div class="field${error ? ' has-error' : ''}" data-field="${escapeHtml(id)}">${label}${control}${hint}${errorHtml}</div>`;
    })
    .join('');
  return `<h2>${plainText(view?.title)}</h2><form class="modal-form">${fields}<div class="modal-buttons"><button type="button" class="close">${escapeHtml(
    view?.close?.text ?? 'Cancel',
  )}</button><button type="submit" class="submit primary">${escapeHtml(view?.submit?.text ?? 'Submit')}</button></div></form>`;
}

/**
 * The bot's Home tab: the blocks of the view it published for the person (views.publish), in a
 * container naming the view, so a click there is sent back as Slack sends a click in a Home.
 * Before the bot published one, the tab says so, as Slack shows an empty Home.
 */
export function renderHome(home, people = {}) {
  if (!home?.viewId) return '<p class="empty home-empty">The bot has not published a Home tab for you yet.</p>';
  return `<div class="home-view" data-view-id="${escapeHtml(home.viewId)}">${renderBlocks(home.view?.blocks, people)}</div>`;
}
