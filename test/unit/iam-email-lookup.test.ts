/**
 * AwsIamGateway.findUserByEmailTag: the index of IAM users by their `email` tag, built by paging
 * ListUsers and ListUserTags, shared between concurrent lookups, cached (five minutes for hits, a
 * minute for misses), never kept when a build fails, and refusing an email two users are tagged with.
 */
import { ListUsersCommand, ListUserTagsCommand } from '@aws-sdk/client-iam';
import { beforeEach, describe, expect, it } from 'vitest';
import { AmbiguousMappingError, IamUnavailableError } from '../../src/aws/iam.js';
import { awsError, CREATED, gatewayRig, noSuchEntity } from '../support/iam-mock.js';

let { iamMock, clock, gateway } = gatewayRig();
beforeEach(() => {
  ({ iamMock, clock, gateway } = gatewayRig());
});

describe('AwsIamGateway.findUserByEmailTag', () => {
  const users: Record<string, { pages: { Key: string; Value: string }[][] }> = {
    alice: { pages: [[{ Key: 'team', Value: 'finance' }]] },
    'bob.smith': {
      pages: [[{ Key: 'team', Value: 'ops' }], [{ Key: 'email', Value: 'Bob.Smith@Corp.com' }]],
    },
    carol: { pages: [[{ Key: 'email', Value: 'carol@corp.com' }]] },
    'role-less': { pages: [[]] },
  };

  function setUpDirectory() {
    iamMock.on(ListUsersCommand).callsFake((input: { Marker?: string }) => {
      const user = (UserName: string) => ({
        UserName,
        UserId: `AIDA${UserName}`,
        Arn: `arn:aws:iam::123456789012:user/${UserName}`,
        Path: '/',
        CreateDate: CREATED,
      });
      return input.Marker === 'u2'
        ? { Users: [user('carol'), user('role-less')], IsTruncated: false }
        : { Users: [user('alice'), user('bob.smith')], IsTruncated: true, Marker: 'u2' };
    });
    iamMock.on(ListUserTagsCommand).callsFake((input: { UserName: string; Marker?: string }) => {
      const pages = users[input.UserName]?.pages ?? [[]];
      const index = input.Marker ? Number(input.Marker) : 0;
      const more = index + 1 < pages.length;
      return { Tags: pages[index] ?? [], IsTruncated: more, ...(more ? { Marker: String(index + 1) } : {}) };
    });
  }

  it('pages ListUsers and ListUserTags to find the user tagged with the email, case-insensitively', async () => {
    setUpDirectory();
    await expect(gateway.findUserByEmailTag('bob.smith@corp.com')).resolves.toBe('bob.smith');
    expect(iamMock.commandCalls(ListUsersCommand)).toHaveLength(2);
    const tagCalls = iamMock.commandCalls(ListUserTagsCommand).map((c) => c.args[0].input);
    expect(tagCalls.filter((i) => i.UserName === 'bob.smith')).toHaveLength(2);
    expect(tagCalls.map((i) => i.UserName).sort()).toEqual(['alice', 'bob.smith', 'bob.smith', 'carol', 'role-less']);
  });

  it('finds a user on the second ListUsers page', async () => {
    setUpDirectory();
    await expect(gateway.findUserByEmailTag('CAROL@corp.com')).resolves.toBe('carol');
  });

  it('caches the index: a second lookup makes no new IAM calls', async () => {
    setUpDirectory();
    await expect(gateway.findUserByEmailTag('bob.smith@corp.com')).resolves.toBe('bob.smith');
    const callsAfterFirst = iamMock.calls().length;
    expect(callsAfterFirst).toBeGreaterThan(0);
    clock.advance(60_000);
    await expect(gateway.findUserByEmailTag('carol@corp.com')).resolves.toBe('carol');
    await expect(gateway.findUserByEmailTag('bob.smith@corp.com')).resolves.toBe('bob.smith');
    expect(iamMock.calls()).toHaveLength(callsAfterFirst);
  });

  it('rebuilds the index once the cache is older than five minutes', async () => {
    setUpDirectory();
    await gateway.findUserByEmailTag('carol@corp.com');
    const callsAfterFirst = iamMock.calls().length;
    clock.advance(5 * 60_000 + 1);
    await expect(gateway.findUserByEmailTag('carol@corp.com')).resolves.toBe('carol');
    expect(iamMock.calls().length).toBeGreaterThan(callsAfterFirst);
  });

  it('returns undefined for an email nobody is tagged with', async () => {
    setUpDirectory();
    await expect(gateway.findUserByEmailTag('alice@corp.com')).resolves.toBeUndefined();
  });

  it('raises IamUnavailableError when the users cannot be listed', async () => {
    iamMock.on(ListUsersCommand).rejects(awsError('AccessDenied', 'not authorized to perform: iam:ListUsers'));
    await expect(gateway.findUserByEmailTag('bob.smith@corp.com')).rejects.toBeInstanceOf(IamUnavailableError);
  });

  /** One build of the directory above: two ListUsers pages, five ListUserTags pages. */
  const builds = () => iamMock.commandCalls(ListUsersCommand).length / 2;

  it('shares one build between 20 concurrent lookups', async () => {
    setUpDirectory();
    const emails = Array.from({ length: 20 }, (_, i) => (i % 2 ? 'carol@corp.com' : `nobody${i}@corp.com`));
    const found = await Promise.all(emails.map((e) => gateway.findUserByEmailTag(e)));
    expect(found.filter(Boolean)).toEqual(Array(10).fill('carol'));
    expect(iamMock.commandCalls(ListUsersCommand)).toHaveLength(2);
    expect(iamMock.commandCalls(ListUserTagsCommand)).toHaveLength(5);
  });

  it('answers repeated misses within a minute from the index, without listing the account again', async () => {
    setUpDirectory();
    await expect(gateway.findUserByEmailTag('nobody@corp.com')).resolves.toBeUndefined();
    for (let i = 0; i < 10; i++) {
      clock.advance(5_000);
      await expect(gateway.findUserByEmailTag(`nobody${i}@corp.com`)).resolves.toBeUndefined();
      await expect(gateway.findUserByEmailTag('nobody@corp.com')).resolves.toBeUndefined();
    }
    expect(builds()).toBe(1);
    expect(iamMock.commandCalls(ListUserTagsCommand)).toHaveLength(5);
    // Past the minute a miss may be a newly tagged user: one rebuild, then misses are cached again.
    clock.advance(10_001);
    await expect(gateway.findUserByEmailTag('nobody@corp.com')).resolves.toBeUndefined();
    await expect(gateway.findUserByEmailTag('someone@corp.com')).resolves.toBeUndefined();
    expect(builds()).toBe(2);
  });

  it('serves hits from the index between misses, and refreshes a hit once the index is five minutes old', async () => {
    setUpDirectory();
    await expect(gateway.findUserByEmailTag('carol@corp.com')).resolves.toBe('carol');
    clock.advance(30_000);
    await expect(gateway.findUserByEmailTag('nobody@corp.com')).resolves.toBeUndefined();
    clock.advance(4 * 60_000);
    await expect(gateway.findUserByEmailTag('carol@corp.com')).resolves.toBe('carol');
    expect(builds()).toBe(1);

    users.carol = { pages: [[{ Key: 'team', Value: 'left' }]] };
    users.alice = { pages: [[{ Key: 'email', Value: 'carol@corp.com' }]] };
    try {
      clock.advance(30_001);
      await expect(gateway.findUserByEmailTag('carol@corp.com')).resolves.toBe('alice');
      expect(builds()).toBe(2);
    } finally {
      users.carol = { pages: [[{ Key: 'email', Value: 'carol@corp.com' }]] };
      users.alice = { pages: [[{ Key: 'team', Value: 'finance' }]] };
    }
  });

  it('refuses two IAM users tagged with one email (case-insensitively) as an ambiguous mapping, in plain words', async () => {
    setUpDirectory();
    users.alice = { pages: [[{ Key: 'email', Value: 'CAROL@Corp.com' }]] };
    try {
      const err = await gateway.findUserByEmailTag('Carol@corp.com').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(AmbiguousMappingError);
      const ambiguous = err as AmbiguousMappingError;
      expect(ambiguous.name).toBe('AmbiguousMappingError');
      expect(ambiguous.email).toBe('carol@corp.com');
      expect([...ambiguous.userNames].sort()).toEqual(['alice', 'carol']);
      expect(ambiguous.detail).toMatch(/^IAM users (alice and carol|carol and alice) are both tagged email=carol@corp\.com/);
      // The employee is not told other people's IAM user names.
      expect(ambiguous.message).not.toMatch(/alice|carol@/);
      expect(ambiguous.message).toContain('/request-billing link');
      expect(ambiguous.message).not.toMatch(/[`*<>]/);
      // Other addresses still resolve from the same index.
      await expect(gateway.findUserByEmailTag('bob.smith@corp.com')).resolves.toBe('bob.smith');
      expect(builds()).toBe(1);
    } finally {
      users.alice = { pages: [[{ Key: 'team', Value: 'finance' }]] };
    }
  });

  it('does not keep a failed build: every waiter hears of the failure, and the next lookup lists again', async () => {
    iamMock.on(ListUsersCommand).rejects(awsError('Throttling', 'Rate exceeded'));
    const results = await Promise.allSettled([gateway.findUserByEmailTag('carol@corp.com'), gateway.findUserByEmailTag('carol@corp.com')]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    expect(results.map((r) => (r.status === 'rejected' ? r.reason : undefined))).toEqual([expect.any(IamUnavailableError), expect.any(IamUnavailableError)]);
    expect(iamMock.commandCalls(ListUsersCommand)).toHaveLength(1);
    setUpDirectory();
    await expect(gateway.findUserByEmailTag('carol@corp.com')).resolves.toBe('carol');
  });

  it('skips a user deleted while the index is built', async () => {
    setUpDirectory();
    iamMock.on(ListUserTagsCommand, { UserName: 'alice' }).rejects(noSuchEntity('The user with name alice cannot be found.'));
    await expect(gateway.findUserByEmailTag('carol@corp.com')).resolves.toBe('carol');
  });
});
