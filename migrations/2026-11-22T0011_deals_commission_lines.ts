import { type Kysely, sql } from 'kysely';

// The deals mirror and the commission lines: the contract between the CRM connectors (which turn
// the CRM's notifications into normalized deal events), the commission engine (which turns a deal's
// state into owed lines) and the money lifecycle (hold, approval, payout, statements).
// - deals: the app's copy of a CRM deal (or of a deal fed through the API), with the occurred-at of
//   the last change applied to each field, so late and duplicate events change nothing.
// - deal_attributions: who is credited for a deal, in listing order (splits break ties by it).
// - deal_events: every normalized event received, once per (source, source event id).
// - commission_lines: one row per ledger leg paid to a partner, explaining it (rule, rate, basis,
//   fx rate, period) and carrying its lifecycle (pending → awaiting approval → approved → paid, or
//   cancelled). A correction is a new line that names the line it reverses.

const id = (col: any) => col.primaryKey().defaultTo(sql`gen_random_uuid()`);
const now = (col: any) => col.notNull().defaultTo(sql`now()`);

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('deals')
    .addColumn('id', 'uuid', id)
    .addColumn('tenant_id', 'uuid', (c) => c.notNull().references('tenants.id'))
    .addColumn('source', 'text', (c) => c.notNull().check(sql`source in ('hubspot', 'salesforce', 'api')`))
    .addColumn('crm_deal_id', 'text', (c) => c.notNull())
    .addColumn('program_id', 'uuid')
    .addColumn('registration_id', 'uuid')
    .addColumn('name', 'text')
    .addColumn('pipeline', 'text')
    .addColumn('stage', 'text')
    .addColumn('stage_category', 'text', (c) =>
      c.notNull().defaultTo('open').check(sql`stage_category in ('open', 'won', 'lost')`),
    )
    .addColumn('amount', 'bigint')
    .addColumn('currency', 'text', (c) => c.check(sql`currency ~ '^[A-Z]{3}$'`))
    .addColumn('close_date', 'date')
    .addColumn('owner_id', 'text')
    .addColumn('properties', 'jsonb', (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
    .addColumn('deleted_at', 'timestamptz')
    .addColumn('merged_into_crm_deal_id', 'text')
    // The occurred-at of the last applied change per field ({"stage": "…", "amount": "…"}): an event
    // older than what a field already reflects leaves that field alone.
    .addColumn('field_times', 'jsonb', (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
    .addColumn('last_event_at', 'timestamptz')
    .addColumn('won_at', 'timestamptz')
    // Incremented on every applied change: commission postings of one state share a version.
    .addColumn('version', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('created_at', 'timestamptz', now)
    .addColumn('updated_at', 'timestamptz', now)
    .addUniqueConstraint('deals_tenant_id_key', ['tenant_id', 'id'])
    .addUniqueConstraint('deals_crm_key', ['tenant_id', 'source', 'crm_deal_id'])
    .addForeignKeyConstraint('deals_program_fk', ['tenant_id', 'program_id'], 'programs', ['tenant_id', 'id'])
    .addForeignKeyConstraint('deals_registration_fk', ['tenant_id', 'registration_id'], 'registrations', [
      'tenant_id',
      'id',
    ])
    .execute();
  await db.schema
    .createIndex('deals_registration_idx')
    .on('deals')
    .columns(['tenant_id', 'registration_id'])
    .where(sql.ref('registration_id'), 'is not', null)
    .execute();

  await db.schema
    .createTable('deal_attributions')
    .addColumn('tenant_id', 'uuid', (c) => c.notNull())
    .addColumn('deal_id', 'uuid', (c) => c.notNull())
    .addColumn('partner_id', 'uuid', (c) => c.notNull())
    .addColumn('role', 'text', (c) => c.notNull().defaultTo('referral'))
    // Relative weight of the partner's part when a rule splits the deal (e.g. 10 and 5).
    .addColumn('split_weight', 'numeric', (c) => c.notNull().defaultTo(1).check(sql`split_weight > 0`))
    // Listing order: largest-remainder ties go to the partner listed first.
    .addColumn('position', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('created_at', 'timestamptz', now)
    .addPrimaryKeyConstraint('deal_attributions_pkey', ['tenant_id', 'deal_id', 'partner_id'])
    .addForeignKeyConstraint('deal_attributions_deal_fk', ['tenant_id', 'deal_id'], 'deals', [
      'tenant_id',
      'id',
    ])
    .addForeignKeyConstraint('deal_attributions_partner_fk', ['tenant_id', 'partner_id'], 'partners', [
      'tenant_id',
      'id',
    ])
    .execute();
  await db.schema
    .createIndex('deal_attributions_partner_idx')
    .on('deal_attributions')
    .columns(['tenant_id', 'partner_id'])
    .execute();

  await db.schema
    .createTable('deal_events')
    .addColumn('id', 'uuid', id)
    .addColumn('tenant_id', 'uuid', (c) => c.notNull())
    .addColumn('deal_id', 'uuid', (c) => c.notNull())
    .addColumn('source', 'text', (c) => c.notNull())
    .addColumn('source_event_id', 'text', (c) => c.notNull())
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('occurred_at', 'timestamptz', (c) => c.notNull())
    .addColumn('payload', 'jsonb', (c) => c.notNull())
    // What recording it did: 'applied', 'stale: …', 'duplicate', …
    .addColumn('outcome', 'text', (c) => c.notNull())
    .addColumn('received_at', 'timestamptz', now)
    .addUniqueConstraint('deal_events_tenant_id_key', ['tenant_id', 'id'])
    .addUniqueConstraint('deal_events_source_key', ['tenant_id', 'source', 'source_event_id'])
    .addForeignKeyConstraint('deal_events_deal_fk', ['tenant_id', 'deal_id'], 'deals', ['tenant_id', 'id'])
    .execute();
  await db.schema
    .createIndex('deal_events_deal_idx')
    .on('deal_events')
    .columns(['tenant_id', 'deal_id', 'occurred_at'])
    .execute();

  await db.schema
    .createTable('commission_lines')
    .addColumn('id', 'uuid', id)
    .addColumn('tenant_id', 'uuid', (c) => c.notNull())
    .addColumn('program_id', 'uuid', (c) => c.notNull())
    .addColumn('partner_id', 'uuid', (c) => c.notNull())
    .addColumn('deal_id', 'uuid')
    .addColumn('deal_event_id', 'uuid')
    .addColumn('rule_id', 'uuid')
    .addColumn('rule_version', 'integer')
    .addColumn('kind', 'text', (c) =>
      c
        .notNull()
        .check(
          sql`kind in ('commission', 'override', 'tier_adjustment', 'retainer', 'recurring', 'clawback', 'manual')`,
        ),
    )
    // Deterministic, from the cause: `deal:<id>:v<version>:rule:<id>:partner:<id>[:override:<depth>]`.
    .addColumn('cause_key', 'text', (c) => c.notNull())
    .addColumn('override_depth', 'smallint')
    .addColumn('source_line_id', 'uuid')
    .addColumn('reverses_line_id', 'uuid')
    .addColumn('amount', 'bigint', (c) => c.notNull().check(sql`amount <> 0`))
    .addColumn('currency', 'text', (c) => c.notNull().check(sql`currency ~ '^[A-Z]{3}$'`))
    .addColumn('basis_amount', 'bigint')
    .addColumn('basis_currency', 'text')
    // Exact decimals as text ('0.1', '1.0835'): what was applied, recorded, never recomputed.
    .addColumn('rate', 'text')
    .addColumn('fx_rate', 'text')
    .addColumn('period_key', 'text')
    .addColumn('explanation', 'jsonb', (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
    .addColumn('ledger_transaction_id', 'uuid', (c) => c.notNull())
    .addColumn('status', 'text', (c) =>
      c.notNull().check(sql`status in ('pending', 'awaiting_approval', 'approved', 'paid', 'cancelled')`),
    )
    .addColumn('accrued_at', 'timestamptz', (c) => c.notNull())
    .addColumn('hold_until', 'timestamptz', (c) => c.notNull())
    .addColumn('approved_at', 'timestamptz')
    .addColumn('approved_by', 'text')
    .addColumn('payout_id', 'uuid')
    .addColumn('paid_at', 'timestamptz')
    .addColumn('recorded_at', 'timestamptz', now)
    .addUniqueConstraint('commission_lines_tenant_id_key', ['tenant_id', 'id'])
    .addUniqueConstraint('commission_lines_cause_key', ['tenant_id', 'cause_key'])
    .addForeignKeyConstraint('commission_lines_program_fk', ['tenant_id', 'program_id'], 'programs', [
      'tenant_id',
      'id',
    ])
    .addForeignKeyConstraint('commission_lines_partner_fk', ['tenant_id', 'partner_id'], 'partners', [
      'tenant_id',
      'id',
    ])
    .addForeignKeyConstraint('commission_lines_deal_fk', ['tenant_id', 'deal_id'], 'deals', [
      'tenant_id',
      'id',
    ])
    .addForeignKeyConstraint(
      'commission_lines_transaction_fk',
      ['ledger_transaction_id'],
      'ledger_transactions',
      ['id'],
    )
    .addForeignKeyConstraint(
      'commission_lines_reverses_fk',
      ['tenant_id', 'reverses_line_id'],
      'commission_lines',
      ['tenant_id', 'id'],
    )
    .addCheckConstraint(
      'commission_lines_clawback_names_original',
      sql`(kind = 'clawback') = (reverses_line_id is not null)`,
    )
    .execute();
  // A line is reversed at most once.
  await db.schema
    .createIndex('commission_lines_reversed_once')
    .on('commission_lines')
    .columns(['tenant_id', 'reverses_line_id'])
    .unique()
    .where(sql.ref('reverses_line_id'), 'is not', null)
    .execute();
  await db.schema
    .createIndex('commission_lines_deal_idx')
    .on('commission_lines')
    .columns(['tenant_id', 'deal_id'])
    .where(sql.ref('deal_id'), 'is not', null)
    .execute();
  // Statements: a partner's lines in time order.
  await db.schema
    .createIndex('commission_lines_partner_idx')
    .on('commission_lines')
    .columns(['tenant_id', 'partner_id', 'accrued_at', 'id'])
    .execute();
  // The lifecycle jobs look for lines by status and due time.
  await db.schema
    .createIndex('commission_lines_open_idx')
    .on('commission_lines')
    .columns(['tenant_id', 'status', 'hold_until'])
    .where(sql.ref('status'), 'in', ['pending', 'awaiting_approval', 'approved'])
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('commission_lines').execute();
  await db.schema.dropTable('deal_events').execute();
  await db.schema.dropTable('deal_attributions').execute();
  await db.schema.dropTable('deals').execute();
}
