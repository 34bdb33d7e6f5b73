import { sql } from 'kysely';
import type { Tx } from '../db/database.ts';
import { jsonRows } from '../db/json-rows.ts';
import { AppError } from '../errors/app-error.ts';
import type { LedgerTransactionRow } from './ledger.table.ts';
import {
  balanceOverflow,
  canonicalJson,
  contentHash,
  findLineAccounts,
  type PostResult,
  type PostTransactionInput,
  problemsOf,
  type ResolvedLine,
  resolveLines,
} from './post-transaction.ts';

export interface PostTransactionsOptions {
  /**
   * Runs after the new transactions' rows are written and before any account is locked: the place
   * for writes that name them (commission lines), so the account locks, which every posting of the
   * program's expense shards waits for, are held only for the entries and the commit.
   */
  beforeLocks?: (posted: ReadonlyMap<string, LedgerTransactionRow>) => Promise<void>;
}

/**
 * Posts many balanced transactions of one tenant in the caller's transaction, with the same rules
 * as postTransaction (validation, content hash, idempotency by key, balances and versions in the
 * entries) and a fixed number of statements whatever their count: the keys already posted are read
 * (same content: `applied: false`; other content: `ledger_idempotency_conflict`), the others'
 * transaction rows written in one statement, the accounts of all of them found or created once,
 * and every balance and entry written in one statement that takes the account locks (id order).
 *
 * For callers that hold what makes their keys theirs (the settle batch holds the deals' row locks,
 * and its keys carry the deal version): a key posted concurrently by someone else between the read
 * and the write, or a second reversal of a transaction, is a unique violation that fails the whole
 * transaction, never a double posting (postTransaction tells those apart one by one).
 */
export async function postTransactions(
  tx: Tx,
  tenantId: string,
  inputs: PostTransactionInput[],
  options: PostTransactionsOptions = {},
): Promise<PostResult[]> {
  if (inputs.length === 0) return [];
  const problems = inputs.flatMap((input, i) => [
    ...(input.tenantId === tenantId
      ? []
      : [{ field: `[${i}].tenantId`, message: 'must be the batch tenant' }]),
    ...problemsOf(input).map((p) => ({ field: `[${i}].${p.field}`, message: p.message })),
  ]);
  const keys = inputs.map((input) => input.idempotencyKey);
  const seen = new Set<string>();
  keys.forEach((key, i) => {
    if (seen.has(key)) problems.push({ field: `[${i}].idempotencyKey`, message: 'is repeated' });
    seen.add(key);
  });
  if (problems.length > 0) {
    throw new AppError(
      'validation_failed',
      `Invalid ledger transactions: ${problems.map((p) => `${p.field} ${p.message}`).join('; ')}`,
      { fields: problems },
    );
  }
  const resolved = inputs.map((input) => resolveLines(input));
  const hashes = inputs.map((input, i) => contentHash(input, resolved[i]!));

  const existing = new Map(
    (
      await tx
        .selectFrom('ledger_transactions')
        .selectAll()
        .where('tenant_id', '=', tenantId)
        .where('idempotency_key', 'in', keys)
        .execute()
    ).map((row) => [row.idempotency_key, row]),
  );
  const fresh: number[] = [];
  inputs.forEach((input, i) => {
    const row = existing.get(input.idempotencyKey);
    if (!row) fresh.push(i);
    else if (row.content_hash !== hashes[i]) {
      throw new AppError(
        'ledger_idempotency_conflict',
        `Ledger key "${input.idempotencyKey}" was already posted with different content`,
        { idempotencyKey: input.idempotencyKey, transactionId: row.id },
      );
    }
  });

  const posted = new Map<string, LedgerTransactionRow>();
  if (fresh.length > 0) {
    const column = <T>(pick: (input: PostTransactionInput, i: number) => T) =>
      fresh.map((i) => pick(inputs[i]!, i));
    const { rows } = await sql<LedgerTransactionRow>`
      insert into ledger_transactions
        (tenant_id, idempotency_key, content_hash, kind, corrects_transaction_id, cause, occurred_at, created_at)
      select ${tenantId}::uuid, v.key, v.hash, v.kind, v.corrects, v.cause, v.occurred_at, coalesce(v.recorded_at, now())
      from rows from (
        unnest(
          ${column((input) => input.idempotencyKey)}::text[],
          ${column((_, i) => hashes[i]!)}::text[],
          ${column((input) => input.kind)}::text[],
          ${column((input) => input.correctsTransactionId?.toLowerCase() ?? null)}::uuid[]
        ),
        ${jsonRows(column((input) => canonicalJson(input.cause)))},
        unnest(
          ${column((input) => input.occurredAt.toISOString())}::timestamptz[],
          ${column((input) => input.recordedAt?.toISOString() ?? null)}::timestamptz[]
        )
      ) as v(key, hash, kind, corrects, cause, occurred_at, recorded_at)
      returning *`.execute(tx);
    for (const row of rows) posted.set(row.idempotency_key, row);
  }
  await options.beforeLocks?.(posted);

  if (fresh.length > 0) await writeEntries(tx, tenantId, fresh, inputs, resolved, posted);
  return inputs.map((input) => {
    const row = posted.get(input.idempotencyKey);
    return row
      ? { applied: true, transaction: row }
      : { applied: false, transaction: existing.get(input.idempotencyKey)! };
  });
}

