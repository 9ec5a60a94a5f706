/** Time rules of the lifecycle, pure. */
const HOUR_MS = 60 * 60 * 1000;

/**
 * When reminder number `sent + 1` is due for a request created at `createdAt`: gaps grow
 * 1 h, 2 h, 4 h, … so reminders fall at 1 h, 3 h, 7 h, 15 h after the request.
 */
export function nextReminderAt(createdAt: string, sent: number, lastReminderAt?: string): string {
  const onSchedule = Date.parse(createdAt) + (2 ** (sent + 1) - 1) * HOUR_MS;
  // After downtime the gap still grows from the last reminder actually posted: no burst of catch-ups.
  const afterLast = lastReminderAt ? Date.parse(lastReminderAt) + 2 ** sent * HOUR_MS : 0;
  return new Date(Math.max(onSchedule, afterLast)).toISOString();
}

export function pendingDeadline(createdAt: string, timeoutHours: number): string {
  return new Date(Date.parse(createdAt) + timeoutHours * HOUR_MS).toISOString();
}
