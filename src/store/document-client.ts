/**
 * The store's DynamoDB calls with items as plain objects: @aws-sdk/lib-dynamodb's Get, Put,
 * Update, Delete, Query and Scan commands, marshalled here (@aws-sdk/util-dynamodb, as lib-dynamodb
 * does) and sent through the low-level client. lib-dynamodb's own client resolves the middleware
 * stack again on every call (its commands carry per-call state, so its client cannot cache the
 * stack); the low-level client given here resolves it once per command type when it is made with
 * `cacheMiddleware: true`, as openDynamo makes it (src/aws-clients.ts), about a fifth of a call's
 * CPU. lib-dynamodb's client refuses such a client when it is built ("cacheMiddleware=true is not
 * compatible"), so DocumentTable is the bot's only way to DynamoDB
 * (test/integration/document-client.test.ts).
 */
import {
  type AttributeValue,
  DeleteItemCommand,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  QueryCommand as QueryItemsCommand,
  ScanCommand as ScanItemsCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import {
  DeleteCommand,
  type DeleteCommandOutput,
  GetCommand,
  type GetCommandOutput,
  PutCommand,
  type PutCommandOutput,
  QueryCommand,
  type QueryCommandOutput,
  ScanCommand,
  type ScanCommandOutput,
  UpdateCommand,
  type UpdateCommandOutput,
} from '@aws-sdk/lib-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';

/** What the store sends: lib-dynamodb's client and DocumentTable both do. */
export interface DocumentSender {
  send(command: GetCommand): Promise<GetCommandOutput>;
  send(command: PutCommand): Promise<PutCommandOutput>;
  send(command: UpdateCommand): Promise<UpdateCommandOutput>;
  send(command: DeleteCommand): Promise<DeleteCommandOutput>;
  send(command: QueryCommand): Promise<QueryCommandOutput>;
  send(command: ScanCommand): Promise<ScanCommandOutput>;
}

type Item = Record<string, unknown>;
type Wire = Record<string, AttributeValue>;

/** Optional attributes left undefined are not written (lib-dynamodb's `removeUndefinedValues`). */
const toWire = (item: Item): Wire => marshall(item, { removeUndefinedValues: true });
const fromWire = (item: Wire | undefined): Item | undefined => (item ? unmarshall(item) : undefined);
const maybeToWire = (item: Item | undefined): Wire | undefined => (item ? toWire(item) : undefined);
const withAttributes = <O extends { Attributes?: Wire }>(out: O) => ({ ...out, Attributes: fromWire(out.Attributes) });
const asPage = <O extends { Items?: Wire[]; LastEvaluatedKey?: Wire }>(out: O) => ({
  ...out,
  Items: out.Items?.map((i) => unmarshall(i)),
  LastEvaluatedKey: fromWire(out.LastEvaluatedKey),
});

/** The pre-expression parameters would go out unmarshalled: refused, with nothing sent. */
function expressionsOnly(legacy: Record<string, unknown>): void {
  const used = Object.keys(legacy).filter((name) => legacy[name] !== undefined);
  if (used.length) throw new Error(`DocumentTable sends expressions only (not ${used.join(' or ')})`);
}

/** The document commands the store uses, over a low-level DynamoDB client. */
export class DocumentTable implements DocumentSender {
  constructor(private readonly client: DynamoDBClient) {}

  send(command: GetCommand): Promise<GetCommandOutput>;
  send(command: PutCommand): Promise<PutCommandOutput>;
  send(command: UpdateCommand): Promise<UpdateCommandOutput>;
  send(command: DeleteCommand): Promise<DeleteCommandOutput>;
  send(command: QueryCommand): Promise<QueryCommandOutput>;
  send(command: ScanCommand): Promise<ScanCommandOutput>;
  async send(command: GetCommand | PutCommand | UpdateCommand | DeleteCommand | QueryCommand | ScanCommand): Promise<unknown> {
    if (command instanceof GetCommand) {
      const { Key, ...rest } = command.input;
      const out = await this.client.send(new GetItemCommand({ ...rest, Key: maybeToWire(Key) }));
      return { ...out, Item: fromWire(out.Item) };
    }
    if (command instanceof PutCommand) {
      const { Item: item, ExpressionAttributeValues, Expected, ...rest } = command.input;
      expressionsOnly({ Expected });
      const values = maybeToWire(ExpressionAttributeValues);
      return withAttributes(await this.client.send(new PutItemCommand({ ...rest, Item: maybeToWire(item), ExpressionAttributeValues: values })));
    }
    if (command instanceof UpdateCommand) {
      const { Key, ExpressionAttributeValues, AttributeUpdates, Expected, ...rest } = command.input;
      expressionsOnly({ AttributeUpdates, Expected });
      const values = maybeToWire(ExpressionAttributeValues);
      return withAttributes(await this.client.send(new UpdateItemCommand({ ...rest, Key: maybeToWire(Key), ExpressionAttributeValues: values })));
    }
    if (command instanceof DeleteCommand) {
      const { Key, ExpressionAttributeValues, Expected, ...rest } = command.input;
      expressionsOnly({ Expected });
      const values = maybeToWire(ExpressionAttributeValues);
      return withAttributes(await this.client.send(new DeleteItemCommand({ ...rest, Key: maybeToWire(Key), ExpressionAttributeValues: values })));
    }
    if (command instanceof QueryCommand) {
      const { ExpressionAttributeValues, ExclusiveStartKey, KeyConditions, QueryFilter, ...rest } = command.input;
      expressionsOnly({ KeyConditions, QueryFilter });
      const page = { ExpressionAttributeValues: maybeToWire(ExpressionAttributeValues), ExclusiveStartKey: maybeToWire(ExclusiveStartKey) };
      return asPage(await this.client.send(new QueryItemsCommand({ ...rest, ...page })));
    }
    if (command instanceof ScanCommand) {
      const { ExpressionAttributeValues, ExclusiveStartKey, ScanFilter, ...rest } = command.input;
      expressionsOnly({ ScanFilter });
      const page = { ExpressionAttributeValues: maybeToWire(ExpressionAttributeValues), ExclusiveStartKey: maybeToWire(ExclusiveStartKey) };
      return asPage(await this.client.send(new ScanItemsCommand({ ...rest, ...page })));
    }
    throw new Error(`DocumentTable does not send ${(command as object).constructor.name}`);
  }
}
