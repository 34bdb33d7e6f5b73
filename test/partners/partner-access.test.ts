import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../../src/app.ts';
import { ManualClock } from '../../src/clock.ts';
import type { StaffRole } from '../../src/tenants/tenant.table.ts';
import { makeContact, makePartner } from '../factories/partner.factory.ts';
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

describe('who may read and change partners, contacts and tiers', () => {
  let world: TestWorld;
  let runtime: TestRuntime;
  let app: App;
  let tenant: TenantWithKeys;
  let other: TenantWithKeys;
  const clock = new ManualClock(new Date('2027-04-01T10:00:00.000Z'));

  beforeAll(async () => {
    world = await openWorld({ clock });
    ({ runtime, app } = world);
    tenant = await makeTenant(runtime.db);
    other = await makeTenant(runtime.db);
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

  it('lets sales reps read but not change partners, contacts or tiers; no key is a 401', async () => {
    const partner = await makePartner(runtime.db, tenant.tenant.id);
    const contact = await makeContact(runtime.db, tenant.tenant.id, partner.id);
    const reads: Call[] = [
      { method: 'GET', url: '/api/v1/partners' },
      { method: 'GET', url: `/api/v1/partners/${partner.id}` },
      { method: 'GET', url: `/api/v1/partners/${partner.id}/contacts` },
      { method: 'GET', url: `/api/v1/contacts/${contact.id}` },
      { method: 'GET', url: '/api/v1/tiers' },
    ];
    const writes: Call[] = [
      { method: 'POST', url: '/api/v1/partners', payload: { name: 'X', kind: 'referral' } },
      { method: 'PATCH', url: `/api/v1/partners/${partner.id}`, payload: { name: 'Renamed' } },
      { method: 'POST', url: `/api/v1/partners/${partner.id}/move`, payload: { parentId: null } },
      {
        method: 'POST',
        url: '/api/v1/partners/import',
        payload: 'external_id,name,kind\nX1,X,referral\n',
        headers: { 'content-type': 'text/csv' },
      },
      {
        method: 'POST',
        url: `/api/v1/partners/${partner.id}/contacts`,
        payload: { name: 'N', email: 'n@x.example' },
      },
      { method: 'PATCH', url: `/api/v1/contacts/${contact.id}`, payload: { name: 'N' } },
      { method: 'DELETE', url: `/api/v1/contacts/${contact.id}` },
      { method: 'POST', url: '/api/v1/tiers', payload: { name: 'Sales tier' } },
    ];
    for (const c of reads)
      expect((await call(tenant, 'sales_rep', c)).statusCode, `${c.method} ${c.url}`).toBe(200);
    for (const c of writes) {
      const response = await call(tenant, 'sales_rep', c);
      expect(response.statusCode, `${c.method} ${c.url}`).toBe(403);
      expect(response.json().error.code).toBe('forbidden');
    }
    for (const c of [...reads, ...writes]) {
      const bare = await app.inject({ method: c.method, url: c.url, headers: c.headers, payload: c.payload });
      expect(bare.statusCode, `${c.method} ${c.url}`).toBe(401);
    }
    // Nothing the sales rep tried landed.
    expect(
      (await runtime.db.selectFrom('partners').select('name').where('id', '=', partner.id).executeTakeFirst())
        ?.name,
    ).toBe(partner.name);
    expect(
      await runtime.db.selectFrom('tiers').select('id').where('name', '=', 'Sales tier').execute(),
    ).toHaveLength(0);
  });

  it("answers 404 for another tenant's partner and contact, whatever the role", async () => {
    const theirs = await makePartner(runtime.db, other.tenant.id);
    const theirContact = await makeContact(runtime.db, other.tenant.id, theirs.id);
    const reads: Call[] = [
      { method: 'GET', url: `/api/v1/partners/${theirs.id}` },
      { method: 'GET', url: `/api/v1/partners/${theirs.id}/contacts` },
      { method: 'GET', url: `/api/v1/contacts/${theirContact.id}` },
    ];
    const writes: Call[] = [
      { method: 'PATCH', url: `/api/v1/partners/${theirs.id}`, payload: { name: 'Hijacked' } },
      { method: 'POST', url: `/api/v1/partners/${theirs.id}/move`, payload: { parentId: null } },
      {
        method: 'POST',
        url: `/api/v1/partners/${theirs.id}/contacts`,
        payload: { name: 'N', email: 'n@x.example' },
      },
      { method: 'PATCH', url: `/api/v1/contacts/${theirContact.id}`, payload: { name: 'Hijacked' } },
      { method: 'DELETE', url: `/api/v1/contacts/${theirContact.id}` },
    ];
    for (const role of ['admin', 'program_manager', 'sales_rep'] as const) {
      for (const c of reads) {
        const response = await call(tenant, role, c);
        expect(response.statusCode, `${role} ${c.method} ${c.url}`).toBe(404);
        expect(response.json().error.code).toBe('not_found');
      }
    }
    for (const role of ['admin', 'program_manager'] as const) {
      for (const c of writes)
        expect((await call(tenant, role, c)).statusCode, `${role} ${c.method} ${c.url}`).toBe(404);
    }
    const listed = await call(tenant, 'admin', {
      method: 'GET',
      url: `/api/v1/partners?parent=${theirs.id}&subtree=true`,
    });
    expect(listed.json().items).toEqual([]);
    const still = await runtime.db
      .selectFrom('partner_contacts')
      .selectAll()
      .where('id', '=', theirContact.id)
      .execute();
    expect(still).toHaveLength(1);
    expect(still[0]?.name).toBe(theirContact.name);
  });
});
