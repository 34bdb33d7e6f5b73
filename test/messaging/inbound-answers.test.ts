import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.ts';
import { notifyNoteOwnerJob } from '../../src/messaging/notify-note-owner.job.ts';
import { issueReplyToken } from '../../src/messaging/reply-tokens.ts';
import type { PartnerContactRow } from '../../src/partners/partner.table.ts';
import { makeContact } from '../factories/partner.factory.ts';
import { sleep, waitFor } from '../helpers/wait-for.ts';
import { type Inbox, startSmtpInbox } from './email-world.ts';
import { type InboundWorld, openInboundWorld, replyEml, SECRET } from './inbound-world.ts';

let inbox: Inbox;
let w: InboundWorld;
const clock = new ManualClock(new Date());
beforeAll(async () => {
  inbox = await startSmtpInbox();
  w = await openInboundWorld({ env: { SMTP_URL: inbox.url }, clock });
});
afterAll(async () => {
  await w?.close();
  await inbox?.close();
});

async function deliver(message: { raw: string; messageId: string }) {
  const response = await w.app.inject({
    method: 'POST',
    url: '/inbound/email',
    headers: { 'content-type': 'message/rfc822', authorization: `Bearer ${SECRET}` },
    payload: message.raw,
  });
  expect(response.statusCode).toBe(202);
  return w.processed(message.messageId);
}

const noticesTo = (address: string) =>
  inbox.messages.filter(
    (m) => m.envelopeTo.includes(address) && m.text?.includes('We send this notice at most once a day'),
  );
const tokenFor = (contact: PartnerContactRow, ttlDays?: number) =>
  issueReplyToken(w.runtime.db, {
    tenantId: w.t.tenant.id,
    contactId: contact.id,
    partnerId: w.partner.id,
    registrationId: w.registrationId,
    thread: 'registration',
    now: clock.now(),
    ...(ttlDays !== undefined ? { ttlDays } : {}),
  });
let n = 0;
const newContact = () => {
  n++;
  return makeContact(w.runtime.db, w.t.tenant.id, w.partner.id, {
    name: `Contact ${n}`,
    email: `contact${n}@partner.example`,
  });
};

describe('polite answers to replies we cannot take', () => {
  it('an expired token: one notice to the contact on file, at most one per day', async () => {
    const contact = await newContact();
    const expired = await tokenFor(contact, 0);
    const first = await deliver(replyEml(w, expired, { from: `Someone <${contact.email}>` }));
    expect(first.reason).toMatch(/expired.*answer: planned/);
    const notice = await waitFor('the notice', () => noticesTo(contact.email)[0]);
    expect(notice.text).toMatch(/could not be added: the address you replied to no longer\s+takes replies/);
    // It threads under the contact's own message and names itself an automatic reply.
    expect(notice.inReplyTo).toBeDefined();
    expect(notice.headers.get('auto-submitted')).toBe('auto-replied');

    const second = await deliver(replyEml(w, expired, { from: contact.email }));
    expect(second.reason).toMatch(/answer: rate-limited/);
    clock.advance(25 * 3_600_000);
    const third = await deliver(replyEml(w, expired, { from: contact.email }));
    expect(third.reason).toMatch(/answer: planned/);
    await waitFor('the second notice', () => noticesTo(contact.email).length === 2);
    await sleep(300);
    expect(noticesTo(contact.email)).toHaveLength(2);
    expect(await w.notes()).not.toContainEqual(expect.objectContaining({ author_name: contact.name }));
  });

  it('a valid token from an unknown address: the notice goes to the token’s contact, never to the sender', async () => {
    const contact = await newContact();
    const token = await tokenFor(contact);
    const row = await deliver(replyEml(w, token, { from: 'Mallory <mallory@evil.example>' }));
    expect(row.status).toBe('rejected');
    expect(row.reason).toMatch(/not a contact of the partner.*answer: planned/);
    const notice = await waitFor('the notice', () => noticesTo(contact.email)[0]);
    expect(notice.text).toContain('mallory@evil.example');
    expect(notice.text).toContain('only replies from the address we wrote to');
    // Not threaded under a message the contact never saw.
    expect(notice.inReplyTo).toBeUndefined();
    await sleep(300);
    expect(inbox.messages.filter((m) => m.envelopeTo.includes('mallory@evil.example'))).toHaveLength(0);
  });

  it('an unknown token gets no answer at all: there is no contact on file to tell', async () => {
    const before = inbox.messages.length;
    const row = await deliver(replyEml(w, 'a'.repeat(26), { from: 'Jane <jane@partner.example>' }));
    expect(row.reason).toMatch(/unknown.*answer: none/);
    await sleep(500);
    expect(inbox.messages.length).toBe(before);
  });

  it('auto-replies and bounces to a stale token get no answer', async () => {
    const contact = await newContact();
    const expired = await tokenFor(contact, 0);
    const ooo = await deliver(
      replyEml(w, expired, {
        from: contact.email,
        subject: 'Automatic reply: Out of office',
        headers: ['Auto-Submitted: auto-replied'],
      }),
    );
    expect(ooo.status).toBe('rejected');
    const bounce = await deliver(
      replyEml(w, expired, { from: 'MAILER-DAEMON@partner.example', subject: 'Undelivered Mail' }),
    );
    expect(bounce.status).toBe('rejected');
    await sleep(600);
    expect(noticesTo(contact.email)).toHaveLength(0);
    const answers = await w.runtime.db
      .selectFrom('inbound_answers')
      .select('id')
      .where('to_address', '=', contact.email)
      .execute();
    expect(answers).toHaveLength(0);
  });
});

