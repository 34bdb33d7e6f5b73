import type { Tx } from '../db/database.ts';
import type { PayoutBatchRow, PayoutRow } from './payout.table.ts';
import { markPayoutFailed, markPayoutPaid, type SettlementContext } from './payout-settlement.ts';

/** What a provider knows about one payout after handing it over. */
export type PayoutOutcome =
  | { payoutId: string; status: 'pending' }
  | { payoutId: string; status: 'paid'; reference: string }
  | { payoutId: string; status: 'failed'; reason: string };

/**
 * Where money actually leaves: a bank file, a payment API, a person with the CSV. `submit` hands an
 * approved batch's payouts over and says what is known at once; outcomes known later (a webhook, a
 * person confirming) come back through `applyOutcome`, the one way a payout is settled.
 */
export interface PayoutProvider {
  readonly name: string;
  submit(batch: PayoutBatchRow, payouts: PayoutRow[]): Promise<PayoutOutcome[]>;
}

/** Applies one outcome in the caller's transaction: paid or failed; pending changes nothing. */
export async function applyOutcome(
  tx: Tx,
  ctx: SettlementContext,
  outcome: PayoutOutcome,
): Promise<PayoutRow | null> {
  switch (outcome.status) {
    case 'paid':
      return markPayoutPaid(tx, ctx, outcome.payoutId, outcome.reference);
    case 'failed':
      return markPayoutFailed(tx, ctx, outcome.payoutId, outcome.reason);
    default:
      return null;
  }
}

/**
 * The manual provider: accounts payable pays from the exported CSV, then someone marks each payout
 * paid with the payment's reference, or failed with a reason. Submitting changes nothing.
 */
export const manualPayoutProvider: PayoutProvider & {
  markPaid(payoutId: string, reference: string): PayoutOutcome;
  markFailed(payoutId: string, reason: string): PayoutOutcome;
} = {
  name: 'manual',
  async submit(_batch, payouts) {
    return payouts.map((p) => ({ payoutId: p.id, status: 'pending' as const }));
  },
  markPaid: (payoutId, reference) => ({ payoutId, status: 'paid', reference }),
  markFailed: (payoutId, reason) => ({ payoutId, status: 'failed', reason }),
};
