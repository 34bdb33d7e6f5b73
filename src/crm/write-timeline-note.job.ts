import { Type } from 'typebox';
import { defineJob } from '../jobs/job.ts';
import { replyNoteHtml } from './crm-notes.ts';
import { CrmRetryableError, crmTarget, valueOrRetry } from './crm-sync.target.ts';

/**
 * Copies a timeline note (a partner's emailed reply, a rep's note) to the CRM deal's timeline, once:
 * the note id is the write's idempotency key, and the CRM note id is recorded on our note.
 */
export const writeTimelineNoteJob = defineJob({
  name: 'crm.write-timeline-note',
  queue: 'crm',
  payload: Type.Object({ tenantId: Type.String(), noteId: Type.String() }),
  attempts: 10,
  backoff: { type: 'exponential', delayMs: 5_000 },
  dedupId: (payload) => payload.noteId,
  async handle({ tenantId, noteId }, { db, services, log }) {
    const note = await db
      .selectFrom('timeline_notes')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where('id', '=', noteId)
      .executeTakeFirst();
    if (!note || note.crm_note_id) return;
    const connector = await crmTarget(db, services, tenantId);
    if (!connector) return;

    let crmDealId: string | null = null;
    if (note.deal_id) {
      const deal = await db
        .selectFrom('deals')
        .select(['crm_deal_id'])
        .where('tenant_id', '=', tenantId)
        .where('id', '=', note.deal_id)
        .where('source', '=', connector.kind)
        .executeTakeFirst();
      crmDealId = deal?.crm_deal_id ?? null;
    }
    if (!crmDealId && note.registration_id) {
      const registration = await db
        .selectFrom('registrations')
        .select(['crm_deal_id', 'status'])
        .where('tenant_id', '=', tenantId)
        .where('id', '=', note.registration_id)
        .executeTakeFirst();
      crmDealId = registration?.crm_deal_id ?? null;
      // Approved, but its deal is still being created by crm.push-registration: try again shortly.
      if (!crmDealId && registration?.status === 'approved') {
        throw new CrmRetryableError({ kind: 'not_found', message: 'the registration has no CRM deal yet' });
      }
    }
    if (!crmDealId) return;

    const written = valueOrRetry(
      await connector.addDealNote(
        { dealId: crmDealId, bodyHtml: replyNoteHtml(note.author_name, note.body), at: note.created_at },
        `note:timeline:${note.id}`,
      ),
      log,
      'timeline note',
    );
    if (!written) return;
    await db
      .updateTable('timeline_notes')
      .set({ crm_note_id: written.noteId, crm_synced_at: services.clock.now() })
      .where('tenant_id', '=', tenantId)
      .where('id', '=', note.id)
      .execute();
  },
});
