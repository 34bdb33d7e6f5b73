import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROP } from '../../../src/crm/hubspot/hubspot-properties.ts';
import { verifyLedger } from '../../../src/ledger/ledger-verify.ts';
import { usingPostgres } from '../../helpers/test-database.ts';
import { sleep, waitFor } from '../../helpers/wait-for.ts';
import { type LoopTenant, setUpLoopTenant } from '../crm-loop-tenant.ts';
import { type HubspotWorld, openHubspotWorld } from './hubspot-world.ts';

const mode = usingPostgres ? 'PostgreSQL + Redis' : 'PGlite';

/**
 * The whole loop through the real app, the real jobs and the local HubSpot: install, registration
 * approved, deal written to HubSpot, stage changes coming back as signed webhooks, the ledger
 * accruing and reversing, the timeline note.
 */
describe(`the HubSpot loop, install to ledger (${mode})`, () => {
  let world: HubspotWorld;
  let portalId: number;
  let tenantId: string;
  let loop: LoopTenant;
  let headers: LoopTenant['headers'];
  let programId: string;
  let parentId: string;
  let partnerId: string;

  beforeAll(async () => {
    world = await openHubspotWorld();
    portalId = 63_000_000 + Math.floor(Math.random() * 1_000_000);
    const installed = await world.install(portalId);
    expect(installed.status, installed.body).toBe(200);
    tenantId = installed.tenantId;
    loop = await setUpLoopTenant(world.runtime.db, tenantId);
    ({ headers, programId, parentId, partnerId } = loop);
    await world.runtime.queue.startWorkers(world.runtime.registry.queues());
    world.runtime.relay.start();
  });
  afterAll(async () => {
    await world?.close();
  });

  const portal = () => world.hubspot.state.portal(portalId);
  const pending = (id: string) => loop.pending(id);
  const liveLines = (crmDealId: string) => loop.liveLines(crmDealId);
  /** Waits until every event delivered so far has been processed from the inbox. */
  const drained = () =>
    waitFor(
      'the inbox processed',
      async () => {
        const open = await world.runtime.db
          .selectFrom('inbox')
          .select('id')
          .where('source', '=', 'hubspot')
          .where('processed_at', 'is', null)
          .executeTakeFirst();
        return open ? undefined : true;
      },
      { timeoutMs: 30_000 },
    );

  /** Submits and approves a registration via the API; returns the HubSpot deal made for it. */
  async function approvedDeal(company: string, estimatedValue: number) {
    const submitted = await world.app.inject({
      method: 'POST',
      url: '/api/v1/registrations',
      headers: headers('sales_rep'),
      payload: {
        programId,
        partnerId,
        companyName: company,
        website: `https://www.${company.toLowerCase()}.com`,
        contactName: 'Hank Scorpio',
        contactEmail: `hank@${company.toLowerCase()}.com`,
        estimatedValue,
      },
    });
    expect(submitted.statusCode, submitted.body).toBe(201);
    const { id } = submitted.json() as { id: string };
    const approved = await world.app.inject({
      method: 'POST',
      url: `/api/v1/registrations/${id}/approve`,
      headers: headers('admin'),
    });
    expect(approved.statusCode, approved.body).toBe(200);
    const crmDealId = await waitFor(
      'the HubSpot deal of the registration',
      async () => {
        const row = await world.runtime.db
          .selectFrom('registrations')
          .select('crm_deal_id')
          .where('id', '=', id)
          .executeTakeFirstOrThrow();
        return row.crm_deal_id ?? undefined;
      },
      { timeoutMs: 20_000 },
    );
    return { registrationId: id, crmDealId };
  }

  /** A sales rep moves the deal in HubSpot; a few ms apart so each change has its own occurredAt. */
  async function move(crmDealId: string, properties: Record<string, string>) {
    await sleep(5);
    world.hubspot.state.userUpdate(portalId, 'deals', crmDealId, properties);
  }

  it('install → approved registration → deal in HubSpot → closed-won accrues → closed-lost reverses exactly → note on the deal', async () => {
    const { registrationId, crmDealId } = await approvedDeal('Globex', 1_000_000);
    const deal = portal().objects.deals.get(crmDealId)!;
    expect(deal.properties).toMatchObject({
      dealname: 'Globex (via Acme Referrals)',
      amount: '10000',
      [PROP.partner]: 'Acme Referrals',
      [PROP.partnerId]: partnerId,
      [PROP.registrationId]: registrationId,
      [PROP.registrationStatus]: 'approved',
    });
    const [company] = portal().associated('deals', crmDealId, 'companies');
    expect(portal().objects.companies.get(company!.id)?.properties).toMatchObject({ domain: 'globex.com' });
    const [contact] = portal().associated('deals', crmDealId, 'contacts');
    expect(portal().objects.contacts.get(contact!.id)?.properties).toMatchObject({
      email: 'hank@globex.com',
    });

    // HubSpot tells us about our own writes too; they are recorded or skipped, nothing accrues.
    await world.webhooks.flush();
    await drained();
    expect((await liveLines(crmDealId)).live).toEqual([]);

    await move(crmDealId, { dealstage: 'closedwon' });
    const [delivery] = await world.webhooks.flush();
    expect(delivery?.status).toBe(200);
    await drained();
    expect((await liveLines(crmDealId)).live).toEqual([
      [partnerId, 'commission', 100_000n],
      [parentId, 'override', 10_000n],
    ]);
    expect(await pending(partnerId)).toBe(100_000n);
    expect(await pending(parentId)).toBe(10_000n);
    // Webhooks are news: the partner hears of the win (the email feature sends it).
    const published = await world.runtime.db
      .selectFrom('outbox')
      .select('payload')
      .where('job_name', '=', 'events.deliver')
      .execute();
    const won = published
      .map((r) => r.payload as { type: string; data: { crmDealId?: string; commissions?: unknown } })
      .find((e) => e.type === 'deal.won' && e.data.crmDealId === crmDealId);
    expect(won?.data.commissions).toEqual(
      expect.arrayContaining([expect.objectContaining({ partnerId, amount: '100000' })]),
    );

    await move(crmDealId, { dealstage: 'closedlost' });
    await world.webhooks.flush();
    await drained();
    const after = await liveLines(crmDealId);
    expect(after.live).toEqual([]);
    const clawbacks = after.all.filter((l) => l.kind === 'clawback' || BigInt(l.amount) < 0n);
    expect(clawbacks.map((l) => BigInt(l.amount)).sort()).toEqual([-100_000n, -10_000n].sort());
    expect(await pending(partnerId)).toBe(0n);
    expect(await pending(parentId)).toBe(0n);
    expect(await verifyLedger(world.runtime.db, { tenantId })).toMatchObject({ ok: true });

    const note = await waitFor('a note on the deal', () => {
      const [n] = portal().associated('deals', crmDealId, 'notes');
      return n ? portal().objects.notes.get(n.id) : undefined;
    });
    expect(note.properties.hs_note_body).toContain('Acme Referrals');
  });

  it('duplicated and shuffled webhook batches leave the ledger where the ordered changes do', async () => {
    const { crmDealId } = await approvedDeal('Initech', 1_000_000);
    await world.webhooks.flush();
    await drained();
    // won at 10,000 → lost → won again at 20,000: the ledger owes the last state only.
    await move(crmDealId, { dealstage: 'closedwon' });
    await move(crmDealId, { dealstage: 'closedlost' });
    await move(crmDealId, { amount: '20000' });
    await move(crmDealId, { dealstage: 'closedwon' });
    const events = world.webhooks.pending.splice(0);
    // Late echoes of our own writes (the approval note) may ride along, as they would from HubSpot.
    const moves = events.filter((e) => String(e.objectId) === crmDealId && e.changeSource === 'CRM');
    expect(moves.map((e) => e.propertyName)).toEqual(['dealstage', 'dealstage', 'amount', 'dealstage']);
    const deliveries = await world.webhooks.send(events, { duplicate: true, shuffle: true });
    expect(deliveries.every((d) => d.status === 200)).toBe(true);
    await drained();
    const settled = await liveLines(crmDealId);
    expect(settled.live).toEqual([
      [partnerId, 'commission', 200_000n],
      [parentId, 'override', 20_000n],
    ]);
    // The first test's deal was reversed to zero: these balances are this deal's alone.
    expect(await pending(partnerId)).toBe(200_000n);
    expect(await pending(parentId)).toBe(20_000n);

    // HubSpot redelivers the whole sequence later, shuffled again: nothing moves.
    await world.webhooks.send(events, { duplicate: true, shuffle: true });
    await drained();
    expect((await liveLines(crmDealId)).all.length).toBe(settled.all.length);
    expect(await pending(partnerId)).toBe(200_000n);
    expect(await pending(parentId)).toBe(20_000n);
    expect(await verifyLedger(world.runtime.db, { tenantId })).toMatchObject({ ok: true });
  });
});
