import { describe, expect, it } from 'vitest';
import { AmbiguousMappingError, IamUnavailableError, NotAllowedError } from '../../src/errors.js';
import { IdentityResolver } from '../../src/services/identity.js';
import type { SlackDirectory, SlackUserProfile } from '../../src/services/ports.js';
import { MemoryRequestStore } from '../support/memory-store.js';

const TEAM = 'T0001';

function profile(id: string, email: string, extra: Partial<SlackUserProfile> = {}): SlackUserProfile {
  return { id, teamId: TEAM, email, deleted: false, isRestricted: false, isUltraRestricted: false, isBot: false, ...extra };
}

const PEOPLE: Record<string, SlackUserProfile> = {
  U0BOSS: profile('U0BOSS', 'boss@corp.com'),
  U0ALT: profile('U0ALT', 'boss.second@corp.com'),
  U0JANE: profile('U0JANE', 'Jane.Doe@corp.com'),
  U0PARTNER: profile('U0PARTNER', 'boss@partner.com'),
};

const directory: SlackDirectory = {
  getUser: async (id) => PEOPLE[id],
  usergroupMembers: async () => [],
};

function resolver(options: { mapping?: 'email-localpart' | 'email' | 'tag'; tags?: (email: string) => Promise<string | undefined> } = {}) {
  const store = new MemoryRequestStore();
  const iam = { findUserByEmailTag: options.tags ?? (async () => undefined) };
  const identity = new IdentityResolver({
    directory,
    store,
    iam,
    mapping: options.mapping ?? 'email-localpart',
    allowedEmailDomains: ['corp.com'],
    teamId: () => TEAM,
  });
  const link = (userId: string, iamUserName: string) => store.putLink({ userId, iamUserName, linkedBy: 'U0ADMIN', linkedAt: '2030-01-01T00:00:00.000Z' });
  return { identity, store, link };
}

describe('IdentityResolver: one IAM user, one Slack user (PRODUCT §1 Identity, §3)', () => {
  it('an approver reaches their own IAM user by email or by a link from a second Slack account, whatever the case', async () => {
    const { identity, link } = resolver();
    expect(await identity.isOwnIamUser('U0BOSS', 'boss')).toBe(true);
    expect(await identity.isOwnIamUser('U0BOSS', 'BOSS')).toBe(true);
    expect(await identity.isOwnIamUser('U0ALT', 'boss')).toBe(false);
    await link('U0ALT', 'Boss');
    expect(await identity.isOwnIamUser('U0ALT', 'boss')).toBe(true);
    // An email outside ALLOWED_EMAIL_DOMAINS maps to no IAM user at all.
    expect(await identity.isOwnIamUser('U0PARTNER', 'boss')).toBe(false);
  });

  it('refuses a request that maps to an IAM user pinned to another Slack user', async () => {
    const { identity, link } = resolver();
    await link('U0ALT', 'boss');
    await expect(identity.resolve('U0BOSS')).rejects.toThrow(NotAllowedError);
    await expect(identity.resolve('U0BOSS')).rejects.toThrow(/linked to another Slack user/);
    expect((await identity.resolve('U0ALT')).iamUserName).toBe('boss');
  });

  it('under tag mapping, an email tagged on two IAM users counts as both for the self-approval check', async () => {
    const { identity } = resolver({
      mapping: 'tag',
      tags: async (email) => {
        throw new AmbiguousMappingError(email, ['boss', 'boss-admin']);
      },
    });
    expect(await identity.isOwnIamUser('U0BOSS', 'boss-admin')).toBe(true);
    await expect(identity.resolve('U0BOSS')).rejects.toThrow(AmbiguousMappingError);
  });

  it('a self-approval check that cannot be made (IAM unreadable under tag) throws instead of letting the approval through', async () => {
    const { identity } = resolver({
      mapping: 'tag',
      tags: async () => {
        throw new IamUnavailableError('ListUsers/ListUserTags', new Error('Throttling'));
      },
    });
    await expect(identity.isOwnIamUser('U0BOSS', 'boss')).rejects.toThrow(IamUnavailableError);
  });

  it('iamUsersOf lists the link and the mapped user, for revoke and done', async () => {
    const { identity, link } = resolver();
    await link('U0JANE', 'jane.d');
    expect(await identity.iamUsersOf('U0JANE', 'holder')).toEqual(['jane.d', 'jane.doe']);
  });
});
