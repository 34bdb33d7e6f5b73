import { Type } from 'typebox';
import type { Db } from '../db/database.ts';
import { defineJob } from '../jobs/job.ts';
import { brandingOf } from './branding.ts';
import { sendStaffEmailOnce } from './email-staff.ts';

/** Deal properties a CRM mirror may carry the owner's address in (HubSpot sync, the deal API). */
export const OWNER_EMAIL_PROPERTIES = ['owner_email', 'hubspot_owner_email', 'ownerEmail'];
const EMAIL = /^[^\s@<>()[\]\\,;:"]+@[^\s@<>()[\]\\,;:"]+\.[^\s@<>()[\]\\,;:"]+$/;

/** The tenant's staff notification address (`tenants.settings.notificationEmail`), when valid. */
export function notificationEmailOf(settings: Record<string, unknown> | null | undefined): string | null {
  const value = settings?.notificationEmail;
  return typeof value === 'string' && EMAIL.test(value.trim()) ? value.trim() : null;
}

async function findDeal(db: Db, tenantId: string, dealId: string | null, registrationId: string | null) {
  let query = db
    .selectFrom('deals')
    .select(['name', 'stage', 'properties'])
    .where('tenant_id', '=', tenantId)
    .where('deleted_at', 'is', null);
  if (dealId) query = query.where('id', '=', dealId);
  else if (registrationId) query = query.where('registration_id', '=', registrationId);
  else return undefined;
  return query.orderBy('updated_at', 'desc').limit(1).executeTakeFirst();
}

/**
 * Tells the people who own the relationship that a partner replied by email: the deal owner when
 * the deal mirror knows their address, else the tenant's staff notification address. Once per note
 * (the staff email is keyed on it); nobody to tell is not an error.
 */
export const notifyNoteOwnerJob = defineJob({
  name: 'email.notify-note-owner',
  queue: 'email',
  payload: Type.Object({ tenantId: Type.String(), noteId: Type.String() }),
  attempts: 6,
  backoff: { type: 'exponential', delayMs: 5_000 },
  dedupId: (payload) => `note-owner:${payload.noteId}`,
  async handle({ tenantId, noteId }, { db, services, log }) {
    const note = await db
      .selectFrom('timeline_notes')
      .leftJoin('registrations', (join) =>
        join
          .onRef('registrations.id', '=', 'timeline_notes.registration_id')
          .onRef('registrations.tenant_id', '=', 'timeline_notes.tenant_id'),
      )
      .leftJoin('partners', (join) =>
        join
          .onRef('partners.id', '=', 'registrations.partner_id')
          .onRef('partners.tenant_id', '=', 'registrations.tenant_id'),
      )
      .select([
        'timeline_notes.body',
        'timeline_notes.author_name',
        'timeline_notes.registration_id',
        'timeline_notes.deal_id',
        'registrations.company_name',
        'partners.name as partner_name',
      ])
      .where('timeline_notes.tenant_id', '=', tenantId)
      .where('timeline_notes.id', '=', noteId)
      .executeTakeFirst();
    const tenant = await db
      .selectFrom('tenants')
      .select(['name', 'settings'])
      .where('id', '=', tenantId)
      .executeTakeFirst();
    if (!note || !tenant) return;
    const deal = await findDeal(db, tenantId, note.deal_id, note.registration_id);
    const ownerEmail = OWNER_EMAIL_PROPERTIES.map((p) => deal?.properties?.[p]?.trim()).find(
      (v): v is string => typeof v === 'string' && EMAIL.test(v),
    );
    const to = ownerEmail ?? notificationEmailOf(tenant.settings);
    if (!to) {
      log.debug({ noteId }, 'partner reply: no owner or notification address to tell');
      return;
    }
    const crm = await db
      .selectFrom('crm_connections')
      .select('tenant_id')
      .where('tenant_id', '=', tenantId)
      .executeTakeFirst();
    await sendStaffEmailOnce(
      db,
      services,
      {
        tenantId,
        eventId: `note/${noteId}`,
        template: 'partner-reply',
        to,
        branding: brandingOf(tenant),
        data: {
          note: { authorName: note.author_name, body: note.body },
          partner: { name: note.partner_name ?? '' },
          registration: { company: note.company_name ?? '' },
          deal: deal ? { name: deal.name, stage: deal.stage } : null,
          crm: crm !== undefined,
        },
      },
      log,
    );
  },
});
