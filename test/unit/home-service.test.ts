/**
 * The App Home's data and its Done: index reads only (by requester, by status), the admin
 * part for admins only, a Slack outage on the admin list shown as a notice, and Done limited to
 * the viewer's own active grant.
 */
import { describe, expect, it, vi } from 'vitest';
import type { AccessRequest, RequestStatus } from '../../src/domain/request.js';
import { RequestNotFoundError, RequestRefusedError } from '../../src/errors.js';
import { HOME_RECENT_REQUESTS, HomeService } from '../../src/services/home-service.js';
import { buildRequest } from '../support/requests.js';

const VIEWER = 'U0EMPLOYEE';

function rig(requests: AccessRequest[], isAdmin: (id: string) => Promise<boolean>) {
  const store = {
    get: vi.fn(async (id: string) => requests.find((r) => r.id === id)),
    listByRequester: vi.fn(async (userId: string, limit?: number) => requests.filter((r) => r.requesterId === userId).slice(0, limit)),
    listByStatus: vi.fn(async (status: RequestStatus) => requests.filter((r) => r.status === status)),
  };
  const lifecycle = { done: vi.fn(async (_userId: string, _level: string | undefined) => [] as AccessRequest[]) };
  const log = { warn: vi.fn() };
  const home = new HomeService({ config: { adminChannelId: 'CADMIN' }, store, admins: { isAdmin }, lifecycle, log });
  return { home, store, lifecycle, log };
}

const mine = buildRequest({ status: 'ACTIVE', expiresAt: '2030-01-14T09:00:00.000Z' });
const theirs = buildRequest({ status: 'ACTIVE', requesterId: 'U0OTHER', iamUserName: 'other' });
const waiting = buildRequest({ requesterId: 'U0OTHER', iamUserName: 'other' });

describe('HomeService', () => {
  it('gives an employee their own grants and latest requests, and no admin part', async () => {
    const { home, store } = rig([mine, theirs, waiting], async () => false);
    const data = await home.data(VIEWER);
    expect(data.ownGrants.map((r) => r.id)).toEqual([mine.id]);
    expect(data.recent.map((r) => r.id)).toEqual([mine.id]);
    expect(data.admin).toBeUndefined();
    expect(store.listByRequester).toHaveBeenCalledWith(VIEWER, HOME_RECENT_REQUESTS);
    expect(store.listByStatus).not.toHaveBeenCalledWith('PENDING');
  });

  it('gives an admin the pending requests and every active grant', async () => {
    const { home } = rig([mine, theirs, waiting], async () => true);
    const data = await home.data('U0ADMIN1');
    expect(data.admin?.pending.map((r) => r.id)).toEqual([waiting.id]);
    expect(data.admin?.active.map((r) => r.id)).toEqual([mine.id, theirs.id]);
  });

  it('shows the own part with a notice when Slack cannot say who the admins are', async () => {
    const { home, log } = rig([mine], async () => {
      throw new Error('usergroups down');
    });
    const data = await home.data(VIEWER);
    expect(data.admin).toBeUndefined();
    expect(data.notice).toMatch(/who the billing admins are/);
    expect(data.ownGrants).toHaveLength(1);
    expect(log.warn).toHaveBeenCalledWith(expect.objectContaining({ event: 'home.admins_unknown' }));
  });

  it('Done ends the viewer’s own active grant by its level, as `done <level>` does', async () => {
    const { home, lifecycle } = rig([mine], async () => false);
    await home.done(VIEWER, mine.id);
    expect(lifecycle.done).toHaveBeenCalledWith(VIEWER, 'read-only');
  });

  it('Done refuses someone else’s grant, an unknown id and a grant no longer active', async () => {
    const ended = buildRequest({ status: 'REVOKED' });
    const { home, lifecycle } = rig([mine, theirs, ended], async () => false);
    await expect(home.done(VIEWER, theirs.id)).rejects.toBeInstanceOf(RequestNotFoundError);
    await expect(home.done(VIEWER, 'nope')).rejects.toBeInstanceOf(RequestNotFoundError);
    await expect(home.done(VIEWER, ended.id)).rejects.toBeInstanceOf(RequestRefusedError);
    expect(lifecycle.done).not.toHaveBeenCalled();
  });
});
