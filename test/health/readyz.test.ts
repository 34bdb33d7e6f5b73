import type { FastifyPluginAsync } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppDeps } from '../../src/app.ts';
import { openDatabase } from '../../src/db/open-database.ts';
import { acceptIntoInbox } from '../../src/inbox/inbox.repository.ts';
import { TcpProxy } from '../helpers/tcp-proxy.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/test-database.ts';
import { buildTestApp, clearRedisPrefix, createTestRuntime, usingRedis } from '../helpers/test-runtime.ts';
import { waitFor } from '../helpers/wait-for.ts';

/** Stands in for a webhook endpoint: verified work goes into the inbox, then 202. */
const inboundRoute: FastifyPluginAsync<{ deps: AppDeps }> = async (app, { deps }) => {
  app.post<{ Body: { id: string; value: string } }>('/test/inbound', async (request, reply) => {
    await deps.db
      .transaction()
      .execute((tx) =>
        acceptIntoInbox(tx, [{ source: 'test', sourceId: request.body.id, payload: request.body }]),
      );
    return reply.status(202).send({ accepted: true });
  });
};

describe('GET /readyz', () => {
  let database: TestDatabase;

  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterAll(async () => {
    await database.destroy();
  });

  it('answers 503 naming the database when the database cannot be reached', async () => {
    const runtime = await createTestRuntime(database);
    // Nothing listens on port 1: every query fails to connect. The queue keeps its own, working
    // connection (Redis, or the in-process runner's database handle).
    const unreachable = await openDatabase({ databaseUrl: 'postgres://nobody@127.0.0.1:1/none' });
    const app = await buildTestApp(runtime, { db: unreachable.db });
    try {
      const response = await app.inject({ method: 'GET', url: '/readyz' });
      expect(response.statusCode).toBe(503);
      const body = response.json();
      expect(body.error.code).toBe('not_ready');
      expect(body.error.message).toMatch(/database/);
      expect(body.error.message).not.toMatch(/queue/);
      expect(body.error.details.checks).toEqual({ database: 'unreachable', queue: 'ok' });
      expect(response.body).not.toContain('nobody');
    } finally {
      await app.close();
      await unreachable.close();
      await runtime.close();
    }
  });

  it('answers 200 when both the database and the queue answer', async () => {
    const runtime = await createTestRuntime(database);
    const app = await buildTestApp(runtime);
    try {
      const response = await app.inject({ method: 'GET', url: '/readyz' });
      expect(response.statusCode).toBe(200);
      expect(response.json()).toEqual({ status: 'ready', checks: { database: 'ok', queue: 'ok' } });
    } finally {
      await app.close();
      await runtime.close();
      await clearRedisPrefix(runtime.redisPrefix);
    }
  });
});

describe.runIf(usingRedis)('with Redis down', () => {
  let database: TestDatabase;
  let proxy: TcpProxy;

  beforeAll(async () => {
    database = await createTestDatabase();
    const target = new URL(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
    proxy = new TcpProxy(target.hostname, Number(target.port || 6379));
    await proxy.start();
  });
  afterAll(async () => {
    await proxy.stop();
    await database.destroy();
  });

  it('says 503 naming the queue, still accepts work into the inbox, and processes it once Redis returns', async () => {
    const processed: string[] = [];
    const runtime = await createTestRuntime(database, {
      env: { REDIS_URL: `redis://127.0.0.1:${proxy.port}` },
      inboxProcessors: {
        test: async (_tx, event) => {
          processed.push((event.payload as { value: string }).value);
          return 'applied';
        },
      },
    });
    const app = await buildTestApp(runtime, { extraRoutes: [inboundRoute] });
    try {
      await runtime.queue.startWorkers(runtime.registry.queues());
      runtime.relay.start();
      expect((await app.inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(200);

      await proxy.stop();
      const notReady = await app.inject({ method: 'GET', url: '/readyz' });
      expect(notReady.statusCode).toBe(503);
      expect(notReady.json().error.message).toMatch(/queue/);
      expect(notReady.json().error.details.checks.database).toBe('ok');
      expect(notReady.json().error.details.checks.queue).not.toBe('ok');

      const accepted = await app.inject({
        method: 'POST',
        url: '/test/inbound',
        payload: { id: 'evt-1', value: 'while redis was down' },
      });
      expect(accepted.statusCode).toBe(202);
      // Stored, and its job waits in the outbox while the relay cannot reach Redis.
      await new Promise((resolve) => setTimeout(resolve, 300));
      const inbox = await runtime.db
        .selectFrom('inbox')
        .selectAll()
        .where('source_id', '=', 'evt-1')
        .execute();
      expect(inbox).toHaveLength(1);
      expect(inbox[0]?.processed_at).toBeNull();
      const waiting = await runtime.db
        .selectFrom('outbox')
        .select('id')
        .where('job_name', '=', 'inbox.process')
        .where('dispatched_at', 'is', null)
        .execute();
      expect(waiting).toHaveLength(1);
      expect(processed).toEqual([]);

      await proxy.start();
      // The processor runs inside the transaction that records its outcome: wait for the commit.
      const outcome = async () =>
        (
          await runtime.db
            .selectFrom('inbox')
            .select('outcome')
            .where('source_id', '=', 'evt-1')
            .executeTakeFirst()
        )?.outcome;
      await waitFor('the inbox event to be processed', async () => (await outcome()) === 'applied', {
        timeoutMs: 20_000,
      });
      expect(processed).toEqual(['while redis was down']);
      await waitFor(
        'ready again',
        async () => (await app.inject({ method: 'GET', url: '/readyz' })).statusCode === 200,
      );
    } finally {
      await app.close();
      await runtime.close();
      await clearRedisPrefix(runtime.redisPrefix);
    }
  });
});
