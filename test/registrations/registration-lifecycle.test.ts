import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.ts';
import { IDEMPOTENCY_WINDOW_HOURS } from '../../src/http/idempotency.ts';
import { makeTier } from '../factories/partner.factory.ts';
import {
  act,
  auditActions,
  countRegistrations,
  eventTypes,
  openWorld,
  type ProgramSetup,
  type RegistrationWorld,
  setupProgram,
  submit,
} from './registration-setup.ts';

const START = new Date('2026-06-01T08:00:00.000Z');

describe('registration lifecycle through the API', () => {
  let world: RegistrationWorld;
  const clock = new ManualClock(START);

  beforeAll(async () => {
    world = await openWorld({ clock });
  });
  afterAll(async () => {
    await world?.close();
  });

  async function registered(setup: ProgramSetup, partnerId: string, body: Record<string, unknown>) {
    const response = await submit(world.app, setup, partnerId, body);
    expect(response.statusCode, response.body).toBe(201);
    return response.json();
  }

  const get = (setup: ProgramSetup, id: string) =>
    world.app.inject({ method: 'GET', url: `/api/v1/registrations/${id}`, headers: setup.t.as('sales_rep') });

  it('submits, approves with a protection window, and records audit and events for each change', async () => {
    const setup = await setupProgram(world.runtime.db, { program: { protectionDays: 60, currency: 'EUR' } });
    const partner = await setup.partner();
    const created = await registered(setup, partner.id, {
      companyName: 'Massive Dynamic',
      website: 'massivedynamic.com',
      contactName: 'Nina Sharp',
      contactEmail: 'Nina@MassiveDynamic.com',
      estimatedValue: 12_345_67,
      expectedClose: '2026-09-30',
    });
    expect(created).toMatchObject({
      status: 'submitted',
      source: 'api',
      checkOutcome: 'clear',
      estimatedValue: 1_234_567,
      currency: 'EUR',
      contactEmail: 'nina@massivedynamic.com',
      expectedClose: '2026-09-30',
      createdAt: START.toISOString(),
      protectedUntil: null,
    });

    const approved = await act(world.app, setup, created.id, 'approve', { role: 'program_manager' });
    expect(approved.statusCode, approved.body).toBe(200);
    expect(approved.json()).toMatchObject({
      status: 'approved',
      approvedAt: START.toISOString(),
      protectedUntil: new Date(START.getTime() + 60 * 86_400_000).toISOString(),
    });
    expect(approved.json().approvedBy).toEqual(expect.any(String));
    expect((await get(setup, created.id)).json().status).toBe('approved');

    expect(await auditActions(world.runtime.db, setup.t.tenant.id, created.id)).toEqual([
      'registration.submitted',
      'registration.approved',
    ]);
    expect(await eventTypes(world.runtime.db, created.id)).toEqual([
      'registration.submitted',
      'registration.approved',
    ]);
    const audit = await world.runtime.db
      .selectFrom('audit_log')
      .selectAll()
      .where('subject_id', '=', created.id)
      .where('action', '=', 'registration.approved')
      .executeTakeFirstOrThrow();
    expect(audit).toMatchObject({ actor_type: 'api_key', source: 'api', tenant_id: setup.t.tenant.id });
    expect(audit.before).toMatchObject({ status: 'submitted' });
    expect(audit.after).toMatchObject({ status: 'approved', estimatedValue: '1234567' });
  });

  it('refuses transitions the current state does not allow, with 409', async () => {
    const setup = await setupProgram(world.runtime.db);
    const partner = await setup.partner();
    const reg = await registered(setup, partner.id, { companyName: 'Oscorp', website: 'oscorp.com' });

    const early = await act(world.app, setup, reg.id, 'extension');
    expect(early.statusCode).toBe(409);
    expect(early.json().error.code).toBe('invalid_transition');
    expect((await act(world.app, setup, reg.id, 'outcome', { payload: { outcome: 'won' } })).statusCode).toBe(
      409,
    );
    expect((await act(world.app, setup, reg.id, 'extension/approve')).json().error.code).toBe(
      'invalid_transition',
    );

    expect((await act(world.app, setup, reg.id, 'approve')).statusCode).toBe(200);
    const twice = await act(world.app, setup, reg.id, 'approve');
    expect(twice.statusCode).toBe(409);
    expect(twice.json().error).toMatchObject({ code: 'invalid_transition', details: { status: 'approved' } });
    const reject = await act(world.app, setup, reg.id, 'reject', { payload: { reason: 'late' } });
    expect(reject.json().error.code).toBe('invalid_transition');

    const won = await act(world.app, setup, reg.id, 'outcome', {
      role: 'sales_rep',
      payload: { outcome: 'won' },
    });
    expect(won.json()).toMatchObject({ status: 'won' });
    const lost = await act(world.app, setup, reg.id, 'outcome', { payload: { outcome: 'lost' } });
    expect(lost.statusCode).toBe(409);
    expect(await eventTypes(world.runtime.db, reg.id)).toEqual([
      'registration.submitted',
      'registration.approved',
      'registration.won',
    ]);
  });

  it('rejects only with a reason, and keeps it', async () => {
    const setup = await setupProgram(world.runtime.db);
    const reg = await registered(setup, (await setup.partner()).id, { companyName: 'Stark Industries' });
    const bare = await act(world.app, setup, reg.id, 'reject', { payload: {} });
    expect(bare.statusCode).toBe(400);
    expect(bare.json().error.details.fields).toEqual([{ field: 'body.reason', message: expect.any(String) }]);
    const blank = await act(world.app, setup, reg.id, 'reject', { payload: { reason: '   ' } });
    expect(blank.statusCode).toBe(400);
    expect(blank.json().error.details.fields).toEqual([{ field: 'body.reason', message: 'is required' }]);
    const rejected = await act(world.app, setup, reg.id, 'reject', {
      payload: { reason: 'Existing customer' },
    });
    expect(rejected.json()).toMatchObject({ status: 'rejected', rejectionReason: 'Existing customer' });
    expect(await eventTypes(world.runtime.db, reg.id)).toEqual([
      'registration.submitted',
      'registration.rejected',
    ]);
  });

  it('needs an admin override, with a reason, before a conflicting registration can be approved', async () => {
    const setup = await setupProgram(world.runtime.db);
    const [a, b] = [await setup.partner(), await setup.partner()];
    const first = await registered(setup, a.id, { companyName: 'Umbrella', website: 'umbrella.com' });
    const second = await registered(setup, b.id, { companyName: 'Umbrella', website: 'umbrella.com' });
    expect(second.checkOutcome).toBe('conflict_with');
    expect(await eventTypes(world.runtime.db, second.id)).toEqual([
      'registration.submitted',
      'registration.conflict',
    ]);

    const blocked = await act(world.app, setup, second.id, 'approve');
    expect(blocked.statusCode).toBe(409);
    expect(blocked.json().error).toMatchObject({
      code: 'registration_conflict',
      details: { checkOutcome: 'conflict_with', relatedRegistrationId: first.id },
    });
    const byManager = await act(world.app, setup, second.id, 'override', {
      role: 'program_manager',
      payload: { reason: 'x' },
    });
    expect(byManager.statusCode).toBe(403);
    expect((await act(world.app, setup, first.id, 'override', { payload: { reason: 'x' } })).statusCode).toBe(
      409,
    );

    const overridden = await act(world.app, setup, second.id, 'override', {
      payload: { reason: 'Partner B brought the introduction; agreed with A' },
    });
    expect(overridden.statusCode, overridden.body).toBe(200);
    expect(overridden.json()).toMatchObject({
      checkOutcome: 'clear',
      overrideReason: 'Partner B brought the introduction; agreed with A',
      relatedRegistrationId: first.id,
      checkDetails: { signals: ['domain', 'company_name'], overridden: { from: 'conflict_with' } },
    });
    expect((await act(world.app, setup, second.id, 'approve')).json().status).toBe('approved');
    expect(await auditActions(world.runtime.db, setup.t.tenant.id, second.id)).toEqual([
      'registration.submitted',
      'registration.conflict',
      'registration.conflict_overridden',
      'registration.approved',
    ]);
  });

  it('grants one extension: requested once while protected, decided once, window added from the current end', async () => {
    const setup = await setupProgram(world.runtime.db, { program: { protectionDays: 30 } });
    const reg = await registered(setup, (await setup.partner()).id, {
      companyName: 'Weyland',
      website: 'weyland.com',
    });
    const approved = (await act(world.app, setup, reg.id, 'approve')).json();
    const requested = await act(world.app, setup, reg.id, 'extension', { role: 'sales_rep' });
    expect(requested.json()).toMatchObject({
      extensionStatus: 'requested',
      extensionRequestedAt: START.toISOString(),
    });
    const again = await act(world.app, setup, reg.id, 'extension', { role: 'sales_rep' });
    expect(again.statusCode).toBe(409);
    expect(again.json().error.code).toBe('invalid_transition');
    expect((await act(world.app, setup, reg.id, 'extension/approve', { role: 'sales_rep' })).statusCode).toBe(
      403,
    );

    const granted = await act(world.app, setup, reg.id, 'extension/approve', { role: 'program_manager' });
    expect(granted.json()).toMatchObject({
      extensionStatus: 'approved',
      protectedUntil: new Date(Date.parse(approved.protectedUntil) + 30 * 86_400_000).toISOString(),
    });
    expect((await act(world.app, setup, reg.id, 'extension/reject')).statusCode).toBe(409);
    expect((await act(world.app, setup, reg.id, 'extension')).statusCode).toBe(409);

    const other = await registered(setup, (await setup.partner()).id, { companyName: 'Nakatomi' });
    await act(world.app, setup, other.id, 'approve');
    await act(world.app, setup, other.id, 'extension');
    const refused = await act(world.app, setup, other.id, 'extension/reject');
    expect(refused.json()).toMatchObject({
      extensionStatus: 'rejected',
      protectedUntil: approved.protectedUntil,
    });
    expect((await act(world.app, setup, other.id, 'extension')).statusCode).toBe(409);
    expect(await eventTypes(world.runtime.db, other.id)).toEqual([
      'registration.submitted',
      'registration.approved',
      'registration.extension_requested',
      'registration.extension_rejected',
    ]);
  });

  it('auto-approves a clear registration of a Gold partner when the program says so, and only that', async () => {
    const setup = await setupProgram(world.runtime.db);
    const gold = await makeTier(world.runtime.db, setup.t.tenant.id, 'Gold', 3);
    const silver = await makeTier(world.runtime.db, setup.t.tenant.id, 'Silver', 2);
    await world.runtime.db
      .updateTable('programs')
      .set({ auto_approve: JSON.stringify({ whenClear: true, tierIds: [gold.id] }), protection_days: 45 })
      .where('id', '=', setup.program.id)
      .execute();
    const goldPartner = await setup.partner({ tierId: gold.id });
    const silverPartner = await setup.partner({ tierId: silver.id });

    const auto = await registered(setup, goldPartner.id, { companyName: 'Gekko & Co', website: 'gekko.com' });
    expect(auto).toMatchObject({
      status: 'approved',
      approvedBy: 'auto_approve',
      approvedAt: START.toISOString(),
      protectedUntil: new Date(START.getTime() + 45 * 86_400_000).toISOString(),
    });
    expect(await eventTypes(world.runtime.db, auto.id)).toEqual([
      'registration.submitted',
      'registration.approved',
    ]);
    const autoAudit = await world.runtime.db
      .selectFrom('audit_log')
      .select(['actor_type', 'actor_id'])
      .where('subject_id', '=', auto.id)
      .where('action', '=', 'registration.approved')
      .executeTakeFirstOrThrow();
    expect(autoAudit).toEqual({ actor_type: 'system', actor_id: 'auto_approve' });

    const manual = await registered(setup, silverPartner.id, { companyName: 'Bluestar Airlines' });
    expect(manual.status).toBe('submitted');
    const goldInConflict = await registered(setup, (await setup.partner({ tierId: gold.id })).id, {
      companyName: 'Gekko',
      website: 'gekko.com',
    });
    expect(goldInConflict).toMatchObject({ status: 'submitted', checkOutcome: 'conflict_with' });
  });

  it('replays a submission sent again with the same Idempotency-Key, and refuses the key for another body', async () => {
    const setup = await setupProgram(world.runtime.db);
    const partner = await setup.partner();
    const headers = { 'idempotency-key': 'submit-abc-1' };
    const body = { companyName: 'Prestige Worldwide', website: 'prestige.com', estimatedValue: 5000 };
    const first = await submit(world.app, setup, partner.id, body, { headers });
    const again = await submit(world.app, setup, partner.id, body, { headers });
    expect(first.statusCode).toBe(201);
    expect(again.statusCode).toBe(201);
    expect(again.json()).toEqual(first.json());
    expect(await countRegistrations(world.runtime.db, setup.t.tenant.id)).toBe(1);
    const other = await submit(world.app, setup, partner.id, { ...body, estimatedValue: 6000 }, { headers });
    expect(other.statusCode).toBe(422);
    expect(other.json().error.code).toBe('idempotency_key_reused');
    expect(await countRegistrations(world.runtime.db, setup.t.tenant.id)).toBe(1);
    expect(await eventTypes(world.runtime.db, first.json().id)).toEqual(['registration.submitted']);

    const approve = { headers: { 'idempotency-key': 'approve-abc-1' } };
    const approved = await act(world.app, setup, first.json().id, 'approve', approve);
    const replayed = await act(world.app, setup, first.json().id, 'approve', approve);
    expect(replayed.statusCode).toBe(200);
    expect(replayed.json()).toEqual(approved.json());
  });

  it('forgets an Idempotency-Key past its window: the key then submits a new request, which later repeats replay', async () => {
    const setup = await setupProgram(world.runtime.db);
    const partner = await setup.partner();
    const headers = { 'idempotency-key': 'submit-stale-1' };
    const first = await submit(world.app, setup, partner.id, { companyName: 'Vandelay' }, { headers });
    expect(first.statusCode).toBe(201);
    await world.runtime.db
      .updateTable('idempotency_keys')
      .set({ created_at: sql<Date>`now() - ${`${IDEMPOTENCY_WINDOW_HOURS + 1} hours`}::interval` })
      .where('tenant_id', '=', setup.t.tenant.id)
      .execute();

    const body = { companyName: 'Kramerica', website: 'kramerica.com' };
    const fresh = await submit(world.app, setup, partner.id, body, { headers });
    expect(fresh.statusCode, fresh.body).toBe(201);
    expect(fresh.json().id).not.toBe(first.json().id);
    expect(fresh.json().companyName).toBe('Kramerica');
    const again = await submit(world.app, setup, partner.id, body, { headers });
    expect(again.json()).toEqual(fresh.json());
    expect(await countRegistrations(world.runtime.db, setup.t.tenant.id)).toBe(2);
    const stored = await world.runtime.db
      .selectFrom('idempotency_keys')
      .select('key')
      .where('tenant_id', '=', setup.t.tenant.id)
      .execute();
    expect(stored).toHaveLength(1);
  });

  it('lets only staff roles in, and answers 404 for another tenant’s registration', async () => {
    const setup = await setupProgram(world.runtime.db);
    const other = await setupProgram(world.runtime.db);
    const reg = await registered(setup, (await setup.partner()).id, { companyName: 'Duff Beer' });
    expect(
      (await world.app.inject({ method: 'GET', url: `/api/v1/registrations/${reg.id}` })).statusCode,
    ).toBe(401);
    expect((await act(world.app, setup, reg.id, 'approve', { role: 'sales_rep' })).statusCode).toBe(403);
    const foreign = await world.app.inject({
      method: 'GET',
      url: `/api/v1/registrations/${reg.id}`,
      headers: other.t.as('admin'),
    });
    expect(foreign.statusCode).toBe(404);
    expect((await act(world.app, other, reg.id, 'approve')).statusCode).toBe(404);
    expect((await act(world.app, other, reg.id, 'reject', { payload: { reason: 'no' } })).statusCode).toBe(
      404,
    );
    const list = await world.app.inject({
      method: 'GET',
      url: '/api/v1/registrations',
      headers: other.t.as('admin'),
    });
    expect(list.json().items.map((r: { id: string }) => r.id)).not.toContain(reg.id);
    expect((await get(setup, reg.id)).json().status).toBe('submitted');
  });

  it('lists newest first with filters and cursor pages', async () => {
    const setup = await setupProgram(world.runtime.db, { tenant: { timeZone: 'America/New_York' } });
    const [a, b] = [await setup.partner(), await setup.partner()];
    const ids: string[] = [];
    try {
      for (let i = 0; i < 5; i++) {
        // 5 June 2026, 23:30 New York time onwards, a day apart: crosses local midnight in UTC terms.
        clock.set(new Date(Date.UTC(2026, 5, 6 + i, 3, 30)));
        ids.push(
          (await registered(setup, i % 2 === 0 ? a.id : b.id, { companyName: `Listco ${'abcde'[i]}x` })).id,
        );
      }
    } finally {
      clock.set(START);
    }
    const list = (query: string) =>
      world.app.inject({
        method: 'GET',
        url: `/api/v1/registrations?${query}`,
        headers: setup.t.as('sales_rep'),
      });

    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page: { items: { id: string }[]; nextCursor: string | null } = (
        await list(`limit=2${cursor ? `&cursor=${cursor}` : ''}`)
      ).json();
      seen.push(...page.items.map((r) => r.id));
      cursor = page.nextCursor;
      pages++;
    } while (cursor);
    expect(pages).toBe(3);
    expect(seen).toEqual([...ids].reverse());

    const ofB = (await list(`partnerId=${b.id}`)).json().items.map((r: { id: string }) => r.id);
    expect(ofB).toEqual([ids[3], ids[1]]);
    await act(world.app, setup, ids[2]!, 'approve');
    expect((await list('status=approved')).json().items.map((r: { id: string }) => r.id)).toEqual([ids[2]]);
    expect((await list('checkOutcome=clear')).json().items).toHaveLength(5);
    // Whole days are New York days: the first was created on 5 June there (6 June in UTC).
    const days = (await list('from=2026-06-05&to=2026-06-06')).json().items.map((r: { id: string }) => r.id);
    expect(days).toEqual([ids[1], ids[0]]);
    // An instant is exact: `from` includes it, `to` does not.
    const since = (await list('from=2026-06-08T03:30:00.000Z')).json().items.map((r: { id: string }) => r.id);
    expect(since).toEqual([ids[4], ids[3], ids[2]]);
    const until = (await list('to=2026-06-08T03:30:00.000Z')).json().items.map((r: { id: string }) => r.id);
    expect(until).toEqual([ids[1], ids[0]]);
    expect((await list('cursor=not-a-cursor')).statusCode).toBe(400);
    // Days and instants outside 1900-01-01..9999-12-30 (which the database cannot place in every
    // zone) are a 400 naming the bound, not a 500.
    for (const [query, field] of [
      ['from=0001-01-01', 'querystring.from'],
      ['to=9999-12-31', 'querystring.to'],
      ['from=1899-12-31T23:59:59Z', 'querystring.from'],
    ]) {
      const res = await list(query!);
      expect(res.statusCode, query).toBe(400);
      expect(res.json().error.details.fields[0].field).toBe(field);
    }
    expect((await list('to=9999-12-30')).json().items).toHaveLength(5);
    expect((await list('status=pending')).statusCode).toBe(400);
  });
});
