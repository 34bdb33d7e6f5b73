import { createHash } from 'node:crypto';
import { sql } from 'kysely';
import type { DbOrTx, Tx } from '../db/database.ts';
import { byCodeUnits } from '../db/lock-order.ts';
import { AppError } from '../errors/app-error.ts';
import type { AccountKind, LedgerAccountRow } from './ledger.table.ts';

/**
 * Where a ledger line goes: an account named by what it is for (created on first use), or an
 * existing account by id (reversals point at exactly the accounts the original touched).
 */
export type AccountRef =
  | {
      kind: 'partner_pending' | 'partner_payable' | 'partner_paid';
      partnerId: string;
      /** Set when the partner's balance is kept per program (e.g. a per-program minimum payout). */
      programId?: string | null;
      currency: string;
    }
  | { kind: 'program_expense'; programId: string; currency: string; shard?: number }
  | { kind: 'payout_clearing' | 'fx'; programId?: string | null; currency: string; shard?: number }
  | { accountId: string; currency: string };

/** A named account with its shard decided: what ledger_accounts.account_key encodes. */
export interface AccountSpec {
  kind: AccountKind;
  partnerId: string | null;
  programId: string | null;
  currency: string;
  shard: number;
}

/*
 * Why house accounts are sharded. Every accrual debits its program's expense account, so with one
 * row per (program, currency) every concurrent posting of a program queues on that row's lock for
 * the rest of its transaction (commit included): a hot row caps throughput at one posting per
 * lock hold, whatever the number of workers (reference §2.4). Deriving the balance instead (no
 * stored balance, sum the entries) would make its read O(n) and break the uniform chain that
 * `ledger verify` checks. Splitting the account into HOUSE_SHARDS rows, chosen by a hash of the
 * transaction's idempotency key, keeps every shard an ordinary account (own balance, own version
 * chain, verified like the others) and lets that many postings proceed at once; the account's
 * balance is the sum of its shards, a read of HOUSE_SHARDS rows: still O(1).
 * Measured by bench/ledger-postings.bench.ts (its `hot-row` layout forces shard 0): with 8 workers
 * on the shared 2-core development machine, 699 postings/s sharded against 111 on one hot row.
 * Sharding is also what the reference recommends (§2.4, Formance's `@world:<random_id>`).
 * Partner accounts are not sharded: their statements read one chain, and a partner's accounts are
 * hot only for a lead agency receiving overrides from many sub-partners at the same instant.
 */
export const HOUSE_SHARDS = 16;
const SHARDED_KINDS: ReadonlySet<AccountKind> = new Set(['program_expense', 'payout_clearing', 'fx']);

export function isSharded(kind: AccountKind): boolean {
  return SHARDED_KINDS.has(kind);
}

/** The shard a transaction's house lines go to: fixed by its idempotency key, so a replay matches. */
export function shardFor(idempotencyKey: string): number {
  return createHash('sha256').update(idempotencyKey).digest().readUInt16BE(0) % HOUSE_SHARDS;
}

export function accountKey(spec: AccountSpec): string {
  return `${spec.kind}:${spec.partnerId ?? '-'}:${spec.programId ?? '-'}:${spec.currency}:${spec.shard}`;
}

/** The spec of a named reference; `shard` is used for sharded kinds that do not name one. */
export function specOf(ref: Exclude<AccountRef, { accountId: string }>, shard: number): AccountSpec {
  const lower = (id: string | null | undefined) => (id ? id.toLowerCase() : null);
  switch (ref.kind) {
    case 'partner_pending':
    case 'partner_payable':
    case 'partner_paid':
      return {
        kind: ref.kind,
        partnerId: lower(ref.partnerId),
        programId: lower(ref.programId),
        currency: ref.currency,
        shard: 0,
      };
    default:
      return {
        kind: ref.kind,
        partnerId: null,
        programId: lower(ref.programId),
        currency: ref.currency,
        shard: ref.shard ?? shard,
      };
  }
}

/**
 * Creates the named accounts that do not exist yet; returns the keys of the ones it created. Rows
 * are inserted in account_key order in one statement, so two transactions creating overlapping
 * accounts wait on each other in the same order and cannot deadlock. Locks no existing account.
 */
