import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lockOrCreateDeal, setAttributions } from '../../../src/deals/deal.repository.ts';
import { verifyLedger } from '../../../src/ledger/ledger-verify.ts';
import { makeRevenueShareProgram } from '../../factories/program.factory.ts';
import type { WebhookEvent } from '../../hubspot/local-hubspot-webhooks.ts';
import { type HubspotWorld, openHubspotWorld, processedOutcomes } from './hubspot-world.ts';

const PORTAL = 62517;
const DEALS = 8;

/**
 * A change the commission engine refuses (here a win whose commission, at a rate of 100,000,000,
 * is beyond what a 64-bit ledger line holds) is kept in the inbox with the reason, and holds back
 * neither the other changes of the burst it came in (recorded in the same batch) nor later ones.
 * Recorded as one batch without isolation, the refusal failed every job that took the pending
 * change, and so blocked the tenant's HubSpot changes for good.
 */
describe('HubSpot changes the engine refuses', () => {
  let world: HubspotWorld;
  let tenantId: string;
  const deals: { id: string; crmDealId: string }[] = [];
  let poison: { id: string; crmDealId: string };

  beforeAll(async () => {
    world = await openHubspotWorld();
    tenantId = (await world.install(PORTAL)).tenantId;
    const db = world.runtime.db;
    const usual = await makeRevenueShareProgram(db, tenantId);
    const absurd = await makeRevenueShareProgram(db, tenantId, { rate: '100000000' });
    const mirror = async (name: string, amount: bigint, of: typeof usual) =>
      db.transaction().execute(async (tx) => {
        const crm = world.hubspot.state.seed(PORTAL, 'deals', {
          dealname: name,
          pipeline: 'default',
          dealstage: 'contractsent',
          amount: String(amount / 100n),
        });
        const deal = (await lockOrCreateDeal(tx, tenantId, 'hubspot', crm.id))!;
        await tx
          .updateTable('deals')
          .set({
            program_id: of.program.id,
            name,
            pipeline: 'default',
            stage: 'contractsent',
            stage_category: 'open',
            amount,
            currency: 'USD',
          })
          .where('id', '=', deal.id)
          .execute();
        await setAttributions(tx, deal, [{ partnerId: of.partner.id }]);
        return { id: deal.id, crmDealId: crm.id };
      });
    for (let i = 0; i < DEALS; i++)
      deals.push(await mirror(`Usual ${i}`, 100_000n + BigInt(i) * 100n, usual));
    // 10^11 dollars at 100,000,000: 10^21 minor units, beyond 2^63 - 1.
    poison = await mirror('Absurd', 10_000_000_000_000n, absurd);
    await world.runtime.queue.startWorkers(world.runtime.registry.queues());
    world.runtime.relay.start();
  });
  afterAll(async () => {
    await world?.close();
  });

  const change = (objectId: string, propertyName: string, propertyValue: string, occurredAt: number) =>
    world.webhooks.propertyChange(PORTAL, objectId, propertyName, propertyValue, occurredAt);
  /** Waits until these events are processed; their outcomes, whichever job recorded them. */
  const processed = async (events: WebhookEvent[]) => {
    const outcomes = await processedOutcomes(world, events, 30_000);
    return (event: WebhookEvent) => outcomes[String(event.eventId)]!.replace(/ \(with \d+\)$/, '');
  };
  const linesOf = (dealId: string) =>
    world.runtime.db
      .selectFrom('commission_lines')
      .select(['amount'])
      .where('tenant_id', '=', tenantId)
      .where('deal_id', '=', dealId)
      .execute();
  const stageOf = async (dealId: string) =>
    (
      await world.runtime.db
        .selectFrom('deals')
        .select('stage_category')
        .where('id', '=', dealId)
        .executeTakeFirstOrThrow()
    ).stage_category;

  it('records the rest of the burst and keeps the refused change with its reason', async () => {
    const t0 = Date.now() - 60_000;
    const won = deals.map((deal, i) => change(deal.crmDealId, 'dealstage', 'closedwon', t0 + i));
    const refusedWin = change(poison.crmDealId, 'dealstage', 'closedwon', t0 + 4);
    const burst = [...won.slice(0, 4), refusedWin, ...won.slice(4)];
    expect((await world.webhooks.post(burst)).status).toBe(200);

    const outcomeOf = await processed(burst);
    for (const event of won) expect(outcomeOf(event)).toBe('applied');
    expect(outcomeOf(refusedWin)).toMatch(
      /^refused: Invalid ledger transaction.*must fit a 64-bit integer of minor units/,
    );
    for (const deal of deals) {
      expect(await stageOf(deal.id)).toBe('won');
      expect((await linesOf(deal.id)).length).toBe(1);
    }
    // Nothing of the refused change is stored: the deal is still open, without commission.
    expect(await stageOf(poison.id)).toBe('open');
    expect(await linesOf(poison.id)).toEqual([]);
    const stored = await world.runtime.db
      .selectFrom('deal_events')
      .select('id')
      .where('deal_id', '=', poison.id)
      .execute();
    expect(stored).toEqual([]);
    expect((await verifyLedger(world.runtime.db, { tenantId })).ok).toBe(true);
  });

  it('goes on with later changes, and settles the deal once its amount is corrected', async () => {
    // The amount corrected in HubSpot (with another deal's change), then the deal won again. (Sent
    // together, the win could be taken by another job and recorded first, and be refused again:
    // the next reconcile, reading the deal as it stands, would then bring the win.)
    const t1 = Date.now() - 30_000;
    const corrected = change(poison.crmDealId, 'amount', '12', t1);
    const lowered = change(deals[0]!.crmDealId, 'amount', '900', t1 + 1);
    expect((await world.webhooks.post([corrected, lowered])).status).toBe(200);
    const first = await processed([corrected, lowered]);
    expect([corrected, lowered].map(first)).toEqual(['applied', 'applied']);
    expect(await stageOf(poison.id)).toBe('open');
    const wonAgain = change(poison.crmDealId, 'dealstage', 'closedwon', t1 + 2);
    expect((await world.webhooks.post([wonAgain])).status).toBe(200);
    expect((await processed([wonAgain]))(wonAgain)).toBe('applied');
    expect(await stageOf(poison.id)).toBe('won');
    // 12 dollars at 100,000,000: 1,200 cents × 10^8.
    expect((await linesOf(poison.id)).map((l) => l.amount)).toEqual([120_000_000_000n]);
    // Deal 0 was won at 1,000 dollars (10,000 cents of commission), then lowered to 900.
    const owed = (await linesOf(deals[0]!.id)).reduce((sum, l) => sum + l.amount, 0n);
    expect(owed).toBe(9_000n);
    expect((await verifyLedger(world.runtime.db, { tenantId })).ok).toBe(true);
  });
});
