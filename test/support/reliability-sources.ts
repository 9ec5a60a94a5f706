/**
 * The scenario ids the reliability tests declare (`scenario({ id: '…' })` in test/reliability/),
 * read from their sources: the generator and the drift check agree on what the table must hold.
 * A template id (`slack-${site}-${fault}`) declares a family: each `${…}` stands for one or more
 * id characters.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const DIR = fileURLToPath(new URL('../reliability/', import.meta.url));

export interface DeclaredScenario {
  /** As written in the test: `iam-throttle-absorbed-by-retries`, `slack-${site}-${fault}`. */
  declared: string;
  matches(id: string): boolean;
}

function declaredScenario(declared: string): DeclaredScenario {
  const pattern = new RegExp(
    `^${declared
      .split(/\$\{[^}]*\}/)
      .map((part) => part.replace(/[-]/g, '\\-'))
      .join('[a-z0-9-]+')}$`,
  );
  return { declared, matches: (id) => pattern.test(id) };
}

export function declaredScenarios(): DeclaredScenario[] {
  const found: DeclaredScenario[] = [];
  for (const file of readdirSync(DIR)
    .filter((f) => f.endsWith('.test.ts'))
    .sort()) {
    const text = readFileSync(join(DIR, file), 'utf8');
    for (const m of text.matchAll(/\bid:\s*(?:'([a-z0-9-]+)'|`([a-z0-9${}.-]+)`)/gi)) found.push(declaredScenario((m[1] ?? m[2]) as string));
  }
  return found;
}
