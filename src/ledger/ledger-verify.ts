import { type RawBuilder, sql } from 'kysely';
import type { Db, Tx } from '../db/database.ts';

/** One invariant: how many rows break it and the first few of them, with their ids. */
export interface VerifyCheck {
  name: string;
  description: string;
  violations: number;
  samples: Record<string, unknown>[];
  ms: number;
}

export interface VerifyReport {
  ok: boolean;
  tenantId: string | null;
  counts: { accounts: number; transactions: number; entries: number };
  checks: VerifyCheck[];
  /** Time spent building the aggregates the checks share, before the first check. */
  aggregatesMs: number;
  ms: number;
}

const SAMPLES = 20;

type Filter = (alias: string) => RawBuilder<unknown>;

interface CheckDefinition {
  name: string;
  description: string;
  /** Selects one row per violation; `tenant(alias)` restricts a table alias to the tenant asked for. */
  query: (tenant: Filter) => RawBuilder<Record<string, unknown>>;
}

/*
 * One pass over the entries per aggregate, kept in temporary tables that the checks share: per
 * transaction and currency, and per account and currency. Each check is then one set-based query,
 * over those aggregates where it can; only the chain check reads all the entries again. A million
 * entries take seconds, not a row-by-row walk.
 */
const AGGREGATES: ((tenant: Filter) => RawBuilder<unknown>)[] = [
  (t) => sql`
    create temporary table verify_transaction_sums on commit drop as
    select e.transaction_id, e.tenant_id, e.currency, sum(e.amount) as total, count(*) as n
    from ledger_entries e where true ${t('e')}
    group by e.transaction_id, e.tenant_id, e.currency`,
  // With (account_id, account_version) unique, versions run 1..n exactly when the smallest is 1
  // and the largest is the count.
  (t) => sql`
    create temporary table verify_account_sums on commit drop as
    select e.account_id, e.tenant_id, e.currency, sum(e.amount) as total, count(*) as n,
      min(e.account_version) as min_version, max(e.account_version) as max_version,
      count(*) filter (where e.amount = 0) as zero_amounts
    from ledger_entries e where true ${t('e')}
    group by e.account_id, e.tenant_id, e.currency`,
  // Transactions without entries, and entries whose transaction is missing (or in another tenant).
  (t) => sql`
    create temporary table verify_transaction_orphans on commit drop as
    select coalesce(x.id, s.transaction_id) as transaction_id, coalesce(x.tenant_id, s.tenant_id) as tenant_id,
      x.id is null as entries_without_transaction, x.idempotency_key
    from (select x.id, x.tenant_id, x.idempotency_key from ledger_transactions x where true ${t('x')}) x
    full join (select distinct transaction_id, tenant_id from verify_transaction_sums) s
      on s.transaction_id = x.id and s.tenant_id = x.tenant_id
    where x.id is null or s.transaction_id is null`,
];

