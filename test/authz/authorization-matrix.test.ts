import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LINK_PURPOSES } from '../../src/links/partner-link.table.ts';
import { STAFF_ROLES } from '../../src/tenants/tenant.table.ts';
import { type AuthzWorld, type Bearer, openAuthzWorld } from './authz-world.ts';
import { ENDPOINTS, type Endpoint, isDocumentation, type MatrixRequest, PAGES } from './endpoint-matrix.ts';
import { checkPages } from './pages.checks.ts';
import { checkPortalScope } from './portal-scope.checks.ts';
import { documentedRoutes, servedRoutes, withoutImplicitHead } from './served-routes.ts';

let w: AuthzWorld;

beforeAll(async () => {
  w = await openAuthzWorld();
});
afterAll(async () => {
  await w?.close();
});

function send(e: Endpoint, request: MatrixRequest, auth?: Bearer, method: string = e.method) {
  return w.app.inject({
    method: method as Endpoint['method'],
    url: request.url,
    headers: { ...request.headers, ...auth },
    ...(request.payload === undefined ? {} : { payload: request.payload }),
  });
}

function expectError(response: LightMyRequestResponse, status: number, code: string, label: string) {
  expect(response.statusCode, `${label}: ${response.body}`).toBe(status);
  expect(response.json().error.code, label).toBe(code);
}

/** Sends a request that must be refused, and checks that nothing was recorded in Acme's audit log. */
async function refused(e: Endpoint, auth: Bearer | undefined, status: number, code: string, label: string) {
  const request = await e.request(w);
  const before = await w.acmeAuditCount();
  expectError(await send(e, request, auth), status, code, label);
  expect(await w.acmeAuditCount(), `${label}: Acme's audit log changed`).toBe(before);
}

/** Fastify answers HEAD with the GET route and its hooks: it must be refused the same way. */
async function headRefused(e: Endpoint) {
  if (e.method !== 'GET') return;
  const head = await send(e, await e.request(w), undefined, 'HEAD');
  expect(head.statusCode, 'HEAD without credentials').toBe(401);
}