export async function ensureAccounts(tx: Tx, tenantId: string, specs: AccountSpec[]): Promise<Set<string>> {
  if (specs.length === 0) return new Set();
  const unique = new Map(specs.map((spec) => [accountKey(spec), spec]));
  const rows = [...unique.entries()]
    .sort(([a], [b]) => byCodeUnits(a, b))
    .map(([key, spec]) => ({
      tenant_id: tenantId,
      kind: spec.kind,
      partner_id: spec.partnerId,
      program_id: spec.programId,
      currency: spec.currency,
      shard: spec.shard,
      account_key: key,
    }));
  try {
    const created = await tx
      .insertInto('ledger_accounts')
      .values(rows as any)
      .onConflict((oc) => oc.columns(['tenant_id', 'account_key']).doNothing())
      .returning('account_key')
      .execute();
    return new Set(created.map((r) => r.account_key));
  } catch (error) {
    if ((error as { code?: string }).code === '23503') {
      throw new AppError('not_found', 'A ledger line names a partner or program that does not exist', {
        owners: rows.map((r) => ({ partnerId: r.partner_id, programId: r.program_id })),
      });
    }
    throw error;
  }
}

/*
 * Accounts this process has seen exist, so a posting can skip ensureAccounts and go straight to
 * its locks (one round trip less on every posting). A posting remembers the accounts it found, not
 * the ones it created, since its transaction may still roll back. Accounts are never deleted, so
 * an entry goes stale only when a transaction that created an account (in an earlier posting of
 * the same transaction) rolls back, or the database is replaced; postTransaction then finds the
 * account missing under its locks and creates it there.
 */
const knownAccounts = new Set<string>();
const KNOWN_ACCOUNTS_MAX = 200_000;

export function isKnownAccount(tenantId: string, key: string): boolean {
  return knownAccounts.has(`${tenantId}/${key}`);
}

export function rememberAccounts(tenantId: string, keys: Iterable<string>): void {
  if (knownAccounts.size > KNOWN_ACCOUNTS_MAX) knownAccounts.clear();
  for (const key of keys) knownAccounts.add(`${tenantId}/${key}`);
}

/**
 * The accounts named by key or by id. With `lock`, locked FOR UPDATE in id order, the one order
 * every posting uses, so concurrent postings over overlapping accounts queue instead of deadlocking;
 * without, as they are (for a statement that locks them as it writes to them).
 */
export async function findAccounts(
  tx: Tx,
  tenantId: string,
  keys: string[],
  ids: string[],
  options: { lock: boolean },
): Promise<LedgerAccountRow[]> {
  const { rows } = await sql<LedgerAccountRow>`
    select * from ledger_accounts
    where tenant_id = ${tenantId}
      and (account_key = any(${keys}::text[]) or id = any(${ids}::uuid[]))
    ${options.lock ? sql`order by id for update` : sql``}`.execute(tx);
  return rows;
}

export async function findAccountById(
  db: DbOrTx,
  tenantId: string,
  accountId: string,
): Promise<LedgerAccountRow | undefined> {
  return db
    .selectFrom('ledger_accounts')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('id', '=', accountId)
    .executeTakeFirst();
}

/** The stored balance of one account row: one indexed row, O(1). Undefined when there is none. */
export async function balance(db: DbOrTx, tenantId: string, accountId: string): Promise<bigint | undefined> {
  const row = await db
    .selectFrom('ledger_accounts')
    .select('balance')
    .where('tenant_id', '=', tenantId)
    .where('id', '=', accountId)
    .executeTakeFirst();
  return row?.balance;
}

/**
 * The balance of a named account: the sum of its shards for house accounts (HOUSE_SHARDS indexed
 * rows, a constant), its one row otherwise. 0 for an account that has never been posted to.
 */
export async function accountBalance(
  db: DbOrTx,
  tenantId: string,
  ref: Exclude<AccountRef, { accountId: string }>,
): Promise<bigint> {
  const first = specOf(ref, 0);
  const keys =
    isSharded(first.kind) && !('shard' in ref && ref.shard !== undefined)
      ? Array.from({ length: HOUSE_SHARDS }, (_, shard) => accountKey({ ...first, shard }))
      : [accountKey(first)];
  const row = await db
    .selectFrom('ledger_accounts')
    .select((eb) => eb.fn.coalesce(eb.fn.sum<bigint>('balance'), sql<bigint>`0::bigint`).as('balance'))
    .where('tenant_id', '=', tenantId)
    .where('account_key', 'in', keys)
    .executeTakeFirstOrThrow();
  return BigInt(row.balance);
}

/** A partner's accounts with their balances (pending, payable, paid per currency, and program). */
export async function partnerAccounts(
  db: DbOrTx,
  tenantId: string,
  partnerId: string,
): Promise<LedgerAccountRow[]> {
  return db
    .selectFrom('ledger_accounts')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('partner_id', '=', partnerId)
    .orderBy('kind')
    .orderBy('currency')
    .execute();
}
