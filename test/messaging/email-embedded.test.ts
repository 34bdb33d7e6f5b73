import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { simpleParser } from 'mailparser';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DomainEvent } from '../../src/events/publish-event.ts';
import type { JobContext } from '../../src/jobs/job.ts';
import { tokenFromAddress } from '../../src/messaging/reply-address.ts';
import { sendEmailJob } from '../../src/messaging/send-email.job.ts';
import { buildTestApp, createTestRuntime } from '../helpers/test-runtime.ts';
import { type EmailWorld, openEmailWorld } from './email-world.ts';

const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 1024 });
const DKIM_KEY = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();

describe('without SMTP_URL, email is written to .eml files and listed at /dev/mail', () => {
  let world: EmailWorld;
  let ctx: JobContext;

  beforeAll(async () => {
    world = await openEmailWorld({
      env: {
        DKIM_DOMAIN: 'acme.example',
        DKIM_SELECTOR: 'pl2026',
        DKIM_PRIVATE_KEY: DKIM_KEY.replace(/\n/g, '\\n'),
      },
    });
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
  });

  const mailDir = () => path.join(world.runtime.config.dataDir, 'mail');
  const event = (type: string, data: Record<string, unknown>): DomainEvent => ({
    id: randomUUID(),
    type,
    tenantId: world.t.tenant.id,
    subjectId: randomUUID(),
    occurredAt: new Date().toISOString(),
    data,
  });

  let adaUnsubscribeUrl: string;

  it('writes one DKIM-signed .eml per email, listed newest first on /dev/mail for this machine only', async () => {
    await sendEmailJob.handle(
      {
        event: event('commission.approved', { partnerId: world.partner.id, total: '31400', currency: 'GBP' }),
      },
      ctx,
    );
    const files = readdirSync(mailDir()).filter((f) => f.endsWith('.eml'));
    expect(files).toHaveLength(2);
    const raw = readFileSync(path.join(mailDir(), files[0] as string), 'utf8');
    expect(raw).toMatch(/^DKIM-Signature: v=1; a=rsa-sha256; c=relaxed\/relaxed; d=acme\.example;/m);
    expect(raw).toMatch(/s=pl2026/);
    const parsed = await simpleParser(raw);
    expect(parsed.subject).toMatch(/^Commission approved: GBP 314\.00 \[ref:[a-z2-7]{26}\]$/);
    expect(parsed.text).toContain('GBP 314.00');
    expect(parsed.html).toContain('GBP 314.00');
    const ada = files
      .map((f) => readFileSync(path.join(mailDir(), f), 'utf8'))
      .find((r) => /^To: .*ada@/m.test(r)) as string;
    adaUnsubscribeUrl = /<(https:\/\/partners\.example\.com\/u\/[^>]+)>/.exec(
      ada.replace(/\r\n[ \t]+/g, ' '),
    )?.[1] as string;
    expect(adaUnsubscribeUrl).toMatch(/-commissions$/);

    const page = await world.app.inject({ method: 'GET', url: '/dev/mail' });
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toMatch(/text\/html/);
    expect(page.body).toContain('Commission approved: GBP 314.00');
    expect(page.body).toContain('ada@northwind.example');
    const one = await world.app.inject({ method: 'GET', url: `/dev/mail/${files[0]}` });
    expect(one.statusCode).toBe(200);
    expect(one.headers['content-type']).toMatch(/text\/plain/);
    expect(one.body).toBe(raw);

    for (const url of ['/dev/mail', `/dev/mail/${files[0]}`]) {
      const remote = await world.app.inject({ method: 'GET', url, remoteAddress: '203.0.113.9' });
      expect(remote.statusCode).toBe(404);
    }
    expect((await world.app.inject({ method: 'GET', url: '/dev/mail/..%2Fsecrets.json' })).statusCode).toBe(
      404,
    );
  });

  it('an unsubscribe link: GET only asks, POST (one-click) unsubscribes from that kind of email only', async () => {
    const url = new URL(adaUnsubscribeUrl).pathname;
    const ask = await world.app.inject({ method: 'GET', url });
    expect(ask.statusCode).toBe(200);
    expect(ask.body).toContain(
      'Stop sending commission and payout notices to <strong>ada@northwind.example</strong>?',
    );
    expect(ask.body).toContain(`<form method="post" action="${url}">`);
    const none = await world.runtime.db.selectFrom('email_unsubscribes').selectAll().execute();
    expect(none).toHaveLength(0);

    const click = await world.app.inject({
      method: 'POST',
      url,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: 'List-Unsubscribe=One-Click',
    });
    expect(click.statusCode).toBe(200);
    expect(click.body).toContain('will no longer receive commission and payout notices');
    const again = await world.app.inject({
      method: 'POST',
      url,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: 'List-Unsubscribe=One-Click',
    });
    expect(again.statusCode).toBe(200);
    const rows = await world.runtime.db.selectFrom('email_unsubscribes').selectAll().execute();
    expect(rows).toEqual([
      expect.objectContaining({ contact_id: world.contacts[0]?.id, kind: 'commissions' }),
    ]);

    const before = readdirSync(mailDir()).length;
    await sendEmailJob.handle(
      {
        event: event('payout.paid', {
          partnerId: world.partner.id,
          amount: '100',
          currency: 'GBP',
          payoutId: randomUUID(),
        }),
      },
      ctx,
    );
    await sendEmailJob.handle(
      {
        event: event('crm.message_from_rep', {
          partnerId: world.partner.id,
          repName: 'Sam',
          body: 'Hi both',
        }),
      },
      ctx,
    );
    const added = readdirSync(mailDir())
      .slice(before)
      .map((f) => readFileSync(path.join(mailDir(), f), 'utf8'));
    const recipients = (re: RegExp) =>
      added
        .filter((r) => re.test(r))
        .map((r) => /^To: .*<([^>]+)>/m.exec(r)?.[1])
        .sort();
    expect(recipients(/^Subject: Payout sent/m)).toEqual(['bob@northwind.example']);
    expect(recipients(/^Subject: Message from Sam/m)).toEqual([
      'ada@northwind.example',
      'bob@northwind.example',
    ]);

    expect(
      (await world.app.inject({ method: 'GET', url: '/u/aaaaaaaaaaaaaaaaaaaaaaaaaa-commissions' }))
        .statusCode,
    ).toBe(404);
    expect((await world.app.inject({ method: 'POST', url: '/u/not-a-token' })).statusCode).toBe(404);
  });

  it('the reply address in a written email resolves like a sent one', async () => {
    const files = readdirSync(mailDir()).filter((f) => f.endsWith('.eml'));
    const parsed = await simpleParser(readFileSync(path.join(mailDir(), files.at(-1) as string)));
    expect(tokenFromAddress(parsed.replyTo?.value[0]?.address as string, 'reply.example.com')).toMatch(
      /^[a-z2-7]{26}$/,
    );
  });

  it('is not served at all in production', async () => {
    const runtime = await createTestRuntime(world.database, {
      env: {
        NODE_ENV: 'production',
        TOKEN_ENCRYPTION_KEY: Buffer.alloc(32, 7).toString('base64'),
        LINK_SIGNING_KEY: 'x'.repeat(40),
        DATA_DIR: world.runtime.config.dataDir,
      },
    });
    const app = await buildTestApp(runtime);
    try {
      expect((await app.inject({ method: 'GET', url: '/dev/mail' })).statusCode).toBe(404);
    } finally {
      await app.close();
      await runtime.close();
    }
  });
});

