import { type AuditContext, writeAudit } from '../audit/audit.repository.ts';
import type { Tx } from '../db/database.ts';
import { AppError } from '../errors/app-error.ts';
import { publishEvent } from '../events/publish-event.ts';
import { postTransaction } from '../ledger/post-transaction.ts';
import { findBatch, findPayout, payoutsOfBatch } from './payout.repository.ts';
import type { PayoutBatchRow, PayoutBatchStatus, PayoutRow } from './payout.table.ts';

/*
 * A batch after its run: approved by a person, exported for accounts payable, then each payout is
 * paid (with the bank's or provider's reference) or failed. Money moves once, when a payout is
 * paid: partner_payable → partner_paid for its amount, in the transaction that marks its lines paid.
 *
 * Why not through payout_clearing at export: an export is a file, not money leaving, and a batch may
 * be exported again or fail afterwards. Keeping the lines in payable until they are paid keeps one
 * simple invariant `ledger verify` can check: payable = the partner's approved lines, paid = its paid
 * lines, and a failed payout needs no ledger correction at all (its lines are simply released).
 */

export interface SettlementContext {
  tenantId: string;
  now: Date;
  /** Recorded on the batch and in the audit log. */
  actor: string;
  audit: AuditContext;
}

type BatchAction = 'approve' | 'export' | 'settle';
const TRANSITIONS: Record<BatchAction, { from: PayoutBatchStatus[]; done: string }> = {
  approve: { from: ['draft'], done: 'approved' },
  // Exporting again is allowed: accounts payable may need the file twice.
  export: { from: ['approved', 'exported'], done: 'exported' },
  settle: { from: ['approved', 'exported'], done: 'settled' },
};

async function lockBatch(tx: Tx, ctx: SettlementContext, batchId: string, action: BatchAction) {
  const batch = await findBatch(tx, ctx.tenantId, batchId, { forUpdate: true });
  if (!batch) throw new AppError('not_found', 'Payout batch not found');
  const { from, done } = TRANSITIONS[action];
  if (!from.includes(batch.status))
    throw new AppError('invalid_transition', `The payout batch is ${batch.status}: it cannot be ${done}`, {
      status: batch.status,
      allowed: from,
    });
  return batch;
}

export async function approveBatch(tx: Tx, ctx: SettlementContext, batchId: string): Promise<PayoutBatchRow> {
  await lockBatch(tx, ctx, batchId, 'approve');
  const batch = await tx
    .updateTable('payout_batches')
    .set({ status: 'approved', approved_by: ctx.actor, approved_at: ctx.now, updated_at: ctx.now })
    .where('tenant_id', '=', ctx.tenantId)
    .where('id', '=', batchId)
    .returningAll()
    .executeTakeFirstOrThrow();
  await writeAudit(tx, ctx.audit, {
    action: 'payout_batch.approved',
    subjectType: 'payout_batch',
    subjectId: batchId,
    before: { status: 'draft' },
    after: { status: 'approved', approvedBy: ctx.actor },
  });
  return batch;
}

/** Records the export (first time only) and returns the batch; the CSV is built by payout-export.ts. */
export async function markExported(tx: Tx, ctx: SettlementContext, batchId: string): Promise<PayoutBatchRow> {
  const before = await lockBatch(tx, ctx, batchId, 'export');
  if (before.status === 'exported') return before;
  const batch = await tx
    .updateTable('payout_batches')
    .set({ status: 'exported', exported_at: ctx.now, updated_at: ctx.now })
    .where('tenant_id', '=', ctx.tenantId)
    .where('id', '=', batchId)
    .returningAll()
    .executeTakeFirstOrThrow();
  await writeAudit(tx, ctx.audit, {
    action: 'payout_batch.exported',
    subjectType: 'payout_batch',
    subjectId: batchId,
    before: { status: before.status },
    after: { status: 'exported' },
  });
  return batch;
}

async function lockPendingPayout(tx: Tx, ctx: SettlementContext, payoutId: string) {
  const found = await findPayout(tx, ctx.tenantId, payoutId);
  if (!found) throw new AppError('not_found', 'Payout not found');
  // Batch first, then payout: the order every settlement takes, so two settlements queue.
  const batch = await lockBatch(tx, ctx, found.batch_id, 'settle');
  const payout = (await findPayout(tx, ctx.tenantId, payoutId, { forUpdate: true }))!;
  if (payout.status !== 'pending')
    throw new AppError('invalid_transition', `This payout is already ${payout.status}`, {
      status: payout.status,
    });
  return { batch, payout };
}

