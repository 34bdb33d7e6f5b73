import type { Tx } from '../db/database.ts';
import { AppError } from '../errors/app-error.ts';
import { type PostResult, postTransaction } from './post-transaction.ts';

export interface ReverseTransactionInput {
  tenantId: string;
  transactionId: string;
  /** Derived from the cause of the reversal, e.g. `deal:<id>:v<version>:reverse:<transaction id>`. */
  idempotencyKey: string;
  reason: string;
  /** When the reversal happened in the domain; defaults to the original's occurred_at. */
  occurredAt?: Date;
  recordedAt?: Date;
}

/**
 * Posts the exact negation of a transaction's stored lines, on the very accounts (shards included)
 * it touched, naming it as the transaction it corrects. Never a recomputation: what was posted is
 * what is taken back, every override leg of the transaction with it.
 *
 * At most once: replaying with the key of the first reversal returns it (`applied: false`); any
 * other key is `already_reversed`, also when two reversals race (a unique index decides). A
 * reversal is final: to re-apply, post a new transaction for the new cause.
 */
export async function reverseTransaction(tx: Tx, input: ReverseTransactionInput): Promise<PostResult> {
  const original = await tx
    .selectFrom('ledger_transactions')
    .selectAll()
    .where('tenant_id', '=', input.tenantId)
    .where('id', '=', input.transactionId)
    .executeTakeFirst();
  if (!original) throw new AppError('not_found', `No ledger transaction ${input.transactionId}`);
  if (original.kind === 'reversal') {
    throw new AppError(
      'invalid_transition',
      'A reversal cannot be reversed; post a new transaction instead',
      {
        transactionId: original.id,
      },
    );
  }

  const earlier = await tx
    .selectFrom('ledger_transactions')
    .select(['id', 'idempotency_key'])
    .where('tenant_id', '=', input.tenantId)
    .where('kind', '=', 'reversal')
    .where('corrects_transaction_id', '=', original.id)
    .executeTakeFirst();
  if (earlier && earlier.idempotency_key !== input.idempotencyKey) {
    throw new AppError('already_reversed', `Ledger transaction ${original.id} is already reversed`, {
      transactionId: original.id,
      reversalId: earlier.id,
    });
  }

  const entries = await tx
    .selectFrom('ledger_entries')
    .select(['account_id', 'amount', 'currency'])
    .where('tenant_id', '=', input.tenantId)
    .where('transaction_id', '=', original.id)
    .orderBy('id')
    .execute();
  return postTransaction(tx, {
    tenantId: input.tenantId,
    idempotencyKey: input.idempotencyKey,
    kind: 'reversal',
    correctsTransactionId: original.id,
    cause: { reason: input.reason, reverses: original.id, reversesKey: original.idempotency_key },
    occurredAt: input.occurredAt ?? original.occurred_at,
    lines: entries.map((e) => ({
      account: { accountId: e.account_id, currency: e.currency },
      amount: -e.amount,
    })),
    ...(input.recordedAt ? { recordedAt: input.recordedAt } : {}),
  });
}
