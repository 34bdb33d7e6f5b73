import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { enqueueJob, enqueueJobs } from '../../src/jobs/enqueue.ts';
import { makeRecordingJob } from '../factories/recording-job.factory.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/test-database.ts';
import {
  clearRedisPrefix,
  createTestRuntime,
  type TestRuntime,
  usingRedis,
} from '../helpers/test-runtime.ts';
import { sleep, waitFor } from '../helpers/wait-for.ts';

const mode = usingRedis ? 'BullMQ' : 'in-process';

describe(`jobs through the outbox (${mode})`, () => {
  let database: TestDatabase;
  let runtime: TestRuntime | undefined;

  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterEach(async () => {
    await runtime?.close();
    if (runtime) await clearRedisPrefix(runtime.redisPrefix);
    runtime = undefined;
  });
  afterAll(async () => {
    await database.destroy();
  });

  async function start(jobs: ReturnType<typeof makeRecordingJob>[]) {
    runtime = await createTestRuntime(database, { jobs: jobs.map((j) => j.job) });
    await runtime.queue.startWorkers(runtime.registry.queues());
    runtime.relay.start();
    return runtime;
  }

  it('runs a job enqueued in a committed transaction exactly once', async () => {
    const recorder = makeRecordingJob('test.committed');
    const rt = await start([recorder]);
    await rt.db.transaction().execute(async (tx) => {
      await enqueueJob(tx, recorder.job, { key: 'committed' });
    });
    await waitFor('the job to run', () => recorder.runs.length === 1);
    // Give a duplicate every chance to show up: more relay passes and worker polls.
    await sleep(300);
    expect(recorder.runs).toHaveLength(1);
    expect(recorder.runs[0]?.payload).toEqual({ key: 'committed' });
    expect(await rt.queue.pendingCount()).toBe(0);
  });

  it('never runs a job enqueued in a transaction that rolled back', async () => {
    const recorder = makeRecordingJob('test.rolled-back');
    const control = makeRecordingJob('test.control');
    const rt = await start([recorder, control]);
    await expect(
      rt.db.transaction().execute(async (tx) => {
        await enqueueJob(tx, recorder.job, { key: 'rolled back' });
        throw new Error('abort the transaction');
      }),
    ).rejects.toThrow('abort the transaction');
    // A job enqueued afterwards runs; by then the rolled-back one would have run too.
    await rt.db.transaction().execute((tx) => enqueueJob(tx, control.job, { key: 'after' }));
    await waitFor('the control job', () => control.runs.length === 1);
    await sleep(200);
    expect(recorder.runs).toHaveLength(0);
    const outbox = await rt.db.selectFrom('outbox').select('job_name').execute();
    expect(outbox.map((row) => row.job_name)).not.toContain('test.rolled-back');
  });

  it('makes one job of two enqueues with the same deduplication id', async () => {
    const recorder = makeRecordingJob('test.dedup', { dedup: true });
    const rt = await start([recorder]);
    const first = await enqueueJob(rt.db, recorder.job, { key: 'same' });
    const second = await enqueueJob(rt.db, recorder.job, { key: 'same' });
    const other = await enqueueJob(rt.db, recorder.job, { key: 'other' });
    expect([first, second, other]).toEqual([true, false, true]);
    await waitFor('both distinct jobs', () => recorder.runs.length === 2);
    await sleep(200);
    expect(recorder.runs.map((r) => r.payload.key).sort()).toEqual(['other', 'same']);
  });

  it('enqueues a batch in one statement: in order, new ones counted, duplicates within and across batches kept once', async () => {
    const recorder = makeRecordingJob('test.batch', { dedup: true });
    const rt = await start([recorder]);
    await enqueueJob(rt.db, recorder.job, { key: 'b' });
    const keys = ['a', 'b', 'c', 'a', 'd "quoted", \\ and ünïcode'];
    const added = await enqueueJobs(
      rt.db,
      recorder.job,
      keys.map((key) => ({ key })),
    );
    // 'b' was enqueued before and the second 'a' repeats the first: three are new.
    expect(added).toBe(3);
    const rows = await rt.db
      .selectFrom('outbox')
      .select(['id', 'payload', 'dedup_id', 'queue'])
      .where('job_name', '=', 'test.batch')
      .orderBy('id')
      .execute();
    expect(rows.map((row) => row.payload)).toEqual([
      { key: 'b' },
      { key: 'a' },
      { key: 'c' },
      { key: keys[4] },
    ]);
    expect(rows.map((row) => row.dedup_id)).toEqual(['b', 'a', 'c', keys[4]]);
    expect(rows.every((row) => row.queue === 'default')).toBe(true);
    await waitFor('the four distinct jobs', () => recorder.runs.length === 4);
    expect(recorder.runs.map((r) => r.payload.key).sort()).toEqual(['a', 'b', 'c', keys[4]].sort());
  });

  it('delays a batch, and refuses a batch with one invalid payload, enqueuing none of it', async () => {
    const recorder = makeRecordingJob('test.batch-delay');
    const rt = await start([recorder]);
    const before = Date.now();
    expect(await enqueueJobs(rt.db, recorder.job, [{ key: 'x' }, { key: 'y' }], { delayMs: 60_000 })).toBe(2);
    const rows = await rt.db
      .selectFrom('outbox')
      .select('available_at')
      .where('job_name', '=', 'test.batch-delay')
      .execute();
    expect(rows).toHaveLength(2);
    for (const row of rows)
      expect(new Date(row.available_at).getTime()).toBeGreaterThanOrEqual(before + 59_000);
    await expect(
      enqueueJobs(rt.db, recorder.job, [{ key: 'z' }, { key: 7 } as unknown as { key: string }]),
    ).rejects.toThrow(/invalid payload for job test\.batch-delay: \/key/);
    expect(
      await rt.db.selectFrom('outbox').select('id').where('job_name', '=', 'test.batch-delay').execute(),
    ).toHaveLength(2);
    await sleep(200);
    expect(recorder.runs).toHaveLength(0);
  });

  it('refuses a payload that does not match the job schema, enqueuing nothing', async () => {
    const recorder = makeRecordingJob('test.schema');
    const rt = await start([recorder]);
    await expect(enqueueJob(rt.db, recorder.job, { key: 42 } as unknown as { key: string })).rejects.toThrow(
      /invalid payload for job test\.schema: \/key/,
    );
    expect(
      await rt.db.selectFrom('outbox').where('job_name', '=', 'test.schema').selectAll().execute(),
    ).toEqual([]);
  });

  it('retries a failing job with growing delays, then holds it as failed until retried', async () => {
    const recorder = makeRecordingJob('test.flaky', { attempts: 3, backoffMs: 100, backoff: 'exponential' });
    recorder.failNext(3);
    const rt = await start([recorder]);
    await enqueueJob(rt.db, recorder.job, { key: 'flaky' });

    const failed = await waitFor('the job to be marked failed', async () => {
      const list = await rt.queue.listFailed();
      return list.length === 1 ? list : undefined;
    });
    expect(recorder.runs.map((r) => r.attempt)).toEqual([1, 2, 3]);
    const [first, second, third] = recorder.runs.map((r) => r.at) as [number, number, number];
    // Exponential backoff of 100 ms: ≥100 ms before the 2nd run, ≥200 ms before the 3rd.
    expect(second - first).toBeGreaterThanOrEqual(90);
    expect(third - second).toBeGreaterThanOrEqual(190);
    expect(failed[0]).toMatchObject({
      name: 'test.flaky',
      attemptsMade: 3,
      error: 'planned failure for flaky',
      payload: { key: 'flaky' },
    });

    expect(await rt.queue.retryFailed([failed[0]!.id])).toBe(1);
    await waitFor('the retried job to succeed', () => recorder.runs.length === 4);
    await waitFor('no failed job left', async () => (await rt.queue.listFailed()).length === 0);
    expect(await rt.queue.pendingCount()).toBe(0);
  });
});
