import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { revokeReplyToken } from '../../src/messaging/reply-tokens.ts';
import {
  AUTHSERV,
  fallbackReference,
  type InboundWorld,
  openInboundWorld,
  replyEml,
  SECRET,
} from './inbound-world.ts';

let w: InboundWorld;
beforeAll(async () => {
  w = await openInboundWorld();
});
afterAll(async () => {
  await w?.close();
});

async function deliver(raw: string | Buffer) {
  const response = await w.app.inject({
    method: 'POST',
    url: '/inbound/email',
    headers: { 'content-type': 'message/rfc822', authorization: `Bearer ${SECRET}` },
    payload: raw,
  });
  expect(response.statusCode).toBe(202);
  return response.json() as { id: string; duplicate: boolean };
}

async function noteCount(): Promise<number> {
  const row = await w.runtime.db
    .selectFrom('timeline_notes')
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

/** Delivers a message and returns what processing recorded; asserts it created no note. */
async function refused(message: { raw: string; messageId: string }) {
  const before = await noteCount();
  await deliver(message.raw);
  const row = await w.processed(message.messageId);
  expect(await noteCount()).toBe(before);
  return row;
}

describe('replies that must not become notes are recorded with their reason', () => {
  it('a forged sender: a valid token, but From is not a contact of the partner', async () => {
    const token = await w.token();
    const row = await refused(replyEml(w, token, { from: 'Mallory <mallory@evil.example>' }));
    expect(row.status).toBe('rejected');
    expect(row.reason).toMatch(/not a contact of the partner/);
    const other = await refused(replyEml(w, token, { from: 'Sam <sam@other.example>' }));
    expect(other.reason).toMatch(/not a contact of the partner/);
  });

  it('an expired token and a revoked token', async () => {
    const expired = await w.token({ ttlDays: 0 });
    const row = await refused(replyEml(w, expired));
    expect(row).toMatchObject({ status: 'rejected', reason: expect.stringMatching(/token expired/) });

    const revoked = await w.token();
    expect(await revokeReplyToken(w.runtime.db, revoked)).toBe(true);
    const again = await refused(replyEml(w, revoked));
    expect(again).toMatchObject({ status: 'rejected', reason: expect.stringMatching(/token revoked/) });
  });

  it('no token anywhere, or one we never issued', async () => {
    expect((await refused(replyEml(w, null))).reason).toMatch(/no reply token/);
    const unknown = await refused(replyEml(w, 'aaaaaaaaaaaaaaaaaaaaaaaaaa'));
    expect(unknown.reason).toMatch(/token unknown/);
  });

  it('a DMARC fail from our own MX goes to review; the same header from anyone else is ignored', async () => {
    const token = await w.token();
    const failed = await refused(
      replyEml(w, token, {
        headers: [`Authentication-Results: ${AUTHSERV}; spf=fail; dkim=fail; dmarc=fail`],
      }),
    );
    expect(failed).toMatchObject({ status: 'review', reason: expect.stringMatching(/dmarc=fail/) });
    expect(failed.reply_text).toMatch(/Maria Lopez/);

    const forgedHeader = replyEml(w, token, {
      headers: ['Authentication-Results: mx.attacker.example; dmarc=fail'],
    });
    await deliver(forgedHeader.raw);
    expect((await w.processed(forgedHeader.messageId)).status).toBe('processed');
  });

  it('auto-replies and out-of-office messages in several languages', async () => {
    const token = await w.token();
    const cases: [string[], string | undefined, RegExp][] = [
      [['Auto-Submitted: auto-replied'], undefined, /Auto-Submitted/],
      [['X-Autoreply: yes'], undefined, /X-Autoreply/],
      [['Precedence: bulk'], undefined, /Precedence/],
      [[], 'Abwesenheitsnotiz: Re: Ihre Registrierung', /Subject/],
      [[], 'Réponse automatique : Re: Votre enregistrement', /Subject/],
      [[], 'Respuesta automática: Re: Registro', /Subject/],
      [[], 'Automatisch antwoord: Re: Registratie', /Subject/],
      [[], 'Automatic reply: Re: Registration received', /Subject/],
    ];
    for (const [headers, subject, why] of cases) {
      const row = await refused(replyEml(w, token, { headers, ...(subject ? { subject } : {}) }));
      expect(row.status, String(headers[0] ?? subject)).toBe('rejected');
      expect(row.reason, String(headers[0] ?? subject)).toMatch(/^auto_reply: /);
      expect(row.reason).toMatch(why);
    }
  });

  it('a bounce (DSN from the mailer daemon)', async () => {
    const token = await w.token();
    const messageId = `<dsn-${Date.now()}@mx.partner.example>`;
    const raw = [
      'From: Mail Delivery System <MAILER-DAEMON@mx.partner.example>',
      `To: reply+${token}@${w.domain}`,
      'Subject: Undelivered Mail Returned to Sender',
      `Message-ID: ${messageId}`,
      'MIME-Version: 1.0',
      'Content-Type: multipart/report; report-type=delivery-status; boundary="B"',
      '',
      '--B',
      'Content-Type: text/plain',
      '',
      'I could not deliver your message.',
      '--B',
      'Content-Type: message/delivery-status',
      '',
      'Reporting-MTA: dns; mx.partner.example',
      '',
      'Final-Recipient: rfc822; jane@partner.example',
      'Action: failed',
      'Status: 5.1.1',
      '--B--',
      '',
    ].join('\r\n');
    const row = await refused({ raw, messageId });
    expect(row).toMatchObject({ status: 'rejected', reason: expect.stringMatching(/^bounce: /) });
  });

  it('mail from our own reply address (a loop)', async () => {
    const token = await w.token();
    const row = await refused(replyEml(w, token, { from: `Acme <reply+${token}@${w.domain}>` }));
    expect(row).toMatchObject({ status: 'rejected', reason: expect.stringMatching(/^loop/) });
    const fromSender = await refused(replyEml(w, token, { from: 'Acme Partners <partners@acme.example>' }));
    expect(fromSender).toMatchObject({ status: 'rejected', reason: expect.stringMatching(/^loop/) });
  });

  it('malformed MIME: no header section at all', async () => {
    const raw = Buffer.from('\u0000\u0001\u0002 this is not an email\r\n\r\nbody');
    const stored = await deliver(raw);
    const final = await w.processedRow(stored.id);
    expect(final).toMatchObject({ status: 'rejected', reason: expect.stringMatching(/^malformed/) });
  });

  it('the worker survived every refusal: nothing failed, and a good reply still lands', async () => {
    expect(await w.runtime.queue.listFailed(50)).toEqual([]);
    const token = await w.token();
    const ok = replyEml(w, token, {
      from: 'Colin <colin@partner.example>',
      text: 'Colleague here: confirmed.',
    });
    await deliver(ok.raw);
    expect((await w.processed(ok.messageId)).status).toBe('processed');
    const notes = await w.notes();
    expect(notes.find((n) => n.body === 'Colleague here: confirmed.')?.author_name).toBe('Colin Colleague');
  });
});

describe('finding the thread when the plus address was lost', () => {
  it('uses the plus-stripped address, then our Message-ID in References, then the subject tag', async () => {
    const a = await w.token();
    const stripped = replyEml(w, a, { to: `reply${a}@${w.domain}`, text: 'Plus stripped.' });
    await deliver(stripped.raw);
    expect((await w.processed(stripped.messageId)).reason).toMatch(/via address/);

    const b = await w.token();
    const referenced = replyEml(w, null, {
      to: `partners@${w.domain}`,
      references: `${fallbackReference(b, w.domain)}, <other@mail.example>`,
      text: 'Found by References.',
    });
    await deliver(referenced.raw);
    expect((await w.processed(referenced.messageId)).reason).toMatch(/via message-id/);

    const c = await w.token();
    const tagged = replyEml(w, null, {
      to: `partners@${w.domain}`,
      subject: `Re: Update [ref:${c}]`,
      text: 'By tag.',
    });
    await deliver(tagged.raw);
    expect((await w.processed(tagged.messageId)).reason).toMatch(/via subject/);
    expect((await w.notes()).map((n) => n.body)).toEqual(
      expect.arrayContaining(['Plus stripped.', 'Found by References.', 'By tag.']),
    );
  });
});

describe('redelivery', () => {
  it('the same message delivered three times makes one note', async () => {
    const token = await w.token();
    const message = replyEml(w, token, { text: 'Delivered thrice, noted once.' });
    const first = await deliver(message.raw);
    const second = await deliver(message.raw);
    const third = await deliver(`${message.raw}\r\n`);
    expect([first.duplicate, second.duplicate, third.duplicate]).toEqual([false, true, true]);
    expect(new Set([first.id, second.id, third.id]).size).toBe(1);
    await w.processed(message.messageId);
    const notes = (await w.notes()).filter((n) => n.body === 'Delivered thrice, noted once.');
    expect(notes).toHaveLength(1);
  });

  it('a message without a Message-ID is deduplicated on its bytes', async () => {
    const token = await w.token();
    const { raw } = replyEml(w, token, { text: 'No id at all.' });
    const withoutId = raw.replace(/^Message-ID: .*\r\n/m, '');
    const first = await deliver(withoutId);
    const second = await deliver(withoutId);
    expect(second).toEqual({ ...first, duplicate: true });
  });
});
