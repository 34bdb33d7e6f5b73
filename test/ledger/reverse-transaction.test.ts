import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../../src/db/database.ts';
import { AppError } from '../../src/errors/app-error.ts';
import { accountBalance } from '../../src/ledger/account.repository.ts';
import { verifyLedger } from '../../src/ledger/ledger-verify.ts';
import { postTransaction } from '../../src/ledger/post-transaction.ts';
import { type ReverseTransactionInput, reverseTransaction } from '../../src/ledger/reverse-transaction.ts';
import {
  accrualLines,
  entriesOf,
  type LedgerFixture,
  ledgerCounts,
  makeLedgerFixture,
} from '../factories/ledger.factory.ts';
import { createTestDatabase, type TestDatabase, usingPostgres } from '../helpers/test-database.ts';

const mode = usingPostgres ? 'PostgreSQL' : 'PGlite';
const at = new Date('2026-03-01T10:00:00.000Z');

describe(`reverseTransaction (${mode})`, () => {
  let database: TestDatabase;
  let db: Db;
  let f: LedgerFixture;
  let seq = 0;

  beforeAll(async () => {
    database = await createTestDatabase();
    db = database.handle.db;
    f = await makeLedgerFixture(db);
  });
  afterAll(async () => {
    await database.destroy();
  });

  /** An accrual to the three partners of the chain (a revenue share and two override legs). */
  async function accrue(amounts: [bigint, bigint, bigint] = [10_001n, 1_000n, 333n]) {
    const [lead, delivery, sub] = f.partners.map((p) => p.id) as [string, string, string];
    const key = `deal:${++seq}:v1`;
    const { transaction } = await db.transaction().execute((tx) =>
      postTransaction(tx, {
        tenantId: f.tenant.id,
        idempotencyKey: key,
        kind: 'accrual',
        cause: { deal: seq },
        occurredAt: at,
        lines: accrualLines(f.program.id, 'JPY', [
          [sub, amounts[0]],
          [delivery, amounts[1]],
          [lead, amounts[2]],
        ]),
      }),
    );
    return transaction;
  }
  const reverse = (input: Omit<ReverseTransactionInput, 'tenantId'>) =>
    db.transaction().execute((tx) => reverseTransaction(tx, { tenantId: f.tenant.id, ...input }));
  const balances = async () =>
    Promise.all([
      ...f.partners.map((p) =>
        accountBalance(db, f.tenant.id, { kind: 'partner_pending', partnerId: p.id, currency: 'JPY' }),
      ),
      accountBalance(db, f.tenant.id, { kind: 'program_expense', programId: f.program.id, currency: 'JPY' }),
    ]);

  it('posts the exact negation of every stored line, on the same accounts, naming the original', async () => {
    const before = await balances();
    const original = await accrue();
    const result = await reverse({
      transactionId: original.id,
      idempotencyKey: `reverse:${original.id}`,
      reason: 'deal lost',
      occurredAt: new Date('2026-04-01T00:00:00Z'),
    });
    expect(result.applied).toBe(true);
    expect(result.transaction).toMatchObject({ kind: 'reversal', corrects_transaction_id: original.id });
    expect(result.transaction.cause).toMatchObject({ reason: 'deal lost', reverses: original.id });

    const originalLines = (await entriesOf(db, original.id)).map((e) => [e.account_id, e.currency, e.amount]);
    const reversalLines = (await entriesOf(db, result.transaction.id)).map((e) => [
      e.account_id,
      e.currency,
      -e.amount,
    ]);
    expect(reversalLines).toEqual(originalLines);
    expect(await balances()).toEqual(before);
    expect((await verifyLedger(db, { tenantId: f.tenant.id })).ok).toBe(true);
  });

  it('reverses at most once: the same key replays, another key is already_reversed', async () => {
    const original = await accrue();
    const first = await reverse({ transactionId: original.id, idempotencyKey: 'rev:a', reason: 'refund' });
    const afterFirst = await balances();
    const counts = await ledgerCounts(db, f.tenant.id);

    const replay = await reverse({ transactionId: original.id, idempotencyKey: 'rev:a', reason: 'refund' });
    expect(replay).toEqual({ applied: false, transaction: first.transaction });

    const second = await reverse({
      transactionId: original.id,
      idempotencyKey: 'rev:b',
      reason: 'refund',
    }).catch((e: unknown) => e as AppError);
    expect(second).toBeInstanceOf(AppError);
    expect((second as AppError).code).toBe('already_reversed');
    expect((second as AppError).details).toEqual({
      transactionId: original.id,
      reversalId: first.transaction.id,
    });

    expect(await balances()).toEqual(afterFirst);
    expect(await ledgerCounts(db, f.tenant.id)).toEqual(counts);
  });

  it('refuses the same reversal key with another reason as an idempotency conflict', async () => {
    const original = await accrue();
    await reverse({ transactionId: original.id, idempotencyKey: 'rev:c', reason: 'refund' });
    const error = await reverse({
      transactionId: original.id,
      idempotencyKey: 'rev:c',
      reason: 'fraud',
    }).catch((e: unknown) => e as AppError);
    expect((error as AppError).code).toBe('ledger_idempotency_conflict');
  });

  it('refuses to reverse a reversal, and a transaction that is not there (or not this tenant’s)', async () => {
    const original = await accrue();
    const { transaction } = await reverse({
      transactionId: original.id,
      idempotencyKey: 'rev:d',
      reason: 'x',
    });
    const again = await reverse({
      transactionId: transaction.id,
      idempotencyKey: 'rev:e',
      reason: 'x',
    }).catch((e: unknown) => e as AppError);
    expect((again as AppError).code).toBe('invalid_transition');

    const missing = await reverse({
      transactionId: '00000000-0000-4000-8000-000000000000',
      idempotencyKey: 'rev:f',
      reason: 'x',
    }).catch((e: unknown) => e as AppError);
    expect((missing as AppError).code).toBe('not_found');

    const other = await makeLedgerFixture(db, 1);
    const foreign = await db
      .transaction()
      .execute((tx) =>
        reverseTransaction(tx, {
          tenantId: other.tenant.id,
          transactionId: original.id,
          idempotencyKey: 'rev:g',
          reason: 'x',
        }),
      )
      .catch((e: unknown) => e as AppError);
    expect((foreign as AppError).code).toBe('not_found');
  });

  it('takes back what was stored even after balances moved on', async () => {
    const [lead] = f.partners;
    const original = await accrue([7n, 5n, 3n]);
    await accrue([100n, 100n, 100n]);
    const leadBefore = await accountBalance(db, f.tenant.id, {
      kind: 'partner_pending',
      partnerId: lead!.id,
      currency: 'JPY',
    });
    await reverse({ transactionId: original.id, idempotencyKey: 'rev:h', reason: 'x' });
    expect(
      await accountBalance(db, f.tenant.id, {
        kind: 'partner_pending',
        partnerId: lead!.id,
        currency: 'JPY',
      }),
    ).toBe(leadBefore - 3n);
    expect((await verifyLedger(db, { tenantId: f.tenant.id })).ok).toBe(true);
  });

  it('makes one reversal of two racing with different keys', async () => {
    const original = await accrue();
    const results = await Promise.allSettled([
      reverse({ transactionId: original.id, idempotencyKey: 'race:1', reason: 'x' }),
      reverse({ transactionId: original.id, idempotencyKey: 'race:2', reason: 'x' }),
    ]);
    const fulfilled = results.filter((r) => r.status === 'fulfilled');
    const rejected = results.filter((r) => r.status === 'rejected');
    expect(fulfilled).toHaveLength(1);
    expect(rejected).toHaveLength(1);
    expect(((rejected[0] as PromiseRejectedResult).reason as AppError).code).toBe('already_reversed');
    const reversals = await db
      .selectFrom('ledger_transactions')
      .select('id')
      .where('corrects_transaction_id', '=', original.id)
      .execute();
    expect(reversals).toHaveLength(1);
    expect((await verifyLedger(db, { tenantId: f.tenant.id })).ok).toBe(true);
  });
});
