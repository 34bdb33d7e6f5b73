import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp } from '../helpers/test-runtime.ts';
import {
  AUTHSERV,
  type InboundWorld,
  MAILGUN_KEY,
  openInboundWorld,
  POSTMARK,
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

const postRaw = (raw: string, authorization?: string) =>
  w.app.inject({
    method: 'POST',
    url: '/inbound/email',
    headers: { 'content-type': 'message/rfc822', ...(authorization ? { authorization } : {}) },
    payload: raw,
  });

function mailgunForm(fields: Record<string, string>): { payload: string; headers: Record<string, string> } {
  const boundary = `----mailgun${Date.now()}`;
  const payload = Object.entries(fields)
    .map(
      ([name, value]) =>
        `--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`,
    )
    .join('')
    .concat(`--${boundary}--\r\n`);
  return { payload, headers: { 'content-type': `multipart/form-data; boundary=${boundary}` } };
}

function signed(timestamp: number, token: string, key = MAILGUN_KEY) {
  return createHmac('sha256', key).update(`${timestamp}${token}`).digest('hex');
}

describe('POST /inbound/email (raw message, bearer secret)', () => {
  it('stores a reply, acknowledges it, and the inbox job turns it into a note on the registration', async () => {
    const token = await w.token();
    const { raw, messageId } = replyEml(w, token, {
      headers: [`Authentication-Results: ${AUTHSERV}; dkim=pass header.d=partner.example; dmarc=pass`],
    });
    const response = await postRaw(raw, `Bearer ${SECRET}`);
    expect(response.statusCode).toBe(202);
    expect(response.json()).toMatchObject({ received: true, duplicate: false });
    const row = await w.processed(messageId);
    expect(row).toMatchObject({ status: 'processed', reason: expect.stringMatching(/^note /) });
    const notes = await w.notes();
    // The quoted notification and the "On … wrote:" line are gone; the sign-off stays.
    expect(notes.map((n) => n.body)).toContain(
      'Thanks! The buyer is Maria Lopez, budget approved for Q1.\n\nJane',
    );
    expect(notes.find((n) => n.inbound_message_id === row.id)?.author_name).toBe('Jane Partner');

    const listed = await w.app.inject({
      method: 'GET',
      url: `/api/v1/registrations/${w.registrationId}/notes`,
      headers: w.t.as('sales_rep'),
    });
    expect(listed.statusCode).toBe(200);
    expect(listed.json().data.some((n: { body: string }) => n.body.includes('Maria Lopez'))).toBe(true);
  });

  it('refuses a wrong or missing bearer secret, in the one error shape', async () => {
    const { raw } = replyEml(w, null);
    const wrong = await postRaw(raw, 'Bearer not-the-secret');
    expect(wrong.statusCode).toBe(401);
    expect(wrong.json().error.code).toBe('unauthorized');
    expect((await postRaw(raw)).statusCode).toBe(401);
    expect((await postRaw(raw, `Basic ${Buffer.from(`x:${SECRET}`).toString('base64')}`)).statusCode).toBe(
      401,
    );
  });

  it('answers 503 not_configured when INBOUND_EMAIL_SECRET is unset', async () => {
    const bare = await buildTestApp(w.runtime, {
      config: { ...w.runtime.config, inboundEmailSecret: undefined },
    });
    try {
      const response = await bare.inject({
        method: 'POST',
        url: '/inbound/email',
        headers: { 'content-type': 'message/rfc822', authorization: 'Bearer anything' },
        payload: replyEml(w, null).raw,
      });
      expect(response.statusCode).toBe(503);
      expect(response.json().error.code).toBe('not_configured');
    } finally {
      await bare.close();
    }
  });

  it('refuses a body over INBOUND_MAX_BYTES with 413 and another content type with 415', async () => {
    const { raw } = replyEml(w, null, { text: 'x'.repeat(300 * 1024) });
    const big = await postRaw(raw, `Bearer ${SECRET}`);
    expect(big.statusCode).toBe(413);
    expect(big.json().error.code).toBe('payload_too_large');
    const json = await w.app.inject({
      method: 'POST',
      url: '/inbound/email',
      headers: { authorization: `Bearer ${SECRET}` },
      payload: { raw: 'nope' },
    });
    expect(json.statusCode).toBe(415);
  });
});

describe('POST /inbound/mailgun (MIME route, HMAC signature)', () => {
  it('accepts a correctly signed delivery and processes its body-mime', async () => {
    const token = await w.token();
    const { raw, messageId } = replyEml(w, token, { text: 'Via Mailgun: meeting booked for Thursday.' });
    const timestamp = Math.floor(Date.now() / 1000);
    const mgToken = `tok${Date.now()}a`;
    const form = mailgunForm({
      recipient: `reply+${token}@${w.domain}`,
      sender: 'jane@partner.example',
      timestamp: String(timestamp),
      token: mgToken,
      signature: signed(timestamp, mgToken),
      'body-mime': raw,
    });
    const response = await w.app.inject({ method: 'POST', url: '/inbound/mailgun', ...form });
    expect(response.statusCode).toBe(200);
    expect((await w.processed(messageId)).status).toBe('processed');
    expect((await w.notes()).map((n) => n.body)).toContain('Via Mailgun: meeting booked for Thursday.');
  });

  it('refuses a bad signature, a missing one, an old timestamp and a replayed token', async () => {
    const { raw } = replyEml(w, null);
    const now = Math.floor(Date.now() / 1000);
    const post = (fields: Record<string, string>) =>
      w.app.inject({
        method: 'POST',
        url: '/inbound/mailgun',
        ...mailgunForm({ 'body-mime': raw, ...fields }),
      });

    const bad = await post({
      timestamp: String(now),
      token: 'tok-bad',
      signature: signed(now, 'tok-bad', 'wrong-key'),
    });
    expect(bad.statusCode).toBe(401);
    expect(bad.json().error.code).toBe('unauthorized');
    expect((await post({ timestamp: String(now), token: 'tok-none' })).statusCode).toBe(401);

    const old = now - 3600;
    const replayedTimestamp = await post({
      timestamp: String(old),
      token: 'tok-old',
      signature: signed(old, 'tok-old'),
    });
    expect(replayedTimestamp.statusCode).toBe(401);
    expect(replayedTimestamp.json().error.message).toMatch(/too old/);

    const fields = {
      timestamp: String(now),
      token: `tok-once-${now}`,
      signature: signed(now, `tok-once-${now}`),
    };
    expect((await post(fields)).statusCode).toBe(200);
    const again = await post(fields);
    expect(again.statusCode).toBe(401);
    expect(again.json().error.message).toMatch(/replay/);
  });

  it('answers 503 without MAILGUN_SIGNING_KEY', async () => {
    const bare = await buildTestApp(w.runtime, {
      config: { ...w.runtime.config, mailgunSigningKey: undefined },
    });
    try {
      const response = await bare.inject({
        method: 'POST',
        url: '/inbound/mailgun',
        ...mailgunForm({ token: 'x' }),
      });
      expect(response.statusCode).toBe(503);
      expect(response.json().error.code).toBe('not_configured');
    } finally {
      await bare.close();
    }
  });
});

describe('POST /inbound/postmark (JSON webhook, basic auth)', () => {
  const basic = (user: string, password: string) =>
    `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

  it('accepts the webhook with the right credentials and rebuilds the message from its fields', async () => {
    const token = await w.token();
    const messageId = `<pm-${Date.now()}@mail.partner.example>`;
    const response = await w.app.inject({
      method: 'POST',
      url: '/inbound/postmark',
      headers: { authorization: basic(POSTMARK.user, POSTMARK.password) },
      payload: {
        MessageID: '22c74902-a0c1-4511-804f-341342852c90',
        From: 'jane@partner.example',
        FromFull: { Email: 'jane@partner.example', Name: 'Jane Partner' },
        To: `reply+${token}@${w.domain}`,
        ToFull: [{ Email: `reply+${token}@${w.domain}`, Name: '' }],
        OriginalRecipient: `reply+${token}@${w.domain}`,
        Subject: 'Re: Registration received',
        TextBody: 'Via Postmark: they signed the NDA.\n\nOn Mon, Acme <u@acme.example> wrote:\n> old',
        HtmlBody: '',
        StrippedTextReply: 'ignored on purpose',
        Headers: [
          { Name: 'Message-ID', Value: messageId },
          { Name: 'Authentication-Results', Value: `${AUTHSERV}; dmarc=pass` },
        ],
        Attachments: [],
      },
    });
    expect(response.statusCode).toBe(200);
    expect((await w.processed(messageId)).status).toBe('processed');
    expect((await w.notes()).map((n) => n.body)).toContain('Via Postmark: they signed the NDA.');
  });

  it('refuses wrong or missing credentials', async () => {
    const payload = { From: 'jane@partner.example', Subject: 'x', TextBody: 'y' };
    const wrong = await w.app.inject({
      method: 'POST',
      url: '/inbound/postmark',
      headers: { authorization: basic(POSTMARK.user, 'wrong') },
      payload,
    });
    expect(wrong.statusCode).toBe(401);
    expect((await w.app.inject({ method: 'POST', url: '/inbound/postmark', payload })).statusCode).toBe(401);
  });
});
