import type { ColumnType, Generated, Insertable, Selectable } from 'kysely';

/** draft → approved → exported → paid / failed (settled: each of its payouts paid or failed). */
export type PayoutBatchStatus = 'draft' | 'approved' | 'exported' | 'paid' | 'failed';
/** One partner's payout in a batch: pending until marked paid (with a reference) or failed. */
export type PayoutStatus = 'pending' | 'paid' | 'failed';

export interface PayoutBatchTable {
  id: Generated<string>;
  tenant_id: string;
  /** Null: every program paying in `currency`. */
  program_id: string | null;
  currency: string;
  status: PayoutBatchStatus;
  created_by: string;
  approved_by: string | null;
  approved_at: Date | null;
  exported_at: Date | null;
  settled_at: Date | null;
  created_at: ColumnType<Date, Date | undefined, never>;
  updated_at: ColumnType<Date, Date | undefined, Date>;
}

export interface PayoutTable {
  id: Generated<string>;
  tenant_id: string;
  batch_id: string;
  partner_id: string;
  program_id: string;
  currency: string;
  /** Net of the lines it claimed (clawbacks included); `ledger verify` holds it to their sum. */
  amount: bigint;
  line_count: number;
  /** The minimum it was measured against (the partner's override or the program's). */
  minimum_payout: bigint;
  status: PayoutStatus;
  reference: string | null;
  failure_reason: string | null;
  /** The payable → paid transaction posted when it was paid. */
  ledger_transaction_id: string | null;
  settled_at: Date | null;
  created_at: ColumnType<Date, Date | undefined, never>;
}

export interface PayoutMinimumOverrideTable {
  tenant_id: string;
  partner_id: string;
  program_id: string;
  minimum_payout: bigint;
  updated_at: ColumnType<Date, Date | undefined, Date>;
}

export type PayoutBatchRow = Selectable<PayoutBatchTable>;
export type NewPayoutBatchRow = Insertable<PayoutBatchTable>;
export type PayoutRow = Selectable<PayoutTable>;
export type NewPayoutRow = Insertable<PayoutTable>;
