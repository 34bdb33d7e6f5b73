import { type Kysely, sql } from 'kysely';

// Payouts: paying the approved (payable) commission lines.
// - payout_batches: one run per tenant and currency (optionally one program): draft → approved →
//   exported → paid / failed (settled when each of its payouts is paid or failed).
// - payouts: one per partner and program in a batch. Its lines are the commission lines whose
//   payout_id names it; its amount is kept for listing and export only, and `ledger verify` checks
//   it against the sum of those lines.
// - payout_minimum_overrides: a partner's own minimum payout in a program (the program's otherwise).
// commission_lines.payout_id gets its foreign key here, now that the table it names exists.

const id = (col: any) => col.primaryKey().defaultTo(sql`gen_random_uuid()`);
const now = (col: any) => col.notNull().defaultTo(sql`now()`);

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('payout_batches')
    .addColumn('id', 'uuid', id)
    .addColumn('tenant_id', 'uuid', (c) => c.notNull().references('tenants.id'))
    .addColumn('program_id', 'uuid')
    .addColumn('currency', 'text', (c) => c.notNull().check(sql`currency ~ '^[A-Z]{3}$'`))
    .addColumn('status', 'text', (c) =>
      c.notNull().check(sql`status in ('draft', 'approved', 'exported', 'paid', 'failed')`),
    )
    .addColumn('created_by', 'text', (c) => c.notNull())
    .addColumn('approved_by', 'text')
    .addColumn('approved_at', 'timestamptz')
    .addColumn('exported_at', 'timestamptz')
    .addColumn('settled_at', 'timestamptz')
    .addColumn('created_at', 'timestamptz', now)
    .addColumn('updated_at', 'timestamptz', now)
    .addUniqueConstraint('payout_batches_tenant_id_key', ['tenant_id', 'id'])
    .addForeignKeyConstraint('payout_batches_program_fk', ['tenant_id', 'program_id'], 'programs', [
      'tenant_id',
      'id',
    ])
    .execute();
  await db.schema
    .createIndex('payout_batches_list_idx')
    .on('payout_batches')
    .columns(['tenant_id', 'created_at', 'id'])
    .execute();

  await db.schema
    .createTable('payouts')
    .addColumn('id', 'uuid', id)
    .addColumn('tenant_id', 'uuid', (c) => c.notNull())
    .addColumn('batch_id', 'uuid', (c) => c.notNull())
    .addColumn('partner_id', 'uuid', (c) => c.notNull())
    .addColumn('program_id', 'uuid', (c) => c.notNull())
    .addColumn('currency', 'text', (c) => c.notNull().check(sql`currency ~ '^[A-Z]{3}$'`))
    // Net of its lines (clawbacks included) when it was made; positive, at least the minimum.
    .addColumn('amount', 'bigint', (c) => c.notNull().check(sql`amount > 0`))
    .addColumn('line_count', 'integer', (c) => c.notNull())
    .addColumn('minimum_payout', 'bigint', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull().check(sql`status in ('pending', 'paid', 'failed')`))
    .addColumn('reference', 'text')
    .addColumn('failure_reason', 'text')
    .addColumn('ledger_transaction_id', 'uuid')
    .addColumn('settled_at', 'timestamptz')
    .addColumn('created_at', 'timestamptz', now)
    .addUniqueConstraint('payouts_tenant_id_key', ['tenant_id', 'id'])
    .addForeignKeyConstraint('payouts_batch_fk', ['tenant_id', 'batch_id'], 'payout_batches', [
      'tenant_id',
      'id',
    ])
    .addForeignKeyConstraint('payouts_partner_fk', ['tenant_id', 'partner_id'], 'partners', [
      'tenant_id',
      'id',
    ])
    .addForeignKeyConstraint('payouts_program_fk', ['tenant_id', 'program_id'], 'programs', [
      'tenant_id',
      'id',
    ])
    .addCheckConstraint(
      'payouts_paid_has_reference',
      sql`(status = 'paid') = (reference is not null and ledger_transaction_id is not null)`,
    )
    .execute();
  await db.schema.createIndex('payouts_batch_idx').on('payouts').columns(['tenant_id', 'batch_id']).execute();
  await db.schema
    .createIndex('payouts_partner_idx')
    .on('payouts')
    .columns(['tenant_id', 'partner_id'])
    .execute();

  await db.schema
    .createTable('payout_minimum_overrides')
    .addColumn('tenant_id', 'uuid', (c) => c.notNull())
    .addColumn('partner_id', 'uuid', (c) => c.notNull())
    .addColumn('program_id', 'uuid', (c) => c.notNull())
    .addColumn('minimum_payout', 'bigint', (c) => c.notNull().check(sql`minimum_payout >= 0`))
    .addColumn('updated_at', 'timestamptz', now)
    .addPrimaryKeyConstraint('payout_minimum_overrides_pkey', ['tenant_id', 'partner_id', 'program_id'])
    .addForeignKeyConstraint('payout_minimum_overrides_partner_fk', ['tenant_id', 'partner_id'], 'partners', [
      'tenant_id',
      'id',
    ])
    .addForeignKeyConstraint('payout_minimum_overrides_program_fk', ['tenant_id', 'program_id'], 'programs', [
      'tenant_id',
      'id',
    ])
    .execute();

  await db.schema
    .alterTable('commission_lines')
    .addForeignKeyConstraint('commission_lines_payout_fk', ['tenant_id', 'payout_id'], 'payouts', [
      'tenant_id',
      'id',
    ])
    .execute();
  // A payout run looks for the approved lines nobody has claimed yet; a payout lists its lines.
  await db.schema
    .createIndex('commission_lines_payable_idx')
    .on('commission_lines')
    .columns(['tenant_id', 'currency', 'partner_id', 'program_id'])
    .where(sql<boolean>`status = 'approved' and payout_id is null`)
    .execute();
  await db.schema
    .createIndex('commission_lines_payout_idx')
    .on('commission_lines')
    .columns(['tenant_id', 'payout_id'])
    .where(sql.ref('payout_id'), 'is not', null)
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex('commission_lines_payout_idx').execute();
  await db.schema.dropIndex('commission_lines_payable_idx').execute();
  await db.schema.alterTable('commission_lines').dropConstraint('commission_lines_payout_fk').execute();
  await db.schema.dropTable('payout_minimum_overrides').execute();
  await db.schema.dropTable('payouts').execute();
  await db.schema.dropTable('payout_batches').execute();
}
