import { randomInt } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { sql } from 'kysely';
import { systemClock } from '../src/clock.ts';
import { addRuleVersion, createPlan } from '../src/commissions/commission-plan.repository.ts';
import type { NormalizedDealEvent } from '../src/deals/deal-event.ts';
import { recordDealEvent } from '../src/deals/deal-events.ts';
import { recordDealEvents } from '../src/deals/record-deal-events.ts';
import { verifyLedger } from '../src/ledger/ledger-verify.ts';
import { withLedgerRetry } from '../src/ledger/post-transaction.ts';
import type { Services } from '../src/services.ts';
import { createLedgerBenchDatabase, type LedgerBenchDatabase, postgresUrl } from './ledger-fixture.ts';
import { type BenchContext, median, round, settleAfterBulkLoad } from './lib.ts';

const RUNS = 3;
const WORKERS = Number(process.env.BENCH_WORKERS ?? 8);
const POSTINGS_PER_RUN = Number(process.env.BENCH_POSTINGS ?? 4_000);
/** 1,002 partners in 334 chains lead → agency → seller; deals are credited to sellers. */
const PARTNERS = 1_002;
const GOAL_POSTINGS_PER_SEC = 3_000;
/** Events a worker records in one transaction: one (as a single webhook or API call), or a batch. */
const BATCH_SIZES = (process.env.BENCH_BATCH ?? '1,100').split(',').map(Number);

/**
 * Commission postings per second through the whole engine, with 8 concurrent workers on PostgreSQL:
 * one posting is one `deal.stage_changed` → won event recorded by recordDealEvent (dedupe, field
 * times, version), settled by the delta engine against the plan (a 10 % revenue share and a 10 % /
 * 5 % override over two levels) and posted as ONE ledger transaction of three commission lines,
 * with the domain events in the outbox. The deals exist beforehand (created and attributed, as a
 * registration link does), so the figure is the won event's cost.
 *
 * Each run is measured twice on fresh deals: each worker recording one event per transaction
 * (recordDealEvent, as a single API call or webhook event does), and each worker recording batches
 * of 100 events per transaction (recordDealEvents, as `POST /api/v1/deal-events/batch` and a CRM
 * reconcile page do), which posts the same ledger transactions and lines with a fixed number of
 * statements per batch (BENCH_BATCH=1,100 chooses the sizes). What a posting costs is reported too:
 * this process's CPU time, and the whole machine's busy time (/proc/stat), per posting.
 */
export async function commissionPostings(ctx: BenchContext): Promise<void> {
  const url = postgresUrl();
  if (!url) {
    ctx.log('DATABASE_URL not set: skipping');
    ctx.report({
      bench: 'commission-postings',
      skipped: 'DATABASE_URL is not set; this benchmark measures PostgreSQL',
    });
    return;
  }
  const bench = await createLedgerBenchDatabase(url, { partners: PARTNERS, poolMax: WORKERS });
  try {
    const sellers = await setUp(bench);
    const services = { clock: systemClock } as unknown as Services;
    const figures: Record<string, unknown>[] = [];
    let retries = 0;
    for (const batch of BATCH_SIZES) {
      await createDeals(bench, `warmup-${batch}`, sellers.length, (n) => sellers[n % sellers.length]!);
      await run(bench, services, `warmup-${batch}`, sellers.length, batch);
      const samples: number[] = [];
      const nodeMs: number[] = [];
      const machineMs: number[] = [];
      for (let r = 1; r <= RUNS; r++) {
        const label = `run${r}-${batch}`;
        await createDeals(bench, label, POSTINGS_PER_RUN, () => sellers[randomInt(sellers.length)]!);
        const result = await run(bench, services, label, POSTINGS_PER_RUN, batch);
        samples.push(result.perSec);
        nodeMs.push(result.nodeMsPerPosting);
        if (result.machineMsPerPosting !== null) machineMs.push(result.machineMsPerPosting);
        retries += result.retries;
        ctx.log(
          `${batch} event(s) a transaction, run ${r}/${RUNS}: ${POSTINGS_PER_RUN} won deals in ${round(result.ms)} ms = ${round(result.perSec)}/s (${result.retries} retries)`,
        );
      }
      figures.push({
        eventsPerTransaction: batch,
        medianPostingsPerSec: round(median(samples)),
        samplesPostingsPerSec: samples.map((s) => round(s)),
        medianNodeCpuMsPerPosting: round(median(nodeMs), 3),
        medianMachineBusyMsPerPosting: machineMs.length > 0 ? round(median(machineMs), 3) : null,
      });
    }
    const report = await verifyLedger(bench.db, { tenantId: bench.tenantId });
    if (!report.ok) throw new Error('ledger verify failed after the runs');
    const lines = await bench.db
      .selectFrom('commission_lines')
      .select((eb) => eb.fn.countAll<string>().as('n'))
      .executeTakeFirstOrThrow();
    ctx.report({
      bench: 'commission-postings',
      db: 'postgres',
      workers: WORKERS,
      postingsPerRun: POSTINGS_PER_RUN,
      linesPerPosting: 3,
      partners: PARTNERS,
      runs: RUNS,
      figures,
      retries,
      goalPostingsPerSec: GOAL_POSTINGS_PER_SEC,
      commissionLines: Number(lines.n),
      verifiedEntries: report.counts.entries,
    });
  } finally {
    await bench.drop().catch((error) => ctx.log(`dropping the database failed: ${String(error)}`));
  }
}

