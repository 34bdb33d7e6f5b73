import { Type } from 'typebox';
import { publishEvent } from '../events/publish-event.ts';
import { defineJob } from '../jobs/job.ts';

export const REMINDER_DAYS = 7;
const DAY = 86_400_000;

/**
 * Announces `registration.protection_expiring` for approved registrations whose protection ends
 * within the next 7 days (and not within the last hour of the window, which the expiry job owns).
 * The event id names the registration and its protected-until instant: every run finds the same
 * registrations again, and the outbox and the email record make each reminder one email; an
 * extended protection gets a new reminder.
 */
export const protectionRemindersJob = defineJob({
  name: 'email.protection-reminders',
  queue: 'default',
  payload: Type.Object({ slot: Type.String({ minLength: 1 }) }),
  attempts: 3,
  backoff: { type: 'exponential', delayMs: 5_000 },
  dedupId: (payload) => payload.slot,
  async handle(_payload, { db, services, log }) {
    const now = services.clock.now();
    const rows = await db
      .selectFrom('registrations')
      .select(['id', 'tenant_id', 'partner_id', 'protected_until'])
      .where('status', '=', 'approved')
      .where('protected_until', '>', new Date(now.getTime() + 3_600_000))
      .where('protected_until', '<=', new Date(now.getTime() + REMINDER_DAYS * DAY))
      .orderBy('protected_until')
      .limit(5_000)
      .execute();
    for (const row of rows) {
      const until = row.protected_until as Date;
      await publishEvent(db, {
        id: `protection-expiring/${row.id}/${until.toISOString()}`,
        type: 'registration.protection_expiring',
        tenantId: row.tenant_id,
        subjectId: row.id,
        occurredAt: now,
        data: {
          registrationId: row.id,
          partnerId: row.partner_id,
          protectedUntil: until.toISOString(),
          daysLeft: Math.max(1, Math.ceil((until.getTime() - now.getTime()) / DAY)),
        },
      });
    }
    if (rows.length > 0) log.info({ count: rows.length }, 'protection reminders announced');
  },
});
