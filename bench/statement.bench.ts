import { sql } from 'kysely';
import type { Db } from '../src/db/database.ts';
import { buildStatement } from '../src/statements/statement.ts';
import { createLedgerBenchDatabase, postgresUrl } from './ledger-fixture.ts';
import { type BenchContext, median, round, settleAfterBulkLoad } from './lib.ts';

const RUNS = 7;
const GOAL_MS = 100;
const LINES = 10_000;
/** Other partners' lines in the same table, so the query has to find the partner's among them. */
const OTHER_PARTNERS = 49;
const OTHER_LINES_EACH = 2_000;
const DEALS = 2_000;

/**
 * A partner's statement on PostgreSQL: the partner has 10,000 commission lines over 2026 (a third
 * paid through payouts, a third approved, a third pending; each with its deal and deal event), among
 * ~100,000 lines of other partners. Measures buildStatement (balances per state, then every line
 * with its deal, deal event and payout): for the whole year (all 10,000 lines listed) and for one
 * month. The rows are loaded set-based; the lines reference one ledger transaction, since the
 * statement reads the lines, not the entries.
 */
export async function statement(ctx: BenchContext): Promise<void> {
  const url = postgresUrl();
  if (!url) {
    ctx.log('DATABASE_URL not set: skipping');
    ctx.report({
      bench: 'statement',
      skipped: 'DATABASE_URL is not set; this benchmark measures PostgreSQL',
    });
    return;
  }
  // The API role's pool size (openDatabase's default): buildStatement reads on several connections at once.
  const bench = await createLedgerBenchDatabase(url, { partners: OTHER_PARTNERS + 1, poolMax: 10 });
  try {
    const partnerId = bench.partnerIds[0]!;
    const loadStarted = performance.now();
    await load(bench.db, bench.tenantId, bench.programId, bench.partnerIds);
    const loadMs = performance.now() - loadStarted;
    ctx.log(`loaded in ${round(loadMs / 1000, 1)} s`);

    const measure = async (label: string, from: Date, to: Date) => {
      const samples: number[] = [];
      let lines = 0;
      // One warm-up run (plans and caches), then the measured runs.
      for (let run = 0; run <= RUNS; run++) {
        const started = performance.now();
        const result = await buildStatement(bench.db, { tenantId: bench.tenantId, partnerId, from, to });
        const ms = performance.now() - started;
        lines = result.lines.length;
        if (run > 0) samples.push(ms);
      }
      ctx.log(`${label}: ${lines} lines, median ${round(median(samples), 1)} ms`);
      return { lines, medianMs: round(median(samples), 1), samplesMs: samples.map((s) => round(s, 1)) };
    };
    const year = await measure('year', new Date('2026-01-01T00:00:00Z'), new Date('2027-01-01T00:00:00Z'));
    const month = await measure('month', new Date('2026-06-01T00:00:00Z'), new Date('2026-07-01T00:00:00Z'));
    ctx.report({
      bench: 'statement',
      db: 'postgres',
      partnerLines: LINES,
      tableLines: LINES + OTHER_PARTNERS * OTHER_LINES_EACH,
      runs: RUNS,
      yearMedianMs: year.medianMs,
      yearLines: year.lines,
      yearSamplesMs: year.samplesMs,
      monthMedianMs: month.medianMs,
      monthLines: month.lines,
      goalMs: GOAL_MS,
      loadMs: round(loadMs),
    });
  } finally {
    await bench.drop().catch((error) => ctx.log(`dropping the database failed: ${String(error)}`));
  }
}

async function load(db: Db, tenantId: string, programId: string, partnerIds: string[]): Promise<void> {
  const [partnerId, ...others] = partnerIds as [string, ...string[]];
  await db.transaction().execute(async (tx) => {
    const transaction = await tx
      .insertInto('ledger_transactions')
      .values({
        tenant_id: tenantId,
        idempotency_key: 'bench:statement',
        content_hash: 'bench',
        kind: 'accrual',
        corrects_transaction_id: null,
        cause: '{}',
        occurred_at: new Date('2026-01-01T00:00:00Z'),
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    await sql`
      insert into deals (tenant_id, source, crm_deal_id, program_id, name, amount, currency, stage_category)
      select ${tenantId}::uuid, 'api', 'BENCH-' || n, ${programId}::uuid, 'Deal ' || n, 100000 + n, 'USD', 'won'
      from generate_series(1, ${DEALS}) n`.execute(tx);
    await sql`
      insert into deal_events (tenant_id, deal_id, source, source_event_id, type, occurred_at, payload, outcome)
      select d.tenant_id, d.id, 'api', 'evt-' || d.crm_deal_id, 'deal.stage_changed', timestamptz '2026-01-01', '{}', 'applied'
      from deals d where d.tenant_id = ${tenantId}::uuid`.execute(tx);
    const batch = await tx
      .insertInto('payout_batches')
      .values({
        tenant_id: tenantId,
        program_id: programId,
        currency: 'USD',
        status: 'paid',
        created_by: 'bench',
        approved_by: 'bench',
        approved_at: new Date('2026-01-01T00:00:00Z'),
        exported_at: null,
        settled_at: null,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    const payouts = await sql<{ id: string }>`
      insert into payouts (tenant_id, batch_id, partner_id, program_id, currency, amount, line_count, minimum_payout,
        status, reference, ledger_transaction_id, settled_at)
      select ${tenantId}::uuid, ${batch.id}::uuid, ${partnerId}::uuid, ${programId}::uuid, 'USD', 1, 1, 0, 'paid',
        'WIRE-' || m, ${transaction.id}::uuid, timestamptz '2026-01-01' + m * interval '1 month'
      from generate_series(1, 12) m
      returning id`.execute(tx);
    const payoutIds = payouts.rows.map((r) => r.id);

    const lines = (owner: string, count: number, withPayouts: boolean) => sql`
      with events as (select id, deal_id, row_number() over (order by id) as n from deal_events
        where tenant_id = ${tenantId}::uuid)
      insert into commission_lines (tenant_id, program_id, partner_id, deal_id, deal_event_id, rule_id, rule_version,
        kind, cause_key, amount, currency, basis_amount, basis_currency, rate, fx_rate, ledger_transaction_id, status,
        accrued_at, hold_until, approved_at, approved_by, payout_id, paid_at)
      select ${tenantId}::uuid, ${programId}::uuid, ${owner}::uuid, e.deal_id, e.id, md5('rule')::uuid, 1,
        'commission', 'bench:' || ${owner}::text || ':' || s, 1000 + s % 977, 'USD', 10000 + s, 'USD', '0.1', '1',
        ${transaction.id}::uuid,
        case s % 3 when 0 then ${withPayouts ? sql`'paid'` : sql`'approved'`} when 1 then 'approved' else 'pending' end,
        at, at + interval '30 days',
        case when s % 3 < 2 then at + interval '31 days' end,
        case when s % 3 < 2 then 'bench' end,
        ${withPayouts ? sql`case when s % 3 = 0 then (${sql.val(payoutIds)}::uuid[])[1 + s % 12] end` : sql`null`},
        ${withPayouts ? sql`case when s % 3 = 0 then at + interval '40 days' end` : sql`null`}
      from (select s, timestamptz '2026-01-01' + (s * (365 * 86400 / ${count}::float8)) * interval '1 second' as at
        from generate_series(1, ${count}) s) g
      join events e on e.n = 1 + s % ${DEALS}`;
    await lines(partnerId, LINES, true).execute(tx);
    for (const other of others) await lines(other, OTHER_LINES_EACH, false).execute(tx);
  });
  await settleAfterBulkLoad(db);
}
