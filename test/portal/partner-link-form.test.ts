import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../../src/app.ts';
import { revokePartnerLink } from '../../src/links/partner-link.service.ts';
import { FIELDS, type PartnerWorld, setUpPartnerWorld } from './partner-world.ts';
import { controlTag, openForm, postForm } from './portal-session.ts';

const XSS = '<script>alert(1)</script>';

describe('the registration form behind a partner link', () => {
  let w: PartnerWorld;
  let app: App;
  let submitToken: string;
  let viewToken: string;
  const registrations = () => w.registrations();
  const valid = (company: string): Record<string, string> => ({
    companyName: company,
    website: '',
    contactName: 'Dana Buyer',
    contactEmail: '',
    estimatedValue: '12,500.50',
    currency: '',
    expectedClose: '2027-02-15',
    notes: '',
    'customFields.industry': 'Retail',
    'customFields.seats': '40',
    'customFields.kickoff': '',
    'customFields.champion': 'Pat',
  });

  beforeAll(async () => {
    w = await setUpPartnerWorld();
    ({ app, submitToken, viewToken } = w);
  });
  afterAll(async () => {
    await w.close();
  });

  it('renders the registration form with every standard and program field, each with its label', async () => {
    const { response } = await openForm(app, `/p/${submitToken}`);
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toMatch(/^text\/html/);
    const body = response.body;
    expect(body).toContain('<html lang="en">');
    expect(body).toMatch(/<title>Register a prospect – PartnerLoop<\/title>/);
    expect(body).toContain('Resellers 2027');
    expect(body).toContain('Hello Robin Seller');
    const labelled = [
      ['field-companyName', 'Company name'],
      ['field-website', 'Website'],
      ['field-contactName', 'Contact name'],
      ['field-contactEmail', 'Contact email'],
      ['field-estimatedValue', 'Estimated value'],
      ['field-currency', 'Currency'],
      ['field-expectedClose', 'Expected close date'],
      ['field-notes', 'Notes'],
    ];
    for (const [id, label] of labelled) {
      expect(body).toMatch(new RegExp(`<label for="${id}">${label}`));
      controlTag(body, id!);
    }
    for (const field of FIELDS) {
      const name = `customFields.${field.key}`;
      const control = new RegExp(`<(input|select)[^>]*id="([^"]+)" name="${name.replace('.', '\\.')}"`).exec(
        body,
      );
      expect(control, `a control for ${name}`).not.toBeNull();
      const id = control![2];
      expect(body).toMatch(
        new RegExp(
          `<label for="${id}">${field.label}${field.required ? ' <span class="req">\\(required\\)</span>' : '</label>'}`,
        ),
      );
    }
    expect(controlTag(body, 'field-companyName')).toContain('required');
    expect(body).toContain('<option value="Retail">Retail</option>');
    expect(body).toContain('<option value="Banking">Banking</option>');
    expect(body).toMatch(/<input type="date" id="field-expectedClose"/);
    expect(body).toContain('USD if left empty');
    expect(controlTag(body, 'field-currency')).toContain('value="USD"');
    expect(body).not.toContain('<script');
  });

  it('sends the security headers on pages and on error pages', async () => {
    for (const url of [`/p/${submitToken}`, '/p/not-a-token']) {
      const response = await app.inject({ method: 'GET', url });
      expect(response.headers['content-security-policy']).toContain("default-src 'self'");
      expect(response.headers['content-security-policy']).toContain("style-src 'self' 'unsafe-inline'");
      expect(response.headers['content-security-policy']).toContain("form-action 'self'");
      expect(response.headers['content-security-policy']).toContain("frame-ancestors 'none'");
      expect(response.headers['x-content-type-options']).toBe('nosniff');
      expect(response.headers['referrer-policy']).toBe('no-referrer');
    }
    const cookie = (await app.inject({ method: 'GET', url: `/p/${submitToken}` })).headers['set-cookie'];
    expect(String(cookie)).toMatch(/pl_csrf=[^;]+;.*HttpOnly/i);
    expect(String(cookie)).toMatch(/SameSite=Strict/i);
    // The API keeps its own behaviour: no page headers there.
    const api = await app.inject({ method: 'GET', url: '/api/v1/tenant', headers: w.acme.as('admin') });
    expect(api.headers['content-security-policy']).toBeUndefined();
  });

  it('keeps the pages out of the API document', async () => {
    const doc = await app.inject({ method: 'GET', url: '/docs/json' });
    expect(doc.statusCode).toBe(200);
    const paths = Object.keys(doc.json().paths);
    expect(paths.length).toBeGreaterThan(0);
    expect(paths.filter((path) => /^\/(p|r|register)\b/.test(path))).toEqual([]);
  });

  it('submits a new prospect, redirects with 303 and confirms it with its protection', async () => {
    const { session } = await openForm(app, `/p/${submitToken}`);
    const response = await postForm(app, `/p/${submitToken}`, session, valid('Contoso Retail'));
    expect(response.statusCode).toBe(303);
    const location = response.headers.location as string;
    expect(location).toMatch(
      new RegExp(`^/p/${submitToken.replace('.', '\\.')}/registrations/[0-9a-f-]{36}$`),
    );

    const [row] = (await registrations()).filter((r) => r.company_name === 'Contoso Retail');
    expect(row).toMatchObject({
      source: 'form',
      partner_id: w.partner.id,
      contact_id: w.contact.id,
      estimated_value: 1250050n,
      currency: 'USD',
      expected_close: '2027-02-15',
      check_outcome: 'clear',
      status: 'approved',
    });
    expect(row!.custom_fields).toEqual({ industry: 'Retail', seats: 40, champion: 'Pat' });

    const page = await app.inject({ method: 'GET', url: location });
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('Registration received');
    expect(page.body).toContain('Contoso Retail');
    expect(page.body).toContain('Protected for you until 1 March 2027');
    expect(page.body).toContain('12,500.50 USD');
  });

  it('says plainly when the partner had already registered the prospect', async () => {
    await w.seed(w.partner.id, 'Fabrikam Inc', 'fabrikam.com');
    const { session } = await openForm(app, `/p/${submitToken}`);
    const response = await postForm(app, `/p/${submitToken}`, session, {
      ...valid('Fabrikam'),
      website: 'https://www.fabrikam.com/',
    });
    expect(response.statusCode).toBe(303);
    const page = await app.inject({ method: 'GET', url: response.headers.location as string });
    expect(page.body).toContain('Already registered by you');
    expect(page.body).not.toContain('Registration received');
    expect(page.body).toContain('Not protected yet');
  });

  it('says plainly when another partner registered the prospect first', async () => {
    await w.seed(w.sibling.id, 'Tailspin Toys', 'tailspintoys.com');
    const { session } = await openForm(app, `/p/${submitToken}`);
    const response = await postForm(app, `/p/${submitToken}`, session, {
      ...valid('Tailspin Toys Ltd'),
      website: 'tailspintoys.com',
    });
    expect(response.statusCode).toBe(303);
    const page = await app.inject({ method: 'GET', url: response.headers.location as string });
    expect(page.body).toContain('Another partner already registered this prospect');
    expect(page.body).not.toContain('Sibling Consulting');
    expect(page.body).toContain('Not protected yet');
  });

  it('re-renders the form with status 400, every problem next to its field and the values kept, writing nothing', async () => {
    const before = await registrations();
    const auditBefore = await w.runtime.db.selectFrom('audit_log').select('id').execute();
    const { session } = await openForm(app, `/p/${submitToken}`);
    const response = await postForm(app, `/p/${submitToken}`, session, {
      ...valid(''),
      website: 'northwind.com',
      contactEmail: 'not-an-email',
      estimatedValue: '12.345',
      'customFields.industry': '',
      'customFields.seats': 'many',
      'customFields.champion': '',
      notes: 'Met them at the fair',
    });
    expect(response.statusCode).toBe(400);
    const body = response.body;
    expect(body).toMatch(/<title>Error: Register a prospect/);
    expect(body).toContain('There is a problem');
    const problems: [string, RegExp][] = [
      ['field-companyName', /Company name is required/],
      ['field-contactEmail', /Contact email is not an email address/],
      ['field-estimatedValue', /USD amounts have at most 2 decimals/],
    ];
    for (const [id, message] of problems) {
      const tag = controlTag(body, id);
      expect(tag).toContain('aria-invalid="true"');
      expect(tag).toContain(`${id}-error`);
      expect(body).toMatch(new RegExp(`<p class="field-error" id="${id}-error">.*${message.source}`));
      // The summary links to the field.
      expect(body).toMatch(new RegExp(`<a href="#${id}">${message.source}`));
    }
    for (const label of [
      'Industry is required',
      'Number of seats must be a number',
      'Internal champion is required',
    ]) {
      expect(body).toContain(label);
    }
    const customErrors =
      body.match(/<(input|select)[^>]*name="customFields\.[a-z]+"[^>]*aria-invalid="true"/g) ?? [];
    expect(customErrors).toHaveLength(3);
    // What the person typed is still there.
    expect(controlTag(body, 'field-website')).toContain('value="northwind.com"');
    expect(controlTag(body, 'field-contactEmail')).toContain('value="not-an-email"');
    expect(controlTag(body, 'field-estimatedValue')).toContain('value="12.345"');
    expect(body).toContain('Met them at the fair</textarea>');
    expect(body).toMatch(/name="customFields\.seats"[^>]*value="many"/);
    expect(controlTag(body, 'field-website')).not.toContain('aria-invalid');

    expect(await registrations()).toHaveLength(before.length);
    expect(await w.runtime.db.selectFrom('audit_log').select('id').execute()).toHaveLength(
      auditBefore.length,
    );
  });

  it('rolls back a registration the service accepted when only the typed amount is wrong', async () => {
    const before = await registrations();
    const { session } = await openForm(app, `/p/${submitToken}`);
    const response = await postForm(app, `/p/${submitToken}`, session, {
      ...valid('Litware Amount'),
      estimatedValue: '12.500,50',
    });
    expect(response.statusCode).toBe(400);
    expect(response.body).toContain('Enter an amount in figures, like 12,500.50');
    expect(controlTag(response.body, 'field-estimatedValue')).toContain('aria-invalid="true"');
    expect(await registrations()).toHaveLength(before.length);
    const outbox = await w.runtime.db.selectFrom('outbox').select('payload').execute();
    expect(JSON.stringify(outbox.map((r) => r.payload))).not.toContain('Litware');
  });

  it('escapes a company name full of markup on the form, the confirmation and the list', async () => {
    const { session } = await openForm(app, `/p/${submitToken}`);
    const invalid = await postForm(app, `/p/${submitToken}`, session, {
      ...valid(XSS),
      contactEmail: 'nope',
    });
    expect(invalid.statusCode).toBe(400);
    const submitted = await postForm(app, `/p/${submitToken}`, session, valid(XSS));
    expect(submitted.statusCode).toBe(303);
    const confirmation = await app.inject({ method: 'GET', url: submitted.headers.location as string });
    const list = await app.inject({ method: 'GET', url: `/p/${viewToken}` });
    for (const page of [invalid, confirmation, list]) {
      expect(page.body).not.toContain(XSS);
      expect(page.body).not.toMatch(/<script/i);
      expect(page.body).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    }
  });

  it('replays the first answer for a repeated Idempotency-Key instead of registering twice', async () => {
    const before = await registrations();
    const { session } = await openForm(app, `/p/${submitToken}`);
    const fields = valid('Adventure Works');
    const first = await postForm(app, `/p/${submitToken}`, session, fields, { 'idempotency-key': 'form-1' });
    const again = await postForm(app, `/p/${submitToken}`, session, fields, { 'idempotency-key': 'form-1' });
    expect(first.statusCode).toBe(303);
    expect(again.statusCode).toBe(303);
    expect(again.headers.location).toBe(first.headers.location);
    expect(await registrations()).toHaveLength(before.length + 1);
  });

  it.each([
    [
      'expired',
      async () =>
        (await w.link('submit_registration', { expiresAt: new Date(w.clock.now().getTime() - 1000) })).token,
      /expired/,
    ],
    [
      'revoked',
      async () => {
        const revoked = await w.link('submit_registration');
        await revokePartnerLink(w.runtime.db, w.acme.tenant.id, revoked.id);
        return revoked.token;
      },
      /revoked/,
    ],
    [
      'tampered',
      async () => `${submitToken.slice(0, -2)}${submitToken.endsWith('AA') ? 'BB' : 'AA'}`,
      /not valid/,
    ],
  ])(
    'shows a friendly 401 page for a %s link, and refuses to take a form through it',
    async (_what, make, message) => {
      const token = await make();
      const page = await app.inject({ method: 'GET', url: `/p/${token}` });
      expect(page.statusCode).toBe(401);
      expect(page.headers['content-type']).toMatch(/^text\/html/);
      expect(page.body).toContain('<h1>This link does not work</h1>');
      expect(page.body).toMatch(message);
      expect(page.body).toContain('Ask the person who sent it to you for a new link');
      const { session } = await openForm(app, `/p/${submitToken}`);
      const before = await registrations();
      const post = await postForm(app, `/p/${token}`, session, valid('Through A Bad Link'));
      expect(post.statusCode).toBe(401);
      expect(await registrations()).toHaveLength(before.length);
    },
  );

  it('shows a view-only link the list, and refuses it a form post with 403', async () => {
    const { session } = await openForm(app, `/p/${submitToken}`);
    const response = await postForm(app, `/p/${viewToken}`, session, valid('Not Through A View Link'));
    expect(response.statusCode).toBe(403);
    expect(response.body).toContain('This link is for another page');
    expect((await registrations()).some((r) => r.company_name === 'Not Through A View Link')).toBe(false);
  });
});
