import { createHash } from 'node:crypto';
import { sql } from 'kysely';
import type { Db, Tx } from '../db/database.ts';
import { AppError } from '../errors/app-error.ts';
import {
  type AccountRef,
  type AccountSpec,
  accountKey,
  ensureAccounts,
  findAccounts,
  isKnownAccount,
  rememberAccounts,
  shardFor,
  specOf,
} from './account.repository.ts';
import type { LedgerAccountRow, LedgerTransactionRow, TransactionKind } from './ledger.table.ts';

export interface PostLine {
  account: AccountRef;
  /** Signed minor units: > 0 into the account, < 0 out of it. Never 0. */
  amount: bigint;
}

export interface PostTransactionInput {
  tenantId: string;
  /** Derived from the cause, e.g. `deal:<id>:v<version>:rule:<id>:partner:<id>`. */
  idempotencyKey: string;
  kind: TransactionKind;
  /** What caused it (deal event, rule, partner, rate, fx rate, …); part of the content hash. */
  cause: Record<string, unknown>;
  /** When it happened in the domain (the deal event's time), not when it was recorded. */
  occurredAt: Date;
  correctsTransactionId?: string | null;
  lines: PostLine[];
  /** When it was recorded; the caller's clock (services.clock). Defaults to the database's now(). */
  recordedAt?: Date;
}

export interface PostResult {
  /** false when this key was already posted with the same content: nothing was written. */
  applied: boolean;
  transaction: LedgerTransactionRow;
}

const CURRENCY = /^[A-Z]{3}$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const TRANSACTION_KINDS: ReadonlySet<string> = new Set([
  'accrual',
  'approval',
  'reversal',
  'clawback',
  'payout',
  'settlement',
  'adjustment',
  'fx',
]);

interface FieldProblem {
  field: string;
  message: string;
}

/** The entries' and balances' columns are bigint: an amount beyond it could never be stored. */
const MAX_AMOUNT = 9_223_372_036_854_775_807n;
const MIN_BALANCE = -MAX_AMOUNT - 1n;

/**
 * The refusal of postings that would take an account's balance outside bigint, the balance
 * column's type: a clear 422 instead of the database's "out of range" (a 500), nothing written.
 * The account is named when known (postTransaction computes balances itself; postTransactions
 * learns of it from the database, which does not say which account).
 */
export function balanceOverflow(keys: string[], account?: { id: string; account_key: string }): AppError {
  const which = account ? `ledger account ${account.account_key}'s balance` : 'a ledger balance';
  const what =
    keys.length === 1
      ? `Ledger transaction "${keys[0]}"`
      : `One of ${keys.length} ledger transactions (${keys.slice(0, 3).join(', ')}${keys.length > 3 ? ', …' : ''})`;
  return new AppError(
    'unprocessable',
    `${what} would take ${which} outside what a balance holds (${MIN_BALANCE} to ${MAX_AMOUNT} minor units)`,
    { idempotencyKeys: keys, ...(account ? { accountId: account.id } : {}) },
  );
}

