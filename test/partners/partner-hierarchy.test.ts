import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../../src/app.ts';
import { ManualClock } from '../../src/clock.ts';
import {
  partnerAncestorIds,
  partnerSubtreeIds,
  partnerSubtreeQuery,
} from '../../src/partners/partner.repository.ts';
import type { PartnerRow } from '../../src/partners/partner.table.ts';
import { makePartner } from '../factories/partner.factory.ts';
import { makeTenant, type TenantWithKeys } from '../factories/tenant.factory.ts';
import { usingPostgres } from '../helpers/test-database.ts';
import type { TestRuntime } from '../helpers/test-runtime.ts';
import { openWorld, type TestWorld } from '../helpers/test-world.ts';
import { waitFor } from '../helpers/wait-for.ts';

describe('the partner hierarchy', () => {
  let world: TestWorld;
  let runtime: TestRuntime;
  let app: App;
  let tenant: TenantWithKeys;
  let other: TenantWithKeys;
  const clock = new ManualClock(new Date('2027-05-01T08:00:00.000Z'));

  beforeAll(async () => {
    world = await openWorld({ clock });
    ({ runtime, app } = world);
    tenant = await makeTenant(runtime.db);
    other = await makeTenant(runtime.db);
  });
  afterAll(async () => {
    await world?.close();
  });

  /** lead → delivery → sub → subsub → leaf (depth 4 below lead), with a side branch at two levels. */
  async function makeTree(tenantId = tenant.tenant.id) {
    const p = (name: string, parentId: string | null = null) =>
      makePartner(runtime.db, tenantId, { name, parentId });
    const lead = await p('Lead agency');
    const delivery = await p('Delivery partner', lead.id);
    const sub = await p('Sub-contractor', delivery.id);
    const subsub = await p('Sub-sub-contractor', sub.id);
    const leaf = await p('Leaf', subsub.id);
    const deliveryTwin = await p('Second delivery partner', lead.id);
    const subTwin = await p('Second sub-contractor', delivery.id);
    return { lead, delivery, sub, subsub, leaf, deliveryTwin, subTwin };
  }

  const ids = (rows: PartnerRow[]) => rows.map((r) => r.id).sort();

  async function parentOf(id: string): Promise<string | null> {
    const row = await runtime.db
      .selectFrom('partners')
      .select('parent_id')
      .where('id', '=', id)
      .executeTakeFirst();
    return row?.parent_id ?? null;
  }

  async function move(id: string, parentId: string | null, role: 'admin' | 'program_manager' = 'admin') {
    return app.inject({
      method: 'POST',
      url: `/api/v1/partners/${id}/move`,
      headers: tenant.as(role),
      payload: { parentId },
    });
  }

  it('finds every partner below a root at any depth, root included, and nothing above or beside', async () => {
    const t = await makeTree();
    const tenantId = tenant.tenant.id;
    expect((await partnerSubtreeIds(runtime.db, tenantId, t.lead.id)).sort()).toEqual(ids(Object.values(t)));
    expect((await partnerSubtreeIds(runtime.db, tenantId, t.delivery.id)).sort()).toEqual(
      ids([t.delivery, t.sub, t.subsub, t.leaf, t.subTwin]),
    );
    expect((await partnerSubtreeIds(runtime.db, tenantId, t.subsub.id)).sort()).toEqual(
      ids([t.subsub, t.leaf]),
    );
    expect(await partnerSubtreeIds(runtime.db, tenantId, t.leaf.id)).toEqual([t.leaf.id]);
    // Another tenant's root gives nothing, even with the right id.
    expect(await partnerSubtreeIds(runtime.db, other.tenant.id, t.lead.id)).toEqual([]);
    expect(await partnerAncestorIds(runtime.db, tenantId, t.leaf.id)).toEqual([
      t.leaf.id,
      t.subsub.id,
      t.sub.id,
      t.delivery.id,
      t.lead.id,
    ]);
  });

  it('offers the subtree as a subquery other queries embed', async () => {
    const t = await makeTree();
    const names = await runtime.db
      .selectFrom('partners')
      .select('name')
      .where('tenant_id', '=', tenant.tenant.id)
      .where('id', 'in', partnerSubtreeQuery(runtime.db, tenant.tenant.id, t.sub.id))
      .orderBy('name')
      .execute();
    expect(names.map((n) => n.name)).toEqual(['Leaf', 'Sub-contractor', 'Sub-sub-contractor']);
  });

  it('lists direct children with ?parent, and the whole subtree with &subtree=true', async () => {
    const t = await makeTree();
    const list = async (query: string) => {
      const response = await app.inject({
        method: 'GET',
        url: `/api/v1/partners?${query}`,
        headers: tenant.as('sales_rep'),
      });
      expect(response.statusCode).toBe(200);
      return (response.json().items as { id: string }[]).map((i) => i.id).sort();
    };
    expect(await list(`parent=${t.lead.id}`)).toEqual(ids([t.delivery, t.deliveryTwin]));
    expect(await list(`parent=${t.delivery.id}&subtree=true`)).toEqual(
      ids([t.delivery, t.sub, t.subsub, t.leaf, t.subTwin]),
    );
    expect(await list(`parent=${t.subsub.id}&subtree=true&limit=200`)).toEqual(ids([t.subsub, t.leaf]));
    const noParent = await app.inject({
      method: 'GET',
      url: '/api/v1/partners?subtree=true',
      headers: tenant.as('admin'),
    });
    expect(noParent.statusCode).toBe(400);
    expect(noParent.json().error.details.fields).toEqual([
      { field: 'query.subtree', message: 'needs a parent to take the subtree of' },
    ]);
  });

  it('refuses to move a partner under itself, its child or its grandchild, and changes nothing', async () => {
    const t = await makeTree();
    for (const target of [t.delivery, t.sub, t.subsub, t.leaf]) {
      const response = await move(t.delivery.id, target.id);
      expect(response.statusCode, `under ${target.name}`).toBe(409);
      expect(response.json().error.code).toBe('hierarchy_cycle');
    }
    expect(await parentOf(t.delivery.id)).toBe(t.lead.id);
    expect((await partnerSubtreeIds(runtime.db, tenant.tenant.id, t.delivery.id)).sort()).toEqual(
      ids([t.delivery, t.sub, t.subsub, t.leaf, t.subTwin]),
    );
    const audits = await runtime.db
      .selectFrom('audit_log')
      .select('id')
      .where('subject_id', '=', t.delivery.id)
      .where('action', '=', 'partner.moved')
      .execute();
    expect(audits).toHaveLength(0);
  });

  it('moves a branch under a partner elsewhere in the tree, audited and announced, and back to the top', async () => {
    const t = await makeTree();
    const moved = await move(t.sub.id, t.deliveryTwin.id, 'program_manager');
    expect(moved.statusCode).toBe(200);
    expect(moved.json()).toMatchObject({ id: t.sub.id, parentId: t.deliveryTwin.id });
    const tenantId = tenant.tenant.id;
    expect((await partnerSubtreeIds(runtime.db, tenantId, t.deliveryTwin.id)).sort()).toEqual(
      ids([t.deliveryTwin, t.sub, t.subsub, t.leaf]),
    );
    expect((await partnerSubtreeIds(runtime.db, tenantId, t.delivery.id)).sort()).toEqual(
      ids([t.delivery, t.subTwin]),
    );
    const audit = await runtime.db
      .selectFrom('audit_log')
      .selectAll()
      .where('subject_id', '=', t.sub.id)
      .where('action', '=', 'partner.moved')
      .executeTakeFirstOrThrow();
    expect(audit.before).toEqual({ parentId: t.delivery.id });
    expect(audit.after).toEqual({ parentId: t.deliveryTwin.id });
    const events = await runtime.db
      .selectFrom('outbox')
      .select('payload')
      .where('job_name', '=', 'events.deliver')
      .execute();
    const event = events
      .map((e) => e.payload as { type: string; subjectId: string; data: Record<string, unknown> })
      .find((e) => e.type === 'partner.moved' && e.subjectId === t.sub.id);
    expect(event?.data).toEqual({ fromParentId: t.delivery.id, toParentId: t.deliveryTwin.id });

    // Formerly a cycle (delivery under its old grandchild's branch) is now legal.
    expect((await move(t.delivery.id, t.leaf.id)).statusCode).toBe(200);
    const top = await move(t.delivery.id, null);
    expect(top.statusCode).toBe(200);
    expect(top.json().parentId).toBeNull();
    expect(await parentOf(t.delivery.id)).toBeNull();
  });

  it("answers 404 for another tenant's partner and 400 for another tenant's parent", async () => {
    const mine = await makePartner(runtime.db, tenant.tenant.id);
    const theirs = await makePartner(runtime.db, other.tenant.id);
    const notMine = await move(theirs.id, null);
    expect(notMine.statusCode).toBe(404);
    const foreignParent = await move(mine.id, theirs.id);
    expect(foreignParent.statusCode).toBe(400);
    expect(foreignParent.json().error.details.fields).toEqual([
      { field: 'body.parentId', message: 'is not a partner of this tenant' },
    ]);
    expect(await parentOf(mine.id)).toBeNull();
    expect(await parentOf(theirs.id)).toBeNull();
  });

  it('lets exactly one of two simultaneous moves (A under B, B under A) succeed, leaving no cycle', async () => {
    for (let round = 0; round < 3; round++) {
      const a = await makePartner(runtime.db, tenant.tenant.id, { name: `A${round}` });
      const b = await makePartner(runtime.db, tenant.tenant.id, { name: `B${round}` });
      let release: (() => Promise<void>) | undefined;
      if (usingPostgres) {
        // Hold both rows so the two moves read the hierarchy, then queue on the same locks: the
        // moment where a check without locks would let both through.
        const blocker = await runtime.db.startTransaction().execute();
        await blocker
          .selectFrom('partners')
          .select('id')
          .where('id', 'in', [a.id, b.id])
          .forUpdate()
          .execute();
        release = () => blocker.rollback().execute();
      }
      const both = Promise.all([move(a.id, b.id, 'admin'), move(b.id, a.id, 'program_manager')]);
      if (release) {
        const waiting = async () => {
          const { rows } = await sql<{ n: number }>`
            select count(*)::int as n from pg_stat_activity
             where datname = current_database() and wait_event_type = 'Lock' and query like '%partners%'`.execute(
            runtime.db,
          );
          return rows[0]?.n ?? 0;
        };
        try {
          await waitFor('a move to wait on the locks', async () => (await waiting()) >= 1);
          // Give the other move time to queue as well (it does when moves lock what they read).
          await waitFor('both moves to wait', async () => (await waiting()) >= 2, { timeoutMs: 1_000 }).catch(
            () => {},
          );
        } finally {
          await release();
        }
      }
      const responses = await both;
      const statuses = responses.map((r) => r.statusCode).sort();
      expect(statuses).toEqual([200, 409]);
      expect(responses.find((r) => r.statusCode === 409)?.json().error.code).toBe('hierarchy_cycle');
      const parents = [await parentOf(a.id), await parentOf(b.id)];
      // One hangs under the other; the other is still at the top.
      expect(parents.filter((p) => p === null)).toHaveLength(1);
      expect(parents.includes(a.id) || parents.includes(b.id)).toBe(true);
      for (const id of [a.id, b.id]) {
        const chain = await partnerAncestorIds(runtime.db, tenant.tenant.id, id);
        expect(new Set(chain).size).toBe(chain.length);
        expect(await parentOf(chain.at(-1)!)).toBeNull();
      }
    }
  });
});
