/**
 * What to do when the environment stops a tool before it can work: no AWS credentials, an AWS
 * endpoint that does not answer, or the embedded store held by another process. `npm run setup`,
 * `npm run audit` and `npm run doctor` all say it in these words, so one cause reads the same
 * whichever command met it. Pure: the caller passes what it caught and where it was looking.
 */
import { EmbeddedStoreInUseError } from './errors.js';

/** A cause the operator can fix, and how. */
export interface EnvironmentHint {
  kind: 'no-credentials' | 'unreachable' | 'held-store';
  /** What is wrong, in the operator's terms (never a bare SDK error name). */
  problem: string;
  /** What to do about it. */
  fix: string;
}

/** The AWS services the bot and its tools call; each has its own endpoint variable beside AWS_ENDPOINT_URL. */
export type AwsService = 'IAM' | 'DynamoDB' | 'STS';

const ENDPOINT_VARIABLE: Record<AwsService, string> = {
  IAM: 'AWS_ENDPOINT_URL_IAM',
  DynamoDB: 'AWS_ENDPOINT_URL_DYNAMODB',
  STS: 'AWS_ENDPOINT_URL_STS',
};

/** What the SDK's default chain says when it found no credentials at all. */
const NO_PROVIDER = /could not load credentials from any providers/i;

export function noCredentialsHint(sdkMessage?: string): EnvironmentHint {
  const own = sdkMessage && !NO_PROVIDER.test(sdkMessage);
  return {
    kind: 'no-credentials',
    problem: own ? `the AWS credentials could not be loaded (the AWS SDK says: ${sdkMessage})` : 'no AWS credentials were found',
    fix:
      'set AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or run where an instance or task role applies ' +
      '(aws sts get-caller-identity shows what the environment holds); for moto or LocalStack, set AWS_ENDPOINT_URL and any dummy keys',
  };
}

export function unreachableEndpointHint(service: AwsService, why: string): EnvironmentHint {
  return {
    kind: 'unreachable',
    problem: `the ${service} endpoint did not answer (${why})`,
    fix:
      `check AWS_ENDPOINT_URL and ${ENDPOINT_VARIABLE[service]}: is moto or LocalStack running at that address? ` +
      'Without them the SDK calls AWS in AWS_REGION: check the region and the network path',
  };
}

export function heldStoreHint(dataDir: string): EnvironmentHint {
  return {
    kind: 'held-store',
    problem: `another process (a running bot or playground) holds the embedded store in ${dataDir}; it serves one process at a time`,
    fix: 'stop that process and run this again (while the bot runs, GET /healthz says whether its store answers), or point DATA_DIR at another store; several processes at once need STORE=dynamodb',
  };
}

/** Network failures that mean nothing answered at the endpoint's address. */
const UNREACHABLE_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'ECONNRESET', 'ETIMEDOUT']);

/** The error and its causes, outermost first (the bot's gateways wrap the SDK's error in `cause`). */
function causeChain(err: unknown): unknown[] {
  const chain: unknown[] = [];
  let current = err;
  while (current !== undefined && current !== null && chain.length < 5 && !chain.includes(current)) {
    chain.push(current);
    current = current instanceof Error ? current.cause : undefined;
  }
  return chain;
}

const firstLine = (text: string) => text.split('\n')[0] ?? '';

/**
 * The hint for an error met while calling `service`, or for the embedded store being held;
 * undefined when the error is none of the causes above (the caller reports it as it is).
 */
export function hintForError(err: unknown, where: { service: AwsService; dataDir?: string }): EnvironmentHint | undefined {
  for (const link of causeChain(err)) {
    if (link instanceof EmbeddedStoreInUseError) return heldStoreHint(where.dataDir ?? 'DATA_DIR');
    if (!(link instanceof Error)) continue;
    if (/^(Credentials|Token)ProviderError$/.test(link.name)) return noCredentialsHint(firstLine(link.message));
    const code = (link as { code?: unknown }).code;
    if ((typeof code === 'string' && UNREACHABLE_CODES.has(code)) || link.name === 'TimeoutError') {
      return unreachableEndpointHint(where.service, firstLine(link.message) || String(code));
    }
  }
  return undefined;
}

/** One line, as doctor prints a check: `problem → fix`. */
export function formatHint(hint: EnvironmentHint): string {
  return `${hint.problem} → ${hint.fix}`;
}
