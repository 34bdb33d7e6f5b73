// Time to ledger: from a signed closed-won webhook POSTed to the app to its commission line in the
// database. The app is installed on a local HubSpot (OAuth, stage mapping), the inbox, outbox relay
// and job workers run in this process; each deal is credited to a partner of a program with a 10%
// revenue share. The clock starts before the POST and stops when a poller sees the deal's first
// commission line (polling every few ms, so figures carry that much resolution). p50/p99 over
// BENCH_DEALS deals (default 200), BENCH_CONCURRENCY webhooks in flight (default 4). Then a burst:
// BENCH_BURST other deals (default 2,000) won at once, their webhooks POSTed in batches of 100 (as
// HubSpot sends them), 8 in flight: deals per second from the first POST until every one has its
// line. PostgreSQL + Redis when DATABASE_URL / REDIS_URL are set, else PGlite and the in-process queue.
import { lockOrCreateDeal, setAttributions } from '../src/deals/deal.repository.ts';
import { type HubspotWorld, openHubspotWorld } from '../test/crm/hubspot/hubspot-world.ts';
import { makeRevenueShareProgram } from '../test/factories/program.factory.ts';
import { watchCommissionLines } from './commission-line-watch.ts';
import { type BenchContext, benchSecrets, median, percentile, round, sleep } from './lib.ts';

const DEALS = Number(process.env.BENCH_DEALS ?? 200);
const BURST = Number(process.env.BENCH_BURST ?? 2_000);
const BURST_BATCH = 100;
const BURST_IN_FLIGHT = 8;
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 4);
const POLL_MS = 2;

export async function hubspotTimeToLedger(ctx: BenchContext): Promise<void> {
  const world = await openHubspotWorld({ env: { LOG_LEVEL: 'warn', ...benchSecrets() } });
  try {
    const portalId = 71_000_000 + Math.floor(Math.random() * 1_000_000);
    const installed = await world.install(portalId);
    if (installed.status !== 200 || !installed.tenantId)
      throw new Error(`install answered ${installed.status}`);
    const { deals: dealIds } = await setUp(world, installed.tenantId, portalId, DEALS);
    const burst = await setUp(world, installed.tenantId, portalId, BURST);
    await world.runtime.queue.startWorkers(world.runtime.registry.queues());
    world.runtime.relay.start();
    const database = world.runtime.config.databaseUrl ? 'postgres' : 'pglite';
    const queue = world.runtime.config.redisUrl ? 'redis' : 'in-process';
    ctx.log(`${database} + ${queue}: ${DEALS} closed-won webhooks, ${CONCURRENCY} in flight`);

    const watch = watchCommissionLines(world.runtime.db, installed.tenantId, POLL_MS);

    const latencies: number[] = [];
    const acks: number[] = [];
    let next = 0;
    const worker = async () => {
      while (next < dealIds.length) {
        const { dealId, crmDealId } = dealIds[next++]!;
        const event = world.webhooks.propertyChange(portalId, crmDealId, 'dealstage', 'closedwon');
        const started = performance.now();
        const ledgered = watch.expect(dealId, `deal ${crmDealId}`);
        const delivery = await world.webhooks.post([event]);
        if (delivery.status !== 200) throw new Error(`webhook refused: ${delivery.status} ${delivery.body}`);
        acks.push(delivery.ms);
        latencies.push((await ledgered) - started);
      }
    };
    const started = performance.now();
    try {
      await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    } finally {
      await watch.stop();
    }
    const seconds = (performance.now() - started) / 1000;
    ctx.log(
      `time to ledger p50 ${round(median(latencies), 1)} ms, p99 ${round(percentile(latencies, 0.99), 1)} ms ` +
        `(webhook acknowledged p50 ${round(median(acks), 1)} ms)`,
    );
    const burstSeconds = await runBurst(world, installed.tenantId, portalId, burst);
    ctx.log(`burst: ${BURST} deals won at once, all in the ledger in ${round(burstSeconds, 2)} s`);
    ctx.report({
      bench: 'hubspot-time-to-ledger',
      database,
      queue,
      deals: latencies.length,
      concurrency: CONCURRENCY,
      pollMs: POLL_MS,
      p50Ms: round(median(latencies), 1),
      p99Ms: round(percentile(latencies, 0.99), 1),
      maxMs: round(Math.max(...latencies), 1),
      ackP50Ms: round(median(acks), 1),
      ackP99Ms: round(percentile(acks, 0.99), 1),
      dealsPerSecond: round(latencies.length / seconds, 1),
      burstDeals: BURST,
      burstSeconds: round(burstSeconds, 2),
      burstDealsPerSecond: round(BURST / burstSeconds, 1),
    });
  } finally {
    await world.close();
  }
}