/** Every problem of the input at once (the house's validation_failed shape), before any write. */
export function problemsOf(input: PostTransactionInput): FieldProblem[] {
  const problems: FieldProblem[] = [];
  const key = input.idempotencyKey;
  if (typeof key !== 'string' || key.length < 1 || key.length > 500)
    problems.push({ field: 'idempotencyKey', message: 'must be 1 to 500 characters' });
  if (!TRANSACTION_KINDS.has(input.kind))
    problems.push({ field: 'kind', message: 'is not a transaction kind' });
  if (!(input.occurredAt instanceof Date) || Number.isNaN(input.occurredAt.getTime()))
    problems.push({ field: 'occurredAt', message: 'must be a valid date' });
  if (input.correctsTransactionId != null && !UUID.test(input.correctsTransactionId))
    problems.push({ field: 'correctsTransactionId', message: 'must be a transaction id' });
  if (input.kind === 'reversal' && input.correctsTransactionId == null)
    problems.push({ field: 'correctsTransactionId', message: 'is required for a reversal' });
  if (!Array.isArray(input.lines) || input.lines.length < 2) {
    problems.push({ field: 'lines', message: 'must have at least two lines' });
    return problems;
  }
  const sums = new Map<string, bigint>();
  input.lines.forEach((line, i) => {
    const at = `lines[${i}]`;
    const ref = line.account;
    if (typeof line.amount !== 'bigint' || line.amount === 0n)
      problems.push({ field: `${at}.amount`, message: 'must be a non-zero bigint of minor units' });
    else if (line.amount > MAX_AMOUNT || line.amount < -MAX_AMOUNT)
      problems.push({ field: `${at}.amount`, message: 'must fit a 64-bit integer of minor units' });
    if (!CURRENCY.test(ref.currency))
      problems.push({ field: `${at}.account.currency`, message: 'must be an ISO 4217 code' });
    if ('accountId' in ref) {
      if (!UUID.test(ref.accountId))
        problems.push({ field: `${at}.account.accountId`, message: 'must be an account id' });
    } else {
      if ('partnerId' in ref && !UUID.test(ref.partnerId ?? ''))
        problems.push({ field: `${at}.account.partnerId`, message: 'must be a partner id' });
      if (ref.kind === 'program_expense' && !UUID.test(ref.programId ?? ''))
        problems.push({ field: `${at}.account.programId`, message: 'must be a program id' });
      else if (ref.programId != null && !UUID.test(ref.programId))
        problems.push({ field: `${at}.account.programId`, message: 'must be a program id' });
      if (
        'shard' in ref &&
        ref.shard !== undefined &&
        !(Number.isInteger(ref.shard) && ref.shard >= 0 && ref.shard <= 255)
      )
        problems.push({ field: `${at}.account.shard`, message: 'must be a shard number' });
    }
    if (typeof line.amount === 'bigint') sums.set(ref.currency, (sums.get(ref.currency) ?? 0n) + line.amount);
  });
  for (const [currency, sum] of sums) {
    if (sum !== 0n)
      problems.push({ field: 'lines', message: `${currency} lines sum to ${sum}, not 0: unbalanced` });
  }
  return problems;
}

/** JSON with sorted keys and bigints as strings: equal content gives equal text. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v) => {
    if (typeof v === 'bigint') return v.toString();
    if (v && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Date)) {
      return Object.fromEntries(
        Object.keys(v)
          .sort()
          .map((k) => [k, (v as Record<string, unknown>)[k]]),
      );
    }
    return v;
  });
}

export interface ResolvedLine {
  /** `key:<account_key>` or `id:<uuid>`: how the line finds its locked account. */
  ref: string;
  spec: AccountSpec | undefined;
  accountId: string | undefined;
  currency: string;
  amount: bigint;
}

export function resolveLines(input: PostTransactionInput): ResolvedLine[] {
  const shard = shardFor(input.idempotencyKey);
  return input.lines.map((line) => {
    const ref = line.account;
    if ('accountId' in ref) {
      const id = ref.accountId.toLowerCase();
      return { ref: `id:${id}`, spec: undefined, accountId: id, currency: ref.currency, amount: line.amount };
    }
    const spec = specOf(ref, shard);
    return {
      ref: `key:${accountKey(spec)}`,
      spec,
      accountId: undefined,
      currency: ref.currency,
      amount: line.amount,
    };
  });
}

/** SHA-256 of what the transaction says; the order of its lines does not matter. */
export function contentHash(input: PostTransactionInput, lines: ResolvedLine[]): string {
  const content = {
    v: 1,
    kind: input.kind,
    corrects: input.correctsTransactionId?.toLowerCase() ?? null,
    occurredAt: input.occurredAt.toISOString(),
    cause: input.cause,
    lines: lines.map((l) => `${l.ref}|${l.currency}|${l.amount}`).sort(),
  };
  return createHash('sha256').update(canonicalJson(content)).digest('hex');
}

/**
 * Posts one balanced transaction in the caller's transaction: the transaction row, one entry per
 * line with the account's balance and version after it, and the accounts' new balances.
 *
 * Locks: accounts used for the first time are created first (account_key order, one statement,
 * no account lock held), then all the accounts are locked FOR UPDATE in id order, the one order
 * every posting uses, so postings over overlapping accounts queue and do not deadlock. Accounts
 * the process knows exist skip the creation step.
 *
 * Idempotent by key: the same key with the same content returns the stored transaction and writes
 * nothing (`applied: false`); the same key with other content is a `ledger_idempotency_conflict`.
 * The key's row is inserted with ON CONFLICT DO NOTHING: a concurrent post of the same key waits
 * there for the first to commit or roll back, then finds its row, so two racing posts make one
 * transaction without a savepoint or an advisory lock.
 *
 * Round trips on the usual path: the lock, then one statement that writes the transaction, the
 * balances and the entries (they are skipped when the key already exists).
 */
