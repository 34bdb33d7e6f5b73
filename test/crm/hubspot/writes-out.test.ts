import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROP } from '../../../src/crm/hubspot/hubspot-properties.ts';
import { pushRegistrationJob } from '../../../src/crm/push-registration.job.ts';
import { addTimelineNote } from '../../../src/messaging/inbound-note.repository.ts';
import { waitFor } from '../../helpers/wait-for.ts';
import { act, type ProgramSetup, setupProgram, submit } from '../../registrations/registration-setup.ts';
import { type ConnectedWorld, openConnectedWorld } from './connected-world.ts';

let world: ConnectedWorld;

beforeAll(async () => {
  world = await openConnectedWorld();
  await world.runtime.queue.startWorkers(world.runtime.registry.queues());
  world.runtime.relay.start();
});
afterAll(async () => {
  await world?.close();
});

async function connectedProgram(): Promise<{ setup: ProgramSetup; portalId: number }> {
  const portalId = world.newPortalId();
  const setup = await setupProgram(world.runtime.db, {
    tenant: { crmKind: 'hubspot', crmAccountId: String(portalId) },
    program: { protectionDays: 60, currency: 'EUR' },
  });
  const connector = await world.connect(setup.t.tenant.id, portalId);
  const ensured = await connector.ensureProperties();
  expect(ensured.ok).toBe(true);
  return { setup, portalId };
}

async function registered(setup: ProgramSetup, partnerId: string, company: string) {
  const response = await submit(world.app, setup, partnerId, {
    companyName: company,
    website: `https://www.${company.toLowerCase()}.com`,
    contactName: 'Hank Scorpio',
    contactEmail: `hank@${company.toLowerCase()}.com`,
    estimatedValue: 1_250_050,
  });
  expect(response.statusCode, response.body).toBe(201);
  return response.json() as { id: string };
}

const registration = (id: string) =>
  world.runtime.db.selectFrom('registrations').selectAll().where('id', '=', id).executeTakeFirstOrThrow();

