/**
 * Identity links (`link <@user> <iam-user>`): one IAM user, one Slack user. Each link has a
 * claim item on its IAM user (compared case-insensitively, as IAM does) that is written first.
 */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, GetCommand, PutCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { sameIamUser } from '../domain/iam-user.js';
import { LinkConflictError } from '../errors.js';
import type { IdentityLink, RequestStore } from '../services/ports.js';
import type { DocumentSender } from './document-client.js';
import { linkedIamKey, linkKey } from './keys.js';
import { ORPHANED_LOCK_MS } from './slot-locks.js';

export class DynamoLinkStore implements Pick<RequestStore, 'getLink' | 'linkHolder' | 'putLink'> {
  constructor(
    private readonly doc: DocumentSender,
    private readonly tableName: string,
  ) {}

  async getLink(userId: string): Promise<IdentityLink | undefined> {
    const out = await this.doc.send(new GetCommand({ TableName: this.tableName, Key: linkKey(userId), ConsistentRead: true }));
    if (!out.Item) return undefined;
    const { iamUserName, linkedBy, linkedAt } = out.Item as IdentityLink;
    return { userId, iamUserName, linkedBy, linkedAt };
  }

  async linkHolder(iamUserName: string): Promise<IdentityLink | undefined> {
    const claim = await this.doc.send(new GetCommand({ TableName: this.tableName, Key: linkedIamKey(iamUserName), ConsistentRead: true }));
    const holderId = claim.Item?.userId as string | undefined;
    if (!holderId) return undefined;
    // The claim is written before the link and removed after a re-link: it counts only while the link agrees.
    const link = await this.getLink(holderId);
    return link && sameIamUser(link.iamUserName, iamUserName) ? link : undefined;
  }

  /**
   * One IAM user, one Slack user: the IAM user is claimed first (a conditional write that also
   * takes over a claim its holder's link no longer backs), then the link is written, then the
   * user's previous claim is released.
   */
  async putLink(link: IdentityLink): Promise<void> {
    const previous = await this.getLink(link.userId);
    await this.claimIamUser(link);
    await this.doc.send(new PutCommand({ TableName: this.tableName, Item: { ...linkKey(link.userId), entity: 'link', ...link } }));
    if (previous && !sameIamUser(previous.iamUserName, link.iamUserName)) {
      try {
        await this.doc.send(
          new DeleteCommand({
            TableName: this.tableName,
            Key: linkedIamKey(previous.iamUserName),
            ConditionExpression: 'userId = :me',
            ExpressionAttributeValues: { ':me': link.userId },
          }),
        );
      } catch (err) {
        if (!(err instanceof ConditionalCheckFailedException)) throw err;
      }
    }
  }

  private async claimIamUser(link: IdentityLink): Promise<void> {
    const key = linkedIamKey(link.iamUserName);
    for (let attempt = 0; attempt < 3; attempt++) {
      const holder = await this.doc.send(new GetCommand({ TableName: this.tableName, Key: key, ConsistentRead: true }));
      const holderId = holder.Item?.userId as string | undefined;
      if (holderId && holderId !== link.userId) {
        const holderLink = await this.getLink(holderId);
        if (holderLink && sameIamUser(holderLink.iamUserName, link.iamUserName)) {
          throw new LinkConflictError(`IAM user ${link.iamUserName} is already linked to another Slack user.`, holderLink);
        }
        // A claim its holder's link does not back yet may be a link being written right now: taken over only once old.
        if (Date.now() - Number(holder.Item?.claimedAtMs ?? 0) < ORPHANED_LOCK_MS) {
          throw new LinkConflictError(`IAM user ${link.iamUserName} is being linked by someone else right now; try again in a minute.`, undefined);
        }
      }
      try {
        await this.doc.send(
          new PutCommand({
            TableName: this.tableName,
            Item: { ...key, entity: 'link-claim', userId: link.userId, iamUserName: link.iamUserName, claimedAtMs: Date.now() },
            ConditionExpression: holderId ? 'userId = :seen' : 'attribute_not_exists(pk)',
            ...(holderId ? { ExpressionAttributeValues: { ':seen': holderId } } : {}),
          }),
        );
        return;
      } catch (err) {
        if (!(err instanceof ConditionalCheckFailedException)) throw err;
      }
    }
    throw new LinkConflictError(`IAM user ${link.iamUserName} is being linked by someone else right now; try again.`, undefined);
  }
}

/** What `backfillLinkClaims` found: links now claimed, and IAM users two Slack users were linked to before links were one-to-one. */
export interface LinkBackfill {
  claimed: number;
  duplicates: { iamUserName: string; userIds: string[]; kept: string }[];
}

/**
 * Links written before links were one-to-one have no claim on their IAM user: `npm run setup`
 * claims them, once, and names the IAM users two Slack users are linked to (an admin re-links
 * one of them). A one-off scan of the link items: a migration, never a request path.
 */
export async function backfillLinkClaims(store: Pick<RequestStore, 'linkHolder' | 'putLink'>, doc: DocumentSender, tableName: string): Promise<LinkBackfill> {
  const links: IdentityLink[] = [];
  let ExclusiveStartKey: Record<string, unknown> | undefined;
  do {
    const out = await doc.send(
      new ScanCommand({
        TableName: tableName,
        FilterExpression: 'entity = :link',
        ExpressionAttributeValues: { ':link': 'link' },
        ExclusiveStartKey,
      }),
    );
    for (const item of out.Items ?? []) {
      const { userId, iamUserName, linkedBy, linkedAt } = item as IdentityLink;
      links.push({ userId, iamUserName, linkedBy, linkedAt });
    }
    ExclusiveStartKey = out.LastEvaluatedKey;
  } while (ExclusiveStartKey);
  const byUser = new Map<string, IdentityLink[]>();
  for (const link of links) {
    const key = link.iamUserName.toLowerCase();
    byUser.set(key, [...(byUser.get(key) ?? []), link]);
  }
  const result: LinkBackfill = { claimed: 0, duplicates: [] };
  for (const group of byUser.values()) {
    // With duplicates the earliest link keeps the IAM user; the others are refused until an admin re-links them.
    const [first] = [...group].sort((a, b) => (a.linkedAt < b.linkedAt ? -1 : 1));
    if (!first) continue;
    if (group.length > 1) result.duplicates.push({ iamUserName: first.iamUserName, userIds: group.map((l) => l.userId), kept: first.userId });
    const holder = await store.linkHolder(first.iamUserName);
    if (holder) continue;
    await store.putLink(first);
    result.claimed += 1;
  }
  return result;
}
