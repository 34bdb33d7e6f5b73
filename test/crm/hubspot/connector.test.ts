import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROP } from '../../../src/crm/hubspot/hubspot-properties.ts';
import { type ConnectedWorld, openConnectedWorld } from './connected-world.ts';

let world: ConnectedWorld;

beforeAll(async () => {
  world = await openConnectedWorld();
});
afterAll(async () => {
  await world?.close();
});

const attribution = (registrationId: string) => ({
  partnerId: 'b6a1f7e2-0000-4000-8000-000000000001',
  partnerName: 'Acme Referrals',
  registrationId,
  registrationStatus: 'approved',
  protectedUntil: new Date('2027-01-31T00:00:00.000Z'),
});

describe('HubSpot connector through @hubspot/api-client against the local HubSpot', () => {
  it('creates our property group and deal properties once, and finds them there the second time', async () => {
    const { connector, portalId } = await world.connectTenant();
    const first = await connector.ensureProperties();
    expect(first).toEqual({ ok: true, value: { created: Object.values(PROP), missing: [] } });
    const second = await connector.ensureProperties();
    expect(second).toEqual({ ok: true, value: { created: [], missing: [] } });
    const portal = world.hubspot.state.portal(portalId);
    expect(portal.groups.deals.get('partnerloop')?.label).toBe('PartnerLoop');
    expect(portal.properties.deals.get(PROP.registrationStatus)?.options.map((o) => o.value)).toContain(
      'rejected',
    );
  });

  it('reads pipelines with each stage classified from its metadata', async () => {
    const { connector } = await world.connectTenant();
    const pipelines = await connector.listPipelines();
    expect(pipelines.ok).toBe(true);
    if (!pipelines.ok) return;
    const stages = Object.fromEntries(pipelines.value[0]!.stages.map((s) => [s.id, s.categoryHint]));
    expect(stages).toMatchObject({ appointmentscheduled: 'open', closedwon: 'won', closedlost: 'lost' });
  });

  it('creates deal, company and contact with our properties and associations, and a retry makes nothing new', async () => {
    const { connector, portalId } = await world.connectTenant();
    await connector.ensureProperties();
    const input = {
      registrationId: 'reg-1',
      dealName: 'Globex — partner deal',
      amount: { minor: 1_250_050n, currency: 'EUR' },
      closeDate: '2027-03-01',
      pipelineId: null,
      stageId: null,
      company: { name: 'Globex', domain: 'globex.example' },
      contact: { email: 'hank@globex.example', name: 'Hank Scorpio' },
      attribution: attribution('reg-1'),
    };
    const first = await connector.createOrLinkDeal(input);
    expect(first.ok).toBe(true);
    if (!first.ok) return;
    expect(first.value.created).toEqual({ deal: true, company: true, contact: true });
    const portal = world.hubspot.state.portal(portalId);
    const deal = portal.objects.deals.get(first.value.dealId)!;
    expect(deal.properties).toMatchObject({
      dealname: 'Globex — partner deal',
      amount: '12500.5',
      deal_currency_code: 'EUR',
      dealstage: 'appointmentscheduled',
      [PROP.partner]: 'Acme Referrals',
      [PROP.registrationId]: 'reg-1',
      [PROP.registrationStatus]: 'approved',
      [PROP.protectedUntil]: '2027-01-31T00:00:00.000Z',
    });
    expect(portal.associated('deals', first.value.dealId, 'companies')).toEqual([
      { id: first.value.companyId, types: [5, 341] },
    ]);
    expect(portal.associated('deals', first.value.dealId, 'contacts')).toEqual([
      { id: first.value.contactId, types: [3] },
    ]);

    const retry = await connector.createOrLinkDeal(input);
    expect(retry.ok && retry.value).toMatchObject({
      dealId: first.value.dealId,
      companyId: first.value.companyId,
      contactId: first.value.contactId,
      created: { deal: false, company: false, contact: false },
    });
    expect(portal.objects.deals.size).toBe(1);
    expect(portal.objects.companies.size).toBe(1);
    expect(portal.objects.contacts.size).toBe(1);
  });

  it('links to the company and contact HubSpot already has, found by domain and email', async () => {
    const { connector, portalId } = await world.connectTenant();
    await connector.ensureProperties();
    const company = world.hubspot.state.seed(portalId, 'companies', {
      name: 'Initech',
      domain: 'initech.example',
    });
    const contact = world.hubspot.state.seed(portalId, 'contacts', { email: 'bill@initech.example' });
    const linked = await connector.createOrLinkDeal({
      registrationId: 'reg-2',
      dealName: 'Initech',
      amount: null,
      closeDate: null,
      pipelineId: null,
      stageId: null,
      company: { name: 'Initech Inc', domain: 'initech.example' },
      contact: { email: 'bill@initech.example', name: null },
      attribution: attribution('reg-2'),
    });
    expect(linked.ok && linked.value).toMatchObject({
      companyId: company.id,
      contactId: contact.id,
      created: { deal: true, company: false, contact: false },
    });
  });

  it('finds the open deals of a prospect by domain or email, direct or partner-owned', async () => {
    const { connector, portalId } = await world.connectTenant();
    await connector.ensureProperties();
    const { state } = world.hubspot;
    const company = state.seed(portalId, 'companies', { name: 'Umbrella', domain: 'umbrella.example' });
    const open = state.seed(portalId, 'deals', {
      dealname: 'Direct',
      dealstage: 'qualifiedtobuy',
      pipeline: 'default',
    });
    const lost = state.seed(portalId, 'deals', {
      dealname: 'Old',
      dealstage: 'closedlost',
      pipeline: 'default',
    });
    state.portal(portalId).associate('deals', open.id, 'companies', company.id, 341);
    state.portal(portalId).associate('deals', lost.id, 'companies', company.id, 341);
    const contact = state.seed(portalId, 'contacts', { email: 'alice@umbrella.example' });
    const partnerDeal = state.seed(portalId, 'deals', {
      dealname: 'Via partner',
      dealstage: 'contractsent',
      pipeline: 'default',
      [PROP.partnerId]: 'p-1',
    });
    state.portal(portalId).associate('deals', partnerDeal.id, 'contacts', contact.id, 3);

    const byDomain = await connector.findOpenDeals('umbrella.example', null);
    expect(byDomain).toEqual([{ dealId: open.id, ownerType: 'direct' }]);
    const both = await connector.findOpenDeals('umbrella.example', 'alice@umbrella.example');
    expect(both).toEqual(
      expect.arrayContaining([
        { dealId: open.id, ownerType: 'direct' },
        { dealId: partnerDeal.id, ownerType: 'partner' },
      ]),
    );
    expect(both).toHaveLength(2);
    expect(await connector.findOpenDeals('nobody.example', 'no@nobody.example')).toEqual([]);
  });

  it('writes a note on the deal timeline once per idempotency key', async () => {
    const { connector, portalId } = await world.connectTenant();
    const deal = world.hubspot.state.seed(portalId, 'deals', {
      dealname: 'N',
      dealstage: 'qualifiedtobuy',
      pipeline: 'default',
    });
    const note = {
      dealId: deal.id,
      bodyHtml: '<p>Registration approved</p>',
      at: new Date('2026-11-22T08:00:00Z'),
    };
    const first = await connector.addDealNote(note, 'note:test-1');
    const again = await connector.addDealNote(note, 'note:test-1');
    expect(first.ok && again.ok && again.value.noteId).toBe(first.ok ? first.value.noteId : 'x');
    const portal = world.hubspot.state.portal(portalId);
    expect(portal.objects.notes.size).toBe(1);
    const stored = [...portal.objects.notes.values()][0]!;
    expect(stored.properties).toMatchObject({
      hs_note_body: '<p>Registration approved</p>',
      hs_timestamp: '2026-11-22T08:00:00.000Z',
    });
    expect(portal.associated('notes', stored.id, 'deals')).toEqual([{ id: deal.id, types: [214] }]);
    expect(portal.associated('deals', deal.id, 'notes')).toEqual([{ id: stored.id, types: [213] }]);
  });

  it('answers not_found as a result for a deal HubSpot does not have, and reads one it has', async () => {
    const { connector, portalId } = await world.connectTenant();
    const missing = await connector.getDeal('999999999');
    expect(missing).toMatchObject({ ok: false, error: { kind: 'not_found', status: 404 } });
    const deal = world.hubspot.state.seed(portalId, 'deals', {
      dealname: 'Read me',
      dealstage: 'closedwon',
      pipeline: 'default',
      amount: '100.25',
    });
    const read = await connector.getDeal(deal.id);
    expect(read.ok && read.value).toMatchObject({
      id: deal.id,
      stageId: 'closedwon',
      amount: '100.25',
      archived: false,
    });
  });

  it('pages deals modified since an instant through the search API, oldest first', async () => {
    const { connector, portalId } = await world.connectTenant();
    const base = Date.parse('2026-10-01T00:00:00Z');
    for (let i = 0; i < 5; i++) {
      world.hubspot.state.seed(
        portalId,
        'deals',
        { dealname: `D${i}`, dealstage: 'qualifiedtobuy', pipeline: 'default' },
        new Date(base + i * 60_000),
      );
    }
    const page1 = await connector.listDealsModifiedSince(new Date(base + 60_000), null, 3);
    expect(page1.ok && page1.value.deals.map((d) => d.name)).toEqual(['D1', 'D2', 'D3']);
    expect(page1.ok && page1.value.total).toBe(4);
    const page2 = await connector.listDealsModifiedSince(
      new Date(base + 60_000),
      page1.ok ? page1.value.after : null,
      3,
    );
    expect(page2.ok && page2.value.deals.map((d) => d.name)).toEqual(['D4']);
    expect(page2.ok && page2.value.after).toBeNull();
  });

  it('answers not_connected for a tenant without a HubSpot connection', async () => {
    const { hubspotConnector } = await import('../../../src/crm/hubspot/hubspot-connector.ts');
    const { makeTenant } = await import('../../factories/tenant.factory.ts');
    const t = await makeTenant(world.runtime.db);
    const result = await hubspotConnector(
      world.runtime.db,
      world.runtime.services,
      t.tenant.id,
    ).listPipelines();
    expect(result).toMatchObject({ ok: false, error: { kind: 'not_connected' } });
  });
});