/**
 * Every deal of the burst won at once: their webhooks POSTed in batches of BURST_BATCH, BURST_IN_FLIGHT
 * at a time; seconds from the first POST until each deal of the program has a commission line.
 */
async function runBurst(
  world: HubspotWorld,
  tenantId: string,
  portalId: number,
  burst: { programId: string; deals: { crmDealId: string }[] },
): Promise<number> {
  const events = burst.deals.map(({ crmDealId }) =>
    world.webhooks.propertyChange(portalId, crmDealId, 'dealstage', 'closedwon'),
  );
  const started = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: BURST_IN_FLIGHT }, async () => {
      while (next < events.length) {
        const batch = events.slice(next, next + BURST_BATCH);
        next += BURST_BATCH;
        const delivery = await world.webhooks.post(batch);
        if (delivery.status !== 200) throw new Error(`webhook refused: ${delivery.status} ${delivery.body}`);
      }
    }),
  );
  const deadline = Date.now() + 600_000;
  for (;;) {
    const { n } = await world.runtime.db
      .selectFrom('commission_lines')
      .select((eb) => eb.fn.count<string>('deal_id').distinct().as('n'))
      .where('tenant_id', '=', tenantId)
      .where('program_id', '=', burst.programId)
      .executeTakeFirstOrThrow();
    if (Number(n) >= burst.deals.length) return (performance.now() - started) / 1000;
    if (Date.now() > deadline)
      throw new Error(`burst: ${n} of ${burst.deals.length} deals in the ledger after 600 s`);
    await sleep(20);
  }
}

/**
 * A program with a 10% revenue share, a partner, and `count` deals in HubSpot mirrored here at an
 * open stage, each credited to the partner (as an approved registration leaves them).
 */
async function setUp(world: HubspotWorld, tenantId: string, portalId: number, count: number) {
  const db = world.runtime.db;
  const { program, partner } = await makeRevenueShareProgram(db, tenantId, { partnerName: 'Bench Partner' });
  const out: { dealId: string; crmDealId: string }[] = [];
  await db.transaction().execute(async (tx) => {
    for (let i = 0; i < count; i++) {
      const hubspotDeal = world.hubspot.state.seed(portalId, 'deals', {
        dealname: `Deal ${i}`,
        pipeline: 'default',
        dealstage: 'contractsent',
        amount: `${1000 + i}`,
        deal_currency_code: 'USD',
      });
      const deal = (await lockOrCreateDeal(tx, tenantId, 'hubspot', hubspotDeal.id))!;
      await tx
        .updateTable('deals')
        .set({
          program_id: program.id,
          name: `Deal ${i}`,
          pipeline: 'default',
          stage: 'contractsent',
          stage_category: 'open',
          amount: BigInt(1000 + i) * 100n,
          currency: 'USD',
        })
        .where('id', '=', deal.id)
        .execute();
      await setAttributions(tx, deal, [{ partnerId: partner.id }]);
      out.push({ dealId: deal.id, crmDealId: hubspotDeal.id });
    }
  });
  return { programId: program.id, deals: out };
}
