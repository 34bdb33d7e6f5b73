import type { FastifyPluginAsync } from 'fastify';
import { Type } from 'typebox';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppDeps } from '../src/app.ts';
import { enqueueJob } from '../src/jobs/enqueue.ts';
import { defineJob } from '../src/jobs/job.ts';
import { createTestDatabase, type TestDatabase } from './helpers/test-database.ts';
import { buildTestApp, clearRedisPrefix, createTestRuntime } from './helpers/test-runtime.ts';
import { sleep, waitFor } from './helpers/wait-for.ts';

describe('graceful shutdown', () => {
  let database: TestDatabase;

  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterAll(async () => {
    await database.destroy();
  });

  it('finishes a request that is in flight when the server closes', async () => {
    const runtime = await createTestRuntime(database);
    const slowRoute: FastifyPluginAsync<{ deps: AppDeps }> = async (app) => {
      app.get('/test/slow', async () => {
        await sleep(300);
        return { finished: true };
      });
    };
    const app = await buildTestApp(runtime, { extraRoutes: [slowRoute] });
    await app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = app.server.address() as { port: number };
    try {
      const inFlight = fetch(`http://127.0.0.1:${port}/test/slow`);
      await sleep(50);
      const closing = app.close();
      const response = await inFlight;
      expect(response.status).toBe(200);
      expect(await response.json()).toEqual({ finished: true });
      await closing;
      await expect(fetch(`http://127.0.0.1:${port}/healthz`)).rejects.toThrow();
    } finally {
      await runtime.close();
    }
  });

  it('lets a running job finish before the queue closes, and does not run it again', async () => {
    const events: string[] = [];
    const slowJob = defineJob({
      name: 'test.slow',
      queue: 'default',
      payload: Type.Object({ n: Type.Number() }),
      attempts: 3,
      async handle() {
        events.push('started');
        await sleep(400);
        events.push('finished');
      },
    });
    const runtime = await createTestRuntime(database, { jobs: [slowJob] });
    try {
      await runtime.queue.startWorkers(runtime.registry.queues());
      runtime.relay.start();
      await enqueueJob(runtime.db, slowJob, { n: 1 });
      await waitFor('the job to start', () => events.includes('started'));
      await runtime.close();
      expect(events).toEqual(['started', 'finished']);
      expect(await runtime.queue.listFailed().catch(() => [])).toEqual([]);
    } finally {
      await runtime.close();
      await clearRedisPrefix(runtime.redisPrefix);
    }

    // A new runtime over the same database and queue finds nothing left to run.
    const again = await createTestRuntime(database, { jobs: [slowJob], redisPrefix: runtime.redisPrefix });
    try {
      await again.queue.startWorkers(again.registry.queues());
      again.relay.start();
      await sleep(300);
      expect(events).toEqual(['started', 'finished']);
      expect(await again.queue.pendingCount()).toBe(0);
    } finally {
      await again.close();
      await clearRedisPrefix(again.redisPrefix);
    }
  });
});
