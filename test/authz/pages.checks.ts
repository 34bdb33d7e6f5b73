import { expect, it } from 'vitest';
import type { AuthzWorld, Bearer } from './authz-world.ts';

/*
 * The routes outside /api/v1 (PAGES in endpoint-matrix.ts): public pages, and the partner pages whose
 * credential is the link token in the path. Registered by authorization-matrix.test.ts.
 */

const tokenOf = (bearer: Bearer) => bearer.authorization.replace(/^Bearer /, '');
const form = (fields: Record<string, string>) => ({
  headers: { 'content-type': 'application/x-www-form-urlencoded' },
  payload: new URLSearchParams(fields).toString(),
});

async function registrationCount(w: AuthzWorld): Promise<number> {
  const row = await w.db
    .selectFrom('registrations')
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

/** The HTML of /p/<token> and of every older page it links to. */
async function everyListPage(w: AuthzWorld, token: string): Promise<string> {
  let html = '';
  let url: string | undefined = `/p/${token}`;
  while (url) {
    const response: { statusCode: number; body: string } = await w.app.inject({ method: 'GET', url });
    expect(response.statusCode, url).toBe(200);
    html += response.body;
    url = /href="(\/p\/[^"]+\?cursor=[^"]+)"/.exec(response.body)?.[1]?.replaceAll('&amp;', '&');
  }
  return html;
}

export function checkPages(world: () => AuthzWorld): void {
  it('serves health checks and the API documentation without credentials', async () => {
    const w = world();
    for (const url of ['/healthz', '/readyz', '/docs/json']) {
      expect((await w.app.inject({ method: 'GET', url })).statusCode, url).toBe(200);
    }
  });

  it("serves the referral form to anyone, with a program's fields only for a known code", async () => {
    const w = world();
    const enrolment = await w.db
      .selectFrom('enrolments')
      .select('referral_code')
      .where('partner_id', '=', w.acme.mid.id)
      .where('program_id', '=', w.acme.program.id)
      .executeTakeFirstOrThrow();
    expect((await w.app.inject({ method: 'GET', url: '/register' })).statusCode).toBe(200);
    const known = await w.app.inject({ method: 'GET', url: `/r/${enrolment.referral_code}` });
    expect(known.statusCode).toBe(200);
    expect(known.body).toContain(w.acme.program.name);
    const unknown = await w.app.inject({ method: 'GET', url: '/r/NO-SUCH-CODE' });
    expect(unknown.statusCode).toBe(404);
    expect(unknown.body).not.toContain(w.acme.program.name);
  });

  it('refuses a referral post without the form’s CSRF cookie and token (403), storing nothing', async () => {
    const w = world();
    const before = await registrationCount(w);
    const enrolment = await w.db
      .selectFrom('enrolments')
      .select('referral_code')
      .where('partner_id', '=', w.acme.mid.id)
      .executeTakeFirstOrThrow();
    const response = await w.app.inject({
      method: 'POST',
      url: '/register',
      ...form({ referralCode: enrolment.referral_code, companyName: 'Forged Ltd', website: 'forged.com' }),
    });
    expect(response.statusCode).toBe(403);
    expect(await registrationCount(w)).toBe(before);
  });

  it('shows a referral confirmation only with the receipt given in the redirect', async () => {
    const w = world();
    const id = w.acme.registrationOf.mid.id;
    for (const url of [`/register/done/${id}`, `/register/done/${id}?receipt=forged`]) {
      const response = await w.app.inject({ method: 'GET', url });
      expect(response.statusCode, url).toBe(404);
      expect(response.body).not.toContain(w.acme.registrationOf.mid.company_name);
    }
  });

  it("lists, behind a view_referrals link, its subtree's registrations and none from above or beside", async () => {
    const w = world();
    const r = w.acme.registrationOf;
    const html = await everyListPage(w, tokenOf(w.acme.links.valid.view_referrals));
    for (const inside of [r.mid, r.child, r.grandchild]) expect(html).toContain(inside.company_name);
    for (const outsider of [r.top, r.sibling, r.siblingChild])
      expect(html).not.toContain(outsider.company_name);
    for (const outsider of [w.acme.top, w.acme.sibling, w.acme.siblingChild])
      expect(html).not.toContain(outsider.name);
  });

  it('answers /p/<token> with 401 for expired, revoked and forged links and 403 for a statements link', async () => {
    const w = world();
    const links = w.acme.links;
    const cases: [string, number][] = [
      [tokenOf(links.expired.view_referrals), 401],
      [tokenOf(links.revoked.view_referrals), 401],
      [`${tokenOf(links.valid.view_referrals).slice(0, -2)}xx`, 401],
      [tokenOf(w.acme.t.as('admin')), 401],
      [tokenOf(links.valid.view_statements), 403],
    ];
    for (const [token, status] of cases) {
      const response = await w.app.inject({ method: 'GET', url: `/p/${token}` });
      expect(response.statusCode, token).toBe(status);
      expect(response.body).not.toContain(w.acme.registrationOf.mid.company_name);
    }
  });

  it('refuses a post to /p/<token> from a viewing link (403), an expired link (401) or without CSRF (403)', async () => {
    const w = world();
    const before = await registrationCount(w);
    const links = w.acme.links;
    const fields = form({ companyName: 'Forged Ltd', website: 'forged.com' });
    const cases: [Bearer, number][] = [
      [links.valid.view_referrals, 403],
      [links.expired.submit_registration, 401],
      [links.revoked.submit_registration, 401],
      [links.valid.submit_registration, 403],
    ];
    for (const [bearer, status] of cases) {
      const response = await w.app.inject({ method: 'POST', url: `/p/${tokenOf(bearer)}`, ...fields });
      expect(response.statusCode, bearer.authorization).toBe(status);
    }
    expect(await registrationCount(w)).toBe(before);
  });

  it("shows a registration page of its subtree; the parent's, a sibling's and another tenant's link get 404", async () => {
    const w = world();
    const r = w.acme.registrationOf;
    const view = tokenOf(w.acme.links.valid.view_referrals);
    const inside = await w.app.inject({ method: 'GET', url: `/p/${view}/registrations/${r.grandchild.id}` });
    expect(inside.statusCode).toBe(200);
    expect(inside.body).toContain(r.grandchild.company_name);
    const attempts: [string, string][] = [
      [view, r.top.id],
      [view, r.sibling.id],
      [view, r.siblingChild.id],
      [tokenOf(w.globex.links.valid.view_referrals), r.mid.id],
    ];
    for (const [token, id] of attempts) {
      const response = await w.app.inject({ method: 'GET', url: `/p/${token}/registrations/${id}` });
      expect(response.statusCode, id).toBe(404);
      expect(response.body).not.toMatch(/Q[0-9a-f]{8}/);
    }
  });
}