/**
 * Writes every entry and balance in one statement that also takes the account locks (id order),
 * so no round trip happens while they are held: every posting over these accounts queues on them
 * until this transaction commits, so the time they are held is what caps throughput (reference
 * §2.4). The accounts are found (or created) before, without a lock; balances and versions after
 * each entry are computed from the locked rows, entry after entry in the given order.
 */
async function writeEntries(
  tx: Tx,
  tenantId: string,
  fresh: number[],
  inputs: PostTransactionInput[],
  resolved: ResolvedLine[][],
  posted: ReadonlyMap<string, LedgerTransactionRow>,
) {
  const lines = fresh.flatMap((i) => resolved[i]!.map((line, j) => ({ line, label: `[${i}].lines[${j}]` })));
  const accounts = await findLineAccounts(
    tx,
    tenantId,
    lines.map((l) => l.line),
    (n) => lines[n]!.label,
  );
  const entries = {
    transaction: [] as string[],
    recordedAt: [] as (string | null)[],
    account: [] as string[],
    amount: [] as string[],
    currency: [] as string[],
  };
  let n = 0;
  for (const i of fresh) {
    const row = posted.get(inputs[i]!.idempotencyKey)!;
    // The transaction's own created_at: its recordedAt, else now() (the same all transaction long).
    const recordedAt = inputs[i]!.recordedAt?.toISOString() ?? null;
    for (const line of resolved[i]!) {
      entries.transaction.push(row.id);
      entries.recordedAt.push(recordedAt);
      entries.account.push(accounts[n++]!.id);
      entries.amount.push(line.amount.toString());
      entries.currency.push(line.currency);
    }
  }
  const written = sql<{ written: number }>`
    with v as materialized (
      select * from unnest(
        ${entries.transaction}::uuid[], ${entries.recordedAt}::timestamptz[], ${entries.account}::uuid[],
        ${entries.amount}::bigint[], ${entries.currency}::text[]
      ) with ordinality as v(transaction_id, recorded_at, account_id, amount, currency, n)
    ),
    locked as materialized (
      select id, balance, version from ledger_accounts
      where tenant_id = ${tenantId} and id = any(${[...new Set(entries.account)]}::uuid[])
      order by id
      for update
    ),
    running as materialized (
      select v.*,
        (l.balance + sum(v.amount) over w)::bigint as balance_after,
        l.version + row_number() over w as account_version
      from v join locked l on l.id = v.account_id
      window w as (partition by v.account_id order by v.n)
    ),
    balances as (
      update ledger_accounts as a set balance = r.balance_after, version = r.account_version
      from (
        select distinct on (account_id) account_id, balance_after, account_version
        from running order by account_id, n desc
      ) as r
      where a.id = r.account_id and a.tenant_id = ${tenantId}
    ),
    written as (
      insert into ledger_entries
        (tenant_id, transaction_id, account_id, amount, currency, balance_after, account_version, created_at)
      select ${tenantId}::uuid, transaction_id, account_id, amount, currency, balance_after, account_version,
        coalesce(recorded_at, now())
      from running
      order by n
      returning 1
    )
    select count(*)::int as written from written`;
  const { rows } = await written.execute(tx).catch((error: unknown) => {
    // numeric_value_out_of_range: only a balance can overflow here (amounts fit, checked before).
    if ((error as { code?: string }).code === '22003')
      throw balanceOverflow(fresh.map((i) => inputs[i]!.idempotencyKey));
    throw error;
  });
  // Every entry's account was found above and accounts are never deleted: a shortfall is a bug.
  if (rows[0]?.written !== entries.account.length)
    throw new Error(`postTransactions wrote ${rows[0]?.written} of ${entries.account.length} entries`);
}
