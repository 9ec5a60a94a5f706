/**
 * Node 22 LTS is the supported runtime (package.json engines, .nvmrc, the Docker image); Node 20,
 * past its end of life, still runs everything. Below Node 22 the AWS SDK prints a nine-line
 * warning at the first client of every process; the bot says it once instead, in one line of its
 * own (`nodeSupportNote`), and src/sdk-node-warning.ts switches the SDK's warning off.
 */
export const SUPPORTED_NODE_MAJOR = 22;

/** The variable the AWS SDK reads before its Node-version warning (@aws-sdk/core, emitWarningIfUnsupportedVersion). */
export const SDK_NODE_WARNING_SWITCH = 'AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED';

/** One line for a Node older than the supported one (`20.20.2` or `v20.20.2`); undefined from Node 22 on. */
export function nodeSupportNote(version: string): string | undefined {
  const bare = version.replace(/^v/, '');
  const major = Number.parseInt(bare, 10);
  if (!Number.isFinite(major) || major >= SUPPORTED_NODE_MAJOR) return undefined;
  return `Node ${bare} is past its end of life; Node ${SUPPORTED_NODE_MAJOR} LTS is the supported runtime`;
}

/** Turns the SDK's warning off in `env`, unless `env` already says what to do about it. */
export function silenceSdkNodeWarning(env: Record<string, string | undefined>): void {
  if (env[SDK_NODE_WARNING_SWITCH] === undefined) env[SDK_NODE_WARNING_SWITCH] = 'true';
}