/** A batch whose payouts are all settled is paid (some paid) or failed (all failed). */
async function settleBatchIfDone(tx: Tx, ctx: SettlementContext, batch: PayoutBatchRow): Promise<void> {
  const payouts = await payoutsOfBatch(tx, ctx.tenantId, batch.id);
  if (payouts.some((p) => p.status === 'pending')) return;
  const status: PayoutBatchStatus = payouts.some((p) => p.status === 'paid') ? 'paid' : 'failed';
  await tx
    .updateTable('payout_batches')
    .set({ status, settled_at: ctx.now, updated_at: ctx.now })
    .where('tenant_id', '=', ctx.tenantId)
    .where('id', '=', batch.id)
    .execute();
  await writeAudit(tx, ctx.audit, {
    action: `payout_batch.${status}`,
    subjectType: 'payout_batch',
    subjectId: batch.id,
    before: { status: batch.status },
    after: { status },
  });
}

/**
 * Marks one payout paid with the payment's reference: its lines become paid and its amount moves
 * from the partner's payable account to paid (one ledger transaction, keyed by the payout). A payout
 * is paid at most once: only a pending payout can be, and its lines were claimed by it alone.
 */
export async function markPayoutPaid(
  tx: Tx,
  ctx: SettlementContext,
  payoutId: string,
  reference: string,
): Promise<PayoutRow> {
  const { batch, payout } = await lockPendingPayout(tx, ctx, payoutId);
  const account = { partnerId: payout.partner_id, programId: payout.program_id, currency: payout.currency };
  const posted = await postTransaction(tx, {
    tenantId: ctx.tenantId,
    idempotencyKey: `payout:${payout.id}:paid`,
    kind: 'payout',
    cause: { payoutId: payout.id, batchId: batch.id, reference },
    occurredAt: ctx.now,
    recordedAt: ctx.now,
    lines: [
      { account: { kind: 'partner_payable', ...account }, amount: -payout.amount },
      { account: { kind: 'partner_paid', ...account }, amount: payout.amount },
    ],
  });
  const paidLines = await tx
    .updateTable('commission_lines')
    .set({ status: 'paid', paid_at: ctx.now })
    .where('tenant_id', '=', ctx.tenantId)
    .where('payout_id', '=', payout.id)
    .where('status', '=', 'approved')
    .returning('amount')
    .execute();
  const sum = paidLines.reduce((total, l) => total + l.amount, 0n);
  if (sum !== payout.amount || paidLines.length !== payout.line_count)
    throw new AppError('conflict', 'The payout no longer matches its lines; it was not paid', {
      amount: payout.amount.toString(),
      lines: sum.toString(),
    });
  const paid = await tx
    .updateTable('payouts')
    .set({
      status: 'paid',
      reference,
      ledger_transaction_id: posted.transaction.id,
      settled_at: ctx.now,
    })
    .where('tenant_id', '=', ctx.tenantId)
    .where('id', '=', payout.id)
    .returningAll()
    .executeTakeFirstOrThrow();
  await writeAudit(tx, ctx.audit, {
    action: 'payout.paid',
    subjectType: 'payout',
    subjectId: payout.id,
    before: { status: 'pending' },
    after: { status: 'paid', reference, amount: payout.amount, ledgerTransactionId: posted.transaction.id },
  });
  await publishEvent(tx, {
    type: 'payout.paid',
    tenantId: ctx.tenantId,
    subjectId: payout.id,
    occurredAt: ctx.now,
    data: {
      payoutId: payout.id,
      batchId: batch.id,
      partnerId: payout.partner_id,
      programId: payout.program_id,
      amount: payout.amount,
      currency: payout.currency,
      reference,
    },
  });
  await settleBatchIfDone(tx, ctx, batch);
  return paid;
}

/**
 * Marks one payout failed: nothing was paid, so no money moves; its lines are released (approved and
 * unclaimed again) for the next run.
 */
export async function markPayoutFailed(
  tx: Tx,
  ctx: SettlementContext,
  payoutId: string,
  reason: string,
): Promise<PayoutRow> {
  const { batch, payout } = await lockPendingPayout(tx, ctx, payoutId);
  const released = await tx
    .updateTable('commission_lines')
    .set({ payout_id: null })
    .where('tenant_id', '=', ctx.tenantId)
    .where('payout_id', '=', payout.id)
    .where('status', '=', 'approved')
    .returning('id')
    .execute();
  const failed = await tx
    .updateTable('payouts')
    .set({ status: 'failed', failure_reason: reason, settled_at: ctx.now })
    .where('tenant_id', '=', ctx.tenantId)
    .where('id', '=', payout.id)
    .returningAll()
    .executeTakeFirstOrThrow();
  await writeAudit(tx, ctx.audit, {
    action: 'payout.failed',
    subjectType: 'payout',
    subjectId: payout.id,
    before: { status: 'pending' },
    after: { status: 'failed', reason, releasedLineIds: released.map((r) => r.id) },
  });
  await publishEvent(tx, {
    type: 'payout.failed',
    tenantId: ctx.tenantId,
    subjectId: payout.id,
    occurredAt: ctx.now,
    data: {
      payoutId: payout.id,
      batchId: batch.id,
      partnerId: payout.partner_id,
      amount: payout.amount,
      currency: payout.currency,
      reason,
    },
  });
  await settleBatchIfDone(tx, ctx, batch);
  return failed;
}
