/** The printed table: each figure beside its budget (PRODUCT §6), marked met or missed. */

export interface Row {
  figure: string;
  value: string;
  budget?: string;
  /** undefined: reported, no budget. */
  met?: boolean;
  note?: string;
}

export function fmt(n: number, digits = 1): string {
  if (!Number.isFinite(n)) return 'n/a';
  return n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

export function table(rows: Row[]): string {
  const head = ['figure', 'value', 'budget', 'status'];
  const cells = rows.map((r) => [r.figure, r.value, r.budget ?? '', r.met === undefined ? '' : r.met ? 'met' : 'MISSED']);
  const widths = head.map((h, i) => Math.max(h.length, ...cells.map((c) => (c[i] ?? '').length)));
  const line = (c: string[]) => `| ${c.map((v, i) => v.padEnd(widths[i] ?? 0)).join(' | ')} |`;
  const out = [line(head), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...cells.map(line)];
  const notes = rows.filter((r) => r.note).map((r) => `  ${r.figure}: ${r.note}`);
  return [...out, ...(notes.length ? ['', ...notes] : [])].join('\n');
}
