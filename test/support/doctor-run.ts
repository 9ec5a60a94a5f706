/** `npm run doctor` as a child process (tsx, as npm runs it), with only the environment a test gives it. */
import { type CliRun, runCli } from './cli-run.js';

export type DoctorRun = CliRun;

export function runDoctor(env: Record<string, string>, args: string[] = [], timeoutMs = 60_000): Promise<DoctorRun> {
  return runCli('doctor', env, args, timeoutMs);
}
