import { type Kysely, sql } from 'kysely';

// Issue 6, inbound: every email that reaches us (HTTP, provider webhook, built-in SMTP receiver) is
// kept raw in inbound_messages before anything else happens, then processed by the inbox job into a
// timeline note or a recorded rejection. Mailgun webhook tokens are remembered so a captured request
// cannot be replayed. timeline_notes holds what partners (and, later, reps and registrations) said
// about a registration or deal; a CRM connector copies each note to the CRM and fills crm_note_id.

const id = (col: any) => col.primaryKey().defaultTo(sql`gen_random_uuid()`);
const now = (col: any) => col.notNull().defaultTo(sql`now()`);

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('inbound_messages')
    .addColumn('id', 'uuid', id)
    // Known once the reply token resolves; a message without a valid token belongs to no tenant.
    .addColumn('tenant_id', 'uuid', (c) => c.references('tenants.id').onDelete('cascade'))
    .addColumn('channel', 'text', (c) =>
      c.notNull().check(sql`channel in ('http', 'mailgun', 'postmark', 'smtp')`),
    )
    // Message-ID, or `sha256:<hex>` of the raw message when it has none: a redelivery is one row.
    .addColumn('dedup_key', 'text', (c) => c.notNull().unique())
    .addColumn('message_id', 'text')
    // Raw RFC 5322 bytes: kept for reference and reprocessing, never parsed in the request.
    .addColumn('raw', 'bytea', (c) => c.notNull())
    .addColumn('size_bytes', 'integer', (c) => c.notNull())
    .addColumn('envelope', 'jsonb', (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
    .addColumn('status', 'text', (c) =>
      c.notNull().defaultTo('received').check(sql`status in ('received', 'processed', 'rejected', 'review')`),
    )
    .addColumn('reason', 'text')
    .addColumn('from_address', 'text')
    .addColumn('subject', 'text')
    .addColumn('reply_token_id', 'uuid')
    .addColumn('contact_id', 'uuid')
    .addColumn('registration_id', 'uuid')
    .addColumn('reply_text', 'text')
    .addColumn('quoted_text', 'text')
    .addColumn('received_at', 'timestamptz', now)
    .addColumn('processed_at', 'timestamptz')
    .execute();
  await db.schema
    .createIndex('inbound_messages_status_idx')
    .on('inbound_messages')
    .columns(['status', 'received_at'])
    .execute();

  await db.schema
    .createTable('inbound_webhook_tokens')
    .addColumn('provider', 'text', (c) => c.notNull())
    .addColumn('token', 'text', (c) => c.notNull())
    .addColumn('seen_at', 'timestamptz', now)
    .addPrimaryKeyConstraint('inbound_webhook_tokens_pkey', ['provider', 'token'])
    .execute();

  await db.schema
    .createTable('timeline_notes')
    .addColumn('id', 'uuid', id)
    .addColumn('tenant_id', 'uuid', (c) => c.notNull().references('tenants.id').onDelete('cascade'))
    .addColumn('registration_id', 'uuid')
    // Our deal id; no foreign key: deals arrive in a later migration.
    .addColumn('deal_id', 'uuid')
    .addColumn('source', 'text', (c) => c.notNull().check(sql`source in ('email', 'registration', 'rep')`))
    .addColumn('author_contact_id', 'uuid')
    .addColumn('author_name', 'text', (c) => c.notNull())
    .addColumn('body', 'text', (c) => c.notNull())
    // One note per inbound message, whatever the number of deliveries or retries.
    .addColumn('inbound_message_id', 'uuid', (c) =>
      c.unique().references('inbound_messages.id').onDelete('set null'),
    )
    .addColumn('created_at', 'timestamptz', now)
    .addColumn('crm_note_id', 'text')
    .addColumn('crm_synced_at', 'timestamptz')
    .addForeignKeyConstraint(
      'timeline_notes_registration_fk',
      ['tenant_id', 'registration_id'],
      'registrations',
      ['tenant_id', 'id'],
      (fk) => fk.onDelete('cascade'),
    )
    .execute();
  await db.schema
    .createIndex('timeline_notes_registration_idx')
    .on('timeline_notes')
    .columns(['tenant_id', 'registration_id', 'created_at'])
    .execute();
  await db.schema
    .createIndex('timeline_notes_deal_idx')
    .on('timeline_notes')
    .columns(['tenant_id', 'deal_id', 'created_at'])
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('timeline_notes').ifExists().execute();
  await db.schema.dropTable('inbound_webhook_tokens').ifExists().execute();
  await db.schema.dropTable('inbound_messages').ifExists().execute();
}
