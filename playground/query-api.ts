/**
 * The AWS Query API's wire format, as IAM and STS speak it: XML elements and `<member>` lists,
 * request parameters (`Filter.member.1`), IAM's name checks and paging (MaxItems, Marker), and
 * the `<ErrorResponse>` an error is sent as. Pure; the IAM stand-in builds its answers with it.
 */
import { randomUUID } from 'node:crypto';
import { IamFault } from './iam-account.js';

const XML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' };

export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => XML_ESCAPES[c] ?? c);
}

/** A leaf element; nothing when the value is undefined. Dates are ISO 8601 UTC, as IAM writes them. */
export function leaf(name: string, value: string | number | boolean | Date | undefined): string {
  if (value === undefined) return '';
  const text = value instanceof Date ? value.toISOString() : String(value);
  return `<${name}>${escapeXml(text)}</${name}>`;
}

/** An element around already-written XML. */
export function node(name: string, ...children: string[]): string {
  const inner = children.join('');
  return inner ? `<${name}>${inner}</${name}>` : `<${name}/>`;
}

/** A list: each item (already-written XML) in a `<member>`. */
export function members(name: string, items: readonly string[]): string {
  return node(name, ...items.map((item) => `<member>${item}</member>`));
}

export type Params = URLSearchParams;

function validationError(message: string): IamFault {
  return new IamFault('ValidationError', 400, `1 validation error detected: ${message}`);
}

/** IAM's parameter name in messages is camelCase: `UserName` → `userName`. */
function fieldName(param: string): string {
  return param.charAt(0).toLowerCase() + param.slice(1);
}

const NAME_PATTERN = /^[\w+=,.@-]+$/;
const NAME_MAX: Record<string, number> = { UserName: 64, GroupName: 128, PolicyName: 128, RoleName: 64 };

/** A required IAM name (UserName, GroupName, …), checked as IAM checks it. */
export function requiredName(p: Params, param: string): string {
  const value = p.get(param);
  if (value === null) throw validationError(`Value null at '${fieldName(param)}' failed to satisfy constraint: Member must not be null`);
  return checkedName(value, param);
}

export function checkedName(value: string, param: string): string {
  const max = NAME_MAX[param] ?? 128;
  if (value.length < 1 || value.length > max) {
    throw validationError(`Value '${value}' at '${fieldName(param)}' failed to satisfy constraint: Member must have length between 1 and ${max}`);
  }
  if (!NAME_PATTERN.test(value)) {
    throw validationError(
      `Value '${value}' at '${fieldName(param)}' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]+`,
    );
  }
  return value;
}

export function required(p: Params, param: string): string {
  const value = p.get(param);
  if (value === null || value === '') throw validationError(`Value null at '${fieldName(param)}' failed to satisfy constraint: Member must not be null`);
  return value;
}

/** `Filter.member.1=User&Filter.member.2=Group` → ['User', 'Group']. */
export function listParam(p: Params, param: string): string[] {
  const values: string[] = [];
  for (let i = 1; p.has(`${param}.member.${i}`); i += 1) values.push(p.get(`${param}.member.${i}`) ?? '');
  return values;
}

/**
 * One page of a list, as IAM pages it: MaxItems (1 to 1000, default 100) and an opaque Marker;
 * `more` is the IsTruncated (and Marker) elements that close the result.
 */
export function paginate<T>(items: readonly T[], p: Params): { page: T[]; more: string } {
  const rawMax = p.get('MaxItems');
  const max = rawMax === null ? 100 : Number(rawMax);
  if (!Number.isInteger(max) || max < 1 || max > 1000) {
    throw validationError(`Value '${rawMax}' at 'maxItems' failed to satisfy constraint: Member must have value between 1 and 1000`);
  }
  const marker = p.get('Marker');
  let start = 0;
  if (marker !== null) {
    const decoded = /^offset:(\d+)$/.exec(Buffer.from(marker, 'base64url').toString('utf8'));
    if (!decoded) throw new IamFault('InvalidInput', 400, 'Invalid Marker: pass the Marker of the previous page as it came.');
    start = Number(decoded[1]);
  }
  const page = items.slice(start, start + max);
  const next = start + max < items.length ? Buffer.from(`offset:${start + max}`).toString('base64url') : undefined;
  return { page, more: leaf('IsTruncated', next !== undefined) + leaf('Marker', next) };
}

export function errorXml(namespace: string, code: string, message: string): string {
  const type = code === 'ServiceFailure' || code === 'ServiceUnavailable' ? 'Receiver' : 'Sender';
  return `<ErrorResponse xmlns="${namespace}">${node('Error', leaf('Type', type), leaf('Code', code), leaf('Message', message))}${leaf('RequestId', randomUUID())}</ErrorResponse>`;
}
