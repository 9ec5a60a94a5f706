/**
 * The scenario ids the reliability tests declare (`scenario({ id: '…' })` in test/reliability/),
 * read from their sources: the generator and the drift check agree on what the table must hold.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const DIR = fileURLToPath(new URL('../reliability/', import.meta.url));

export function scenarioIdsInSources(): string[] {
  const ids: string[] = [];
  for (const file of readdirSync(DIR)
    .filter((f) => f.endsWith('.test.ts'))
    .sort()) {
    const text = readFileSync(join(DIR, file), 'utf8');
    for (const m of text.matchAll(/\bid:\s*'([a-z0-9-]+)'/g)) if (m[1]) ids.push(m[1]);
  }
  return ids;
}
