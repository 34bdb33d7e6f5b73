import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../../src/app.ts';
import { ManualClock } from '../../src/clock.ts';
import { insertPartnerLink, linkToken } from '../../src/links/partner-link.service.ts';
import type { LinkPurpose } from '../../src/links/partner-link.table.ts';
import type { PartnerRow } from '../../src/partners/partner.table.ts';
import { makeContact, makePartner } from '../factories/partner.factory.ts';
import { makeTenant, type TenantWithKeys } from '../factories/tenant.factory.ts';
import type { TestRuntime } from '../helpers/test-runtime.ts';
import { openWorld, type TestWorld } from '../helpers/test-world.ts';

describe("a partner contact's view of the partner tree", () => {
  let world: TestWorld;
  let runtime: TestRuntime;
  let app: App;
  let tenant: TenantWithKeys;
  let other: TenantWithKeys;
  const clock = new ManualClock(new Date('2027-06-01T12:00:00.000Z'));
  // top ─┬─ mid ─┬─ low ── lowest
  //      │       └─ low2
  //      └─ sibling ── cousin
  let tree: Record<'top' | 'mid' | 'low' | 'low2' | 'lowest' | 'sibling' | 'cousin', PartnerRow>;
  let midToken: string;

  beforeAll(async () => {
    world = await openWorld({ clock });
    ({ runtime, app } = world);
    tenant = await makeTenant(runtime.db);
    other = await makeTenant(runtime.db);
    const p = (name: string, parentId: string | null = null) =>
      makePartner(runtime.db, tenant.tenant.id, { name, parentId });
    const top = await p('Top');
    const mid = await p('Mid', top.id);
    const low = await p('Low', mid.id);
    const low2 = await p('Low 2', mid.id);
    const lowest = await p('Lowest', low.id);
    const sibling = await p('Sibling', top.id);
    const cousin = await p('Cousin', sibling.id);
    tree = { top, mid, low, low2, lowest, sibling, cousin };
    midToken = await tokenFor(mid.id);
  });
  afterAll(async () => {
    await world?.close();
  });

  async function tokenFor(
    partnerId: string,
    purpose: LinkPurpose = 'view_referrals',
    expiresInMs = 86_400_000,
  ) {
    const contact = await makeContact(runtime.db, tenant.tenant.id, partnerId);
    const link = await insertPartnerLink(runtime.db, {
      tenantId: tenant.tenant.id,
      contactId: contact.id,
      purpose,
      expiresAt: new Date(clock.now().getTime() + expiresInMs),
    });
    return linkToken(runtime.services.secrets.linkSigningKey, link.id);
  }

  const get = (url: string, token: string) =>
    app.inject({ method: 'GET', url: `/api/v1${url}`, headers: { authorization: `Bearer ${token}` } });

  it('lists its own partner and everything below it, never the parent, a sibling or a cousin', async () => {
    const response = await get('/portal/partners', midToken);
    expect(response.statusCode).toBe(200);
    const items = response.json().items as { id: string; name: string; parentId: string | null }[];
    expect(items.map((i) => i.name).sort()).toEqual(['Low', 'Low 2', 'Lowest', 'Mid']);
    const byName = new Map(items.map((i) => [i.name, i]));
    // Enough to draw the tree, and the own partner's parent stays hidden.
    expect(byName.get('Mid')?.parentId).toBeNull();
    expect(byName.get('Low')?.parentId).toBe(tree.mid.id);
    expect(byName.get('Lowest')?.parentId).toBe(tree.low.id);
    expect(response.body).not.toContain(tree.top.id);
    // Staff-only fields stay out of the portal.
    expect(Object.keys(items[0]!)).not.toContain('payoutDetails');
  });

  it('reads a partner of its subtree by id, and gets 404 for any other', async () => {
    for (const seen of [tree.mid, tree.low, tree.low2, tree.lowest]) {
      const response = await get(`/portal/partners/${seen.id}`, midToken);
      expect(response.statusCode, seen.name).toBe(200);
      expect(response.json().id).toBe(seen.id);
    }
    const foreign = await makePartner(runtime.db, other.tenant.id);
    for (const hidden of [tree.top, tree.sibling, tree.cousin, foreign]) {
      const response = await get(`/portal/partners/${hidden.id}`, midToken);
      expect(response.statusCode, hidden.name).toBe(404);
      expect(response.json().error.code).toBe('not_found');
    }
    const nobody = await get('/portal/partners/00000000-0000-4000-8000-000000000000', midToken);
    expect(nobody.statusCode).toBe(404);
  });

  it('sees only itself from the bottom of the tree, in pages', async () => {
    const lowestToken = await tokenFor(tree.lowest.id, 'submit_registration');
    const response = await get('/portal/partners', lowestToken);
    expect(response.json().items.map((i: { id: string }) => i.id)).toEqual([tree.lowest.id]);
    expect((await get(`/portal/partners/${tree.low.id}`, lowestToken)).statusCode).toBe(404);

    const first = await get('/portal/partners?limit=3', midToken);
    expect(first.json().items).toHaveLength(3);
    const second = await get(`/portal/partners?limit=3&cursor=${first.json().nextCursor}`, midToken);
    expect(second.json().items).toHaveLength(1);
    expect(second.json().nextCursor).toBeNull();
    const all = [...first.json().items, ...second.json().items].map((i: { id: string }) => i.id).sort();
    expect(all).toEqual([tree.mid.id, tree.low.id, tree.low2.id, tree.lowest.id].sort());
  });

  it('follows the tree as it changes: a branch moved away leaves the view at once', async () => {
    const owner = await makePartner(runtime.db, tenant.tenant.id, { name: 'Owner' });
    const child = await makePartner(runtime.db, tenant.tenant.id, { name: 'Child', parentId: owner.id });
    const token = await tokenFor(owner.id);
    expect((await get(`/portal/partners/${child.id}`, token)).statusCode).toBe(200);
    const moved = await app.inject({
      method: 'POST',
      url: `/api/v1/partners/${child.id}/move`,
      headers: tenant.as('program_manager'),
      payload: { parentId: tree.sibling.id },
    });
    expect(moved.statusCode).toBe(200);
    expect((await get(`/portal/partners/${child.id}`, token)).statusCode).toBe(404);
    expect((await get('/portal/partners', token)).json().items.map((i: { id: string }) => i.id)).toEqual([
      owner.id,
    ]);
  });

  it('refuses a missing, staff or expired credential with 401', async () => {
    const bare = await app.inject({ method: 'GET', url: '/api/v1/portal/partners' });
    expect(bare.statusCode).toBe(401);
    expect((await get('/portal/partners', tenant.keys.admin)).statusCode).toBe(401);
    const expired = await tokenFor(tree.mid.id, 'view_statements', -1_000);
    const response = await get(`/portal/partners/${tree.mid.id}`, expired);
    expect(response.statusCode).toBe(401);
    expect(response.json().error.message).toMatch(/expired/);
  });
});
