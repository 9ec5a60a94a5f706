/** What a doctor check returns, and the small helpers every check uses to say it. */
export type CheckStatus = 'ok' | 'warn' | 'fail';
export type CheckSection = 'Slack' | 'Admins' | 'Store' | 'IAM' | 'Settings';

export interface CheckResult {
  section: CheckSection;
  status: CheckStatus;
  title: string;
  /** What was found; for a warning that could not be answered, "could not check: <why>". */
  detail?: string;
  /** What to do about it (failures, and warnings that have a remedy). */
  fix?: string;
}

export const ok = (section: CheckSection, title: string, detail?: string): CheckResult => ({ section, status: 'ok', title, ...(detail ? { detail } : {}) });
export const fail = (section: CheckSection, title: string, detail: string, fix: string): CheckResult => ({ section, status: 'fail', title, detail, fix });
export const warn = (section: CheckSection, title: string, detail: string, fix?: string): CheckResult => ({
  section,
  status: 'warn',
  title,
  detail,
  ...(fix ? { fix } : {}),
});
export const couldNotCheck = (section: CheckSection, title: string, why: string, fix?: string): CheckResult =>
  warn(section, title, `could not check: ${why}`, fix);

export function describeError(err: unknown): string {
  if (err instanceof Error) {
    const status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
    // The SDK's message for an unparseable answer is long and about XML; its first line is enough.
    const message = err.message.split('\n')[0] ?? '';
    return `${err.name}${status ? ` (HTTP ${status})` : ''}${message ? `: ${message}` : ''}`;
  }
  return String(err);
}

export const errorNameOf = (err: unknown) => (err instanceof Error ? err.name : '');
export const isAccessDenied = (err: unknown) => /AccessDenied|UnauthorizedOperation|NotAuthorized/i.test(errorNameOf(err));
