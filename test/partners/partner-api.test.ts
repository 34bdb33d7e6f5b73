import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../../src/app.ts';
import { ManualClock } from '../../src/clock.ts';
import type { StaffRole } from '../../src/tenants/tenant.table.ts';
import { makePartner, makeTier } from '../factories/partner.factory.ts';
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

describe('partners over the staff API', () => {
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

  const countPartners = async (tenantId: string) =>
    (await runtime.db.selectFrom('partners').select('id').where('tenant_id', '=', tenantId).execute()).length;

  it('creates a partner with its tier, parent and payout details, audited and announced', async () => {
    const tier = await makeTier(runtime.db, tenant.tenant.id, 'Gold', 3);
    const parent = await makePartner(runtime.db, tenant.tenant.id);
    const response = await call(tenant, 'program_manager', {
      method: 'POST',
      url: '/api/v1/partners',
      payload: {
        name: 'Acme Consulting',
        kind: 'consultancy',
        tierId: tier.id,
        parentId: parent.id,
        externalId: 'ACME-1',
        payoutDetails: { method: 'bank_transfer', reference: 'DE89 3704 0044 0532 0130 00' },
      },
    });
    expect(response.statusCode).toBe(201);
    const created = response.json();
    expect(created).toMatchObject({
      name: 'Acme Consulting',
      kind: 'consultancy',
      status: 'invited',
      tierId: tier.id,
      parentId: parent.id,
      externalId: 'ACME-1',
      payoutDetails: { method: 'bank_transfer', reference: 'DE89 3704 0044 0532 0130 00' },
      createdAt: '2027-04-01T10:00:00.000Z',
    });
    const fetched = await call(tenant, 'sales_rep', { method: 'GET', url: `/api/v1/partners/${created.id}` });
    expect(fetched.statusCode).toBe(200);
    expect(fetched.json()).toEqual(created);
    const audit = await runtime.db
      .selectFrom('audit_log')
      .selectAll()
      .where('subject_id', '=', created.id)
      .executeTakeFirstOrThrow();
    expect(audit).toMatchObject({
      action: 'partner.created',
      actor_type: 'api_key',
      tenant_id: tenant.tenant.id,
    });
    const events = await runtime.db
      .selectFrom('outbox')
      .select('payload')
      .where('job_name', '=', 'events.deliver')
      .execute();
    expect(events.map((e) => e.payload)).toContainEqual(
      expect.objectContaining({ type: 'partner.created', subjectId: created.id, tenantId: tenant.tenant.id }),
    );

    const taken = await call(tenant, 'admin', {
      method: 'POST',
      url: '/api/v1/partners',
      payload: { name: 'Another', kind: 'referral', externalId: 'ACME-1' },
    });
    expect(taken.statusCode).toBe(409);
    expect(taken.json().error.code).toBe('conflict');
  });

  it('lists every bad field of a body at once, and writes nothing', async () => {
    const before = await countPartners(tenant.tenant.id);
    const shape = await call(tenant, 'admin', {
      method: 'POST',
      url: '/api/v1/partners',
      payload: { name: '', kind: 'reseller', tierId: 'gold', payoutDetails: { method: '' }, colour: 'red' },
    });
    expect(shape.statusCode).toBe(400);
    expect(shape.json().error.code).toBe('validation_failed');
    const fields = (shape.json().error.details.fields as { field: string }[]).map((f) => f.field);
    for (const field of [
      'body.name',
      'body.kind',
      'body.tierId',
      'body.payoutDetails.method',
      'body.colour',
    ]) {
      expect(fields).toContain(field);
    }

    const refs = await call(tenant, 'admin', {
      method: 'POST',
      url: '/api/v1/partners',
      payload: {
        name: 'Dangling',
        kind: 'referral',
        tierId: '00000000-0000-4000-8000-000000000001',
        parentId: (await makePartner(runtime.db, other.tenant.id)).id,
      },
    });
    expect(refs.statusCode).toBe(400);
    expect(refs.json().error.details.fields).toEqual([
      { field: 'body.tierId', message: 'is not a tier of this tenant' },
      { field: 'body.parentId', message: 'is not a partner of this tenant' },
    ]);

    const partner = await makePartner(runtime.db, tenant.tenant.id);
    const patch = await call(tenant, 'admin', {
      method: 'PATCH',
      url: `/api/v1/partners/${partner.id}`,
      payload: { status: 'gone', parentId: null, name: '' },
    });
    expect(patch.statusCode).toBe(400);
    const patchFields = (patch.json().error.details.fields as { field: string }[]).map((f) => f.field);
    expect(patchFields).toEqual(expect.arrayContaining(['body.status', 'body.parentId', 'body.name']));
    expect(await countPartners(tenant.tenant.id)).toBe(before + 1);
  });

  it('changes a partner, audits before and after, and writes nothing for a change to the same values', async () => {
    const gold = await makeTier(runtime.db, tenant.tenant.id, 'Platinum', 4);
    const partner = await makePartner(runtime.db, tenant.tenant.id, { name: 'Old name', status: 'invited' });
    clock.advance(60_000);
    const change = {
      name: 'New name',
      kind: 'delivery',
      status: 'active',
      tierId: gold.id,
      payoutDetails: { method: 'paypal', reference: 'pay@partner.example' },
    };
    const response = await call(tenant, 'admin', {
      method: 'PATCH',
      url: `/api/v1/partners/${partner.id}`,
      payload: change,
    });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toMatchObject({ ...change, parentId: null });
    expect(response.json().updatedAt).toBe(clock.now().toISOString());
    const again = await call(tenant, 'admin', {
      method: 'PATCH',
      url: `/api/v1/partners/${partner.id}`,
      payload: change,
    });
    expect(again.statusCode).toBe(200);
    const audits = await runtime.db
      .selectFrom('audit_log')
      .selectAll()
      .where('subject_id', '=', partner.id)
      .where('action', '=', 'partner.updated')
      .execute();
    expect(audits).toHaveLength(1);
    expect(audits[0]?.before).toMatchObject({ name: 'Old name', status: 'invited', tierId: null });
    expect(audits[0]?.after).toMatchObject({ name: 'New name', status: 'active', tierId: gold.id });

    const cleared = await call(tenant, 'program_manager', {
      method: 'PATCH',
      url: `/api/v1/partners/${partner.id}`,
      payload: { tierId: null, payoutDetails: {} },
    });
    expect(cleared.json()).toMatchObject({ tierId: null, payoutDetails: {} });
  });

  it('filters by status, kind and tier, and pages newest first without losing or repeating a partner', async () => {
    const owner = await makeTenant(runtime.db);
    const silver = await makeTier(runtime.db, owner.tenant.id, 'Silver', 2);
    const made: string[] = [];
    for (let i = 0; i < 5; i++) {
      clock.advance(1_000);
      const response = await call(owner, 'admin', {
        method: 'POST',
        url: '/api/v1/partners',
        payload: {
          name: `P${i}`,
          kind: i % 2 ? 'affiliate' : 'referral',
          status: i < 2 ? 'active' : 'invited',
          ...(i === 4 ? { tierId: silver.id } : {}),
        },
      });
      made.push(response.json().id);
    }
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const url: string = `/api/v1/partners?limit=2${cursor ? `&cursor=${cursor}` : ''}`;
      const page = await call(owner, 'sales_rep', { method: 'GET', url });
      expect(page.statusCode).toBe(200);
      seen.push(...page.json().items.map((p: { id: string }) => p.id));
      cursor = page.json().nextCursor;
      pages++;
    } while (cursor);
    expect(pages).toBe(3);
    expect(seen).toEqual([...made].reverse());

    const names = async (query: string) =>
      (await call(owner, 'admin', { method: 'GET', url: `/api/v1/partners?${query}` }))
        .json()
        .items.map((p: { name: string }) => p.name);
    expect(await names('status=active')).toEqual(['P1', 'P0']);
    expect(await names('kind=affiliate')).toEqual(['P3', 'P1']);
    expect(await names(`tier=${silver.id}`)).toEqual(['P4']);
    expect(await names('kind=affiliate&status=invited')).toEqual(['P3']);
    const bad = await call(owner, 'admin', {
      method: 'GET',
      url: '/api/v1/partners?cursor=bm90LWEtY3Vyc29y',
    });
    expect(bad.statusCode).toBe(400);
  });

  it('replays a POST /partners with the same Idempotency-Key and refuses the key for another body', async () => {
    const headers = { 'idempotency-key': 'create-partner-7' };
    const body = { name: 'Idempotent Ltd', kind: 'referral' };
    const first = await call(tenant, 'admin', {
      method: 'POST',
      url: '/api/v1/partners',
      payload: body,
      headers,
    });
    const second = await call(tenant, 'admin', {
      method: 'POST',
      url: '/api/v1/partners',
      payload: body,
      headers,
    });
    expect(first.statusCode).toBe(201);
    expect(second.statusCode).toBe(201);
    expect(second.json()).toEqual(first.json());
    const rows = await runtime.db
      .selectFrom('partners')
      .select('id')
      .where('name', '=', 'Idempotent Ltd')
      .execute();
    expect(rows).toHaveLength(1);
    const reused = await call(tenant, 'admin', {
      method: 'POST',
      url: '/api/v1/partners',
      payload: { ...body, name: 'Something else' },
      headers,
    });
    expect(reused.statusCode).toBe(422);
    expect(reused.json().error.code).toBe('idempotency_key_reused');
    expect(
      await runtime.db.selectFrom('partners').select('id').where('name', '=', 'Something else').execute(),
    ).toHaveLength(0);
  });
});