// The invariants of reference §5 that the ledger core owns (1, 2, 3, 4's storage side, 7).
const CHECKS: CheckDefinition[] = [
  {
    name: 'transaction_balanced',
    description: "every transaction's entries sum to zero per currency",
    query: () => sql`
      select s.transaction_id, s.currency, s.total::text as sum
      from verify_transaction_sums s where s.total <> 0`,
  },
  {
    name: 'transaction_has_entries',
    description: 'every transaction has entries',
    query: () => sql`
      select o.transaction_id, o.idempotency_key
      from verify_transaction_orphans o where not o.entries_without_transaction`,
  },
  {
    name: 'account_balance_matches_entries',
    description: "every account's stored balance is the sum of its entries and its version their count",
    query: (t) => sql`
      select a.id as account_id, a.account_key, a.balance::text as stored_balance,
        coalesce(s.total, 0)::text as sum_of_entries, a.version::text as stored_version,
        coalesce(s.n, 0)::text as entry_count
      from ledger_accounts a
      left join (
        select account_id, sum(total) as total, sum(n) as n from verify_account_sums group by account_id
      ) s on s.account_id = a.id
      where (a.balance <> coalesce(s.total, 0) or a.version <> coalesce(s.n, 0)) ${t('a')}`,
  },
  {
    name: 'account_chain',
    description:
      "each account's entries chain: versions 1..n, balance_after = previous balance_after + amount",
    // Each entry against the one version before it: a hash self-join, which needs no sort of all
    // the entries (a window over them would) and runs in parallel.
    query: (t) => sql`
      select e.id::text as entry_id, e.account_id, e.account_version::text, e.balance_after::text,
        case when e.account_version > 1 and p.id is null then 'the previous version is missing'
          else 'expected balance_after ' || (coalesce(p.balance_after, 0) + e.amount)::text end as problem
      from ledger_entries e
      left join ledger_entries p on p.account_id = e.account_id and p.account_version = e.account_version - 1
      where ((e.account_version > 1 and p.id is null) or e.balance_after <> coalesce(p.balance_after, 0) + e.amount)
        ${t('e')}
      union all
      select null, s.account_id, null, null,
        'versions run from ' || min(s.min_version) || ' to ' || max(s.max_version) || ' over ' || sum(s.n) || ' entries'
      from verify_account_sums s
      group by s.account_id
      having min(s.min_version) <> 1 or max(s.max_version) <> sum(s.n)`,
  },
  {
    name: 'entry_matches_account_and_transaction',
    description:
      "each entry's account and transaction exist in its tenant, and its currency is its account's",
    // Found among the aggregates first, so the entries are read again only for the bad groups.
    query: (t) => sql`
      with bad_accounts as (
        select s.account_id, s.tenant_id, s.currency
        from verify_account_sums s
        left join ledger_accounts a on a.id = s.account_id and a.tenant_id = s.tenant_id
        where a.id is null or a.currency <> s.currency or s.zero_amounts > 0
      ),
      bad_entries as (
        select e.* from ledger_entries e
        join bad_accounts b on b.account_id = e.account_id and b.tenant_id = e.tenant_id and b.currency = e.currency
        where true ${t('e')}
        union
        select e.* from ledger_entries e
        join verify_transaction_orphans o
          on o.entries_without_transaction and o.transaction_id = e.transaction_id and o.tenant_id = e.tenant_id
        where true ${t('e')}
      )
      select e.id as entry_id, e.account_id, e.transaction_id, e.currency, a.currency as account_currency
      from bad_entries e
      left join ledger_accounts a on a.id = e.account_id and a.tenant_id = e.tenant_id
      order by e.id`,
  },
  {
    name: 'tenant_currency_sum_zero',
    description: 'per tenant and currency, all balances (and all entries) sum to zero',
    query: (t) => sql`
      select 'account balances' as source, a.tenant_id, a.currency, sum(a.balance)::text as sum
      from ledger_accounts a where true ${t('a')}
      group by a.tenant_id, a.currency having sum(a.balance) <> 0
      union all
      select 'entries' as source, s.tenant_id, s.currency, sum(s.total)::text as sum
      from verify_transaction_sums s
      group by s.tenant_id, s.currency having sum(s.total) <> 0`,
  },
  {
    name: 'reversal_references_original',
    description: 'each reversal names an existing transaction of its tenant that is not itself a reversal',
    query: (t) => sql`
      select r.id as reversal_id, r.corrects_transaction_id, o.kind as original_kind
      from ledger_transactions r
      left join ledger_transactions o on o.id = r.corrects_transaction_id and o.tenant_id = r.tenant_id
      where r.kind = 'reversal' and (o.id is null or o.kind = 'reversal') ${t('r')}`,
  },
  {
    name: 'reversal_negates_original',
    description: "each reversal's entries are exactly the negation of its original's (account by account)",
    query: (t) => sql`
      with reversal_lines as (
        select r.id as reversal_id, r.corrects_transaction_id as original_id, e.account_id,
          -e.amount as amount, count(*) as n
        from ledger_transactions r join ledger_entries e on e.transaction_id = r.id
        where r.kind = 'reversal' ${t('r')}
        group by r.id, r.corrects_transaction_id, e.account_id, e.amount
      ),
      original_lines as (
        select r.id as reversal_id, e.transaction_id as original_id, e.account_id, e.amount, count(*) as n
        from ledger_transactions r join ledger_entries e on e.transaction_id = r.corrects_transaction_id
        where r.kind = 'reversal' ${t('r')}
        group by r.id, e.transaction_id, e.account_id, e.amount
      )
      select distinct coalesce(rl.reversal_id, ol.reversal_id) as reversal_id,
        coalesce(rl.original_id, ol.original_id) as original_id
      from reversal_lines rl
      full join original_lines ol
        on ol.reversal_id = rl.reversal_id and ol.account_id = rl.account_id and ol.amount = rl.amount
      where rl.n is distinct from ol.n`,
  },
  {
    name: 'reversed_at_most_once',
    description: 'no transaction is reversed twice',
    query: (t) => sql`
      select r.corrects_transaction_id as transaction_id, count(*)::int as reversals,
        array_agg(r.id::text order by r.id) as reversal_ids
      from ledger_transactions r
      where r.kind = 'reversal' ${t('r')}
      group by r.corrects_transaction_id having count(*) > 1`,
  },
  // The money lifecycle (src/commissions, src/payouts): the partner accounts kept per program hold
  // exactly their commission lines, by state (reference §5, invariants 8 and 10).
  {
    name: 'partner_accounts_match_lines',
    description:
      "each partner's per-program pending balance is the sum of its pending, awaiting and cancelled lines, payable of its approved lines, paid of its paid lines",
    query: (t) => sql`
      with line_sums as (
        select l.tenant_id, l.partner_id, l.program_id, l.currency,
          case when l.status in ('pending', 'awaiting_approval', 'cancelled') then 'partner_pending'
            when l.status = 'approved' then 'partner_payable' else 'partner_paid' end as kind,
          sum(l.amount) as total
        from commission_lines l where true ${t('l')}
        group by 1, 2, 3, 4, 5
      ),
      accounts as (
        select a.tenant_id, a.partner_id, a.program_id, a.currency, a.kind, a.balance
        from ledger_accounts a
        where a.kind in ('partner_pending', 'partner_payable', 'partner_paid') and a.program_id is not null
          ${t('a')}
      )
      select coalesce(a.partner_id, s.partner_id) as partner_id, coalesce(a.program_id, s.program_id) as program_id,
        coalesce(a.currency, s.currency) as currency, coalesce(a.kind, s.kind) as account_kind,
        coalesce(a.balance, 0)::text as account_balance, coalesce(s.total, 0)::text as sum_of_lines
      from accounts a
      full join line_sums s on s.tenant_id = a.tenant_id and s.partner_id = a.partner_id
        and s.program_id = a.program_id and s.currency = a.currency and s.kind = a.kind
      where coalesce(a.balance, 0) <> coalesce(s.total, 0)`,
  },
  {
    name: 'payout_matches_lines',
    description:
      "each pending or paid payout's amount and line count are those of its lines (approved while pending, paid once paid); a failed payout holds no line",
    query: (t) => sql`
      with s as (
        select l.tenant_id, l.payout_id, sum(l.amount) as total, count(*) as n,
          count(*) filter (where l.status = 'approved') as approved, count(*) filter (where l.status = 'paid') as paid
        from commission_lines l where l.payout_id is not null ${t('l')}
        group by l.tenant_id, l.payout_id
      )
      select p.id as payout_id, p.status, p.amount::text as amount, coalesce(s.total, 0)::text as sum_of_lines,
        p.line_count, coalesce(s.n, 0)::int as lines
      from payouts p left join s on s.tenant_id = p.tenant_id and s.payout_id = p.id
      where ((p.status <> 'failed' and (p.amount <> coalesce(s.total, 0) or p.line_count <> coalesce(s.n, 0)))
          or (p.status = 'pending' and coalesce(s.approved, 0) <> coalesce(s.n, 0))
          or (p.status = 'paid' and coalesce(s.paid, 0) <> coalesce(s.n, 0))
          or (p.status = 'failed' and coalesce(s.n, 0) > 0))
        ${t('p')}`,
  },
  {
    name: 'paid_line_in_paid_payout',
    description: 'every paid commission line was paid by exactly one paid payout',
    query: (t) => sql`
      select l.id as line_id, l.payout_id, p.status as payout_status
      from commission_lines l
      left join payouts p on p.tenant_id = l.tenant_id and p.id = l.payout_id
      where l.status = 'paid' and (p.id is null or p.status <> 'paid') ${t('l')}`,
  },
];