async function setUp(bench: LedgerBenchDatabase): Promise<string[]> {
  const ids = bench.partnerIds;
  const sellers: string[] = [];
  for (let i = 0; i + 2 < ids.length; i += 3) {
    await bench.db
      .updateTable('partners')
      .set({ parent_id: ids[i]! })
      .where('id', '=', ids[i + 1]!)
      .execute();
    await bench.db
      .updateTable('partners')
      .set({ parent_id: ids[i + 1]! })
      .where('id', '=', ids[i + 2]!)
      .execute();
    sellers.push(ids[i + 2]!);
  }
  await bench.db.transaction().execute(async (tx) => {
    const plan = await createPlan(tx, {
      tenantId: bench.tenantId,
      programId: bench.programId,
      name: 'bench',
    });
    const base = {
      tenantId: bench.tenantId,
      planId: plan.id,
      effectiveFrom: new Date('2020-01-01T00:00:00Z'),
    };
    await addRuleVersion(tx, { ...base, ruleKey: 'share', type: 'revenue_share', config: { rate: '0.1' } });
    await addRuleVersion(tx, {
      ...base,
      ruleKey: 'ovr',
      type: 'override',
      config: { basis: 'commission', levels: ['0.1', '0.05'] },
      position: 1,
    });
  });
  return sellers;
}

/** Deals in the program credited to a seller, in bulk (not timed). */
async function createDeals(
  bench: LedgerBenchDatabase,
  label: string,
  count: number,
  seller: (n: number) => string,
) {
  const rows = Array.from({ length: count }, (_, n) => ({ crm: `${label}-${n}`, partner: seller(n) }));
  for (let i = 0; i < rows.length; i += 1_000) {
    const chunk = rows.slice(i, i + 1_000);
    await sql`
      with d as (
        insert into deals (tenant_id, source, crm_deal_id, program_id)
        select ${bench.tenantId}::uuid, 'api', crm, ${bench.programId}::uuid
        from unnest(${chunk.map((r) => r.crm)}::text[]) as crm
        returning id, crm_deal_id
      )
      insert into deal_attributions (tenant_id, deal_id, partner_id)
      select ${bench.tenantId}::uuid, d.id, p.partner
      from d join unnest(${chunk.map((r) => r.crm)}::text[], ${chunk.map((r) => r.partner)}::uuid[]) as p(crm, partner)
        on p.crm = d.crm_deal_id`.execute(bench.db);
  }
  // A bulk load is not what the product does (deals arrive one by one and autovacuum keeps their
  // statistics): without it, the sessions keep foreign-key check plans made when the table was small.
  await settleAfterBulkLoad(bench.db);
}

async function run(
  bench: LedgerBenchDatabase,
  services: Services,
  label: string,
  postings: number,
  batch: number,
) {
  const wonEvent = (n: number): NormalizedDealEvent => ({
    tenantId: bench.tenantId,
    source: 'api',
    sourceEventId: `${label}-${n}-won`,
    crmDealId: `${label}-${n}`,
    occurredAt: new Date('2026-03-01T10:00:00Z'),
    type: 'deal.stage_changed',
    changes: {
      stage: { id: 'closedwon', category: 'won' },
      amount: { amount: BigInt(10_000 + randomInt(10_000_000)), currency: 'USD' },
    },
  });
  let next = 0;
  let retries = 0;
  const started = performance.now();
  const cpu = process.cpuUsage();
  const busy = machineBusyMs();
  await Promise.all(
    Array.from({ length: WORKERS }, async () => {
      for (let n = next; n < postings; n = next) {
        next += batch;
        const events = Array.from({ length: Math.min(batch, postings - n) }, (_, i) => wonEvent(n + i));
        const options = { attempts: 10, onRetry: () => void retries++ };
        const outcomes =
          batch === 1
            ? [
                (await withLedgerRetry(bench.db, (tx) => recordDealEvent(tx, services, events[0]!), options))
                  .outcome,
              ]
            : (await withLedgerRetry(bench.db, (tx) => recordDealEvents(tx, services, events), options)).map(
                (r) => r.outcome,
              );
        if (outcomes.some((o) => o !== 'applied')) throw new Error(`not applied: ${outcomes.join(', ')}`);
      }
    }),
  );
  const ms = performance.now() - started;
  const used = process.cpuUsage(cpu);
  const busyMs = busy === null ? null : machineBusyMs()! - busy;
  return {
    ms,
    perSec: (postings / ms) * 1000,
    retries,
    nodeMsPerPosting: (used.user + used.system) / 1000 / postings,
    machineMsPerPosting: busyMs === null ? null : busyMs / postings,
  };
}

/** CPU time the whole machine has spent busy (not idle, not waiting for I/O), in ms; null off Linux. */
function machineBusyMs(): number | null {
  try {
    const ticks = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
    const idle = ticks[3]! + ticks[4]!;
    // USER_HZ is 100 on Linux: a tick is 10 ms.
    return (ticks.reduce((sum, t) => sum + t, 0) - idle) * 10;
  } catch {
    return null;
  }
}
