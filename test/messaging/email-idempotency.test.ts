import { randomUUID } from 'node:crypto';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DomainEvent } from '../../src/events/publish-event.ts';
import type { JobContext } from '../../src/jobs/job.ts';
import { sendEmailJob } from '../../src/messaging/send-email.job.ts';
import { type EmailWorld, type Inbox, openEmailWorld, startSmtpInbox } from './email-world.ts';

describe('a send job never sends the same email twice', () => {
  let inbox: Inbox;
  let world: EmailWorld;
  let ctx: JobContext;

  beforeAll(async () => {
    inbox = await startSmtpInbox();
    world = await openEmailWorld({ env: { SMTP_URL: inbox.url } });
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

  const payoutEvent = (): DomainEvent => ({
    id: randomUUID(),
    type: 'payout.paid',
    tenantId: world.t.tenant.id,
    subjectId: randomUUID(),
    occurredAt: new Date().toISOString(),
    data: {
      partnerId: world.partner.id,
      payoutId: randomUUID(),
      amount: '4200',
      currency: 'USD',
      reference: randomUUID(),
    },
  });
  const about = (event: DomainEvent) =>
    inbox.messages.filter((m) => m.text?.includes(event.data.reference as string));

  it('runs twice, sends once per recipient', async () => {
    const event = payoutEvent();
    await sendEmailJob.handle({ event }, ctx);
    await sendEmailJob.handle({ event }, { ...ctx, attempt: 2 });
    const messages = about(event);
    expect(messages.map((m) => m.envelopeTo[0]).sort()).toEqual([
      'ada@northwind.example',
      'bob@northwind.example',
    ]);
    const rows = await world.runtime.db
      .selectFrom('sent_emails')
      .selectAll()
      .where('event_id', '=', event.id)
      .execute();
    expect(rows).toHaveLength(2);
    expect(rows.every((r) => r.status === 'sent' && r.attempts === 1)).toBe(true);
  });

  it('retried after the SMTP server failed part-way, sends each email once, with the first Message-ID', async () => {
    const event = payoutEvent();
    // The first contact's email goes through; the second one's fails, failing the job.
    inbox.failOnceFor('bob@northwind.example');
    await expect(sendEmailJob.handle({ event }, ctx)).rejects.toThrow(/try again later|451/);
    expect(about(event)).toHaveLength(1);
    const failed = await world.runtime.db
      .selectFrom('sent_emails')
      .selectAll()
      .where('event_id', '=', event.id)
      .where('status', '=', 'failed')
      .executeTakeFirstOrThrow();

    await sendEmailJob.handle({ event }, { ...ctx, attempt: 2 });
    const messages = about(event);
    expect(messages.map((m) => m.envelopeTo[0]).sort()).toEqual([
      'ada@northwind.example',
      'bob@northwind.example',
    ]);
    const retried = await world.runtime.db
      .selectFrom('sent_emails')
      .selectAll()
      .where('id', '=', failed.id)
      .executeTakeFirstOrThrow();
    expect(retried).toMatchObject({ status: 'sent', attempts: 2, message_id: failed.message_id });
    expect(messages.find((m) => m.envelopeTo[0] === failed.to_address)?.messageId).toBe(failed.message_id);

    await sendEmailJob.handle({ event }, { ...ctx, attempt: 3 });
    expect(about(event)).toHaveLength(2);
  });

  it('the same event published twice is one job (deduplicated by the event id)', async () => {
    const event = payoutEvent();
    const { enqueueJob } = await import('../../src/jobs/enqueue.ts');
    expect(await enqueueJob(world.runtime.db, sendEmailJob, { event })).toBe(true);
    expect(await enqueueJob(world.runtime.db, sendEmailJob, { event })).toBe(false);
  });
});
