import { type Kysely, sql } from 'kysely';

// Issue 6, inbound answers: every answer the inbox sends back (the result of a registration by
// email, a polite refusal) is recorded once per inbound message, so a redelivery answers nothing
// again, and refusals can be rate-limited per address (at most one per address per day).

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('inbound_answers')
    .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('tenant_id', 'uuid', (c) => c.references('tenants.id').onDelete('cascade'))
    .addColumn('inbound_message_id', 'uuid', (c) =>
      c.notNull().unique().references('inbound_messages.id').onDelete('cascade'),
    )
    // Lower-cased; always a contact on file, never an arbitrary From address.
    .addColumn('to_address', 'text', (c) => c.notNull())
    .addColumn('kind', 'text', (c) => c.notNull().check(sql`kind in ('registration', 'refusal')`))
    .addColumn('template', 'text', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await db.schema
    .createIndex('inbound_answers_rate_idx')
    .on('inbound_answers')
    .columns(['to_address', 'kind', 'created_at'])
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('inbound_answers').ifExists().execute();
}
