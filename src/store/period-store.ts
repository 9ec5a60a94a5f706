/**
 * The weekly summary's bookkeeping in the table: when the table was first used, and each
 * period's claim (a conditional write keyed by the schedule's firing time: a lease its claimant
 * renews while it posts, taken over once it lapsed) and its posting.
 */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { PeriodClaim, SummaryStore } from '../services/ports.js';
import type { DocumentSender } from './document-client.js';
import { installKey, periodKey } from './keys.js';

/** How long a claim written before leases existed (no leaseUntil) is left to its claimant. */
const LEGACY_CLAIM_GRACE_MS = 5 * 60_000;

function legacyStaleBefore(now: string): string {
  return new Date(Date.parse(now) - LEGACY_CLAIM_GRACE_MS).toISOString();
}

export class DynamoPeriodStore implements Pick<SummaryStore, 'firstStartedAt' | 'getPeriod' | 'claimPeriod' | 'markPeriodPosted'> {
  constructor(
    private readonly doc: DocumentSender,
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
    const { claimedBy, claimedAt, leaseUntil, posted, postedAt } = out.Item as PeriodClaim;
    return { firingAt, claimedBy, claimedAt, ...(leaseUntil ? { leaseUntil } : {}), posted: Boolean(posted), ...(postedAt ? { postedAt } : {}) };
  }

  async claimPeriod(firingAt: string, claimant: string, now: string, leaseUntil: string): Promise<boolean> {
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.tableName,
          // claimedAt moves with every renewal, so a replica of a version before leases (which took over
          // claims older than five minutes) never takes over a claim that is still renewed.
          Item: { ...periodKey(firingAt), firingAt, claimedBy: claimant, claimedAt: now, leaseUntil, posted: false },
          // Unclaimed; or unposted and held by this claimant (a renewal, or a retried put whose first
          // attempt landed), or its lease lapsed (a claim from before leases: five minutes after it was made).
          ConditionExpression:
            'attribute_not_exists(pk) OR (posted = :no AND (claimedBy = :me OR leaseUntil < :now OR (attribute_not_exists(leaseUntil) AND claimedAt < :legacyStale)))',
          ExpressionAttributeValues: { ':no': false, ':me': claimant, ':now': now, ':legacyStale': legacyStaleBefore(now) },
        }),
      );
      return true;
    } catch (err) {
      if (err instanceof ConditionalCheckFailedException) return false;
      throw err;
    }
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
