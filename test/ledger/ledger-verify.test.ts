import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db, Tx } from '../../src/db/database.ts';
import { formatVerifyReport, type VerifyReport, verifyLedger } from '../../src/ledger/ledger-verify.ts';
import { postTransaction } from '../../src/ledger/post-transaction.ts';
import { reverseTransaction } from '../../src/ledger/reverse-transaction.ts';
import {
  accrualLines,
  entriesOf,
  type LedgerFixture,
  makeLedgerFixture,
} from '../factories/ledger.factory.ts';
import { runCli } from '../helpers/cli.ts';
import { createTestDatabase, type TestDatabase, usingPostgres } from '../helpers/test-database.ts';

const mode = usingPostgres ? 'PostgreSQL' : 'PGlite';
const at = new Date('2026-03-01T10:00:00.000Z');

/** Runs `tamper` with the append-only triggers off, in one transaction that turns them back on. */
async function withTriggersOff(db: Db, tamper: (tx: Tx) => Promise<void>): Promise<void> {
  await db.transaction().execute(async (tx) => {
    await sql`alter table ledger_entries disable trigger ledger_entries_append_only`.execute(tx);
    await sql`alter table ledger_transactions disable trigger ledger_transactions_append_only`.execute(tx);
    await tamper(tx);
    await sql`alter table ledger_entries enable trigger ledger_entries_append_only`.execute(tx);
    await sql`alter table ledger_transactions enable trigger ledger_transactions_append_only`.execute(tx);
  });
}

const failing = (report: VerifyReport) =>
  report.checks
    .filter((c) => c.violations > 0)
    .map((c) => c.name)
    .sort();

