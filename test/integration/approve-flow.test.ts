import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { groupsOf } from '../../testkit/iam-fixtures.js';
import { workerAwsEndpoint } from '../support/aws-endpoint.js';
import { Harness, PEOPLE } from '../support/harness.js';

describe('request by text, approve, grant', () => {
  let h: Harness;
  beforeEach(async () => {
    // The whole flow once with both IAM and DynamoDB on moto_server.
    h = await Harness.start({ awsEndpoint: workerAwsEndpoint(), store: 'moto' });
  });
  afterEach(async () => {
    await h.stop();
  });

  it('adds the IAM user to the group, updates the admin message and DMs the requester', async () => {
    const request = await h.requestByText(PEOPLE.employee.id, 'read-only 7d month-end close for October');
    expect(request.status).toBe('PENDING');
    expect(request.iamUserName).toBe('jane.doe');
    const [posted] = h.adminMessages();
    expect(posted?.text).toContain('read-only');
    expect(JSON.stringify(posted?.blocks)).toContain('Approve');

    const res = await h.click(PEOPLE.admin1.id, 'approve', request.id);
    expect(res.status).toBe(200);
    const active = await h.waitForStatus(request.id, 'ACTIVE');
    expect(active.decidedBy).toBe(PEOPLE.admin1.id);
    expect(active.expiresAt).toBeTruthy();
    expect(await groupsOf(h.iam, 'jane.doe')).toContain('BillingReadOnly');
    expect(h.iamProxy.count('AddUserToGroup')).toBe(1);
    await h.slack.waitFor(() => h.dms(PEOPLE.employee.id).length === 1);
    await h.idle();
    const updated = h.adminMessages()[0];
    expect(updated?.text).toContain(`Approved by <@${PEOPLE.admin1.id}>`);
    expect(JSON.stringify(updated?.blocks)).not.toContain('"Approve"');
    const events = await h.bot.deps.store.auditEvents(request.id);
    expect(events.map((e) => e.to)).toEqual(['PENDING', 'APPROVED', 'ACTIVE']);
  });
});
