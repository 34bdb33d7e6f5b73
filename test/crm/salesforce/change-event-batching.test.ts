import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { reconcileDealsSince } from '../../../src/crm/crm-reconcile.ts';
import {
  type SalesforceInboxPayload,
  salesforceSourceId,
} from '../../../src/crm/salesforce/salesforce-change.inbox.ts';
import { setAttributions } from '../../../src/deals/deal.repository.ts';
import { acceptIntoInbox } from '../../../src/inbox/inbox.repository.ts';
import { verifyLedger } from '../../../src/ledger/ledger-verify.ts';
import { makeRevenueShareProgram } from '../../factories/program.factory.ts';
import { usingPostgres } from '../../helpers/test-database.ts';
import type { ChangeEvent } from '../../salesforce/local-salesforce-events.ts';
import { type ChangeStreamWorld, openChangeStreamWorld, userOpportunity } from './change-stream-world.ts';
import type { SalesforceTenant } from './salesforce-world.ts';

const mode = usingPostgres ? 'PostgreSQL + Redis' : 'PGlite';
const OPPORTUNITIES = 20;
const CHANNEL = '/data/OpportunityChangeEvent';

/**
 * A burst of Salesforce change events is recorded a batch at a time: a job takes the tenant's other
 * pending change events with its own and records the updates of mirrored deals together
 * (recordDealEvents). The events are stored in one transaction, as a CometD batch is.
 */
