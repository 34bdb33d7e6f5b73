import { randomBytes } from 'node:crypto';
import { type Job, Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import pg from 'pg';
import { type Logger, pino } from 'pino';
import { Type } from 'typebox';
import { loadConfig } from '../src/config.ts';
import { enqueueJob } from '../src/jobs/enqueue.ts';
import { defineJob } from '../src/jobs/job.ts';
import { createRuntime, type Runtime } from '../src/runtime.ts';
import { startWorker } from '../src/worker.ts';
import {
  type BenchContext,
  benchSecrets,
  errorMessage,
  makeTempDir,
  median,
  removeDir,
  round,
  withTimeout,
} from './lib.ts';

const RUNS = 3;
const BULLMQ_GOAL_JOBS_PER_SEC = 2_000;
const CONCURRENCY = 50;
const OUTBOX_POLL_MS = 20;
/** Jobs enqueued per transaction when filling the outbox. */
const ENQUEUE_BATCH = 500;
/** A run that has not finished after this long fails instead of holding up the whole suite. */
const RUN_TIMEOUT_MS = 60_000;
const LOCAL_REDIS_URL = 'redis://127.0.0.1:6379';

type Db = 'pglite' | 'postgres';

interface Mode {
  queue: 'in-process' | 'bullmq';
  db: Db;
  redisUrl?: string;
  jobs: number;
}

/** Counts handler runs and resolves once the expected number has run. */
class Counter {
  count = 0;
  private target = Number.POSITIVE_INFINITY;
  private resolve: (() => void) | undefined;

  expect(target: number): Promise<void> {
    this.count = 0;
    this.target = target;
    return new Promise((resolve) => {
      this.resolve = resolve;
    });
  }

  hit(): void {
    this.count++;
    if (this.count === this.target) this.resolve?.();
  }
}

const counter = new Counter();

const noopJob = defineJob({
  name: 'bench.noop',
  queue: 'default',
  payload: Type.Object({ n: Type.Number() }),
  attempts: 1,
  async handle() {
    counter.hit();
  },
});

/**
 * Jobs per second through the job system, for each setup this machine offers: the in-process queue
 * on PGlite (always), on PostgreSQL (DATABASE_URL), and BullMQ (REDIS_URL, or a Redis answering on
 * 127.0.0.1:6379). `end-to-end` goes outbox → relay → queue → handler; BullMQ's `queue-only` is
 * bullmq itself with the adapter's job options, so the outbox's share of the cost shows.
 */
export async function queueThroughput(ctx: BenchContext): Promise<void> {
  const databaseUrl = nonEmpty(process.env.DATABASE_URL);
  const redisUrl = await findRedis(ctx);
  const failures: string[] = [];

  const modes: Mode[] = [{ queue: 'in-process', db: 'pglite', jobs: 5_000 }];
  if (databaseUrl) modes.push({ queue: 'in-process', db: 'postgres', jobs: 10_000 });
  else ctx.log('DATABASE_URL not set: skipping the in-process queue on PostgreSQL');
  if (redisUrl)
    modes.push({ queue: 'bullmq', db: databaseUrl ? 'postgres' : 'pglite', redisUrl, jobs: 10_000 });
  else ctx.log(`REDIS_URL not set and nothing answers at ${LOCAL_REDIS_URL}: skipping BullMQ`);

  for (const mode of modes) {
    const label = `${mode.queue}/${mode.db}`;
    await measure(ctx, failures, `${label} end-to-end`, mode.jobs, (run) =>
      endToEnd(ctx, mode, databaseUrl, `${label} end-to-end run ${run}`),
    ).then((samples) => {
      if (samples) ctx.report(result(mode, 'end-to-end', samples));
    });
    if (mode.queue === 'bullmq' && mode.redisUrl) {
      const url = mode.redisUrl;
      await measure(ctx, failures, 'bullmq queue-only', mode.jobs, (run) =>
        queueOnly(ctx, url, mode.jobs, `bullmq queue-only run ${run}`),
      ).then((samples) => {
        if (samples) ctx.report(result(mode, 'queue-only', samples));
      });
    }
  }

  if (failures.length > 0) throw new Error(`failed: ${failures.join('; ')}`);
}

function result(mode: Mode, measure: 'end-to-end' | 'queue-only', samples: number[]) {
  return {
    bench: 'queue-throughput',
    mode: mode.queue,
    ...(measure === 'end-to-end' ? { db: mode.db } : {}),
    measure,
    jobs: mode.jobs,
    runs: samples.length,
    medianJobsPerSec: round(median(samples)),
    samplesJobsPerSec: samples.map((s) => round(s)),
    ...(mode.queue === 'bullmq' ? { goalJobsPerSec: BULLMQ_GOAL_JOBS_PER_SEC } : {}),
  };
}

/** Runs one measure RUNS times; returns jobs/s samples, or undefined (and records why) on failure. */
async function measure(
  ctx: BenchContext,
  failures: string[],
  label: string,
  jobs: number,
  once: (run: number) => Promise<number>,
): Promise<number[] | undefined> {
  const samples: number[] = [];
  try {
    for (let run = 1; run <= RUNS; run++) {
      const ms = await once(run);
      samples.push((jobs / ms) * 1000);
      ctx.log(
        `${label} run ${run}/${RUNS}: ${jobs} jobs in ${round(ms)} ms = ${round((jobs / ms) * 1000)} jobs/s`,
      );
    }
    return samples;
  } catch (error) {
    ctx.log(`${label}: FAILED: ${errorMessage(error)}`);
    failures.push(`${label}: ${errorMessage(error)}`);
    return undefined;
  }
}

/**
 * Fills the outbox with `jobs` committed jobs, then starts the workers and the relay (as the
 * worker role does) and times until the handler has run `jobs` times. Returns milliseconds.
 */
async function endToEnd(ctx: BenchContext, mode: Mode, databaseUrl: string | undefined, label: string) {
  const dataDir = await makeTempDir('queue');
  const prefix = `bench-${randomBytes(6).toString('hex')}`;
  const pgDatabase = mode.db === 'postgres' && databaseUrl ? await createDatabase(databaseUrl) : undefined;
  let runtime: Runtime | undefined;
  try {
    const config = loadConfig({
      NODE_ENV: 'development',
      LOG_LEVEL: 'warn',
      DATA_DIR: dataDir,
      DATABASE_URL: pgDatabase?.url,
      REDIS_URL: mode.queue === 'bullmq' ? mode.redisUrl : undefined,
      REDIS_PREFIX: prefix,
      JOB_CONCURRENCY: String(CONCURRENCY),
      OUTBOX_POLL_MS: String(OUTBOX_POLL_MS),
      ...benchSecrets(),
    });
    runtime = await createRuntime({
      config,
      logger: stderrLogger(),
      jobs: [noopJob],
      // Only the bench's job: the application's recurring jobs have no handler here.
      schedules: [],
      migrations: 'auto',
    });
    if (runtime.queue.kind !== mode.queue)
      throw new Error(`expected a ${mode.queue} queue, got ${runtime.queue.kind}`);

    for (let n = 0; n < mode.jobs; ) {
      const end = Math.min(n + ENQUEUE_BATCH, mode.jobs);
      await runtime.db.transaction().execute(async (tx) => {
        for (let i = n; i < end; i++) await enqueueJob(tx, noopJob, { n: i });
      });
      n = end;
    }

    const done = counter.expect(mode.jobs);
    const started = performance.now();
    await startWorker(runtime);
    await withTimeout(
      done,
      RUN_TIMEOUT_MS,
      () => `${label}: only ${counter.count}/${mode.jobs} jobs ran in ${RUN_TIMEOUT_MS} ms`,
    );
    const ms = performance.now() - started;

    await runtime.close();
    if (counter.count !== mode.jobs)
      ctx.log(`${label}: WARNING: the handler ran ${counter.count} times for ${mode.jobs} jobs`);
    return ms;
  } finally {
    await runtime
      ?.close()
      .catch((error) => ctx.log(`${label}: closing the runtime failed: ${errorMessage(error)}`));
    if (mode.redisUrl)
      await deleteKeys(mode.redisUrl, prefix).catch((error) => ctx.log(`${label}: ${errorMessage(error)}`));
    await pgDatabase
      ?.drop()
      .catch((error) => ctx.log(`${label}: dropping the database failed: ${errorMessage(error)}`));
    await removeDir(dataDir);
  }
}

/**
 * bullmq alone: addBulk of `jobs` jobs with the options the BullmqQueue adapter gives them, then a
 * Worker with the same concurrency and a no-op processor; times both, until every job has run.
 */
async function queueOnly(ctx: BenchContext, redisUrl: string, jobs: number, label: string): Promise<number> {
  const prefix = `bench-${randomBytes(6).toString('hex')}`;
  const producer = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
  const workerConnection = new Redis(redisUrl, { maxRetriesPerRequest: null });
  producer.on('error', () => {});
  workerConnection.on('error', () => {});
  const queue = new Queue('default', { connection: producer, prefix });
  let worker: Worker | undefined;
  try {
    const done = counter.expect(jobs);
    const started = performance.now();
    for (let n = 0; n < jobs; n += ENQUEUE_BATCH) {
      const batch = Array.from({ length: Math.min(ENQUEUE_BATCH, jobs - n) }, (_, i) => ({
        name: noopJob.name,
        data: { n: n + i },
        opts: {
          jobId: `q${n + i}`,
          attempts: 1,
          backoff: { type: noopJob.backoff.type, delay: noopJob.backoff.delayMs },
          removeOnComplete: { age: 24 * 3600 },
          removeOnFail: false,
        },
      }));
      await queue.addBulk(batch);
    }
    worker = new Worker(
      'default',
      async (_job: Job) => {
        counter.hit();
      },
      { connection: workerConnection, prefix, concurrency: CONCURRENCY },
    );
    worker.on('error', (error) => ctx.log(`${label}: worker error: ${errorMessage(error)}`));
    await withTimeout(
      done,
      RUN_TIMEOUT_MS,
      () => `${label}: only ${counter.count}/${jobs} jobs ran in ${RUN_TIMEOUT_MS} ms`,
    );
    return performance.now() - started;
  } finally {
    await worker?.close();
    await queue
      .obliterate({ force: true })
      .catch((error) => ctx.log(`${label}: obliterate: ${errorMessage(error)}`));
    await queue.close();
    producer.disconnect();
    workerConnection.disconnect();
    await deleteKeys(redisUrl, prefix).catch((error) => ctx.log(`${label}: ${errorMessage(error)}`));
  }
}

/** REDIS_URL, else the conventional local Redis if it answers a PING quickly. */
async function findRedis(ctx: BenchContext): Promise<string | undefined> {
  const configured = nonEmpty(process.env.REDIS_URL);
  if (configured) return configured;
  const client = new Redis(LOCAL_REDIS_URL, {
    lazyConnect: true,
    connectTimeout: 500,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    retryStrategy: () => null,
  });
  client.on('error', () => {});
  try {
    await withTimeout(
      client.connect().then(() => client.ping()),
      1_000,
      () => 'no answer',
    );
    ctx.log(`REDIS_URL not set; using the Redis answering at ${LOCAL_REDIS_URL}`);
    return LOCAL_REDIS_URL;
  } catch {
    return undefined;
  } finally {
    client.disconnect();
  }
}

/** Deletes every key under a BullMQ prefix. */
async function deleteKeys(redisUrl: string, prefix: string): Promise<void> {
  const client = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
  client.on('error', () => {});
  try {
    let cursor = '0';
    do {
      const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) await client.unlink(...keys);
    } while (cursor !== '0');
  } finally {
    client.disconnect();
  }
}

/** A new, empty PostgreSQL database on the server of `baseUrl`, dropped (forcibly) afterwards. */
async function createDatabase(baseUrl: string): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `bench_${randomBytes(6).toString('hex')}`;
  await admin(baseUrl, `create database ${name}`);
  const url = new URL(baseUrl);
  url.pathname = `/${name}`;
  return { url: url.toString(), drop: () => admin(baseUrl, `drop database if exists ${name} with (force)`) };
}

async function admin(baseUrl: string, statement: string): Promise<void> {
  const client = new pg.Client({ connectionString: baseUrl, connectionTimeoutMillis: 5_000 });
  await client.connect();
  try {
    await client.query(statement);
  } finally {
    await client.end();
  }
}

function stderrLogger(): Logger {
  return pino(
    { level: 'warn', base: { service: 'partnerloop-bench' } },
    pino.destination({ dest: 2, sync: true }),
  );
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value.trim();
}
