import { type Kysely, sql } from 'kysely';

// Issue 6, outbound: reply tokens (the credential in a partner's Reply-To address), the record of
// every email sent (so a retried job never sends twice), unsubscribes per contact and kind of email,
// and the coalescing heads that let rapid deal stage changes become one email.

const id = (col: any) => col.primaryKey().defaultTo(sql`gen_random_uuid()`);
const now = (col: any) => col.notNull().defaultTo(sql`now()`);

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('reply_tokens')
    .addColumn('id', 'uuid', id)
    .addColumn('tenant_id', 'uuid', (c) => c.notNull().references('tenants.id').onDelete('cascade'))
    // SHA-256 (hex) of the token: a leaked table does not yield working reply addresses.
    .addColumn('token_hash', 'text', (c) => c.notNull().unique())
    // The token sealed with the token encryption key, so the same live token can be handed out again.
    .addColumn('token_sealed', 'text')
    .addColumn('contact_id', 'uuid', (c) => c.notNull())
    .addColumn('partner_id', 'uuid', (c) => c.notNull())
    .addColumn('registration_id', 'uuid')
    // No foreign key: deals arrive in a later migration.
    .addColumn('deal_id', 'uuid')
    .addColumn('thread', 'text', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', now)
    .addColumn('expires_at', 'timestamptz', (c) => c.notNull())
    .addColumn('revoked_at', 'timestamptz')
    .addForeignKeyConstraint(
      'reply_tokens_contact_fk',
      ['tenant_id', 'contact_id'],
      'partner_contacts',
      ['tenant_id', 'id'],
      (fk) => fk.onDelete('cascade'),
    )
    .addForeignKeyConstraint(
      'reply_tokens_registration_fk',
      ['tenant_id', 'registration_id'],
      'registrations',
      ['tenant_id', 'id'],
      (fk) => fk.onDelete('cascade'),
    )
    .execute();
  await db.schema
    .createIndex('reply_tokens_subject_idx')
    .on('reply_tokens')
    .columns(['tenant_id', 'contact_id', 'thread', 'registration_id', 'deal_id'])
    .execute();

  await db.schema
    .createTable('sent_emails')
    .addColumn('id', 'uuid', id)
    .addColumn('tenant_id', 'uuid', (c) => c.notNull().references('tenants.id').onDelete('cascade'))
    // event × recipient × template: what makes a send unique.
    .addColumn('idempotency_key', 'text', (c) => c.notNull())
    .addColumn('message_id', 'text', (c) => c.notNull())
    .addColumn('template', 'text', (c) => c.notNull())
    .addColumn('event_id', 'text', (c) => c.notNull())
    .addColumn('contact_id', 'uuid')
    .addColumn('to_address', 'text', (c) => c.notNull())
    .addColumn('subject', 'text', (c) => c.notNull())
    // Messages of one thread (contact × registration/deal × thread) reply to each other.
    .addColumn('thread_key', 'text', (c) => c.notNull())
    .addColumn('reply_token_id', 'uuid')
    .addColumn('status', 'text', (c) =>
      c.notNull().defaultTo('sending').check(sql`status in ('sending', 'sent', 'failed')`),
    )
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(1))
    .addColumn('error', 'text')
    .addColumn('created_at', 'timestamptz', now)
    .addColumn('sent_at', 'timestamptz')
    .addUniqueConstraint('sent_emails_idempotency_key', ['tenant_id', 'idempotency_key'])
    .execute();
  await db.schema
    .createIndex('sent_emails_thread_idx')
    .on('sent_emails')
    .columns(['tenant_id', 'thread_key', 'created_at'])
    .execute();

  await db.schema
    .createTable('email_unsubscribes')
    .addColumn('tenant_id', 'uuid', (c) => c.notNull().references('tenants.id').onDelete('cascade'))
    .addColumn('contact_id', 'uuid', (c) => c.notNull())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', now)
    .addPrimaryKeyConstraint('email_unsubscribes_pkey', ['tenant_id', 'contact_id', 'kind'])
    .addForeignKeyConstraint(
      'email_unsubscribes_contact_fk',
      ['tenant_id', 'contact_id'],
      'partner_contacts',
      ['tenant_id', 'id'],
      (fk) => fk.onDelete('cascade'),
    )
    .execute();

  await db.schema
    .createTable('email_coalesce_heads')
    .addColumn('tenant_id', 'uuid', (c) => c.notNull().references('tenants.id').onDelete('cascade'))
    // e.g. `deal-stage:<dealId>`: the stream whose rapid changes make one email.
    .addColumn('coalesce_key', 'text', (c) => c.notNull())
    .addColumn('event_id', 'text', (c) => c.notNull())
    .addColumn('occurred_at', 'timestamptz', (c) => c.notNull())
    .addColumn('updated_at', 'timestamptz', now)
    .addPrimaryKeyConstraint('email_coalesce_heads_pkey', ['tenant_id', 'coalesce_key'])
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('email_coalesce_heads').ifExists().execute();
  await db.schema.dropTable('email_unsubscribes').ifExists().execute();
  await db.schema.dropTable('sent_emails').ifExists().execute();
  await db.schema.dropTable('reply_tokens').ifExists().execute();
}
