/**
 * The App Home's data: what the viewer holds and asked for, and for admins what waits for a
 * decision and who holds access. Reads go through the store's indexes (by requester, by
 * status), never a scan. Also the Home's Done button, which ends a grant exactly as
 * `/request-billing done <level>` does.
 */
import type { Config } from '../config.js';
import type { AccessRequest } from '../domain/request.js';
import { errorMessage, errorName, RequestNotFoundError, RequestRefusedError } from '../errors.js';
import type { AdminPolicy } from './admins.js';
import type { LifecycleService } from './lifecycle.js';
import type { RequestStore } from './ports.js';

/** What one viewer's Home shows (src/slack/home.ts builds the view from it). */
export interface HomeData {
  viewerId: string;
  adminChannelId: string;
  /** The viewer's own ACTIVE grants. */
  ownGrants: AccessRequest[];
  /** The viewer's latest requests, newest first. */
  recent: AccessRequest[];
  /** Present for admins only. */
  admin?: { pending: AccessRequest[]; active: AccessRequest[] };
  /** Shown on top when set: why part of the view is missing. */
  notice?: string;
}

/** How many of the viewer's latest requests the Home lists. */
export const HOME_RECENT_REQUESTS = 10;

export interface HomeServiceDeps {
  config: Pick<Config, 'adminChannelId'>;
  store: Pick<RequestStore, 'get' | 'listByRequester' | 'listByStatus'>;
  admins: Pick<AdminPolicy, 'isAdmin'>;
  lifecycle: Pick<LifecycleService, 'done'>;
  log: { warn(obj: object, msg?: string): void };
}

export class HomeService {
  /** Who opened their Home since this process started: their Home is refreshed after their commands too. */
  private readonly viewers = new Set<string>();

  constructor(private readonly deps: HomeServiceDeps) {}

  /** `userId` opened their Home tab. */
  opened(userId: string): void {
    this.viewers.add(userId);
  }

  /** Whether `userId` has a Home this process published (anyone else's is published when they open it). */
  hasHome(userId: string): boolean {
    return this.viewers.has(userId);
  }

  /** What `userId` sees on their Home tab. */
  async data(userId: string): Promise<HomeData> {
    const { store, config } = this.deps;
    const [active, recent, admin] = await Promise.all([
      store.listByStatus('ACTIVE'),
      store.listByRequester(userId, HOME_RECENT_REQUESTS),
      this.isAdmin(userId),
    ]);
    const data: HomeData = {
      viewerId: userId,
      adminChannelId: config.adminChannelId,
      ownGrants: active.filter((r) => r.requesterId === userId),
      recent,
    };
    if (admin === 'unknown')
      data.notice = 'Slack did not say who the billing admins are right now, so the admin part is not shown; open the tab again in a minute.';
    if (admin === true) data.admin = { pending: await store.listByStatus('PENDING'), active };
    return data;
  }

  /** The Home's Done: the viewer's own ACTIVE grant, ended as `/request-billing done <its level>`. */
  async done(userId: string, requestId: string): Promise<AccessRequest[]> {
    const grant = await this.deps.store.get(requestId);
    if (!grant || grant.requesterId !== userId) throw new RequestNotFoundError(requestId);
    if (grant.status !== 'ACTIVE') throw new RequestRefusedError(`That access is no longer active (${grant.status.toLowerCase()}); nothing to end.`);
    return this.deps.lifecycle.done(userId, grant.level);
  }

  /** An admin check Slack cannot answer shows the viewer's own part only, and says why. */
  private async isAdmin(userId: string): Promise<boolean | 'unknown'> {
    try {
      return await this.deps.admins.isAdmin(userId);
    } catch (err) {
      this.deps.log.warn({ event: 'home.admins_unknown', userId, error: errorName(err), message: errorMessage(err) });
      return 'unknown';
    }
  }
}
