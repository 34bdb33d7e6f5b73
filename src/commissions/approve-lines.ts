import { createHash } from 'node:crypto';
import { type AuditContext, writeAudit } from '../audit/audit.repository.ts';
import type { Tx } from '../db/database.ts';
import { publishEvent } from '../events/publish-event.ts';
import type { PostLine } from '../ledger/post-transaction.ts';
import { postTransaction } from '../ledger/post-transaction.ts';
import type { CommissionLineRow } from './commission-line.table.ts';

/*
 * Approval: a person (or the API acting for one) accepts lines whose hold is over; their money moves
 * from the partner's pending account to payable in one ledger transaction per call. The lines are
 * locked FOR UPDATE in id order, the order reverseLines locks them in, so an approval and a clawback
 * of the same lines queue instead of deadlocking, and whichever runs second sees the other's result:
 * a line cancelled first is not approved; a line approved first is clawed back from payable.
 */

export type ApprovalSelection =
  | { lineIds: string[] }
  /** Every line of the program (and partner) that is past its hold and not approved yet. */
  | { programId: string; partnerId?: string | null };

export interface ApproveInput {
  tenantId: string;
  selection: ApprovalSelection;
  /** The approver's time (services.clock): lines with hold_until ≤ now may be approved. */
  now: Date;
  /** Who approved, as recorded on the lines (`api_key:<id>`, `user:<id>`, `cli`, …). */
  approvedBy: string;
  audit: AuditContext;
}

export type SkipReason = 'not_found' | 'in_hold' | 'already_approved' | 'cancelled';

export interface ApproveResult {
  approved: CommissionLineRow[];
  /** Lines asked for by id that were not approved, and why. */
  skipped: { id: string; reason: SkipReason }[];
  /** The pending → payable ledger transaction; null when nothing was approved. */
  ledgerTransactionId: string | null;
  /** A bulk approval stopped at BULK_LIMIT lines: call again for the rest. */
  more: boolean;
}

/** Lines per bulk call: one ledger transaction and one lock set stay a bounded size. */
export const BULK_LIMIT = 5_000;

interface Group {
  partnerId: string;
  programId: string;
  currency: string;
  lines: CommissionLineRow[];
  total: bigint;
}

function groupsOf(lines: CommissionLineRow[]): Group[] {
  const groups = new Map<string, Group>();
  for (const line of lines) {
    const key = `${line.partner_id}:${line.program_id}:${line.currency}`;
    const group = groups.get(key) ?? {
      partnerId: line.partner_id,
      programId: line.program_id,
      currency: line.currency,
      lines: [],
      total: 0n,
    };
    group.lines.push(line);
    group.total += line.amount;
    groups.set(key, group);
  }
  return [...groups.values()];
}

function skipReason(line: CommissionLineRow | undefined, now: Date): SkipReason {
  if (!line) return 'not_found';
  if (line.status === 'cancelled') return 'cancelled';
  if (line.status === 'approved' || line.status === 'paid') return 'already_approved';
  return line.hold_until > now ? 'in_hold' : 'already_approved';
}

/** The idempotency key of an approval: the same set of lines always makes the same key. */
export function approvalKey(lineIds: string[]): string {
  const digest = createHash('sha256')
    .update([...lineIds].sort().join(','))
    .digest('hex');
  return `approve:${digest}`;
}

/**
 * Approves the selected lines that are past their hold (pending or awaiting approval, hold_until ≤
 * now): status approved with approved_at/approved_by, one pending → payable ledger transaction for
 * all of them (keyed by the sorted line ids), one audit entry and one `commission.approved` event per
 * partner, program and currency. Lines not eligible are skipped, never an error: a bulk approval of
 * a program approves what is due and leaves the rest.
 */
export async function approveLines(tx: Tx, input: ApproveInput): Promise<ApproveResult> {
  const { tenantId, selection, now } = input;
  let query = tx.selectFrom('commission_lines').selectAll().where('tenant_id', '=', tenantId);
  let requested: string[] = [];
  if ('lineIds' in selection) {
    requested = [...new Set(selection.lineIds.map((id) => id.toLowerCase()))].sort();
    if (requested.length === 0) return { approved: [], skipped: [], ledgerTransactionId: null, more: false };
    query = query.where('id', 'in', requested);
  } else {
    query = query
      .where('program_id', '=', selection.programId)
      .where('status', 'in', ['pending', 'awaiting_approval'])
      .where('hold_until', '<=', now);
    if (selection.partnerId) query = query.where('partner_id', '=', selection.partnerId);
    query = query.limit(BULK_LIMIT);
  }
  // Under READ COMMITTED the lock re-reads each row once it is ours: a line a concurrent reversal
  // cancelled, or a concurrent approval approved, shows its new status here.
  const locked = await query.orderBy('id').forUpdate().execute();
  const eligible = locked.filter(
    (l) => (l.status === 'pending' || l.status === 'awaiting_approval') && l.hold_until <= now,
  );
  const byId = new Map(locked.map((l) => [l.id, l]));
  const skipped = requested
    .filter((id) => !eligible.some((l) => l.id === id))
    .map((id) => ({ id, reason: skipReason(byId.get(id), now) }));
  const more = !('lineIds' in selection) && locked.length === BULK_LIMIT;
  if (eligible.length === 0) return { approved: [], skipped, ledgerTransactionId: null, more };

  const groups = groupsOf(eligible);
  const ledgerLines: PostLine[] = groups
    .filter((g) => g.total !== 0n)
    .flatMap((g) => [
      {
        account: {
          kind: 'partner_pending' as const,
          partnerId: g.partnerId,
          programId: g.programId,
          currency: g.currency,
        },
        amount: -g.total,
      },
      {
        account: {
          kind: 'partner_payable' as const,
          partnerId: g.partnerId,
          programId: g.programId,
          currency: g.currency,
        },
        amount: g.total,
      },
    ]);
  const ids = eligible.map((l) => l.id);
  let ledgerTransactionId: string | null = null;
  // Lines of a partner that net to zero (an accrual and a negative tier adjustment) move no money.
  if (ledgerLines.length > 0) {
    const posted = await postTransaction(tx, {
      tenantId,
      idempotencyKey: approvalKey(ids),
      kind: 'approval',
      cause: { approvedBy: input.approvedBy, lines: eligible.map((l) => [l.id, l.amount.toString()]) },
      occurredAt: now,
      recordedAt: now,
      lines: ledgerLines,
    });
    ledgerTransactionId = posted.transaction.id;
  }

  const approved = await tx
    .updateTable('commission_lines')
    .set({ status: 'approved', approved_at: now, approved_by: input.approvedBy })
    .where('tenant_id', '=', tenantId)
    .where('id', 'in', ids)
    .returningAll()
    .execute();
  approved.sort((a, b) => (a.id < b.id ? -1 : 1));

  for (const group of groups) {
    const lines = group.lines.map((l) => ({ id: l.id, amount: l.amount, currency: l.currency }));
    await writeAudit(tx, input.audit, {
      action: 'commission.approved',
      subjectType: 'partner',
      subjectId: group.partnerId,
      after: {
        programId: group.programId,
        lineIds: lines.map((l) => l.id),
        total: group.total,
        currency: group.currency,
        approvedBy: input.approvedBy,
        ledgerTransactionId,
      },
    });
    await publishEvent(tx, {
      type: 'commission.approved',
      tenantId,
      subjectId: group.partnerId,
      occurredAt: now,
      data: {
        partnerId: group.partnerId,
        programId: group.programId,
        lines,
        total: group.total,
        currency: group.currency,
      },
    });
  }
  return { approved, skipped, ledgerTransactionId, more };
}
