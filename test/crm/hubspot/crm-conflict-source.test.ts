import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { askCrmForOpenDeals, conflictSourceOf } from '../../../src/crm/crm-conflict-source.ts';
import { PROP } from '../../../src/crm/hubspot/hubspot-properties.ts';
import { makeTenant } from '../../factories/tenant.factory.ts';
import { setupProgram, submit } from '../../registrations/registration-setup.ts';
import { type ConnectedWorld, openConnectedWorld } from './connected-world.ts';

let world: ConnectedWorld;
beforeAll(async () => {
  world = await openConnectedWorld();
});
afterAll(async () => {
  await world?.close();
});

describe('HubSpot as the conflict source of registrations', () => {
  const ask = (tenantId: string, domain: string | null, email: string | null, timeoutMs?: number) =>
    askCrmForOpenDeals(world.runtime.db, world.runtime.services, tenantId, { domain, email }, timeoutMs);

  it("finds the prospect's open deals, direct or partner-owned, and leaves closed ones out", async () => {
    const t = await world.connectTenant();
    const state = world.hubspot.state;
    const company = state.seed(t.portalId, 'companies', { name: 'Umbrella', domain: 'umbrella.example' });
    const deal = (stage: string, properties: Record<string, string> = {}) => {
      const d = state.seed(t.portalId, 'deals', {
        dealname: stage,
        pipeline: 'default',
        dealstage: stage,
        ...properties,
      });
      state.portal(t.portalId).associate('deals', d.id, 'companies', company.id, 5);
      return d;
    };
    const direct = deal('qualifiedtobuy');
    const viaPartner = deal('contractsent', { [PROP.partnerId]: 'partner-1' });
    deal('closedwon');
    deal('closedlost');

    const answer = await ask(t.tenant.id, 'umbrella.example', null);
    expect(answer?.crmCheck).toBe('checked');
    expect(answer?.deals).toEqual(
      expect.arrayContaining([
        { dealId: direct.id, ownerType: 'direct' },
        { dealId: viaPartner.id, ownerType: 'partner' },
      ]),
    );
    expect(answer?.deals).toHaveLength(2);
    // What submitRegistration receives makes no call of its own.
    expect(await conflictSourceOf(answer!).findOpenDeals('other.example', null)).toEqual(answer!.deals);
  });

  it('answers unavailable, with no deals, when HubSpot fails or is too slow', async () => {
    const t = await world.connectTenant();
    world.hubspot.state.failNext('POST', /\/search/, 502, 1);
    expect(await ask(t.tenant.id, 'down.example', 'a@down.example')).toEqual({
      crmCheck: 'unavailable',
      deals: [],
    });
    expect(world.hubspot.state.takeFault('POST', '/crm/v3/objects/companies/search')).toBeUndefined();
    // No time left to wait: the check goes on without HubSpot.
    expect(await ask(t.tenant.id, 'slow.example', null, 0)).toEqual({ crmCheck: 'unavailable', deals: [] });
    // And when HubSpot answers in time, the same tenant is checked.
    expect((await ask(t.tenant.id, 'slow.example', null))?.crmCheck).toBe('checked');
  });

  it('is not asked for tenants without a connected HubSpot, nor without a domain or email', async () => {
    const { tenant } = await makeTenant(world.runtime.db);
    expect(await ask(tenant.id, 'acme.example', null)).toBeUndefined();
    const t = await world.connectTenant();
    expect(await ask(t.tenant.id, null, null)).toBeUndefined();
  });

  it('makes a registration on a domain with an open direct deal in HubSpot a conflict, and records when HubSpot could not answer', async () => {
    const portalId = world.newPortalId();
    const setup = await setupProgram(world.runtime.db, {
      tenant: { crmKind: 'hubspot', crmAccountId: String(portalId) },
    });
    await world.connect(setup.t.tenant.id, portalId);
    const state = world.hubspot.state;
    const company = state.seed(portalId, 'companies', { name: 'Initech', domain: 'initech.com' });
    const open = state.seed(portalId, 'deals', {
      dealname: 'Initech',
      pipeline: 'default',
      dealstage: 'qualifiedtobuy',
    });
    state.portal(portalId).associate('deals', open.id, 'companies', company.id, 5);
    const partner = await setup.partner();
    const details = async (id: string) =>
      await world.runtime.db
        .selectFrom('registrations')
        .select(['check_outcome', 'check_details'])
        .where('id', '=', id)
        .executeTakeFirstOrThrow();

    const conflicting = await submit(world.app, setup, partner.id, {
      companyName: 'Initech',
      website: 'https://www.initech.com',
    });
    expect(conflicting.statusCode, conflicting.body).toBe(201);
    expect(await details(conflicting.json().id)).toMatchObject({
      check_outcome: 'conflict_with',
      check_details: { signals: ['crm_open_deal'], crmDealId: open.id, crmCheck: 'checked' },
    });

    // HubSpot down: the registration goes through on our own data, and says HubSpot was not asked.
    state.failNext('POST', /\/search/, 502, 5);
    const unchecked = await submit(world.app, setup, partner.id, {
      companyName: 'Globex',
      website: 'https://globex.com',
    });
    expect(unchecked.statusCode, unchecked.body).toBe(201);
    expect(await details(unchecked.json().id)).toMatchObject({
      check_outcome: 'clear',
      check_details: { crmCheck: 'unavailable' },
    });
  });
});
