import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addRuleVersion, createPlan } from '../../../src/commissions/commission-plan.repository.ts';
import { accountBalance } from '../../../src/ledger/account.repository.ts';
import { verifyLedger } from '../../../src/ledger/ledger-verify.ts';
import { createApiKey } from '../../../src/tenants/api-key.service.ts';
import { makePartner } from '../../factories/partner.factory.ts';
import { makeEnrolment, makeProgram } from '../../factories/program.factory.ts';
import { usingPostgres } from '../../helpers/test-database.ts';
import { sleep, waitFor } from '../../helpers/wait-for.ts';
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
  let headers: (role: 'admin' | 'sales_rep') => { authorization: string };
  let programId: string;
  let parentId: string;
  let partnerId: string;

  beforeAll(async () => {
    world = await openChangeStreamWorld();
    const installed = await world.install();
    expect(installed.status, installed.body).toBe(200);
    tenantId = installed.tenantId;
    const db = world.runtime.db;
    const keys = {
      admin: (await createApiKey(db, { tenantId, role: 'admin', name: 'admin' })).key,
      sales_rep: (await createApiKey(db, { tenantId, role: 'sales_rep', name: 'rep' })).key,
    };
    headers = (role) => ({ authorization: `Bearer ${keys[role]}` });
    const program = await makeProgram(db, tenantId, { currency: 'USD', holdDays: 30 });
    programId = program.id;
    parentId = (await makePartner(db, tenantId, { name: 'Lead Agency' })).id;
    partnerId = (await makePartner(db, tenantId, { name: 'Acme Referrals', parentId })).id;
    await makeEnrolment(db, tenantId, programId, partnerId);
    await db.transaction().execute(async (tx) => {
      const plan = await createPlan(tx, { tenantId, programId, name: 'Revenue share' });
      const rule = { tenantId, planId: plan.id, conditions: {}, effectiveFrom: new Date('2020-01-01Z') };
      await addRuleVersion(tx, { ...rule, ruleKey: 'share', type: 'revenue_share', config: { rate: '0.1' } });
      await addRuleVersion(tx, {
        ...rule,
        ruleKey: 'override',
        type: 'override',
        config: { basis: 'commission', levels: ['0.1'] },
      });
    });
    const streams = world.startStreams();
    await waitFor('the org streamed', () => streams.tenants().includes(tenantId));
  });
  afterAll(async () => {
    await world?.close();
  });

  const pending = (id: string) =>
    accountBalance(world.runtime.db, tenantId, {
      kind: 'partner_pending',
      partnerId: id,
      programId,
      currency: 'USD',
    });
  /** Lines holding money now: not clawbacks, not cancelled, not reversed. */
  const liveLines = async (crmDealId: string) => {
    const lines = await world.runtime.db
      .selectFrom('commission_lines')
      .innerJoin('deals', 'deals.id', 'commission_lines.deal_id')
      .selectAll('commission_lines')
      .where('deals.tenant_id', '=', tenantId)
      .where('deals.crm_deal_id', '=', crmDealId)
      .execute();
    const reversed = new Set(lines.map((l) => l.reverses_line_id).filter(Boolean));
    const live = lines.filter(
      (l) => l.kind !== 'clawback' && l.status !== 'cancelled' && !reversed.has(l.id),
    );
    return {
      all: lines,
      live: live
        .map((l) => [l.partner_id, l.kind, BigInt(l.amount)] as const)
        .sort((a, b) => (a[2] > b[2] ? -1 : 1)),
    };
  };

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
