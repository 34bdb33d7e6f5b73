// HubSpot webhook ingestion: batches of 100 signed events (X-HubSpot-Signature-v3) POSTed
// concurrently to the real app (buildApp listening on 127.0.0.1) until each is stored durably in the
// inbox with its processing job (the 200 is sent after the commit). Reports events stored per second
// and the latency per batch (p50/p99). On PostgreSQL when DATABASE_URL is set (the goal: at least
// 10,000 events/s with p99 under 100 ms), else on PGlite (reported, goal not applicable).
// BENCH_CONCURRENCY changes how many batches are in flight (default 8, as the other HTTP benchmarks; with 16 the p99 doubles: batches queue on 2 cores).
import { createHmac, randomBytes } from 'node:crypto';
import pg from 'pg';
import { type Logger, pino } from 'pino';
import { buildApp } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';
import { createRuntime, type Runtime } from '../src/runtime.ts';
import { insertTenant } from '../src/tenants/tenant.repository.ts';
import { type BenchContext, benchSecrets, makeTempDir, median, percentile, removeDir, round } from './lib.ts';

const GOAL_EVENTS_PER_SECOND = 10_000;
const GOAL_P99_MS = 100;
const BATCH = 100;
const BATCHES = 400;
const WARMUP_BATCHES = 20;
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 8);
const SECRET = 'bench-client-secret';
const PORTAL = 62515;
const PUBLIC_URL = 'https://partnerloop.bench.example';

export async function hubspotWebhooks(ctx: BenchContext): Promise<void> {
  const baseUrl = process.env.DATABASE_URL?.trim() || undefined;
  const dataDir = await makeTempDir('hubspot-webhooks');
  const pgDatabase = baseUrl ? await createDatabase(baseUrl) : undefined;
  let runtime: Runtime | undefined;
  try {
    const config = loadConfig({
      NODE_ENV: 'development',
      LOG_LEVEL: 'warn',
      DATA_DIR: dataDir,
      DATABASE_URL: pgDatabase?.url,
      PUBLIC_URL,
      HUBSPOT_CLIENT_ID: 'bench-client',
      HUBSPOT_CLIENT_SECRET: SECRET,
      ...benchSecrets(),
    });
    runtime = await createRuntime({ config, logger: stderrLogger(), migrations: 'auto' });
    await insertTenant(runtime.db, { name: 'Bench', crmKind: 'hubspot', crmAccountId: String(PORTAL) });
    const { config: cfg, db, queue, services, logger } = runtime;
    const app = await buildApp({ config: cfg, db, queue, services, logger });
    const address = await app.listen({ port: 0, host: '127.0.0.1' });
    const database = pgDatabase ? 'postgres' : 'pglite';
    ctx.log(`${database}: ${BATCHES} batches of ${BATCH} events, ${CONCURRENCY} in flight`);

    try {
      // Bodies and signatures are made before the clock starts: the figure is the server's.
      let eventId = 1;
      const makeBatches = (count: number) =>
        Array.from({ length: count }, () => {
          const events = Array.from({ length: BATCH }, () => ({
            eventId: eventId++,
            subscriptionId: 1002,
            portalId: PORTAL,
            appId: 54321,
            occurredAt: Date.now(),
            subscriptionType: 'object.propertyChange',
            attemptNumber: 0,
            objectId: 1000 + (eventId % 5000),
            objectTypeId: '0-3',
            propertyName: 'dealstage',
            propertyValue: 'closedwon',
            changeSource: 'CRM',
            sourceId: 'userId:1001',
          }));
          const body = JSON.stringify(events);
          const timestamp = String(Date.now());
          const signature = createHmac('sha256', SECRET)
            .update(`POST${PUBLIC_URL}/webhooks/hubspot${body}${timestamp}`)
            .digest('base64');
          return { body, timestamp, signature };
        });
      const post = async (batch: { body: string; timestamp: string; signature: string }) => {
        const started = performance.now();
        const response = await fetch(`${address}/webhooks/hubspot`, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'x-hubspot-signature-v3': batch.signature,
            'x-hubspot-request-timestamp': batch.timestamp,
          },
          body: batch.body,
        });
        const text = await response.text();
        if (response.status !== 200) throw new Error(`batch refused: ${response.status} ${text}`);
        return performance.now() - started;
      };
      const run = async (batches: ReturnType<typeof makeBatches>) => {
        const latencies: number[] = [];
        let next = 0;
        const worker = async () => {
          while (next < batches.length) latencies.push(await post(batches[next++]!));
        };
        const started = performance.now();
        await Promise.all(Array.from({ length: CONCURRENCY }, worker));
        return { ms: performance.now() - started, latencies };
      };

      await run(makeBatches(WARMUP_BATCHES));
      const before = await countInbox(runtime);
      const { ms, latencies } = await run(makeBatches(BATCHES));
      const stored = (await countInbox(runtime)) - before;
      if (stored !== BATCHES * BATCH) throw new Error(`stored ${stored} events, expected ${BATCHES * BATCH}`);
      const p99 = percentile(latencies, 0.99);
      const perSecond = stored / (ms / 1000);
      ctx.log(`${round(perSecond)} events/s, p50 ${round(median(latencies), 1)} ms, p99 ${round(p99, 1)} ms`);
      ctx.report({
        bench: 'hubspot-webhooks',
        database,
        batches: BATCHES,
        eventsPerBatch: BATCH,
        concurrency: CONCURRENCY,
        eventsStored: stored,
        eventsPerSecond: round(perSecond),
        p50BatchMs: round(median(latencies), 1),
        p99BatchMs: round(p99, 1),
        maxBatchMs: round(Math.max(...latencies), 1),
        goalEventsPerSecond: GOAL_EVENTS_PER_SECOND,
        goalP99Ms: GOAL_P99_MS,
        meetsGoal:
          database === 'postgres' ? perSecond >= GOAL_EVENTS_PER_SECOND && p99 < GOAL_P99_MS : 'n/a (PGlite)',
      });
    } finally {
      await app.close();
    }
  } finally {
    await runtime?.close();
    await pgDatabase?.drop();
    await removeDir(dataDir);
  }
}

async function countInbox(runtime: Runtime): Promise<number> {
  const row = await runtime.db
    .selectFrom('inbox')
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .where('source', '=', 'hubspot')
    .executeTakeFirstOrThrow();
  return Number(row.n);
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
