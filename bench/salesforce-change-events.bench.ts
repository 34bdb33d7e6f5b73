// Salesforce change events: a tenant streamed from the local Salesforce's CometD endpoint through
// jsforce's streaming client, the inbox and the salesforce processor, with job workers and relay in
// this process. (1) Throughput: BENCH_EVENTS opportunity edits (default 1000, amount changes over
// BENCH_DEALS opportunities) made in one burst by a sales rep; the clock runs from the first edit
// until every one is a recorded deal event; events per second. (2) Time to ledger: one Closed Won
// edit per opportunity, BENCH_CONCURRENCY in flight (default 4), each opportunity credited to a
// partner with a 10% revenue share; from the edit in Salesforce to its commission line in the
// database (polled every few ms); p50/p99. PostgreSQL + Redis when DATABASE_URL / REDIS_URL are set,
// else PGlite and the in-process queue.
import { lockOrCreateDeal, setAttributions } from '../src/deals/deal.repository.ts';
import { openChangeStreamWorld, userOpportunity } from '../test/crm/salesforce/change-stream-world.ts';
import { makeRevenueShareProgram } from '../test/factories/program.factory.ts';
import { watchCommissionLines } from './commission-line-watch.ts';
import { type BenchContext, benchSecrets, median, percentile, round, sleep } from './lib.ts';

const DEALS = Number(process.env.BENCH_DEALS ?? 200);
const EVENTS = Number(process.env.BENCH_EVENTS ?? 1000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 4);
const POLL_MS = 2;

async function until(what: string, probe: () => Promise<boolean>, timeoutMs = 300_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(POLL_MS);
  }
}

export async function salesforceChangeEvents(ctx: BenchContext): Promise<void> {
  const world = await openChangeStreamWorld({ runtime: { env: { LOG_LEVEL: 'warn', ...benchSecrets() } } });
  try {
    const db = world.runtime.db;
    const t = await world.streamingTenant();
    const tenantId = t.tenant.id;
    const streams = world.startStreams();
    await until('the subscription', async () => streams.tenants().includes(tenantId));
    const database = world.runtime.config.databaseUrl ? 'postgres' : 'pglite';
    const queue = world.runtime.config.redisUrl ? 'redis' : 'in-process';
    ctx.log(
      `${database} + ${queue}: ${DEALS} opportunities, ${EVENTS} change events, then ${DEALS} closed-won`,
    );

    const ids = Array.from({ length: DEALS }, (_, i) => userOpportunity(t.org, { Amount: 1000 + i }));
    const count = async () =>
      Number(
        (
          await db
            .selectFrom('deal_events')
            .select((eb) => eb.fn.countAll().as('n'))
            .where('tenant_id', '=', tenantId)
            .executeTakeFirstOrThrow()
        ).n,
      );
    await until('the opportunities mirrored', async () => (await count()) >= DEALS);
    const dealIds = await credit(world, tenantId, ids);

    // (1) A burst of edits: each its own transaction, its own change event.
    const before = await count();
    const started = performance.now();
    for (let i = 0; i < EVENTS; i++)
      t.org.userUpdate('Opportunity', ids[i % ids.length]!, { Amount: 2000 + i });
    await until('every change event recorded', async () => (await count()) >= before + EVENTS);
    const burstSeconds = (performance.now() - started) / 1000;
    const eventsPerSecond = EVENTS / burstSeconds;
    ctx.log(`${round(eventsPerSecond, 1)} change events/s to deal events (${round(burstSeconds, 2)} s)`);
    await world.drained();
    // Events recorded in another event's batch leave their own jobs queued (each finds its event
    // processed and stops): the latencies below are measured once the queue is idle again.
    await until('the job queue idle', async () => (await world.runtime.queue.pendingCount()) === 0);

    // (2) Closed Won in Salesforce → commission line here.
    const watch = watchCommissionLines(db, tenantId, POLL_MS);
    const latencies: number[] = [];
    let next = 0;
    const worker = async () => {
      while (next < ids.length) {
        const i = next++;
        const ledgered = watch.expect(dealIds[i]!, `opportunity ${ids[i]}`);
        const at = performance.now();
        t.org.userUpdate('Opportunity', ids[i]!, { StageName: 'Closed Won' });
        latencies.push((await ledgered) - at);
      }
    };
    const ledgerStarted = performance.now();
    try {
      await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    } finally {
      await watch.stop();
    }
    const ledgerSeconds = (performance.now() - ledgerStarted) / 1000;
    ctx.log(
      `time to ledger p50 ${round(median(latencies), 1)} ms, p99 ${round(percentile(latencies, 0.99), 1)} ms`,
    );
    ctx.report({
      bench: 'salesforce-change-events',
      database,
      queue,
      events: EVENTS,
      eventsPerSecond: round(eventsPerSecond, 1),
      deals: latencies.length,
      concurrency: CONCURRENCY,
      pollMs: POLL_MS,
      ledgerP50Ms: round(median(latencies), 1),
      ledgerP99Ms: round(percentile(latencies, 0.99), 1),
      ledgerMaxMs: round(Math.max(...latencies), 1),
      dealsPerSecond: round(latencies.length / ledgerSeconds, 1),
    });
  } finally {
    await world.close();
  }
}

/** A program with a 10% revenue share and a partner credited with every opportunity; their deal ids. */
async function credit(
  world: Awaited<ReturnType<typeof openChangeStreamWorld>>,
  tenantId: string,
  opportunityIds: string[],
): Promise<string[]> {
  const db = world.runtime.db;
  const { program, partner } = await makeRevenueShareProgram(db, tenantId, { partnerName: 'Bench Partner' });
  return db.transaction().execute(async (tx) => {
    const out: string[] = [];
    for (const id of opportunityIds) {
      const deal = (await lockOrCreateDeal(tx, tenantId, 'salesforce', id))!;
      await tx.updateTable('deals').set({ program_id: program.id }).where('id', '=', deal.id).execute();
      await setAttributions(tx, deal, [{ partnerId: partner.id }]);
      out.push(deal.id);
    }
    return out;
  });
}
