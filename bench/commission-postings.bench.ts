import { randomInt } from 'node:crypto';
import { sql } from 'kysely';
import { systemClock } from '../src/clock.ts';
import { addRuleVersion, createPlan } from '../src/commissions/commission-plan.repository.ts';
import { recordDealEvent } from '../src/deals/deal-events.ts';
import { verifyLedger } from '../src/ledger/ledger-verify.ts';
import { withLedgerRetry } from '../src/ledger/post-transaction.ts';
import type { Services } from '../src/services.ts';
import { createLedgerBenchDatabase, type LedgerBenchDatabase, postgresUrl } from './ledger-fixture.ts';
import { type BenchContext, median, round, settleAfterBulkLoad } from './lib.ts';

const RUNS = 3;
const WORKERS = 8;
const POSTINGS_PER_RUN = 4_000;
/** 1,002 partners in 334 chains lead → agency → seller; deals are credited to sellers. */
const PARTNERS = 1_002;
const GOAL_POSTINGS_PER_SEC = 3_000;

/**
 * Commission postings per second through the whole engine, with 8 concurrent workers on PostgreSQL:
 * one posting is one `deal.stage_changed` → won event recorded by recordDealEvent (dedupe, field
 * times, version), settled by the delta engine against the plan (a 10 % revenue share and a 10 % /
 * 5 % override over two levels) and posted as ONE ledger transaction of three commission lines,
 * with the domain events in the outbox. The deals exist beforehand (created and attributed, as a
 * registration link does), so the figure is the won event's cost.
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
    await createDeals(bench, 'warmup', sellers.length, (n) => sellers[n % sellers.length]!);
    await run(bench, services, 'warmup', sellers.length);
    const samples: number[] = [];
    let retries = 0;
    for (let r = 1; r <= RUNS; r++) {
      await createDeals(bench, `run${r}`, POSTINGS_PER_RUN, () => sellers[randomInt(sellers.length)]!);
      const result = await run(bench, services, `run${r}`, POSTINGS_PER_RUN);
      samples.push(result.perSec);
      retries += result.retries;
      ctx.log(
        `run ${r}/${RUNS}: ${POSTINGS_PER_RUN} won deals in ${round(result.ms)} ms = ${round(result.perSec)}/s (${result.retries} retries)`,
      );
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
      medianPostingsPerSec: round(median(samples)),
      samplesPostingsPerSec: samples.map((s) => round(s)),
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

async function run(bench: LedgerBenchDatabase, services: Services, label: string, postings: number) {
  let next = 0;
  let retries = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: WORKERS }, async () => {
      for (let n = next++; n < postings; n = next++) {
        const amount = BigInt(10_000 + randomInt(10_000_000));
        await withLedgerRetry(
          bench.db,
          (tx) =>
            recordDealEvent(tx, services, {
              tenantId: bench.tenantId,
              source: 'api',
              sourceEventId: `${label}-${n}-won`,
              crmDealId: `${label}-${n}`,
              occurredAt: new Date('2026-03-01T10:00:00Z'),
              type: 'deal.stage_changed',
              changes: { stage: { id: 'closedwon', category: 'won' }, amount: { amount, currency: 'USD' } },
            }),
          { attempts: 10, onRetry: () => void retries++ },
        );
      }
    }),
  );
  const ms = performance.now() - started;
  return { ms, perSec: (postings / ms) * 1000, retries };
}
