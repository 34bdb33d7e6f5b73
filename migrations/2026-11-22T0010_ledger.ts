import { type Kysely, sql } from 'kysely';

// Issue 4's ledger core: double entry, append-only.
// - ledger_accounts: one row per (tenant, kind, owner, currency, shard), holding the running balance
//   and the number of entries (version), so a balance read is one row. Accounts are the only mutable
//   rows; `ledger verify` recomputes them from the entries.
// - ledger_transactions: one per cause, keyed by a deterministic idempotency key; content_hash tells
//   a replay (same content: no-op) from a conflict (same key, other content: error).
// - ledger_entries: the signed lines. amount > 0 moves money into the account, < 0 out of it; every
//   transaction sums to zero per currency. balance_after and account_version chain each account's
//   entries (version 1..n, balance_after = previous + amount).
// Entries and transactions are never updated or deleted: a trigger refuses it. Corrections are new
// transactions that name what they correct (corrects_transaction_id).

const ACCOUNT_KINDS = [
  'partner_pending',
  'partner_payable',
  'partner_paid',
  'program_expense',
  'payout_clearing',
  'fx',
];
const TRANSACTION_KINDS = [
  'accrual',
  'approval',
  'reversal',
  'clawback',
  'payout',
  'settlement',
  'adjustment',
  'fx',
];
const list = (values: string[]) => sql.raw(values.map((v) => `'${v}'`).join(', '));

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('ledger_accounts')
    .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('tenant_id', 'uuid', (c) => c.notNull().references('tenants.id'))
    .addColumn('kind', 'text', (c) => c.notNull().check(sql`kind in (${list(ACCOUNT_KINDS)})`))
    .addColumn('partner_id', 'uuid')
    .addColumn('program_id', 'uuid')
    .addColumn('currency', 'text', (c) => c.notNull().check(sql`currency ~ '^[A-Z]{3}$'`))
    // House accounts that every posting touches (a program's expense) are split into shards so that
    // concurrent postings do not queue on one row; the account's balance is the sum of its shards.
    .addColumn('shard', 'smallint', (c) => c.notNull().defaultTo(0).check(sql`shard between 0 and 255`))
    // The natural key as one string (kind:partner:program:currency:shard): one unique index and an
    // `= any(...)` lookup, where a composite key with nullable owners would need NULLS NOT DISTINCT.
    .addColumn('account_key', 'text', (c) => c.notNull())
    .addColumn('balance', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('version', 'bigint', (c) => c.notNull().defaultTo(0).check(sql`version >= 0`))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addUniqueConstraint('ledger_accounts_tenant_id_key', ['tenant_id', 'id'])
    .addUniqueConstraint('ledger_accounts_tenant_account_key', ['tenant_id', 'account_key'])
    .addForeignKeyConstraint('ledger_accounts_partner_fk', ['tenant_id', 'partner_id'], 'partners', [
      'tenant_id',
      'id',
    ])
    .addForeignKeyConstraint('ledger_accounts_program_fk', ['tenant_id', 'program_id'], 'programs', [
      'tenant_id',
      'id',
    ])
    .addCheckConstraint(
      'ledger_accounts_owner',
      sql`case
        when kind in ('partner_pending', 'partner_payable', 'partner_paid') then partner_id is not null
        when kind = 'program_expense' then program_id is not null and partner_id is null
        else partner_id is null
      end`,
    )
    .addCheckConstraint(
      'ledger_accounts_key_matches',
      sql`account_key = kind || ':' || coalesce(partner_id::text, '-') || ':' || coalesce(program_id::text, '-')
        || ':' || currency || ':' || shard::text`,
    )
    // Every posting rewrites its accounts' rows: free room on the page keeps those updates HOT (no
    // index churn), and dead versions are pruned on the page itself.
    .modifyEnd(sql`with (fillfactor = 50)`)
    .execute();
  await db.schema
    .createIndex('ledger_accounts_partner_idx')
    .on('ledger_accounts')
    .columns(['tenant_id', 'partner_id'])
    .execute();

  await db.schema
    .createTable('ledger_transactions')
    .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('tenant_id', 'uuid', (c) => c.notNull().references('tenants.id'))
    .addColumn('idempotency_key', 'text', (c) =>
      c.notNull().check(sql`length(idempotency_key) between 1 and 500`),
    )
    .addColumn('content_hash', 'text', (c) => c.notNull())
    .addColumn('kind', 'text', (c) => c.notNull().check(sql`kind in (${list(TRANSACTION_KINDS)})`))
    .addColumn('corrects_transaction_id', 'uuid')
    .addColumn('cause', 'jsonb', (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
    .addColumn('occurred_at', 'timestamptz', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addUniqueConstraint('ledger_transactions_tenant_id_key', ['tenant_id', 'id'])
    .addUniqueConstraint('ledger_transactions_idempotency_key', ['tenant_id', 'idempotency_key'])
    .addForeignKeyConstraint(
      'ledger_transactions_corrects_fk',
      ['tenant_id', 'corrects_transaction_id'],
      'ledger_transactions',
      ['tenant_id', 'id'],
    )
    .addCheckConstraint(
      'ledger_transactions_reversal_names_original',
      sql`kind <> 'reversal' or corrects_transaction_id is not null`,
    )
    .execute();
  // A transaction is reversed at most once, even when two reversals race.
  await db.schema
    .createIndex('ledger_transactions_reversed_once')
    .on('ledger_transactions')
    .columns(['tenant_id', 'corrects_transaction_id'])
    .unique()
    .where(sql<boolean>`kind = 'reversal'`)
    .execute();
  await db.schema
    .createIndex('ledger_transactions_corrects_idx')
    .on('ledger_transactions')
    .column('corrects_transaction_id')
    .where(sql<boolean>`corrects_transaction_id is not null`)
    .execute();

  await db.schema
    .createTable('ledger_entries')
    .addColumn('id', 'bigint', (c) => c.primaryKey().generatedAlwaysAsIdentity())
    .addColumn('tenant_id', 'uuid', (c) => c.notNull())
    .addColumn('transaction_id', 'uuid', (c) => c.notNull())
    .addColumn('account_id', 'uuid', (c) => c.notNull())
    .addColumn('amount', 'bigint', (c) => c.notNull().check(sql`amount <> 0`))
    .addColumn('currency', 'text', (c) => c.notNull().check(sql`currency ~ '^[A-Z]{3}$'`))
    .addColumn('balance_after', 'bigint', (c) => c.notNull())
    .addColumn('account_version', 'bigint', (c) => c.notNull().check(sql`account_version >= 1`))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addForeignKeyConstraint(
      'ledger_entries_transaction_fk',
      ['tenant_id', 'transaction_id'],
      'ledger_transactions',
      ['tenant_id', 'id'],
    )
    .addForeignKeyConstraint('ledger_entries_account_fk', ['tenant_id', 'account_id'], 'ledger_accounts', [
      'tenant_id',
      'id',
    ])
    // One entry per account version: the chain has no forks, and statements read it by this index.
    .addUniqueConstraint('ledger_entries_account_version_key', ['account_id', 'account_version'])
    .execute();
  await db.schema
    .createIndex('ledger_entries_transaction_idx')
    .on('ledger_entries')
    .column('transaction_id')
    .execute();

  // Append-only. The function and triggers are created one statement per call (PGlite runs one
  // statement per prepared query, as the extended protocol requires).
  await sql`
    create function ledger_refuse_change() returns trigger language plpgsql as $$
    begin
      raise exception 'ledger: % on % refused: the ledger is append-only; post a correcting transaction instead',
        tg_op, tg_table_name
        using errcode = 'P0001', hint = 'ledger_append_only';
    end
    $$`.execute(db);
  for (const table of ['ledger_entries', 'ledger_transactions']) {
    await sql`
      create trigger ${sql.raw(`${table}_append_only`)}
      before update or delete on ${sql.table(table)}
      for each row execute function ledger_refuse_change()`.execute(db);
    await sql`
      create trigger ${sql.raw(`${table}_no_truncate`)}
      before truncate on ${sql.table(table)}
      for each statement execute function ledger_refuse_change()`.execute(db);
  }
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const table of ['ledger_entries', 'ledger_transactions']) {
    await sql`drop trigger if exists ${sql.raw(`${table}_no_truncate`)} on ${sql.table(table)}`.execute(db);
    await sql`drop trigger if exists ${sql.raw(`${table}_append_only`)} on ${sql.table(table)}`.execute(db);
  }
  await sql`drop function if exists ledger_refuse_change()`.execute(db);
  await db.schema.dropTable('ledger_entries').execute();
  await db.schema.dropTable('ledger_transactions').execute();
  await db.schema.dropTable('ledger_accounts').execute();
}
