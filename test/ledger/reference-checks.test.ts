import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db, Tx } from '../../src/db/database.ts';
import { verifyLedger } from '../../src/ledger/ledger-verify.ts';
import { makeEngineWorld } from '../commissions/engine-fixture.ts';
import { createTestDatabase, type TestDatabase, usingPostgres } from '../helpers/test-database.ts';

const mode = usingPostgres ? 'PostgreSQL' : 'PGlite';

/**
 * The references of the rows a posting writes in bulk (an entry's transaction and account, a
 * commission line's transaction, program, partner and deal, a deal event's deal) are checked once
 * per statement by triggers instead of foreign keys (migration 2026-12-07T0080): a row naming what
 * does not exist in its tenant fails its whole statement with 23503, the references cannot change,
 * and the parents the checks rely on cannot be deleted, truncated or re-keyed.
 */
describe(`statement reference checks (${mode})`, () => {
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
      /ledger_entries: a new row names transaction .* which does not exist in its tenant/,
    );
    expect(await counts()).toEqual(before);
  });

  it("refuses an entry naming an account that does not exist, or another tenant's account or transaction", async () => {
    const before = await counts();
    const expense = await expenseOf(tenantId);
    const missing = await insertPair(tenantId, transactionId, expense, randomUUID()).catch((e) => e);
    expect(missing).toMatchObject({ code: '23503' });
    expect(String(missing.message)).toMatch(/ledger_entries: a new row names account /);
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
    expect(String(foreignTransaction.message)).toMatch(/ledger_entries: a new row names transaction /);
    expect(await counts()).toEqual(before);
    expect((await verifyLedger(db)).ok).toBe(true);
  });

  /** A copy of the posted line with other references, in a statement of its own. */
  const copyLine = (
    refs: { transaction?: string; program?: string; partner?: string; deal?: string },
    executor: Db | Tx = db,
  ) =>
    sql`
    insert into commission_lines (tenant_id, program_id, partner_id, deal_id, kind, cause_key, amount, currency,
      ledger_transaction_id, status, accrued_at, hold_until)
    select tenant_id, coalesce(${refs.program ?? null}::uuid, program_id), coalesce(${refs.partner ?? null}::uuid, partner_id),
      coalesce(${refs.deal ?? null}::uuid, deal_id), kind, cause_key || ':copy', amount, currency,
      coalesce(${refs.transaction ?? null}::uuid, ledger_transaction_id), status, accrued_at, hold_until
    from commission_lines where id = ${lineId}`.execute(executor);
  const otherTenantRow = async (table: 'ledger_transactions' | 'programs' | 'partners' | 'deals') =>
    (await db.selectFrom(table).select('id').where('tenant_id', '=', otherTenantId).executeTakeFirstOrThrow())
      .id;

  it('checks by index probes, never by reading a parent table whole (what a foreign key does)', async () => {
    // A check function keeps the plan it made when the tables were small; a sequential scan kept so
    // reads every transaction of the ledger for each posting. The session's scan counters (which
    // still hold earlier transactions' counts not yet reported) are read before and after, inside
    // one transaction, where they are not reported.
    const parents = ['ledger_transactions', 'ledger_accounts', 'programs', 'partners', 'deals'];
    const counters = async (tx: Tx) => {
      const { rows } = await sql<{ relname: string; seq_scan: number; idx_scan: number }>`
        select relname, seq_scan::int, idx_scan::int from pg_stat_xact_user_tables
        where relname = any(${parents})`.execute(tx);
      return new Map(rows.map((r) => [r.relname, r]));
    };
    const { before, after } = await db.transaction().execute(async (tx) => {
      const before = await counters(tx);
      for (let i = 0; i < 8; i++) {
        await sql`savepoint s`.execute(tx);
        await sql`
          insert into ledger_entries (tenant_id, transaction_id, account_id, amount, currency, balance_after, account_version)
          values (${tenantId}, ${transactionId}, ${accountId}, 1, 'USD', 1, 2000),
            (${tenantId}, ${transactionId}, ${accountId}, -1, 'USD', 0, 2001)`.execute(tx);
        await copyLine({}, tx);
        await sql`rollback to savepoint s`.execute(tx);
      }
      return { before, after: await counters(tx) };
    });
    const delta = (name: string, counter: 'seq_scan' | 'idx_scan') =>
      (after.get(name)?.[counter] ?? 0) - (before.get(name)?.[counter] ?? 0);
    expect(Object.fromEntries(parents.map((name) => [name, delta(name, 'seq_scan')]))).toEqual(
      Object.fromEntries(parents.map((name) => [name, 0])),
    );
    // …and the checks did look: every parent was probed by index in each of the 8 rounds.
    for (const name of parents) expect(delta(name, 'idx_scan'), name).toBeGreaterThanOrEqual(8);
  });

  it('refuses a commission line naming a ledger transaction, program, partner or deal missing from its tenant', async () => {
    const before = await counts();
    const refs = [
      ['ledger transaction', 'transaction', 'ledger_transactions'],
      ['program', 'program', 'programs'],
      ['partner', 'partner', 'partners'],
      ['deal', 'deal', 'deals'],
    ] as const;
    for (const [what, ref, table] of refs) {
      const missing = await copyLine({ [ref]: randomUUID() }).catch((e) => e);
      expect(missing).toMatchObject({ code: '23503' });
      expect(String(missing.message)).toMatch(
        new RegExp(
          `commission_lines: a new row names ${what} [0-9a-f-]{36}, which does not exist in its tenant`,
        ),
      );
      await expect(copyLine({ [ref]: await otherTenantRow(table) })).rejects.toMatchObject({ code: '23503' });
    }
    expect(await counts()).toEqual(before);
    // The copy with the same references is accepted: the check is not refusing everything.
    await db.transaction().execute(async (tx) => {
      await sql`savepoint copy`.execute(tx);
      await copyLine({}, tx);
      await sql`rollback to savepoint copy`.execute(tx);
    });
  });

  it('refuses a deal event naming a deal missing from its tenant', async () => {
    const insertEvent = (dealId: string) =>
      sql`
      insert into deal_events (tenant_id, deal_id, source, source_event_id, type, occurred_at, payload, outcome)
      values (${tenantId}, ${dealId}, 'api', ${randomUUID()}, 'deal.updated', now(), '{}', 'applied')`.execute(
        db,
      );
    const missing = await insertEvent(randomUUID()).catch((e) => e);
    expect(missing).toMatchObject({ code: '23503' });
    expect(String(missing.message)).toMatch(
      /deal_events: a new row names deal .* which does not exist in its tenant/,
    );
    await expect(insertEvent(await otherTenantRow('deals'))).rejects.toMatchObject({ code: '23503' });
  });

  it("refuses to change a line's or an event's references, and still lets a line's status change", async () => {
    const line = await db
      .selectFrom('commission_lines')
      .selectAll()
      .where('id', '=', lineId)
      .executeTakeFirstOrThrow();
    const changes = [
      ['ledger_transaction_id', randomUUID()],
      ['program_id', await otherTenantRow('programs')],
      ['partner_id', randomUUID()],
      ['deal_id', null],
    ] as const;
    for (const [column, value] of changes) {
      await expect(
        db
          .updateTable('commission_lines')
          .set({ [column]: value })
          .where('id', '=', lineId)
          .execute(),
      ).rejects.toThrow(new RegExp(`commission_lines: ${column} of row ${lineId} cannot change`));
    }
    await expect(
      db
        .updateTable('deal_events')
        .set({ deal_id: randomUUID() })
        .where('tenant_id', '=', tenantId)
        .execute(),
    ).rejects.toThrow(/deal_events: deal_id of row .* cannot change/);
    // Setting a reference to its own value is no change.
    await db
      .updateTable('commission_lines')
      .set({ status: 'awaiting_approval', partner_id: line.partner_id })
      .where('id', '=', lineId)
      .execute();
    const after = await db
      .selectFrom('commission_lines')
      .selectAll()
      .where('id', '=', lineId)
      .executeTakeFirstOrThrow();
    expect(after).toEqual({ ...line, status: 'awaiting_approval' });
  });

  it('refuses to delete, truncate or re-key an account, partner, program or deal', async () => {
    const line = await db
      .selectFrom('commission_lines')
      .select(['program_id', 'partner_id', 'deal_id'])
      .where('id', '=', lineId)
      .executeTakeFirstOrThrow();
    const kept = [
      ['ledger_accounts', accountId],
      ['partners', line.partner_id],
      ['programs', line.program_id],
      ['deals', line.deal_id!],
    ] as const;
    for (const [table, id] of kept) {
      await expect(db.deleteFrom(table).where('id', '=', id).execute()).rejects.toThrow(
        new RegExp(`DELETE on ${table} refused: its rows name money the ledger holds`),
      );
      await expect(sql`truncate ${sql.table(table)} cascade`.execute(db)).rejects.toThrow(
        /TRUNCATE on .* refused/,
      );
      await expect(
        db.updateTable(table).set({ id: randomUUID() }).where('id', '=', id).execute(),
      ).rejects.toThrow(new RegExp(`${table}: id of row ${id} cannot change`));
      await expect(
        db.updateTable(table).set({ tenant_id: otherTenantId }).where('id', '=', id).execute(),
      ).rejects.toThrow(new RegExp(`${table}: tenant_id of row ${id} cannot change`));
    }
    const stillThere = await sql<{ n: number }>`
      select (select count(*) from ledger_accounts where id = ${accountId})
        + (select count(*) from partners where id = ${line.partner_id})
        + (select count(*) from programs where id = ${line.program_id})
        + (select count(*) from deals where id = ${line.deal_id}) as n`.execute(db);
    expect(Number(stillThere.rows[0]!.n)).toBe(4);
    expect((await verifyLedger(db)).ok).toBe(true);
  });

  it("still lets an account's balance change", async () => {
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
