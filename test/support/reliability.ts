/**
 * The record each reliability scenario leaves behind (docs/RELIABILITY.md is generated from these
 * by `npm run reliability`): what was injected, how many times, what the person saw, the final
 * state, and what was lost. A test records only after its own assertions passed, so a row in the
 * table is a scenario that held on the run that wrote it.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const RELIABILITY_AREAS = ['IAM', 'DynamoDB', 'Slack', 'Crash', 'Overload', 'Replicas', 'Hostile input'] as const;
export type ReliabilityArea = (typeof RELIABILITY_AREAS)[number];

export interface ScenarioStart {
  /** Stable id, unique across test/reliability: `iam-throttle-then-failed`. */
  id: string;
  area: ReliabilityArea;
  /** What was injected, in a few words: "IAM AddUserToGroup answers Throttling (400) 10 times". */
  injected: string;
}

export interface ScenarioOutcome {
  /** How many times the fault was injected (or the cases run, for properties). */
  times: number;
  /** What the person (requester or admin) saw. */
  userSaw: string;
  /** The request's final state, as checked in the table and IAM. */
  finalState: string;
  /** What was lost: "nothing", or exactly what. */
  lost: string;
}

export type ScenarioRecord = ScenarioStart & ScenarioOutcome & { at: string };

/** Where the records of the last run are kept (not in git). */
export const RESULTS_DIR = fileURLToPath(new URL('../.reliability/', import.meta.url));

/** Starts a scenario; `held(outcome)` writes its record once the test's checks have passed. */
export function scenario(start: ScenarioStart): { held(outcome: ScenarioOutcome): void } {
  if (!/^[a-z0-9-]+$/.test(start.id)) throw new Error(`scenario id "${start.id}" must be lower-case words joined by dashes`);
  return {
    held(outcome) {
      mkdirSync(RESULTS_DIR, { recursive: true });
      const record: ScenarioRecord = { ...start, ...outcome, at: new Date().toISOString() };
      writeFileSync(join(RESULTS_DIR, `${start.id}.json`), `${JSON.stringify(record, null, 2)}\n`);
    },
  };
}