/**
 * Recomputes every balance from the entries and checks the ledger's invariants, for one tenant or
 * all. Runs in one REPEATABLE READ transaction: every check sees the same snapshot, so postings
 * committed meanwhile cannot show up as violations. It writes only its temporary tables (which is
 * why the transaction is not READ ONLY); they are dropped at its end.
 */
export async function verifyLedger(db: Db, options: { tenantId?: string } = {}): Promise<VerifyReport> {
  const started = performance.now();
  const tenantId = options.tenantId ?? null;
  const tenant: Filter = (alias) =>
    tenantId ? sql`and ${sql.ref(`${alias}.tenant_id`)} = ${tenantId}::uuid` : sql``;
  return db
    .transaction()
    .setIsolationLevel('repeatable read')
    .execute(async (tx) => {
      // Big aggregates and window sorts fit in memory instead of spilling to disk.
      await sql`set local work_mem = '256MB'`.execute(tx);
      for (const aggregate of AGGREGATES) await aggregate(tenant).execute(tx);
      // Temporary tables get no statistics on their own; without them the planner assumes sizes
      // that make it scan every entry to join an empty set of bad groups.
      for (const table of ['verify_transaction_sums', 'verify_account_sums', 'verify_transaction_orphans'])
        await sql`analyze ${sql.table(table)}`.execute(tx);
      const aggregatesMs = Math.round(performance.now() - started);
      const checks: VerifyCheck[] = [];
      for (const check of CHECKS) checks.push(await runCheck(tx, check, tenant));
      const counts = await countRows(tx, tenant);
      return {
        ok: checks.every((c) => c.violations === 0),
        tenantId,
        counts,
        checks,
        aggregatesMs,
        ms: Math.round(performance.now() - started),
      };
    });
}

