import type { ColumnType, Generated, Insertable, Selectable } from 'kysely';

// Money is a bigint count of minor units of `currency` (ISO 4217) everywhere in the ledger.
// Sign convention: an entry's amount > 0 moves money into its account, < 0 out of it, and the
// entries of one transaction sum to zero per currency. An accrual therefore makes the program's
// expense account negative (what the program has spent) and the partner's pending account positive
// (what the partner is owed).

export type AccountKind =
  | 'partner_pending'
  | 'partner_payable'
  | 'partner_paid'
  | 'program_expense'
  | 'payout_clearing'
  /** Where a currency conversion's two legs meet (one account per currency). */
  | 'fx';
export const PARTNER_ACCOUNT_KINDS: AccountKind[] = ['partner_pending', 'partner_payable', 'partner_paid'];

export type TransactionKind =
  | 'accrual'
  | 'approval'
  | 'reversal'
  | 'clawback'
  | 'payout'
  | 'settlement'
  | 'adjustment'
  | 'fx';

export interface LedgerAccountTable {
  id: Generated<string>;
  tenant_id: string;
  kind: AccountKind;
  partner_id: string | null;
  program_id: string | null;
  currency: string;
  /** House accounts are split into shards (see account.repository.ts); 0 for the others. */
  shard: ColumnType<number, number | undefined, never>;
  /** kind:partner:program:currency:shard, '-' for an absent owner; checked by the database. */
  account_key: string;
  /** Running sum of the account's entries, maintained under a row lock by postTransaction. */
  balance: ColumnType<bigint, bigint | undefined, bigint>;
  /** Number of the account's entries; the last entry's account_version. */
  version: ColumnType<bigint, bigint | undefined, bigint>;
  created_at: ColumnType<Date, Date | undefined, never>;
}

export interface LedgerTransactionTable {
  id: Generated<string>;
  tenant_id: string;
  /** Derived from the cause (`deal:<id>:v<version>:rule:<id>:partner:<id>`): same cause, same key. */
  idempotency_key: string;
  /** SHA-256 of the canonical content (kind, lines, cause, occurred_at, corrected transaction). */
  content_hash: string;
  kind: TransactionKind;
  corrects_transaction_id: string | null;
  cause: ColumnType<Record<string, unknown>, string, never>;
  occurred_at: ColumnType<Date, Date, never>;
  created_at: ColumnType<Date, Date | undefined, never>;
}

export interface LedgerEntryTable {
  id: ColumnType<bigint, never, never>;
  tenant_id: string;
  transaction_id: string;
  account_id: string;
  amount: ColumnType<bigint, bigint, never>;
  currency: string;
  balance_after: ColumnType<bigint, bigint, never>;
  account_version: ColumnType<bigint, bigint, never>;
  created_at: ColumnType<Date, Date | undefined, never>;
}

export type LedgerAccountRow = Selectable<LedgerAccountTable>;
export type NewLedgerAccountRow = Insertable<LedgerAccountTable>;
export type LedgerTransactionRow = Selectable<LedgerTransactionTable>;
export type LedgerEntryRow = Selectable<LedgerEntryTable>;
