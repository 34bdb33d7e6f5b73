import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { type Logger, pino } from 'pino';
import { type AppDeps, buildApp } from '../../src/app.ts';
import type { Clock } from '../../src/clock.ts';
import { loadConfig } from '../../src/config.ts';
import type { EventSubscribers } from '../../src/events/publish-event.ts';
import type { InboxProcessor } from '../../src/inbox/inbox-processors.ts';
import type { JobDefinition } from '../../src/jobs/job.ts';
import { createRuntime, type Runtime } from '../../src/runtime.ts';
import type { TestDatabase } from './test-database.ts';

/** Real Redis (BullMQ) when REDIS_URL is set (CI), the in-process runner otherwise. */
export const usingRedis = Boolean(process.env.REDIS_URL);

export interface TestRuntimeOptions {
  jobs?: JobDefinition<any>[];
  inboxProcessors?: Record<string, InboxProcessor>;
  eventSubscribers?: EventSubscribers;
  clock?: Clock;
  /** Extra environment for loadConfig (e.g. a REDIS_URL pointing at a proxy). */
  env?: Record<string, string | undefined>;
  /** Reuse a Redis prefix, e.g. to reopen the same queues after a simulated restart. */
  redisPrefix?: string;
  logger?: Logger;
}

export interface TestRuntime extends Runtime {
  env: Record<string, string | undefined>;
  redisPrefix: string;
}

/** A runtime over the test database; jobs, relay and workers are started by the test when it wants them. */
export async function createTestRuntime(
  database: TestDatabase,
  options: TestRuntimeOptions = {},
): Promise<TestRuntime> {
  const redisPrefix = options.redisPrefix ?? `pltest-${randomBytes(5).toString('hex')}`;
  const env: Record<string, string | undefined> = {
    NODE_ENV: 'test',
    DATA_DIR: database.env.DATA_DIR ?? mkdtempSync(path.join(tmpdir(), 'pl-data-')),
    DATABASE_URL: database.env.DATABASE_URL,
    REDIS_URL: process.env.REDIS_URL,
    REDIS_PREFIX: redisPrefix,
    OUTBOX_POLL_MS: '20',
    JOB_CONCURRENCY: '5',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    ...options.env,
  };
  const config = loadConfig(env);
  const runtime = await createRuntime({
    config,
    logger: options.logger ?? pino({ level: config.logLevel }),
    database: database.handle,
    migrations: 'skip',
    ...(options.jobs ? { jobs: options.jobs } : {}),
    // Without an override, the application's own processors and subscribers, as in production.
    ...(options.inboxProcessors ? { inboxProcessors: new Map(Object.entries(options.inboxProcessors)) } : {}),
    ...(options.eventSubscribers ? { eventSubscribers: options.eventSubscribers } : {}),
    ...(options.clock ? { clock: options.clock } : {}),
  });
  return Object.assign(runtime, { env, redisPrefix });
}

export function appDeps(runtime: Runtime, extra: Partial<AppDeps> = {}): AppDeps {
  const { config, db, queue, services, logger } = runtime;
  return { config, db, queue, services, logger, ...extra };
}

export async function buildTestApp(runtime: Runtime, extra: Partial<AppDeps> = {}) {
  const app = await buildApp(appDeps(runtime, extra));
  await app.ready();
  return app;
}

/** Deletes everything a test left in Redis under its prefix. */
export async function clearRedisPrefix(prefix: string): Promise<void> {
  if (!process.env.REDIS_URL) return;
  const redis = new Redis(process.env.REDIS_URL);
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) await redis.del(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}
