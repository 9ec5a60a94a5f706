/**
 * Parses the text of /request-billing into a command. Pure and total: every
 * input gives either a command or a ValidationError with a message for the user.
 */
import { code, text, ValidationError } from '../errors.js';
import { unknownLevel } from './levels.js';

export const JUSTIFICATION_MIN = 10;
export const JUSTIFICATION_MAX = 500;
export const DENY_REASON_MAX = 500;
const REQUEST_ID = /^[0-9A-HJKMNP-TV-Z]{26}$/;
const MENTION = /^<@([UW][A-Z0-9]{2,20})(?:\|[^>]*)?>$/;
const IAM_USER_NAME = /^[\w+=,.@-]{1,64}$/;

export interface ParseOptions {
  levels: string[];
  defaultDurationDays: number;
  maxDurationDays: number;
  breakGlassEnabled: boolean;
}

export type Command =
  | { kind: 'modal' }
  | { kind: 'help' }
  | { kind: 'status' }
  | { kind: 'summary' }
  | { kind: 'done'; level: string | undefined }
  | { kind: 'cancel'; requestId: string }
  | { kind: 'revoke'; target: { userId: string } | { requestId: string } }
  | { kind: 'link'; userId: string; iamUserName: string }
  | { kind: 'request'; level: string; durationDays: number; justification: string; breakGlass: boolean };

export function parseCommand(rawText: string, opts: ParseOptions): Command {
  const input = rawText.trim();
  if (input === '') return { kind: 'modal' };
  const words = input.split(/\s+/);
  const [first = '', ...rest] = words;
  switch (first.toLowerCase()) {
    case 'help':
      return { kind: 'help' };
    case 'status':
      return { kind: 'status' };
    case 'summary':
      return { kind: 'summary' };
    case 'done': {
      const level = rest[0];
      if (level !== undefined && !opts.levels.includes(level)) throw unknownLevel(level, opts.levels);
      return { kind: 'done', level };
    }
    case 'cancel': {
      const id = rest[0]?.toUpperCase();
      if (!id || !REQUEST_ID.test(id) || rest.length > 1) {
        throw new ValidationError(text`Usage: ${code('/request-billing cancel <request id>')} (the id from your confirmation or ${code('status')}).`);
      }
      return { kind: 'cancel', requestId: id };
    }
    case 'revoke': {
      const target = rest[0];
      const mention = target ? MENTION.exec(target) : null;
      if (mention?.[1] && rest.length === 1) return { kind: 'revoke', target: { userId: mention[1] } };
      if (target && REQUEST_ID.test(target.toUpperCase()) && rest.length === 1) {
        return { kind: 'revoke', target: { requestId: target.toUpperCase() } };
      }
      throw new ValidationError(text`Usage: ${code('/request-billing revoke <@user>')} or ${code('/request-billing revoke <request id>')}.`);
    }
    case 'link': {
      const mention = rest[0] ? MENTION.exec(rest[0]) : null;
      const iamUserName = rest[1];
      if (!mention?.[1] || !iamUserName || rest.length !== 2) {
        throw new ValidationError(text`Usage: ${code('/request-billing link <@user> <iam-user-name>')}.`);
      }
      if (!IAM_USER_NAME.test(iamUserName)) {
        throw new ValidationError(`"${iamUserName}" is not a valid IAM user name.`);
      }
      return { kind: 'link', userId: mention[1], iamUserName };
    }
    default:
      return parseRequest(words, opts);
  }
}

function parseRequest(words: string[], opts: ParseOptions): Command {
  let index = 0;
  const [defaultLevel] = opts.levels;
  let level = defaultLevel ?? '';
  const first = words[0] ?? '';
  const second = words[1];
  if (opts.levels.includes(first)) {
    level = first;
    index = 1;
  } else if (second !== undefined && (isDurationWord(second) || second === 'break-glass') && !isDurationWord(first)) {
    throw unknownLevel(first, opts.levels);
  }

  let durationDays = opts.defaultDurationDays;
  let breakGlass = false;
  const modifier = words[index];
  if (modifier !== undefined && isDurationWord(modifier)) {
    durationDays = parseDuration(modifier, opts.maxDurationDays);
    index += 1;
  } else if (modifier === 'break-glass') {
    if (!opts.breakGlassEnabled) {
      throw new ValidationError('Break-glass is not enabled on this workspace. Ask an admin to approve a normal request.');
    }
    breakGlass = true;
    index += 1;
  }
  const justification = words.slice(index).join(' ');
  return { kind: 'request', level, durationDays, justification: validateJustification(justification), breakGlass };
}

/** A word of the request text meant as its duration: `<n>d`, or `-<n>d` so that parseDuration refuses it rather than it joining the justification. */
function isDurationWord(word: string): boolean {
  return /^-?\d+d$/i.test(word);
}

/** The one rule for a duration, typed (`7d`) or picked in the modal (its value `7`, read as `7d`): digits, then `d`. */
const DURATION = /^(\d+)d$/i;

/**
 * Whole days from `<n>d`, 1 to maxDays. Only ASCII digits count: no sign, space, decimal point,
 * exponent or hex (`Number()` would read ' 7', '0x10' and '1e1' as 7, 16 and 10 days).
 */
export function parseDuration(word: string, maxDays: number): number {
  const digits = DURATION.exec(word)?.[1];
  const n = digits === undefined ? Number.NaN : Number(digits);
  if (!(n >= 1)) throw new ValidationError(`"${word}" is not a duration: use a whole number of days like 7d.`, 'duration');
  if (n > maxDays) {
    // A long run of digits is not worth repeating back (nor is 1e+21).
    const asked = Number.isSafeInteger(n) ? `${n} days is` : 'That is';
    throw new ValidationError(`${asked} more than the maximum of ${maxDays} days.`, 'duration');
  }
  return n;
}

export function validateJustification(raw: string): string {
  const trimmed = raw.trim();
  if (trimmed.length < JUSTIFICATION_MIN) {
    throw new ValidationError(
      text`Please give a justification of at least ${JUSTIFICATION_MIN} characters, e.g. ${code('/request-billing read-only 7d month-end close for October')}.`,
      'justification',
    );
  }
  if (trimmed.length > JUSTIFICATION_MAX) {
    throw new ValidationError(`The justification is ${trimmed.length} characters; the limit is ${JUSTIFICATION_MAX}.`, 'justification');
  }
  return trimmed;
}

export function validateDenyReason(raw: string | undefined | null): string | undefined {
  const trimmed = (raw ?? '').trim();
  if (trimmed === '') return undefined;
  if (trimmed.length > DENY_REASON_MAX) {
    throw new ValidationError(`The reason is ${trimmed.length} characters; the limit is ${DENY_REASON_MAX}.`, 'reason');
  }
  return trimmed;
}
