import { pino } from 'pino';
import { Type } from 'typebox';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.ts';
import { defineJob } from '../../src/jobs/job.ts';
import { Scheduler } from '../../src/jobs/scheduler.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/test-database.ts';

const sweep = defineJob({
  name: 'test.sweep',
  queue: 'default',
  payload: Type.Object({ slot: Type.String() }),
  dedupId: (payload) => payload.slot,
  async handle() {},
});

describe('the scheduler', () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterAll(async () => {
    await database.destroy();
  });

  it('enqueues a scheduled job once per slot, however many processes tick', async () => {
    const clock = new ManualClock(new Date('2026-03-29T00:59:00Z'));
    const log = pino({ level: 'silent' });
    const schedules = [{ job: sweep, everyMs: 5 * 60_000 }];
    const a = new Scheduler({ db: database.handle.db, clock, log, schedules });
    const b = new Scheduler({ db: database.handle.db, clock, log, schedules });
    await Promise.all([a.tick(), b.tick(), a.tick()]);
    clock.advance(60_000); // 01:00: a new five-minute slot
    await Promise.all([b.tick(), a.tick()]);
    clock.advance(60_000); // 01:01: still the same slot
    await b.tick();
    const rows = await database.handle.db
      .selectFrom('outbox')
      .select('dedup_id')
      .where('job_name', '=', 'test.sweep')
      .orderBy('id')
      .execute();
    expect(rows.map((r) => r.dedup_id)).toEqual(['2026-03-29T00:55:00.000Z', '2026-03-29T01:00:00.000Z']);
  });

  it('refuses a scheduled job whose dedup id is not its slot', () => {
    const wrong = defineJob({
      name: 'test.wrong',
      queue: 'default',
      payload: Type.Object({ slot: Type.String() }),
      async handle() {},
    });
    expect(
      () =>
        new Scheduler({
          db: database.handle.db,
          clock: new ManualClock(new Date()),
          log: pino({ level: 'silent' }),
          schedules: [{ job: wrong, everyMs: 1000 }],
        }),
    ).toThrow(/must use its slot as dedup id/);
  });
});
