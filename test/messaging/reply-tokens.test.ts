import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  fallbackMessageId,
  messageIdFor,
  replyAddress,
  subjectTag,
  tokenFromAddress,
  tokenFromMessageId,
  tokenFromSubject,
} from '../../src/messaging/reply-address.ts';
import {
  generateReplyToken,
  hashReplyToken,
  issueReplyToken,
  resolveReplyToken,
  revokeReplyToken,
} from '../../src/messaging/reply-tokens.ts';
import { makeContact, makePartner } from '../factories/partner.factory.ts';
import { makeTenant } from '../factories/tenant.factory.ts';
import { openWorld, type TestWorld } from '../helpers/test-world.ts';

const DAY = 86_400_000;

describe('reply tokens', () => {
  let world: TestWorld;
  let base: { tenantId: string; contactId: string; partnerId: string; registrationId: null };
  const key = randomBytes(32);

  beforeAll(async () => {
    world = await openWorld();
    const db = world.runtime.db;
    const t = await makeTenant(db);
    const partner = await makePartner(db, t.tenant.id);
    const contact = await makeContact(db, t.tenant.id, partner.id);
    base = { tenantId: t.tenant.id, contactId: contact.id, partnerId: partner.id, registrationId: null };
  });
  afterAll(async () => {
    await world?.close();
  });

  it('are 26 lower-case base32 characters (130 bits), all different', () => {
    const tokens = new Set(Array.from({ length: 2000 }, generateReplyToken));
    expect(tokens.size).toBe(2000);
    for (const token of tokens) expect(token).toMatch(/^[a-z2-7]{26}$/);
    // Every alphabet character appears in every position sooner or later: no stuck bits.
    const firsts = new Set([...tokens].map((t) => t[0]));
    const lasts = new Set([...tokens].map((t) => t[25]));
    expect(firsts.size).toBe(32);
    expect(lasts.size).toBeGreaterThanOrEqual(4);
  });

  it('are stored only as a hash, never in clear', async () => {
    const token = await issueReplyToken(world.runtime.db, { ...base, thread: 'stored', key });
    const row = await world.runtime.db
      .selectFrom('reply_tokens')
      .selectAll()
      .where('token_hash', '=', hashReplyToken(token))
      .executeTakeFirstOrThrow();
    expect(JSON.stringify(row)).not.toContain(token);
    expect(row.token_hash).toMatch(/^[0-9a-f]{64}$/);
  });

  it('hand out the same live token for the same recipient, subject and thread, a new one otherwise', async () => {
    const db = world.runtime.db;
    const dealId = crypto.randomUUID();
    const first = await issueReplyToken(db, { ...base, dealId, thread: 'deal', key });
    expect(await issueReplyToken(db, { ...base, dealId, thread: 'deal', key })).toBe(first);
    expect(await issueReplyToken(db, { ...base, dealId, thread: 'digest', key })).not.toBe(first);
    expect(await issueReplyToken(db, { ...base, dealId: crypto.randomUUID(), thread: 'deal', key })).not.toBe(
      first,
    );
    // Without the key the token cannot be read back, so a fresh one is issued (both stay valid).
    const unkeyed = await issueReplyToken(db, { ...base, dealId, thread: 'deal' });
    expect(unkeyed).not.toBe(first);
    expect((await resolveReplyToken(db, unkeyed)).status).toBe('valid');
    // A revoked token is not handed out again.
    await revokeReplyToken(db, first);
    expect(await issueReplyToken(db, { ...base, dealId, thread: 'deal', key })).not.toBe(first);
  });

  it('resolve to valid, expired, revoked or unknown', async () => {
    const db = world.runtime.db;
    const now = new Date();
    const token = await issueReplyToken(db, { ...base, thread: 'resolve', key, now });
    const valid = await resolveReplyToken(db, token, now);
    expect(valid.status).toBe('valid');
    expect(valid.token).toMatchObject({
      tenant_id: base.tenantId,
      contact_id: base.contactId,
      partner_id: base.partnerId,
      thread: 'resolve',
    });
    expect((await resolveReplyToken(db, token.toUpperCase(), now)).status).toBe('valid');
    expect((await resolveReplyToken(db, token, new Date(now.getTime() + 181 * DAY))).status).toBe('expired');
    expect((await resolveReplyToken(db, generateReplyToken(), now)).status).toBe('unknown');
    expect((await resolveReplyToken(db, "x' or 1=1 --", now)).status).toBe('unknown');

    expect(await revokeReplyToken(db, token)).toBe(true);
    expect(await revokeReplyToken(db, token)).toBe(false);
    expect((await resolveReplyToken(db, token, now)).status).toBe('revoked');

    const other = await issueReplyToken(db, { ...base, thread: 'by-id', key, now });
    const row = (await resolveReplyToken(db, other, now)).token;
    expect(await revokeReplyToken(db, row?.id as string)).toBe(true);
    expect((await resolveReplyToken(db, other, now)).status).toBe('revoked');
  });
});

describe('where the token travels', () => {
  const token = generateReplyToken();
  const domain = 'reply.example.com';

  it('is read back from the reply address, with or without the plus, in any case', () => {
    expect(replyAddress(token, domain)).toBe(`reply+${token}@${domain}`);
    expect(tokenFromAddress(`reply+${token}@${domain}`, domain)).toBe(token);
    expect(tokenFromAddress(`reply${token}@${domain}`, domain)).toBe(token);
    expect(tokenFromAddress(`REPLY+${token.toUpperCase()}@REPLY.EXAMPLE.COM`, domain)).toBe(token);
    expect(tokenFromAddress(`"Acme" <reply+${token}@${domain}>`, domain)).toBe(token);
    expect(tokenFromAddress(`reply+${token}@evil.example`, domain)).toBeNull();
    expect(tokenFromAddress(`reply+${token}x@${domain}`, domain)).toBeNull();
    expect(tokenFromAddress(`reply+${token}@${domain}x`, domain)).toBeNull();
  });

  it('is read back from our Message-IDs and the fallback id, and from the subject tag', () => {
    const id = messageIdFor('event/contact/template', token, domain);
    expect(id).toMatch(/^<m\.[0-9a-f]{24}\.[a-z2-7]{26}@reply\.example\.com>$/);
    expect(messageIdFor('event/contact/template', token, domain)).toBe(id);
    expect(messageIdFor('event/contact/other', token, domain)).not.toBe(id);
    expect(tokenFromMessageId(id)).toBe(token);
    expect(tokenFromMessageId(id.slice(1, -1))).toBe(token);
    expect(tokenFromMessageId(fallbackMessageId(token, domain))).toBe(token);
    expect(tokenFromMessageId('<CAF=abc@mail.gmail.com>')).toBeNull();

    expect(tokenFromSubject(`Re: Deal won ${subjectTag(token)}`)).toBe(token);
    expect(tokenFromSubject(`AW: Deal won [REF:${token.toUpperCase()}]`)).toBe(token);
    expect(tokenFromSubject('Re: Deal won')).toBeNull();
  });
});
