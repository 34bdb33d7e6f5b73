import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { markDisconnected } from '../../src/crm/crm-disconnect.ts';
import { deliverDomainEventJob } from '../../src/events/domain-event.job.ts';
import { publishEvent } from '../../src/events/publish-event.ts';
import { notifyCrmDisconnectedJob } from '../../src/messaging/notify-crm-disconnected.job.ts';
import { makeTenant } from '../factories/tenant.factory.ts';
import { usingRedis } from '../helpers/test-runtime.ts';
import { sleep, waitFor } from '../helpers/wait-for.ts';
import { type EmailWorld, type Inbox, openEmailWorld, startSmtpInbox } from './email-world.ts';

const INSTALL_URL = 'https://partners.example.com/oauth/hubspot/install';

describe(`admins hear when the CRM is disconnected (${usingRedis ? 'BullMQ' : 'in-process'} jobs)`, () => {
  let inbox: Inbox;
  let world: EmailWorld;

  beforeAll(async () => {
    inbox = await startSmtpInbox();
    world = await openEmailWorld({ env: { SMTP_URL: inbox.url, EMAIL_FROM: 'partners@acme.example' } });
    await world.startWorkers();
  });
  afterAll(async () => {
    await world?.close();
    await inbox?.close();
  });

  const to = (address: string) => inbox.messages.filter((m) => m.envelopeTo.includes(address));
  // What hubspot-tokens.ts does when HubSpot refuses a refresh with invalid_grant (to a HubSpot tenant).
  const refuseRefresh = (tenantId: string) =>
    world.runtime.db.transaction().execute(async (tx) => {
      await tx.updateTable('tenants').set({ crm_kind: 'hubspot' }).where('id', '=', tenantId).execute();
      return markDisconnected(tx, tenantId, 'refresh_refused', {
        actorType: 'system',
        source: 'hubspot.tokens',
      });
    });
  const ctx = (log = world.runtime.logger) =>
    ({ db: world.runtime.db, services: world.runtime.services, log, jobId: 'test', attempt: 1 }) as never;

  it('a refused HubSpot refresh emails the notification address once, and a redelivery sends nothing more', async () => {
    const set = await world.app.inject({
      method: 'PATCH',
      url: '/api/v1/tenant/notifications',
      headers: world.t.as('admin'),
      payload: { notificationEmail: 'team@acme.example' },
    });
    expect(set.statusCode, set.body).toBe(200);

    expect(await refuseRefresh(world.t.tenant.id)).toBe(true);
    const mail = await waitFor('the disconnect email', () => to('team@acme.example')[0], {
      timeoutMs: 20_000,
    });
    expect(mail.subject).toBe('HubSpot is disconnected: partner program syncing is paused');
    expect(mail.from?.value[0]).toEqual({ name: 'Acme Partners', address: 'partners@acme.example' });
    expect(mail.text).toContain('no longer connected to HubSpot');
    expect(mail.text).toContain('HubSpot refused to renew our access');
    expect(mail.text).toContain('Syncing is paused');
    expect(mail.text).toContain('Nothing is lost');
    expect(mail.text).toContain(INSTALL_URL);
    expect(mail.text).not.toContain('An administrator disconnected it');
    expect(mail.text).toMatch(/Disconnected: +\d{1,2} \w{3} \d{4}, \d{2}:\d{2} \S+/);
    expect(mail.html).toContain(`href="${INSTALL_URL}"`);
    expect(mail.html).toContain('#aa3300');
    // For staff: no reply token, no unsubscribe link.
    expect(mail.replyTo).toBeUndefined();
    expect(mail.headers.get('list-unsubscribe')).toBeUndefined();

    const sent = await world.runtime.db
      .selectFrom('sent_emails')
      .select(['event_id', 'status', 'to_address'])
      .where('tenant_id', '=', world.t.tenant.id)
      .where('template', '=', 'crm-disconnected')
      .execute();
    expect(sent).toEqual([
      {
        event_id: expect.stringMatching(/^tenant\.disconnected\//),
        status: 'sent',
        to_address: 'team@acme.example',
      },
    ]);

    // The same event again: through the outbox, straight to its subscribers, and the job itself.
    const event = {
      id: String(sent[0]?.event_id).slice('tenant.disconnected/'.length),
      type: 'tenant.disconnected',
      tenantId: world.t.tenant.id,
      subjectId: world.t.tenant.id,
      occurredAt: new Date().toISOString(),
      data: {
        tenantId: world.t.tenant.id,
        crm: 'hubspot',
        reason: 'refresh_refused',
        status: 'disconnected',
      },
    };
    await publishEvent(world.runtime.db, { ...event, occurredAt: new Date(event.occurredAt) });
    await deliverDomainEventJob.handle(event, ctx());
    await notifyCrmDisconnectedJob.handle(
      {
        eventId: event.id,
        tenantId: event.tenantId,
        crm: 'hubspot',
        reason: 'refresh_refused',
        occurredAt: event.occurredAt,
      },
      ctx(),
    );
    // A second refusal finds the tenant already disconnected: no new event.
    expect(await refuseRefresh(world.t.tenant.id)).toBe(false);
    await sleep(1_000);
    expect(to('team@acme.example')).toHaveLength(1);
  });

  it('with no notification address, nobody is emailed, a warning is logged and the audit entry remains', async () => {
    const other = await makeTenant(world.runtime.db, { name: 'Quiet Corp' });
    const before = inbox.messages.length;
    expect(await refuseRefresh(other.tenant.id)).toBe(true);

    const lines: string[] = [];
    const log = pino(
      { level: 'warn' },
      new Writable({
        write(chunk, _enc, done) {
          lines.push(String(chunk));
          done();
        },
      }),
    );
    await notifyCrmDisconnectedJob.handle(
      {
        eventId: 'no-address-event',
        tenantId: other.tenant.id,
        crm: 'hubspot',
        reason: 'refresh_refused',
        occurredAt: new Date().toISOString(),
      },
      ctx(log),
    );
    expect(lines.map((l) => JSON.parse(l))).toEqual([
      expect.objectContaining({
        level: 40,
        tenantId: other.tenant.id,
        msg: expect.stringContaining('no notification address'),
      }),
    ]);

    await sleep(1_000);
    expect(inbox.messages.length).toBe(before);
    const sent = await world.runtime.db
      .selectFrom('sent_emails')
      .select('id')
      .where('tenant_id', '=', other.tenant.id)
      .execute();
    expect(sent).toEqual([]);
    const audit = await world.runtime.db
      .selectFrom('audit_log')
      .select(['action', 'after'])
      .where('tenant_id', '=', other.tenant.id)
      .where('action', '=', 'tenant.disconnected')
      .execute();
    expect(audit).toEqual([
      { action: 'tenant.disconnected', after: { status: 'disconnected', reason: 'refresh_refused' } },
    ]);
  });
});
