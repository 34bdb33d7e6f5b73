import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.ts';
import type { FormField } from '../../src/programs/program.table.ts';
import { makeContact, makePartner } from '../factories/partner.factory.ts';
import { makeEnrolment } from '../factories/program.factory.ts';
import {
  countRegistrations,
  openWorld,
  type RegistrationWorld,
  setupProgram,
  submit,
} from './registration-setup.ts';

const formFields: FormField[] = [
  { key: 'industry', label: 'Industry', type: 'select', required: true, options: ['Retail', 'Finance'] },
  { key: 'employees', label: 'Employees', type: 'number', required: false },
  { key: 'region', label: 'Region', type: 'text', required: true },
  { key: 'kickoff', label: 'Kick-off', type: 'date', required: false },
];

describe('what a registration must carry', () => {
  let world: RegistrationWorld;
  // Noon UTC on 4 May is already 5 May in Auckland.
  const clock = new ManualClock(new Date('2026-05-04T12:00:00.000Z'));

  beforeAll(async () => {
    world = await openWorld({ clock });
  });
  afterAll(async () => {
    await world?.close();
  });

  async function rowsWritten(tenantId: string) {
    const audit = await world.runtime.db
      .selectFrom('audit_log')
      .select('id')
      .where('tenant_id', '=', tenantId)
      .where('subject_type', '=', 'registration')
      .execute();
    return { registrations: await countRegistrations(world.runtime.db, tenantId), audit: audit.length };
  }

  it('answers 400 listing every bad field, and writes nothing', async () => {
    const setup = await setupProgram(world.runtime.db, { program: { formFields } });
    const partner = await setup.partner();
    const before = await rowsWritten(setup.t.tenant.id);
    const outboxBefore = await world.runtime.db.selectFrom('outbox').select('id').execute();

    const response = await submit(world.app, setup, partner.id, {
      companyName: '!!!',
      website: 'not a website',
      contactEmail: 'nobody@',
      currency: 'ZZZ',
      expectedClose: '2026-02-30',
      estimatedValue: -5,
      customFields: { industry: 'Mining', employees: 'many', kickoff: 'soon', unknown: 1 },
    });
    expect(response.statusCode).toBe(400);
    const error = response.json().error;
    expect(error.code).toBe('validation_failed');
    const fields = error.details.fields.map((f: { field: string }) => f.field).sort();
    expect(fields).toEqual(
      [
        'body.companyName',
        'body.website',
        'body.contactEmail',
        'body.estimatedValue',
        'body.currency',
        'body.expectedClose',
        'body.customFields.unknown',
        'body.customFields.industry',
        'body.customFields.employees',
        'body.customFields.region',
        'body.customFields.kickoff',
      ].sort(),
    );
    for (const f of error.details.fields) expect(f.message).toEqual(expect.any(String));
    expect(error.details.fields).toContainEqual({
      field: 'body.customFields.region',
      message: 'is required',
    });
    expect(error.details.fields).toContainEqual({
      field: 'body.customFields.industry',
      message: 'must be one of: Retail, Finance',
    });

    expect(await rowsWritten(setup.t.tenant.id)).toEqual(before);
    expect(await world.runtime.db.selectFrom('outbox').select('id').execute()).toHaveLength(
      outboxBefore.length,
    );
  });

  it('answers 400 for wrong types by schema, listing each field', async () => {
    const setup = await setupProgram(world.runtime.db);
    const partner = await setup.partner();
    const response = await submit(world.app, setup, partner.id, {
      companyName: { name: 'Acme' },
      estimatedValue: 'lots',
      colour: 'red',
    });
    expect(response.statusCode).toBe(400);
    const fields = response.json().error.details.fields.map((f: { field: string }) => f.field);
    expect(fields).toEqual(
      expect.arrayContaining(['body.companyName', 'body.estimatedValue', 'body.colour']),
    );
    expect(await countRegistrations(world.runtime.db, setup.t.tenant.id)).toBe(0);
  });

  it("stores the program's form fields, with numbers from text and the program's currency by default", async () => {
    const setup = await setupProgram(world.runtime.db, { program: { formFields, currency: 'JPY' } });
    const response = await submit(world.app, setup, (await setup.partner()).id, {
      companyName: 'Kaiju Logistics',
      estimatedValue: 900_000,
      customFields: { industry: 'Retail', employees: '250', region: ' Kanto ', kickoff: '' },
    });
    expect(response.statusCode, response.body).toBe(201);
    expect(response.json()).toMatchObject({
      currency: 'JPY',
      estimatedValue: 900_000,
      customFields: { industry: 'Retail', employees: 250, region: 'Kanto' },
    });
    expect(response.json().customFields).not.toHaveProperty('kickoff');
  });

  it('answers 404 for a program or partner that is not in the tenant', async () => {
    const setup = await setupProgram(world.runtime.db);
    const other = await setupProgram(world.runtime.db);
    const partner = await setup.partner();
    const foreignPartner = await other.partner();
    const noProgram = await submit(world.app, setup, partner.id, {
      companyName: 'X',
      programId: randomUUID(),
    });
    expect(noProgram.statusCode).toBe(404);
    const theirProgram = await submit(world.app, setup, partner.id, {
      companyName: 'X',
      programId: other.program.id,
    });
    expect(theirProgram.statusCode).toBe(404);
    const theirPartner = await submit(world.app, setup, foreignPartner.id, { companyName: 'X' });
    expect(theirPartner.statusCode).toBe(404);
    expect(theirPartner.json().error.code).toBe('not_found');
    expect(await countRegistrations(world.runtime.db, setup.t.tenant.id)).toBe(0);
  });

  it('answers 422 when the program or the partner cannot take a registration', async () => {
    const setup = await setupProgram(world.runtime.db, { tenant: { timeZone: 'Pacific/Auckland' } });
    const { db } = world.runtime;
    const partner = await setup.partner();
    const setProgram = (values: {
      status?: 'active' | 'closed';
      starts_on?: string | null;
      ends_on?: string | null;
    }) => db.updateTable('programs').set(values).where('id', '=', setup.program.id).execute();
    const attempt = async (partnerId = partner.id) =>
      (await submit(world.app, setup, partnerId, { companyName: 'Wayne Enterprises' })).json();

    await setProgram({ status: 'closed' });
    expect((await attempt()).error.code).toBe('unprocessable');
    // 5 May has begun in Auckland although it is still 4 May in UTC.
    await setProgram({ status: 'active', starts_on: '2026-05-06' });
    expect((await attempt()).error.message).toMatch(/starts on 2026-05-06/);
    await setProgram({ starts_on: '2026-05-05', ends_on: '2026-05-05' });
    expect((await attempt()).status).toBe('submitted');
    await setProgram({ starts_on: null, ends_on: '2026-05-04' });
    expect((await attempt()).error.message).toMatch(/ended on 2026-05-04/);
    await setProgram({ ends_on: null });

    const suspended = await setup.partner({ status: 'suspended' });
    expect((await attempt(suspended.id)).error).toMatchObject({ code: 'unprocessable' });
    const notEnrolled = await makePartner(db, setup.t.tenant.id);
    expect((await attempt(notEnrolled.id)).error.message).toMatch(/not enrolled/);
    const leaver = await makePartner(db, setup.t.tenant.id);
    const enrolment = await makeEnrolment(db, setup.t.tenant.id, setup.program.id, leaver.id);
    await db.updateTable('enrolments').set({ status: 'left' }).where('id', '=', enrolment.id).execute();
    expect((await attempt(leaver.id)).error).toMatchObject({
      code: 'unprocessable',
      details: { enrolmentStatus: 'left' },
    });
    expect(await countRegistrations(db, setup.t.tenant.id)).toBe(1);
  });

  it("refuses a contact that is not the partner's, together with the other field problems", async () => {
    const setup = await setupProgram(world.runtime.db);
    const partner = await setup.partner();
    const stranger = await makeContact(world.runtime.db, setup.t.tenant.id, (await setup.partner()).id);
    const response = await submit(world.app, setup, partner.id, {
      companyName: 'Ok Name',
      contactId: stranger.id,
      contactEmail: 'bad',
    });
    expect(response.statusCode).toBe(400);
    expect(
      response
        .json()
        .error.details.fields.map((f: { field: string }) => f.field)
        .sort(),
    ).toEqual(['body.contactEmail', 'body.contactId']);
    const own = await makeContact(world.runtime.db, setup.t.tenant.id, partner.id);
    const ok = await submit(world.app, setup, partner.id, { companyName: 'Ok Name', contactId: own.id });
    expect(ok.json().contactId).toBe(own.id);
  });
});
