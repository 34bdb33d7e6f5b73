import { Type } from 'typebox';
import { publishEvent } from '../events/publish-event.ts';
import { defineJob } from '../jobs/job.ts';

/**
 * Once a week, `partner.weekly_digest` for every partner with open referrals (submitted or approved).
 * The event id names the week's slot, so the digest of one week is one email per contact.
 */
export const weeklyDigestJob = defineJob({
  name: 'email.weekly-digest',
  queue: 'default',
  payload: Type.Object({ slot: Type.String({ minLength: 1 }) }),
  attempts: 3,
  backoff: { type: 'exponential', delayMs: 30_000 },
  dedupId: (payload) => payload.slot,
  async handle({ slot }, { db, services, log }) {
    const partners = await db
      .selectFrom('registrations')
      .innerJoin('partners', (join) =>
        join
          .onRef('partners.id', '=', 'registrations.partner_id')
          .onRef('partners.tenant_id', '=', 'registrations.tenant_id'),
      )
      .select(['registrations.tenant_id', 'registrations.partner_id'])
      .where('registrations.status', 'in', ['submitted', 'approved'])
      .where('partners.status', '=', 'active')
      .groupBy(['registrations.tenant_id', 'registrations.partner_id'])
      .execute();
    for (const p of partners) {
      await publishEvent(db, {
        id: `weekly-digest/${p.partner_id}/${slot}`,
        type: 'partner.weekly_digest',
        tenantId: p.tenant_id,
        subjectId: p.partner_id,
        occurredAt: services.clock.now(),
        data: { partnerId: p.partner_id },
      });
    }
    log.info({ partners: partners.length }, 'weekly digests announced');
  },
});
