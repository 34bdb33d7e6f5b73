import type { Db, Tx } from '../db/database.ts';
import { publishEvent } from '../events/publish-event.ts';
import type { TimelineNoteRow, TimelineNoteSource } from './inbound-message.table.ts';

export interface NewTimelineNote {
  tenantId: string;
  registrationId: string | null;
  dealId: string | null;
  source: TimelineNoteSource;
  authorContactId: string | null;
  authorName: string;
  body: string;
  inboundMessageId: string | null;
}

/**
 * Adds a note to a registration's (or deal's) timeline and announces it, in one transaction: the CRM
 * connector subscribes to `timeline_note.created` to copy the note to the CRM deal. One inbound
 * message makes at most one note (unique inbound_message_id), whatever the retries.
 */
export async function addTimelineNote(tx: Tx, note: NewTimelineNote): Promise<TimelineNoteRow | undefined> {
  const row = await tx
    .insertInto('timeline_notes')
    .values({
      tenant_id: note.tenantId,
      registration_id: note.registrationId,
      deal_id: note.dealId,
      source: note.source,
      author_contact_id: note.authorContactId,
      author_name: note.authorName,
      body: note.body,
      inbound_message_id: note.inboundMessageId,
    })
    .onConflict((oc) => oc.column('inbound_message_id').doNothing())
    .returningAll()
    .executeTakeFirst();
  if (!row) return undefined;
  await publishEvent(tx, {
    type: 'timeline_note.created',
    tenantId: row.tenant_id,
    subjectId: row.id,
    occurredAt: row.created_at,
    data: {
      noteId: row.id,
      registrationId: row.registration_id,
      dealId: row.deal_id,
      source: row.source,
      authorContactId: row.author_contact_id,
      authorName: row.author_name,
      body: row.body,
      inboundMessageId: row.inbound_message_id,
    },
  });
  return row;
}

/** A registration's notes, oldest first (a timeline reads top to bottom). */
export async function listRegistrationNotes(
  db: Db,
  tenantId: string,
  registrationId: string,
): Promise<TimelineNoteRow[]> {
  return db
    .selectFrom('timeline_notes')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('registration_id', '=', registrationId)
    .orderBy('created_at', 'asc')
    .orderBy('id', 'asc')
    .limit(500)
    .execute();
}
