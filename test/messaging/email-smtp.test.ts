import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { publishEvent } from '../../src/events/publish-event.ts';
import { REPLY_MARKER } from '../../src/messaging/email-templates.ts';
import { tokenFromAddress, tokenFromMessageId, tokenFromSubject } from '../../src/messaging/reply-address.ts';
import { resolveReplyToken } from '../../src/messaging/reply-tokens.ts';
import { usingRedis } from '../helpers/test-runtime.ts';
import { waitFor } from '../helpers/wait-for.ts';
import { type EmailWorld, type Inbox, openEmailWorld, startSmtpInbox } from './email-world.ts';

const DOMAIN = 'reply.example.com';

/** Every value of a header field in a raw message, unfolded. */
function rawHeader(raw: string, name: string): string[] {
  const head = raw.split(/\r?\n\r?\n/, 1)[0] ?? '';
  const re = new RegExp(`^${name}:[ \\t]*(.*(?:\\r?\\n[ \\t].*)*)`, 'gim');
  return [...head.matchAll(re)].map((m) => (m[1] ?? '').replace(/\r?\n[ \t]+/g, ' ').trim());
}

describe(`partner emails over a real SMTP conversation (${usingRedis ? 'BullMQ' : 'in-process'} jobs)`, () => {
  let inbox: Inbox;
  let world: EmailWorld;

  beforeAll(async () => {
    inbox = await startSmtpInbox();
    world = await openEmailWorld({
      env: { SMTP_URL: inbox.url, EMAIL_FROM: 'partners@acme.example', EMAIL_COALESCE_SECONDS: '1' },
    });
    await world.startWorkers();
  });
  afterAll(async () => {
    await world?.close();
    await inbox?.close();
  });

  const received = (predicate: (m: Inbox['messages'][number]) => boolean) => inbox.messages.filter(predicate);
  const waitForMessages = (
    what: string,
    predicate: (m: Inbox['messages'][number]) => boolean,
    count: number,
  ) => waitFor(what, () => received(predicate).length >= count && received(predicate), { timeoutMs: 20_000 });
  const header = (m: Inbox['messages'][number], name: string) => {
    const value = m.headers.get(name);
    return typeof value === 'string' ? value : JSON.stringify(value);
  };

  let registrationId: string;
  let firstToAda: Inbox['messages'][number];

  it('a registration sends each partner contact a branded email whose Reply-To token resolves to them', async () => {
    const res = await world.app.inject({
      method: 'POST',
      url: '/api/v1/registrations',
      headers: world.t.as('sales_rep'),
      payload: {
        programId: world.program.id,
        partnerId: world.partner.id,
        companyName: 'Globex <b>Corp</b>',
        website: 'https://globex-corp.com',
      },
    });
    expect(res.statusCode, res.body).toBe(201);
    registrationId = res.json().id;

    const messages = await waitForMessages(
      'two received emails',
      (m) => /Registration received/.test(m.subject ?? ''),
      2,
    );
    expect(messages.map((m) => m.envelopeTo[0]).sort()).toEqual([
      'ada@northwind.example',
      'bob@northwind.example',
    ]);
    const ada = messages.find(
      (m) => m.envelopeTo[0] === 'ada@northwind.example',
    ) as Inbox['messages'][number];
    firstToAda = ada;

    expect(ada.from?.value[0]).toEqual({ name: 'Acme Partners', address: 'partners@acme.example' });
    const replyTo = ada.replyTo?.value[0]?.address as string;
    expect(replyTo).toMatch(new RegExp(`^reply\\+[a-z2-7]{26}@${DOMAIN.replace('.', '\\.')}$`));
    const token = tokenFromAddress(replyTo, DOMAIN) as string;
    const resolved = await resolveReplyToken(world.runtime.db, token, new Date());
    expect(resolved.status).toBe('valid');
    expect(resolved.token).toMatchObject({
      contact_id: world.contacts[0]?.id,
      partner_id: world.partner.id,
      registration_id: registrationId,
      thread: 'registration',
    });
    // Bob got his own token.
    const bob = messages.find(
      (m) => m.envelopeTo[0] === 'bob@northwind.example',
    ) as Inbox['messages'][number];
    expect(tokenFromAddress(bob.replyTo?.value[0]?.address as string, DOMAIN)).not.toBe(token);

    expect(header(ada, 'auto-submitted')).toBe('auto-generated');
    expect(header(ada, 'x-auto-response-suppress')).toBe('OOF, AutoReply');
    expect(rawHeader(ada.raw, 'List-Unsubscribe-Post')).toEqual(['List-Unsubscribe=One-Click']);
    expect(rawHeader(ada.raw, 'List-Unsubscribe')).toEqual([
      `<https://partners.example.com/u/${token}-registrations>, <mailto:unsubscribe+${token}-registrations@${DOMAIN}?subject=unsubscribe>`,
    ]);

    expect(tokenFromMessageId(ada.messageId as string)).toBe(token);
    const references = Array.isArray(ada.references) ? ada.references : [ada.references];
    expect(references[0]).toBe(`<reply-${token}@${DOMAIN}>`);
    expect(tokenFromSubject(ada.subject as string)).toBe(token);
    expect(ada.subject).toBe(`Registration received: Globex <b>Corp</b> [ref:${token}]`);

    // Both parts, written from the same data.
    expect(ada.text).toContain(REPLY_MARKER);
    expect(ada.text).toContain('Globex <b>Corp</b>');
    expect(ada.text).toContain('Hello Ada Lovelace,');
    expect(ada.html).toContain(REPLY_MARKER);
    expect(ada.html).toContain('Globex &lt;b&gt;Corp&lt;/b&gt;');
    expect(ada.html).toContain('#aa3300');
    expect(ada.html).toContain('https://cdn.example.com/acme.png');

    const sent = await world.runtime.db
      .selectFrom('sent_emails')
      .selectAll()
      .where('message_id', '=', ada.messageId as string)
      .executeTakeFirstOrThrow();
    expect(sent).toMatchObject({
      status: 'sent',
      template: 'registration-received',
      to_address: 'ada@northwind.example',
    });
  });

  it('the next email about the same registration continues the thread with the same reply address', async () => {
    const res = await world.app.inject({
      method: 'POST',
      url: `/api/v1/registrations/${registrationId}/approve`,
      headers: world.t.as('admin'),
    });
    expect(res.statusCode, res.body).toBe(200);
    const [approved] = await waitForMessages(
      'approval email to Ada',
      (m) => /Registration approved/.test(m.subject ?? '') && m.envelopeTo[0] === 'ada@northwind.example',
      1,
    );
    expect(approved?.replyTo?.value[0]?.address).toBe(firstToAda.replyTo?.value[0]?.address);
    expect(approved?.inReplyTo).toBe(firstToAda.messageId);
    expect(approved?.references).toContain(firstToAda.messageId);
    expect(approved?.text).toMatch(/protected for you until \d{1,2} \w{3} \d{4}/);
  });

  it('each event the other features publish makes its email, per the documented data', async () => {
    const db = world.runtime.db;
    const { id: tenantId } = world.t.tenant;
    const partnerId = world.partner.id;
    const dealId = randomUUID();
    await db.transaction().execute(async (tx) => {
      await publishEvent(tx, {
        type: 'deal.won',
        tenantId,
        subjectId: dealId,
        data: {
          dealId,
          registrationId,
          partnerIds: [partnerId],
          dealName: 'Globex expansion',
          stage: 'closedwon',
          category: 'won',
          amount: '1250000',
          currency: 'USD',
          commissions: [{ partnerId, amount: '125000', currency: 'USD' }],
        },
      });
      await publishEvent(tx, {
        type: 'commission.approved',
        tenantId,
        subjectId: partnerId,
        data: { partnerId, total: '125000', currency: 'USD' },
      });
      await publishEvent(tx, {
        type: 'payout.paid',
        tenantId,
        subjectId: randomUUID(),
        data: { payoutId: randomUUID(), partnerId, amount: '99950', currency: 'EUR', reference: 'SEPA-77' },
      });
      await publishEvent(tx, {
        type: 'crm.message_from_rep',
        tenantId,
        subjectId: dealId,
        data: {
          partnerId,
          dealId,
          dealName: 'Globex expansion',
          repName: 'Sam Rep',
          body: 'Can you join the call on Friday?',
          contactIds: [world.contacts[1]?.id],
        },
      });
    });
    const toAda = (re: RegExp) => (m: Inbox['messages'][number]) =>
      re.test(m.subject ?? '') && m.envelopeTo[0] === 'ada@northwind.example';
    const [won] = await waitForMessages(
      'deal won',
      toAda(/^Deal won: Globex expansion, commission USD 1,250\.00/),
      1,
    );
    expect(won?.text).toContain('Your commission:  USD 1,250.00');
    expect(won?.text).toContain('Deal amount:      USD 12,500.00');
    expect(won?.text).toContain('held for 30 days');
    await waitForMessages('commission approved', toAda(/^Commission approved: USD 1,250\.00/), 1);
    const [payout] = await waitForMessages('payout', toAda(/^Payout sent: EUR 999\.50/), 1);
    expect(payout?.text).toContain('Reference:  SEPA-77');
    const [rep] = await waitForMessages(
      'rep message',
      (m) => /^Message from Sam Rep about Globex expansion/.test(m.subject ?? ''),
      1,
    );
    expect(rep?.envelopeTo).toEqual(['bob@northwind.example']);
    expect(rep?.text).toContain('Can you join the call on Friday?');
    const repToken = await resolveReplyToken(
      db,
      tokenFromAddress(rep?.replyTo?.value[0]?.address as string, DOMAIN) as string,
    );
    expect(repToken.token).toMatchObject({
      deal_id: dealId,
      thread: 'deal',
      contact_id: world.contacts[1]?.id,
    });
  });

  it('rapid stage changes of one deal make one email with the latest stage', async () => {
    const { id: tenantId } = world.t.tenant;
    const dealId = randomUUID();
    const stages = ['Appointment scheduled', 'Qualified to buy', 'Contract sent'];
    const base = Date.now();
    for (const [i, stageLabel] of stages.entries()) {
      await publishEvent(world.runtime.db, {
        type: 'deal.stage_changed',
        tenantId,
        subjectId: dealId,
        occurredAt: new Date(base + i * 1000),
        data: {
          dealId,
          partnerIds: [world.partner.id],
          dealName: 'Initech',
          stage: stageLabel.toLowerCase().replaceAll(' ', ''),
          stageLabel,
          category: 'open',
          amount: '500000',
          currency: 'USD',
        },
      });
    }
    const initech = (m: Inbox['messages'][number]) => /^Initech is now/.test(m.subject ?? '');
    const messages = await waitForMessages('the coalesced stage email', initech, 2);
    // Give superseded jobs time to run (and not send) before counting.
    await waitFor('all email jobs done', async () => (await world.runtime.queue.pendingCount()) === 0, {
      timeoutMs: 20_000,
    });
    await new Promise((resolve) => setTimeout(resolve, 1500));
    await waitFor('all email jobs done', async () => (await world.runtime.queue.pendingCount()) === 0, {
      timeoutMs: 20_000,
    });
    expect(received(initech)).toHaveLength(2);
    for (const m of messages) {
      expect(m.subject).toMatch(/^Initech is now Contract sent/);
      expect(m.text).toContain('A contract was sent to the prospect.');
      expect(m.text).toContain('The prospect signs, and the deal is won.');
    }
  });
});
