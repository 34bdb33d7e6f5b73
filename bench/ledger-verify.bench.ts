import { sql } from 'kysely';
import type { Db } from '../src/db/database.ts';
import { verifyLedger } from '../src/ledger/ledger-verify.ts';
import { createLedgerBenchDatabase, postgresUrl } from './ledger-fixture.ts';
import { type BenchContext, median, round } from './lib.ts';

const RUNS = 3;
const GOAL_MS = 10_000;
const TRANSACTIONS = 500_000;
/** Every REVERSE_EVERY-th transaction reverses the one before it. */
const REVERSE_EVERY = 100;
const PARTNERS = 10_000;
const SHARDS = 16;

/**
 * Time of `ledger verify` over 1,000,000 entries on PostgreSQL: 500,000 two-line transactions over
 * 10,000 partner accounts and a program's 16 expense shards, 1% of them reversals. The data is
 * loaded with set-based INSERT … SELECT (balances, versions and chains computed by window
 * functions), so it is exactly what postTransaction would have written, and verify must pass.
 */
export async function ledgerVerify(ctx: BenchContext): Promise<void> {
  const url = postgresUrl();
  if (!url) {
    ctx.log('DATABASE_URL not set: skipping');
    ctx.report({
      bench: 'ledger-verify',
      skipped: 'DATABASE_URL is not set; this benchmark measures PostgreSQL',
    });
    return;
  }
  const bench = await createLedgerBenchDatabase(url, { partners: PARTNERS, poolMax: 2 });
  try {
    const loadStarted = performance.now();
    await load(bench.db, bench.tenantId, bench.programId, ctx);
    const loadMs = performance.now() - loadStarted;
    ctx.log(`loaded in ${round(loadMs / 1000, 1)} s`);

    const samples: number[] = [];
    let entries = 0;
    for (let run = 1; run <= RUNS; run++) {
      const started = performance.now();
      const report = await verifyLedger(bench.db);
      const ms = performance.now() - started;
      if (!report.ok) {
        const failed = report.checks
          .filter((c) => c.violations > 0)
          .map((c) => `${c.name} (${c.violations})`);
        throw new Error(`verify found violations in generated data: ${failed.join(', ')}`);
      }
      entries = report.counts.entries;
      samples.push(ms);
      ctx.log(
        `run ${run}/${RUNS}: verified ${report.counts.entries} entries in ${round(ms)} ms (aggregates ${report.aggregatesMs}, ${report.checks.map((c) => `${c.name} ${c.ms}`).join(', ')})`,
      );
    }
    ctx.report({
      bench: 'ledger-verify',
      db: 'postgres',
      entries,
      transactions: TRANSACTIONS,
      accounts: PARTNERS + SHARDS,
      runs: RUNS,
      medianMs: round(median(samples)),
      samplesMs: samples.map((s) => round(s)),
      goalMs: GOAL_MS,
      loadMs: round(loadMs),
    });
  } finally {
    await bench.drop().catch((error) => ctx.log(`dropping the database failed: ${String(error)}`));
  }
}

async function load(db: Db, tenantId: string, programId: string, ctx: BenchContext): Promise<void> {
  await db.transaction().execute(async (tx) => {
    // The data is consistent by construction: skip the foreign-key triggers when allowed (superuser),
    // which would otherwise dominate the load time. The append-only trigger only fires on change.
    await sql`savepoint role`.execute(tx);
    try {
      await sql`set local session_replication_role = replica`.execute(tx);
    } catch {
      await sql`rollback to savepoint role`.execute(tx);
      ctx.log('not allowed to skip foreign-key checks: loading with them (slower)');
    }
    await sql`set local work_mem = '256MB'`.execute(tx);

    await sql`
      insert into ledger_accounts (tenant_id, kind, partner_id, program_id, currency, shard, account_key)
      select ${tenantId}::uuid, 'partner_pending', p.id, null, 'USD', 0, 'partner_pending:' || p.id || ':-:USD:0'
      from partners p where p.tenant_id = ${tenantId}::uuid`.execute(tx);
    await sql`
      insert into ledger_accounts (tenant_id, kind, partner_id, program_id, currency, shard, account_key)
      select ${tenantId}::uuid, 'program_expense', null, ${programId}::uuid, 'USD', s,
        'program_expense:-:' || ${programId}::text || ':USD:' || s
      from generate_series(0, ${SHARDS - 1}) s`.execute(tx);

    // One row per transaction: which partner account and shard, how much, and what it reverses.
    await sql`
      create temporary table bench_tx on commit drop as
      with numbered as (
        select ((s - 1)::bigint * 7919) % ${PARTNERS} as p, (s - 1) % ${SHARDS} as shard, s,
          (s % 997) + 1 as amount, s % ${REVERSE_EVERY} = 0 as is_reversal
        from generate_series(1, ${TRANSACTIONS}) s
      ),
      partner_accounts as (
        select id, row_number() over (order by id) - 1 as n from ledger_accounts
        where tenant_id = ${tenantId}::uuid and kind = 'partner_pending'
      ),
      shards as (
        select id, shard from ledger_accounts where tenant_id = ${tenantId}::uuid and kind = 'program_expense'
      )
      select n.s, md5('bench-tx-' || n.s)::uuid as id,
        case when n.is_reversal then md5('bench-tx-' || (n.s - 1))::uuid end as corrects,
        pa.id as partner_account, sh.id as shard_account,
        case when n.is_reversal then -prev.amount else n.amount end as amount
      from numbered n
      -- A reversal takes back the previous transaction's lines, on its accounts.
      left join numbered prev on n.is_reversal and prev.s = n.s - 1
      join partner_accounts pa on pa.n = case when n.is_reversal then prev.p else n.p end
      join shards sh on sh.shard = case when n.is_reversal then prev.shard else n.shard end`.execute(tx);

    await sql`
      insert into ledger_transactions (id, tenant_id, idempotency_key, content_hash, kind, corrects_transaction_id, cause, occurred_at)
      select id, ${tenantId}::uuid, 'bench:' || s, md5(s::text), case when corrects is null then 'accrual' else 'reversal' end,
        corrects, jsonb_build_object('seq', s), timestamptz '2026-01-01' + s * interval '1 second'
      from bench_tx order by s`.execute(tx);

    await sql`
      insert into ledger_entries (tenant_id, transaction_id, account_id, amount, currency, balance_after, account_version)
      select ${tenantId}::uuid, l.tx_id, l.account_id, l.amount, 'USD',
        sum(l.amount) over w, row_number() over w
      from (
        select s, 1 as line, id as tx_id, shard_account as account_id, -amount as amount from bench_tx
        union all
        select s, 2 as line, id as tx_id, partner_account as account_id, amount from bench_tx
      ) l
      window w as (partition by l.account_id order by l.s, l.line rows between unbounded preceding and current row)
      order by l.s, l.line`.execute(tx);

    await sql`
      update ledger_accounts a set balance = t.balance, version = t.version
      from (select account_id, sum(amount) as balance, count(*) as version from ledger_entries group by account_id) t
      where a.id = t.account_id`.execute(tx);
  });
  // Fresh statistics, as autovacuum would have gathered on a ledger that grew to this size.
  await sql`analyze ledger_accounts`.execute(db);
  await sql`analyze ledger_transactions`.execute(db);
  await sql`analyze ledger_entries`.execute(db);
}
