import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decimalToMinor, toDay } from '../../../src/crm/crm-amount.ts';
import type { WebhookEvent } from '../../hubspot/local-hubspot-webhooks.ts';
import { type HubspotWorld, openHubspotWorld, processedOutcomes } from './hubspot-world.ts';

const PORTAL = 62515;

describe('HubSpot webhook events become deal events', () => {
  let world: HubspotWorld;
  let tenantId: string;
  beforeAll(async () => {
    world = await openHubspotWorld();
    tenantId = (await world.install(PORTAL)).tenantId;
    await world.runtime.queue.startWorkers(world.runtime.registry.queues());
    world.runtime.relay.start();
  });
  afterAll(async () => {
    await world?.close();
  });

  const dealRow = (crmDealId: string) =>
    world.runtime.db
      .selectFrom('deals')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where('crm_deal_id', '=', crmDealId)
      .executeTakeFirst();
  /** Waits until HubSpot's events for these ids are all processed; returns their outcomes. */
  const processed = (events: WebhookEvent[]) => processedOutcomes(world, events);
  const seedDeal = (properties: Record<string, string>, at: Date) =>
    world.hubspot.state.seed(PORTAL, 'deals', { pipeline: 'default', ...properties }, at);
  /**
   * What HubSpot holds once the scripted changes happened: a deal fetched while the events are in
   * flight (jobs run concurrently) shows this, as a real fetch would.
   */
  const hubspotHolds = (id: string, properties: Record<string, string>, at: number) => {
    const deal = world.hubspot.state.portal(PORTAL).objects.deals.get(id);
    if (!deal) throw new Error(`no deal ${id}`);
    Object.assign(deal.properties, properties, { hs_lastmodifieddate: new Date(at).toISOString() });
    deal.updatedAt = new Date(at).toISOString();
  };
  const change = (objectId: string, propertyName: string, propertyValue: string, occurredAt: number) =>
    world.webhooks.propertyChange(PORTAL, objectId, propertyName, propertyValue, occurredAt);

  it('fetches a new deal from HubSpot on its creation event and mirrors it', async () => {
    const t0 = Date.now() - 60_000;
    const deal = seedDeal(
      {
        dealname: 'Acme rollout',
        dealstage: 'appointmentscheduled',
        amount: '1200.50',
        closedate: '2027-03-31T00:00:00.000Z',
      },
      new Date(t0),
    );
    const created = world.webhooks.event({
      portalId: PORTAL,
      objectId: Number(deal.id),
      subscriptionType: 'object.creation',
      changeFlag: 'NEW',
      occurredAt: t0,
    });
    await world.webhooks.send([created]);
    expect(Object.values(await processed([created]))).toEqual(['applied']);
    expect(await dealRow(deal.id)).toMatchObject({
      name: 'Acme rollout',
      stage: 'appointmentscheduled',
      stage_category: 'open',
      amount: 120050n,
      currency: 'USD',
      close_date: '2027-03-31',
    });
  });

  it('applies shuffled, duplicated changes so that the latest occurredAt wins per field', async () => {
    const t0 = Date.now() - 120_000;
    const deal = seedDeal(
      { dealname: 'Globex', dealstage: 'appointmentscheduled', amount: '100' },
      new Date(t0),
    );
    const created = world.webhooks.event({
      portalId: PORTAL,
      objectId: Number(deal.id),
      subscriptionType: 'object.creation',
      occurredAt: t0,
    });
    const changes = [
      change(deal.id, 'dealstage', 'closedwon', t0 + 1_000),
      change(deal.id, 'amount', '1000', t0 + 1_500),
      change(deal.id, 'dealstage', 'closedlost', t0 + 2_000),
      change(deal.id, 'amount', '3000', t0 + 3_000),
      change(deal.id, 'dealstage', 'presentationscheduled', t0 + 4_000),
      change(deal.id, 'amount', '2000', t0 + 2_500),
    ];
    hubspotHolds(deal.id, { dealstage: 'presentationscheduled', amount: '3000' }, t0 + 4_000);
    await world.webhooks.send([created, ...changes], { shuffle: true, duplicate: true });
    await processed([created, ...changes]);
    expect(await dealRow(deal.id)).toMatchObject({
      stage: 'presentationscheduled',
      stage_category: 'open',
      amount: 300000n,
    });
    // A late event older than everything applied changes nothing.
    const late = change(deal.id, 'dealstage', 'closedwon', t0 + 500);
    await world.webhooks.send([late]);
    const outcomes = await processed([late]);
    expect(outcomes[String(late.eventId)]).toMatch(/^stale/);
    expect((await dealRow(deal.id))?.stage).toBe('presentationscheduled');
  });

  it('classifies a stage change by the stage mapping, the admin override included', async () => {
    const t0 = Date.now() - 60_000;
    const deal = seedDeal({ dealname: 'Initech', dealstage: 'appointmentscheduled' }, new Date(t0));
    await world.runtime.db
      .updateTable('crm_stage_mappings')
      .set({ override_category: 'won' })
      .where('tenant_id', '=', tenantId)
      .where('stage_id', '=', 'contractsent')
      .execute();
    const events = [
      world.webhooks.event({
        portalId: PORTAL,
        objectId: Number(deal.id),
        subscriptionType: 'object.creation',
        occurredAt: t0,
      }),
      change(deal.id, 'dealstage', 'contractsent', t0 + 1_000),
    ];
    hubspotHolds(deal.id, { dealstage: 'contractsent' }, t0 + 1_000);
    await world.webhooks.send(events);
    await processed(events);
    expect(await dealRow(deal.id)).toMatchObject({ stage: 'contractsent', stage_category: 'won' });
  });

  it('fetches a deal first heard of through a change, skips our own properties, and handles deletion', async () => {
    const t0 = Date.now() - 30_000;
    // HubSpot holds the deal as it is after the change the event reports.
    const deal = seedDeal(
      { dealname: 'Umbrella', dealstage: 'qualifiedtobuy', amount: '75' },
      new Date(t0 + 1_000),
    );
    const first = change(deal.id, 'amount', '75', t0 + 1_000);
    const own = change(deal.id, 'partnerloop_registration_status', 'approved', t0 + 1_100);
    await world.webhooks.send([first, own]);
    const outcomes = await processed([first, own]);
    expect(outcomes[String(own.eventId)]).toMatch(/^skipped: own property/);
    expect(await dealRow(deal.id)).toMatchObject({
      name: 'Umbrella',
      stage: 'qualifiedtobuy',
      amount: 7500n,
    });

    const deleted = world.webhooks.event({
      portalId: PORTAL,
      objectId: Number(deal.id),
      subscriptionType: 'object.deletion',
      occurredAt: t0 + 2_000,
    });
    await world.webhooks.send([deleted]);
    await processed([deleted]);
    expect((await dealRow(deal.id))?.deleted_at).not.toBeNull();
  });

  it('ignores objects that are not deals', async () => {
    const contact = world.webhooks.event({
      portalId: PORTAL,
      objectId: 4242,
      objectTypeId: '0-1',
      subscriptionType: 'object.creation',
    });
    await world.webhooks.send([contact]);
    expect(Object.values(await processed([contact]))).toEqual(['ignored: not a deal']);
  });
});

describe('HubSpot values', () => {
  it('converts decimals to minor units exactly, rounding finer digits half-even', () => {
    expect(decimalToMinor('1200.5', 'USD')).toBe(120050n);
    expect(decimalToMinor('1200', 'JPY')).toBe(1200n);
    expect(decimalToMinor('0.125', 'USD')).toBe(12n);
    expect(decimalToMinor('0.135', 'USD')).toBe(14n);
    expect(decimalToMinor('1.2345', 'KWD')).toBe(1234n);
    expect(decimalToMinor('abc', 'USD')).toBeNull();
  });

  it('reads HubSpot dates from epoch milliseconds and ISO strings', () => {
    expect(toDay('1798675200000')).toBe('2026-12-31');
    expect(toDay('2027-03-31T00:00:00.000Z')).toBe('2027-03-31');
    expect(toDay('')).toBeNull();
  });
});
