import { sql } from 'kysely';
import type { Tx } from '../db/database.ts';
import { AppError } from '../errors/app-error.ts';
import type { LedgerTransactionRow } from './ledger.table.ts';
import {
  canonicalJson,
  contentHash,
  lockLineAccounts,
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
 * transaction rows written in one statement, the accounts of all of them created and locked once
 * (id order), and every balance and entry written in one statement.
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
      from unnest(
        ${column((input) => input.idempotencyKey)}::text[],
        ${column((_, i) => hashes[i]!)}::text[],
        ${column((input) => input.kind)}::text[],
        ${column((input) => input.correctsTransactionId?.toLowerCase() ?? null)}::uuid[],
        ${column((input) => canonicalJson(input.cause))}::jsonb[],
        ${column((input) => input.occurredAt.toISOString())}::timestamptz[],
        ${column((input) => input.recordedAt?.toISOString() ?? null)}::timestamptz[]
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

/** Locks every account once, then writes all balances and entries in one statement. */
async function writeEntries(
  tx: Tx,
  tenantId: string,
  fresh: number[],
  inputs: PostTransactionInput[],
  resolved: ResolvedLine[][],
  posted: ReadonlyMap<string, LedgerTransactionRow>,
) {
  const lines = fresh.flatMap((i) => resolved[i]!.map((line, j) => ({ line, label: `[${i}].lines[${j}]` })));
  const accounts = await lockLineAccounts(
    tx,
    tenantId,
    lines.map((l) => l.line),
    (n) => lines[n]!.label,
  );
  // Balances and versions after each entry, transaction after transaction in the given order.
  const next = new Map<string, { balance: bigint; version: bigint }>();
  const entries = {
    transaction: [] as string[],
    account: [] as string[],
    amount: [] as string[],
    currency: [] as string[],
    balance: [] as string[],
    version: [] as string[],
  };
  let n = 0;
  for (const i of fresh) {
    const row = posted.get(inputs[i]!.idempotencyKey)!;
    for (const line of resolved[i]!) {
      const account = accounts[n++]!;
      const state = next.get(account.id) ?? { balance: account.balance, version: account.version };
      state.balance += line.amount;
      state.version += 1n;
      next.set(account.id, state);
      entries.transaction.push(row.id);
      entries.account.push(account.id);
      entries.amount.push(line.amount.toString());
      entries.currency.push(line.currency);
      entries.balance.push(state.balance.toString());
      entries.version.push(state.version.toString());
    }
  }
  const ids = [...next.keys()];
  await sql`
    with balances as (
      update ledger_accounts as a set balance = v.balance, version = v.version
      from unnest(
        ${ids}::uuid[],
        ${ids.map((id) => next.get(id)!.balance.toString())}::bigint[],
        ${ids.map((id) => next.get(id)!.version.toString())}::bigint[]
      ) as v(id, balance, version)
      where a.id = v.id and a.tenant_id = ${tenantId}
    )
    insert into ledger_entries
      (tenant_id, transaction_id, account_id, amount, currency, balance_after, account_version, created_at)
    select t.tenant_id, t.id, v.account_id, v.amount, v.currency, v.balance_after, v.account_version, t.created_at
    from unnest(
      ${entries.transaction}::uuid[], ${entries.account}::uuid[], ${entries.amount}::bigint[],
      ${entries.currency}::text[], ${entries.balance}::bigint[], ${entries.version}::bigint[]
    ) with ordinality as v(transaction_id, account_id, amount, currency, balance_after, account_version, n)
    join ledger_transactions t on t.tenant_id = ${tenantId} and t.id = v.transaction_id
    order by v.n`.execute(tx);
}