describe(`ledger verify (${mode})`, { timeout: 120_000 }, () => {
  let database: TestDatabase;
  const db = () => database.handle.db;

  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterAll(async () => {
    await database.destroy();
  });

  /** A tenant with a few accruals (revenue share + two override legs) and one reversal. */
  async function busyTenant(): Promise<LedgerFixture & { accruals: string[] }> {
    const f = await makeLedgerFixture(db());
    const [lead, delivery, sub] = f.partners.map((p) => p.id) as [string, string, string];
    const accruals: string[] = [];
    for (let i = 1; i <= 5; i++) {
      const { transaction } = await db()
        .transaction()
        .execute((tx) =>
          postTransaction(tx, {
            tenantId: f.tenant.id,
            idempotencyKey: `deal:${i}:v1`,
            kind: 'accrual',
            cause: { deal: i },
            occurredAt: at,
            lines: accrualLines(f.program.id, 'EUR', [
              [sub, 1_000n * BigInt(i)],
              [delivery, 100n * BigInt(i)],
              [lead, 10n * BigInt(i)],
            ]),
          }),
        );
      accruals.push(transaction.id);
    }
    await db()
      .transaction()
      .execute((tx) =>
        reverseTransaction(tx, {
          tenantId: f.tenant.id,
          transactionId: accruals[1]!,
          idempotencyKey: 'reverse:2',
          reason: 'lost',
        }),
      );
    return { ...f, accruals };
  }

  let clean: LedgerFixture;
  let corrupted: LedgerFixture & { accruals: string[] };

  it('passes a consistent ledger, with counts and every check named', async () => {
    clean = await busyTenant();
    const report = await verifyLedger(db(), { tenantId: clean.tenant.id });
    expect(failing(report)).toEqual([]);
    expect(report.ok).toBe(true);
    expect(report.counts).toEqual({ accounts: expect.any(Number), transactions: 6, entries: 36 });
    expect(report.checks.map((c) => c.name)).toEqual([
      'transaction_balanced',
      'transaction_has_entries',
      'account_balance_matches_entries',
      'account_chain',
      'entry_matches_account_and_transaction',
      'tenant_currency_sum_zero',
      'reversal_references_original',
      'reversal_negates_original',
      'reversed_at_most_once',
      'partner_accounts_match_lines',
      'payout_matches_lines',
      'paid_line_in_paid_payout',
    ]);
    expect(formatVerifyReport(report)).toMatch(/ledger is consistent$/);
  });

  it('finds a stored balance that no longer matches its entries', async () => {
    const f = await busyTenant();
    const account = await db()
      .updateTable('ledger_accounts')
      .set((eb) => ({ balance: eb('balance', '+', 1n) }))
      .where('tenant_id', '=', f.tenant.id)
      .where('partner_id', '=', f.partners[2]!.id)
      .returning('id')
      .executeTakeFirstOrThrow();
    const report = await verifyLedger(db(), { tenantId: f.tenant.id });
    expect(report.ok).toBe(false);
    expect(failing(report)).toEqual(['account_balance_matches_entries', 'tenant_currency_sum_zero']);
    const check = report.checks.find((c) => c.name === 'account_balance_matches_entries')!;
    expect(check.violations).toBe(1);
    expect(check.samples[0]).toMatchObject({
      account_id: account.id,
      stored_balance: '13001',
      sum_of_entries: '13000',
    });
    expect(formatVerifyReport(report)).toContain(`account_id=${account.id}`);
  });

  it('finds an entry whose amount was changed behind the trigger', async () => {
    const f = await busyTenant();
    corrupted = f;
    const [entry] = await entriesOf(db(), f.accruals[0]!);
    await withTriggersOff(db(), async (tx) => {
      await tx
        .updateTable('ledger_entries')
        .set({ amount: entry!.amount + 5n } as never)
        .where('id', '=', entry!.id)
        .execute();
    });
    const report = await verifyLedger(db(), { tenantId: f.tenant.id });
    expect(failing(report)).toEqual([
      'account_balance_matches_entries',
      'account_chain',
      'tenant_currency_sum_zero',
      'transaction_balanced',
    ]);
    const balanced = report.checks.find((c) => c.name === 'transaction_balanced')!;
    expect(balanced.samples).toEqual([{ transaction_id: f.accruals[0], currency: 'EUR', sum: '5' }]);
    const chain = report.checks.find((c) => c.name === 'account_chain')!;
    expect(chain.samples.map((s) => s.entry_id)).toContain(entry!.id.toString());
  });

  it('finds a deleted entry and a transaction left without entries', async () => {
    const f = await busyTenant();
    await withTriggersOff(db(), async (tx) => {
      const entries = await entriesOf(tx, f.accruals[3]!);
      await tx.deleteFrom('ledger_entries').where('id', '=', entries[1]!.id).execute();
      await tx.deleteFrom('ledger_entries').where('transaction_id', '=', f.accruals[4]!).execute();
    });
    const report = await verifyLedger(db(), { tenantId: f.tenant.id });
    expect(failing(report)).toEqual(
      expect.arrayContaining([
        'account_balance_matches_entries',
        'account_chain',
        'transaction_balanced',
        'transaction_has_entries',
      ]),
    );
    // The deleted entry leaves a gap in its account's versions.
    const chain = report.checks.find((c) => c.name === 'account_chain')!;
    expect(chain.samples.map((s) => s.problem)).toContain('the previous version is missing');
    const orphan = report.checks.find((c) => c.name === 'transaction_has_entries')!;
    expect(orphan.samples).toEqual([{ transaction_id: f.accruals[4], idempotency_key: 'deal:5:v1' }]);
  });

  it('finds an entry in another currency than its account', async () => {
    const f = await busyTenant();
    const entries = await entriesOf(db(), f.accruals[0]!);
    await withTriggersOff(db(), async (tx) => {
      await tx
        .updateTable('ledger_entries')
        .set({ currency: 'USD' })
        .where('id', 'in', [entries[0]!.id, entries[1]!.id])
        .execute();
    });
    const report = await verifyLedger(db(), { tenantId: f.tenant.id });
    // Both lines of a pair moved: every sum still balances, only the currency check sees it.
    expect(failing(report)).toEqual(['entry_matches_account_and_transaction']);
    const check = report.checks.find((c) => c.name === 'entry_matches_account_and_transaction')!;
    expect(check.samples.map((s) => s.entry_id).sort()).toEqual(
      [entries[0]!.id, entries[1]!.id].map(String).sort(),
    );
  });

  it('finds a reversal that does not negate its original, and one that reverses a reversal', async () => {
    const f = await busyTenant();
    const [lead, , sub] = f.partners.map((p) => p.id) as [string, string, string];
    // Balanced and well chained, but not the negation of accrual 1 (the override leg is missing).
    const wrong = await db()
      .transaction()
      .execute((tx) =>
        postTransaction(tx, {
          tenantId: f.tenant.id,
          idempotencyKey: 'bad-reversal',
          kind: 'reversal',
          correctsTransactionId: f.accruals[0]!,
          cause: {},
          occurredAt: at,
          lines: accrualLines(f.program.id, 'EUR', [[sub, -1_000n]]),
        }),
      );
    const reversalOfReversal = await db()
      .transaction()
      .execute((tx) =>
        postTransaction(tx, {
          tenantId: f.tenant.id,
          idempotencyKey: 'reversal-of-reversal',
          kind: 'reversal',
          correctsTransactionId: wrong.transaction.id,
          cause: {},
          occurredAt: at,
          lines: accrualLines(f.program.id, 'EUR', [[lead, 1n]]),
        }),
      );
    const report = await verifyLedger(db(), { tenantId: f.tenant.id });
    expect(failing(report)).toEqual(['reversal_negates_original', 'reversal_references_original']);
    const negates = report.checks.find((c) => c.name === 'reversal_negates_original')!;
    expect(negates.samples.map((s) => s.reversal_id).sort()).toEqual(
      [wrong.transaction.id, reversalOfReversal.transaction.id].sort(),
    );
    const references = report.checks.find((c) => c.name === 'reversal_references_original')!;
    expect(references.samples).toEqual([
      {
        reversal_id: reversalOfReversal.transaction.id,
        corrects_transaction_id: wrong.transaction.id,
        original_kind: 'reversal',
      },
    ]);
  });

  it('checks only the tenant asked for, and every tenant when none is', async () => {
    expect((await verifyLedger(db(), { tenantId: clean.tenant.id })).ok).toBe(true);
    const all = await verifyLedger(db());
    expect(all.ok).toBe(false);
    expect(all.tenantId).toBeNull();
    expect(all.counts.entries).toBeGreaterThan(36);
  });

  it('`partnerloop ledger verify` exits 0 on a consistent ledger and 1 with a report on violations', async () => {
    // The CLI opens the database itself; PGlite allows one process at a time.
    await database.handle.close();
    try {
      const ok = await runCli(['ledger', 'verify', '--tenant', clean.tenant.id], database.env);
      expect(ok.stderr).toBe('');
      expect(ok.code).toBe(0);
      expect(ok.stdout).toMatch(
        /^ledger verify \(tenant [0-9a-f-]{36}\): \d+ accounts, 6 transactions, 36 entries/,
      );
      expect(ok.stdout).toContain('ledger is consistent');

      const bad = await runCli(['ledger', 'verify', '--tenant', corrupted.tenant.id], database.env);
      expect(bad.code).toBe(1);
      expect(bad.stdout).toMatch(/FAIL {2}transaction_balanced: .*\(1 violation\)/);
      expect(bad.stdout).toContain(`transaction_id=${corrupted.accruals[0]} currency=EUR sum=5`);
      expect(bad.stdout).toMatch(/ledger has violations in 4 check\(s\)/);

      const json = await runCli(['ledger', 'verify', '--json'], database.env);
      expect(json.code).toBe(1);
      expect(JSON.parse(json.stdout)).toMatchObject({ ok: false, tenantId: null });

      const usage = await runCli(['ledger', 'verify', '--tenant', 'acme'], database.env);
      expect(usage.code).toBe(1);
      expect(usage.stderr).toContain('--tenant: "acme" is not a tenant id');
    } finally {
      await database.reopen();
    }
  });
});
