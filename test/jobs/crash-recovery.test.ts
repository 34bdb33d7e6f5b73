import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeRecordingJob } from '../factories/recording-job.factory.ts';
import { runScript } from '../helpers/cli.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/test-database.ts';
import { clearRedisPrefix, createTestRuntime, usingRedis } from '../helpers/test-runtime.ts';
import { waitFor } from '../helpers/wait-for.ts';

describe(`a process killed between commit and dispatch (${usingRedis ? 'BullMQ' : 'in-process'})`, () => {
  let database: TestDatabase;

  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterAll(async () => {
    await database.destroy();
  });

  it('loses nothing: the job runs once on the next start', async () => {
    // PGlite belongs to one process at a time: let go of it while the child uses it.
    await database.handle.close();
    const child = await runScript('test/fixtures/enqueue-then-die.ts', ['after-crash'], {
      ...database.env,
      REDIS_URL: process.env.REDIS_URL,
      LOG_LEVEL: 'silent',
    });
    expect(child.stderr).toBe('');
    expect(child.stdout).toContain('committed');
    expect(child.signal).toBe('SIGKILL');

    await database.reopen();
    const recorder = makeRecordingJob('test.survivor');
    const runtime = await createTestRuntime(database, { jobs: [recorder.job] });
    try {
      const waiting = await runtime.db
        .selectFrom('outbox')
        .select(['job_name', 'dispatched_at'])
        .where('job_name', '=', 'test.survivor')
        .execute();
      expect(waiting).toEqual([{ job_name: 'test.survivor', dispatched_at: null }]);

      await runtime.queue.startWorkers(runtime.registry.queues());
      runtime.relay.start();
      await waitFor('the job committed before the crash', () => recorder.runs.length === 1);
      expect(recorder.runs[0]?.payload).toEqual({ key: 'after-crash' });
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(recorder.runs).toHaveLength(1);
    } finally {
      await runtime.close();
      await clearRedisPrefix(runtime.redisPrefix);
    }
  });
});
