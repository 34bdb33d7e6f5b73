import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../../src/db/database.ts';
import { AppError } from '../../src/errors/app-error.ts';
import {
  accountBalance,
  balance,
  HOUSE_SHARDS,
  partnerAccounts,
} from '../../src/ledger/account.repository.ts';
import { type PostTransactionInput, postTransaction } from '../../src/ledger/post-transaction.ts';
import {
  accrualLines,
  entriesOf,
  type LedgerFixture,
  ledgerCounts,
  makeLedgerFixture,
} from '../factories/ledger.factory.ts';
import { makePartner } from '../factories/partner.factory.ts';
import { makeProgram } from '../factories/program.factory.ts';
import { createTestDatabase, type TestDatabase, usingPostgres } from '../helpers/test-database.ts';

const mode = usingPostgres ? 'PostgreSQL' : 'PGlite';
const at = new Date('2026-03-01T10:00:00.000Z');

describe(`postTransaction (${mode})`, () => {
  let database: TestDatabase;
  let db: Db;
  let f: LedgerFixture;

  beforeAll(async () => {
    database = await createTestDatabase();
    db = database.handle.db;
    f = await makeLedgerFixture(db);
  });
  afterAll(async () => {
    await database.destroy();
  });

  const post = (input: PostTransactionInput) => db.transaction().execute((tx) => postTransaction(tx, input));
  const accrual = (key: string, shares: [string, bigint][], extra: Partial<PostTransactionInput> = {}) =>
    post({
      tenantId: f.tenant.id,
      idempotencyKey: key,
      kind: 'accrual',
      cause: { key },
      occurredAt: at,
      lines: accrualLines(f.program.id, 'USD', shares),
      ...extra,
    });
  const pending = (partnerId: string, currency = 'USD') =>
    accountBalance(db, f.tenant.id, { kind: 'partner_pending', partnerId, currency });
  const expense = (currency = 'USD') =>
    accountBalance(db, f.tenant.id, { kind: 'program_expense', programId: f.program.id, currency });

  it('posts a revenue share with two override legs as one balanced transaction', async () => {
    const [lead, delivery, sub] = f.partners.map((p) => p.id) as [string, string, string];
    const result = await accrual('deal:d1:v1:rule:r1', [
      [sub, 10_000n],
      [delivery, 1_000n],
      [lead, 500n],
    ]);
    expect(result.applied).toBe(true);
    expect(result.transaction).toMatchObject({ kind: 'accrual', idempotency_key: 'deal:d1:v1:rule:r1' });
    expect(result.transaction.occurred_at.toISOString()).toBe(at.toISOString());

    const entries = await entriesOf(db, result.transaction.id);
    expect(entries).toHaveLength(6);
    expect(entries.reduce((sum, e) => sum + e.amount, 0n)).toBe(0n);
    expect(await pending(sub)).toBe(10_000n);
    expect(await pending(delivery)).toBe(1_000n);
    expect(await pending(lead)).toBe(500n);
    expect(await expense()).toBe(-11_500n);

    // The expense lines go to one shard, whose chain continues within the transaction.
    const expenseEntries = entries.filter((e) => e.amount < 0n);
    expect(new Set(expenseEntries.map((e) => e.account_id)).size).toBe(1);
    expect(expenseEntries.map((e) => [e.account_version, e.balance_after])).toEqual([
      [1n, -10_000n],
      [2n, -11_000n],
      [3n, -11_500n],
    ]);
    // balance() reads the stored row: the last entry's balance_after.
    expect(await balance(db, f.tenant.id, expenseEntries[0]!.account_id)).toBe(-11_500n);
  });

  it('chains an account across transactions: balance_after and version follow on', async () => {
    const partner = await makePartner(db, f.tenant.id);
    await accrual('chain:1', [[partner.id, 300n]]);
    const second = await accrual('chain:2', [[partner.id, 200n]]);
    const mine = (await entriesOf(db, second.transaction.id)).find((e) => e.amount === 200n)!;
    expect(mine.account_version).toBe(2n);
    expect(mine.balance_after).toBe(500n);
    const [account] = await partnerAccounts(db, f.tenant.id, partner.id);
    expect(account).toMatchObject({ kind: 'partner_pending', currency: 'USD', balance: 500n, version: 2n });
  });

  it('refuses unbalanced lines, listing every problem, and writes nothing', async () => {
    const before = await ledgerCounts(db, f.tenant.id);
    const error = await accrual('bad:1', [], {
      kind: 'accrual',
      lines: [
        { account: { kind: 'program_expense', programId: f.program.id, currency: 'USD' }, amount: -100n },
        { account: { kind: 'partner_pending', partnerId: f.partners[0]!.id, currency: 'USD' }, amount: 99n },
        { account: { kind: 'program_expense', programId: f.program.id, currency: 'EUR' }, amount: -5n },
        { account: { kind: 'partner_pending', partnerId: f.partners[0]!.id, currency: 'eur' }, amount: 0n },
      ],
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AppError);
    expect((error as AppError).code).toBe('validation_failed');
    const fields = ((error as AppError).details as { fields: { field: string; message: string }[] }).fields;
    expect(fields.map((p) => p.field)).toEqual(
      expect.arrayContaining(['lines[3].amount', 'lines[3].account.currency', 'lines']),
    );
    expect(fields.filter((p) => p.field === 'lines').map((p) => p.message)).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/USD lines sum to -1, not 0/),
        expect.stringMatching(/EUR/),
      ]),
    );
    expect(await ledgerCounts(db, f.tenant.id)).toEqual(before);
  });

  it('refuses a single line, a zero amount and a bad key before touching the database', async () => {
    const before = await ledgerCounts(db, f.tenant.id);
    const error = await post({
      tenantId: f.tenant.id,
      idempotencyKey: '',
      kind: 'accrual',
      cause: {},
      occurredAt: new Date('nope'),
      lines: [
        { account: { kind: 'partner_pending', partnerId: f.partners[0]!.id, currency: 'USD' }, amount: 1n },
      ],
    }).catch((e: unknown) => e as AppError);
    expect((error as AppError).code).toBe('validation_failed');
    expect(
      ((error as AppError).details as { fields: { field: string }[] }).fields.map((p) => p.field),
    ).toEqual(['idempotencyKey', 'occurredAt', 'lines']);
    expect(await ledgerCounts(db, f.tenant.id)).toEqual(before);
  });

  it('replays the same key and content as a no-op returning the first transaction', async () => {
    const partner = f.partners[1]!.id;
    const first = await accrual('deal:d2:v1', [[partner, 700n]]);
    const balanceAfterFirst = await pending(partner);
    const counts = await ledgerCounts(db, f.tenant.id);
    for (let i = 0; i < 3; i++) {
      // Line order is not part of the content.
      const again = await post({
        tenantId: f.tenant.id,
        idempotencyKey: 'deal:d2:v1',
        kind: 'accrual',
        cause: { key: 'deal:d2:v1' },
        occurredAt: at,
        lines: accrualLines(f.program.id, 'USD', [[partner, 700n]]).reverse(),
      });
      expect(again.applied).toBe(false);
      expect(again.transaction.id).toBe(first.transaction.id);
    }
    expect(await pending(partner)).toBe(balanceAfterFirst);
    expect(await ledgerCounts(db, f.tenant.id)).toEqual(counts);
  });

  it('refuses the same key with different content, leaving the first untouched', async () => {
    const partner = f.partners[2]!.id;
    const first = await accrual('deal:d3:v1', [[partner, 1_000n]]);
    const balanceBefore = await pending(partner);
    const counts = await ledgerCounts(db, f.tenant.id);
    const variants: Partial<PostTransactionInput>[] = [
      { lines: accrualLines(f.program.id, 'USD', [[partner, 1_001n]]) },
      { cause: { key: 'deal:d3:v1', rate: '0.1' } },
      { occurredAt: new Date(at.getTime() + 1) },
      { kind: 'adjustment' },
    ];
    for (const variant of variants) {
      const error = await accrual('deal:d3:v1', [[partner, 1_000n]], variant).catch(
        (e: unknown) => e as AppError,
      );
      expect(error).toBeInstanceOf(AppError);
      expect((error as AppError).code).toBe('ledger_idempotency_conflict');
      expect((error as AppError).status).toBe(409);
      expect((error as AppError).details).toEqual({
        idempotencyKey: 'deal:d3:v1',
        transactionId: first.transaction.id,
      });
    }
    expect(await pending(partner)).toBe(balanceBefore);
    expect(await ledgerCounts(db, f.tenant.id)).toEqual(counts);
  });

  it('keeps keys per tenant: another tenant may use the same key', async () => {
    const other = await makeLedgerFixture(db, 1);
    const result = await post({
      tenantId: other.tenant.id,
      idempotencyKey: 'deal:d1:v1:rule:r1',
      kind: 'accrual',
      cause: {},
      occurredAt: at,
      lines: accrualLines(other.program.id, 'USD', [[other.partners[0]!.id, 5n]]),
    });
    expect(result.applied).toBe(true);
    expect(result.transaction.tenant_id).toBe(other.tenant.id);
  });

  it("answers not_found for another tenant's partner or account, and writes nothing", async () => {
    const other = await makeLedgerFixture(db, 1);
    const before = await ledgerCounts(db, f.tenant.id);
    const foreignPartner = await accrual('foreign:partner', [[other.partners[0]!.id, 10n]]).catch(
      (e: unknown) => e as AppError,
    );
    expect((foreignPartner as AppError).code).toBe('not_found');

    await post({
      tenantId: other.tenant.id,
      idempotencyKey: 'other:1',
      kind: 'accrual',
      cause: {},
      occurredAt: at,
      lines: accrualLines(other.program.id, 'USD', [[other.partners[0]!.id, 5n]]),
    });
    const [foreignAccount] = await partnerAccounts(db, other.tenant.id, other.partners[0]!.id);
    expect(foreignAccount).toBeDefined();
    const error = await post({
      tenantId: f.tenant.id,
      idempotencyKey: 'foreign:account',
      kind: 'adjustment',
      cause: {},
      occurredAt: at,
      lines: [
        { account: { accountId: foreignAccount!.id, currency: 'USD' }, amount: 10n },
        { account: { kind: 'program_expense', programId: f.program.id, currency: 'USD' }, amount: -10n },
      ],
    }).catch((e: unknown) => e as AppError);
    expect((error as AppError).code).toBe('not_found');
    expect(await ledgerCounts(db, f.tenant.id)).toEqual(before);
    expect(await balance(db, f.tenant.id, foreignAccount!.id)).toBeUndefined();
    expect(await balance(db, other.tenant.id, foreignAccount!.id)).toBe(5n);
  });

  it('spreads the program expense over its shards and sums them for the balance', async () => {
    const fixture = await makeLedgerFixture(db, 1);
    const partner = fixture.partners[0]!.id;
    for (let i = 0; i < 40; i++) {
      await post({
        tenantId: fixture.tenant.id,
        idempotencyKey: `spread:${i}`,
        kind: 'accrual',
        cause: {},
        occurredAt: at,
        lines: accrualLines(fixture.program.id, 'GBP', [[partner, 25n]]),
      });
    }
    const shards = await db
      .selectFrom('ledger_accounts')
      .select(['shard', 'balance'])
      .where('tenant_id', '=', fixture.tenant.id)
      .where('kind', '=', 'program_expense')
      .execute();
    expect(shards.length).toBeGreaterThan(4);
    expect(shards.every((s) => s.shard >= 0 && s.shard < HOUSE_SHARDS)).toBe(true);
    expect(shards.reduce((sum, s) => sum + s.balance, 0n)).toBe(-1_000n);
    expect(
      await accountBalance(db, fixture.tenant.id, {
        kind: 'program_expense',
        programId: fixture.program.id,
        currency: 'GBP',
      }),
    ).toBe(-1_000n);
    expect(
      await accountBalance(db, fixture.tenant.id, {
        kind: 'partner_pending',
        partnerId: partner,
        currency: 'GBP',
      }),
    ).toBe(1_000n);
  });

  it('refuses a line whose currency is not its account’s', async () => {
    const [account] = await partnerAccounts(db, f.tenant.id, f.partners[0]!.id);
    const error = await post({
      tenantId: f.tenant.id,
      idempotencyKey: 'currency:mismatch',
      kind: 'adjustment',
      cause: {},
      occurredAt: at,
      lines: [
        { account: { accountId: account!.id, currency: 'EUR' }, amount: 10n },
        { account: { kind: 'program_expense', programId: f.program.id, currency: 'EUR' }, amount: -10n },
      ],
    }).catch((e: unknown) => e as AppError);
    expect((error as AppError).code).toBe('validation_failed');
    const written = await db
      .selectFrom('ledger_transactions')
      .select('id')
      .where('idempotency_key', '=', 'currency:mismatch')
      .execute();
    expect(written).toEqual([]);
  });

  it('refuses a posting that would take a balance outside bigint, naming the account; its limits themselves post', async () => {
    const max = 9_223_372_036_854_775_807n;
    // Its own program and partners, so the fixture's expense shards stay far from the limit.
    const program = await makeProgram(db, f.tenant.id);
    const [payee, other] = [await makePartner(db, f.tenant.id), await makePartner(db, f.tenant.id)];
    await post({
      tenantId: f.tenant.id,
      idempotencyKey: 'limit:max',
      kind: 'accrual',
      cause: {},
      occurredAt: at,
      lines: accrualLines(program.id, 'USD', [[payee!.id, max]]),
    });
    const shard = await db
      .selectFrom('ledger_accounts')
      .selectAll()
      .where('tenant_id', '=', f.tenant.id)
      .where('program_id', '=', program.id)
      .where('balance', '=', -max)
      .executeTakeFirstOrThrow();
    const move = (key: string, amount: bigint, to = other!.id): PostTransactionInput => ({
      tenantId: f.tenant.id,
      idempotencyKey: key,
      kind: 'adjustment',
      cause: {},
      occurredAt: at,
      lines: [
        { account: { accountId: shard.id, currency: 'USD' }, amount: -amount },
        { account: { kind: 'partner_pending', partnerId: to, currency: 'USD' }, amount },
      ],
    });
    await post(move('limit:min', 1n));
    const before = await ledgerCounts(db, f.tenant.id);
    const below = (await post(move('limit:below', 1n)).catch((e: unknown) => e)) as AppError;
    expect(below).toBeInstanceOf(AppError);
    expect(below.status).toBe(422);
    expect(below.message).toBe(
      `Ledger transaction "limit:below" would take ledger account ${shard.account_key}'s balance outside what a balance holds (-9223372036854775808 to 9223372036854775807 minor units)`,
    );
    expect(below.details).toEqual({ idempotencyKeys: ['limit:below'], accountId: shard.id });
    const above = (await post({
      ...move('limit:above', 0n),
      lines: [
        { account: { kind: 'partner_pending', partnerId: payee!.id, currency: 'USD' }, amount: 1n },
        { account: { kind: 'partner_pending', partnerId: other!.id, currency: 'USD' }, amount: -1n },
      ],
    }).catch((e: unknown) => e)) as AppError;
    expect(above.status).toBe(422);
    const [payeeAccount] = await partnerAccounts(db, f.tenant.id, payee!.id);
    expect(above.message).toBe(
      `Ledger transaction "limit:above" would take ledger account ${payeeAccount!.account_key}'s balance outside what a balance holds (-9223372036854775808 to 9223372036854775807 minor units)`,
    );
    expect(await ledgerCounts(db, f.tenant.id)).toEqual(before);
    const after = await db
      .selectFrom('ledger_accounts')
      .select('balance')
      .where('id', '=', shard.id)
      .executeTakeFirstOrThrow();
    expect(after.balance).toBe(-max - 1n);
    expect(await pending(payee!.id)).toBe(max);
  });
});
