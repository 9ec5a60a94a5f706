/**
 * Access levels (PRODUCT §1, §5 BILLING_GROUPS): the one place a level is looked up, by the
 * name someone typed or by the level and group a request was made for. Pure.
 */
import { code, ValidationError } from '../errors.js';

export interface LevelConfig {
  level: string;
  groupName: string;
  policyArn: string;
  approvalsRequired: number;
}

/** The level with this name, or undefined. */
export function levelNamed(levels: readonly LevelConfig[], name: string): LevelConfig | undefined {
  return levels.find((l) => l.level === name);
}

/** The level with this name; a ValidationError naming the configured levels when there is none. */
export function requireLevel(levels: readonly LevelConfig[], name: string): LevelConfig {
  const found = levelNamed(levels, name);
  if (!found)
    throw unknownLevel(
      name,
      levels.map((l) => l.level),
    );
  return found;
}

/** The refusal of a level name nobody configured. */
export function unknownLevel(level: string, names: readonly string[]): ValidationError {
  const shown = level.length > 40 ? `${level.slice(0, 40)}…` : level;
  return new ValidationError([`Unknown access level "${shown}". Levels: `, ...names.flatMap((l, i) => [...(i ? [', '] : []), code(l)]), '.'], 'level');
}

/** The configured level a request was made for, while its level still maps to the same group (else undefined: a level removed or moved). */
export function configuredLevelOf(levels: readonly LevelConfig[], request: { level: string; groupName: string }): LevelConfig | undefined {
  return levels.find((l) => l.level === request.level && l.groupName === request.groupName);
}
