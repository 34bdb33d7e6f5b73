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
import { type FormSession, makeLinkToken, openForm, postForm } from './portal-session.ts';

describe('form posts are accepted only from our own pages', () => {
  let database: TestDatabase;
  let runtime: TestRuntime;
  let app: App;
  let tenantId: string;
  let token: string;
  let referralCode: string;
  let n = 0;

  const fields = () => ({ companyName: `Prospect ${++n}`, website: '', notes: '' });
  const count = async () =>
    (await runtime.db.selectFrom('registrations').select('id').where('tenant_id', '=', tenantId).execute())
      .length;

  beforeAll(async () => {
    database = await createTestDatabase();
    runtime = await createTestRuntime(database, { env: { PUBLIC_URL: 'https://partners.example.com' } });
    app = await buildTestApp(runtime);
    const acme = await makeTenant(runtime.db);
    tenantId = acme.tenant.id;
    const program = await makeProgram(runtime.db, tenantId);
    const partner = await makePartner(runtime.db, tenantId);
    referralCode = (await makeEnrolment(runtime.db, tenantId, program.id, partner.id)).referral_code;
    const contact = await makeContact(runtime.db, tenantId, partner.id);
    ({ token } = await makeLinkToken(runtime.db, runtime.services.secrets.linkSigningKey, {
      tenantId,
      contactId: contact.id,
      purpose: 'submit_registration',
      programId: program.id,
      expiresAt: new Date(Date.now() + 86_400_000),
    }));
  });
  afterAll(async () => {
    await app.close();
    await runtime.close();
    await clearRedisPrefix(runtime.redisPrefix);
    await database.destroy();
  });

  async function session(): Promise<FormSession> {
    return (await openForm(app, `/p/${token}`)).session;
  }

  it('accepts a post from our own origin carrying the cookie and its token', async () => {
    const before = await count();
    const response = await postForm(app, `/p/${token}`, await session(), fields(), {
      origin: 'https://partners.example.com',
      'sec-fetch-site': 'same-origin',
    });
    expect(response.statusCode).toBe(303);
    expect(await count()).toBe(before + 1);
  });

  it('accepts "Origin: null", which browsers send for posts from a no-referrer page', async () => {
    const before = await count();
    const response = await postForm(app, `/p/${token}`, await session(), fields(), { origin: 'null' });
    expect(response.statusCode).toBe(303);
    expect(await count()).toBe(before + 1);
  });

  it("keeps the browser's cookie, and so its token, when the form is loaded again", async () => {
    const first = await openForm(app, `/p/${token}`);
    // The browser sends its cookie back: the page keeps it rather than starting a new one.
    const again = await app.inject({
      method: 'GET',
      url: `/p/${token}`,
      headers: { cookie: first.session.cookie },
    });
    expect(again.headers['set-cookie']).toBeUndefined();
    expect(again.body).toContain(`value="${first.session.csrf}"`);
  });

  const refusals: [
    string,
    () => Promise<{ session: FormSession | undefined; headers: Record<string, string> }>,
  ][] = [
    [
      'without the cookie',
      async () => ({ session: { ...(await session()), cookie: 'other=1' }, headers: {} }),
    ],
    [
      'without the hidden field',
      async () => ({ session: undefined, headers: { cookie: (await session()).cookie } }),
    ],
    [
      'with a token made for another cookie',
      async () => {
        const mine = await session();
        const theirs = await session();
        return { session: { cookie: mine.cookie, csrf: theirs.csrf }, headers: {} };
      },
    ],
    [
      'with a made-up token',
      async () => ({ session: { ...(await session()), csrf: 'A'.repeat(43) }, headers: {} }),
    ],
    [
      'from a foreign Origin',
      async () => ({ session: await session(), headers: { origin: 'https://evil.example' } }),
    ],
    [
      'from our host over another scheme',
      async () => ({ session: await session(), headers: { origin: 'http://partners.example.com' } }),
    ],
    [
      'with a foreign Referer and no Origin',
      async () => ({ session: await session(), headers: { referer: 'https://evil.example/page' } }),
    ],
    [
      'marked cross-site by the browser',
      async () => ({ session: await session(), headers: { 'sec-fetch-site': 'cross-site' } }),
    ],
  ];

  it.each(refusals)('refuses a link form post %s with a 403 page and writes nothing', async (_what, make) => {
    const { session: s, headers } = await make();
    const before = await count();
    const response = await postForm(app, `/p/${token}`, s, fields(), headers);
    expect(response.statusCode).toBe(403);
    expect(response.headers['content-type']).toMatch(/^text\/html/);
    expect(response.body).toContain('Your form could not be sent');
    expect(response.body).toContain(`<a href="/p/${token}">Open the form again</a>`);
    expect(await count()).toBe(before);
  });

  it('guards the shared referral form the same way', async () => {
    const form = await openForm(app, `/r/${referralCode}`);
    const referral = {
      referralCode,
      submitterName: 'Ref Errer',
      submitterEmail: 'ref@referrer.example',
      ...fields(),
    };
    const before = await count();
    const missing = await postForm(app, '/register', undefined, referral);
    expect(missing.statusCode).toBe(403);
    const foreign = await postForm(app, '/register', form.session, referral, {
      origin: 'https://evil.example',
    });
    expect(foreign.statusCode).toBe(403);
    expect(foreign.body).toContain('<a href="/register">Open the form again</a>');
    expect(await count()).toBe(before);
    const ok = await postForm(app, '/register', form.session, referral, {
      origin: 'https://partners.example.com',
    });
    expect(ok.statusCode).toBe(303);
    expect(await count()).toBe(before + 1);
  });

  it('marks the cookie Secure when the public URL is https', async () => {
    const response = await app.inject({ method: 'GET', url: '/register' });
    expect(String(response.headers['set-cookie'])).toMatch(/; Secure/);
  });
});
