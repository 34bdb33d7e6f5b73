import { randomInt } from 'node:crypto';
import { verifyLedger } from '../src/ledger/ledger-verify.ts';
import { type PostLine, postTransaction, withLedgerRetry } from '../src/ledger/post-transaction.ts';
import { createLedgerBenchDatabase, type LedgerBenchDatabase, postgresUrl } from './ledger-fixture.ts';
import { type BenchContext, median, round } from './lib.ts';

type Layout = 'sharded' | 'hot-row';

const RUNS = 3;
const WORKERS = 8;
/** The hot-row layout is slow by design: fewer postings keep the benchmark within its time budget. */
const POSTINGS_PER_RUN: Record<Layout, number> = { sharded: 10_000, 'hot-row': 1_500 };
const PARTNERS = 1_000;
const GOAL_POSTINGS_PER_SEC = 3_000;

/**
 * Commission postings per second with 8 concurrent workers on PostgreSQL. One posting is one
 * ledger transaction for a won deal: a revenue share and two override legs, i.e. three pairs of
 * lines (program expense → partner pending) over three distinct partners out of 1,000: six lines.
 * Each posting is its own database transaction through withLedgerRetry, as a job handler does.
 *
 * Two layouts of the program's expense account, to show why it is sharded (account.repository.ts):
 * `sharded` (what postTransaction does) and `hot-row` (every posting forced onto shard 0, i.e. one
 * row that every posting locks until it commits).
 */
export async function ledgerPostings(ctx: BenchContext): Promise<void> {
  const url = postgresUrl();
  if (!url) {
    ctx.log('DATABASE_URL not set: skipping');
    ctx.report({
      bench: 'ledger-postings',
      skipped: 'DATABASE_URL is not set; this benchmark measures PostgreSQL',
    });
    return;
  }
  for (const layout of ['sharded', 'hot-row'] as Layout[]) {
    const bench = await createLedgerBenchDatabase(url, { partners: PARTNERS, poolMax: WORKERS });
    try {
      // Warm-up (not timed): every partner's account exists, as in a program that has been running.
      await run(bench, layout, 'warmup', PARTNERS, (n) => [
        bench.partnerIds[n % PARTNERS]!,
        bench.partnerIds[(n + 1) % PARTNERS]!,
        bench.partnerIds[(n + 2) % PARTNERS]!,
      ]);
      const samples: number[] = [];
      let retries = 0;
      for (let r = 1; r <= RUNS; r++) {
        const result = await run(bench, layout, `run${r}`, POSTINGS_PER_RUN[layout], () =>
          threePartners(bench.partnerIds),
        );
        samples.push(result.perSec);
        retries += result.retries;
        ctx.log(
          `${layout} run ${r}/${RUNS}: ${POSTINGS_PER_RUN[layout]} postings in ${round(result.ms)} ms = ${round(result.perSec)}/s (${result.retries} retries)`,
        );
      }
      const report = await verifyLedger(bench.db, { tenantId: bench.tenantId });
      if (!report.ok) throw new Error(`ledger verify failed after the ${layout} runs`);
      ctx.report({
        bench: 'ledger-postings',
        db: 'postgres',
        layout,
        workers: WORKERS,
        postingsPerRun: POSTINGS_PER_RUN[layout],
        linesPerPosting: 6,
        partners: PARTNERS,
        runs: RUNS,
        medianPostingsPerSec: round(median(samples)),
        samplesPostingsPerSec: samples.map((s) => round(s)),
        retries,
        ...(layout === 'sharded' ? { goalPostingsPerSec: GOAL_POSTINGS_PER_SEC } : {}),
        verifiedEntries: report.counts.entries,
      });
    } finally {
      await bench.drop().catch((error) => ctx.log(`dropping the database failed: ${String(error)}`));
    }
  }
}

function threePartners(partnerIds: string[]): [string, string, string] {
  const a = randomInt(partnerIds.length);
  let b = randomInt(partnerIds.length);
  while (b === a) b = randomInt(partnerIds.length);
  let c = randomInt(partnerIds.length);
  while (c === a || c === b) c = randomInt(partnerIds.length);
  return [partnerIds[a]!, partnerIds[b]!, partnerIds[c]!];
}

async function run(
  bench: LedgerBenchDatabase,
  layout: Layout,
  label: string,
  postings: number,
  pick: (n: number) => [string, string, string],
): Promise<{ ms: number; perSec: number; retries: number }> {
  let next = 0;
  let retries = 0;
  const occurredAt = new Date('2026-03-01T10:00:00Z');
  const started = performance.now();
  await Promise.all(
    Array.from({ length: WORKERS }, async () => {
      for (let n = next++; n < postings; n = next++) {
        const [seller, agency, lead] = pick(n);
        const share = BigInt(1_000 + randomInt(100_000));
        const legs: [string, bigint][] = [
          [seller, share],
          [agency, share / 10n],
          [lead, share / 20n],
        ];
        const lines = legs.flatMap(([partnerId, amount]): PostLine[] => [
          {
            account: {
              kind: 'program_expense',
              programId: bench.programId,
              currency: 'USD',
              ...(layout === 'hot-row' ? { shard: 0 } : {}),
            },
            amount: -amount,
          },
          { account: { kind: 'partner_pending', partnerId, currency: 'USD' }, amount },
        ]);
        const key = `deal:${label}-${n}:v1:rule:r1`;
        await withLedgerRetry(
          bench.db,
          (tx) =>
            postTransaction(tx, {
              tenantId: bench.tenantId,
              idempotencyKey: key,
              kind: 'accrual',
              cause: { deal: `${label}-${n}`, rule: 'r1', partners: [seller, agency, lead] },
              occurredAt,
              lines,
            }),
          {
            attempts: 10,
            onRetry: () => {
              retries++;
            },
          },
        );
      }
    }),
  );
  const ms = performance.now() - started;
  return { ms, perSec: (postings / ms) * 1000, retries };
}
