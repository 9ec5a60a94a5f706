/**
 * Which store a CLI works on, in words: the embedded store's data directory, or the DynamoDB
 * table with its region and the endpoint the SDK really called (AWS_ENDPOINT_URL and the
 * profile's endpoint_url are resolved inside the SDK at request time, so the URL is read off
 * the first request rather than guessed from the environment).
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { StoreConfig } from '../config.js';

/** The playground's embedded store, relative to the project (playground/main.ts). */
export const PLAYGROUND_DATA_DIR = 'data/playground';

export function embeddedStoreLabel(tableName: string, dataDir: string): string {
  return `table ${tableName} in the embedded store in ${resolve(dataDir)} (STORE=embedded, DATA_DIR)`;
}

/** Records the endpoint of the client's requests; call before its first request, read after it (or after it failed). */
export function recordEndpoint(client: DynamoDBClient): () => string | undefined {
  let endpoint: string | undefined;
  client.middlewareStack.add(
    (next) => async (args) => {
      const request = args.request as { protocol?: string; hostname?: string; port?: number };
      if (request.hostname) endpoint = `${request.protocol ?? 'https:'}//${request.hostname}${request.port ? `:${request.port}` : ''}`;
      return next(args);
    },
    { step: 'finalizeRequest', name: 'recordEndpointForLabel' },
  );
  return () => endpoint;
}

async function dynamoStoreLabel(tableName: string, client: DynamoDBClient, endpoint: string | undefined): Promise<string> {
  const region = await client.config.region();
  return `DynamoDB table ${tableName} in ${region}${endpoint ? ` at ${endpoint}` : ''} (STORE=dynamodb)`;
}

/** The label for either store; `endpoint` is what recordEndpoint saw (STORE=dynamodb only). */
export async function storeLabel(config: Pick<StoreConfig, 'store' | 'tableName' | 'dataDir'>, client: DynamoDBClient, endpoint?: string): Promise<string> {
  return config.store === 'embedded' ? embeddedStoreLabel(config.tableName, config.dataDir) : dynamoStoreLabel(config.tableName, client, endpoint);
}

/**
 * Where else an embedded store may be, for a tool that found nothing in `dataDir`: a command to
 * copy (`command` is how this one was run, e.g. `npm run -s audit -- --since 2024-01-01`).
 */
export function otherDataDirHint(dataDir: string, command: string): string {
  const playground = resolve(PLAYGROUND_DATA_DIR);
  if (resolve(dataDir) !== playground && existsSync(join(playground, 'CURRENT'))) {
    return `the playground keeps its store in ${PLAYGROUND_DATA_DIR}: DATA_DIR=${PLAYGROUND_DATA_DIR} ${command}`;
  }
  return `DATA_DIR names the embedded store's directory (npm start uses ./data unless DATA_DIR is set, the playground ${PLAYGROUND_DATA_DIR}): DATA_DIR=<directory> ${command}`;
}

/** `args` as a shell would need them typed (single quotes where a character is special). */
export function shellArgs(args: readonly string[]): string {
  return args.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ');
}
