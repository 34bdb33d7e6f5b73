import nodemailer from 'nodemailer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type InboundSmtp, startInboundSmtp } from '../../src/messaging/inbound-smtp.ts';
import { issueReplyToken } from '../../src/messaging/reply-tokens.ts';
import { makeContact, makePartner } from '../factories/partner.factory.ts';
import { makeEnrolment } from '../factories/program.factory.ts';
import { sleep, waitFor } from '../helpers/wait-for.ts';
import { type Inbox, startSmtpInbox } from './email-world.ts';
import { type InboundWorld, openInboundWorld } from './inbound-world.ts';

let inbox: Inbox;
let w: InboundWorld;
let smtp: InboundSmtp;
beforeAll(async () => {
  inbox = await startSmtpInbox();
  w = await openInboundWorld({ env: { SMTP_URL: inbox.url } });
  smtp = await startInboundSmtp({
    db: w.runtime.db,
    config: w.runtime.config,
    log: w.runtime.logger,
    port: 0,
    host: '127.0.0.1',
  });
});
afterAll(async () => {
  await smtp?.close();
  await w?.close();
  await inbox?.close();
});

let counter = 0;
/** A partner's email as raw RFC 5322, so it can be delivered twice byte for byte. */
function partnerEmail(to: string, text: string, options: { from?: string; subject?: string } = {}) {
  counter++;
  const messageId = `<register-${Date.now()}-${counter}@mail.partner.example>`;
  const raw = [
    `From: ${options.from ?? 'Jane Partner <jane@partner.example>'}`,
    `To: ${to}`,
    `Subject: ${options.subject ?? 'New lead'}`,
    'Date: Mon, 23 Nov 2026 10:15:00 +0000',
    `Message-ID: ${messageId}`,
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=utf-8',
    '',
    text,
  ].join('\r\n');
  return { raw, messageId, to };
}

/** Sends through the app's SMTP receiver, a real SMTP conversation. */
async function deliver(message: { raw: string; to: string }, from = 'jane@partner.example') {
  const transport = nodemailer.createTransport({
    host: '127.0.0.1',
    port: smtp.port,
    secure: false,
    ignoreTLS: true,
    name: 'mail.partner.example',
  });
  const info = await transport.sendMail({ envelope: { from, to: [message.to] }, raw: message.raw });
  expect(info.accepted).toEqual([message.to]);
}

const registerAddress = () => `register+${w.referralCode}@${w.domain}`;
const answerTo = (messageId: string) =>
  waitFor(`the answer to ${messageId}`, () => inbox.messages.find((m) => m.inReplyTo === messageId));
const registrationsOf = (company: string) =>
  w.runtime.db
    .selectFrom('registrations')
    .selectAll()
    .where('tenant_id', '=', w.t.tenant.id)
    .where('company_name', '=', company)
    .execute();

const INITECH = [
  'Hi team,',
  '',
  'please register this one:',
  'Company: Initech',
  'Website: https://www.initech.com',
  'Contact: Bill Lumbergh <bill@initech.com>',
  'Notes: 200 seats, decision in Q1.',
  '',
  'Thanks,',
  'Jane',
  '--',
  'Jane Partner | Partner Inc | +1 555 0100',
].join('\n');

