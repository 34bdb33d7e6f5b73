import type { App } from '../../src/app.ts';
import type { Clock } from '../../src/clock.ts';
import { replyDomainOf } from '../../src/messaging/inbound-config.ts';
import type { InboundMessageRow } from '../../src/messaging/inbound-message.table.ts';
import { fallbackMessageId, replyAddress } from '../../src/messaging/reply-address.ts';
import { issueReplyToken } from '../../src/messaging/reply-tokens.ts';
import type { PartnerContactRow, PartnerRow } from '../../src/partners/partner.table.ts';
import { makeContact, makePartner } from '../factories/partner.factory.ts';
import { makeEnrolment, makeProgram } from '../factories/program.factory.ts';
import { makeTenant, type TenantWithKeys } from '../factories/tenant.factory.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/test-database.ts';
import {
  buildTestApp,
  clearRedisPrefix,
  createTestRuntime,
  type TestRuntime,
} from '../helpers/test-runtime.ts';
import { waitFor } from '../helpers/wait-for.ts';

export const SECRET = 'inbound-secret-0123456789abcdef';
export const MAILGUN_KEY = 'key-mailgun-signing-0123456789';
export const POSTMARK = { user: 'postmark', password: 'pm-password-0123456789' };
export const AUTHSERV = 'mx.partnerloop.test';

export interface InboundWorld {
  database: TestDatabase;
  runtime: TestRuntime;
  app: App;
  domain: string;
  t: TenantWithKeys;
  partner: PartnerRow;
  programId: string;
  /** The partner's referral code in the program: `register+<code>@<domain>` registers by email. */
  referralCode: string;
  /** The contact the notifications went to. */
  contact: PartnerContactRow;
  /** Another contact of the same partner (a colleague). */
  colleague: PartnerContactRow;
  /** A contact of another partner of the same tenant. */
  stranger: PartnerContactRow;
  registrationId: string;
  /** A fresh live reply token for `contact` on the registration. */
  token(options?: { ttlDays?: number }): Promise<string>;
  /** Waits until the stored message with this Message-ID was processed, and returns its row. */
  processed(messageId: string): Promise<InboundMessageRow>;
  /** The same, by the stored row's id (for messages without a Message-ID). */
  processedRow(id: string): Promise<InboundMessageRow>;
  notes(): Promise<{ body: string; author_name: string; inbound_message_id: string | null }[]>;
  close(): Promise<void>;
}

