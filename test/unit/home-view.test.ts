/**
 * The App Home view builder: what each viewer sees, the exact button labels and action ids (the
 * admin channel's for Approve, Deny and Revoke), Slack's 100-block limit with the line that says
 * what was left out, and user text escaped. Published views pass the Slack stand-in's checks.
 */
import { describe, expect, it } from 'vitest';
import { validateView } from '../../playground/block-kit.js';
import type { AccessRequest } from '../../src/domain/request.js';
import type { HomeData } from '../../src/services/home-service.js';
import { HOME_MAX_BLOCKS, homeView } from '../../src/slack/home.js';
import { ACTION, VIEW } from '../../src/slack/ids.js';
import { buildRequest } from '../support/requests.js';

const VIEWER = 'U0EMPLOYEE';
const ADMIN_CHANNEL = 'CADMIN';
const EXPIRES = '2030-01-14T09:00:00.000Z';

type Block = {
  type: string;
  text?: { text: string };
  elements?: { type: string; text: string | { text: string }; action_id?: string; value?: string }[];
  accessory?: Button;
};
type Button = { type: string; text: { text: string }; action_id: string; value: string };

function buttons(blocks: readonly unknown[]): Button[] {
  const found: Button[] = [];
  for (const block of blocks as Block[]) {
    if (block.accessory?.type === 'button') found.push(block.accessory);
    if (block.type === 'actions') for (const el of block.elements ?? []) if (el.type === 'button') found.push(el as unknown as Button);
  }
  return found;
}

const active = (overrides: Partial<AccessRequest> = {}) =>
  buildRequest({ status: 'ACTIVE', expiresAt: EXPIRES, approvals: [{ by: 'U0ADMIN1', at: EXPIRES }], ...overrides });
const data = (overrides: Partial<HomeData> = {}): HomeData => ({ viewerId: VIEWER, adminChannelId: ADMIN_CHANNEL, ownGrants: [], recent: [], ...overrides });

describe('homeView', () => {
  it('shows an employee their grant with Done, their recent requests and Request, and no admin part', () => {
    const grant = active();
    const view = homeView(data({ ownGrants: [grant], recent: [grant, buildRequest({ status: 'CANCELLED' })] }));
    expect(view.type).toBe('home');
    expect(view.callback_id).toBe(VIEW.home);
    expect(buttons(view.blocks).map((b) => [b.text.text, b.action_id, b.value])).toEqual([
      ['Done', ACTION.homeDone, grant.id],
      ['Request', ACTION.homeRequest, 'request'],
    ]);
    const text = JSON.stringify(view.blocks);
    expect(text).toContain('Cancelled by the requester');
    expect(text).toContain(grant.id);
    expect(text).not.toContain('Pending requests');
    expect(validateView(view, 'home')).toBeNull();
  });

  it('says so when the viewer holds nothing and asked for nothing', () => {
    const text = JSON.stringify(homeView(data()).blocks);
    expect(text).toContain('You hold no billing access right now.');
    expect(text).toContain('No requests yet.');
  });

  it('gives admins Approve and Deny on pending requests and Revoke on active grants, with the admin channel’s action ids', () => {
    const pending = buildRequest({ requesterId: 'U0OTHER', justification: '<!channel> & <@U0BOSS> please' });
    const grant = active({ requesterId: 'U0OTHER' });
    const view = homeView(data({ admin: { pending: [pending], active: [grant] } }));
    expect(buttons(view.blocks).map((b) => [b.text.text, b.action_id, b.value])).toEqual([
      ['Request', ACTION.homeRequest, 'request'],
      ['Approve', ACTION.approve, pending.id],
      ['Deny', ACTION.deny, pending.id],
      ['Revoke', ACTION.revoke, grant.id],
    ]);
    const text = JSON.stringify(view.blocks);
    expect(text).toContain('&lt;!channel&gt; &amp; &lt;@U0BOSS&gt;');
    expect(text).not.toContain('<!channel>');
    expect(validateView(view, 'home')).toBeNull();
  });

  it('stays within 100 blocks and ends with how many more are in the admin channel', () => {
    const pending = Array.from({ length: 80 }, (_, i) =>
      buildRequest({ requesterId: `U0P${i}`, createdAt: new Date(Date.UTC(2030, 0, 1, 0, i)).toISOString() }),
    );
    const grants = Array.from({ length: 30 }, (_, i) => active({ requesterId: `U0G${i}` }));
    const view = homeView(data({ ownGrants: [active()], admin: { pending, active: grants } }));

    expect(view.blocks.length).toBeLessThanOrEqual(HOME_MAX_BLOCKS);
    expect(validateView(view, 'home')).toBeNull();
    const shownPending = buttons(view.blocks).filter((b) => b.text.text === 'Approve').length;
    const shownGrants = buttons(view.blocks).filter((b) => b.text.text === 'Revoke').length;
    expect(shownPending).toBeGreaterThan(0);
    expect(shownPending).toBeLessThan(80);
    // Each pending request keeps its Approve and Deny together.
    expect(buttons(view.blocks).filter((b) => b.text.text === 'Deny').length).toBe(shownPending);
    const last = view.blocks.at(-1) as Block;
    expect(last.type).toBe('context');
    const left = 80 - shownPending + 30 - shownGrants;
    expect(JSON.stringify(last)).toContain(`…and ${left} more in the admin channel <#${ADMIN_CHANNEL}>`);
  });

  it('adds no "more" line when everything fits, and exactly fills the limit when it must cut', () => {
    const few = homeView(data({ admin: { pending: [buildRequest()], active: [] } }));
    expect(JSON.stringify(few.blocks)).not.toContain('more in the admin channel');
    const many = homeView(data({ admin: { pending: [], active: Array.from({ length: 200 }, () => active({ requesterId: 'U0X' })) } }));
    expect(many.blocks).toHaveLength(HOME_MAX_BLOCKS);
    expect(JSON.stringify(many.blocks.at(-1))).toContain('more in the admin channel');
  });

  it('shows a notice on top when part of the Home could not be read', () => {
    const view = homeView(data({ notice: 'Slack did not say who the admins are' }));
    expect(JSON.stringify(view.blocks[0])).toContain('Slack did not say who the admins are');
  });
});
