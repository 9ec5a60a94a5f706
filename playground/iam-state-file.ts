/**
 * The IAM stand-in's groups, kept beside the playground's store in its data directory: the store
 * outlives a restart, so IAM must too, or a grant the store holds would have no member behind it.
 * Only the groups change (members, policies); users and policies are seeded afresh each run.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import type { GroupsState, IamAccount } from './iam-account.js';

export const IAM_STATE_FILE = 'iam-standin.json';

const groupsStateSchema = z.object({
  groups: z.array(z.object({ groupName: z.string(), members: z.array(z.string()), attachedPolicyArns: z.array(z.string()) })),
});

/**
 * Puts the saved groups back into the account. Returns what went wrong when a saved file could
 * not be used (the seeded groups stay); undefined when there was none or it was restored.
 */
export function restoreIamState(account: IamAccount, dataDir: string): string | undefined {
  const file = join(dataDir, IAM_STATE_FILE);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    return `could not read ${file} (${err instanceof Error ? err.message : String(err)}): IAM starts from the seeded groups`;
  }
  let state: GroupsState;
  try {
    state = groupsStateSchema.parse(JSON.parse(text));
  } catch {
    return `${file} is not a saved IAM state: IAM starts from the seeded groups`;
  }
  account.restoreGroups(state);
  return undefined;
}

/** Saves the groups after every change (written whole, then renamed into place). Returns the function that stops it. */
export function keepIamState(account: IamAccount, dataDir: string): () => void {
  const file = join(dataDir, IAM_STATE_FILE);
  const save = () => {
    mkdirSync(dataDir, { recursive: true });
    writeFileSync(`${file}.tmp`, `${JSON.stringify(account.groupsState(), null, 2)}\n`);
    renameSync(`${file}.tmp`, file);
  };
  save();
  account.changes.on('change', save);
  return () => account.changes.off('change', save);
}
