/**
 * One file: all its sections test the one module playground/web/render.ts, the mrkdwn, renderBlocks
 * and property sections share the textOf/assertSafeHtml checkers defined below, and the closing
 * property section re-checks for any text what the example sections check for chosen ones.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type Block, escapeHtml, mrkdwn, renderBlocks, renderHome, renderModal } from '../../playground/web/render.js';

const people = { U0JANE: 'Jane Doe', U0ALICE: 'Alice Admin' };

/** The text a browser would show for this HTML (tags dropped, entities decoded); enough for this renderer's output. */
function textOf(html: string): string {
  return html
    .replace(/<br>/g, '\n')
    .replace(/<[^>]*>/g, '')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&amp;/g, '&');
}

const TAGS = new Set(['a', 'blockquote', 'br', 'button', 'code', 'del', 'div', 'em', 'hr', 'p', 'pre', 'span', 'strong']);
const ATTRIBUTES = new Set(['class', 'href', 'target', 'rel', 'type', 'data-action-id', 'data-block-id', 'data-value', 'data-label', 'data-view-id']);
const TAG = /<(\/?)([a-zA-Z][a-zA-Z0-9]*)((?:\s+[a-zA-Z-]+(?:="[^"<>]*")?)*)\s*>/g;
const ATTRIBUTE = /\s+([a-zA-Z-]+)(?:="([^"]*)")?/g;

/**
 * Checks rendered HTML without a DOM: every `<` starts a well-formed tag from the renderer's own
 * small vocabulary, attributes are from a fixed list (so no `on…=` handler can appear; text such as
 * ` onerror=` inside a quoted, escaped value is only text), every
 * `href` is http(s), and no `<`, `>` or `"` is left outside tags (user text is fully escaped).
 */
function assertSafeHtml(html: string): void {
  expect(html).not.toMatch(/<script/i);
  expect(html).not.toMatch(/href\s*=\s*["']?\s*javascript:/i);
  for (const [, , name = '', attrs = ''] of html.matchAll(TAG)) {
    expect(TAGS.has(name.toLowerCase()), `tag <${name}>`).toBe(true);
    for (const [, attr = '', value = ''] of attrs.matchAll(ATTRIBUTE)) {
      expect(attr, 'event handler attribute').not.toMatch(/^on[a-z]+$/i);
      expect(ATTRIBUTES.has(attr.toLowerCase()), `attribute ${attr}`).toBe(true);
      if (attr.toLowerCase() === 'href') expect(value).toMatch(/^https?:\/\//i);
    }
  }
  const outside = html.replace(TAG, '');
  expect(outside).not.toMatch(/[<>"]/);
}

describe('mrkdwn', () => {
  it('renders *bold*, _italic_, ~strike~ and `code`', () => {
    const html = mrkdwn('*bold* _italic_ ~strike~ `code`');
    expect(html).toBe('<strong>bold</strong> <em>italic</em> <del>strike</del> <code>code</code>');
  });

  it('leaves marks inside words and unclosed marks alone', () => {
    expect(mrkdwn('snake_case_name and 2*3*4')).toBe('snake_case_name and 2*3*4');
    expect(mrkdwn('*not closed')).toBe('*not closed');
    expect(mrkdwn('* spaced *')).toBe('* spaced *');
  });

  it('does not format inside inline code', () => {
    expect(mrkdwn('`*not bold*`')).toBe('<code>*not bold*</code>');
  });

  it('renders ```preformatted``` blocks, on one line or several, unformatted and escaped', () => {
    expect(mrkdwn('```pre```')).toBe('<pre>pre</pre>');
    const html = mrkdwn('before\n```\n*x* &lt;b&gt;\nline 2\n```\nafter *bold*');
    expect(html).toBe('before<pre>*x* &lt;b&gt;\nline 2</pre>after <strong>bold</strong>');
  });

  it('shows an unclosed ``` as typed', () => {
    expect(textOf(mrkdwn('a ``` b'))).toBe('a ``` b');
  });

  it('renders > quotes (as Slack sends them, &gt;) and >>> for the rest of the text', () => {
    expect(mrkdwn('&gt; quoted\n&gt; still\nplain')).toBe('<blockquote>quoted<br>still</blockquote>plain');
    expect(mrkdwn('> raw quote')).toBe('<blockquote>raw quote</blockquote>');
    expect(mrkdwn('intro\n&gt;&gt;&gt; all\nof this')).toBe('intro<blockquote>all<br>of this</blockquote>');
  });

  it('keeps line breaks', () => {
    expect(mrkdwn('one\ntwo\n\nthree')).toBe('one<br>two<br><br>three');
  });

  it('shows <@U…> as the person’s name from the people map', () => {
    const html = mrkdwn('for <@U0JANE>', people);
    expect(html).toContain('<span class="mention">@Jane Doe</span>');
    expect(html).not.toContain('U0JANE');
  });

  it('falls back to the mention’s label, then its id, for unknown people', () => {
    expect(textOf(mrkdwn('<@U0NOBODY|nobody>', people))).toBe('@nobody');
    expect(textOf(mrkdwn('<@U0NOBODY>', people))).toBe('@U0NOBODY');
    // Inherited properties are not people.
    expect(textOf(mrkdwn('<@constructor> <@__proto__>', people))).toBe('@constructor @__proto__');
  });

  it('shows <#C…|name> as #name', () => {
    expect(mrkdwn('in <#C0BILLINGADMINS|billing-admins>')).toBe('in <span class="mention">#billing-admins</span>');
  });

  it('shows <!channel>, <!here> and <!everyone> as text, not a ping', () => {
    const html = mrkdwn('<!channel> <!here> <!everyone>');
    expect(textOf(html)).toBe('@channel @here @everyone');
    expect(html).not.toContain('<!');
    expect(html).not.toMatch(/<a\s/);
  });

  it('renders <https://…|label> as a link that opens safely', () => {
    const html = mrkdwn('see <https://example.com/x?a=1&amp;b=2|the &amp; docs>');
    expect(html).toBe('see <a href="https://example.com/x?a=1&amp;b=2" target="_blank" rel="noopener noreferrer">the &amp; docs</a>');
    expect(mrkdwn('<http://example.com>')).toContain('<a href="http://example.com" target="_blank" rel="noopener noreferrer">http://example.com</a>');
  });

  it.each([
    ['javascript:alert(1)'],
    ['JavaScript:alert(document.cookie)'],
    ['data:text/html;base64,PHNjcmlwdD4='],
    ['vbscript:msgbox(1)'],
    ['mailto:jane@example.com'],
    ['file:///etc/passwd'],
    [' javascript:alert(1)'],
  ])('never makes a link of %s', (url) => {
    for (const text of [`<${url}|click me>`, `<${url}>`]) {
      const html = mrkdwn(text);
      expect(html).not.toMatch(/<a\s/);
      expect(html).not.toMatch(/href/);
      assertSafeHtml(html);
    }
    if (!url.startsWith(' ')) expect(textOf(mrkdwn(`<${url}|click me>`))).toBe('click me');
  });

  it('shows the fallback of <!date^…|fallback>', () => {
    expect(mrkdwn('expires <!date^1700000000^{date_short} {time}|Nov 14, 2023 22:13 UTC>')).toBe('expires Nov 14, 2023 22:13 UTC');
  });

  it('shows Slack entities as the characters they stand for, escaped for HTML', () => {
    const html = mrkdwn('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(html).toContain('&lt;script&gt;');
    expect(html).not.toContain('<script');
    expect(textOf(html)).toBe('<script>alert(1)</script>');
  });

  it('shows &amp; as &', () => {
    expect(mrkdwn('R&amp;D &amp;amp;')).toBe('R&amp;D &amp;amp;');
    expect(textOf(mrkdwn('R&amp;D &amp;amp;'))).toBe('R&D &amp;');
  });

  it('shows raw angle text that is not a Slack construct literally', () => {
    const html = mrkdwn('<script>alert(1)</script> <img src=x onerror=alert(1)>');
    expect(html).not.toContain('<script');
    expect(html).not.toContain('<img');
    expect(textOf(html)).toBe('<script>alert(1)</script> <img src=x onerror=alert(1)>');
  });

  it('keeps bold across a mention', () => {
    expect(mrkdwn('*request: <@U0JANE> for read-only*', people)).toBe('<strong>request: <span class="mention">@Jane Doe</span> for read-only</strong>');
  });

  it('renders the emoji shortcodes the bot uses and leaves unknown ones', () => {
    expect(mrkdwn(':white_check_mark: done :warning: :hourglass_flowing_sand: :no_entry: :x:')).toBe('✅ done ⚠️ ⏳ ⛔ ❌');
    expect(mrkdwn(':not_an_emoji: :constructor: :__proto__:')).toBe(':not_an_emoji: :constructor: :__proto__:');
  });

  it('does not turn times or IAM ARNs into emoji', () => {
    expect(mrkdwn('at 19:33 UTC, arn:aws:iam::123456789012:user/jane')).toBe('at 19:33 UTC, arn:aws:iam::123456789012:user/jane');
  });

  it('handles empty and missing text', () => {
    expect(mrkdwn('')).toBe('');
    expect(mrkdwn(undefined)).toBe('');
  });

  it('escapes quotes so text cannot break out of an attribute', () => {
    expect(escapeHtml(`"'<>&`)).toBe('&quot;&#39;&lt;&gt;&amp;');
  });
});

describe('renderBlocks', () => {
  it('renders a header as escaped plain text', () => {
    expect(renderBlocks([{ type: 'header', text: { type: 'plain_text', text: 'Billing <access> summary' } }])).toBe(
      '<div class="bk-header">Billing &lt;access&gt; summary</div>',
    );
  });

  it('renders a section with text, fields and an accessory button', () => {
    const html = renderBlocks(
      [
        {
          type: 'section',
          block_id: 'who',
          text: { type: 'mrkdwn', text: '*Request* for <@U0JANE>' },
          fields: [
            { type: 'mrkdwn', text: '*Level*\nread-only' },
            { type: 'plain_text', text: '7 days <b>' },
          ],
          accessory: { type: 'button', action_id: 'billing_revoke', value: 'REQ1', text: { type: 'plain_text', text: 'Revoke' }, style: 'danger' },
        },
      ],
      people,
    );
    expect(html).toContain('<div class="bk-text"><strong>Request</strong> for <span class="mention">@Jane Doe</span></div>');
    expect(html).toContain('<div class="bk-fields"><div><strong>Level</strong><br>read-only</div><div>7 days &lt;b&gt;</div></div>');
    expect(html).toMatch(
      /<div class="bk-accessory"><button type="button" class="bk-button danger" data-action-id="billing_revoke" data-block-id="who" data-value="REQ1"[^>]*>Revoke<\/button><\/div>/,
    );
  });

  it('renders context elements and a divider', () => {
    const html = renderBlocks([
      {
        type: 'context',
        elements: [
          { type: 'mrkdwn', text: 'Pending · id `REQ1`' },
          { type: 'plain_text', text: 'dry-run' },
        ],
      },
      { type: 'divider' },
    ]);
    expect(html).toBe('<div class="bk-context"><span>Pending · id <code>REQ1</code></span> <span>dry-run</span></div><hr class="bk-divider">');
  });

  it('renders actions as buttons carrying action_id, block_id, value and label, all escaped', () => {
    const html = renderBlocks([
      {
        type: 'actions',
        block_id: 'actions_REQ1',
        elements: [
          { type: 'button', action_id: 'billing_approve', value: 'REQ1', style: 'primary', text: { type: 'plain_text', text: 'Approve' } },
          { type: 'button', action_id: 'billing_deny', value: 'a"b<c>', text: { type: 'plain_text', text: '<img src=x onerror=alert(1)>' } },
        ],
      },
    ]);
    expect(html).toContain(
      '<button type="button" class="bk-button primary" data-action-id="billing_approve" data-block-id="actions_REQ1" data-value="REQ1" data-label="Approve">Approve</button>',
    );
    expect(html).toContain('data-value="a&quot;b&lt;c&gt;"');
    expect(html).toContain('data-label="&lt;img src=x onerror=alert(1)&gt;">&lt;img src=x onerror=alert(1)&gt;</button>');
    expect(html).not.toContain('<img');
    assertSafeHtml(html);
  });

  it('shows unknown blocks as a placeholder, escaped', () => {
    expect(renderBlocks([{ type: '<video>' }])).toBe('<div class="bk-unsupported">[&lt;video&gt; block]</div>');
    expect(renderBlocks(undefined)).toBe('');
  });
});

describe('renderHome', () => {
  /** A Home as the bot publishes it: a grant with Done, a request, the Request button; an admin's pending request. */
  const home = {
    viewId: 'V0000000007',
    view: {
      type: 'home',
      blocks: [
        { type: 'header', text: { type: 'plain_text', text: 'Your billing access' } },
        {
          type: 'section',
          block_id: 'grant_REQ1',
          text: { type: 'mrkdwn', text: '*read-only* until <!date^1700600000^{date_short}|Nov 21>' },
          accessory: { type: 'button', action_id: 'home_done', value: 'REQ1', text: { type: 'plain_text', text: 'Done' } },
        },
        {
          type: 'actions',
          block_id: 'home_request',
          elements: [{ type: 'button', action_id: 'home_request', style: 'primary', text: { type: 'plain_text', text: 'Request' } }],
        },
        {
          type: 'section',
          block_id: 'pending_REQ2',
          text: { type: 'mrkdwn', text: '<@U0JANE> asks for *full*: <b>why</b>' },
          accessory: { type: 'button', action_id: 'home_approve', value: 'REQ2', text: { type: 'plain_text', text: 'Approve' } },
        },
      ],
    },
  };

  it('renders the published blocks inside a container naming the view, with each button’s action, block and value', () => {
    const html = renderHome(home, people);
    expect(html.startsWith('<div class="home-view" data-view-id="V0000000007">')).toBe(true);
    expect(html.endsWith('</div>')).toBe(true);
    // The same blocks a message would show, so a Home and a message look alike.
    expect(html).toBe(`<div class="home-view" data-view-id="V0000000007">${renderBlocks(home.view.blocks as Block[], people)}</div>`);
    expect(html).toContain('data-action-id="home_done" data-block-id="grant_REQ1" data-value="REQ1" data-label="Done">Done</button>');
    expect(html).toContain('class="bk-button primary" data-action-id="home_request" data-block-id="home_request" data-value="" data-label="Request"');
    expect(textOf(html)).toContain('@Jane Doe asks for full: <b>why</b>');
    expect(textOf(html)).toContain('read-only until Nov 21');
    assertSafeHtml(html);
  });

  it('says when the bot has not published a Home for the person yet', () => {
    for (const missing of [null, undefined]) {
      const html = renderHome(missing);
      expect(textOf(html)).toBe('The bot has not published a Home tab for you yet.');
      expect(html).not.toContain('home-view');
      assertSafeHtml(html);
    }
  });

  it('escapes the view id so it cannot break out of its attribute', () => {
    const html = renderHome({ viewId: 'V1" onclick="alert(1)', view: { type: 'home', blocks: [] } });
    expect(html).toBe('<div class="home-view" data-view-id="V1&quot; onclick=&quot;alert(1)"></div>');
    assertSafeHtml(html);
  });
});

describe('renderModal', () => {
  const view = {
    type: 'modal',
    title: { type: 'plain_text' as const, text: 'Billing access' },
    submit: { type: 'plain_text' as const, text: 'Request' },
    close: { type: 'plain_text' as const, text: 'Cancel' },
    blocks: [
      {
        type: 'input',
        block_id: 'level',
        label: { type: 'plain_text', text: 'Access level' },
        element: {
          type: 'static_select',
          action_id: 'level_select',
          options: [
            { text: { type: 'plain_text', text: 'read-only (BillingReadOnly)' }, value: 'read-only' },
            { text: { type: 'plain_text', text: 'full (BillingFull)' }, value: 'full' },
          ],
          initial_option: { text: { type: 'plain_text', text: 'full (BillingFull)' }, value: 'full' },
        },
      },
      {
        type: 'input',
        block_id: 'justification',
        label: { type: 'plain_text', text: 'Justification' },
        hint: { type: 'plain_text', text: 'Why you need it, 10 to 500 characters.' },
        element: { type: 'plain_text_input', action_id: 'justification_input', multiline: true, min_length: 10, max_length: 500 },
      },
      {
        type: 'input',
        block_id: 'reason',
        optional: true,
        label: { type: 'plain_text', text: 'Reason <i>' },
        element: { type: 'plain_text_input', action_id: 'reason_input', initial_value: '"quoted" <b>' },
      },
    ] as Block[],
  };

  it('renders the title, the controls and the submit and close buttons', () => {
    const html = renderModal(view);
    expect(html.startsWith('<h2>Billing access</h2><form class="modal-form">')).toBe(true);
    expect(html).toContain('<button type="button" class="close">Cancel</button><button type="submit" class="submit primary">Request</button>');
  });

  it('renders a static_select with its initial option selected', () => {
    const html = renderModal(view);
    expect(html).toMatch(/<select id="field-0" data-block="level" data-action="level_select" data-type="static_select">/);
    expect(html).toContain('<option value="read-only">read-only (BillingReadOnly)</option>');
    expect(html).toContain('<option value="full" selected>full (BillingFull)</option>');
    expect(html).toContain('<label class="field-label" for="field-0">Access level</label>');
  });

  it('offers an empty choice when a select has no initial option, as Slack shows a placeholder', () => {
    const html = renderModal({
      blocks: [
        {
          type: 'input',
          block_id: 'b',
          label: { type: 'plain_text', text: 'Pick' },
          element: {
            type: 'static_select',
            action_id: 'a',
            placeholder: { type: 'plain_text', text: 'Choose a level' },
            options: [{ text: { type: 'plain_text', text: 'x' }, value: 'x' }],
          },
        },
      ],
    });
    expect(html).toContain('<option value="">Choose a level</option><option value="x">x</option>');
  });

  it('renders a multiline plain_text_input as a textarea with its limit and hint, without enforcing min_length', () => {
    const html = renderModal(view);
    expect(html).toContain(
      '<textarea id="field-1" data-block="justification" data-action="justification_input" data-type="plain_text_input" maxlength="500" rows="4"></textarea>',
    );
    expect(html).toContain('<div class="hint">Why you need it, 10 to 500 characters.</div>');
    expect(html).not.toContain('minlength');
  });

  it('marks an optional field and escapes labels and initial values', () => {
    const html = renderModal(view);
    expect(html).toContain('<label class="field-label" for="field-2">Reason &lt;i&gt; <span class="optional">(optional)</span></label>');
    expect(html).toContain('value="&quot;quoted&quot; &lt;b&gt;"');
    expect(html).not.toContain('<i>');
  });

  it('shows each error under its own field, escaped, and marks that control invalid', () => {
    const html = renderModal(view, { justification: 'Give at least <10> characters.' });
    const field = html.match(/<div class="field has-error" data-field="justification">.*?<\/div><\/div>/)?.[0] ?? '';
    expect(field).toContain('aria-invalid="true"');
    expect(field).toContain('<div class="field-error" id="field-1-error" role="alert">Give at least &lt;10&gt; characters.</div>');
    expect(html.match(/field-error/g)).toHaveLength(1);
    expect(html).toContain('<div class="field" data-field="level">');
    expect(html).toContain('<div class="field" data-field="reason">');
  });

  it('ignores errors that do not name a field, including inherited names', () => {
    const html = renderModal(view, { nowhere: 'x' });
    expect(html).not.toContain('field-error');
    const inherited = renderModal({
      blocks: [{ type: 'input', block_id: 'constructor', label: { type: 'plain_text', text: 'L' }, element: { type: 'plain_text_input', action_id: 'a' } }],
    });
    expect(inherited).not.toContain('field-error');
  });

  it('renders non-input blocks of a modal as message blocks', () => {
    const html = renderModal(
      { title: { type: 'plain_text', text: 'T' }, blocks: [{ type: 'section', text: { type: 'mrkdwn', text: 'For <@U0JANE>' } }] },
      {},
      people,
    );
    expect(html).toContain('@Jane Doe');
  });
});

describe('rendering is safe for any text', () => {
  // Characters and fragments that matter to the renderer, mixed with arbitrary text.
  const fragment = fc.oneof(
    fc.string(),
    fc.constantFrom(
      '<',
      '>',
      '&',
      '&lt;',
      '&gt;',
      '&amp;',
      '"',
      "'",
      '|',
      '*',
      '_',
      '~',
      '`',
      '```',
      '\n',
      ' ',
      ':',
      'x',
      '0',
      '!',
      '@',
      '#',
      '&gt;&gt;&gt;',
      'script',
      '<script>',
      '&lt;script&gt;',
      ' onerror=',
      ' onclick=alert(1)',
      'javascript:',
      'JaVaScRiPt:alert(1)',
      'https://',
      'http://x',
      'data:',
      '<@U0JANE>',
      '<!channel>',
      '<#C1|c>',
      '<!date^1^x|y>',
      '<https://e.com|l>',
      '<javascript:alert(1)|x>',
      ':white_check_mark:',
      ':constructor:',
      '\uE000',
      '\uE001',
      '\uE0010\uE001',
      '\uE0000\uE000',
      '"><img src=x onerror=alert(1)>',
    ),
  );
  const text = fc.array(fragment, { maxLength: 30 }).map((parts) => parts.join(''));

  it('mrkdwn(s) has no script, no event handler attribute and no javascript: href', () => {
    fc.assert(
      fc.property(text, (s) => {
        assertSafeHtml(mrkdwn(s, people));
      }),
      { numRuns: 2000 },
    );
  });

  it('a section with mrkdwn s renders safely too', () => {
    fc.assert(
      fc.property(text, (s) => {
        assertSafeHtml(renderBlocks([{ type: 'section', text: { type: 'mrkdwn', text: s } }], people));
      }),
      { numRuns: 1000 },
    );
  });

  it('shows the characters of entity-escaped text as they were typed', () => {
    // What the bot posts for user text: &, < and > as entities, no other markup.
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom('<', '>', '&', 'a', ' ', '"', "'", 's', '/', '=') }), (typed) => {
        const slackText = typed.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
        // A leading > (or >>>) quotes the line instead of being shown.
        expect(textOf(mrkdwn(slackText))).toBe(typed.replace(/^(>>>|>) ?/, ''));
      }),
      { numRuns: 500 },
    );
  });
});
