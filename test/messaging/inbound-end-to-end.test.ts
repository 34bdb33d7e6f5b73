import nodemailer from 'nodemailer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type InboundSmtp, startInboundSmtp } from '../../src/messaging/inbound-smtp.ts';
import { waitFor } from '../helpers/wait-for.ts';
import { type EmailWorld, type Inbox, openEmailWorld, startSmtpInbox } from './email-world.ts';

/*
 * The whole loop over real SMTP: the app emails a partner through an SMTP server started here, the
 * partner's reply comes back through the app's own SMTP receiver, and a note lands on the
 * registration (no CRM is connected in this world, so the registration is where notes live).
 */
describe('a partner replies to a notification by email', () => {
  let inbox: Inbox;
  let world: EmailWorld;
  let receiver: InboundSmtp;

  beforeAll(async () => {
    inbox = await startSmtpInbox();
    world = await openEmailWorld({ env: { SMTP_URL: inbox.url, EMAIL_FROM: 'partners@acme.example' } });
    await world.startWorkers();
    receiver = await startInboundSmtp({
      db: world.runtime.db,
      config: world.runtime.config,
      log: world.runtime.logger,
      port: 0,
      host: '127.0.0.1',
    });
  });
  afterAll(async () => {
    await receiver?.close();
    await world?.close();
    await inbox?.close();
  });

  it('the reply, without the quoted notification, becomes a note on the registration', async () => {
    const created = await world.app.inject({
      method: 'POST',
      url: '/api/v1/registrations',
      headers: world.t.as('sales_rep'),
      payload: {
        programId: world.program.id,
        partnerId: world.partner.id,
        companyName: 'Initech',
        website: 'https://initech-software.com',
      },
    });
    expect(created.statusCode, created.body).toBe(201);
    const registrationId = created.json().id as string;
    const ada = world.contacts[0]!;

    const sent = await waitFor(
      'the notification to Ada',
      () => inbox.messages.find((m) => m.envelopeTo[0] === ada.email && (m.text ?? '').includes('Initech')),
      { timeoutMs: 20_000 },
    );
    const replyTo = sent.replyTo?.value[0]?.address;
    expect(replyTo).toMatch(/^reply\+[a-z2-7]{26}@reply\.example\.com$/);

    // Ada's mail client: To = the Reply-To, threading headers, the original quoted below.
    const quoted = (sent.text ?? '')
      .split('\n')
      .map((line) => `> ${line}`)
      .join('\n');
    const info = await nodemailer
      .createTransport({ host: '127.0.0.1', port: receiver.port, secure: false, ignoreTLS: true })
      .sendMail({
        from: `Ada Lovelace <${ada.email}>`,
        to: replyTo,
        subject: `Re: ${sent.subject}`,
        inReplyTo: sent.messageId,
        references: [sent.messageId!],
        text: `Initech's CTO wants a demo on Tuesday.\n\nOn Mon, 23 Nov 2026 at 09:00, Acme Partners <partners@acme.example> wrote:\n${quoted}`,
      });
    expect(info.response).toMatch(/^250 /);

    const notes = await waitFor(
      'the note on the registration',
      async () => {
        const response = await world.app.inject({
          method: 'GET',
          url: `/api/v1/registrations/${registrationId}/notes`,
          headers: world.t.as('sales_rep'),
        });
        const data = response.json().data as { body: string; author: { name: string; contactId: string } }[];
        return data.length > 0 ? data : undefined;
      },
      { timeoutMs: 20_000 },
    );
    expect(notes).toEqual([
      expect.objectContaining({
        source: 'email',
        body: "Initech's CTO wants a demo on Tuesday.",
        author: { contactId: ada.id, name: 'Ada Lovelace' },
        crmNoteId: null,
      }),
    ]);
    // The note was announced for the CRM connector.
    const events = await world.runtime.db
      .selectFrom('outbox')
      .select('payload')
      .where('job_name', '=', 'events.deliver')
      .execute();
    expect(events.map((e) => (e.payload as { type: string }).type)).toContain('timeline_note.created');
  });
});