describe('unsubscribe by mail', () => {
  it('a message to the List-Unsubscribe mailto unsubscribes that contact from that kind, without a note', async () => {
    const contact = await newContact();
    const token = await tokenFor(contact);
    const notesBefore = (await w.notes()).length;
    const to = `unsubscribe+${token}-deals@${w.domain}`;
    const row = await deliver(
      replyEml(w, null, { to, from: contact.email, subject: 'unsubscribe', text: '' }),
    );
    expect(row).toMatchObject({ status: 'processed', contact_id: contact.id });
    expect(row.reason).toMatch(/unsubscribed from deals/);
    const rows = await w.runtime.db
      .selectFrom('email_unsubscribes')
      .selectAll()
      .where('contact_id', '=', contact.id)
      .execute();
    expect(rows.map((r) => r.kind)).toEqual(['deals']);
    const audit = await w.runtime.db
      .selectFrom('audit_log')
      .select(['action', 'actor_id'])
      .where('action', '=', 'contact.unsubscribed')
      .where('actor_id', '=', contact.id)
      .execute();
    expect(audit).toHaveLength(1);
    expect((await w.notes()).length).toBe(notesBefore);
  });

  it('an unsubscribe address we never issued changes nothing', async () => {
    const row = await deliver(replyEml(w, null, { to: `unsubscribe+${'b'.repeat(26)}-deals@${w.domain}` }));
    expect(row).toMatchObject({ status: 'rejected', reason: 'unsubscribe: address not recognised' });
  });
});

describe('telling the deal owner about a partner reply', () => {
  const ownerMails = (address: string) =>
    inbox.messages.filter((m) => m.envelopeTo.includes(address) && m.subject?.startsWith('Reply from'));

  it('emails the tenant notification address once per note, with the reply text', async () => {
    const set = await w.app.inject({
      method: 'PATCH',
      url: '/api/v1/tenant/notifications',
      headers: w.t.as('admin'),
      payload: { notificationEmail: 'team@acme.example' },
    });
    expect(set.statusCode, set.body).toBe(200);
    const bad = await w.app.inject({
      method: 'PATCH',
      url: '/api/v1/tenant/notifications',
      headers: w.t.as('admin'),
      payload: { notificationEmail: 'not an address' },
    });
    expect(bad.statusCode).toBe(400);
    const read = await w.app.inject({
      method: 'GET',
      url: '/api/v1/tenant/notifications',
      headers: w.t.as('sales_rep'),
    });
    expect(read.json()).toEqual({ notificationEmail: 'team@acme.example' });
    const token = await w.token();
    const message = replyEml(w, token, { from: 'Jane Partner <jane@partner.example>' });
    const row = await deliver(message);
    expect(row.status).toBe('processed');
    const mail = await waitFor('the owner email', () => ownerMails('team@acme.example')[0]);
    expect(mail.subject).toContain('Jane Partner');
    expect(mail.text).toContain('Thanks! The buyer is Maria Lopez, budget approved for Q1.');
    expect(mail.html).toContain('Maria Lopez');
    // No reply address and no unsubscribe link: it is for staff.
    expect(mail.replyTo).toBeUndefined();
    expect(mail.headers.get('list-unsubscribe')).toBeUndefined();

    // The same message again, and the job run again: still one email.
    await w.app.inject({
      method: 'POST',
      url: '/inbound/email',
      headers: { 'content-type': 'message/rfc822', authorization: `Bearer ${SECRET}` },
      payload: message.raw,
    });
    const note = await w.runtime.db
      .selectFrom('timeline_notes')
      .select('id')
      .where('inbound_message_id', '=', row.id)
      .executeTakeFirstOrThrow();
    await notifyNoteOwnerJob.handle({ tenantId: w.t.tenant.id, noteId: note.id }, {
      db: w.runtime.db,
      services: w.runtime.services,
      log: w.runtime.logger,
    } as never);
    await sleep(500);
    expect(ownerMails('team@acme.example')).toHaveLength(1);
  });

  it('prefers the deal owner’s address from the deal mirror', async () => {
    await w.runtime.db
      .insertInto('deals')
      .values({
        tenant_id: w.t.tenant.id,
        source: 'api',
        crm_deal_id: 'deal-globex-1',
        registration_id: w.registrationId,
        name: 'Globex expansion',
        stage: 'Proposal',
        properties: JSON.stringify({ owner_email: 'owner@acme.example' }),
      })
      .execute();
    const token = await w.token();
    await deliver(replyEml(w, token, { from: 'jane@partner.example', text: 'Proposal looks good to them.' }));
    const mail = await waitFor('the deal owner email', () => ownerMails('owner@acme.example')[0]);
    expect(mail.text).toContain('Proposal looks good to them.');
    expect(mail.text).toContain('Globex expansion (Proposal)');
  });
});