export async function postTransaction(tx: Tx, input: PostTransactionInput): Promise<PostResult> {
  const problems = problemsOf(input);
  if (problems.length > 0) {
    throw new AppError(
      'validation_failed',
      `Invalid ledger transaction: ${problems.map((p) => `${p.field} ${p.message}`).join('; ')}`,
      { fields: problems },
    );
  }
  const lines = resolveLines(input);
  const hash = contentHash(input, lines);
  const tenantId = input.tenantId;

  const accounts = await lockLineAccounts(tx, tenantId, lines);

  // Balances and versions after each line, from the locked rows (absolute values are safe: the
  // rows stay locked until commit).
  const next = new Map<string, { balance: bigint; version: bigint }>();
  const entries = lines.map((line, i) => {
    const account = accounts[i]!;
    const state = next.get(account.id) ?? { balance: account.balance, version: account.version };
    state.balance += line.amount;
    state.version += 1n;
    if (state.balance > MAX_AMOUNT || state.balance < MIN_BALANCE)
      throw balanceOverflow([input.idempotencyKey], account);
    next.set(account.id, state);
    return sql`(${account.id}::uuid, ${line.amount}::bigint, ${line.currency}, ${state.balance}::bigint, ${state.version}::bigint)`;
  });
  const balances = [...next].map(
    ([id, state]) => sql`(${id}::uuid, ${state.balance}::bigint, ${state.version}::bigint)`,
  );
  const recordedAt = input.recordedAt ?? null;

  // Nothing is written before every check above has passed, and then all of it in one statement:
  // a caller that catches an error and carries on never finds a transaction without its entries.
  // When the key exists, `t` is empty and so are the update and the insert that depend on it.
  let inserted: LedgerTransactionRow | undefined;
  try {
    const { rows } = await sql<LedgerTransactionRow>`
      with t as (
        insert into ledger_transactions
          (tenant_id, idempotency_key, content_hash, kind, corrects_transaction_id, cause, occurred_at, created_at)
        values (${tenantId}, ${input.idempotencyKey}, ${hash}, ${input.kind},
          ${input.correctsTransactionId?.toLowerCase() ?? null}::uuid, ${canonicalJson(input.cause)}::jsonb,
          ${input.occurredAt}::timestamptz, coalesce(${recordedAt}::timestamptz, now()))
        -- No target: a conflict on the key or on "reversed at most once" both mean "not posted".
        on conflict do nothing
        returning *
      ),
      balances as (
        update ledger_accounts as a set balance = v.balance, version = v.version
        from (values ${sql.join(balances)}) as v(id, balance, version)
        where a.id = v.id and a.tenant_id = ${tenantId} and exists (select 1 from t)
      ),
      entries as (
        insert into ledger_entries
          (tenant_id, transaction_id, account_id, amount, currency, balance_after, account_version, created_at)
        select t.tenant_id, t.id, v.account_id, v.amount, v.currency, v.balance_after, v.account_version, t.created_at
        from t cross join (values ${sql.join(entries)}) as v(account_id, amount, currency, balance_after, account_version)
      )
      select * from t`.execute(tx);
    inserted = rows[0];
  } catch (error) {
    if ((error as { code?: string }).code === '23503') {
      throw new AppError('not_found', `No ledger transaction ${input.correctsTransactionId} to correct`);
    }
    throw error;
  }
  if (!inserted) return replayOrConflict(tx, input, hash);
  return { applied: true, transaction: inserted };
}

async function replayOrConflict(tx: Tx, input: PostTransactionInput, hash: string): Promise<PostResult> {
  const existing = await tx
    .selectFrom('ledger_transactions')
    .selectAll()
    .where('tenant_id', '=', input.tenantId)
    .where('idempotency_key', '=', input.idempotencyKey)
    .executeTakeFirst();
  if (existing) {
    if (existing.content_hash === hash) return { applied: false, transaction: existing };
    throw new AppError(
      'ledger_idempotency_conflict',
      `Ledger key "${input.idempotencyKey}" was already posted with different content`,
      { idempotencyKey: input.idempotencyKey, transactionId: existing.id },
    );
  }
  // The row that conflicted is not ours by key: it is another reversal of the same transaction.
  const reversal = await tx
    .selectFrom('ledger_transactions')
    .select(['id', 'idempotency_key'])
    .where('tenant_id', '=', input.tenantId)
    .where('kind', '=', 'reversal')
    .where('corrects_transaction_id', '=', input.correctsTransactionId?.toLowerCase() ?? null)
    .executeTakeFirst();
  throw new AppError(
    'already_reversed',
    `Ledger transaction ${input.correctsTransactionId} is already reversed`,
    {
      transactionId: input.correctsTransactionId,
      reversalId: reversal?.id ?? null,
    },
  );
}