describe('the authorization matrix', () => {
  it('has a decision for every route the app serves, and none for a route it does not serve', async () => {
    const served = withoutImplicitHead(servedRoutes(w.app));
    // The route tree is read correctly: it holds at least every operation of the OpenAPI document.
    const docs = await w.app.inject({ method: 'GET', url: '/docs/json' });
    const documented = documentedRoutes(docs.json());
    expect(documented.length).toBeGreaterThan(30);
    expect([...served]).toEqual(expect.arrayContaining(documented));

    const decided = ENDPOINTS.map((e) => `${e.method} ${e.path}`);
    expect(new Set(decided).size, 'an endpoint is listed twice').toBe(decided.length);
    const undecided = [...served].filter(
      (route) => !decided.includes(route) && !(route in PAGES) && !isDocumentation(route),
    );
    expect(undecided, 'served routes without an entry in test/authz/endpoint-matrix.ts').toEqual([]);
    expect([...decided, ...Object.keys(PAGES)].filter((route) => !served.has(route))).toEqual([]);
    // Everything under /api/v1 is in the role/purpose matrix, not merely listed as a page.
    expect(Object.keys(PAGES).filter((route) => route.includes(' /api/'))).toEqual([]);
    for (const e of ENDPOINTS) {
      const label = `${e.method} ${e.path}`;
      // Exactly one kind of caller; admin passes every staff check, so a staff route must admit it.
      expect(e.staff.length > 0 !== e.contact.length > 0, label).toBe(true);
      if (e.staff.length > 0) expect(e.staff, label).toContain('admin');
      expect(e.path.includes('/portal/'), `${label}: /portal/ routes are the partner-facing ones`).toBe(
        e.contact.length > 0,
      );
    }
  });

  for (const e of ENDPOINTS) {
    const name = `${e.method} ${e.path}`;
    const forbiddenRoles = STAFF_ROLES.filter((role) => !e.staff.includes(role));
    const forbiddenPurposes = LINK_PURPOSES.filter((purpose) => !e.contact.includes(purpose));

    describe(name, () => {
      if (e.staff.length > 0) {
        it(`admits ${e.staff.join(', ')} with ${e.ok}`, async () => {
          for (const role of e.staff) {
            const response = await send(e, await e.request(w), w.acme.t.as(role));
            expect(response.statusCode, `${role}: ${response.body}`).toBe(e.ok);
            if (e.shows) expect(response.body, role).toContain(e.shows(w));
          }
        });
        if (forbiddenRoles.length > 0) {
          it(`refuses ${forbiddenRoles.join(', ')} with 403 forbidden, changing nothing`, async () => {
            for (const role of forbiddenRoles) await refused(e, w.acme.t.as(role), 403, 'forbidden', role);
          });
        }
        it('answers 401 without credentials, with a revoked key and with a partner link', async () => {
          await refused(e, undefined, 401, 'unauthorized', 'no credentials');
          await headRefused(e);
          await refused(e, w.acme.revokedAdmin, 401, 'unauthorized', 'revoked admin key');
          for (const purpose of LINK_PURPOSES) {
            await refused(e, w.acme.links.valid[purpose], 401, 'unauthorized', `${purpose} link`);
          }
        });
      } else {
        it(`admits partner links for ${e.contact.join(', ')} with ${e.ok}`, async () => {
          for (const purpose of e.contact) {
            const response = await send(e, await e.request(w), w.acme.links.valid[purpose]);
            expect(response.statusCode, `${purpose}: ${response.body}`).toBe(e.ok);
            if (e.shows) expect(response.body, purpose).toContain(e.shows(w));
          }
        });
        if (forbiddenPurposes.length > 0) {
          it(`refuses links for ${forbiddenPurposes.join(', ')} with 403 forbidden, changing nothing`, async () => {
            for (const purpose of forbiddenPurposes) {
              await refused(e, w.acme.links.valid[purpose], 403, 'forbidden', `${purpose} link`);
            }
          });
        }
        it('answers 401 without credentials, to expired and revoked links, and to staff keys', async () => {
          await refused(e, undefined, 401, 'unauthorized', 'no credentials');
          await headRefused(e);
          for (const purpose of e.contact) {
            await refused(e, w.acme.links.expired[purpose], 401, 'unauthorized', `expired ${purpose} link`);
            await refused(e, w.acme.links.revoked[purpose], 401, 'unauthorized', `revoked ${purpose} link`);
          }
          for (const role of STAFF_ROLES) await refused(e, w.acme.t.as(role), 401, 'unauthorized', role);
        });
      }

      const other = e.staff.length > 0 ? "the other tenant's admin" : "the other tenant's partner contact";
      const otherAuth = () =>
        e.staff.length > 0 ? w.globex.t.as('admin') : w.globex.links.valid[e.contact[0]!];
      if (e.otherTenant === 'not_found') {
        it(`answers ${other} 404 not_found for Acme's ids, never 403 or the data`, async () => {
          const request = await e.request(w);
          const before = await w.acmeAuditCount();
          const response = await send(e, request, otherAuth());
          expectError(response, 404, 'not_found', other);
          expect(await w.acmeAuditCount(), "Acme's audit log changed").toBe(before);
        });
      } else {
        it(`answers ${other} from its own tenant, with no Acme id in the answer`, async () => {
          const request = await e.request(w);
          const before = await w.acmeAuditCount();
          const response = await send(e, request, otherAuth());
          expect(response.statusCode, response.body).toBe(e.ok);
          const leaked = (await w.acmeIds()).filter((id) => response.body.includes(id));
          expect(leaked, 'Acme ids in the answer').toEqual([]);
          expect(await w.acmeAuditCount(), "Acme's audit log changed").toBe(before);
        });
      }
    });
  }
});

describe("a partner contact of a mid-level partner, by link: its partner's subtree and nothing else", () => {
  checkPortalScope(() => w);
});

describe('routes outside the API: public pages and pages opened by a link in the path', () => {
  checkPages(() => w);
});