describe('tenant branding', () => {
  let world: EmailWorld;
  beforeAll(async () => {
    world = await openEmailWorld();
  });
  afterAll(async () => {
    await world?.close();
  });

  it('admins set it, everyone on staff reads it, bad values are refused, null resets a field', async () => {
    const patch = (payload: object, role: 'admin' | 'sales_rep' = 'admin') =>
      world.app.inject({
        method: 'PATCH',
        url: '/api/v1/tenant/branding',
        headers: world.t.as(role),
        payload,
      });
    const ok = await patch({ color: '#00AA55', senderName: 'Acme Partner Desk' });
    expect(ok.statusCode, ok.body).toBe(200);
    expect(ok.json()).toEqual({
      name: 'Acme Cloud',
      logoUrl: 'https://cdn.example.com/acme.png',
      color: '#00AA55',
      senderName: 'Acme Partner Desk',
    });
    const read = await world.app.inject({
      method: 'GET',
      url: '/api/v1/tenant/branding',
      headers: world.t.as('sales_rep'),
    });
    expect(read.json()).toEqual(ok.json());

    expect((await patch({ color: 'red"><script>' })).statusCode).toBe(400);
    expect((await patch({ logoUrl: 'http://insecure.example/logo.png' })).statusCode).toBe(400);
    expect((await patch({ senderName: 'Evil\r\nBcc: x@y.z' })).statusCode).toBe(400);
    expect((await patch({ color: '#123456' }, 'sales_rep')).statusCode).toBe(403);

    const reset = await patch({ logoUrl: null, color: null });
    expect(reset.statusCode, reset.body).toBe(200);
    expect(reset.json()).toMatchObject({ logoUrl: null, color: '#1d4ed8', senderName: 'Acme Partner Desk' });
    const audit = await world.runtime.db
      .selectFrom('audit_log')
      .select('action')
      .where('tenant_id', '=', world.t.tenant.id)
      .where('action', '=', 'tenant.branding_updated')
      .execute();
    expect(audit).toHaveLength(2);
  });
});
