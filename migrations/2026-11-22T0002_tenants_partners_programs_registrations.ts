import { type Kysely, sql } from 'kysely';

// Issue 3's schema: tenants and their staff keys, partners (tiers, hierarchy, contacts), programs and
// enrolments, signed partner links, registrations, the audit log and idempotency records.
// Every row carries its tenant; foreign keys include the tenant so no row can point across tenants.

const id = (col: any) => col.primaryKey().defaultTo(sql`gen_random_uuid()`);
const now = (col: any) => col.notNull().defaultTo(sql`now()`);

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('tenants')
    .addColumn('id', 'uuid', id)
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('crm_kind', 'text', (c) =>
      c.notNull().defaultTo('none').check(sql`crm_kind in ('hubspot', 'salesforce', 'none')`),
    )
    .addColumn('crm_account_id', 'text')
    .addColumn('status', 'text', (c) =>
      c.notNull().defaultTo('active').check(sql`status in ('active', 'disconnected', 'uninstalled')`),
    )
    .addColumn('time_zone', 'text', (c) => c.notNull().defaultTo('UTC'))
    .addColumn('currency', 'text', (c) => c.notNull().defaultTo('USD'))
    .addColumn('settings', 'jsonb', (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
    .addColumn('created_at', 'timestamptz', now)
    .addColumn('updated_at', 'timestamptz', now)
    .addUniqueConstraint('tenants_crm_account_key', ['crm_kind', 'crm_account_id'])
    .execute();

  await db.schema
    .createTable('api_keys')
    .addColumn('id', 'uuid', id)
    .addColumn('tenant_id', 'uuid', (c) => c.notNull().references('tenants.id').onDelete('cascade'))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('role', 'text', (c) =>
      c.notNull().check(sql`role in ('admin', 'program_manager', 'sales_rep')`),
    )
    .addColumn('key_hash', 'text', (c) => c.notNull().unique())
    .addColumn('key_prefix', 'text', (c) => c.notNull())
    .addColumn('created_by', 'text')
    .addColumn('created_at', 'timestamptz', now)
    .addColumn('revoked_at', 'timestamptz')
    .addColumn('last_used_at', 'timestamptz')
    .execute();
  await db.schema.createIndex('api_keys_tenant_idx').on('api_keys').column('tenant_id').execute();

  await db.schema
    .createTable('tiers')
    .addColumn('id', 'uuid', id)
    .addColumn('tenant_id', 'uuid', (c) => c.notNull().references('tenants.id').onDelete('cascade'))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('rank', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('created_at', 'timestamptz', now)
    .addUniqueConstraint('tiers_tenant_name_key', ['tenant_id', 'name'])
    .addUniqueConstraint('tiers_tenant_id_key', ['tenant_id', 'id'])
    .execute();

  await db.schema
    .createTable('partners')
    .addColumn('id', 'uuid', id)
    .addColumn('tenant_id', 'uuid', (c) => c.notNull().references('tenants.id').onDelete('cascade'))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('kind', 'text', (c) =>
      c.notNull().check(sql`kind in ('referral', 'delivery', 'consultancy', 'affiliate')`),
    )
    .addColumn('tier_id', 'uuid')
    .addColumn('status', 'text', (c) =>
      c.notNull().defaultTo('invited').check(sql`status in ('invited', 'active', 'suspended', 'archived')`),
    )
    .addColumn('parent_id', 'uuid')
    .addColumn('external_id', 'text')
    .addColumn('payout_details', 'jsonb', (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
    .addColumn('created_at', 'timestamptz', now)
    .addColumn('updated_at', 'timestamptz', now)
    .addUniqueConstraint('partners_tenant_id_key', ['tenant_id', 'id'])
    .addUniqueConstraint('partners_tenant_external_id_key', ['tenant_id', 'external_id'])
    .addForeignKeyConstraint('partners_tier_fk', ['tenant_id', 'tier_id'], 'tiers', ['tenant_id', 'id'])
    .addForeignKeyConstraint('partners_parent_fk', ['tenant_id', 'parent_id'], 'partners', [
      'tenant_id',
      'id',
    ])
    .addCheckConstraint('partners_not_own_parent', sql`parent_id is null or parent_id <> id`)
    .execute();
  await db.schema
    .createIndex('partners_parent_idx')
    .on('partners')
    .columns(['tenant_id', 'parent_id'])
    .execute();
  await db.schema.createIndex('partners_name_idx').on('partners').columns(['tenant_id', 'name']).execute();

  await db.schema
    .createTable('partner_contacts')
    .addColumn('id', 'uuid', id)
    .addColumn('tenant_id', 'uuid', (c) => c.notNull())
    .addColumn('partner_id', 'uuid', (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('email', 'text', (c) => c.notNull())
    .addColumn('role', 'text')
    .addColumn('created_at', 'timestamptz', now)
    .addUniqueConstraint('partner_contacts_tenant_id_key', ['tenant_id', 'id'])
    .addUniqueConstraint('partner_contacts_partner_email_key', ['tenant_id', 'partner_id', 'email'])
    .addForeignKeyConstraint(
      'partner_contacts_partner_fk',
      ['tenant_id', 'partner_id'],
      'partners',
      ['tenant_id', 'id'],
      (fk) => fk.onDelete('cascade'),
    )
    .execute();
  await db.schema
    .createIndex('partner_contacts_email_idx')
    .on('partner_contacts')
    .columns(['tenant_id', 'email'])
    .execute();

  await db.schema
    .createTable('programs')
    .addColumn('id', 'uuid', id)
    .addColumn('tenant_id', 'uuid', (c) => c.notNull().references('tenants.id').onDelete('cascade'))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) =>
      c.notNull().defaultTo('active').check(sql`status in ('draft', 'active', 'closed')`),
    )
    .addColumn('starts_on', 'date')
    .addColumn('ends_on', 'date')
    .addColumn('eligible_kinds', 'jsonb', (c) => c.notNull().defaultTo(sql`'[]'::jsonb`))
    .addColumn('eligible_tier_ids', 'jsonb', (c) => c.notNull().defaultTo(sql`'[]'::jsonb`))
    .addColumn('protection_days', 'integer', (c) => c.notNull().defaultTo(90).check(sql`protection_days > 0`))
    .addColumn('hold_days', 'integer', (c) => c.notNull().defaultTo(30).check(sql`hold_days >= 0`))
    .addColumn('minimum_payout', 'bigint', (c) => c.notNull().defaultTo(0).check(sql`minimum_payout >= 0`))
    .addColumn('currency', 'text', (c) => c.notNull())
    .addColumn('form_fields', 'jsonb', (c) => c.notNull().defaultTo(sql`'[]'::jsonb`))
    .addColumn('auto_approve', 'jsonb', (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
    .addColumn('commission_plan_id', 'uuid')
    .addColumn('created_at', 'timestamptz', now)
    .addColumn('updated_at', 'timestamptz', now)
    .addUniqueConstraint('programs_tenant_id_key', ['tenant_id', 'id'])
    .addCheckConstraint(
      'programs_dates_ordered',
      sql`ends_on is null or starts_on is null or ends_on >= starts_on`,
    )
    .execute();

  await db.schema
    .createTable('enrolments')
    .addColumn('id', 'uuid', id)
    .addColumn('tenant_id', 'uuid', (c) => c.notNull())
    .addColumn('program_id', 'uuid', (c) => c.notNull())
    .addColumn('partner_id', 'uuid', (c) => c.notNull())
    .addColumn('status', 'text', (c) =>
      c.notNull().defaultTo('active').check(sql`status in ('pending', 'active', 'suspended', 'left')`),
    )
    .addColumn('referral_code', 'text', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', now)
    .addColumn('updated_at', 'timestamptz', now)
    .addUniqueConstraint('enrolments_tenant_id_key', ['tenant_id', 'id'])
    .addUniqueConstraint('enrolments_program_partner_key', ['tenant_id', 'program_id', 'partner_id'])
    .addUniqueConstraint('enrolments_referral_code_key', ['tenant_id', 'referral_code'])
    .addForeignKeyConstraint('enrolments_program_fk', ['tenant_id', 'program_id'], 'programs', [
      'tenant_id',
      'id',
    ])
    .addForeignKeyConstraint('enrolments_partner_fk', ['tenant_id', 'partner_id'], 'partners', [
      'tenant_id',
      'id',
    ])
    .execute();

  await db.schema
    .createTable('partner_links')
    .addColumn('id', 'uuid', id)
    .addColumn('tenant_id', 'uuid', (c) => c.notNull())
    .addColumn('contact_id', 'uuid', (c) => c.notNull())
    .addColumn('purpose', 'text', (c) =>
      c.notNull().check(sql`purpose in ('submit_registration', 'view_referrals', 'view_statements')`),
    )
    .addColumn('program_id', 'uuid')
    .addColumn('expires_at', 'timestamptz', (c) => c.notNull())
    .addColumn('revoked_at', 'timestamptz')
    .addColumn('created_by', 'text')
    .addColumn('created_at', 'timestamptz', now)
    .addColumn('last_used_at', 'timestamptz')
    .addForeignKeyConstraint(
      'partner_links_contact_fk',
      ['tenant_id', 'contact_id'],
      'partner_contacts',
      ['tenant_id', 'id'],
      (fk) => fk.onDelete('cascade'),
    )
    .addForeignKeyConstraint('partner_links_program_fk', ['tenant_id', 'program_id'], 'programs', [
      'tenant_id',
      'id',
    ])
    .execute();

  await db.schema
    .createTable('registrations')
    .addColumn('id', 'uuid', id)
    .addColumn('tenant_id', 'uuid', (c) => c.notNull())
    .addColumn('program_id', 'uuid', (c) => c.notNull())
    .addColumn('partner_id', 'uuid', (c) => c.notNull())
    .addColumn('contact_id', 'uuid')
    .addColumn('source', 'text', (c) =>
      c.notNull().check(sql`source in ('api', 'form', 'referral_code', 'email')`),
    )
    .addColumn('company_name', 'text', (c) => c.notNull())
    .addColumn('company_key', 'text', (c) => c.notNull())
    .addColumn('website', 'text')
    .addColumn('domain', 'text')
    .addColumn('contact_name', 'text')
    .addColumn('contact_email', 'text')
    .addColumn('estimated_value', 'bigint')
    .addColumn('currency', 'text')
    .addColumn('expected_close', 'date')
    .addColumn('notes', 'text')
    .addColumn('custom_fields', 'jsonb', (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
    .addColumn('status', 'text', (c) =>
      c
        .notNull()
        .defaultTo('submitted')
        .check(sql`status in ('submitted', 'approved', 'rejected', 'won', 'lost', 'expired')`),
    )
    .addColumn('check_outcome', 'text', (c) =>
      c.notNull().defaultTo('clear').check(sql`check_outcome in ('clear', 'duplicate_of', 'conflict_with')`),
    )
    .addColumn('related_registration_id', 'uuid')
    .addColumn('check_details', 'jsonb', (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
    .addColumn('override_reason', 'text')
    .addColumn('rejection_reason', 'text')
    .addColumn('approved_at', 'timestamptz')
    .addColumn('approved_by', 'text')
    .addColumn('protected_until', 'timestamptz')
    .addColumn('extension_status', 'text', (c) =>
      c
        .notNull()
        .defaultTo('none')
        .check(sql`extension_status in ('none', 'requested', 'approved', 'rejected')`),
    )
    .addColumn('extension_requested_at', 'timestamptz')
    .addColumn('crm_deal_id', 'text')
    .addColumn('created_at', 'timestamptz', now)
    .addColumn('updated_at', 'timestamptz', now)
    .addUniqueConstraint('registrations_tenant_id_key', ['tenant_id', 'id'])
    .addForeignKeyConstraint('registrations_program_fk', ['tenant_id', 'program_id'], 'programs', [
      'tenant_id',
      'id',
    ])
    .addForeignKeyConstraint('registrations_partner_fk', ['tenant_id', 'partner_id'], 'partners', [
      'tenant_id',
      'id',
    ])
    .execute();
  // Conflict detection looks up the tenant's active claims by domain, contact email and company key.
  const active = sql<boolean>`status in ('submitted', 'approved')`;
  await db.schema
    .createIndex('registrations_active_domain_idx')
    .on('registrations')
    .columns(['tenant_id', 'domain'])
    .where(active)
    .execute();
  await db.schema
    .createIndex('registrations_active_email_idx')
    .on('registrations')
    .columns(['tenant_id', 'contact_email'])
    .where(active)
    .execute();
  await db.schema
    .createIndex('registrations_active_company_idx')
    .on('registrations')
    .columns(['tenant_id', 'company_key'])
    .where(active)
    .execute();
  await db.schema
    .createIndex('registrations_list_idx')
    .on('registrations')
    .columns(['tenant_id', 'created_at', 'id'])
    .execute();
  await db.schema
    .createIndex('registrations_partner_idx')
    .on('registrations')
    .columns(['tenant_id', 'partner_id', 'created_at'])
    .execute();
  await db.schema
    .createIndex('registrations_protection_idx')
    .on('registrations')
    .columns(['protected_until'])
    .where(sql<boolean>`status = 'approved'`)
    .execute();

  await db.schema
    .createTable('audit_log')
    .addColumn('id', 'bigint', (c) => c.primaryKey().generatedAlwaysAsIdentity())
    .addColumn('tenant_id', 'uuid', (c) => c.notNull())
    .addColumn('actor_type', 'text', (c) =>
      c.notNull().check(sql`actor_type in ('api_key', 'contact', 'system', 'cli')`),
    )
    .addColumn('actor_id', 'text')
    .addColumn('action', 'text', (c) => c.notNull())
    .addColumn('subject_type', 'text', (c) => c.notNull())
    .addColumn('subject_id', 'text', (c) => c.notNull())
    .addColumn('before', 'jsonb')
    .addColumn('after', 'jsonb')
    .addColumn('source', 'text', (c) => c.notNull())
    .addColumn('ip', 'text')
    .addColumn('request_id', 'text')
    .addColumn('created_at', 'timestamptz', now)
    .execute();
  await db.schema.createIndex('audit_log_tenant_idx').on('audit_log').columns(['tenant_id', 'id']).execute();
  await db.schema
    .createIndex('audit_log_subject_idx')
    .on('audit_log')
    .columns(['tenant_id', 'subject_type', 'subject_id'])
    .execute();

  await db.schema
    .createTable('idempotency_keys')
    .addColumn('tenant_id', 'uuid', (c) => c.notNull())
    .addColumn('key', 'text', (c) => c.notNull())
    .addColumn('method', 'text', (c) => c.notNull())
    .addColumn('path', 'text', (c) => c.notNull())
    .addColumn('request_hash', 'text', (c) => c.notNull())
    .addColumn('status_code', 'integer', (c) => c.notNull())
    .addColumn('response', 'jsonb', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', now)
    .addPrimaryKeyConstraint('idempotency_keys_pk', ['tenant_id', 'key'])
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const table of [
    'idempotency_keys',
    'audit_log',
    'registrations',
    'partner_links',
    'enrolments',
    'programs',
    'partner_contacts',
    'partners',
    'tiers',
    'api_keys',
    'tenants',
  ]) {
    await db.schema.dropTable(table).execute();
  }
}
