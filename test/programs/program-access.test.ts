import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../../src/app.ts';
import { ManualClock } from '../../src/clock.ts';
import type { StaffRole } from '../../src/tenants/tenant.table.ts';
import { makePartner } from '../factories/partner.factory.ts';
import { makeEnrolment, makeProgram } from '../factories/program.factory.ts';
import { makeTenant, type TenantWithKeys } from '../factories/tenant.factory.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/test-database.ts';
import {
  buildTestApp,
  clearRedisPrefix,
  createTestRuntime,
  type TestRuntime,
} from '../helpers/test-runtime.ts';

type Method = 'GET' | 'POST' | 'PATCH';
interface Call {
  method: Method;
  url: string;
  payload?: object;
  /** Roles that may make the call; the others get 403. */
  roles: StaffRole[];
}

describe('who may see and change programs and enrolments', () => {
  let database: TestDatabase;
  let runtime: TestRuntime;
  let app: App;
  let tenant: TenantWithKeys;
  let other: TenantWithKeys;
  const clock = new ManualClock(new Date('2027-03-01T09:00:00.000Z'));

  beforeAll(async () => {
    database = await createTestDatabase();
    runtime = await createTestRuntime(database, { clock });
    app = await buildTestApp(runtime);
    tenant = await makeTenant(runtime.db);
    other = await makeTenant(runtime.db);
  });
  afterAll(async () => {
    await app?.close();
    await runtime?.close();
    if (runtime) await clearRedisPrefix(runtime.redisPrefix);
    await database?.destroy();
  });

  /** Every program and enrolment endpoint, against fresh rows of `owner`. */
  async function calls(owner: TenantWithKeys): Promise<Call[]> {
    const program = await makeProgram(runtime.db, owner.tenant.id);
    const partner = await makePartner(runtime.db, owner.tenant.id);
    const enrolled = await makePartner(runtime.db, owner.tenant.id);
    const enrolment = await makeEnrolment(runtime.db, owner.tenant.id, program.id, enrolled.id);
    const staff: StaffRole[] = ['admin', 'program_manager', 'sales_rep'];
    const managers: StaffRole[] = ['admin', 'program_manager'];
    return [
      { method: 'GET', url: '/api/v1/programs', roles: staff },
      { method: 'GET', url: `/api/v1/programs/${program.id}`, roles: staff },
      { method: 'GET', url: `/api/v1/programs/${program.id}/enrolments`, roles: staff },
      { method: 'POST', url: '/api/v1/programs', payload: { name: 'New' }, roles: managers },
      { method: 'PATCH', url: `/api/v1/programs/${program.id}`, payload: { holdDays: 7 }, roles: managers },
      {
        method: 'POST',
        url: `/api/v1/programs/${program.id}/enrolments`,
        payload: { partnerId: partner.id },
        roles: managers,
      },
      {
        method: 'PATCH',
        url: `/api/v1/enrolments/${enrolment.id}`,
        payload: { status: 'suspended' },
        roles: managers,
      },
    ];
  }

  it('answers 401 to every call without an API key, and with an unknown one', async () => {
    for (const call of await calls(tenant)) {
      const bare = await app.inject({ method: call.method, url: call.url, payload: call.payload });
      expect(bare.statusCode, `${call.method} ${call.url}`).toBe(401);
      expect(bare.json().error.code).toBe('unauthorized');
      const unknown = await app.inject({
        method: call.method,
        url: call.url,
        payload: call.payload,
        headers: { authorization: 'Bearer plk_not_a_real_key' },
      });
      expect(unknown.statusCode, `${call.method} ${call.url}`).toBe(401);
    }
  });

  it('lets sales reps read only, and admins and program managers do everything', async () => {
    for (const role of ['sales_rep', 'program_manager', 'admin'] as const) {
      // Fresh rows per role, so one role's write does not change what the next one sees.
      for (const call of await calls(tenant)) {
        const response = await app.inject({
          method: call.method,
          url: call.url,
          payload: call.payload,
          headers: tenant.as(role),
        });
        const label = `${role} ${call.method} ${call.url}`;
        if (call.roles.includes(role)) {
          expect(response.statusCode, label).toBeLessThan(300);
        } else {
          expect(response.statusCode, label).toBe(403);
          expect(response.json().error.code).toBe('forbidden');
        }
      }
    }
  });

  it("answers 404 for another tenant's programs, enrolments and partners, and changes nothing", async () => {
    const theirs = await calls(other);
    for (const call of theirs.filter((c) => c.url !== '/api/v1/programs')) {
      const response = await app.inject({
        method: call.method,
        url: call.url,
        payload: call.payload,
        headers: tenant.as('admin'),
      });
      expect(response.statusCode, `${call.method} ${call.url}`).toBe(404);
      expect(response.json().error.code).toBe('not_found');
    }
    // Our program, their partner: still 404, still nothing written.
    const ours = await makeProgram(runtime.db, tenant.tenant.id);
    const theirPartner = await makePartner(runtime.db, other.tenant.id);
    const response = await app.inject({
      method: 'POST',
      url: `/api/v1/programs/${ours.id}/enrolments`,
      payload: { partnerId: theirPartner.id },
      headers: tenant.as('admin'),
    });
    expect(response.statusCode).toBe(404);
    const enrolments = await runtime.db
      .selectFrom('enrolments')
      .select('id')
      .where('partner_id', '=', theirPartner.id)
      .execute();
    expect(enrolments).toEqual([]);
    const theirProgram = await makeProgram(runtime.db, other.tenant.id, { name: 'Theirs' });
    const unchanged = await runtime.db
      .selectFrom('programs')
      .select('hold_days')
      .where('id', '=', theirProgram.id)
      .executeTakeFirstOrThrow();
    expect(unchanged.hold_days).toBe(30);
  });

  it('documents the program, enrolment, link and portal routes in the OpenAPI document', async () => {
    const response = await app.inject({ method: 'GET', url: '/docs/json' });
    expect(response.statusCode).toBe(200);
    const paths = Object.keys((response.json() as { paths: Record<string, unknown> }).paths);
    expect(paths).toEqual(
      expect.arrayContaining([
        '/api/v1/programs',
        '/api/v1/programs/{id}',
        '/api/v1/programs/{id}/enrolments',
        '/api/v1/enrolments/{id}',
        '/api/v1/links',
        '/api/v1/links/{id}',
        '/api/v1/portal/me',
      ]),
    );
  });

  it('answers 404 for ids nobody has and 400 for ids that are not ids', async () => {
    const missing = await app.inject({
      method: 'GET',
      url: `/api/v1/programs/${randomUUID()}`,
      headers: tenant.as('sales_rep'),
    });
    expect(missing.statusCode).toBe(404);
    const malformed = await app.inject({
      method: 'GET',
      url: '/api/v1/programs/not-an-id',
      headers: tenant.as('sales_rep'),
    });
    expect(malformed.statusCode).toBe(400);
    expect(malformed.json().error.details.fields[0].field).toBe('params.id');
  });

  it("pages through the tenant's programs newest first, without repeats or gaps, filtered by status", async () => {
    const lister = await makeTenant(runtime.db);
    const made: string[] = [];
    for (let i = 0; i < 7; i++) {
      // Three programs share one instant, so the id decides their order.
      if (i !== 2 && i !== 3) clock.advance(1_000);
      const response = await app.inject({
        method: 'POST',
        url: '/api/v1/programs',
        payload: { name: `P${i}`, status: i % 2 === 0 ? 'active' : 'draft' },
        headers: lister.as('admin'),
      });
      expect(response.statusCode).toBe(201);
      made.push(response.json().id);
    }
    await makeProgram(runtime.db, other.tenant.id, { name: 'Not listed' });

    const seen: { id: string; createdAt: string }[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const query: string = cursor ? `limit=3&cursor=${cursor}` : 'limit=3';
      const response = await app.inject({
        method: 'GET',
        url: `/api/v1/programs?${query}`,
        headers: lister.as('sales_rep'),
      });
      expect(response.statusCode).toBe(200);
      const page = response.json() as {
        items: { id: string; createdAt: string }[];
        nextCursor: string | null;
      };
      seen.push(...page.items);
      cursor = page.nextCursor;
      pages++;
    } while (cursor && pages < 10);
    expect(pages).toBe(3);
    expect(seen.map((p) => p.id).sort()).toEqual([...made].sort());
    for (let i = 1; i < seen.length; i++) {
      const [a, b] = [seen[i - 1]!, seen[i]!];
      expect(a.createdAt > b.createdAt || (a.createdAt === b.createdAt && a.id > b.id)).toBe(true);
    }

    const drafts = await app.inject({
      method: 'GET',
      url: '/api/v1/programs?status=draft',
      headers: lister.as('sales_rep'),
    });
    expect(
      drafts
        .json()
        .items.map((p: { name: string }) => p.name)
        .sort(),
    ).toEqual(['P1', 'P3', 'P5']);

    const badCursor = await app.inject({
      method: 'GET',
      url: '/api/v1/programs?cursor=garbage',
      headers: lister.as('sales_rep'),
    });
    expect(badCursor.statusCode).toBe(400);
  });
});
