/**
 * The checks behind `npm run doctor`. Each takes the gateway or client it reads through (so a
 * test can point it anywhere) and returns results; nothing here prints, exits or reads the environment.
 *
 * A result is ✓ ok, ✗ fail (with the fix) or ⚠ warn. A check that cannot be answered where the
 * bot runs (an emulator without policy simulation, a setting with no API) is a warning that
 * says "could not check" and why: never ✓, never ✗.
 */
export * from './iam-checks.js';
export * from './results.js';
export * from './settings-checks.js';
export * from './slack-checks.js';
export * from './store-checks.js';
