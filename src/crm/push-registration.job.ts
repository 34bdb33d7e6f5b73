import { Type } from 'typebox';
import { linkDealToRegistration } from '../deals/deal.repository.ts';
import { defineJob } from '../jobs/job.ts';
import { registrationNoteHtml } from './crm-notes.ts';
import { crmTarget, valueOrRetry } from './crm-sync.target.ts';

/**
 * Writes one registration change to the tenant's CRM. Approved: creates (or links to) the deal,
 * company and contact with our properties and associations, records the CRM deal id on the
 * registration and in the deals mirror, and notes the approval on the deal's timeline. Any later
 * change (rejected, extended, won, lost, expired): our properties on the linked deal follow.
 * A retry repeats nothing: the connector remembers what it created under the registration's key.
 */
export const pushRegistrationJob = defineJob({
  name: 'crm.push-registration',
  queue: 'crm',
  payload: Type.Object({
    tenantId: Type.String(),
    registrationId: Type.String(),
    /** The domain event that caused it (`registration.approved`, …): the deduplication id. */
    eventId: Type.String(),
    eventType: Type.String(),
    occurredAt: Type.String(),
    data: Type.Record(Type.String(), Type.Unknown()),
  }),
  attempts: 10,
  backoff: { type: 'exponential', delayMs: 5_000 },
  dedupId: (payload) => payload.eventId,
  async handle(payload, { db, services, log }) {
    const connector = await crmTarget(db, services, payload.tenantId);
    if (!connector) return;
    const registration = await db
      .selectFrom('registrations')
      .innerJoin('partners', (join) =>
        join
          .onRef('partners.id', '=', 'registrations.partner_id')
          .onRef('partners.tenant_id', '=', 'registrations.tenant_id'),
      )
      .selectAll('registrations')
      .select('partners.name as partner_name')
      .where('registrations.tenant_id', '=', payload.tenantId)
      .where('registrations.id', '=', payload.registrationId)
      .executeTakeFirst();
    if (!registration) return;
    const attribution = {
      partnerId: registration.partner_id,
      partnerName: registration.partner_name,
      registrationId: registration.id,
      registrationStatus: registration.status,
      protectedUntil: registration.protected_until,
    };

    let crmDealId = registration.crm_deal_id;
    if (payload.eventType === 'registration.approved') {
      const linked = valueOrRetry(
        await connector.createOrLinkDeal({
          registrationId: registration.id,
          dealName: `${registration.company_name} (via ${registration.partner_name})`,
          amount:
            registration.estimated_value !== null && registration.currency
              ? { minor: registration.estimated_value, currency: registration.currency }
              : null,
          closeDate: registration.expected_close,
          pipelineId: null,
          stageId: null,
          company: { name: registration.company_name, domain: registration.domain },
          contact: registration.contact_email
            ? { email: registration.contact_email, name: registration.contact_name }
            : null,
          attribution,
          existingDealId: registration.crm_deal_id,
        }),
        log,
        'create or link deal',
      );
      if (!linked) return;
      crmDealId = linked.dealId;
      await db.transaction().execute(async (tx) => {
        await tx
          .updateTable('registrations')
          .set({ crm_deal_id: linked.dealId })
          .where('tenant_id', '=', registration.tenant_id)
          .where('id', '=', registration.id)
          .execute();
        await linkDealToRegistration(
          tx,
          {
            tenantId: registration.tenant_id,
            source: connector.kind,
            crmDealId: linked.dealId,
            registrationId: registration.id,
            name: registration.company_name,
            amount: registration.estimated_value,
            currency: registration.currency,
          },
          services,
        );
      });
    } else if (crmDealId) {
      const updated = await connector.updateDealAttribution(crmDealId, attribution);
      if (!updated.ok && valueOrRetry(updated, log, 'update deal attribution') === undefined) return;
    }
    if (!crmDealId) return;

    const note = valueOrRetry(
      await connector.addDealNote(
        {
          dealId: crmDealId,
          bodyHtml: registrationNoteHtml(
            payload.eventType,
            payload.data,
            registration.partner_name,
            registration.protected_until,
          ),
          at: new Date(payload.occurredAt),
        },
        `note:event:${payload.eventId}`,
      ),
      log,
      'registration note',
    );
    if (note)
      log.info({ crmDealId, noteId: note.noteId, event: payload.eventType }, 'crm: registration written');
  },
});