describe(`Salesforce change event bursts are recorded in batches (${mode})`, () => {
  let world: ChangeStreamWorld;
  let t: SalesforceTenant;
  const ids: string[] = [];
  let seen = 0;

  /** The org's change events since the last call, stored in the inbox in one transaction. */
  const storeNewEvents = async (): Promise<ChangeEvent[]> => {
    const events = t.org.changeEvents().slice(seen);
    seen += events.length;
    await world.runtime.db.transaction().execute((tx) =>
      acceptIntoInbox(
        tx,
        events.map((e) => ({
          source: 'salesforce',
          sourceId: salesforceSourceId(t.org.orgId, CHANNEL, e.data),
          tenantId: t.tenant.id,
          payload: { orgId: t.org.orgId, channel: CHANNEL, event: e.data } satisfies SalesforceInboxPayload,
        })),
      ),
    );
    return events;
  };

  beforeAll(async () => {
    world = await openChangeStreamWorld();
    t = await world.streamingTenant();
    for (let i = 0; i < OPPORTUNITIES; i++) ids.push(userOpportunity(t.org, { Amount: 1_000 + i }));
    await storeNewEvents();
    await world.drained();
    // The mirrored deals join a program with a 10% revenue share, credited to one partner.
    const db = world.runtime.db;
    const { program, partner } = await makeRevenueShareProgram(db, t.tenant.id);
    await db.transaction().execute(async (tx) => {
      const deals = await tx
        .updateTable('deals')
        .set({ program_id: program.id })
        .where('tenant_id', '=', t.tenant.id)
        .where('crm_deal_id', 'in', ids)
        .returningAll()
        .execute();
      expect(deals).toHaveLength(OPPORTUNITIES);
      for (const deal of deals) await setAttributions(tx, deal, [{ partnerId: partner.id }]);
    });
  });
  afterAll(async () => {
    await world?.close();
  });

  it('records every update with its outcome and commissions, several opportunities to a job', async () => {
    // Every opportunity won; the first one's amount raised in a later edit; a new opportunity
    // (its creation goes one by one).
    for (const id of ids) t.org.userUpdate('Opportunity', id, { StageName: 'Closed Won' });
    t.org.userUpdate('Opportunity', ids[0]!, { Amount: 5_000 });
    const created = userOpportunity(t.org, { Amount: 777 });
    const events = await storeNewEvents();
    expect(events).toHaveLength(OPPORTUNITIES + 2);
    await world.drained();

    const rows = await world.runtime.db
      .selectFrom('inbox')
      .select(['id', 'source_id', 'outcome', 'payload'])
      .where(
        'source_id',
        'in',
        events.map((e) => salesforceSourceId(t.org.orgId, CHANNEL, e.data)),
      )
      .execute();
    expect(rows).toHaveLength(events.length);
    const recordOf = (row: (typeof rows)[number]) =>
      (row.payload as SalesforceInboxPayload).event.payload.ChangeEventHeader.recordIds[0];
    for (const row of rows) expect(row.outcome?.replace(/ \(with \d+\)$/, '')).toBe('applied');
    expect((await world.deal(created))?.amount).toBe(77_700n);

    // Every deal won, owing 10% of its latest amount (the raise can be recorded after the win, by
    // another job: the first line is then clawed back and accrued again).
    const lines = await world.runtime.db
      .selectFrom('commission_lines')
      .innerJoin('deals', 'deals.id', 'commission_lines.deal_id')
      .select(['deals.crm_deal_id', 'commission_lines.amount'])
      .where('commission_lines.tenant_id', '=', t.tenant.id)
      .execute();
    const owed = new Map<string, bigint>();
    for (const line of lines) owed.set(line.crm_deal_id, (owed.get(line.crm_deal_id) ?? 0n) + line.amount);
    expect(owed.size).toBe(OPPORTUNITIES);
    ids.forEach((id, i) => {
      expect(owed.get(id)).toBe(BigInt(i === 0 ? 5_000 : 1_000 + i) * 10n);
      expect(owed.get(id)).toBeGreaterThan(0n);
    });
    for (const id of ids) expect((await world.deal(id))?.stage_category).toBe('won');
    expect((await verifyLedger(world.runtime.db, { tenantId: t.tenant.id })).ok).toBe(true);

    // Batched: some update was recorded by the job of another opportunity's event.
    const recordOfId = new Map(rows.map((r) => [String(r.id), recordOf(r)]));
    const byOther = rows.filter((r) => {
      const by = r.outcome?.match(/ \(with (\d+)\)$/)?.[1];
      return by !== undefined && recordOfId.get(by) !== recordOf(r);
    });
    expect(byOther.length).toBeGreaterThan(0);
  });

  it('keeps a change the engine refuses with its reason, recording the others of the burst and later ones', async () => {
    // 10^10 dollars at a rate of 100,000,000: 10^20 minor units, beyond a 64-bit ledger line.
    const db = world.runtime.db;
    const absurd = await makeRevenueShareProgram(db, t.tenant.id, { rate: '100000000' });
    const usual = await makeRevenueShareProgram(db, t.tenant.id);
    const huge = userOpportunity(t.org, { Amount: 10_000_000_000 });
    const fine = [userOpportunity(t.org, { Amount: 300 }), userOpportunity(t.org, { Amount: 400 })];
    await storeNewEvents();
    await world.drained();
    await db.transaction().execute(async (tx) => {
      for (const [crmIds, of] of [
        [[huge], absurd],
        [fine, usual],
      ] as const) {
        const deals = await tx
          .updateTable('deals')
          .set({ program_id: of.program.id })
          .where('tenant_id', '=', t.tenant.id)
          .where('crm_deal_id', 'in', crmIds)
          .returningAll()
          .execute();
        for (const deal of deals) await setAttributions(tx, deal, [{ partnerId: of.partner.id }]);
      }
    });
    const outcomes = async (events: ChangeEvent[]) => {
      const rows = await db
        .selectFrom('inbox')
        .select(['source_id', 'outcome'])
        .where(
          'source_id',
          'in',
          events.map((e) => salesforceSourceId(t.org.orgId, CHANNEL, e.data)),
        )
        .execute();
      return new Map(rows.map((r) => [r.source_id, r.outcome?.replace(/ \(with \d+\)$/, '')]));
    };
    const outcomeOf = (found: Map<string, string | undefined>, event: ChangeEvent) =>
      found.get(salesforceSourceId(t.org.orgId, CHANNEL, event.data));

    t.org.userUpdate('Opportunity', fine[0]!, { StageName: 'Closed Won' });
    t.org.userUpdate('Opportunity', huge, { StageName: 'Closed Won' });
    t.org.userUpdate('Opportunity', fine[1]!, { StageName: 'Closed Won' });
    const burst = await storeNewEvents();
    await world.drained();
    const found = await outcomes(burst);
    expect(outcomeOf(found, burst[0]!)).toBe('applied');
    expect(outcomeOf(found, burst[1]!)).toMatch(
      /^refused: Invalid ledger transactions?: .*must fit a 64-bit integer/,
    );
    expect(outcomeOf(found, burst[2]!)).toBe('applied');
    expect((await world.deal(huge))?.stage_category).toBe('open');
    for (const id of fine) expect((await world.deal(id))?.stage_category).toBe('won');

    // A reconcile meanwhile reports the refusal with its reason and records the rest.
    const since = new Date(Date.now() - 3_600_000);
    const refusedWalk = await reconcileDealsSince(db, world.runtime.services, t.tenant.id, since);
    if (!refusedWalk.ok) throw new Error(refusedWalk.error.message);
    const refusals = Object.keys(refusedWalk.value.outcomes).filter((o) => o.startsWith('refused: '));
    expect(refusals).toHaveLength(1);
    expect(refusedWalk.value.outcomes[refusals[0]!]).toBe(1);

    // Later: the amount corrected in Salesforce (recorded; the deal is still open here), another
    // deal goes on as usual, and the next reconcile brings the win.
    t.org.userUpdate('Opportunity', huge, { Amount: 12 });
    t.org.userUpdate('Opportunity', fine[0]!, { Amount: 350 });
    const later = await storeNewEvents();
    await world.drained();
    const after = await outcomes(later);
    for (const event of later) expect(outcomeOf(after, event)).toBe('applied');
    expect((await world.deal(huge))?.stage_category).toBe('open');
    const walk = await reconcileDealsSince(db, world.runtime.services, t.tenant.id, since);
    if (!walk.ok) throw new Error(walk.error.message);
    expect(Object.keys(walk.value.outcomes).some((o) => o.startsWith('refused'))).toBe(false);
    expect((await world.deal(huge))?.stage_category).toBe('won');
    const lines = await db
      .selectFrom('commission_lines')
      .innerJoin('deals', 'deals.id', 'commission_lines.deal_id')
      .select(['deals.crm_deal_id', 'commission_lines.amount'])
      .where('deals.crm_deal_id', 'in', [huge, ...fine])
      .execute();
    const owed = (id: string) => lines.filter((l) => l.crm_deal_id === id).reduce((s, l) => s + l.amount, 0n);
    expect(owed(huge)).toBe(1_200n * 100_000_000n);
    expect(owed(fine[0]!)).toBe(3_500n);
    expect(owed(fine[1]!)).toBe(4_000n);
    expect((await verifyLedger(db, { tenantId: t.tenant.id })).ok).toBe(true);
  });
});
