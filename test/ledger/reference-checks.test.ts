import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../../src/db/database.ts';
import { verifyLedger } from '../../src/ledger/ledger-verify.ts';
import { makeEngineWorld } from '../commissions/engine-fixture.ts';
import { createTestDatabase, type TestDatabase, usingPostgres } from '../helpers/test-database.ts';

const mode = usingPostgres ? 'PostgreSQL' : 'PGlite';

/**
 * The ledger's references (an entry's transaction and account, a commission line's transaction)
 * are checked once per statement by triggers instead of foreign keys (migration
 * 2026-12-07T0080): a row naming what does not exist in its tenant fails its whole statement with
 * 23503, and the parents those checks rely on cannot be deleted or re-keyed.
 */
describe(`ledger reference checks (${mode})`, () => {
  let database: TestDatabase;
  let db: Db;
  let tenantId: string;
  let otherTenantId: string;
  let lineId: string;
  let transactionId: string;
  let accountId: string;

  beforeAll(async () => {
    database = await createTestDatabase();
    db = database.handle.db;
    const w = await makeEngineWorld(db);
    await w.rule('revenue_share', { rate: '0.1' });
    const partner = await w.partner();
    await w.won(await w.deal([{ partnerId: partner.id }]), '2026-02-10T10:00:00Z', 100_000n);
    const line = (await w.lines())[0]!;
    tenantId = w.tenant.id;
    lineId = line.id;
    transactionId = line.ledger_transaction_id;
    const entry = await db
      .selectFrom('ledger_entries')
      .select('account_id')
      .where('transaction_id', '=', transactionId)
      .where('amount', '>', 0n)
      .executeTakeFirstOrThrow();
    accountId = entry.account_id;
    // A second world: a tenant of its own, with its own posting.
    const other = await makeEngineWorld(db);
    await other.rule('revenue_share', { rate: '0.1' });
    const otherPartner = await other.partner();
    await other.won(await other.deal([{ partnerId: otherPartner.id }]), '2026-02-10T10:00:00Z', 50_000n);
    otherTenantId = other.tenant.id;
  });
  afterAll(async () => {
    await database.destroy();
  });

  const counts = async () => {
    const row = await sql<{ entries: number; lines: number }>`
      select (select count(*)::int from ledger_entries) as entries,
        (select count(*)::int from commission_lines) as lines`.execute(db);
    return row.rows[0]!;
  };
  /** A balanced pair of entries in a statement of its own, on the given transaction and accounts. */
  const insertPair = (tenant: string, transaction: string, debit: string, credit: string) =>
    sql`
    insert into ledger_entries (tenant_id, transaction_id, account_id, amount, currency, balance_after, account_version)
    values (${tenant}, ${transaction}, ${debit}, -1, 'USD', -1, 1000), (${tenant}, ${transaction}, ${credit}, 1, 'USD', 1, 1001)`.execute(
      db,
    );
  const expenseOf = async (tenant: string) =>
    (
      await db
        .selectFrom('ledger_accounts')
        .select('id')
        .where('tenant_id', '=', tenant)
        .where('kind', '=', 'program_expense')
        .executeTakeFirstOrThrow()
    ).id;

  it('refuses an entry naming a transaction that does not exist, and the whole statement with it', async () => {
    const before = await counts();
    const error = await insertPair(tenantId, randomUUID(), await expenseOf(tenantId), accountId).catch(
      (e) => e,
    );
    expect(error).toMatchObject({ code: '23503' });
    expect(String(error.message)).toMatch(
      /ledger entry names transaction .* which does not exist in its tenant/,
    );
    expect(await counts()).toEqual(before);
  });

  it("refuses an entry naming an account that does not exist, or another tenant's account or transaction", async () => {
    const before = await counts();
    const expense = await expenseOf(tenantId);
    const missing = await insertPair(tenantId, transactionId, expense, randomUUID()).catch((e) => e);
    expect(missing).toMatchObject({ code: '23503' });
    expect(String(missing.message)).toMatch(/ledger entry names account /);
    // The other tenant's expense account, named from this tenant's transaction.
    const foreignAccount = await insertPair(
      tenantId,
      transactionId,
      await expenseOf(otherTenantId),
      accountId,
    ).catch((e) => e);
    expect(foreignAccount).toMatchObject({ code: '23503' });
    // This tenant's transaction, named from the other tenant.
    const other = await expenseOf(otherTenantId);
    const foreignTransaction = await insertPair(otherTenantId, transactionId, other, other).catch((e) => e);
    expect(foreignTransaction).toMatchObject({ code: '23503' });
    expect(String(foreignTransaction.message)).toMatch(/ledger entry names transaction /);
    expect(await counts()).toEqual(before);
    expect((await verifyLedger(db)).ok).toBe(true);
  });

  it('refuses a commission line naming a ledger transaction that does not exist in its tenant', async () => {
    const before = await counts();
    const copy = (transaction: string) =>
      sql`
      insert into commission_lines (tenant_id, program_id, partner_id, deal_id, kind, cause_key, amount, currency,
        ledger_transaction_id, status, accrued_at, hold_until)
      select tenant_id, program_id, partner_id, deal_id, kind, cause_key || ':copy', amount, currency,
        ${transaction}::uuid, status, accrued_at, hold_until
      from commission_lines where id = ${lineId}`.execute(db);
    const missing = await copy(randomUUID()).catch((e) => e);
    expect(missing).toMatchObject({ code: '23503' });
    expect(String(missing.message)).toMatch(/commission line names ledger transaction .* does not exist/);
    const otherTransaction = (
      await db
        .selectFrom('ledger_transactions')
        .select('id')
        .where('tenant_id', '=', otherTenantId)
        .executeTakeFirstOrThrow()
    ).id;
    await expect(copy(otherTransaction)).rejects.toMatchObject({ code: '23503' });
    expect(await counts()).toEqual(before);
  });

  it("refuses to change a line's ledger transaction, and still lets its status change", async () => {
    const otherOfTenant = await db
      .selectFrom('ledger_transactions')
      .select('id')
      .where('tenant_id', '=', tenantId)
      .where('id', '<>', transactionId)
      .executeTakeFirst();
    const target = otherOfTenant?.id ?? randomUUID();
    await expect(
      db
        .updateTable('commission_lines')
        .set({ ledger_transaction_id: target })
        .where('id', '=', lineId)
        .execute(),
    ).rejects.toThrow(/its ledger transaction cannot change/);
    await db
      .updateTable('commission_lines')
      .set({ status: 'awaiting_approval' })
      .where('id', '=', lineId)
      .execute();
    const line = await db
      .selectFrom('commission_lines')
      .select(['status', 'ledger_transaction_id'])
      .where('id', '=', lineId)
      .executeTakeFirstOrThrow();
    expect(line).toEqual({ status: 'awaiting_approval', ledger_transaction_id: transactionId });
  });

  it('refuses to delete, truncate or re-key an account, and still lets its balance change', async () => {
    await expect(db.deleteFrom('ledger_accounts').where('id', '=', accountId).execute()).rejects.toThrow(
      /append-only/,
    );
    await expect(sql`truncate ledger_accounts cascade`.execute(db)).rejects.toThrow(/append-only/);
    await expect(
      db.updateTable('ledger_accounts').set({ id: randomUUID() }).where('id', '=', accountId).execute(),
    ).rejects.toThrow(/its id and tenant cannot change/);
    await expect(
      db
        .updateTable('ledger_accounts')
        .set({ tenant_id: otherTenantId })
        .where('id', '=', accountId)
        .execute(),
    ).rejects.toThrow(/its id and tenant cannot change/);
    const before = await db
      .selectFrom('ledger_accounts')
      .select(['balance', 'version'])
      .where('id', '=', accountId)
      .executeTakeFirstOrThrow();
    // A balance change in a transaction rolled back: the trigger lets it through.
    await db
      .transaction()
      .execute(async (tx) => {
        await tx
          .updateTable('ledger_accounts')
          .set({ balance: before.balance + 1n })
          .where('id', '=', accountId)
          .execute();
        const row = await tx
          .selectFrom('ledger_accounts')
          .select('balance')
          .where('id', '=', accountId)
          .executeTakeFirstOrThrow();
        expect(row.balance).toBe(before.balance + 1n);
        throw new Error('roll back');
      })
      .catch((error) => expect(String(error)).toMatch(/roll back/));
    expect((await verifyLedger(db)).ok).toBe(true);
  });
});