describe('registration by email', () => {
  it('registers the prospect (source email) and answers in the same thread; a redelivery does nothing', async () => {
    const message = partnerEmail(registerAddress(), INITECH, { subject: 'New lead: Initech' });
    await deliver(message);
    const row = await w.processed(message.messageId);
    expect(row).toMatchObject({ status: 'processed', channel: 'smtp', contact_id: w.contact.id });
    const [registration, ...others] = await registrationsOf('Initech');
    expect(others).toHaveLength(0);
    expect(registration).toMatchObject({
      source: 'email',
      partner_id: w.partner.id,
      program_id: w.programId,
      contact_id: w.contact.id,
      domain: 'initech.com',
      contact_name: 'Bill Lumbergh',
      contact_email: 'bill@initech.com',
      check_outcome: 'clear',
    });
    expect(registration!.notes).toContain('200 seats');
    // The signature was trimmed before reading: it is not in the notes.
    expect(registration!.notes).not.toContain('555 0100');
    expect(row.registration_id).toBe(registration!.id);

    const answer = await answerTo(message.messageId);
    expect(answer.envelopeTo).toEqual(['jane@partner.example']);
    expect(answer.subject).toMatch(/^Re: New lead: Initech \[ref:[a-z2-7]{26}\]$/);
    expect(answer.references).toContain(message.messageId);
    expect(answer.headers.get('auto-submitted')).toBe('auto-replied');
    expect(answer.text).toContain('We received your registration of Initech');
    expect(answer.text).toContain(registration!.id.slice(0, 8).toUpperCase());
    // Its Reply-To leads back into the new registration's thread.
    expect(answer.replyTo?.text).toMatch(new RegExp(`^reply\\+[a-z2-7]{26}@${w.domain}$`));
    // The automatic "registration received" email does not also go to the contact who registered.
    await sleep(500);
    expect(
      inbox.messages.filter(
        (m) => m.envelopeTo.includes('jane@partner.example') && m.subject?.includes('Initech'),
      ),
    ).toHaveLength(1);

    // The same message again (a retrying MTA): nothing new, no second answer.
    await deliver(message);
    await sleep(800);
    expect(await registrationsOf('Initech')).toHaveLength(1);
    expect(inbox.messages.filter((m) => m.inReplyTo === message.messageId)).toHaveLength(1);
  });

  it('answers "duplicate" when the partner registered the prospect before', async () => {
    const message = partnerEmail(
      registerAddress(),
      'Company: Initech\nContact: Peter Gibbons <peter@initech.com>',
    );
    await deliver(message);
    await w.processed(message.messageId);
    const answer = await answerTo(message.messageId);
    expect(answer.text).toContain('looks like a duplicate');
    const outcomes = (await registrationsOf('Initech')).map((r) => r.check_outcome).sort();
    expect(outcomes).toEqual(['clear', 'duplicate_of']);
  });

  it('answers "conflict" when another partner holds the prospect', async () => {
    const rival = await makePartner(w.runtime.db, w.t.tenant.id);
    await makeEnrolment(w.runtime.db, w.t.tenant.id, w.programId, rival.id);
    const held = await w.app.inject({
      method: 'POST',
      url: '/api/v1/registrations',
      headers: w.t.as('sales_rep'),
      payload: {
        programId: w.programId,
        partnerId: rival.id,
        companyName: 'Umbrella Corporation',
        website: 'umbrella-corp.com',
      },
    });
    expect(held.statusCode).toBe(201);
    const message = partnerEmail(
      registerAddress(),
      'Company: Umbrella Corporation\nWebsite: umbrella-corp.com\nNotes: met them at a fair',
    );
    await deliver(message);
    await w.processed(message.messageId);
    const answer = await answerTo(message.messageId);
    expect(answer.text).toContain('overlaps with a prospect');
    expect(answer.html).toContain('Umbrella Corporation');
    const mine = (await registrationsOf('Umbrella Corporation')).find((r) => r.partner_id === w.partner.id);
    expect(mine).toMatchObject({ source: 'email', check_outcome: 'conflict_with' });
  });

  it('answers with what is missing when it cannot read a prospect, and registers nothing', async () => {
    const message = partnerEmail(registerAddress(), 'Hi, I have a great lead for you, call me!');
    await deliver(message);
    const row = await w.processed(message.messageId);
    expect(row.status).toBe('rejected');
    expect(row.reason).toMatch(/could not read Company and Website or contact email/);
    const answer = await answerTo(message.messageId);
    expect(answer.text).toContain('Company and Website or contact email missing');
    expect(answer.text).toContain('Company: Initech');
    // Answering the answer with the missing lines is a new try, and it registers.
    const replyTo = answer.replyTo!.text;
    const retry = partnerEmail(replyTo, 'Company: Vandelay Industries\nWebsite: vandelay.com', {
      subject: answer.subject!,
    });
    await deliver(retry);
    expect(await w.processed(retry.messageId)).toMatchObject({ status: 'processed' });
    expect(await registrationsOf('Vandelay Industries')).toMatchObject([{ source: 'email' }]);
  });

  it('registers from a reply to the weekly digest', async () => {
    const token = await issueReplyToken(w.runtime.db, {
      tenantId: w.t.tenant.id,
      contactId: w.colleague.id,
      partnerId: w.partner.id,
      registrationId: null,
      thread: 'digest',
    });
    const message = partnerEmail(
      `reply+${token}@${w.domain}`,
      'One more:\nCompany: Soylent\nContact: Sol <sol@soylent.com>\n\nOn Mon, Acme wrote:\n> Your open referrals this week (2)',
      { from: 'Colin Colleague <colin@partner.example>', subject: 'Re: Your open referrals this week (2)' },
    );
    await deliver(message, 'colin@partner.example');
    expect(await w.processed(message.messageId)).toMatchObject({ status: 'processed' });
    expect(await registrationsOf('Soylent')).toMatchObject([
      {
        source: 'email',
        contact_id: w.colleague.id,
        contact_email: 'sol@soylent.com',
        domain: 'soylent.com',
      },
    ]);
    const answer = await answerTo(message.messageId);
    expect(answer.envelopeTo).toEqual(['colin@partner.example']);
  });

  it('takes nothing from someone who is not a contact of the partner, and answers nobody', async () => {
    const outsider = await makeContact(
      w.runtime.db,
      w.t.tenant.id,
      (await makePartner(w.runtime.db, w.t.tenant.id)).id,
      {
        email: 'eve@outsider.example',
      },
    );
    const message = partnerEmail(registerAddress(), INITECH.replace('Initech', 'Initrode'), {
      from: `Eve <${outsider.email}>`,
    });
    await deliver(message, outsider.email);
    const row = await w.processed(message.messageId);
    expect(row.status).toBe('rejected');
    expect(row.reason).toMatch(/not a contact of the partner/);
    await sleep(500);
    expect(await registrationsOf('Initrode')).toHaveLength(0);
    expect(inbox.messages.filter((m) => m.inReplyTo === message.messageId)).toHaveLength(0);
  });
});
