import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pollTenantChangesJob } from '../../../src/crm/salesforce/poll-tenant-changes.job.ts';
import type { SalesforceStreamManager } from '../../../src/crm/salesforce/salesforce-stream-manager.ts';
import { lockOrCreateDeal, setAttributions } from '../../../src/deals/deal.repository.ts';
import { accountBalance } from '../../../src/ledger/account.repository.ts';
import { makeEnrolment, makeRevenueShareProgram } from '../../factories/program.factory.ts';
import { usingPostgres } from '../../helpers/test-database.ts';
import { sleep, waitFor } from '../../helpers/wait-for.ts';
import type { LocalSalesforce } from '../../salesforce/local-salesforce.ts';
import { type ChangeStreamWorld, openChangeStreamWorld, userOpportunity } from './change-stream-world.ts';
import type { SalesforceTenant } from './salesforce-world.ts';

const mode = usingPostgres ? 'PostgreSQL + Redis' : 'PGlite';

interface Side {
  t: SalesforceTenant;
  programId: string;
  partnerId: string;
  opportunities: string[];
}

/**
 * Two orgs live the same history, one followed by change events, the other by polling
 * SystemModstamp: their ledgers end the same, line for line.
 */
describe(`Salesforce polling fallback (${mode})`, () => {
  let world: ChangeStreamWorld;
  let cdc: Side;
  let polling: Side;
  let slot = 0;
  let manager: SalesforceStreamManager;

  async function side(org: LocalSalesforce): Promise<Side> {
    const t = await world.streamingTenant(org);
    const db = world.runtime.db;
    const { program, partner } = await makeRevenueShareProgram(db, t.tenant.id, {
      partnerName: 'Acme Referrals',
    });
    await makeEnrolment(db, t.tenant.id, program.id, partner.id);
    return { t, programId: program.id, partnerId: partner.id, opportunities: [] };
  }

  /** Credits the side's partner with its opportunities (as an approved registration would). */
  async function attribute(s: Side) {
    await world.runtime.db.transaction().execute(async (tx) => {
      for (const id of s.opportunities) {
        const deal = (await lockOrCreateDeal(tx, s.t.tenant.id, 'salesforce', id))!;
        await tx.updateTable('deals').set({ program_id: s.programId }).where('id', '=', deal.id).execute();
        await setAttributions(tx, deal, [{ partnerId: s.partnerId }]);
      }
    });
  }

  const poll = () =>
    pollTenantChangesJob.handle(
      { tenantId: polling.t.tenant.id, slot: String(slot++) },
      {
        db: world.runtime.db,
        log: world.runtime.logger,
        services: world.runtime.services,
        jobId: 'test',
        attempt: 1,
      },
    );

  /** The same user edit in both orgs; then the CDC side's events are processed and the other side polls. */
  async function both(edit: (org: LocalSalesforce, id: string) => void, index: number, pollNow = true) {
    await sleep(5);
    edit(cdc.t.org, cdc.opportunities[index]!);
    edit(polling.t.org, polling.opportunities[index]!);
    await sleep(5);
    if (pollNow) await poll();
  }

  const pending = (s: Side) =>
    accountBalance(world.runtime.db, s.t.tenant.id, {
      kind: 'partner_pending',
      partnerId: s.partnerId,
      programId: s.programId,
      currency: 'USD',
    });

  /** Each opportunity's live commission (lines not clawed back, cancelled or reversed), in the side's order. */
  async function ledger(s: Side) {
    const out: bigint[] = [];
    for (const id of s.opportunities) {
      const lines = await world.runtime.db
        .selectFrom('commission_lines')
        .innerJoin('deals', 'deals.id', 'commission_lines.deal_id')
        .selectAll('commission_lines')
        .where('deals.tenant_id', '=', s.t.tenant.id)
        .where('deals.crm_deal_id', '=', id)
        .execute();
      const reversed = new Set(lines.map((l) => l.reverses_line_id).filter(Boolean));
      const live = lines.filter(
        (l) => l.kind !== 'clawback' && l.status !== 'cancelled' && !reversed.has(l.id),
      );
      out.push(live.reduce((sum, l) => sum + BigInt(l.amount), 0n));
    }
    return out;
  }

  beforeAll(async () => {
    world = await openChangeStreamWorld();
    cdc = await side(world.org);
    polling = await side(await world.startOrg());
    const chosen = await world.app.inject({
      method: 'PATCH',
      url: '/api/v1/crm/salesforce/change-capture',
      headers: { authorization: `Bearer ${polling.t.keys.admin}` },
      payload: { mode: 'polling' },
    });
    expect(chosen.statusCode, chosen.body).toBe(200);
    expect(chosen.json()).toMatchObject({ mode: 'polling', reason: 'chosen by an admin', salesforce: true });
    manager = world.startStreams();
    await waitFor('the CDC side subscribed', () => manager.tenants().includes(cdc.t.tenant.id));
    expect(manager.tenants()).not.toContain(polling.t.tenant.id);
  });
  afterAll(async () => {
    await world?.close();
  });

  it('the same history gives the same ledger by change events and by polling', async () => {
    for (const s of [cdc, polling])
      for (const amount of [10_000, 25_000, 40_000])
        s.opportunities.push(userOpportunity(s.t.org, { Amount: amount }));
    await poll();
    await waitFor('both sides mirrored', async () => {
      for (const s of [cdc, polling])
        for (const id of s.opportunities) if (!(await world.deal(id))) return false;
      return true;
    });
    await attribute(cdc);
    await attribute(polling);

    const won = (org: LocalSalesforce, id: string) =>
      org.userUpdate('Opportunity', id, { StageName: 'Closed Won' });
    const lost = (org: LocalSalesforce, id: string) =>
      org.userUpdate('Opportunity', id, { StageName: 'Closed Lost' });
    await both(won, 0);
    await both(won, 1);
    await both((org, id) => org.userUpdate('Opportunity', id, { Amount: 30_000 }), 1);
    await both(won, 2);
    // Two changes between polls: polling sees only where the opportunity ended.
    await both(lost, 2, false);
    await both((org, id) => org.userUpdate('Opportunity', id, { Amount: 50_000 }), 2, false);
    await poll();
    await both(lost, 0);
    await both(won, 0);
    await world.drained();

    const expected = [1_000_00n, 3_000_00n, 0n];
    await waitFor('the CDC ledger settled', async () => (await ledger(cdc)).join() === expected.join());
    expect(await ledger(polling)).toEqual(expected);
    expect(await pending(polling)).toBe(await pending(cdc));
    expect(await pending(cdc)).toBe(4_000_00n);

    // Polling again reads nothing new (the overlap is deduplicated): the ledger stays.
    const events = await world.runtime.db
      .selectFrom('deal_events')
      .select((eb) => eb.fn.countAll().as('n'))
      .where('tenant_id', '=', polling.t.tenant.id)
      .executeTakeFirstOrThrow();
    await poll();
    const again = await world.runtime.db
      .selectFrom('deal_events')
      .select((eb) => eb.fn.countAll().as('n'))
      .where('tenant_id', '=', polling.t.tenant.id)
      .executeTakeFirstOrThrow();
    expect(Number(again.n)).toBe(Number(events.n));
    expect(await ledger(polling)).toEqual(expected);
  });
  it('an admin switches a tenant back to change events: bad input refused, the stream starts from what is retained', async () => {
    const headers = { authorization: `Bearer ${polling.t.keys.admin}` };
    const url = '/api/v1/crm/salesforce/change-capture';
    const bad = await world.app.inject({ method: 'PATCH', url, headers, payload: { mode: 'pubsub' } });
    expect(bad.statusCode).toBe(400);
    expect((await world.app.inject({ method: 'GET', url, headers })).json()).toMatchObject({
      mode: 'polling',
    });
    const rep = await world.app.inject({
      method: 'PATCH',
      url,
      headers: { authorization: `Bearer ${polling.t.keys.sales_rep}` },
      payload: { mode: 'cdc' },
    });
    expect(rep.statusCode).toBe(403);

    const back = await world.app.inject({ method: 'PATCH', url, headers, payload: { mode: 'cdc' } });
    expect(back.statusCode, back.body).toBe(200);
    expect(back.json()).toMatchObject({ mode: 'cdc', replayId: null, reason: 'chosen by an admin' });
    await waitFor('the tenant streamed', () => manager.tenants().includes(polling.t.tenant.id));
    const id = userOpportunity(polling.t.org, { StageName: 'Qualification' });
    await waitFor(
      'the new opportunity by change event',
      async () => (await world.deal(id))?.stage === 'Qualification',
    );
    const audit = await world.runtime.db
      .selectFrom('audit_log')
      .select('action')
      .where('tenant_id', '=', polling.t.tenant.id)
      .where('action', '=', 'crm.change_capture.changed')
      .execute();
    expect(audit).toHaveLength(2);
  });
});
