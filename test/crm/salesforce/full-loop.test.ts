import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyLedger } from '../../../src/ledger/ledger-verify.ts';
import { usingPostgres } from '../../helpers/test-database.ts';
import { sleep, waitFor } from '../../helpers/wait-for.ts';
import { type LoopTenant, setUpLoopTenant } from '../crm-loop-tenant.ts';
import { type ChangeStreamWorld, openChangeStreamWorld } from './change-stream-world.ts';

const mode = usingPostgres ? 'PostgreSQL + Redis' : 'PGlite';

/**
 * The whole loop through the real app, the real jobs and the local Salesforce: the OAuth install,
 * a registration approved, the opportunity written to Salesforce, stage changes coming back as
 * change events through CometD, the ledger accruing and reversing, the note on the opportunity.
 */
describe(`the Salesforce loop, install to ledger (${mode})`, () => {
  let world: ChangeStreamWorld;
  let tenantId: string;
  let loop: LoopTenant;
  let headers: LoopTenant['headers'];
  let programId: string;
  let parentId: string;
  let partnerId: string;

  beforeAll(async () => {
    world = await openChangeStreamWorld();
    const installed = await world.install();
    expect(installed.status, installed.body).toBe(200);
    tenantId = installed.tenantId;
    loop = await setUpLoopTenant(world.runtime.db, tenantId);
    ({ headers, programId, parentId, partnerId } = loop);
    const streams = world.startStreams();
    await waitFor('the org streamed', () => streams.tenants().includes(tenantId));
  });
  afterAll(async () => {
    await world?.close();
  });

  const pending = (id: string) => loop.pending(id);
  const liveLines = (crmDealId: string) => loop.liveLines(crmDealId);

  it('install → approved registration → opportunity in Salesforce → Closed Won accrues → Closed Lost reverses exactly → note on the opportunity', async () => {
    const submitted = await world.app.inject({
      method: 'POST',
      url: '/api/v1/registrations',
      headers: headers('sales_rep'),
      payload: {
        programId,
        partnerId,
        companyName: 'Globex',
        website: 'https://www.globex.com',
        contactName: 'Hank Scorpio',
        contactEmail: 'hank@globex.com',
        estimatedValue: 1_000_000,
      },
    });
    expect(submitted.statusCode, submitted.body).toBe(201);
    const { id: registrationId } = submitted.json() as { id: string };
    const approved = await world.app.inject({
      method: 'POST',
      url: `/api/v1/registrations/${registrationId}/approve`,
      headers: headers('admin'),
    });
    expect(approved.statusCode, approved.body).toBe(200);
    const opportunityId = await waitFor(
      'the opportunity of the registration',
      async () =>
        (
          await world.runtime.db
            .selectFrom('registrations')
            .select('crm_deal_id')
            .where('id', '=', registrationId)
            .executeTakeFirstOrThrow()
        ).crm_deal_id ?? undefined,
      { timeoutMs: 20_000 },
    );
    const opportunity = world.org.records('Opportunity').find((o) => o.Id === opportunityId);
    expect(opportunity).toMatchObject({ Amount: 10_000 });
    expect(String(opportunity?.Name)).toContain('Globex');

    // Salesforce tells us of our own writes too: their change events are skipped, nothing accrues.
    const echoes = await waitFor('the echo of our writes processed', async () => {
      const rows = await world.runtime.db
        .selectFrom('inbox')
        .select(['outcome', 'processed_at'])
        .where('tenant_id', '=', tenantId)
        .where('source', '=', 'salesforce')
        .execute();
      return rows.length > 0 && rows.every((r) => r.processed_at) ? rows : undefined;
    });
    expect(echoes.every((e) => e.outcome?.startsWith('skipped: own write'))).toBe(true);
    expect((await liveLines(opportunityId)).live).toEqual([]);

    // A sales rep closes the opportunity in Salesforce.
    await sleep(5);
    world.org.userUpdate('Opportunity', opportunityId, { StageName: 'Closed Won' });
    await waitFor('the commission accrued', async () => (await liveLines(opportunityId)).live.length === 2, {
      timeoutMs: 20_000,
    });
    expect((await liveLines(opportunityId)).live).toEqual([
      [partnerId, 'commission', 100_000n],
      [parentId, 'override', 10_000n],
    ]);
    expect(await pending(partnerId)).toBe(100_000n);
    expect(await pending(parentId)).toBe(10_000n);
    const published = await world.runtime.db
      .selectFrom('outbox')
      .select('payload')
      .where('job_name', '=', 'events.deliver')
      .execute();
    const won = published
      .map((r) => r.payload as { type: string; data: { crmDealId?: string; commissions?: unknown } })
      .find((e) => e.type === 'deal.won' && e.data.crmDealId === opportunityId);
    expect(won?.data.commissions).toEqual(
      expect.arrayContaining([expect.objectContaining({ partnerId, amount: '100000' })]),
    );

    await sleep(5);
    world.org.userUpdate('Opportunity', opportunityId, { StageName: 'Closed Lost' });
    await waitFor('the commission reversed', async () => (await liveLines(opportunityId)).live.length === 0, {
      timeoutMs: 20_000,
    });
    const after = await liveLines(opportunityId);
    const clawbacks = after.all.filter((l) => l.kind === 'clawback' || BigInt(l.amount) < 0n);
    expect(clawbacks.map((l) => BigInt(l.amount)).sort()).toEqual([-100_000n, -10_000n].sort());
    expect(await pending(partnerId)).toBe(0n);
    expect(await pending(parentId)).toBe(0n);
    expect(await verifyLedger(world.runtime.db, { tenantId })).toMatchObject({ ok: true });

    const note = await waitFor(
      'a note on the opportunity',
      () =>
        world.org
          .records('Task')
          .find(
            (task) => task.WhatId === opportunityId && String(task.Description).includes('Acme Referrals'),
          ),
      { timeoutMs: 20_000 },
    );
    expect(note.Status).toBe('Completed');
  });
});
