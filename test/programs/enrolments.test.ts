import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../../src/app.ts';
import { isPartnerEligible } from '../../src/programs/program.repository.ts';
import { resolveReferralCode } from '../../src/programs/referral-code.ts';
import { makePartner, makeTier } from '../factories/partner.factory.ts';
import { makeProgram } from '../factories/program.factory.ts';
import { makeTenant, type TenantWithKeys } from '../factories/tenant.factory.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/test-database.ts';
import {
  buildTestApp,
  clearRedisPrefix,
  createTestRuntime,
  type TestRuntime,
} from '../helpers/test-runtime.ts';

const CODE = /^[23456789ABCDEFGHJKMNPQRSTVWXYZ]{8}$/;

describe('enrolling partners in programs', () => {
  let database: TestDatabase;
  let runtime: TestRuntime;
  let app: App;
  let tenant: TenantWithKeys;

  beforeAll(async () => {
    database = await createTestDatabase();
    runtime = await createTestRuntime(database);
    app = await buildTestApp(runtime);
    tenant = await makeTenant(runtime.db);
  });
  afterAll(async () => {
    await app?.close();
    await runtime?.close();
    if (runtime) await clearRedisPrefix(runtime.redisPrefix);
    await database?.destroy();
  });

  const enrol = (programId: string, partnerId: string, headers: Record<string, string> = {}) =>
    app.inject({
      method: 'POST',
      url: `/api/v1/programs/${programId}/enrolments`,
      headers: { ...tenant.as('program_manager'), ...headers },
      payload: { partnerId },
    });
  const enrolmentsOf = (partnerId: string) =>
    runtime.db.selectFrom('enrolments').selectAll().where('partner_id', '=', partnerId).execute();
  const eventsFor = async (subjectId: string) =>
    (
      await runtime.db
        .selectFrom('outbox')
        .select('payload')
        .where('job_name', '=', 'events.deliver')
        .execute()
    )
      .map((row) => row.payload as { type: string; subjectId: string; data: Record<string, unknown> })
      .filter((event) => event.subjectId === subjectId);

  it('enrols a partner with a referral code and link, audits it and announces enrolment.created', async () => {
    const program = await makeProgram(runtime.db, tenant.tenant.id);
    const partner = await makePartner(runtime.db, tenant.tenant.id);
    const response = await enrol(program.id, partner.id);
    expect(response.statusCode).toBe(201);
    const enrolment = response.json();
    expect(enrolment).toMatchObject({ programId: program.id, partnerId: partner.id, status: 'active' });
    expect(enrolment.referralCode).toMatch(CODE);
    expect(enrolment.referralUrl).toBe(`${runtime.config.publicUrl}/r/${enrolment.referralCode}`);

    const audit = await runtime.db
      .selectFrom('audit_log')
      .selectAll()
      .where('subject_id', '=', enrolment.id)
      .execute();
    expect(audit.map((a) => a.action)).toEqual(['enrolment.created']);
    const events = await eventsFor(enrolment.id);
    expect(events.map((e) => e.type)).toEqual(['enrolment.created']);
    expect(events[0]?.data).toMatchObject({ programId: program.id, partnerId: partner.id });

    expect(await resolveReferralCode(runtime.db, enrolment.referralCode)).toEqual({
      tenantId: tenant.tenant.id,
      programId: program.id,
      partnerId: partner.id,
      enrolmentId: enrolment.id,
    });
  });

  it('returns the existing enrolment (200) when a partner is enrolled again, creating no duplicate', async () => {
    const program = await makeProgram(runtime.db, tenant.tenant.id);
    const partner = await makePartner(runtime.db, tenant.tenant.id);
    const first = await enrol(program.id, partner.id);
    const again = await enrol(program.id, partner.id);
    expect(first.statusCode).toBe(201);
    expect(again.statusCode).toBe(200);
    expect(again.json()).toEqual(first.json());
    expect(await enrolmentsOf(partner.id)).toHaveLength(1);
    expect(await eventsFor(first.json().id)).toHaveLength(1);

    // With an Idempotency-Key the first response itself is replayed.
    const other = await makePartner(runtime.db, tenant.tenant.id);
    const key = `enrol-${randomUUID()}`;
    const keyed = await enrol(program.id, other.id, { 'idempotency-key': key });
    const replayed = await enrol(program.id, other.id, { 'idempotency-key': key });
    expect(keyed.statusCode).toBe(201);
    expect(replayed.statusCode).toBe(201);
    expect(replayed.json()).toEqual(keyed.json());
    expect(await enrolmentsOf(other.id)).toHaveLength(1);
  });

  it('makes one enrolment when the same partner is enrolled by several requests at once', async () => {
    const program = await makeProgram(runtime.db, tenant.tenant.id);
    const partner = await makePartner(runtime.db, tenant.tenant.id);
    const responses = await Promise.all(Array.from({ length: 5 }, () => enrol(program.id, partner.id)));
    const statuses = responses.map((r) => r.statusCode).sort();
    expect(statuses).toEqual([200, 200, 200, 200, 201]);
    expect(new Set(responses.map((r) => r.json().id)).size).toBe(1);
    expect(await enrolmentsOf(partner.id)).toHaveLength(1);
  });

  it("refuses partners the program's kinds exclude, with the reason", async () => {
    const program = await makeProgram(runtime.db, tenant.tenant.id, {
      eligibleKinds: ['delivery', 'consultancy'],
    });
    const referrer = await makePartner(runtime.db, tenant.tenant.id, { kind: 'referral' });
    const response = await enrol(program.id, referrer.id);
    expect(response.statusCode).toBe(422);
    expect(response.json().error.code).toBe('not_eligible');
    expect(response.json().error.details.reasons).toEqual([
      'partners of kind "referral" are not eligible for this program',
    ]);
    expect(await enrolmentsOf(referrer.id)).toEqual([]);

    const deliverer = await makePartner(runtime.db, tenant.tenant.id, { kind: 'delivery' });
    expect((await enrol(program.id, deliverer.id)).statusCode).toBe(201);
  });

  it("refuses partners outside the program's tiers, including partners without a tier", async () => {
    const gold = await makeTier(runtime.db, tenant.tenant.id, `Gold ${randomUUID()}`, 3);
    const silver = await makeTier(runtime.db, tenant.tenant.id, `Silver ${randomUUID()}`, 2);
    const program = await makeProgram(runtime.db, tenant.tenant.id, { eligibleTierIds: [gold.id] });
    const silverPartner = await makePartner(runtime.db, tenant.tenant.id, { tierId: silver.id });
    const untiered = await makePartner(runtime.db, tenant.tenant.id);
    const goldPartner = await makePartner(runtime.db, tenant.tenant.id, { tierId: gold.id });

    for (const partner of [silverPartner, untiered]) {
      const response = await enrol(program.id, partner.id);
      expect(response.statusCode).toBe(422);
      expect(response.json().error.code).toBe('not_eligible');
      expect(await enrolmentsOf(partner.id)).toEqual([]);
    }
    expect((await enrol(program.id, goldPartner.id)).statusCode).toBe(201);
  });

  it('refuses a closed program and an archived partner', async () => {
    const closed = await makeProgram(runtime.db, tenant.tenant.id);
    await runtime.db.updateTable('programs').set({ status: 'closed' }).where('id', '=', closed.id).execute();
    const partner = await makePartner(runtime.db, tenant.tenant.id);
    const refused = await enrol(closed.id, partner.id);
    expect(refused.statusCode).toBe(422);
    expect(refused.json().error.code).toBe('unprocessable');
    expect(await enrolmentsOf(partner.id)).toEqual([]);

    const open = await makeProgram(runtime.db, tenant.tenant.id);
    const archived = await makePartner(runtime.db, tenant.tenant.id, { status: 'archived' });
    const response = await enrol(open.id, archived.id);
    expect(response.statusCode).toBe(422);
    expect(response.json().error.code).toBe('not_eligible');
  });

  it('decides eligibility from kinds and tiers, an empty list admitting all', () => {
    const open = { eligible_kinds: [], eligible_tier_ids: [] };
    const kinds = { eligible_kinds: ['affiliate'], eligible_tier_ids: [] };
    const tiers = { eligible_kinds: [], eligible_tier_ids: ['t-gold'] };
    expect(isPartnerEligible(open, { kind: 'referral', tier_id: null })).toBe(true);
    expect(isPartnerEligible(kinds, { kind: 'affiliate', tier_id: null })).toBe(true);
    expect(isPartnerEligible(kinds, { kind: 'delivery', tier_id: null })).toBe(false);
    expect(isPartnerEligible(tiers, { kind: 'delivery', tier_id: 't-gold' })).toBe(true);
    expect(isPartnerEligible(tiers, { kind: 'delivery', tier_id: 't-silver' })).toBe(false);
    expect(isPartnerEligible(tiers, { kind: 'delivery', tier_id: null })).toBe(false);
  });

  it("lists a program's enrolments, filters them by status, and changes an enrolment's status", async () => {
    const program = await makeProgram(runtime.db, tenant.tenant.id);
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const partner = await makePartner(runtime.db, tenant.tenant.id);
      ids.push((await enrol(program.id, partner.id)).json().id);
    }
    const list = await app.inject({
      method: 'GET',
      url: `/api/v1/programs/${program.id}/enrolments?limit=2`,
      headers: tenant.as('sales_rep'),
    });
    expect(list.statusCode).toBe(200);
    expect(list.json().items).toHaveLength(2);
    const rest = await app.inject({
      method: 'GET',
      url: `/api/v1/programs/${program.id}/enrolments?limit=2&cursor=${list.json().nextCursor}`,
      headers: tenant.as('sales_rep'),
    });
    expect(rest.json().nextCursor).toBeNull();
    expect([...list.json().items, ...rest.json().items].map((e: { id: string }) => e.id).sort()).toEqual(
      [...ids].sort(),
    );

    const suspended = await app.inject({
      method: 'PATCH',
      url: `/api/v1/enrolments/${ids[0]}`,
      headers: tenant.as('program_manager'),
      payload: { status: 'suspended' },
    });
    expect(suspended.statusCode).toBe(200);
    expect(suspended.json().status).toBe('suspended');
    expect(await resolveReferralCode(runtime.db, suspended.json().referralCode)).toBeUndefined();
    const audit = await runtime.db
      .selectFrom('audit_log')
      .selectAll()
      .where('subject_id', '=', ids[0]!)
      .where('action', '=', 'enrolment.updated')
      .executeTakeFirstOrThrow();
    expect(audit.before).toMatchObject({ status: 'active' });
    expect(audit.after).toMatchObject({ status: 'suspended' });
    expect((await eventsFor(ids[0]!)).map((e) => e.type)).toEqual([
      'enrolment.created',
      'enrolment.status_changed',
    ]);

    const filtered = await app.inject({
      method: 'GET',
      url: `/api/v1/programs/${program.id}/enrolments?status=suspended`,
      headers: tenant.as('sales_rep'),
    });
    expect(filtered.json().items.map((e: { id: string }) => e.id)).toEqual([ids[0]]);

    const bad = await app.inject({
      method: 'PATCH',
      url: `/api/v1/enrolments/${ids[1]}`,
      headers: tenant.as('program_manager'),
      payload: { status: 'paused' },
    });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.details.fields.map((f: { field: string }) => f.field)).toEqual(['body.status']);
  });
});
