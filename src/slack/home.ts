/**
 * The App Home tab: a pure builder from what the viewer may see. Everyone sees their active
 * grants (each with Done), their recent requests and a Request button; admins also see the
 * pending requests (Approve, Deny) and every active grant (Revoke), with the same action ids
 * and values as the admin channel's buttons. Past Slack's 100 blocks the view says how many
 * more there are, in the admin channel.
 */
import type { HomeView, KnownBlock } from '@slack/types';
import type { AccessRequest } from '../domain/request.js';
import type { HomeData } from '../services/home-service.js';
import { escapeMrkdwn, mention, truncate } from './escape.js';
import { ACTION, VIEW } from './ids.js';
import { slackDate, statusLine } from './messages.js';

/** Slack's limit for a Home view. */
export const HOME_MAX_BLOCKS = 100;

type Label = 'Approve' | 'Deny' | 'Revoke' | 'Done' | 'Request';

function button(label: Label, actionId: string, value: string, style?: 'primary' | 'danger') {
  return { type: 'button' as const, text: { type: 'plain_text' as const, text: label }, action_id: actionId, value, ...(style ? { style } : {}) };
}

const section = (text: string): KnownBlock => ({ type: 'section', text: { type: 'mrkdwn', text: truncate(text, 3000) } });
const heading = (text: string): KnownBlock => ({ type: 'header', text: { type: 'plain_text', text } });
const note = (text: string): KnownBlock => ({ type: 'context', elements: [{ type: 'mrkdwn', text: truncate(text, 3000) }] });

const expiry = (r: AccessRequest) => (r.expiresAt ? `expires ${slackDate(r.expiresAt)}` : 'no expiry recorded');

/** The blocks of one listed item: they are shown together or not at all. */
interface Item {
  blocks: KnownBlock[];
}

function ownGrantItem(grant: AccessRequest): Item {
  return {
    blocks: [
      {
        type: 'section',
        text: { type: 'mrkdwn', text: `*${grant.level}* (\`${escapeMrkdwn(grant.groupName)}\`), ${expiry(grant)} · id \`${grant.id}\`` },
        accessory: button('Done', ACTION.homeDone, grant.id),
      },
    ],
  };
}

function pendingItem(request: AccessRequest): Item {
  const kind = request.extendsRequestId ? ' (extension)' : '';
  const text = `${mention(request.requesterId)} for *${request.level}*${kind}, ${request.durationDays}d, IAM user \`${escapeMrkdwn(request.iamUserName)}\` · id \`${request.id}\`\n>${truncate(escapeMrkdwn(request.justification), 300).replace(/\n/g, ' ')}\n${statusLine(request)}`;
  return {
    blocks: [
      section(text),
      {
        type: 'actions',
        block_id: `home_pending_${request.id}`,
        elements: [button('Approve', ACTION.approve, request.id, 'primary'), button('Deny', ACTION.deny, request.id, 'danger')],
      },
    ],
  };
}

function activeItem(grant: AccessRequest): Item {
  return {
    blocks: [
      {
        type: 'section',
        text: {
          type: 'mrkdwn',
          text: `${mention(grant.requesterId)} *${grant.level}* (\`${escapeMrkdwn(grant.iamUserName)}\`), ${expiry(grant)}${grant.breakGlass ? ' · break-glass' : ''} · id \`${grant.id}\``,
        },
        accessory: button('Revoke', ACTION.revoke, grant.id, 'danger'),
      },
    ],
  };
}

function recentLine(request: AccessRequest): string {
  return `\`${request.id}\` *${request.level}*: ${statusLine(request)}`;
}

/** Everything in order: headings are single-block parts; items count towards "more". */
function parts(data: HomeData): Array<{ heading: KnownBlock } | { item: Item }> {
  const out: Array<{ heading: KnownBlock } | { item: Item }> = [];
  const head = (block: KnownBlock) => out.push({ heading: block });
  const items = (list: Item[]) => {
    for (const item of list) out.push({ item });
  };
  head(heading('Your billing access'));
  if (data.ownGrants.length === 0) head(note('You hold no billing access right now.'));
  items(data.ownGrants.map(ownGrantItem));
  head({
    type: 'actions',
    block_id: 'home_request',
    elements: [button('Request', ACTION.homeRequest, 'request', 'primary')],
  });
  head(heading('Your recent requests'));
  head(data.recent.length ? section(data.recent.map(recentLine).join('\n')) : note('No requests yet.'));
  if (data.admin) {
    head({ type: 'divider' });
    head(heading('Pending requests'));
    if (data.admin.pending.length === 0) head(note('Nothing waits for a decision.'));
    items(data.admin.pending.map(pendingItem));
    head(heading('Active grants'));
    if (data.admin.active.length === 0) head(note('Nobody holds billing access.'));
    items(data.admin.active.map(activeItem));
  }
  return out;
}

/** The Home view for `data`, never more than HOME_MAX_BLOCKS blocks. */
export function homeView(data: HomeData): HomeView {
  const blocks: KnownBlock[] = data.notice ? [note(`:warning: ${escapeMrkdwn(data.notice)}`)] : [];
  const all = parts(data);
  // One block stays free for the line that says what was left out.
  const room = HOME_MAX_BLOCKS - 1;
  let cutAt = all.length;
  for (let i = 0; i < all.length; i++) {
    const part = all[i] as (typeof all)[number];
    const size = 'item' in part ? part.item.blocks.length : 1;
    if (blocks.length + size > room) {
      cutAt = i;
      break;
    }
    if ('item' in part) blocks.push(...part.item.blocks);
    else blocks.push(part.heading);
  }
  const left = all.slice(cutAt).filter((p) => 'item' in p).length;
  if (cutAt < all.length) {
    const more = left > 0 ? `…and ${left} more in the admin channel` : 'More in the admin channel';
    blocks.push(note(`${more} <#${data.adminChannelId}> (your own requests: \`/request-billing status\`).`));
  }
  return { type: 'home', callback_id: VIEW.home, blocks };
}
