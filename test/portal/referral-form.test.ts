import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../../src/app.ts';
import type { PartnerRow } from '../../src/partners/partner.table.ts';
import type { ProgramRow } from '../../src/programs/program.table.ts';
import { makePartner } from '../factories/partner.factory.ts';
import { makeEnrolment, makeProgram } from '../factories/program.factory.ts';
import { makeTenant } from '../factories/tenant.factory.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/test-database.ts';
import {
  buildTestApp,
  clearRedisPrefix,
  createTestRuntime,
  type TestRuntime,
} from '../helpers/test-runtime.ts';
import { controlTag, openForm, postForm } from './portal-session.ts';

describe('the shared referral-code form', () => {
  let database: TestDatabase;
  let runtime: TestRuntime;
  let app: App;
  let tenantId: string;
  let program: ProgramRow;
  let partner: PartnerRow;
  let other: PartnerRow;
  const CODE = 'K7QM3XPA';
  const OTHER_CODE = 'ZZ9PLURA';

  const rows = () =>
    runtime.db.selectFrom('registrations').selectAll().where('tenant_id', '=', tenantId).execute();
  const referral = (overrides: Record<string, string> = {}) => ({
    referralCode: 'k7qm-3xpa',
    submitterName: 'Ada Referrer',
    submitterEmail: 'ada@referrers.example',
    companyName: 'Woodgrove Bank',
    website: 'woodgrovebank.com',
    contactName: '',
    contactEmail: 'cfo@woodgrovebank.com',
    estimatedValue: '1,250,000',
    currency: '',
    expectedClose: '',
    notes: 'They want to start in spring',
    'customFields.region': 'EMEA',
    ...overrides,
  });

  beforeAll(async () => {
    database = await createTestDatabase();
    runtime = await createTestRuntime(database);
    app = await buildTestApp(runtime);
    tenantId = (await makeTenant(runtime.db)).tenant.id;
    program = await makeProgram(runtime.db, tenantId, {
      name: 'Affiliates',
      currency: 'JPY',
      formFields: [
        { key: 'region', label: 'Region', type: 'select', required: true, options: ['EMEA', 'APAC'] },
      ],
    });
    partner = await makePartner(runtime.db, tenantId, { name: 'Referral Heroes' });
    other = await makePartner(runtime.db, tenantId, { name: 'Other Heroes' });
    await makeEnrolment(runtime.db, tenantId, program.id, partner.id, CODE);
    await makeEnrolment(runtime.db, tenantId, program.id, other.id, OTHER_CODE);
  });
  afterAll(async () => {
    await app.close();
    await runtime.close();
    await clearRedisPrefix(runtime.redisPrefix);
    await database.destroy();
  });

  it('shows a blank form asking for the referral code', async () => {
    const { response } = await openForm(app, '/register');
    expect(response.statusCode).toBe(200);
    expect(response.body).toMatch(
      /<label for="field-referralCode">Referral code <span class="req">\(required\)<\/span>/,
    );
    expect(response.body).toMatch(/<label for="field-submitterName">Your name/);
    expect(response.body).toMatch(/<label for="field-submitterEmail">Your email/);
    expect(response.body).toMatch(/<label for="field-companyName">Company name/);
    expect(response.body).toMatch(/<form method="post" action="\/register"/);
  });

  it("opens a referral link typed in lower case with the code filled in and the program's fields", async () => {
    const { response } = await openForm(app, '/r/k7qm-3xpa');
    expect(response.statusCode).toBe(200);
    expect(controlTag(response.body, 'field-referralCode')).toContain(`value="${CODE}"`);
    expect(response.body).toContain('Affiliates');
    expect(response.body).toMatch(/<select id="[^"]+" name="customFields\.region"/);
    expect(controlTag(response.body, 'field-currency')).toContain('value="JPY"');
    expect(response.body).not.toContain('Referral Heroes');
  });

  it('shows the form with an error for an unknown referral code', async () => {
    const { response } = await openForm(app, '/r/NOPE1234');
    expect(response.statusCode).toBe(404);
    expect(response.body).toContain('We do not recognise this referral code');
    const tag = controlTag(response.body, 'field-referralCode');
    expect(tag).toContain('aria-invalid="true"');
    expect(tag).toContain('value="NOPE1234"');
    expect(response.body).toContain('<a href="#field-referralCode">');
  });

  it("registers the prospect for the code's partner and program, recording who referred it", async () => {
    const { session } = await openForm(app, '/register');
    const response = await postForm(app, '/register', session, referral());
    expect(response.statusCode).toBe(303);
    const location = response.headers.location as string;
    expect(location).toMatch(/^\/register\/done\/[0-9a-f-]{36}\?receipt=[A-Za-z0-9_-]{43}$/);
    const [row] = (await rows()).filter((r) => r.company_name === 'Woodgrove Bank');
    expect(row).toMatchObject({
      source: 'referral_code',
      partner_id: partner.id,
      program_id: program.id,
      contact_id: null,
      contact_email: 'cfo@woodgrovebank.com',
      estimated_value: 1_250_000n,
      currency: 'JPY',
      check_outcome: 'clear',
    });
    expect(row!.notes).toContain('Ada Referrer <ada@referrers.example>');
    expect(row!.notes).toContain('They want to start in spring');
    expect(row!.custom_fields).toEqual({ region: 'EMEA' });
    const audit = await runtime.db
      .selectFrom('audit_log')
      .selectAll()
      .where('subject_id', '=', row!.id)
      .where('action', '=', 'registration.submitted')
      .executeTakeFirstOrThrow();
    expect(audit).toMatchObject({ source: 'referral_code', actor_type: 'system' });

    const page = await app.inject({ method: 'GET', url: location });
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('Registration received');
    expect(page.body).toContain('Woodgrove Bank');
    expect(page.body).toContain('1,250,000 JPY');
    expect(page.body).toContain('Not protected yet');
  });

  it("says so when the code's partner had registered the prospect, or another partner had", async () => {
    const { session } = await openForm(app, '/register');
    const again = await postForm(app, '/register', session, referral({ companyName: 'Woodgrove' }));
    expect(again.statusCode).toBe(303);
    expect((await app.inject({ method: 'GET', url: again.headers.location as string })).body).toContain(
      'Already registered',
    );
    const taken = await postForm(
      app,
      '/register',
      session,
      referral({ referralCode: OTHER_CODE.toLowerCase() }),
    );
    expect(taken.statusCode).toBe(303);
    const page = await app.inject({ method: 'GET', url: taken.headers.location as string });
    expect(page.body).toContain('Another partner already registered this prospect');
    expect(page.body).not.toContain('Referral Heroes');
  });

  it('refuses an unknown code with every other problem too, and writes nothing', async () => {
    const before = await rows();
    const { session } = await openForm(app, '/register');
    const response = await postForm(
      app,
      '/register',
      session,
      referral({ referralCode: 'WRONG', submitterName: '', submitterEmail: 'nope', estimatedValue: 'lots' }),
    );
    expect(response.statusCode).toBe(400);
    for (const id of [
      'field-referralCode',
      'field-submitterName',
      'field-submitterEmail',
      'field-estimatedValue',
    ]) {
      expect(controlTag(response.body, id)).toContain('aria-invalid="true"');
    }
    expect(controlTag(response.body, 'field-companyName')).toContain('value="Woodgrove Bank"');
    expect(await rows()).toHaveLength(before.length);
  });

  it("lists the referrer's and the program's problems together, and writes nothing", async () => {
    const before = await rows();
    const { session } = await openForm(app, '/register');
    const response = await postForm(
      app,
      '/register',
      session,
      referral({ submitterEmail: '', companyName: '', 'customFields.region': '', estimatedValue: '12.5' }),
    );
    expect(response.statusCode).toBe(400);
    expect(response.body).toContain('Enter your email address');
    expect(response.body).toContain('Company name is required');
    expect(response.body).toContain('Region is required');
    expect(response.body).toContain('JPY amounts have no decimals');
    expect(response.body).toMatch(/<select[^>]*name="customFields\.region"[^>]*aria-invalid="true"/);
    expect(await rows()).toHaveLength(before.length);
  });

  it('shows a confirmation only with its receipt, and never another registration with it', async () => {
    const { session } = await openForm(app, '/register');
    const first = await postForm(
      app,
      '/register',
      session,
      referral({ companyName: 'Alpine Ski House', website: 'alpineskihouse.com', contactEmail: '' }),
    );
    const second = await postForm(
      app,
      '/register',
      session,
      referral({ companyName: 'Coho Winery', website: 'cohowinery.com', contactEmail: '' }),
    );
    const [firstPath, firstReceipt] = (first.headers.location as string).split('?');
    const [secondPath] = (second.headers.location as string).split('?');
    for (const url of [
      firstPath!,
      `${firstPath}?receipt=${'A'.repeat(43)}`,
      `${secondPath}?${firstReceipt}`,
    ]) {
      const response = await app.inject({ method: 'GET', url });
      expect(response.statusCode).toBe(404);
      expect(response.body).not.toContain('Alpine Ski House');
      expect(response.body).not.toContain('Coho Winery');
    }
  });
});
