import { expect, it } from 'vitest';
import { insertPartnerLink, linkToken } from '../../src/links/partner-link.service.ts';
import { makeContact } from '../factories/partner.factory.ts';
import { type AuthzWorld, type Bearer, DAY_MS } from './authz-world.ts';

/*
 * What a contact of `mid` (top → mid → child → grandchild; sibling → siblingChild beside mid) sees
 * through the partner-facing API: its own partner and everything below it, never above or beside.
 * Registered by authorization-matrix.test.ts inside its own describe, on its world.
 */

interface Page {
  items: { id: string; partnerId?: string; parentId?: string | null }[];
  nextCursor: string | null;
}

/** Every item of a list, following the cursors. */
async function everyItem(w: AuthzWorld, url: string, auth: Bearer): Promise<Page['items']> {
  const items: Page['items'] = [];
  let cursor: string | null = null;
  do {
    const separator = url.includes('?') ? '&' : '?';
    const response = await w.app.inject({
      method: 'GET',
      url: cursor ? `${url}${separator}cursor=${encodeURIComponent(cursor)}` : url,
      headers: auth,
    });
    expect(response.statusCode, response.body).toBe(200);
    const page = response.json() as Page;
    items.push(...page.items);
    cursor = page.nextCursor;
  } while (cursor);
  return items;
}

