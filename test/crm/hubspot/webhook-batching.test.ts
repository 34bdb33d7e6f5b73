import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lockOrCreateDeal, setAttributions } from '../../../src/deals/deal.repository.ts';
import { verifyLedger } from '../../../src/ledger/ledger-verify.ts';
import { makeRevenueShareProgram } from '../../factories/program.factory.ts';
import { waitFor } from '../../helpers/wait-for.ts';
import type { WebhookEvent } from '../../hubspot/local-hubspot-webhooks.ts';
import { type HubspotWorld, openHubspotWorld } from './hubspot-world.ts';

const PORTAL = 62516;
const DEALS = 24;

/**
 * A burst of HubSpot changes to deals already mirrored here is recorded a batch at a time: a job
 * takes the tenant's other pending changes of mirrored deals with its own event and records them
 * together (recordDealEvents). The events are stored before any worker runs, as in a burst.
 */
describe('HubSpot webhook bursts are recorded in batches', () => {
  let world: HubspotWorld;
  let tenantId: string;
  const deals: { id: string; crmDealId: string; amount: bigint }[] = [];

  beforeAll(async () => {
    world = await openHubspotWorld();
    tenantId = (await world.install(PORTAL)).tenantId;
    const db = world.runtime.db;
    const { program, partner } = await makeRevenueShareProgram(db, tenantId);
    await db.transaction().execute(async (tx) => {
      for (let i = 0; i < DEALS; i++) {
        const amount = `${1000 + i}`;
        const crm = world.hubspot.state.seed(PORTAL, 'deals', {
          dealname: `Burst ${i}`,
          pipeline: 'default',
          dealstage: 'contractsent',
          amount,
        });
        const deal = (await lockOrCreateDeal(tx, tenantId, 'hubspot', crm.id))!;
        await tx
          .updateTable('deals')
          .set({
            program_id: program.id,
            name: `Burst ${i}`,
            pipeline: 'default',
            stage: 'contractsent',
            stage_category: 'open',
            amount: BigInt(amount) * 100n,
            currency: 'USD',
          })
          .where('id', '=', deal.id)
          .execute();
        await setAttributions(tx, deal, [{ partnerId: partner.id }]);
        deals.push({ id: deal.id, crmDealId: crm.id, amount: BigInt(amount) * 100n });
      }
    });
  });
  afterAll(async () => {
    await world?.close();
  });

  const change = (objectId: string, propertyName: string, propertyValue: string, occurredAt: number) =>
    world.webhooks.propertyChange(PORTAL, objectId, propertyName, propertyValue, occurredAt);

  it('records every change with its outcome and commissions, several deals to a job', async () => {
    const t0 = Date.now() - 60_000;
    const won = deals.map((deal, i) => change(deal.crmDealId, 'dealstage', 'closedwon', t0 + i));
    // Deal 0's amount grew before it was won; deal 2 gets one of our own properties back; a
    // contact shares deal 3's id (its object's events then go one by one).
    const amount = change(deals[0]!.crmDealId, 'amount', '5000', t0 - 1_000);
    const own = change(deals[2]!.crmDealId, 'partnerloop_registration_status', 'approved', t0 + 100);
    const contact = world.webhooks.event({
      portalId: PORTAL,
      objectId: Number(deals[3]!.crmDealId),
      objectTypeId: '0-1',
      subscriptionType: 'object.propertyChange',
      propertyName: 'firstname',
      propertyValue: 'Ada',
      occurredAt: t0 + 200,
    });
    const events: WebhookEvent[] = [...won, amount, own, contact];
    const delivery = await world.webhooks.post(events);
    expect(delivery.status).toBe(200);
    await world.runtime.queue.startWorkers(world.runtime.registry.queues());
    world.runtime.relay.start();

    const rows = await waitFor(
      'inbox processed',
      async () => {
        const found = await world.runtime.db
          .selectFrom('inbox')
          .select(['id', 'source_id', 'processed_at', 'outcome', 'payload'])
          .where(
            'source_id',
            'in',
            events.map((e) => `${PORTAL}:${e.eventId}`),
          )
          .execute();
        return found.length === events.length && found.every((r) => r.processed_at) ? found : undefined;
      },
      { timeoutMs: 30_000 },
    );
    const outcomeOf = (event: WebhookEvent) =>
      rows.find((r) => r.source_id === `${PORTAL}:${event.eventId}`)!.outcome!.replace(/ \(with \d+\)$/, '');
    for (const event of [...won, amount]) expect(outcomeOf(event)).toBe('applied');
    expect(outcomeOf(own)).toBe('skipped: own property');
    expect(outcomeOf(contact)).toBe('ignored: not a deal');

    // Every deal won, owing 10% of its latest amount (deal 0's amount change may be recorded after
    // its win, by another job: its first line is then clawed back and accrued again).
    const lines = await world.runtime.db
      .selectFrom('commission_lines')
      .select(['deal_id', 'amount'])
      .where('tenant_id', '=', tenantId)
      .execute();
    const owed = new Map<string, bigint>();
    for (const line of lines) owed.set(line.deal_id!, (owed.get(line.deal_id!) ?? 0n) + line.amount);
    expect(owed.size).toBe(DEALS);
    deals.forEach((deal, i) => {
      expect(owed.get(deal.id)).toBe((i === 0 ? 500_000n : deal.amount) / 10n);
    });
    expect(lines.length).toBeLessThanOrEqual(DEALS + 2);
    const stages = await world.runtime.db
      .selectFrom('deals')
      .select(['stage_category'])
      .where('tenant_id', '=', tenantId)
      .execute();
    expect(stages.every((d) => d.stage_category === 'won')).toBe(true);
    expect((await verifyLedger(world.runtime.db, { tenantId })).ok).toBe(true);

    // Batched: some change was recorded by the job of another deal's event.
    const objectOf = new Map(rows.map((r) => [String(r.id), String((r.payload as WebhookEvent).objectId)]));
    const byOtherDeal = rows.filter((r) => {
      const by = r.outcome?.match(/ \(with (\d+)\)$/)?.[1];
      return by !== undefined && objectOf.get(by) !== String((r.payload as WebhookEvent).objectId);
    });
    expect(byOtherDeal.length).toBeGreaterThan(0);
  });
});
