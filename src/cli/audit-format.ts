/** Argument parsing and line formats of `npm run audit` (pure; the CLI is audit.ts). */
import type { AuditEvent } from '../domain/request.js';

const AUDIT_COLUMNS = ['requestId', 'at', 'actor', 'from', 'to', 'detail'] as const;

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})?$/i;

/**
 * An ISO 8601 date (`2024-03-01`, midnight UTC) or date-time (`2024-03-01T12:00:00Z`,
 * `…+02:00`; without a zone it is UTC) as the ISO UTC string the table stores, or undefined
 * when it is not one (including impossible dates like 2024-02-30).
 */
export function parseDateArg(raw: string): string | undefined {
  const text = raw.trim();
  const date = text.match(DATE);
  const dateTime = date ? undefined : text.match(DATE_TIME);
  const parts = date ?? dateTime;
  if (!parts) return undefined;
  const [year, month, day] = [Number(parts[1]), Number(parts[2]), Number(parts[3])];
  const probe = new Date(Date.UTC(year, month - 1, day));
  if (probe.getUTCFullYear() !== year || probe.getUTCMonth() !== month - 1 || probe.getUTCDate() !== day) return undefined;
  if (date) return probe.toISOString();
  const [hour, minute, second] = [Number(parts[4]), Number(parts[5]), Number(parts[6] ?? 0)];
  if (hour > 23 || minute > 59 || second > 59) return undefined;
  const zone = parts[8];
  const fraction = (parts[7] ?? '').slice(0, 4);
  const normalized = `${parts[1]}-${parts[2]}-${parts[3]}T${parts[4]}:${parts[5]}:${String(second).padStart(2, '0')}${fraction}${zone ? zone.toUpperCase() : 'Z'}`;
  const ms = Date.parse(normalized);
  return Number.isNaN(ms) ? undefined : new Date(ms).toISOString();
}

/** One audit event as the export's JSON object: always the same six keys, in order, `null` where a value is absent. */
function auditRecord(event: AuditEvent): Record<(typeof AUDIT_COLUMNS)[number], string | null> {
  return {
    requestId: event.requestId,
    at: event.at,
    actor: event.actor,
    from: event.from ?? null,
    to: event.to,
    detail: event.detail ?? null,
  };
}

export function jsonLine(event: AuditEvent): string {
  return `${JSON.stringify(auditRecord(event))}\n`;
}

/** RFC 4180: a field with a comma, a quote, CR or LF is quoted, and its quotes doubled. */
export function csvField(value: string | null): string {
  if (value === null) return '';
  return /[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

export const CSV_HEADER = `${AUDIT_COLUMNS.join(',')}\r\n`;

export function csvLine(event: AuditEvent): string {
  const record = auditRecord(event);
  return `${AUDIT_COLUMNS.map((c) => csvField(record[c])).join(',')}\r\n`;
}