/**
 * The accounts of the lines, aligned with them, locked FOR UPDATE in id order (the one order every
 * posting uses, so postings over overlapping accounts queue and do not deadlock). Accounts used for
 * the first time are created first (account_key order, one statement, no account lock held);
 * accounts the process knows exist skip that step. `label(i)` names line i in errors.
 */
export function lockLineAccounts(
  tx: Tx,
  tenantId: string,
  lines: ResolvedLine[],
  label: (i: number) => string = (i) => `lines[${i}]`,
): Promise<LedgerAccountRow[]> {
  return lineAccounts(tx, tenantId, lines, label, { lock: true });
}

/**
 * The accounts of the lines, aligned with them, as lockLineAccounts finds or creates them but
 * without locking them: for a caller that locks them in the statement that writes to them, so no
 * round trip happens under the locks (postTransactions).
 */
export function findLineAccounts(
  tx: Tx,
  tenantId: string,
  lines: ResolvedLine[],
  label: (i: number) => string = (i) => `lines[${i}]`,
): Promise<LedgerAccountRow[]> {
  return lineAccounts(tx, tenantId, lines, label, { lock: false });
}

async function lineAccounts(
  tx: Tx,
  tenantId: string,
  lines: ResolvedLine[],
  label: (i: number) => string,
  options: { lock: boolean },
): Promise<LedgerAccountRow[]> {
  const specs = new Map(lines.flatMap((l) => (l.spec ? [[accountKey(l.spec), l.spec] as const] : [])));
  const ids = [...new Set(lines.flatMap((l) => (l.accountId ? [l.accountId] : [])))];
  // Create first, read (or lock) after: while it creates, this posting holds no account lock.
  const unknown = [...specs].filter(([key]) => !isKnownAccount(tenantId, key));
  const created = await ensureAccounts(
    tx,
    tenantId,
    unknown.map(([, spec]) => spec),
  );
  const rows = await findAccounts(tx, tenantId, [...specs.keys()], ids, options);
  const found = new Set(rows.map((a) => a.account_key));
  const missing = [...specs].filter(([key]) => !found.has(key));
  if (missing.length > 0) {
    // Only when the process's memory of accounts was wrong (see account.repository.ts): created
    // (under locks when locking, which can deadlock against a concurrent creation; withLedgerRetry
    // retries that).
    await ensureAccounts(
      tx,
      tenantId,
      missing.map(([, spec]) => spec),
    );
    rows.push(
      ...(await findAccounts(
        tx,
        tenantId,
        missing.map(([key]) => key),
        [],
        options,
      )),
    );
  }
  rememberAccounts(
    tenantId,
    rows.flatMap((a) => (created.has(a.account_key) ? [] : [a.account_key])),
  );
  const byRef = new Map<string, LedgerAccountRow>();
  for (const account of rows) {
    byRef.set(`key:${account.account_key}`, account);
    byRef.set(`id:${account.id}`, account);
  }
  return lines.map((line, i) => {
    const account = byRef.get(line.ref);
    if (!account)
      throw new AppError('not_found', `${label(i)}: no ledger account ${line.accountId ?? line.ref}`);
    if (account.currency !== line.currency) {
      throw new AppError('validation_failed', `${label(i)}: the account holds ${account.currency}`, {
        fields: [{ field: `${label(i)}.account.currency`, message: `must be ${account.currency}` }],
      });
    }
    return account;
  });
}

const RETRYABLE = new Set(['40001', '40P01']);

export interface RetryOptions {
  attempts?: number;
  /** Called before each retry; tests and benchmarks count them. */
  onRetry?: (code: string, attempt: number) => void;
}

/**
 * Runs `work` in a transaction at the boundary, retrying it from the start on a serialization
 * failure (40001) or a deadlock (40P01): both mean the database rolled it back and a new attempt
 * may succeed. Anything else, AppErrors included, is thrown at once.
 */
export async function withLedgerRetry<T>(
  db: Db,
  work: (tx: Tx) => Promise<T>,
  options: RetryOptions = {},
): Promise<T> {
  const attempts = options.attempts ?? 5;
  for (let attempt = 1; ; attempt++) {
    try {
      return await db.transaction().execute(work);
    } catch (error) {
      const code = (error as { code?: string }).code;
      if (!code || !RETRYABLE.has(code) || attempt >= attempts) throw error;
      options.onRetry?.(code, attempt);
      // Jittered backoff so the transactions that collided do not collide again in step.
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 10 * 2 ** attempt));
    }
  }
}
