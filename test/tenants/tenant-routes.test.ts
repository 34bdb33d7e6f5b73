import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../../src/app.ts';
import { API_KEY_TRUST_MS, createApiKey } from '../../src/tenants/api-key.service.ts';
import { makeTenant, type TenantWithKeys } from '../factories/tenant.factory.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/test-database.ts';
import {
  buildTestApp,
  clearRedisPrefix,
  createTestRuntime,
  type TestRuntime,
} from '../helpers/test-runtime.ts';

describe('tenant settings and staff API keys', () => {
  let database: TestDatabase;
  let runtime: TestRuntime;
  let app: App;
  let acme: TenantWithKeys;
  let globex: TenantWithKeys;

  beforeAll(async () => {
    database = await createTestDatabase();
    runtime = await createTestRuntime(database);
    app = await buildTestApp(runtime);
    acme = await makeTenant(runtime.db, { name: 'Acme', timeZone: 'Europe/London', currency: 'GBP' });
    globex = await makeTenant(runtime.db, { name: 'Globex' });
  });
  afterAll(async () => {
    await app.close();
    await runtime.close();
    await clearRedisPrefix(runtime.redisPrefix);
    await database.destroy();
  });

  it.each(['admin', 'program_manager', 'sales_rep'] as const)(
    'shows a %s the tenant of their own key',
    async (role) => {
      const response = await app.inject({ method: 'GET', url: '/api/v1/tenant', headers: acme.as(role) });
      expect(response.statusCode).toBe(200);
      expect(response.json()).toMatchObject({
        id: acme.tenant.id,
        name: 'Acme',
        timeZone: 'Europe/London',
        currency: 'GBP',
      });
    },
  );

  it.each([
    ['no key', {}],
    ['a malformed header', { authorization: 'Basic abc' }],
    ['an unknown key', { authorization: 'Bearer plk_notarealkeynotarealkeynotarealkeynotarealk' }],
  ])('answers 401 with %s', async (_what, headers) => {
    const response = await app.inject({ method: 'GET', url: '/api/v1/tenant', headers });
    expect(response.statusCode).toBe(401);
    expect(response.json().error.code).toBe('unauthorized');
  });

  it('lets only admins change tenant settings, and audits the change', async () => {
    const forbidden = await app.inject({
      method: 'PATCH',
      url: '/api/v1/tenant',
      headers: acme.as('program_manager'),
      payload: { name: 'Not allowed' },
    });
    expect(forbidden.statusCode).toBe(403);

    const changed = await app.inject({
      method: 'PATCH',
      url: '/api/v1/tenant',
      headers: acme.as('admin'),
      payload: { timeZone: 'America/New_York' },
    });
    expect(changed.statusCode).toBe(200);
    expect(changed.json().timeZone).toBe('America/New_York');
    const audit = await app.inject({
      method: 'GET',
      url: '/api/v1/audit-log?action=tenant.updated',
      headers: acme.as('admin'),
    });
    const [entry] = audit.json().items;
    expect(entry).toMatchObject({
      action: 'tenant.updated',
      subjectId: acme.tenant.id,
      actorType: 'api_key',
    });
    expect(entry.before.timeZone).toBe('Europe/London');
    expect(entry.after.timeZone).toBe('America/New_York');
  });

  it('lists every bad setting at once and changes nothing', async () => {
    const response = await app.inject({
      method: 'PATCH',
      url: '/api/v1/tenant',
      headers: globex.as('admin'),
      payload: { timeZone: 'Mars/Olympus', currency: 'XYZ' },
    });
    expect(response.statusCode).toBe(400);
    expect(response.json().error.details.fields.map((f: { field: string }) => f.field)).toEqual([
      'body.timeZone',
      'body.currency',
    ]);
    const tenant = await app.inject({ method: 'GET', url: '/api/v1/tenant', headers: globex.as('admin') });
    expect(tenant.json()).toMatchObject({ timeZone: 'UTC', currency: 'USD' });
  });

  it('creates a key shown once, never lists it, and revokes it', async () => {
    const created = await app.inject({
      method: 'POST',
      url: '/api/v1/api-keys',
      headers: acme.as('admin'),
      payload: { name: 'CRM sync', role: 'sales_rep' },
    });
    expect(created.statusCode).toBe(201);
    const { key, apiKey } = created.json();
    expect(key).toMatch(/^plk_[A-Za-z0-9_-]{43}$/);
    expect(key.startsWith(apiKey.keyPrefix)).toBe(true);

    const works = await app.inject({
      method: 'GET',
      url: '/api/v1/tenant',
      headers: { authorization: `Bearer ${key}` },
    });
    expect(works.statusCode).toBe(200);

    const list = await app.inject({ method: 'GET', url: '/api/v1/api-keys', headers: acme.as('admin') });
    expect(list.body).not.toContain(key);
    expect(list.json().items.map((k: { id: string }) => k.id)).toContain(apiKey.id);
    const stored = await runtime.db
      .selectFrom('api_keys')
      .select('key_hash')
      .where('id', '=', apiKey.id)
      .executeTakeFirst();
    expect(stored?.key_hash).not.toContain(key.slice(4));

    const revoked = await app.inject({
      method: 'DELETE',
      url: `/api/v1/api-keys/${apiKey.id}`,
      headers: acme.as('admin'),
    });
    expect(revoked.statusCode).toBe(200);
    expect(revoked.json().revokedAt).not.toBeNull();
    const refused = await app.inject({
      method: 'GET',
      url: '/api/v1/tenant',
      headers: { authorization: `Bearer ${key}` },
    });
    expect(refused.statusCode).toBe(401);
  });

  it('refuses a key revoked by another process (the CLI, a replica) within API_KEY_TRUST_MS', async () => {
    const { key, row } = await createApiKey(runtime.db, {
      tenantId: acme.tenant.id,
      role: 'sales_rep',
      name: 'revoked elsewhere',
    });
    const tenant = () =>
      app.inject({ method: 'GET', url: '/api/v1/tenant', headers: { authorization: `Bearer ${key}` } });
    expect((await tenant()).statusCode).toBe(200);
    // As the CLI does it, from its own process: nothing tells this one.
    await runtime.db
      .updateTable('api_keys')
      .set({ revoked_at: new Date() })
      .where('id', '=', row.id)
      .execute();
    await new Promise((resolve) => setTimeout(resolve, API_KEY_TRUST_MS + 50));
    const refused = await tenant();
    expect(refused.statusCode).toBe(401);
    expect(refused.json().error.code).toBe('unauthorized');
  });

  it("answers 404, not 403, for another tenant's key", async () => {
    const created = await app.inject({
      method: 'POST',
      url: '/api/v1/api-keys',
      headers: globex.as('admin'),
      payload: { name: 'globex key', role: 'admin' },
    });
    const id = created.json().apiKey.id;
    const response = await app.inject({
      method: 'DELETE',
      url: `/api/v1/api-keys/${id}`,
      headers: acme.as('admin'),
    });
    expect(response.statusCode).toBe(404);
    const still = await app.inject({
      method: 'GET',
      url: '/api/v1/tenant',
      headers: { authorization: `Bearer ${created.json().key}` },
    });
    expect(still.statusCode).toBe(200);
  });

  it.each(['program_manager', 'sales_rep'] as const)('keeps key management from a %s', async (role) => {
    for (const request of [
      { method: 'GET' as const, url: '/api/v1/api-keys' },
      { method: 'POST' as const, url: '/api/v1/api-keys', payload: { name: 'x', role: 'admin' } },
    ]) {
      const response = await app.inject({ ...request, headers: acme.as(role) });
      expect(response.statusCode).toBe(403);
      expect(response.json().error.code).toBe('forbidden');
    }
  });

  it('replays a write with the same Idempotency-Key and refuses the key for another body', async () => {
    const send = (name: string) =>
      app.inject({
        method: 'POST',
        url: '/api/v1/api-keys',
        headers: { ...globex.as('admin'), 'idempotency-key': 'create-reporting-key' },
        payload: { name, role: 'sales_rep' },
      });
    const first = await send('reporting');
    const second = await send('reporting');
    expect(second.statusCode).toBe(201);
    expect(second.json()).toEqual(first.json());
    const named = await runtime.db
      .selectFrom('api_keys')
      .select('id')
      .where('tenant_id', '=', globex.tenant.id)
      .where('name', '=', 'reporting')
      .execute();
    expect(named).toHaveLength(1);

    // The key shown once is kept for the replay only in sealed form.
    const stored = await runtime.db
      .selectFrom('idempotency_keys')
      .select('response')
      .where('key', 'like', '%:create-reporting-key')
      .executeTakeFirstOrThrow();
    expect(JSON.stringify(stored.response)).not.toContain(first.json().key);

    const other = await send('something else');
    expect(other.statusCode).toBe(422);
    expect(other.json().error.code).toBe('idempotency_key_reused');
  });

  it('pages through the audit log with a cursor, newest first, and keeps it from sales reps', async () => {
    const first = await app.inject({
      method: 'GET',
      url: '/api/v1/audit-log?limit=1',
      headers: globex.as('admin'),
    });
    const page1 = first.json();
    expect(page1.items).toHaveLength(1);
    expect(page1.nextCursor).not.toBeNull();
    const second = await app.inject({
      method: 'GET',
      url: `/api/v1/audit-log?limit=1&cursor=${page1.nextCursor}`,
      headers: globex.as('admin'),
    });
    const page2 = second.json();
    expect(Number(page2.items[0].id)).toBeLessThan(Number(page1.items[0].id));
    const all = await app.inject({ method: 'GET', url: '/api/v1/audit-log', headers: globex.as('admin') });
    expect(all.json().items.every((e: { subjectId: string }) => e.subjectId !== acme.tenant.id)).toBe(true);

    const rep = await app.inject({
      method: 'GET',
      url: '/api/v1/audit-log',
      headers: globex.as('sales_rep'),
    });
    expect(rep.statusCode).toBe(403);
  });
});
