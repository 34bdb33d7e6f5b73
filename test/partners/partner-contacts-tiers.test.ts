import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../../src/app.ts';
import { ManualClock } from '../../src/clock.ts';
import type { StaffRole } from '../../src/tenants/tenant.table.ts';
import { makePartner } from '../factories/partner.factory.ts';
import { makeTenant, type TenantWithKeys } from '../factories/tenant.factory.ts';
import type { TestRuntime } from '../helpers/test-runtime.ts';
import { openWorld, type TestWorld } from '../helpers/test-world.ts';

type Method = 'GET' | 'POST' | 'PATCH' | 'DELETE';
interface Call {
  method: Method;
  url: string;
  payload?: object | string;
  headers?: Record<string, string>;
}

describe('contacts and tiers over the staff API', () => {
  let world: TestWorld;
  let runtime: TestRuntime;
  let app: App;
  let tenant: TenantWithKeys;
  const clock = new ManualClock(new Date('2027-04-01T10:00:00.000Z'));

  beforeAll(async () => {
    world = await openWorld({ clock });
    ({ runtime, app } = world);
    tenant = await makeTenant(runtime.db);
  });
  afterAll(async () => {
    await world?.close();
  });

  const call = (as: TenantWithKeys, role: StaffRole, c: Call) =>
    app.inject({
      method: c.method,
      url: c.url,
      headers: { ...as.as(role), ...c.headers },
      ...(c.payload === undefined ? {} : { payload: c.payload }),
    });

  it('keeps contacts per partner with lower-cased emails, unique per partner', async () => {
    const partner = await makePartner(runtime.db, tenant.tenant.id);
    const path = `/api/v1/partners/${partner.id}/contacts`;
    const added = await call(tenant, 'admin', {
      method: 'POST',
      url: path,
      payload: { name: 'Ada Lovelace', email: 'Ada@Partner.Example', role: 'owner' },
    });
    expect(added.statusCode).toBe(201);
    expect(added.json()).toMatchObject({
      partnerId: partner.id,
      email: 'ada@partner.example',
      role: 'owner',
    });
    const duplicate = await call(tenant, 'admin', {
      method: 'POST',
      url: path,
      payload: { name: 'Ada again', email: 'ADA@partner.example' },
    });
    expect(duplicate.statusCode).toBe(409);
    // The same person may be a contact of another partner.
    const elsewhere = await makePartner(runtime.db, tenant.tenant.id);
    const second = await call(tenant, 'admin', {
      method: 'POST',
      url: `/api/v1/partners/${elsewhere.id}/contacts`,
      payload: { name: 'Ada Lovelace', email: 'ada@partner.example' },
    });
    expect(second.statusCode).toBe(201);

    const contactId = added.json().id;
    const renamed = await call(tenant, 'program_manager', {
      method: 'PATCH',
      url: `/api/v1/contacts/${contactId}`,
      payload: { name: 'Ada King', email: 'Ada.King@Partner.Example' },
    });
    expect(renamed.statusCode).toBe(200);
    expect(renamed.json()).toMatchObject({ name: 'Ada King', email: 'ada.king@partner.example' });
    const list = await call(tenant, 'sales_rep', { method: 'GET', url: path });
    expect(list.json().items.map((c: { email: string }) => c.email)).toEqual(['ada.king@partner.example']);

    const deleted = await call(tenant, 'admin', { method: 'DELETE', url: `/api/v1/contacts/${contactId}` });
    expect(deleted.statusCode).toBe(200);
    expect(
      (await call(tenant, 'admin', { method: 'GET', url: `/api/v1/contacts/${contactId}` })).statusCode,
    ).toBe(404);
    const actions = await runtime.db
      .selectFrom('audit_log')
      .select('action')
      .where('subject_id', '=', contactId)
      .orderBy('id')
      .execute();
    expect(actions.map((a) => a.action)).toEqual(['contact.created', 'contact.updated', 'contact.deleted']);
    const badEmail = await call(tenant, 'admin', {
      method: 'POST',
      url: path,
      payload: { name: '', email: 'nope' },
    });
    expect(badEmail.statusCode).toBe(400);
    expect(
      badEmail
        .json()
        .error.details.fields.map((f: { field: string }) => f.field)
        .sort(),
    ).toEqual(['body.email', 'body.name']);
  });

  it('keeps tiers best first, with unique names, renamed in place', async () => {
    const owner = await makeTenant(runtime.db);
    for (const [name, rank] of [
      ['Bronze', 1],
      ['Gold', 3],
      ['Silver', 2],
    ] as const) {
      const created = await call(owner, 'program_manager', {
        method: 'POST',
        url: '/api/v1/tiers',
        payload: { name, rank },
      });
      expect(created.statusCode).toBe(201);
    }
    const again = await call(owner, 'admin', {
      method: 'POST',
      url: '/api/v1/tiers',
      payload: { name: 'Gold' },
    });
    expect(again.statusCode).toBe(409);
    // The rank is a 32-bit column: a larger one is a 400, not a 500 from the database.
    const huge = await call(owner, 'admin', {
      method: 'POST',
      url: '/api/v1/tiers',
      payload: { name: 'Platinum', rank: 2_147_483_648 },
    });
    expect(huge.statusCode).toBe(400);
    expect(huge.json().error.details.fields[0].field).toBe('body.rank');
    const tiers = (await call(owner, 'sales_rep', { method: 'GET', url: '/api/v1/tiers' })).json().items;
    expect(tiers.map((t: { name: string }) => t.name)).toEqual(['Gold', 'Silver', 'Bronze']);
    const renamed = await call(owner, 'admin', {
      method: 'PATCH',
      url: `/api/v1/tiers/${tiers[2].id}`,
      payload: { name: 'Copper' },
    });
    expect(renamed.json()).toMatchObject({ id: tiers[2].id, name: 'Copper', rank: 1 });
    const clash = await call(owner, 'admin', {
      method: 'PATCH',
      url: `/api/v1/tiers/${tiers[2].id}`,
      payload: { name: 'Gold' },
    });
    expect(clash.statusCode).toBe(409);
    const theirs = await call(tenant, 'admin', {
      method: 'PATCH',
      url: `/api/v1/tiers/${tiers[2].id}`,
      payload: { rank: 9 },
    });
    expect(theirs.statusCode).toBe(404);
  });
});
