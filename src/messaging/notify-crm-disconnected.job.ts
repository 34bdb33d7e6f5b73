import { Type } from 'typebox';
import { defineJob } from '../jobs/job.ts';
import { brandingOf } from './branding.ts';
import { sendStaffEmailOnce } from './email-staff.ts';
import { notificationEmailOf } from './notify-note-owner.job.ts';

const CRM_NAMES: Record<string, string> = { hubspot: 'HubSpot', salesforce: 'Salesforce' };
/** Install pages an admin reconnects from; a CRM missing here gets no link rather than a wrong one. */
const RECONNECT_PATHS: Record<string, string> = {
  hubspot: '/oauth/hubspot/install',
  salesforce: '/oauth/salesforce/install',
};

function formatWhen(iso: string, timeZone: string): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  try {
    return new Intl.DateTimeFormat('en-GB', {
      day: 'numeric',
      month: 'short',
      year: 'numeric',
      hour: '2-digit',
      minute: '2-digit',
      hourCycle: 'h23',
      timeZone,
      timeZoneName: 'short',
    }).format(date);
  } catch {
    // A zone Intl does not know should not cost the admins the email.
    return `${date.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
  }
}

/**
 * Tells the tenant's admins (its staff notification address) that its CRM was disconnected, so
 * they reconnect before partners notice missing updates. Once per `tenant.disconnected` event (the
 * staff email is keyed on it). No address set is not an error: the audit entry still records it.
 */
export const notifyCrmDisconnectedJob = defineJob({
  name: 'email.notify-crm-disconnected',
  queue: 'email',
  payload: Type.Object({
    eventId: Type.String(),
    tenantId: Type.String(),
    crm: Type.String(),
    reason: Type.String(),
    occurredAt: Type.String(),
  }),
  attempts: 6,
  backoff: { type: 'exponential', delayMs: 5_000 },
  dedupId: (payload) => `crm-disconnected:${payload.eventId}`,
  async handle({ eventId, tenantId, crm, reason, occurredAt }, { db, services, log }) {
    const tenant = await db
      .selectFrom('tenants')
      .select(['name', 'settings', 'time_zone'])
      .where('id', '=', tenantId)
      .executeTakeFirst();
    if (!tenant) return;
    const to = notificationEmailOf(tenant.settings);
    if (!to) {
      log.warn(
        { tenantId, crm, reason },
        'CRM disconnected but the tenant has no notification address: nobody was emailed',
      );
      return;
    }
    const path = RECONNECT_PATHS[crm];
    await sendStaffEmailOnce(
      db,
      services,
      {
        tenantId,
        eventId: `tenant.disconnected/${eventId}`,
        template: 'crm-disconnected',
        to,
        branding: brandingOf(tenant),
        data: {
          crm: { name: CRM_NAMES[crm] ?? crm },
          when: formatWhen(occurredAt, tenant.time_zone),
          reason: {
            refused: reason === 'refresh_refused',
            uninstalled: reason === 'uninstalled',
            manual: reason === 'admin_disconnect',
            other: !['refresh_refused', 'uninstalled', 'admin_disconnect'].includes(reason),
          },
          reconnectUrl: path ? `${services.config.publicUrl}${path}` : null,
        },
      },
      log,
    );
  },
});