async function runCheck(tx: Tx, check: CheckDefinition, tenant: Filter): Promise<VerifyCheck> {
  const started = performance.now();
  const { rows } = await sql<Record<string, unknown> & { violations: string | bigint }>`
    select v.*, count(*) over () as violations
    from (${check.query(tenant)}) v
    limit ${SAMPLES}`.execute(tx);
  const violations = rows.length === 0 ? 0 : Number(rows[0]!.violations);
  // Ids and sums as text: the report prints and serialises as JSON (which has no bigint).
  const samples = rows.map(({ violations: _, ...row }) =>
    Object.fromEntries(Object.entries(row).map(([k, v]) => [k, typeof v === 'bigint' ? v.toString() : v])),
  );
  const ms = Math.round(performance.now() - started);
  return { name: check.name, description: check.description, violations, samples, ms };
}

async function countRows(tx: Tx, tenant: Filter): Promise<VerifyReport['counts']> {
  const { rows } = await sql<{ accounts: bigint; transactions: bigint; entries: bigint }>`
    select
      (select count(*) from ledger_accounts a where true ${tenant('a')}) as accounts,
      (select count(*) from ledger_transactions x where true ${tenant('x')}) as transactions,
      (select count(*) from ledger_entries e where true ${tenant('e')}) as entries`.execute(tx);
  const row = rows[0]!;
  return {
    accounts: Number(row.accounts),
    transactions: Number(row.transactions),
    entries: Number(row.entries),
  };
}

/** The report as an operator reads it: one line per check, then the offending rows by id. */
export function formatVerifyReport(report: VerifyReport): string {
  const lines: string[] = [];
  const scope = report.tenantId ? `tenant ${report.tenantId}` : 'all tenants';
  const { accounts, transactions, entries } = report.counts;
  lines.push(
    `ledger verify (${scope}): ${accounts} accounts, ${transactions} transactions, ${entries} entries checked in ${report.ms} ms (aggregates ${report.aggregatesMs} ms)`,
  );
  for (const check of report.checks) {
    lines.push(
      `${check.violations === 0 ? 'ok  ' : 'FAIL'}  ${check.name}: ${check.description}${
        check.violations === 0 ? '' : ` (${check.violations} violation${check.violations === 1 ? '' : 's'})`
      } [${check.ms} ms]`,
    );
    for (const sample of check.samples) {
      const fields = Object.entries(sample).map(
        ([k, v]) => `${k}=${Array.isArray(v) ? v.join(',') : String(v)}`,
      );
      lines.push(`        ${fields.join(' ')}`);
    }
    if (check.violations > check.samples.length)
      lines.push(`        … and ${check.violations - check.samples.length} more`);
  }
  const failed = report.checks.filter((c) => c.violations > 0).length;
  lines.push(report.ok ? 'ledger is consistent' : `ledger has violations in ${failed} check(s)`);
  return lines.join('\n');
}
