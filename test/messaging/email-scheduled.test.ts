import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.ts';
import type { DomainEvent } from '../../src/events/publish-event.ts';
import type { JobContext } from '../../src/jobs/job.ts';
import { protectionRemindersJob } from '../../src/messaging/protection-reminders.job.ts';
import { sendEmailJob } from '../../src/messaging/send-email.job.ts';
import { weeklyDigestJob } from '../../src/messaging/weekly-digest.job.ts';
import { type EmailWorld, type Inbox, openEmailWorld, startSmtpInbox } from './email-world.ts';

const NOW = new Date('2026-11-22T09:00:00.000Z');
const DAY = 86_400_000;

describe('scheduled partner emails', () => {
  let inbox: Inbox;
  let world: EmailWorld;
  let ctx: JobContext;
  const clock = new ManualClock(NOW);

  beforeAll(async () => {
    inbox = await startSmtpInbox();
    world = await openEmailWorld({ env: { SMTP_URL: inbox.url }, clock });
    ctx = {
      db: world.runtime.db,
      log: pino({ level: 'silent' }),
      jobId: 'test',
      attempt: 1,
      services: world.runtime.services,
    };
  });
  afterAll(async () => {
    await world?.close();
    await inbox?.close();
  });

  async function registration(
    company: string,
    status: 'submitted' | 'approved' | 'lost',
    protectedUntil: Date | null,
  ) {
    return world.runtime.db
      .insertInto('registrations')
      .values({
        tenant_id: world.t.tenant.id,
        program_id: world.program.id,
        partner_id: world.partner.id,
        source: 'api',
        company_name: company,
        company_key: company.toLowerCase(),
        status,
        protected_until: protectedUntil,
        approved_at: status === 'approved' ? NOW : null,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
  }

  /** Runs the send job of every email event the scheduled job announced (as events.deliver would). */
  async function deliverAnnounced(type: string): Promise<DomainEvent[]> {
    const rows = await world.runtime.db
      .selectFrom('outbox')
      .select('payload')
      .where('job_name', '=', 'events.deliver')
      .execute();
    const events = rows.map((r) => r.payload as DomainEvent).filter((e) => e.type === type);
    for (const event of events) await sendEmailJob.handle({ event }, ctx);
    return events;
  }

  it('reminds each contact once, 7 days before protection ends, and again only for a new end date', async () => {
    const soon = await registration('Soon Ending Ltd', 'approved', new Date(NOW.getTime() + 6.5 * DAY));
    await registration('Far Away plc', 'approved', new Date(NOW.getTime() + 20 * DAY));
    await protectionRemindersJob.handle({ slot: 'a' }, ctx);
    await protectionRemindersJob.handle({ slot: 'b' }, ctx);
    const events = await deliverAnnounced('registration.protection_expiring');
    expect(events.map((e) => e.subjectId)).toEqual([soon.id]);
    await deliverAnnounced('registration.protection_expiring');
    const reminders = inbox.messages.filter((m) =>
      /^Protection ends in 7 days: Soon Ending Ltd/.test(m.subject ?? ''),
    );
    expect(reminders.map((m) => m.envelopeTo[0]).sort()).toEqual([
      'ada@northwind.example',
      'bob@northwind.example',
    ]);
    expect(reminders[0]?.text).toContain('on 28 Nov 2026');

    // Extended: a new end date inside the window is a new reminder.
    await world.runtime.db
      .updateTable('registrations')
      .set({ protected_until: new Date(NOW.getTime() + 6.9 * DAY) })
      .where('id', '=', soon.id)
      .execute();
    await protectionRemindersJob.handle({ slot: 'c' }, ctx);
    await deliverAnnounced('registration.protection_expiring');
    expect(inbox.messages.filter((m) => /^Protection ends in/.test(m.subject ?? ''))).toHaveLength(4);
  });

  it("sends the weekly digest of the partner's open referrals, once per week", async () => {
    await registration('Open Submitted Inc', 'submitted', null);
    await registration('Lost Deal GmbH', 'lost', null);
    await weeklyDigestJob.handle({ slot: '2026-11-19T00:00:00.000Z' }, ctx);
    await weeklyDigestJob.handle({ slot: '2026-11-19T00:00:00.000Z' }, ctx);
    await deliverAnnounced('partner.weekly_digest');
    const digests = inbox.messages.filter((m) => /^Your open referrals this week/.test(m.subject ?? ''));
    expect(digests).toHaveLength(2);
    const text = digests[0]?.text ?? '';
    expect(text).toContain('- Open Submitted Inc: submitted');
    expect(text).toContain('- Soon Ending Ltd: approved, protected until');
    expect(text).not.toContain('Lost Deal GmbH');
    expect(digests[0]?.subject).toMatch(/\(3\)/);
  });
});
