import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postTransaction } from '../../src/ledger/post-transaction.ts';
import {
  accrualLines,
  entriesOf,
  type LedgerFixture,
  makeLedgerFixture,
} from '../factories/ledger.factory.ts';
import { createTestDatabase, type TestDatabase, usingPostgres } from '../helpers/test-database.ts';

const mode = usingPostgres ? 'PostgreSQL' : 'PGlite';

describe(`the ledger is append-only (${mode})`, () => {
  let database: TestDatabase;
  let fixture: LedgerFixture;
  let transactionId: string;

  beforeAll(async () => {
    database = await createTestDatabase();
    const db = database.handle.db;
    fixture = await makeLedgerFixture(db);
    const { transaction } = await db.transaction().execute((tx) =>
      postTransaction(tx, {
        tenantId: fixture.tenant.id,
        idempotencyKey: 'deal:1:v1',
        kind: 'accrual',
        cause: { deal: '1' },
        occurredAt: new Date('2026-03-01T10:00:00Z'),
        lines: accrualLines(fixture.program.id, 'EUR', [[fixture.partners[0]!.id, 1250n]]),
      }),
    );
    transactionId = transaction.id;
  });
  afterAll(async () => {
    await database.destroy();
  });

  const refused = /append-only/;

  it('refuses to update an entry', async () => {
    const db = database.handle.db;
    await expect(
      db
        .updateTable('ledger_entries')
        .set({ currency: 'USD' })
        .where('transaction_id', '=', transactionId)
        .execute(),
    ).rejects.toThrow(refused);
    await expect(
      sql`update ledger_entries set amount = amount * 2 where transaction_id = ${transactionId}`.execute(db),
    ).rejects.toThrow(refused);
    const entries = await entriesOf(db, transactionId);
    expect(entries.map((e) => [e.amount, e.currency])).toEqual([
      [-1250n, 'EUR'],
      [1250n, 'EUR'],
    ]);
  });

  it('refuses to delete an entry', async () => {
    const db = database.handle.db;
    await expect(
      db.deleteFrom('ledger_entries').where('transaction_id', '=', transactionId).execute(),
    ).rejects.toThrow(refused);
    expect(await entriesOf(db, transactionId)).toHaveLength(2);
  });

  it('refuses to update or delete a transaction', async () => {
    const db = database.handle.db;
    await expect(
      db
        .updateTable('ledger_transactions')
        .set({ idempotency_key: 'other' })
        .where('id', '=', transactionId)
        .execute(),
    ).rejects.toThrow(refused);
    await expect(
      db.deleteFrom('ledger_transactions').where('id', '=', transactionId).execute(),
    ).rejects.toThrow(refused);
    const row = await db
      .selectFrom('ledger_transactions')
      .select('idempotency_key')
      .where('id', '=', transactionId)
      .executeTakeFirst();
    expect(row?.idempotency_key).toBe('deal:1:v1');
  });

  it('refuses to truncate entries or transactions', async () => {
    const db = database.handle.db;
    await expect(sql`truncate ledger_entries`.execute(db)).rejects.toThrow(refused);
    await expect(sql`truncate ledger_transactions cascade`.execute(db)).rejects.toThrow(refused);
    expect(await entriesOf(db, transactionId)).toHaveLength(2);
  });

  it('refuses inside a transaction too, and the transaction rolls back whole', async () => {
    const db = database.handle.db;
    await expect(
      db.transaction().execute(async (tx) => {
        await tx
          .updateTable('ledger_accounts')
          .set({ balance: 0n })
          .where('tenant_id', '=', fixture.tenant.id)
          .execute();
        await tx.deleteFrom('ledger_entries').where('transaction_id', '=', transactionId).execute();
      }),
    ).rejects.toThrow(refused);
    const balances = await db
      .selectFrom('ledger_accounts')
      .select('balance')
      .where('tenant_id', '=', fixture.tenant.id)
      .execute();
    expect(balances.map((b) => b.balance).sort()).toEqual([-1250n, 1250n]);
  });
});
