/**
 * The weekly summary's bookkeeping in the table: when the table was first used, and each
 * period's claim (a conditional write keyed by the schedule's firing time) and its posting.
 */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { ulid } from 'ulid';
import type { PeriodClaim, SummaryStore } from '../services/ports.js';
import { installKey, periodKey } from './keys.js';

export class DynamoPeriodStore implements Pick<SummaryStore, 'firstStartedAt' | 'getPeriod' | 'claimPeriod' | 'markPeriodPosted'> {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async firstStartedAt(now: string): Promise<string> {
    try {
      await this.doc.send(
        new PutCommand({ TableName: this.tableName, Item: { ...installKey(), firstStartedAt: now }, ConditionExpression: 'attribute_not_exists(pk)' }),
      );
      return now;
    } catch (err) {
      if (!(err instanceof ConditionalCheckFailedException)) throw err;
    }
    const out = await this.doc.send(new GetCommand({ TableName: this.tableName, Key: installKey(), ConsistentRead: true }));
    return String(out.Item?.firstStartedAt ?? now);
  }

  async getPeriod(firingAt: string): Promise<PeriodClaim | undefined> {
    const out = await this.doc.send(new GetCommand({ TableName: this.tableName, Key: periodKey(firingAt), ConsistentRead: true }));
    if (!out.Item) return undefined;
    const { claimedBy, claimedAt, posted, postedAt } = out.Item as PeriodClaim;
    return { firingAt, claimedBy, claimedAt, posted: Boolean(posted), ...(postedAt ? { postedAt } : {}) };
  }

  async claimPeriod(firingAt: string, claimant: string, now: string, staleBefore: string): Promise<boolean> {
    // Names this call's claim: a retried put whose first attempt landed (its answer lost) finds it.
    const claimId = ulid();
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { ...periodKey(firingAt), firingAt, claimedBy: claimant, claimedAt: now, posted: false, claimId },
          // Unclaimed, or claimed by a replica that never posted (it crashed) long enough ago.
          ConditionExpression: 'attribute_not_exists(pk) OR (posted = :no AND claimedAt < :stale)',
          ExpressionAttributeValues: { ':no': false, ':stale': staleBefore },
        }),
      );
      return true;
    } catch (err) {
      if (!(err instanceof ConditionalCheckFailedException)) throw err;
    }
    const out = await this.doc.send(new GetCommand({ TableName: this.tableName, Key: periodKey(firingAt), ConsistentRead: true }));
    return out.Item?.claimId === claimId && out.Item.posted === false;
  }

  async markPeriodPosted(firingAt: string, claimant: string, now: string): Promise<void> {
    await this.doc.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: periodKey(firingAt),
        UpdateExpression: 'SET posted = :yes, postedAt = :now',
        ConditionExpression: 'claimedBy = :me',
        ExpressionAttributeValues: { ':yes': true, ':now': now, ':me': claimant },
      }),
    );
  }
}
