import { readdir } from 'node:fs/promises';
import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { describe, expect, it } from 'vitest';
import { groupsOf } from '../../testkit/iam-fixtures.js';
import { PEOPLE } from '../support/harness.js';
import { buttonLabels, useHarness } from '../support/scenario-helpers.js';

describe('embedded store (dynalite in DATA_DIR), IAM on moto', () => {
  const harness = useHarness({ store: 'embedded' });

  it('text request → approve → ACTIVE, with the user in the group and the audit trail in the embedded store', async () => {
    const h = harness();
    expect(h.bot.deps.config.store).toBe('embedded');
    expect(h.bot.deps.config.dataDir).not.toBe('');

    const request = await h.requestByText(PEOPLE.employee.id, 'read-only 7d month-end close for October');
    expect(request.status).toBe('PENDING');
    expect(request.iamUserName).toBe('jane.doe');
    expect(buttonLabels(h.adminMessages()[0])).toEqual(['Approve', 'Deny']);

    const res = await h.click(PEOPLE.admin1.id, 'approve', request.id);
    expect(res.status).toBe(200);
    const active = await h.waitForStatus(request.id, 'ACTIVE');
    expect(active.decidedBy).toBe(PEOPLE.admin1.id);
    expect(Date.parse(active.expiresAt ?? '')).toBeGreaterThan(Date.now());
    expect(await groupsOf(h.iam, 'jane.doe')).toContain('BillingReadOnly');
    expect(h.iamProxy.count('AddUserToGroup')).toBe(1);

    await h.slack.waitFor(() => h.dms(PEOPLE.employee.id).length === 1);
    await h.idle();
    const updated = h.adminMessages()[0];
    expect(updated?.text).toContain(`Approved by <@${PEOPLE.admin1.id}>`);
    expect(buttonLabels(updated)).not.toContain('Approve');
    const events = await h.bot.deps.store.auditEvents(request.id);
    expect(events.map((e) => e.to)).toEqual(['PENDING', 'APPROVED', 'ACTIVE']);
    expect((await h.requestsOf(PEOPLE.employee.id)).map((r) => r.id)).toEqual([request.id]);

    // The requests live in DATA_DIR, not in the emulator that serves IAM.
    expect((await readdir(h.bot.deps.config.dataDir)).length).toBeGreaterThan(0);
    const moto = new DynamoDBClient({});
    try {
      expect((await moto.send(new ListTablesCommand({}))).TableNames ?? []).not.toContain(h.bot.deps.config.tableName);
    } finally {
      moto.destroy();
    }
  });
});