export function checkPortalScope(world: () => AuthzWorld): void {
  const view = () => world().acme.links.valid.view_referrals;

  it('lists its own partner and every partner below it, never the parent, a sibling or its child', async () => {
    const w = world();
    const { mid, child, grandchild, top, sibling, siblingChild } = w.acme;
    const items = await everyItem(w, '/api/v1/portal/partners?limit=2', view());
    expect(items.map((p) => p.id).sort()).toEqual([mid.id, child.id, grandchild.id].sort());
    // Its own partner's parent lies outside what it may see: not even the parent's id is shown.
    expect(items.find((p) => p.id === mid.id)?.parentId).toBeNull();
    expect(items.find((p) => p.id === grandchild.id)?.parentId).toBe(child.id);
    const body = JSON.stringify(items);
    for (const outsider of [top, sibling, siblingChild]) expect(body).not.toContain(outsider.id);
  });

  it("reads partners of its subtree by id; the parent, a sibling and a sibling's child are 404", async () => {
    const w = world();
    const { mid, child, grandchild, top, sibling, siblingChild } = w.acme;
    for (const inside of [mid, child, grandchild]) {
      const response = await w.app.inject({
        method: 'GET',
        url: `/api/v1/portal/partners/${inside.id}`,
        headers: view(),
      });
      expect(response.statusCode, inside.name).toBe(200);
      expect(response.json().id).toBe(inside.id);
    }
    for (const outsider of [top, sibling, siblingChild]) {
      const response = await w.app.inject({
        method: 'GET',
        url: `/api/v1/portal/partners/${outsider.id}`,
        headers: view(),
      });
      expect(response.statusCode, outsider.name).toBe(404);
      expect(response.json().error.code).toBe('not_found');
      expect(response.body).not.toContain(outsider.name);
    }
  });

  it('lists the registrations of its subtree only, whatever partner the filter names', async () => {
    const w = world();
    const r = w.acme.registrationOf;
    const all = await everyItem(w, '/api/v1/portal/registrations?limit=200', view());
    const ids = all.map((item) => item.id);
    expect(ids).toEqual(expect.arrayContaining([r.mid.id, r.child.id, r.grandchild.id]));
    for (const outsider of [r.top, r.sibling, r.siblingChild]) expect(ids).not.toContain(outsider.id);
    const subtree = new Set([w.acme.mid.id, w.acme.child.id, w.acme.grandchild.id]);
    expect(all.filter((item) => !subtree.has(item.partnerId ?? ''))).toEqual([]);
    for (const outsider of [w.acme.top, w.acme.sibling, w.acme.siblingChild]) {
      const filtered = await everyItem(w, `/api/v1/portal/registrations?partnerId=${outsider.id}`, view());
      expect(filtered, outsider.name).toEqual([]);
    }
    const grandchildOnly = await everyItem(
      w,
      `/api/v1/portal/registrations?partnerId=${w.acme.grandchild.id}`,
      view(),
    );
    expect(grandchildOnly.map((item) => item.id)).toContain(r.grandchild.id);
  });

  it("reads a registration of its subtree; the parent's, a sibling's and its child's are 404", async () => {
    const w = world();
    const r = w.acme.registrationOf;
    for (const inside of [r.mid, r.child, r.grandchild]) {
      const response = await w.app.inject({
        method: 'GET',
        url: `/api/v1/portal/registrations/${inside.id}`,
        headers: view(),
      });
      expect(response.statusCode).toBe(200);
      expect(response.json().id).toBe(inside.id);
    }
    for (const outsider of [r.top, r.sibling, r.siblingChild]) {
      const response = await w.app.inject({
        method: 'GET',
        url: `/api/v1/portal/registrations/${outsider.id}`,
        headers: view(),
      });
      expect(response.statusCode).toBe(404);
      expect(response.json().error.code).toBe('not_found');
      expect(response.body).not.toContain(outsider.company_name);
    }
  });

  it("cannot ask to extend a sibling's or the parent's registration: 404, and they stay as they were", async () => {
    const w = world();
    for (const partner of [w.acme.sibling, w.acme.top]) {
      const row = await w.register(partner.id, 'approved');
      const response = await w.app.inject({
        method: 'POST',
        url: `/api/v1/portal/registrations/${row.id}/extension`,
        headers: view(),
      });
      expect(response.statusCode, partner.name).toBe(404);
      expect(response.json().error.code).toBe('not_found');
      const after = await w.db
        .selectFrom('registrations')
        .select('extension_status')
        .where('id', '=', row.id)
        .executeTakeFirstOrThrow();
      expect(after.extension_status).toBe('none');
    }
  });

  it("is never handed another partner's answer by replaying an Idempotency-Key that partner used", async () => {
    const w = world();
    const tenantId = w.acme.t.tenant.id;
    const siblingContact = await makeContact(w.db, tenantId, w.acme.sibling.id);
    const link = await insertPartnerLink(w.db, {
      tenantId,
      contactId: siblingContact.id,
      purpose: 'view_referrals',
      expiresAt: new Date(w.clock.now().getTime() + DAY_MS),
    });
    const sibling = {
      authorization: `Bearer ${linkToken(w.runtime.services.secrets.linkSigningKey, link.id)}`,
    };
    const target = await w.register(w.acme.child.id, 'approved');
    const url = `/api/v1/portal/registrations/${target.id}/extension`;
    const key = { 'idempotency-key': `extend-${target.id}` };

    const own = await w.app.inject({ method: 'POST', url, headers: { ...view(), ...key } });
    expect(own.statusCode, own.body).toBe(200);
    // Without the key, the sibling's contact is told the registration does not exist (it is not in
    // its subtree). With the key the mid contact used, it must get the same 404, or a 422 saying the
    // key belongs to another request; never the replay of mid's answer, which is child's registration.
    const replay = await w.app.inject({ method: 'POST', url, headers: { ...sibling, ...key } });
    expect([404, 422], `sibling contact replaying the key: ${replay.body}`).toContain(replay.statusCode);
    expect(replay.body).not.toContain(target.company_name);
  });

  it('is refused with 401 once the clock passes the link’s expiry', async () => {
    const w = world();
    const started = w.clock.now();
    const link = await insertPartnerLink(w.db, {
      tenantId: w.acme.t.tenant.id,
      contactId: w.acme.midContact.id,
      purpose: 'view_referrals',
      expiresAt: new Date(started.getTime() + 60 * 60 * 1000),
    });
    const headers = {
      authorization: `Bearer ${linkToken(w.runtime.services.secrets.linkSigningKey, link.id)}`,
    };
    try {
      expect(
        (await w.app.inject({ method: 'GET', url: '/api/v1/portal/partners', headers })).statusCode,
      ).toBe(200);
      w.clock.advance(60 * 60 * 1000);
      const expired = await w.app.inject({ method: 'GET', url: '/api/v1/portal/partners', headers });
      expect(expired.statusCode).toBe(401);
      expect(expired.json().error).toMatchObject({
        code: 'unauthorized',
        message: expect.stringMatching(/expired/),
      });
    } finally {
      w.clock.set(started);
    }
  });
}
