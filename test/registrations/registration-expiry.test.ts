import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.ts';
import { enqueueJob } from '../../src/jobs/enqueue.ts';
import { expireRegistrationsJob } from '../../src/registrations/expire-registrations.job.ts';
import { expireRegistrations } from '../../src/registrations/registration.service.ts';
import { usingRedis } from '../helpers/test-runtime.ts';
import { waitFor } from '../helpers/wait-for.ts';
import {
  act,
  eventTypes,
  openWorld,
  type ProgramSetup,
  type RegistrationWorld,
  setupProgram,
  submit,
} from './registration-setup.ts';

// 1 March 2026 10:00 in London is 10:00Z (GMT); clocks go forward on 29 March, so 31 March 10:00 in
// London is 09:00Z (BST).
const APPROVED_AT = new Date('2026-03-01T10:00:00.000Z');
const PROTECTED_UNTIL = '2026-03-31T09:00:00.000Z';
const MINUTE = 60_000;

describe(`protection windows end in the tenant's time zone (${usingRedis ? 'BullMQ' : 'in-process'} jobs)`, () => {
  let world: RegistrationWorld;
  const clock = new ManualClock(APPROVED_AT);

  beforeAll(async () => {
    world = await openWorld({ clock });
  });
  afterAll(async () => {
    await world?.close();
  });

  async function approvedRegistration(setup: ProgramSetup, company: string) {
    clock.set(APPROVED_AT);
    const created = await submit(world.app, setup, (await setup.partner()).id, { companyName: company });
    expect(created.statusCode, created.body).toBe(201);
    const approved = await act(world.app, setup, created.json().id, 'approve');
    expect(approved.statusCode, approved.body).toBe(200);
    return approved.json();
  }

  const statusOf = async (id: string) =>
    (
      await world.runtime.db
        .selectFrom('registrations')
        .select('status')
        .where('id', '=', id)
        .executeTakeFirstOrThrow()
    ).status;

  const london = () =>
    setupProgram(world.runtime.db, {
      tenant: { timeZone: 'Europe/London' },
      program: { protectionDays: 30 },
    });

  it('protects until the same local time 30 days later, and expires it just after, not just before', async () => {
    const setup = await london();
    const reg = await approvedRegistration(setup, 'Hyperion');
    expect(reg.protectedUntil).toBe(PROTECTED_UNTIL);

    const end = Date.parse(PROTECTED_UNTIL);
    await expireRegistrations(world.runtime.db, new Date(end - MINUTE));
    expect(await statusOf(reg.id)).toBe('approved');

    await expireRegistrations(world.runtime.db, new Date(end + MINUTE));
    expect(await statusOf(reg.id)).toBe('expired');
    expect(await eventTypes(world.runtime.db, reg.id)).toEqual([
      'registration.submitted',
      'registration.approved',
      'registration.expired',
    ]);
    const audit = await world.runtime.db
      .selectFrom('audit_log')
      .selectAll()
      .where('subject_id', '=', reg.id)
      .where('action', '=', 'registration.expired')
      .executeTakeFirstOrThrow();
    expect(audit).toMatchObject({ actor_type: 'system', actor_id: null, source: 'job' });
    expect(audit.before).toMatchObject({ status: 'approved' });
    expect(audit.after).toMatchObject({ status: 'expired' });

    // A second sweep finds nothing more to do.
    expect(await expireRegistrations(world.runtime.db, new Date(end + 2 * MINUTE))).toBe(0);
    expect(await eventTypes(world.runtime.db, reg.id)).toHaveLength(3);
  });

  it('expires a registration nobody approved within a window of its creation', async () => {
    const setup = await london();
    clock.set(APPROVED_AT);
    const created = (
      await submit(world.app, setup, (await setup.partner()).id, { companyName: 'Aperture' })
    ).json();
    const end = Date.parse(PROTECTED_UNTIL);
    await expireRegistrations(world.runtime.db, new Date(end - MINUTE));
    expect(await statusOf(created.id)).toBe('submitted');
    await expireRegistrations(world.runtime.db, new Date(end + MINUTE));
    expect(await statusOf(created.id)).toBe('expired');
    const event = await world.runtime.db
      .selectFrom('outbox')
      .select('payload')
      .where('job_name', '=', 'events.deliver')
      .execute();
    const expired = event
      .map((row) => row.payload as { type: string; subjectId: string; data: { reason: string } })
      .find((e) => e.subjectId === created.id && e.type === 'registration.expired');
    expect(expired?.data.reason).toBe('not_approved_in_time');
  });

  it('adds another local 30 days from the current end when an extension is granted', async () => {
    const setup = await london();
    const reg = await approvedRegistration(setup, 'Black Mesa');
    clock.set(new Date('2026-03-20T12:00:00.000Z'));
    expect((await act(world.app, setup, reg.id, 'extension', { role: 'sales_rep' })).statusCode).toBe(200);
    const granted = await act(world.app, setup, reg.id, 'extension/approve');
    // 31 March 10:00 BST + 30 days = 30 April 10:00 BST.
    expect(granted.json().protectedUntil).toBe('2026-04-30T09:00:00.000Z');
    await expireRegistrations(world.runtime.db, new Date(Date.parse(PROTECTED_UNTIL) + MINUTE));
    expect(await statusOf(reg.id)).toBe('approved');
    // Once the window has ended, no extension can be asked for.
    clock.set(new Date('2026-04-30T09:01:00.000Z'));
    const late = await act(world.app, setup, reg.id, 'extension');
    expect(late.json().error.code).toBe('invalid_transition');
  });

  it('expires through the scheduled job, once per slot', async () => {
    const setup = await london();
    const reg = await approvedRegistration(setup, 'Abstergo');
    const { runtime } = world;
    await runtime.queue.startWorkers(runtime.registry.queues());
    runtime.relay.start();

    clock.set(new Date(Date.parse(PROTECTED_UNTIL) - MINUTE));
    expect(await enqueueJob(runtime.db, expireRegistrationsJob, { slot: 'before' })).toBe(true);
    await waitFor('the early sweep to run', async () => {
      const row = await runtime.db
        .selectFrom('outbox')
        .select('dispatched_at')
        .where('job_name', '=', 'registrations.expire')
        .where('dedup_id', '=', 'before')
        .executeTakeFirst();
      return row?.dispatched_at ? (await runtime.queue.pendingCount()) === 0 : false;
    });
    expect(await statusOf(reg.id)).toBe('approved');

    clock.set(new Date(Date.parse(PROTECTED_UNTIL) + MINUTE));
    expect(await enqueueJob(runtime.db, expireRegistrationsJob, { slot: '2026-03-31T09:00:00.000Z' })).toBe(
      true,
    );
    expect(await enqueueJob(runtime.db, expireRegistrationsJob, { slot: '2026-03-31T09:00:00.000Z' })).toBe(
      false,
    );
    await waitFor('the registration to expire', async () => (await statusOf(reg.id)) === 'expired');
    expect(await eventTypes(runtime.db, reg.id)).toEqual([
      'registration.submitted',
      'registration.approved',
      'registration.expired',
    ]);
  });
});