describe('writes out to HubSpot', () => {
  it('an approved registration becomes a deal, company and contact in HubSpot with our properties, linked on our side', async () => {
    const { setup, portalId } = await connectedProgram();
    const partner = await setup.partner({ name: 'Acme Referrals' });
    const { id } = await registered(setup, partner.id, 'Globex');
    const approved = await act(world.app, setup, id, 'approve');
    expect(approved.statusCode, approved.body).toBe(200);

    const row = await waitFor('the CRM deal id on the registration', async () => {
      const r = await registration(id);
      return r.crm_deal_id ? r : undefined;
    });
    const portal = world.hubspot.state.portal(portalId);
    const deal = portal.objects.deals.get(row.crm_deal_id!)!;
    expect(deal.properties).toMatchObject({
      dealname: 'Globex (via Acme Referrals)',
      amount: '12500.5',
      deal_currency_code: 'EUR',
      [PROP.partner]: 'Acme Referrals',
      [PROP.partnerId]: partner.id,
      [PROP.registrationId]: id,
      [PROP.registrationStatus]: 'approved',
      [PROP.protectedUntil]: row.protected_until!.toISOString(),
    });
    const [company] = portal.associated('deals', deal.id, 'companies');
    expect(portal.objects.companies.get(company!.id)?.properties).toMatchObject({
      name: 'Globex',
      domain: 'globex.com',
    });
    const [contact] = portal.associated('deals', deal.id, 'contacts');
    expect(portal.objects.contacts.get(contact!.id)?.properties).toMatchObject({
      email: 'hank@globex.com',
      firstname: 'Hank',
      lastname: 'Scorpio',
    });

    const mirrored = await world.runtime.db
      .selectFrom('deals')
      .selectAll()
      .where('tenant_id', '=', setup.t.tenant.id)
      .where('crm_deal_id', '=', deal.id)
      .executeTakeFirstOrThrow();
    expect(mirrored).toMatchObject({ source: 'hubspot', registration_id: id, program_id: setup.program.id });
    const credited = await world.runtime.db
      .selectFrom('deal_attributions')
      .select(['partner_id', 'role'])
      .where('deal_id', '=', mirrored.id)
      .execute();
    expect(credited).toEqual([{ partner_id: partner.id, role: 'referral' }]);

    const note = await waitFor('the approval note', () => {
      const [n] = portal.associated('deals', deal.id, 'notes');
      return n ? portal.objects.notes.get(n.id) : undefined;
    });
    expect(note.properties.hs_note_body).toContain('Acme Referrals</strong> was approved');
  });

  it('a retried job writes nothing twice, even after failing half-way', async () => {
    const { setup, portalId } = await connectedProgram();
    const partner = await setup.partner();
    const { id } = await registered(setup, partner.id, 'Initech');
    // Approved behind the API's back (no event): the job is run here, by hand, as the queue would.
    const payload = {
      tenantId: setup.t.tenant.id,
      registrationId: id,
      eventId: `test-${id}`,
      eventType: 'registration.approved',
      occurredAt: new Date().toISOString(),
      data: {},
    };
    await world.runtime.db
      .updateTable('registrations')
      .set({ status: 'approved' })
      .where('id', '=', id)
      .execute();
    const ctx = {
      db: world.runtime.db,
      log: world.runtime.logger,
      jobId: 'manual',
      attempt: 1,
      services: world.runtime.services,
    };
    // HubSpot fails the deal's creation once: the company and contact exist already.
    world.hubspot.state.failNext('POST', /^\/crm\/v3\/objects\/deals(\?|$)/, 502);
    await expect(pushRegistrationJob.handle(payload, ctx)).rejects.toThrow(/unavailable/);
    await pushRegistrationJob.handle(payload, { ...ctx, attempt: 2 });
    await pushRegistrationJob.handle(payload, { ...ctx, attempt: 3 });
    const portal = world.hubspot.state.portal(portalId);
    expect(portal.objects.companies.size).toBe(1);
    expect(portal.objects.contacts.size).toBe(1);
    expect(portal.objects.deals.size).toBe(1);
    expect(portal.objects.notes.size).toBe(1);
    expect((await registration(id)).crm_deal_id).toBe([...portal.objects.deals.keys()][0]);
  });

  it('a rejected registration is marked on its linked deal, with a note', async () => {
    const { setup, portalId } = await connectedProgram();
    const partner = await setup.partner({ name: 'Umbrella Partners' });
    const { id } = await registered(setup, partner.id, 'Umbrella');
    const deal = world.hubspot.state.seed(portalId, 'deals', {
      dealname: 'Umbrella',
      dealstage: 'qualifiedtobuy',
      pipeline: 'default',
    });
    await world.runtime.db
      .updateTable('registrations')
      .set({ crm_deal_id: deal.id })
      .where('id', '=', id)
      .execute();
    const rejected = await act(world.app, setup, id, 'reject', {
      payload: { reason: 'Already <b>ours</b>' },
    });
    expect(rejected.statusCode, rejected.body).toBe(200);
    const portal = world.hubspot.state.portal(portalId);
    await waitFor('the rejection on the deal', () => deal.properties[PROP.registrationStatus] === 'rejected');
    expect(deal.properties[PROP.partnerId]).toBe(partner.id);
    const note = await waitFor('the rejection note', () => {
      const [n] = portal.associated('deals', deal.id, 'notes');
      return n ? portal.objects.notes.get(n.id) : undefined;
    });
    expect(note.properties.hs_note_body).toContain('was rejected: Already &lt;b&gt;ours&lt;/b&gt;');
  });

  it("a partner's reply (timeline_note.created) becomes a note on the deal, recorded on our note", async () => {
    const { setup, portalId } = await connectedProgram();
    const partner = await setup.partner();
    const { id } = await registered(setup, partner.id, 'Hooli');
    const deal = world.hubspot.state.seed(portalId, 'deals', {
      dealname: 'Hooli',
      dealstage: 'qualifiedtobuy',
      pipeline: 'default',
    });
    await world.runtime.db
      .updateTable('registrations')
      .set({ crm_deal_id: deal.id })
      .where('id', '=', id)
      .execute();
    const note = await world.runtime.db.transaction().execute((tx) =>
      addTimelineNote(tx, {
        tenantId: setup.t.tenant.id,
        registrationId: id,
        dealId: null,
        source: 'email',
        authorContactId: null,
        authorName: 'Gavin B.',
        body: 'They signed.\n\nPO to follow.',
        inboundMessageId: null,
      }),
    );
    const synced = await waitFor('the CRM note id on our note', async () => {
      const row = await world.runtime.db
        .selectFrom('timeline_notes')
        .selectAll()
        .where('id', '=', note!.id)
        .executeTakeFirstOrThrow();
      return row.crm_note_id ? row : undefined;
    });
    const portal = world.hubspot.state.portal(portalId);
    const written = portal.objects.notes.get(synced.crm_note_id!)!;
    expect(written.properties.hs_note_body).toBe(
      '<p><strong>Gavin B.</strong> replied by email:</p><p>They signed.</p><p>PO to follow.</p>',
    );
    expect(portal.associated('notes', written.id, 'deals')).toEqual([{ id: deal.id, types: [214] }]);
  });

  it('writes nothing for a tenant whose CRM is not HubSpot', async () => {
    const setup = await setupProgram(world.runtime.db);
    const partner = await setup.partner();
    const before = world.hubspot.state.metrics.requests;
    const { id } = await registered(setup, partner.id, 'Pied');
    await act(world.app, setup, id, 'approve');
    const enqueued = await waitFor('the push job for the approval', async () => {
      const rows = await world.runtime.db
        .selectFrom('outbox')
        .select(['payload'])
        .where('job_name', '=', 'crm.push-registration')
        .execute();
      return rows.map((r) => r.payload as { registrationId: string }).find((p) => p.registrationId === id);
    });
    // Run it once more here, deterministically: it finds no HubSpot to write to.
    await pushRegistrationJob.handle(enqueued as Parameters<typeof pushRegistrationJob.handle>[0], {
      db: world.runtime.db,
      log: world.runtime.logger,
      jobId: 'manual',
      attempt: 1,
      services: world.runtime.services,
    });
    expect((await registration(id)).crm_deal_id).toBeNull();
    expect(world.hubspot.state.metrics.requests).toBe(before);
  });
});
