import type { BuiltDeps } from './deps.js';

export interface HealthAnswer {
  status: 200 | 503;
  body: { ok: boolean; error?: string; requestId?: string; lastSweep?: string | null };
}

/**
 * GET /healthz: 200 with the last sweep's time while the store answers; 503 when it does not, or
 * when a grant is overdue by more than two sweep intervals (a stopped sweeper must be noticed).
 */
export async function healthOf(deps: Pick<BuiltDeps, 'clock' | 'sweeper' | 'store'>, sweepIntervalMs: number): Promise<HealthAnswer> {
  const overdueBefore = new Date(deps.clock.now().getTime() - 2 * sweepIntervalMs).toISOString();
  const lastSweep = deps.sweeper.lastSweep?.at ?? null;
  try {
    const overdue = await deps.store.listExpiring('ACTIVE', overdueBefore, 1);
    if (overdue.length > 0)
      return { status: 503, body: { ok: false, error: 'grant overdue for expiry: is the sweeper running?', requestId: overdue[0]?.id, lastSweep } };
    return { status: 200, body: { ok: true, lastSweep } };
  } catch (err) {
    return { status: 503, body: { ok: false, error: `store unreachable: ${err instanceof Error ? err.name : 'error'}`, lastSweep } };
  }
}
