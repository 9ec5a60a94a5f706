// Block Kit and mrkdwn to HTML, following Slack's rules. Pure functions: the page and the
// unit tests import the same module. Every piece of text is HTML-escaped before any markup
// is added, so nothing a requester types can become script or markup in the page.

const HTML_ESCAPES = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(text) {
  return String(text).replace(/[&<>"']/g, (c) => HTML_ESCAPES[c]);
}

/** Slack sends `&amp;`, `&lt;`, `&gt;` in message text; they stand for the characters. */
function decodeSlackEntities(text) {
  return text.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
}

function safeUrl(url) {
  return /^(https?:\/\/|mailto:)/i.test(url) ? url : null;
}

/** Bold, italic, strike and inline code on already-escaped text, at word boundaries as Slack does. */
function inlineFormat(escaped) {
  const codes = [];
  let out = escaped.replace(/`([^`\n]+)`/g, (_, code) => {
    codes.push(code);
    return `\uE000${codes.length - 1}\uE000`;
  });
  out = out
    .replace(/(^|[\s(>])\*(?!\s)([^*\n]+?)\*(?=$|[\s).,!?:;<])/g, '$1<strong>$2</strong>')
    .replace(/(^|[\s(>])_(?!\s)([^_\n]+?)_(?=$|[\s).,!?:;<])/g, '$1<em>$2</em>')
    .replace(/(^|[\s(>])~(?!\s)([^~\n]+?)~(?=$|[\s).,!?:;<])/g, '$1<del>$2</del>');
  return out.replace(/\uE000(\d+)\uE000/g, (_, i) => `<code>${codes[Number(i)]}</code>`);
}

/**
 * One `<…>` construct: a user, channel or special mention, a date, or a link. Anything else is
 * shown as the literal text it is.
 */
function angle(inner, people) {
  const [target, label] = splitOnce(inner, '|');
  if (target.startsWith('@')) {
    const id = target.slice(1);
    const name = people?.[id] ?? label ?? id;
    return `<span class="mention">@${escapeHtml(name)}</span>`;
  }
  if (target.startsWith('#')) return `<span class="mention">#${escapeHtml(label ?? target.slice(1))}</span>`;
  if (target.startsWith('!date^')) return escapeHtml(label ?? target);
  if (target.startsWith('!')) return `<span class="mention">@${escapeHtml(target.slice(1).split('^')[0])}</span>`;
  const url = safeUrl(target);
  if (!url) return escapeHtml(`<${inner}>`);
  return `<a href="${escapeHtml(url)}" target="_blank" rel="noopener noreferrer">${escapeHtml(label ?? url)}</a>`;
}

function splitOnce(text, sep) {
  const at = text.indexOf(sep);
  return at < 0 ? [text, undefined] : [text.slice(0, at), text.slice(at + 1)];
}

/** mrkdwn text (as Slack stores it, entities escaped) to safe HTML. */
export function mrkdwn(text, people = {}) {
  const source = String(text ?? '');
  const lines = [];
  let inPre = false;
  let pre = [];
  for (const line of source.split('\n')) {
    if (line.trim().startsWith('```')) {
      if (inPre) {
        lines.push(`<pre>${pre.map((l) => escapeHtml(decodeSlackEntities(l))).join('\n')}</pre>`);
        pre = [];
      }
      inPre = !inPre;
      const rest = line.trim().slice(3).replace(/```$/, '');
      if (rest) (inPre ? pre : lines).push(inPre ? rest : escapeHtml(rest));
      continue;
    }
    if (inPre) {
      pre.push(line);
      continue;
    }
    const quote = line.startsWith('&gt;') || line.startsWith('>');
    const body = quote ? line.replace(/^(&gt;|>)\s?/, '') : line;
    const html = renderLine(body, people);
    lines.push(quote ? `<blockquote>${html}</blockquote>` : html);
  }
  if (inPre) lines.push(`<pre>${pre.map((l) => escapeHtml(decodeSlackEntities(l))).join('\n')}</pre>`);
  return lines.join('<br>').replace(/<\/blockquote><br><blockquote>/g, '<br>');
}

/** Emoji shortcodes the bot uses, shown as Slack shows them. */
const EMOJI = {
  white_check_mark: '✅',
  warning: '⚠️',
  grey_question: '?',
  no_entry: '⛔',
  hourglass_flowing_sand: '⏳',
  rotating_light: '🚨',
  bell: '🔔',
  x: '❌',
};

/**
 * One line: `<…>` constructs become placeholders first, so *bold* and _italic_ can span a
 * mention as in Slack; the rest is decoded, HTML-escaped, then formatted.
 */
function renderLine(line, people) {
  const pieces = [];
  const withHoles = line.replace(/<([^<>]*)>/g, (_, inner) => {
    pieces.push(angle(inner, people));
    return `\uE001${pieces.length - 1}\uE001`;
  });
  const escaped = escapeHtml(decodeSlackEntities(withHoles)).replace(/:([a-z_]+):/g, (whole, name) => EMOJI[name] ?? whole);
  return inlineFormat(escaped).replace(/\uE001(\d+)\uE001/g, (_, i) => pieces[Number(i)]);
}

function textObject(obj, people) {
  if (!obj) return '';
  return obj.type === 'mrkdwn' ? mrkdwn(obj.text, people) : escapeHtml(obj.text ?? '');
}

/** A button's data attributes are all the page needs to send the click back as Slack would. */
function button(el, blockId) {
  const style = el.style === 'primary' ? ' primary' : el.style === 'danger' ? ' danger' : '';
  return `<button class="bk-button${style}" data-action-id="${escapeHtml(el.action_id ?? '')}" data-block-id="${escapeHtml(blockId ?? '')}" data-value="${escapeHtml(
    el.value ?? '',
  )}" data-label="${escapeHtml(el.text?.text ?? '')}">${escapeHtml(el.text?.text ?? '')}</button>`;
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
  return (blocks ?? [])
    .map((block) => {
      const id = block.block_id ?? '';
      switch (block.type) {
        case 'header':
          return `<div class="bk-header">${escapeHtml(block.text?.text ?? '')}</div>`;
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
          return `<div class="bk-unsupported">[${escapeHtml(block.type)} block]</div>`;
      }
    })
    .join('');
}

/** A modal's input blocks as a form; `errors` (from the bot's response_action) sit under their fields. */
export function renderModal(view, errors = {}) {
  const fields = (view.blocks ?? [])
    .map((block) => {
      const id = block.block_id ?? '';
      if (block.type !== 'input') return renderBlocks([block]);
      const el = block.element ?? {};
      const label = `<label class="field-label">${escapeHtml(block.label?.text ?? '')}${block.optional ? ' <span class="optional">(optional)</span>' : ''}</label>`;
      const name = `data-block="${escapeHtml(id)}" data-action="${escapeHtml(el.action_id ?? '')}" data-type="${escapeHtml(el.type ?? '')}"`;
      let control;
      if (el.type === 'static_select') {
        const initial = el.initial_option?.value;
        control = `<select ${name}>${(el.options ?? [])
          .map((o) => `<option value="${escapeHtml(o.value)}"${o.value === initial ? ' selected' : ''}>${escapeHtml(o.text?.text ?? o.value)}</option>`)
          .join('')}</select>`;
      } else if (el.type === 'plain_text_input') {
        const attrs = `${name}${el.max_length ? ` maxlength="${Number(el.max_length)}"` : ''}`;
        control = el.multiline
          ? `<textarea ${attrs} rows="4">${escapeHtml(el.initial_value ?? '')}</textarea>`
          : `<input ${attrs} value="${escapeHtml(el.initial_value ?? '')}">`;
      } else {
        control = `<span class="bk-unsupported">[${escapeHtml(el.type ?? 'element')}]</span>`;
      }
      const hint = block.hint ? `<div class="hint">${escapeHtml(block.hint.text ?? '')}</div>` : '';
      const error = errors[id] ? `<div class="field-error" role="alert">${escapeHtml(errors[id])}</div>` : '';
      return `<div class="field${errors[id] ? ' has-error' : ''}">${label}${control}${hint}${error}</div>`;
    })
    .join('');
  return `<h2>${escapeHtml(view.title?.text ?? '')}</h2><form class="modal-form">${fields}<div class="modal-buttons"><button type="button" class="close">${escapeHtml(
    view.close?.text ?? 'Cancel',
  )}</button><button type="submit" class="submit primary">${escapeHtml(view.submit?.text ?? 'Submit')}</button></div></form>`;
}
