import { existsSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../../src/app.ts';
import { makeContact, makePartner } from '../factories/partner.factory.ts';
import { makeEnrolment, makeProgram } from '../factories/program.factory.ts';
import { makeTenant } from '../factories/tenant.factory.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/test-database.ts';
import {
  buildTestApp,
  clearRedisPrefix,
  createTestRuntime,
  type TestRuntime,
} from '../helpers/test-runtime.ts';
import { makeLinkToken } from './portal-session.ts';

const CHROMIUM = '/usr/bin/chromium';

describe('the registration form in a real browser, without JavaScript', () => {
  let database: TestDatabase;
  let runtime: TestRuntime;
  let app: App;
  let browser: Browser | undefined;
  let baseUrl: string;
  let token: string;
  let tenantId: string;

  beforeAll(async () => {
    database = await createTestDatabase();
    runtime = await createTestRuntime(database);
    app = await buildTestApp(runtime);
    await app.listen({ port: 0, host: '127.0.0.1' });
    baseUrl = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    tenantId = (await makeTenant(runtime.db)).tenant.id;
    const program = await makeProgram(runtime.db, tenantId, {
      name: 'Solution Partners',
      currency: 'EUR',
      formFields: [
        {
          key: 'industry',
          label: 'Industry',
          type: 'select',
          required: true,
          options: ['Retail', 'Banking'],
        },
        { key: 'seats', label: 'Number of seats', type: 'number', required: false },
      ],
    });
    const partner = await makePartner(runtime.db, tenantId, { name: 'Northwind Partners' });
    await makeEnrolment(runtime.db, tenantId, program.id, partner.id);
    const contact = await makeContact(runtime.db, tenantId, partner.id, { name: 'Robin Seller' });
    ({ token } = await makeLinkToken(runtime.db, runtime.services.secrets.linkSigningKey, {
      tenantId,
      contactId: contact.id,
      purpose: 'submit_registration',
      programId: program.id,
      expiresAt: new Date(Date.now() + 86_400_000),
    }));
  });
  afterAll(async () => {
    await browser?.close();
    await app.close();
    await runtime.close();
    await clearRedisPrefix(runtime.redisPrefix);
    await database.destroy();
  });

  it('fills the form by its labels, submits it and lands on the confirmation', async () => {
    // Never skipped: a missing browser is a broken test machine, and CI installs it.
    if (!existsSync(CHROMIUM)) {
      throw new Error(
        `Chromium is not installed at ${CHROMIUM}: run \`apt-get install chromium\` and run the tests again`,
      );
    }
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
    const context = await browser.newContext({
      javaScriptEnabled: false,
      viewport: { width: 800, height: 900 },
    });
    const page = await context.newPage();
    const response = await page.goto(`${baseUrl}/p/${token}`);
    expect(response?.status()).toBe(200);
    await expect(page.title()).resolves.toBe('Register a prospect – PartnerLoop');

    // First with mistakes: the server answers with the same form, the mistakes marked, the rest kept.
    await page.getByLabel('Website').fill('contoso-browser.de');
    await page.getByLabel('Estimated value').fill('12.500,50');
    await Promise.all([
      page.waitForResponse((r) => r.request().method() === 'POST' && r.status() === 400),
      page.getByRole('button', { name: 'Register this prospect' }).click(),
    ]);
    await expect(page.title()).resolves.toMatch(/^Error: Register a prospect/);
    await expect(page.getByRole('alert').textContent()).resolves.toContain('Company name is required');
    await expect(page.getByLabel('Company name').getAttribute('aria-invalid')).resolves.toBe('true');
    await expect(page.getByLabel('Estimated value').getAttribute('aria-invalid')).resolves.toBe('true');
    await expect(page.getByLabel('Website').inputValue()).resolves.toBe('contoso-browser.de');
    await expect(page.getByLabel('Industry').getAttribute('aria-invalid')).resolves.toBe('true');
    await page.screenshot({ path: '/tmp/portal-form-errors.png', fullPage: true });

    await page.getByLabel('Company name').fill('Contoso Browser GmbH');
    await page.getByLabel('Contact name').fill('Dana Buyer');
    await page.getByLabel('Contact email').fill('dana@contoso-browser.de');
    await page.getByLabel('Estimated value').fill('12,500.50');
    await page.getByLabel('Expected close date').fill('2027-03-31');
    await page.getByLabel('Industry').selectOption('Banking');
    await page.getByLabel('Number of seats').fill('25');
    await page.getByLabel('Notes').fill('Met at the trade fair');
    await page.screenshot({ path: '/tmp/portal-form.png', fullPage: true });

    await Promise.all([
      page.waitForURL(/\/registrations\/[0-9a-f-]{36}$/),
      page.getByRole('button', { name: 'Register this prospect' }).click(),
    ]);
    await expect(page.getByRole('heading', { level: 1 }).textContent()).resolves.toBe(
      'Registration received',
    );
    const text = await page.locator('main').textContent();
    expect(text).toContain('Contoso Browser GmbH');
    expect(text).toContain('12,500.50 EUR');
    expect(text).toContain('Not protected yet');
    await page.screenshot({ path: '/tmp/portal-confirmation.png', fullPage: true });

    const row = await runtime.db
      .selectFrom('registrations')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .executeTakeFirstOrThrow();
    expect(row).toMatchObject({
      company_name: 'Contoso Browser GmbH',
      estimated_value: 1_250_050n,
      currency: 'EUR',
      expected_close: '2027-03-31',
      source: 'form',
    });
    expect(row.custom_fields).toEqual({ industry: 'Banking', seats: 25 });
  });
});
