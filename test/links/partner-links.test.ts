import { randomUUID } from 'node:crypto';
import type { FastifyPluginAsync } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App, AppDeps } from '../../src/app.ts';
import { contactActor, requireContact } from '../../src/auth/authenticate.ts';
import { ManualClock } from '../../src/clock.ts';
import type { PartnerContactRow, PartnerRow } from '../../src/partners/partner.table.ts';
import type { ProgramRow } from '../../src/programs/program.table.ts';
import { makeContact, makePartner } from '../factories/partner.factory.ts';
import { makeEnrolment, makeProgram } from '../factories/program.factory.ts';
import { makeTenant, type TenantWithKeys } from '../factories/tenant.factory.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/test-database.ts';
import {
  buildTestApp,
  clearRedisPrefix,
  createTestRuntime,
  type TestRuntime,
} from '../helpers/test-runtime.ts';

const DAY = 24 * 60 * 60 * 1000;

/** A partner-facing route that needs a statements link, to see a link of another purpose refused. */
const statementsRoute: FastifyPluginAsync<{ deps: AppDeps }> = async (app, { deps }) => {
  app.get('/test/statements', { preHandler: requireContact(deps, ['view_statements']) }, async (request) => ({
    contactId: contactActor(request).contactId,
  }));
};

describe('signed partner links', () => {
  let database: TestDatabase;
  let runtime: TestRuntime;
  let app: App;
  let tenant: TenantWithKeys;
  let other: TenantWithKeys;
  let program: ProgramRow;
  let partner: PartnerRow;
  let contact: PartnerContactRow;
  const clock = new ManualClock(new Date('2027-04-01T12:00:00.000Z'));

  beforeAll(async () => {
    database = await createTestDatabase();
    runtime = await createTestRuntime(database, { clock });
    app = await buildTestApp(runtime, { extraRoutes: [statementsRoute] });
    tenant = await makeTenant(runtime.db);
    other = await makeTenant(runtime.db);
    program = await makeProgram(runtime.db, tenant.tenant.id, { name: 'Spring referrals' });
    partner = await makePartner(runtime.db, tenant.tenant.id, { name: 'Acme Agency' });
    contact = await makeContact(runtime.db, tenant.tenant.id, partner.id, {
      name: 'Ada Lovelace',
      email: 'ada@acme.example',
    });
    await makeEnrolment(runtime.db, tenant.tenant.id, program.id, partner.id);
  });
  afterAll(async () => {
    await app?.close();
    await runtime?.close();
    if (runtime) await clearRedisPrefix(runtime.redisPrefix);
    await database?.destroy();
  });

  const createLink = (body: object, owner: TenantWithKeys = tenant, headers: Record<string, string> = {}) =>
    app.inject({
      method: 'POST',
      url: '/api/v1/links',
      headers: { ...owner.as('program_manager'), ...headers },
      payload: body,
    });
  const me = (token: string) =>
    app.inject({ method: 'GET', url: '/api/v1/portal/me', headers: { authorization: `Bearer ${token}` } });
  const revoke = (id: string, owner: TenantWithKeys = tenant) =>
    app.inject({ method: 'DELETE', url: `/api/v1/links/${id}`, headers: owner.as('admin') });

  /** A contact of a new active partner, so a test's links and status changes are its own. */
  async function freshContact() {
    const p = await makePartner(runtime.db, tenant.tenant.id, { status: 'active' });
    return { partner: p, contact: await makeContact(runtime.db, tenant.tenant.id, p.id) };
  }

  it('creates a link whose token opens /portal/me, naming contact, partner and purpose', async () => {
    const response = await createLink({ contactId: contact.id, purpose: 'view_referrals' });
    expect(response.statusCode).toBe(201);
    const link = response.json();
    expect(link).toMatchObject({
      purpose: 'view_referrals',
      contactId: contact.id,
      programId: null,
      expiresAt: new Date(clock.now().getTime() + 30 * DAY).toISOString(),
    });
    expect(link.token).toMatch(new RegExp(`^${link.id}\\.[A-Za-z0-9_-]{43}$`));
    expect(link.url).toBe(`${runtime.config.publicUrl}/p/${link.token}`);

    const who = await me(link.token);
    expect(who.statusCode).toBe(200);
    expect(who.json()).toEqual({
      contact: { id: contact.id, name: 'Ada Lovelace', email: 'ada@acme.example' },
      partner: { id: partner.id, name: 'Acme Agency' },
      purpose: 'view_referrals',
      program: null,
      expiresAt: link.expiresAt,
    });

    // Audit and event name the link, never its token.
    const audit = await runtime.db
      .selectFrom('audit_log')
      .selectAll()
      .where('subject_id', '=', link.id)
      .execute();
    expect(audit.map((a) => a.action)).toEqual(['link.created']);
    expect(JSON.stringify(audit.map((a) => [a.before, a.after]))).not.toContain(link.token.split('.')[1]);
    expect(audit[0]?.after).toMatchObject({ id: link.id, state: 'active', contactId: contact.id });
    const events = (
      await runtime.db
        .selectFrom('outbox')
        .select('payload')
        .where('job_name', '=', 'events.deliver')
        .execute()
    )
      .map((row) => row.payload as { type: string; subjectId: string; data: Record<string, unknown> })
      .filter((e) => e.subjectId === link.id);
    expect(events.map((e) => e.type)).toEqual(['link.created']);
    expect(events[0]?.data).toMatchObject({
      contactId: contact.id,
      partnerId: partner.id,
      purpose: 'view_referrals',
    });
    expect(JSON.stringify(events)).not.toContain(link.token.split('.')[1]);
  });

  it('creates a registration link for a program the partner is enrolled in, and names the program', async () => {
    const response = await createLink({
      contactId: contact.id,
      purpose: 'submit_registration',
      programId: program.id,
      expiresInDays: 7,
    });
    expect(response.statusCode).toBe(201);
    expect(response.json().expiresAt).toBe(new Date(clock.now().getTime() + 7 * DAY).toISOString());
    const who = await me(response.json().token);
    expect(who.statusCode).toBe(200);
    expect(who.json()).toMatchObject({
      purpose: 'submit_registration',
      program: { id: program.id, name: 'Spring referrals' },
    });
  });

  it('refuses a registration link without a program, or for a program the partner is not in', async () => {
    const missing = await createLink({ contactId: contact.id, purpose: 'submit_registration' });
    expect(missing.statusCode).toBe(400);
    expect(missing.json().error.details.fields).toEqual([
      { field: 'body.programId', message: 'is required for submit_registration links' },
    ]);

    const notEnrolled = await makeProgram(runtime.db, tenant.tenant.id);
    const refused = await createLink({
      contactId: contact.id,
      purpose: 'submit_registration',
      programId: notEnrolled.id,
    });
    expect(refused.statusCode).toBe(422);
    expect(refused.json().error.code).toBe('unprocessable');

    const theirProgram = await makeProgram(runtime.db, other.tenant.id);
    const foreign = await createLink({
      contactId: contact.id,
      purpose: 'submit_registration',
      programId: theirProgram.id,
    });
    expect(foreign.statusCode).toBe(404);

    const count = await runtime.db
      .selectFrom('partner_links')
      .select('id')
      .where('program_id', 'in', [notEnrolled.id, theirProgram.id])
      .execute();
    expect(count).toEqual([]);
  });

  it('validates every field of the body at once', async () => {
    const response = await createLink({ contactId: 'nope', purpose: 'view_everything', expiresInDays: 366 });
    expect(response.statusCode).toBe(400);
    expect(
      response
        .json()
        .error.details.fields.map((f: { field: string }) => f.field)
        .sort(),
    ).toEqual(['body.contactId', 'body.expiresInDays', 'body.purpose']);
    const zero = await createLink({ contactId: contact.id, purpose: 'view_referrals', expiresInDays: 0 });
    expect(zero.statusCode).toBe(400);
  });

  it('stops working once expired', async () => {
    const start = clock.now();
    const link = (
      await createLink({ contactId: contact.id, purpose: 'view_referrals', expiresInDays: 1 })
    ).json();
    try {
      clock.set(new Date(start.getTime() + DAY - 1_000));
      expect((await me(link.token)).statusCode).toBe(200);
      clock.set(new Date(start.getTime() + DAY));
      const expired = await me(link.token);
      expect(expired.statusCode).toBe(401);
      expect(expired.json().error.code).toBe('unauthorized');
      expect(expired.json().error.message).toMatch(/expired/);
    } finally {
      clock.set(start);
    }
  });

  it('stops working once revoked; revoking again changes nothing', async () => {
    const link = (await createLink({ contactId: contact.id, purpose: 'view_statements' })).json();
    expect((await me(link.token)).statusCode).toBe(200);
    const revoked = await revoke(link.id);
    expect(revoked.statusCode).toBe(200);
    expect(revoked.json()).toMatchObject({ id: link.id, state: 'revoked' });
    expect(revoked.json()).not.toHaveProperty('token');
    const refused = await me(link.token);
    expect(refused.statusCode).toBe(401);
    expect(refused.json().error.message).toMatch(/revoked/);

    const again = await revoke(link.id);
    expect(again.statusCode).toBe(200);
    expect(again.json().revokedAt).toBe(revoked.json().revokedAt);
    const audits = await runtime.db
      .selectFrom('audit_log')
      .select('action')
      .where('subject_id', '=', link.id)
      .where('action', '=', 'link.revoked')
      .execute();
    expect(audits).toHaveLength(1);
  });

  it('refuses a token whose signature was tampered with, and tokens that are not links', async () => {
    const link = (await createLink({ contactId: contact.id, purpose: 'view_referrals' })).json();
    const [id, signature] = link.token.split('.') as [string, string];
    const flipped = `${id}.${signature[0] === 'A' ? 'B' : 'A'}${signature.slice(1)}`;
    const otherId = `${randomUUID()}.${signature}`;
    for (const token of [flipped, otherId, id, `${id}.`, 'garbage', tenant.keys.admin]) {
      const response = await me(token);
      expect(response.statusCode, token).toBe(401);
      expect(response.json().error.code).toBe('unauthorized');
    }
    const bare = await app.inject({ method: 'GET', url: '/api/v1/portal/me' });
    expect(bare.statusCode).toBe(401);
  });

  it('answers 403 to a link used on a route for another purpose', async () => {
    const referrals = (await createLink({ contactId: contact.id, purpose: 'view_referrals' })).json();
    const statements = (await createLink({ contactId: contact.id, purpose: 'view_statements' })).json();
    const wrong = await app.inject({
      method: 'GET',
      url: '/test/statements',
      headers: { authorization: `Bearer ${referrals.token}` },
    });
    expect(wrong.statusCode).toBe(403);
    expect(wrong.json().error.code).toBe('forbidden');
    const right = await app.inject({
      method: 'GET',
      url: '/test/statements',
      headers: { authorization: `Bearer ${statements.token}` },
    });
    expect(right.statusCode).toBe(200);
    expect(right.json()).toEqual({ contactId: contact.id });
  });

  it("stops working while the contact's partner is suspended or archived, and refuses new links for it", async () => {
    for (const status of ['suspended', 'archived'] as const) {
      const fresh = await freshContact();
      const link = (await createLink({ contactId: fresh.contact.id, purpose: 'view_referrals' })).json();
      expect((await me(link.token)).statusCode).toBe(200);
      await runtime.db.updateTable('partners').set({ status }).where('id', '=', fresh.partner.id).execute();
      expect((await me(link.token)).statusCode, status).toBe(401);
      const refused = await createLink({ contactId: fresh.contact.id, purpose: 'view_referrals' });
      expect(refused.statusCode, status).toBe(422);
    }
  });

  it('lists links with their state and never their tokens, filtered by contact and state', async () => {
    const fresh = await freshContact();
    const tokens: string[] = [];
    const ids: string[] = [];
    for (const purpose of ['view_referrals', 'view_statements', 'view_referrals'] as const) {
      const link = (await createLink({ contactId: fresh.contact.id, purpose, expiresInDays: 2 })).json();
      tokens.push(link.token);
      ids.push(link.id);
    }
    await revoke(ids[1]!);
    const list = async (query: string) => {
      const response = await app.inject({
        method: 'GET',
        url: `/api/v1/links?${query}`,
        headers: tenant.as('program_manager'),
      });
      expect(response.statusCode).toBe(200);
      for (const token of tokens) expect(response.body).not.toContain(token.split('.')[1]);
      return response.json() as { items: { id: string; state: string }[]; nextCursor: string | null };
    };

    const all = await list(`contactId=${fresh.contact.id}`);
    expect(all.items.map((l) => l.id).sort()).toEqual([...ids].sort());
    expect(all.items.every((l) => !('token' in l))).toBe(true);
    expect(Object.fromEntries(all.items.map((l) => [l.id, l.state]))).toEqual({
      [ids[0]!]: 'active',
      [ids[1]!]: 'revoked',
      [ids[2]!]: 'active',
    });

    const first = await list(`contactId=${fresh.contact.id}&limit=2`);
    expect(first.items).toHaveLength(2);
    const second = await list(`contactId=${fresh.contact.id}&limit=2&cursor=${first.nextCursor}`);
    expect(second.nextCursor).toBeNull();
    expect([...first.items, ...second.items].map((l) => l.id).sort()).toEqual([...ids].sort());

    const start = clock.now();
    try {
      clock.set(new Date(start.getTime() + 3 * DAY));
      const expired = await list(`contactId=${fresh.contact.id}&state=expired`);
      expect(expired.items.map((l) => l.id).sort()).toEqual([ids[0], ids[2]].sort());
      const active = await list(`contactId=${fresh.contact.id}&state=active`);
      expect(active.items).toEqual([]);
    } finally {
      clock.set(start);
    }
    const revokedOnly = await list(`contactId=${fresh.contact.id}&state=revoked`);
    expect(revokedOnly.items.map((l) => l.id)).toEqual([ids[1]]);
  });

  it('replays a link creation sent twice with one Idempotency-Key', async () => {
    const fresh = await freshContact();
    const key = `link-${randomUUID()}`;
    const body = { contactId: fresh.contact.id, purpose: 'view_referrals' };
    const first = await createLink(body, tenant, { 'idempotency-key': key });
    const second = await createLink(body, tenant, { 'idempotency-key': key });
    expect(first.statusCode).toBe(201);
    expect(second.json()).toEqual(first.json());
    const rows = await runtime.db
      .selectFrom('partner_links')
      .select('id')
      .where('contact_id', '=', fresh.contact.id)
      .execute();
    expect(rows).toHaveLength(1);
  });

  it('lets only admins and program managers manage links, with a key', async () => {
    const link = (await createLink({ contactId: contact.id, purpose: 'view_referrals' })).json();
    const calls = [
      {
        method: 'POST' as const,
        url: '/api/v1/links',
        payload: { contactId: contact.id, purpose: 'view_referrals' },
      },
      { method: 'GET' as const, url: `/api/v1/links?contactId=${contact.id}` },
      { method: 'DELETE' as const, url: `/api/v1/links/${link.id}` },
    ];
    for (const call of calls) {
      const bare = await app.inject(call);
      expect(bare.statusCode, `${call.method} ${call.url}`).toBe(401);
      const rep = await app.inject({ ...call, headers: tenant.as('sales_rep') });
      expect(rep.statusCode, `${call.method} ${call.url}`).toBe(403);
    }
    expect((await me(link.token)).statusCode).toBe(200);
    for (const role of ['program_manager', 'admin'] as const) {
      const listed = await app.inject({ ...calls[1]!, headers: tenant.as(role) });
      expect(listed.statusCode, role).toBe(200);
    }
    const revoked = await app.inject({ ...calls[2]!, headers: tenant.as('program_manager') });
    expect(revoked.statusCode).toBe(200);
  });

  it("answers 404 for another tenant's links, contacts and programs, and leaves their links working", async () => {
    const theirPartner = await makePartner(runtime.db, other.tenant.id);
    const theirContact = await makeContact(runtime.db, other.tenant.id, theirPartner.id);
    const theirLink = (
      await createLink({ contactId: theirContact.id, purpose: 'view_referrals' }, other)
    ).json();

    const deleted = await revoke(theirLink.id, tenant);
    expect(deleted.statusCode).toBe(404);
    expect(deleted.json().error.code).toBe('not_found');
    expect((await me(theirLink.token)).statusCode).toBe(200);

    const created = await createLink({ contactId: theirContact.id, purpose: 'view_referrals' });
    expect(created.statusCode).toBe(404);
    const listed = await app.inject({
      method: 'GET',
      url: `/api/v1/links?contactId=${theirContact.id}`,
      headers: tenant.as('admin'),
    });
    expect(listed.statusCode).toBe(404);
    const ours = await app.inject({ method: 'GET', url: '/api/v1/links', headers: tenant.as('admin') });
    expect(ours.json().items.map((l: { id: string }) => l.id)).not.toContain(theirLink.id);
    expect((await revoke(randomUUID())).statusCode).toBe(404);
  });
});
