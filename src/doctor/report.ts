import type { CheckResult, CheckSection, CheckStatus } from './results.js';

const SYMBOL: Record<CheckStatus, string> = { ok: '✓', fail: '✗', warn: '⚠' };
const COLOR: Record<CheckStatus, string> = { ok: '\x1b[32m', fail: '\x1b[31m', warn: '\x1b[33m' };
const RESET = '\x1b[0m';
const SECTIONS: CheckSection[] = ['Slack', 'Admins', 'Store', 'IAM', 'Settings'];

export interface Counts {
  ok: number;
  warn: number;
  fail: number;
}

function countResults(results: CheckResult[]): Counts {
  const counts: Counts = { ok: 0, warn: 0, fail: 0 };
  for (const r of results) counts[r.status]++;
  return counts;
}

/** One line per check: `✓ title: detail`, `✗ title: detail → fix`, `⚠ title: could not check: why → what to do`. */
function formatLine(result: CheckResult, color = false): string {
  const symbol = color ? `${COLOR[result.status]}${SYMBOL[result.status]}${RESET}` : SYMBOL[result.status];
  return `${symbol} ${result.title}${result.detail ? `: ${result.detail}` : ''}${result.fix ? ` → ${result.fix}` : ''}`;
}

export function formatText(results: CheckResult[], options: { color?: boolean; heading?: string } = {}): string {
  const lines: string[] = [];
  if (options.heading) lines.push(options.heading, '');
  for (const section of SECTIONS) {
    const inSection = results.filter((r) => r.section === section);
    if (inSection.length === 0) continue;
    lines.push(section);
    for (const r of inSection) lines.push(`  ${formatLine(r, options.color)}`);
    lines.push('');
  }
  const counts = countResults(results);
  lines.push(
    `${counts.ok} ✓  ${counts.warn} ⚠  ${counts.fail} ✗  ` +
      (counts.fail > 0 ? 'Fix the ✗ lines and run npm run doctor again.' : 'Nothing is broken; read the ⚠ lines.'),
  );
  return `${lines.join('\n')}\n`;
}

export function formatJson(results: CheckResult[]): string {
  const counts = countResults(results);
  return `${JSON.stringify({ ok: counts.fail === 0, counts, checks: results }, null, 2)}\n`;
}
