import { type Kysely, sql } from 'kysely';

// Commission plans and their versioned rules, the exchange rates a program paying in another
// currency needs, and the recurring revenue a deal's customer reports (the recurring share accrual
// reads it).
// - commission_plans: a program's plan (programs.commission_plan_id points at it).
// - commission_rules: one row per version of a rule; the version in force at a deal event's
//   occurred-at decides (effective_from inclusive, effective_to exclusive). Drafts are never in force
//   but a preview can evaluate them.
// - fx_rates: exact decimal rates from one currency to another, effective from a calendar day.
// - deal_revenues: once per (deal, revenue id).

const id = (col: any) => col.primaryKey().defaultTo(sql`gen_random_uuid()`);
const now = (col: any) => col.notNull().defaultTo(sql`now()`);

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('commission_plans')
    .addColumn('id', 'uuid', id)
    .addColumn('tenant_id', 'uuid', (c) => c.notNull().references('tenants.id'))
    .addColumn('program_id', 'uuid', (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', now)
    .addColumn('updated_at', 'timestamptz', now)
    .addUniqueConstraint('commission_plans_tenant_id_key', ['tenant_id', 'id'])
    .addForeignKeyConstraint('commission_plans_program_fk', ['tenant_id', 'program_id'], 'programs', [
      'tenant_id',
      'id',
    ])
    .execute();

  await db.schema
    .createTable('commission_rules')
    .addColumn('id', 'uuid', id)
    .addColumn('tenant_id', 'uuid', (c) => c.notNull())
    .addColumn('plan_id', 'uuid', (c) => c.notNull())
    // Stable across versions: what the owed lines' keys name.
    .addColumn('rule_key', 'text', (c) => c.notNull())
    .addColumn('version', 'integer', (c) => c.notNull())
    .addColumn('effective_from', 'timestamptz', (c) => c.notNull())
    .addColumn('effective_to', 'timestamptz')
    .addColumn('status', 'text', (c) => c.notNull().check(sql`status in ('draft', 'active')`))
    .addColumn('type', 'text', (c) =>
      c
        .notNull()
        .check(
          sql`type in ('flat_fee', 'revenue_share', 'volume_tier', 'retainer', 'recurring_share', 'override')`,
        ),
    )
    .addColumn('config', 'jsonb', (c) => c.notNull())
    .addColumn('conditions', 'jsonb', (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
    .addColumn('position', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('created_at', 'timestamptz', now)
    .addUniqueConstraint('commission_rules_tenant_id_key', ['tenant_id', 'id'])
    .addUniqueConstraint('commission_rules_version_key', ['tenant_id', 'plan_id', 'rule_key', 'version'])
    .addForeignKeyConstraint('commission_rules_plan_fk', ['tenant_id', 'plan_id'], 'commission_plans', [
      'tenant_id',
      'id',
    ])
    .execute();

  await db.schema
    .createTable('fx_rates')
    .addColumn('id', 'uuid', id)
    .addColumn('tenant_id', 'uuid', (c) => c.notNull().references('tenants.id'))
    .addColumn('from_currency', 'text', (c) => c.notNull().check(sql`from_currency ~ '^[A-Z]{3}$'`))
    .addColumn('to_currency', 'text', (c) => c.notNull().check(sql`to_currency ~ '^[A-Z]{3}$'`))
    // Exact decimal as text ('1.0835'): applied and recorded as written.
    .addColumn('rate', 'text', (c) => c.notNull().check(sql`rate ~ '^[0-9]+(\\.[0-9]+)?$'`))
    .addColumn('effective_on', 'date', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', now)
    .addUniqueConstraint('fx_rates_key', ['tenant_id', 'from_currency', 'to_currency', 'effective_on'])
    .execute();

  await db.schema
    .createTable('deal_revenues')
    .addColumn('id', 'uuid', id)
    .addColumn('tenant_id', 'uuid', (c) => c.notNull())
    .addColumn('deal_id', 'uuid', (c) => c.notNull())
    .addColumn('revenue_id', 'text', (c) => c.notNull())
    .addColumn('amount', 'bigint', (c) => c.notNull())
    .addColumn('currency', 'text', (c) => c.notNull().check(sql`currency ~ '^[A-Z]{3}$'`))
    // 'YYYY-MM' in the tenant's time zone.
    .addColumn('month', 'text', (c) => c.notNull().check(sql`month ~ '^[0-9]{4}-[0-9]{2}$'`))
    .addColumn('occurred_at', 'timestamptz', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', now)
    .addUniqueConstraint('deal_revenues_key', ['tenant_id', 'deal_id', 'revenue_id'])
    .addForeignKeyConstraint('deal_revenues_deal_fk', ['tenant_id', 'deal_id'], 'deals', ['tenant_id', 'id'])
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('deal_revenues').execute();
  await db.schema.dropTable('fx_rates').execute();
  await db.schema.dropTable('commission_rules').execute();
  await db.schema.dropTable('commission_plans').execute();
}
