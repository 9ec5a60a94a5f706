/**
 * docs/RELIABILITY.md cannot drift from the tests: its rows are exactly the scenarios that
 * test/reliability/ declares, and the generator renders a record as the row the doc shows.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { renderReliabilityDoc } from '../support/reliability-doc.js';
import { declaredScenarios } from '../support/reliability-sources.js';

const DOC = new URL('../../docs/RELIABILITY.md', import.meta.url);

describe('docs/RELIABILITY.md', () => {
  it('has rows for every scenario the reliability tests declare, and no other', () => {
    const declared = declaredScenarios();
    expect(declared.length).toBeGreaterThan(0);
    const rows = [...readFileSync(DOC, 'utf8').matchAll(/^\| `([a-z0-9-]+)` \|/gm)].map((m) => m[1] as string);
    expect(new Set(rows).size, 'each scenario once').toBe(rows.length);
    for (const d of declared)
      expect(
        rows.some((id) => d.matches(id)),
        `no row for ${d.declared}`,
      ).toBe(true);
    for (const id of rows)
      expect(
        declared.some((d) => d.matches(id)),
        `row ${id} is declared by no test`,
      ).toBe(true);
  });

  it('is what the generator writes: one table per area, cells escaped', () => {
    const doc = renderReliabilityDoc(
      [
        { id: 'b-case', area: 'Slack', injected: 'chat.update | ratelimited', times: 3, userSaw: 'a DM\nlater', finalState: 'ACTIVE', lost: 'nothing', at: '' },
        { id: 'a-case', area: 'IAM', injected: 'Throttling', times: 10, userSaw: 'Retry', finalState: 'FAILED', lost: 'nothing', at: '' },
      ],
      'test machine',
    );
    expect(doc).toContain('Last run: test machine.');
    expect(doc.indexOf('## IAM')).toBeLessThan(doc.indexOf('## Slack'));
    expect(doc).toContain('| `a-case` | Throttling | 10 | Retry | FAILED | nothing |');
    expect(doc).toContain('| `b-case` | chat.update \\| ratelimited | 3 | a DM later | ACTIVE | nothing |');
    expect(doc).not.toContain('## DynamoDB');
  });
});
