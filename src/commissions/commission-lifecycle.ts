import type { Db } from '../db/database.ts';
import { publishEvent } from '../events/publish-event.ts';
import type { CommissionLineRow } from './commission-line.table.ts';

/*
 * The first step of a line's lifecycle after accrual: its hold runs out. No money moves (pending and
 * awaiting approval are both in the partner's pending account); the status only tells the approvers
 * which lines they may approve now. Approval itself checks hold_until, not this status, so a late
 * sweep never holds up an approval.
 */

const BATCH = 500;

/** One partner's lines of one program that left their hold in one sweep. */
export interface ReleasedGroup {
  tenantId: string;
  partnerId: string;
  programId: string;
  currency: string;
  lineIds: string[];
  total: bigint;
}

function groupLines(rows: CommissionLineRow[]): ReleasedGroup[] {
  const groups = new Map<string, ReleasedGroup>();
  for (const row of rows) {
    const key = `${row.tenant_id}:${row.partner_id}:${row.program_id}:${row.currency}`;
    const group = groups.get(key) ?? {
      tenantId: row.tenant_id,
      partnerId: row.partner_id,
      programId: row.program_id,
      currency: row.currency,
      lineIds: [],
      total: 0n,
    };
    group.lineIds.push(row.id);
    group.total += row.amount;
    groups.set(key, group);
  }
  return [...groups.values()];
}

/**
 * Moves every pending line whose hold_until ≤ now to awaiting_approval, in batches (each its own
 * transaction), with one `commission.awaiting_approval` event per partner, program and currency of a
 * batch. Rows locked by someone else (a reversal, an approval) are skipped and taken by the next
 * sweep; the update re-checks the status, so a line reversed meanwhile stays cancelled. Returns how
 * many lines moved.
 */
export async function releaseHolds(db: Db, now: Date, options: { tenantId?: string } = {}): Promise<number> {
  let total = 0;
  for (;;) {
    const moved = await db.transaction().execute(async (tx) => {
      let candidates = tx
        .selectFrom('commission_lines')
        .select('id')
        .where('status', '=', 'pending')
        .where('hold_until', '<=', now);
      if (options.tenantId) candidates = candidates.where('tenant_id', '=', options.tenantId);
      const ids = (await candidates.orderBy('id').limit(BATCH).forUpdate().skipLocked().execute()).map(
        (r) => r.id,
      );
      if (ids.length === 0) return 0;
      const rows = await tx
        .updateTable('commission_lines')
        .set({ status: 'awaiting_approval' })
        .where('id', 'in', ids)
        .where('status', '=', 'pending')
        .returningAll()
        .execute();
      for (const group of groupLines(rows)) {
        await publishEvent(tx, {
          type: 'commission.awaiting_approval',
          tenantId: group.tenantId,
          subjectId: group.partnerId,
          occurredAt: now,
          data: {
            partnerId: group.partnerId,
            programId: group.programId,
            lineIds: group.lineIds,
            total: group.total,
            currency: group.currency,
          },
        });
      }
      return ids.length;
    });
    total += moved;
    if (moved < BATCH) return total;
  }
}
