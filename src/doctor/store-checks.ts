/** doctor: the DynamoDB table and its indexes. */
import { DescribeTableCommand, type DescribeTableCommandOutput, type DynamoDBClient, ResourceNotFoundException } from '@aws-sdk/client-dynamodb';
import type { Config } from '../config.js';
import { hintForError } from '../environment-hints.js';
import { tableDefinition } from '../store/table.js';
import { type CheckResult, describeError, errorNameOf, fail, isAccessDenied, ok } from './results.js';

export interface TableCheck {
  result: CheckResult;
  /** The table's ARN when it exists (for the permission simulation). */
  tableArn?: string;
  indexNames: string[];
}

/**
 * The table exists, is ACTIVE, and has every index `tableDefinition()` describes, all ACTIVE.
 * `createdAtStart`: the embedded store, where the bot creates a missing table itself.
 */
export async function checkTable(
  dynamo: DynamoDBClient,
  options: { tableName: string; store: Config['store']; createdAtStart?: boolean },
): Promise<TableCheck> {
  const { tableName, store } = options;
  const title = `DynamoDB table ${tableName} (STORE=${store})`;
  const expected = (tableDefinition(tableName).GlobalSecondaryIndexes ?? []).map((i) => i.IndexName ?? '');
  let table: NonNullable<DescribeTableCommandOutput['Table']>;
  try {
    const out = await dynamo.send(new DescribeTableCommand({ TableName: tableName }));
    table = out.Table ?? {};
  } catch (err) {
    if (err instanceof ResourceNotFoundException || errorNameOf(err) === 'ResourceNotFoundException') {
      if (options.createdAtStart) return { result: ok('Store', title, 'not created yet: the bot creates it at its first start'), indexNames: [] };
      return {
        result: fail('Store', title, 'the table does not exist here', 'run npm run setup with the same environment (it creates the table and its indexes)'),
        indexNames: [],
      };
    }
    if (isAccessDenied(err))
      return {
        result: fail(
          'Store',
          title,
          `DescribeTable was refused: ${describeError(err)}`,
          'give the bot dynamodb:DescribeTable and item access on the table and its indexes',
        ),
        indexNames: [],
      };
    const hint = hintForError(err, { service: 'DynamoDB' });
    if (hint) return { result: fail('Store', title, `could not read the table: ${hint.problem}`, hint.fix), indexNames: [] };
    return {
      result: fail(
        'Store',
        title,
        `could not read the table: ${describeError(err)}`,
        'check the AWS credentials, AWS_REGION and AWS_ENDPOINT_URL / AWS_ENDPOINT_URL_DYNAMODB',
      ),
      indexNames: [],
    };
  }
  const present = (table.GlobalSecondaryIndexes ?? []).map((i) => i.IndexName ?? '');
  const missing = expected.filter((name) => !present.includes(name));
  const notActive = (table.GlobalSecondaryIndexes ?? []).filter((i) => (i.IndexStatus ?? 'ACTIVE') !== 'ACTIVE').map((i) => `${i.IndexName} ${i.IndexStatus}`);
  const arn = table.TableArn ? { tableArn: table.TableArn } : {};
  const upgrade = options.createdAtStart
    ? 'the embedded store cannot add indexes: move DATA_DIR aside and start the bot again'
    : 'run npm run setup (it adds missing indexes and waits until they are ACTIVE)';
  if (missing.length > 0)
    return { result: fail('Store', title, `missing index${missing.length > 1 ? 'es' : ''} ${missing.join(', ')}`, upgrade), indexNames: present, ...arn };
  if (table.TableStatus !== 'ACTIVE')
    return {
      result: fail(
        'Store',
        title,
        `the table is ${table.TableStatus ?? 'in an unknown state'}, not ACTIVE`,
        'wait until it is ACTIVE (npm run setup waits for it)',
      ),
      indexNames: present,
      ...arn,
    };
  if (notActive.length > 0)
    return {
      result: fail('Store', title, `indexes not ACTIVE yet: ${notActive.join(', ')}`, 'wait until they are ACTIVE, then run doctor again'),
      indexNames: present,
      ...arn,
    };
  return { result: ok('Store', title, `ACTIVE with all ${expected.length} indexes`), indexNames: present, ...arn };
}
