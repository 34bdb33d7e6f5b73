import { sql } from 'kysely';
import type { CommissionLineRow } from '../commissions/commission-line.table.ts';
import type { DbOrTx } from '../db/database.ts';
import type { Cursor } from '../http/pagination.ts';
import type { PayoutBatchRow, PayoutBatchStatus, PayoutRow } from './payout.table.ts';

export async function findBatch(
  db: DbOrTx,
  tenantId: string,
  batchId: string,
  options: { forUpdate?: boolean } = {},
): Promise<PayoutBatchRow | undefined> {
  let query = db
    .selectFrom('payout_batches')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('id', '=', batchId);
  if (options.forUpdate) query = query.forUpdate();
  return query.executeTakeFirst();
}

export async function listBatches(
  db: DbOrTx,
  tenantId: string,
  filters: { status?: PayoutBatchStatus; currency?: string },
  page: { limit: number; after: Cursor | undefined },
): Promise<PayoutBatchRow[]> {
  let query = db.selectFrom('payout_batches').selectAll().where('tenant_id', '=', tenantId);
  if (filters.status) query = query.where('status', '=', filters.status);
  if (filters.currency) query = query.where('currency', '=', filters.currency);
  if (page.after) {
    const { at, id } = page.after;
    query = query.where(sql<boolean>`(created_at, id) < (${new Date(at)}::timestamptz, ${id}::uuid)`);
  }
  return query
    .orderBy('created_at', 'desc')
    .orderBy('id', 'desc')
    .limit(page.limit + 1)
    .execute();
}

export async function payoutsOfBatch(db: DbOrTx, tenantId: string, batchId: string): Promise<PayoutRow[]> {
  return db
    .selectFrom('payouts')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('batch_id', '=', batchId)
    .orderBy('partner_id')
    .orderBy('program_id')
    .execute();
}

export async function findPayout(
  db: DbOrTx,
  tenantId: string,
  payoutId: string,
  options: { forUpdate?: boolean } = {},
): Promise<PayoutRow | undefined> {
  let query = db
    .selectFrom('payouts')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('id', '=', payoutId);
  if (options.forUpdate) query = query.forUpdate();
  return query.executeTakeFirst();
}

/** The lines a payout claimed, in id order. */
export async function linesOfPayouts(
  db: DbOrTx,
  tenantId: string,
  payoutIds: string[],
): Promise<CommissionLineRow[]> {
  if (payoutIds.length === 0) return [];
  return db
    .selectFrom('commission_lines')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('payout_id', 'in', payoutIds)
    .orderBy('payout_id')
    .orderBy('id')
    .execute();
}

/** A partner's own minimum in a program; null removes it (the program's minimum applies). */
export async function setMinimumOverride(
  db: DbOrTx,
  input: { tenantId: string; partnerId: string; programId: string; minimumPayout: bigint | null; now: Date },
): Promise<void> {
  if (input.minimumPayout === null) {
    await db
      .deleteFrom('payout_minimum_overrides')
      .where('tenant_id', '=', input.tenantId)
      .where('partner_id', '=', input.partnerId)
      .where('program_id', '=', input.programId)
      .execute();
    return;
  }
  await db
    .insertInto('payout_minimum_overrides')
    .values({
      tenant_id: input.tenantId,
      partner_id: input.partnerId,
      program_id: input.programId,
      minimum_payout: input.minimumPayout,
      updated_at: input.now,
    })
    .onConflict((oc) =>
      oc
        .columns(['tenant_id', 'partner_id', 'program_id'])
        .doUpdateSet({ minimum_payout: input.minimumPayout as bigint, updated_at: input.now }),
    )
    .execute();
}
