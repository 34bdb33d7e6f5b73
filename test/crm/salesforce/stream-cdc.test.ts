import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { salesforceConnection } from '../../../src/crm/salesforce/salesforce-session.ts';
import type { SalesforceStreamManager } from '../../../src/crm/salesforce/salesforce-stream-manager.ts';
import { usingPostgres } from '../../helpers/test-database.ts';
import { sleep, waitFor } from '../../helpers/wait-for.ts';
import { formatDateTime } from '../../salesforce/local-salesforce-values.ts';
import { type ChangeStreamWorld, openChangeStreamWorld, userOpportunity } from './change-stream-world.ts';
import type { SalesforceTenant } from './salesforce-world.ts';

const mode = usingPostgres ? 'PostgreSQL + Redis' : 'PGlite';

/**
 * Opportunity changes made in the local Salesforce reach the deals mirror through its CometD
 * endpoint, jsforce's streaming client, the inbox and the salesforce processor.
 */
describe(`Salesforce change events through CometD (${mode})`, () => {
  let world: ChangeStreamWorld;
  let t: SalesforceTenant;
  let manager: SalesforceStreamManager;
  const tenantId = () => t.tenant.id;
  const stream = () =>
    world.runtime.db
      .selectFrom('salesforce_change_streams')
      .selectAll()
      .where('tenant_id', '=', tenantId())
      .executeTakeFirstOrThrow();
  const subscribed = (m: SalesforceStreamManager) =>
    waitFor(
      'the tenant subscribed',
      async () => m.tenants().includes(tenantId()) && (await stream()).lease_owner === m.owner,
    );
  const inboxCount = async () =>
    Number(
      (
        await world.runtime.db
          .selectFrom('inbox')
          .select((eb) => eb.fn.countAll().as('n'))
          .where('source', '=', 'salesforce')
          .where('tenant_id', '=', tenantId())
          .executeTakeFirstOrThrow()
      ).n,
    );
  /** A change the org's event bus lost: the record changes, no change event is emitted. */
  const silently = (id: string, fields: Record<string, unknown>) => {
    const record = t.org.state.store.table('Opportunity').get(id)!;
    Object.assign(record, fields, { SystemModstamp: formatDateTime(Date.now()) });
  };

  beforeAll(async () => {
    world = await openChangeStreamWorld();
    t = await world.streamingTenant();
    manager = world.startStreams('first-process');
    await subscribed(manager);
  });
  afterAll(async () => {
    await world?.close();
  });

  it("a sales rep's changes in Salesforce become normalized deal events, and the replay id follows", async () => {
    const id = userOpportunity(t.org, { Amount: 25_000 });
    await waitFor('the opportunity mirrored', async () => (await world.deal(id))?.stage === 'Prospecting');
    expect((await world.deal(id))?.amount).toBe(2_500_000n);
    await sleep(5);
    t.org.userUpdate('Opportunity', id, { StageName: 'Closed Won' });
    await waitFor('the deal won', async () => (await world.deal(id))?.stage_category === 'won');
    expect((await world.dealEvents(id)).map((e) => e.type)).toEqual(['deal.created', 'deal.stage_changed']);
    const last = t.org.changeEvents().at(-1)!;
    await waitFor(
      'the replay id stored',
      async () => String((await stream()).replay_id) === String(last.replayId),
    );
  });

  it('our own write coming back as a change event is skipped', async () => {
    const id = userOpportunity(t.org);
    await waitFor('the opportunity mirrored', async () => (await world.deal(id))?.stage === 'Prospecting');
    const conn = await salesforceConnection(world.runtime.db, world.runtime.services, tenantId());
    if (!conn.ok) throw new Error(conn.error.message);
    await conn.value.sobject('Opportunity').update({ Id: id, StageName: 'Qualification' });
    const echo = t.org.changeEvents().at(-1)!;
    expect(echo.data.payload.ChangeEventHeader.changeOrigin).toContain('client=partnerloop');
    const row = await waitFor('the echo processed', () =>
      world.runtime.db
        .selectFrom('inbox')
        .select(['outcome'])
        .where('source_id', 'like', `%:${echo.replayId}`)
        .where('processed_at', 'is not', null)
        .executeTakeFirst(),
    );
    expect(row.outcome).toBe('skipped: own write');
    expect((await world.deal(id))?.stage).toBe('Prospecting');
    expect((await world.dealEvents(id)).map((e) => e.type)).toEqual(['deal.created']);
  });

  it('deleted and undeleted opportunities leave and come back', async () => {
    const id = userOpportunity(t.org);
    await waitFor('mirrored', async () => Boolean(await world.deal(id)));
    t.org.userDelete('Opportunity', id);
    await waitFor('deleted', async () => (await world.deal(id))?.deleted_at != null);
    await sleep(5);
    t.org.userUndelete('Opportunity', id);
    await waitFor('restored', async () => (await world.deal(id))?.deleted_at === null);
    // The undelete records the restore and the snapshot its body carries, at one instant.
    expect((await world.dealEvents(id)).map((e) => e.type).sort()).toEqual([
      'deal.created',
      'deal.created',
      'deal.deleted',
      'deal.restored',
    ]);
  });

  it('a gap event makes the opportunity read again; an overflow re-reads every one modified since', async () => {
    const a = userOpportunity(t.org);
    const b = userOpportunity(t.org);
    await waitFor('mirrored', async () => Boolean((await world.deal(a)) && (await world.deal(b))));
    await sleep(5);
    silently(a, { StageName: 'Closed Won' });
    t.org.emitGap('GAP_UPDATE', [a]);
    await waitFor('the gap re-read', async () => (await world.deal(a))?.stage_category === 'won');
    expect((await world.dealEvents(a)).map((e) => e.source_event_id)).toContainEqual(
      expect.stringMatching(/^reconcile:/),
    );
    expect((await world.deal(b))?.stage).toBe('Prospecting');

    await sleep(5);
    silently(a, { StageName: 'Closed Lost' });
    silently(b, { Amount: 42_000 });
    t.org.emitGap('GAP_OVERFLOW', ['006*']);
    await waitFor('the overflow re-read', async () => {
      const [da, db] = [await world.deal(a), await world.deal(b)];
      return da?.stage_category === 'lost' && db?.amount === 4_200_000n;
    });
  });

  it('restart mid-stream: changes made while stopped arrive once, a full replay changes nothing', async () => {
    const id = userOpportunity(t.org, { Amount: 10_000 });
    await waitFor('mirrored', async () => Boolean(await world.deal(id)));
    await world.drained();
    await manager.stop();
    expect((await stream()).lease_owner).toBeNull();
    const before = await inboxCount();

    // The sales rep goes on while no process listens.
    for (const fields of [
      { Amount: 20_000 },
      { StageName: 'Negotiation/Review' },
      { StageName: 'Closed Won' },
    ]) {
      await sleep(5);
      t.org.userUpdate('Opportunity', id, fields);
    }
    const other = userOpportunity(t.org, { StageName: 'Closed Won', Amount: 5_000 });

    manager = world.startStreams('second-process');
    await subscribed(manager);
    await waitFor('the missed changes applied', async () => (await world.deal(id))?.stage_category === 'won');
    await waitFor(
      'the new opportunity mirrored',
      async () => (await world.deal(other))?.stage_category === 'won',
    );
    await world.drained();
    expect(await inboxCount()).toBe(before + 4);
    const events = await world.dealEvents(id);
    expect(events.map((e) => e.type)).toEqual([
      'deal.created',
      'deal.amount_changed',
      'deal.stage_changed',
      'deal.stage_changed',
    ]);
    expect(new Set(events.map((e) => e.source_event_id)).size).toBe(events.length);
    expect((await world.deal(id))?.amount).toBe(2_000_000n);

    // Every retained event delivered again (replay from -2): the inbox recognises each one.
    await manager.stop();
    await world.runtime.db
      .updateTable('salesforce_change_streams')
      .set({ replay_id: null })
      .where('tenant_id', '=', tenantId())
      .execute();
    const settled = await inboxCount();
    const dealEvents = await world.dealEvents(id);
    manager = world.startStreams('third-process');
    await subscribed(manager);
    const last = String(t.org.changeEvents().at(-1)!.replayId);
    await waitFor('the replay read to the end', async () => String((await stream()).replay_id) === last);
    await world.drained();
    expect(await inboxCount()).toBe(settled);
    expect(await world.dealEvents(id)).toEqual(dealEvents);
  });

  it('an expired access token is refreshed and the stream goes on', async () => {
    const refreshes = t.org.stats().tokenRefreshes;
    t.org.expireAccessTokens();
    t.org.dropStreamingClients();
    const id = userOpportunity(t.org);
    await waitFor('mirrored after the refresh', async () => Boolean(await world.deal(id)), {
      timeoutMs: 20_000,
    });
    expect(t.org.stats().tokenRefreshes).toBeGreaterThan(refreshes);
    expect(manager.tenants()).toContain(tenantId());
  });

  it('one stream per org across processes: a second process takes over when the first stops', async () => {
    const second = world.startStreams('fourth-process');
    await sleep(500);
    expect(second.tenants()).not.toContain(tenantId());
    await manager.stop();
    manager = second;
    await subscribed(second);
    const id = userOpportunity(t.org);
    await waitFor('mirrored by the second process', async () => Boolean(await world.deal(id)));
  });

  it('an org without Change Data Capture for Opportunity is switched to polling', async () => {
    const org = await world.startOrg({ cdcEnabled: false });
    const noCdc = await world.streamingTenant(org);
    // The mode is recorded first, then the stream stops and gives its lease up: wait for both.
    const row = await waitFor('the fallback, with the lease given up', () =>
      world.runtime.db
        .selectFrom('salesforce_change_streams')
        .selectAll()
        .where('tenant_id', '=', noCdc.tenant.id)
        .where('mode', '=', 'polling')
        .where('lease_owner', 'is', null)
        .executeTakeFirst(),
    );
    expect(row.mode_reason).toMatch(/does not exist/);
    expect(row.lease_expires_at).toBeNull();
    expect(manager.tenants()).not.toContain(noCdc.tenant.id);
    const shown = await world.app.inject({
      method: 'GET',
      url: '/api/v1/crm/salesforce/change-capture',
      headers: { authorization: `Bearer ${noCdc.keys.admin}` },
    });
    expect(shown.statusCode, shown.body).toBe(200);
    expect(shown.json()).toMatchObject({ mode: 'polling', salesforce: true, streaming: false });
  });
});
