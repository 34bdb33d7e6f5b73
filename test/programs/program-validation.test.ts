import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../../src/app.ts';
import { makeTier } from '../factories/partner.factory.ts';
import { makeTenant, type TenantWithKeys } from '../factories/tenant.factory.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/test-database.ts';
import {
  buildTestApp,
  clearRedisPrefix,
  createTestRuntime,
  type TestRuntime,
} from '../helpers/test-runtime.ts';

interface FieldProblem {
  field: string;
  message: string;
}

describe('program rules: creating and changing programs', () => {
  let database: TestDatabase;
  let runtime: TestRuntime;
  let app: App;
  let tenant: TenantWithKeys;
  let other: TenantWithKeys;

  beforeAll(async () => {
    database = await createTestDatabase();
    runtime = await createTestRuntime(database);
    app = await buildTestApp(runtime);
    tenant = await makeTenant(runtime.db, { currency: 'EUR' });
    other = await makeTenant(runtime.db);
  });
  afterAll(async () => {
    await app?.close();
    await runtime?.close();
    if (runtime) await clearRedisPrefix(runtime.redisPrefix);
    await database?.destroy();
  });

  const post = (body: unknown, headers: Record<string, string> = {}) =>
    app.inject({
      method: 'POST',
      url: '/api/v1/programs',
      headers: { ...tenant.as('program_manager'), ...headers },
      payload: body as object,
    });
  const patch = (id: string, body: unknown) =>
    app.inject({
      method: 'PATCH',
      url: `/api/v1/programs/${id}`,
      headers: tenant.as('admin'),
      payload: body as object,
    });
  const countPrograms = async (tenantId: string) =>
    Number(
      (
        await runtime.db
          .selectFrom('programs')
          .select((eb) => eb.fn.countAll().as('n'))
          .where('tenant_id', '=', tenantId)
          .executeTakeFirstOrThrow()
      ).n,
    );
  const fieldsOf = (response: { json(): unknown }) =>
    ((response.json() as { error: { details: { fields: FieldProblem[] } } }).error.details.fields ?? [])
      .map((f) => f.field)
      .sort();

  it('creates a program with the documented defaults and the tenant currency', async () => {
    const response = await post({ name: 'Referral program' });
    expect(response.statusCode).toBe(201);
    const program = response.json();
    expect(program).toMatchObject({
      name: 'Referral program',
      status: 'active',
      startsOn: null,
      endsOn: null,
      eligibleKinds: [],
      eligibleTierIds: [],
      protectionDays: 90,
      holdDays: 30,
      minimumPayout: 0,
      currency: 'EUR',
      formFields: [],
      autoApprove: {},
      commissionPlanId: null,
    });
    expect(program.id).toMatch(/^[0-9a-f-]{36}$/);
    const audit = await runtime.db
      .selectFrom('audit_log')
      .selectAll()
      .where('subject_id', '=', program.id)
      .execute();
    expect(audit.map((a) => a.action)).toEqual(['program.created']);
    expect(audit[0]?.tenant_id).toBe(tenant.tenant.id);
  });

  it('stores every field of a full program and returns money as integer minor units', async () => {
    const gold = await makeTier(runtime.db, tenant.tenant.id, 'Gold', 3);
    const planId = randomUUID();
    const response = await post({
      name: 'Delivery 2027',
      status: 'draft',
      startsOn: '2027-01-01',
      endsOn: '2027-12-31',
      eligibleKinds: ['delivery', 'consultancy', 'delivery'],
      eligibleTierIds: [gold.id],
      protectionDays: 120,
      holdDays: 0,
      minimumPayout: 123456,
      currency: 'JPY',
      formFields: [
        {
          key: 'budget_band',
          label: 'Budget band',
          type: 'select',
          required: true,
          options: ['S', 'M', 'L'],
        },
        { key: 'go_live', label: 'Go-live', type: 'date' },
      ],
      autoApprove: { whenClear: true, tierIds: [gold.id] },
      commissionPlanId: planId,
    });
    expect(response.statusCode).toBe(201);
    const program = response.json();
    expect(program).toMatchObject({
      status: 'draft',
      startsOn: '2027-01-01',
      endsOn: '2027-12-31',
      eligibleKinds: ['delivery', 'consultancy'],
      eligibleTierIds: [gold.id],
      protectionDays: 120,
      holdDays: 0,
      minimumPayout: 123456,
      currency: 'JPY',
      formFields: [
        {
          key: 'budget_band',
          label: 'Budget band',
          type: 'select',
          required: true,
          options: ['S', 'M', 'L'],
        },
        { key: 'go_live', label: 'Go-live', type: 'date', required: false },
      ],
      autoApprove: { whenClear: true, tierIds: [gold.id] },
      commissionPlanId: planId,
    });
    const row = await runtime.db
      .selectFrom('programs')
      .selectAll()
      .where('id', '=', program.id)
      .executeTakeFirstOrThrow();
    expect(row.minimum_payout).toBe(123456n);
    expect(row.starts_on).toBe('2027-01-01');

    const read = await app.inject({
      method: 'GET',
      url: `/api/v1/programs/${program.id}`,
      headers: tenant.as('sales_rep'),
    });
    expect(read.statusCode).toBe(200);
    expect(read.json()).toEqual(program);
  });

  it('lists every semantic problem of a body at once and writes nothing', async () => {
    const before = await countPrograms(tenant.tenant.id);
    const otherTier = await makeTier(runtime.db, other.tenant.id, 'Platinum');
    const response = await post({
      name: 'Broken',
      currency: 'ZZZ',
      startsOn: '2027-03-01',
      endsOn: '2027-02-28',
      formFields: [
        { key: 'budget', label: 'Budget', type: 'number' },
        { key: 'budget', label: 'Budget again', type: 'text' },
        { key: 'company_name', label: 'Company', type: 'text' },
        { key: 'industry', label: 'Industry', type: 'select' },
        { key: 'region', label: 'Region', type: 'text', options: ['EU'] },
      ],
      eligibleTierIds: [randomUUID()],
      autoApprove: { tierIds: [otherTier.id] },
    });
    expect(response.statusCode).toBe(400);
    expect(response.json().error.code).toBe('validation_failed');
    expect(fieldsOf(response)).toEqual(
      [
        'body.currency',
        'body.endsOn',
        'body.formFields.1.key',
        'body.formFields.2.key',
        'body.formFields.3.options',
        'body.formFields.4.options',
        'body.eligibleTierIds.0',
        'body.autoApprove.tierIds.0',
      ].sort(),
    );
    for (const problem of response.json().error.details.fields as FieldProblem[]) {
      expect(problem.message.length).toBeGreaterThan(0);
    }
    expect(await countPrograms(tenant.tenant.id)).toBe(before);
  });

  it('rejects a select field with an empty list of options and repeated options', async () => {
    const response = await post({
      name: 'Selects',
      formFields: [
        { key: 'size', label: 'Size', type: 'select', options: [] },
        { key: 'colour', label: 'Colour', type: 'select', options: ['red', 'red'] },
      ],
    });
    expect(response.statusCode).toBe(400);
    expect(fieldsOf(response)).toEqual(['body.formFields.0.options', 'body.formFields.1.options']);
  });

  it('lists every schema problem at once', async () => {
    const response = await post({
      currency: 'EUR',
      status: 'open',
      startsOn: '2027-02-30',
      protectionDays: 0,
      holdDays: -1,
      minimumPayout: -5,
      eligibleKinds: ['reseller'],
      formFields: [{ key: 'Not Snake', label: 'x', type: 'text' }],
      commissionPlanId: 'plan-1',
    });
    expect(response.statusCode).toBe(400);
    const fields = fieldsOf(response);
    for (const expected of [
      'body.name',
      'body.status',
      'body.startsOn',
      'body.protectionDays',
      'body.holdDays',
      'body.minimumPayout',
      'body.eligibleKinds.0',
      'body.formFields.0.key',
      'body.commissionPlanId',
    ]) {
      expect(fields).toContain(expected);
    }
  });

  it('accepts lower bounds: one protection day, no hold, a single day program', async () => {
    const response = await post({
      name: 'Tight',
      protectionDays: 1,
      holdDays: 0,
      minimumPayout: 0,
      startsOn: '2027-05-05',
      endsOn: '2027-05-05',
    });
    expect(response.statusCode).toBe(201);
    expect(response.json()).toMatchObject({ protectionDays: 1, holdDays: 0, endsOn: '2027-05-05' });
  });

  it('changes only the fields a patch sends, and audits before and after', async () => {
    const created = (await post({ name: 'Patch me', holdDays: 14, currency: 'USD' })).json();
    const response = await patch(created.id, { name: 'Patched', minimumPayout: 5000, status: 'closed' });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toMatchObject({
      id: created.id,
      name: 'Patched',
      minimumPayout: 5000,
      status: 'closed',
      holdDays: 14,
      currency: 'USD',
    });
    const audit = await runtime.db
      .selectFrom('audit_log')
      .selectAll()
      .where('subject_id', '=', created.id)
      .where('action', '=', 'program.updated')
      .executeTakeFirstOrThrow();
    expect(audit.before).toMatchObject({ name: 'Patch me', status: 'active', minimumPayout: 0 });
    expect(audit.after).toMatchObject({ name: 'Patched', status: 'closed', minimumPayout: 5000 });
  });

  it('checks the date order of a patch against the stored dates', async () => {
    const created = (await post({ name: 'Dated', startsOn: '2027-01-10', endsOn: '2027-06-30' })).json();

    const endTooEarly = await patch(created.id, { endsOn: '2027-01-01' });
    expect(endTooEarly.statusCode).toBe(400);
    expect(fieldsOf(endTooEarly)).toEqual(['body.endsOn']);

    const startTooLate = await patch(created.id, { startsOn: '2027-07-01' });
    expect(startTooLate.statusCode).toBe(400);
    expect(fieldsOf(startTooLate)).toEqual(['body.startsOn']);

    const cleared = await patch(created.id, { endsOn: null, startsOn: '2027-07-01' });
    expect(cleared.statusCode).toBe(200);
    expect(cleared.json()).toMatchObject({ startsOn: '2027-07-01', endsOn: null });
  });

  it('reports semantic problems of a patch with the same field names', async () => {
    const created = (await post({ name: 'Patch problems' })).json();
    const response = await patch(created.id, {
      currency: 'usd',
      formFields: [{ key: 'notes', label: 'Notes', type: 'text' }],
      eligibleTierIds: [randomUUID()],
    });
    expect(response.statusCode).toBe(400);
    expect(fieldsOf(response)).toEqual(['body.currency', 'body.eligibleTierIds.0', 'body.formFields.0.key']);
    const unchanged = await app.inject({
      method: 'GET',
      url: `/api/v1/programs/${created.id}`,
      headers: tenant.as('admin'),
    });
    expect(unchanged.json()).toMatchObject({ currency: 'EUR', formFields: [], eligibleTierIds: [] });
  });

  it('refuses an empty patch', async () => {
    const created = (await post({ name: 'Empty patch' })).json();
    const response = await patch(created.id, {});
    expect(response.statusCode).toBe(400);
    expect(response.json().error.code).toBe('validation_failed');
  });

  it('replays a create sent twice with one Idempotency-Key, and refuses the key for another body', async () => {
    const key = `create-${randomUUID()}`;
    const before = await countPrograms(tenant.tenant.id);
    const first = await post({ name: 'Once' }, { 'idempotency-key': key });
    const second = await post({ name: 'Once' }, { 'idempotency-key': key });
    expect(first.statusCode).toBe(201);
    expect(second.statusCode).toBe(201);
    expect(second.json()).toEqual(first.json());
    expect(await countPrograms(tenant.tenant.id)).toBe(before + 1);

    const reused = await post({ name: 'Twice' }, { 'idempotency-key': key });
    expect(reused.statusCode).toBe(422);
    expect(reused.json().error.code).toBe('idempotency_key_reused');
    expect(await countPrograms(tenant.tenant.id)).toBe(before + 1);
  });
});
