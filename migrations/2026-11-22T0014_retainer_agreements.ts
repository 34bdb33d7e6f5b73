import { type Kysely, sql } from 'kysely';

// Retainer agreements: a partner is paid a fixed amount every calendar month (tenant time zone) while
// its agreement is active, under a program's retainer rule. The scheduled accrual posts one
// commission line per agreement and month (cause key `retainer:<agreement>:<YYYY-MM>`), so the
// agreement only states what is owed; the ledger says what was paid.
// rule_id names the program's retainer rule (commission_rules); it carries no foreign key so the
// agreement survives a new version of the rule.

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('retainer_agreements')
    .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('tenant_id', 'uuid', (c) => c.notNull().references('tenants.id'))
    .addColumn('partner_id', 'uuid', (c) => c.notNull())
    .addColumn('program_id', 'uuid', (c) => c.notNull())
    .addColumn('rule_id', 'uuid')
    .addColumn('monthly_amount', 'bigint', (c) => c.notNull().check(sql`monthly_amount > 0`))
    .addColumn('currency', 'text', (c) => c.notNull().check(sql`currency ~ '^[A-Z]{3}$'`))
    // Calendar days in the tenant's time zone; active_to is the last day (inclusive), null = open.
    .addColumn('active_from', 'date', (c) => c.notNull())
    .addColumn('active_to', 'date')
    .addColumn('status', 'text', (c) =>
      c.notNull().defaultTo('active').check(sql`status in ('active', 'ended')`),
    )
    .addColumn('ended_at', 'timestamptz')
    .addColumn('ended_by', 'text')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addUniqueConstraint('retainer_agreements_tenant_id_key', ['tenant_id', 'id'])
    .addForeignKeyConstraint('retainer_agreements_partner_fk', ['tenant_id', 'partner_id'], 'partners', [
      'tenant_id',
      'id',
    ])
    .addForeignKeyConstraint('retainer_agreements_program_fk', ['tenant_id', 'program_id'], 'programs', [
      'tenant_id',
      'id',
    ])
    .addCheckConstraint('retainer_agreements_period', sql`active_to is null or active_to >= active_from`)
    .addCheckConstraint('retainer_agreements_ended', sql`(status = 'ended') = (ended_at is not null)`)
    .execute();
  // The accrual job walks the agreements that can still owe a month.
  await db.schema
    .createIndex('retainer_agreements_due_idx')
    .on('retainer_agreements')
    .columns(['active_from', 'tenant_id'])
    .execute();
  await db.schema
    .createIndex('retainer_agreements_partner_idx')
    .on('retainer_agreements')
    .columns(['tenant_id', 'partner_id', 'created_at'])
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('retainer_agreements').execute();
}