export async function openInboundWorld(
  options: { env?: Record<string, string>; clock?: Clock; workers?: boolean } = {},
): Promise<InboundWorld> {
  const database = await createTestDatabase();
  const runtime = await createTestRuntime(database, {
    env: {
      PUBLIC_URL: 'https://app.partnerloop.test',
      INBOUND_EMAIL_DOMAIN: 'reply.app.partnerloop.test',
      EMAIL_FROM: 'partners@acme.example',
      INBOUND_EMAIL_SECRET: SECRET,
      MAILGUN_SIGNING_KEY: MAILGUN_KEY,
      POSTMARK_INBOUND_USER: POSTMARK.user,
      POSTMARK_INBOUND_PASSWORD: POSTMARK.password,
      INBOUND_AUTHSERV_ID: AUTHSERV,
      INBOUND_MAX_BYTES: String(256 * 1024),
      ...options.env,
    },
    ...(options.clock ? { clock: options.clock } : {}),
  });
  const app = await buildTestApp(runtime);
  if (options.workers !== false) {
    await runtime.queue.startWorkers(runtime.registry.queues());
    runtime.relay.start();
  }
  const { db } = runtime;
  const t = await makeTenant(db);
  const program = await makeProgram(db, t.tenant.id);
  const partner = await makePartner(db, t.tenant.id);
  const enrolment = await makeEnrolment(db, t.tenant.id, program.id, partner.id);
  const contact = await makeContact(db, t.tenant.id, partner.id, {
    name: 'Jane Partner',
    email: 'Jane@Partner.example',
  });
  const colleague = await makeContact(db, t.tenant.id, partner.id, {
    name: 'Colin Colleague',
    email: 'colin@partner.example',
  });
  const other = await makePartner(db, t.tenant.id);
  const stranger = await makeContact(db, t.tenant.id, other.id, {
    name: 'Sam Stranger',
    email: 'sam@other.example',
  });
  const submitted = await app.inject({
    method: 'POST',
    url: '/api/v1/registrations',
    headers: t.as('sales_rep'),
    payload: { programId: program.id, partnerId: partner.id, companyName: 'Globex Corporation' },
  });
  if (submitted.statusCode !== 201)
    throw new Error(`registration: ${submitted.statusCode} ${submitted.body}`);
  const registrationId = submitted.json().id as string;

  return {
    database,
    runtime,
    app,
    domain: replyDomainOf(runtime.config),
    t,
    partner,
    programId: program.id,
    referralCode: enrolment.referral_code,
    contact,
    colleague,
    stranger,
    registrationId,
    token: (tokenOptions = {}) =>
      issueReplyToken(db, {
        tenantId: t.tenant.id,
        contactId: contact.id,
        partnerId: partner.id,
        registrationId,
        thread: 'registration',
        now: runtime.services.clock.now(),
        ...(tokenOptions.ttlDays !== undefined ? { ttlDays: tokenOptions.ttlDays } : {}),
      }),
    processed: (messageId) =>
      waitFor(`inbound message ${messageId} processed`, async () => {
        const row = await db
          .selectFrom('inbound_messages')
          .selectAll()
          .where('message_id', '=', messageId)
          .executeTakeFirst();
        return row && row.status !== 'received' ? row : undefined;
      }),
    processedRow: (id) =>
      waitFor(`inbound message ${id} processed`, async () => {
        const row = await db
          .selectFrom('inbound_messages')
          .selectAll()
          .where('id', '=', id)
          .executeTakeFirst();
        return row && row.status !== 'received' ? row : undefined;
      }),
    notes: () =>
      db
        .selectFrom('timeline_notes')
        .select(['body', 'author_name', 'inbound_message_id'])
        .where('registration_id', '=', registrationId)
        .orderBy('created_at')
        .execute(),
    async close() {
      await app.close();
      await runtime.close();
      await clearRedisPrefix(runtime.redisPrefix);
      await database.destroy();
    },
  };
}

let counter = 0;

/** A raw reply as a mail client would send it; every part can be overridden to make it go wrong. */
export function replyEml(
  w: Pick<InboundWorld, 'domain'>,
  token: string | null,
  options: {
    from?: string;
    to?: string;
    subject?: string;
    text?: string;
    headers?: string[];
    messageId?: string;
    references?: string;
  } = {},
): { raw: string; messageId: string } {
  counter++;
  const messageId = options.messageId ?? `<reply-${Date.now()}-${counter}@mail.partner.example>`;
  const to = options.to ?? (token ? replyAddress(token, w.domain) : `updates@${w.domain}`);
  const lines = [
    `From: ${options.from ?? 'Jane Partner <jane@partner.example>'}`,
    `To: ${to}`,
    `Subject: ${options.subject ?? 'Re: Your registration for Globex Corporation was received'}`,
    'Date: Mon, 23 Nov 2026 10:15:00 +0000',
    `Message-ID: ${messageId}`,
    ...(options.references
      ? [`References: ${options.references}`, `In-Reply-To: ${options.references}`]
      : []),
    ...(options.headers ?? []),
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=utf-8',
    'Content-Transfer-Encoding: 8bit',
    '',
    options.text ??
      [
        'Thanks! The buyer is Maria Lopez, budget approved for Q1.',
        '',
        'Jane',
        '',
        'On Mon, 23 Nov 2026 at 09:00, Acme Partners <updates@acme.example> wrote:',
        '> ## Reply above this line ##',
        '> Your registration for Globex Corporation was received.',
      ].join('\n'),
  ];
  return { raw: lines.join('\r\n'), messageId };
}

export const fallbackReference = (token: string, domain: string) => fallbackMessageId(token, domain);
