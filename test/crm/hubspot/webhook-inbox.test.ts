import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signV3 } from '../../hubspot/local-hubspot-webhooks.ts';
import { CLIENT_SECRET, type HubspotWorld, openHubspotWorld, PUBLIC_URL } from './hubspot-world.ts';

describe('POST /webhooks/hubspot: verified, stored whole, acknowledged', () => {
  let world: HubspotWorld;
  let tenantId: string;
  beforeAll(async () => {
    world = await openHubspotWorld();
    tenantId = (await world.install(62515)).tenantId;
  });
  afterAll(async () => {
    await world?.close();
  });

  const inboxCount = async () =>
    Number(
      (
        await world.runtime.db
          .selectFrom('inbox')
          .select((eb) => eb.fn.countAll<string>().as('n'))
          .where('source', '=', 'hubspot')
          .executeTakeFirstOrThrow()
      ).n,
    );
  const deal = (objectId: number, fields: Record<string, unknown> = {}) =>
    world.webhooks.event({
      portalId: 62515,
      objectId,
      subscriptionType: 'object.propertyChange',
      propertyName: 'dealstage',
      propertyValue: 'closedwon',
      ...fields,
    });
  /** A POST signed for `signedUrl` with `signedBody`, delivered to `path` with `body`. */
  const raw = (options: {
    body: string;
    signedBody?: string;
    signedUrl?: string;
    path?: string;
    timestamp?: number;
  }) => {
    const timestamp = options.timestamp ?? Date.now();
    const signedUrl = options.signedUrl ?? `${PUBLIC_URL}/webhooks/hubspot`;
    return fetch(`${world.address}${options.path ?? '/webhooks/hubspot'}`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-hubspot-request-timestamp': String(timestamp),
        'x-hubspot-signature-v3': signV3(
          CLIENT_SECRET,
          'POST',
          signedUrl,
          options.signedBody ?? options.body,
          timestamp,
        ),
      },
      body: options.body,
    });
  };

  it('stores every event of a batch, one inbox row and one processing job each', async () => {
    const before = await inboxCount();
    const events = [deal(9001), deal(9002), deal(9003, { propertyName: 'amount', propertyValue: '10.5' })];
    const [delivery] = await world.webhooks.send(events);
    expect(delivery?.status).toBe(200);
    expect(JSON.parse(delivery?.body ?? '{}')).toEqual({ received: 3, duplicates: 0 });
    expect(await inboxCount()).toBe(before + 3);
    const rows = await world.runtime.db
      .selectFrom('inbox')
      .selectAll()
      .where(
        'source_id',
        'in',
        events.map((e) => `62515:${e.eventId}`),
      )
      .execute();
    expect(rows.map((r) => r.tenant_id)).toEqual([tenantId, tenantId, tenantId]);
    expect(rows.find((r) => r.source_id === `62515:${events[2]?.eventId}`)?.payload).toMatchObject({
      propertyName: 'amount',
      propertyValue: '10.5',
    });
    const jobs = await world.runtime.db
      .selectFrom('outbox')
      .select('dedup_id')
      .where('job_name', '=', 'inbox.process')
      .where(
        'dedup_id',
        'in',
        rows.map((r) => String(r.id)),
      )
      .execute();
    expect(jobs).toHaveLength(3);
  });

  it('stores a batch whose value holds a NUL character (jsonb cannot), the NUL as U+FFFD, with the rest of the batch', async () => {
    const events = [
      deal(9051, { propertyName: 'dealname', propertyValue: 'Acme\u0000 renewal' }),
      deal(9052),
    ];
    const [delivery] = await world.webhooks.send(events);
    expect(delivery?.status).toBe(200);
    expect(JSON.parse(delivery?.body ?? '{}')).toEqual({ received: 2, duplicates: 0 });
    const row = await world.runtime.db
      .selectFrom('inbox')
      .select('payload')
      .where('source_id', '=', `62515:${events[0]?.eventId}`)
      .executeTakeFirstOrThrow();
    expect(row.payload).toMatchObject({ propertyName: 'dealname', propertyValue: 'Acme\ufffd renewal' });
  });

  it('treats a redelivered batch, and an event repeated within a batch, as no-ops', async () => {
    const events = [deal(9101), deal(9102)];
    await world.webhooks.send(events);
    const before = await inboxCount();
    const jobsBefore = await world.runtime.db
      .selectFrom('outbox')
      .select('id')
      .where('job_name', '=', 'inbox.process')
      .execute();
    const again = await world.webhooks.post([...events, { ...events[0], attemptNumber: 1 }]);
    expect(again.status).toBe(200);
    expect(JSON.parse(again.body)).toEqual({ received: 0, duplicates: 3 });
    expect(await inboxCount()).toBe(before);
    const jobsAfter = await world.runtime.db
      .selectFrom('outbox')
      .select('id')
      .where('job_name', '=', 'inbox.process')
      .execute();
    expect(jobsAfter).toHaveLength(jobsBefore.length);
  });

  it('answers 401 to a wrong secret, a changed body byte, a stale timestamp and a re-encoded URI; stores none', async () => {
    const before = await inboxCount();
    const body = JSON.stringify([deal(9201)]);
    const wrongSecret = await world.webhooks.post(body, { secret: 'not-the-secret' });
    expect(wrongSecret.status).toBe(401);
    const changed = body.replace('"closedwon"', '"closedwoN"');
    expect((await raw({ body: changed, signedBody: body })).status).toBe(401);
    const stale = await world.webhooks.post(body, { timestamp: Date.now() - 301_000 });
    expect(stale.status).toBe(401);
    expect(JSON.parse(stale.body).error.message).toContain('stale');
    const reencoded = await raw({
      body,
      signedUrl: `${PUBLIC_URL}/webhooks/hubspot?tag=a_b`,
      path: '/webhooks/hubspot?tag=a%5Fb',
    });
    expect(reencoded.status).toBe(401);
    expect(await inboxCount()).toBe(before);
  });

  it('verifies a query HubSpot signed decoded (":") that arrives percent-encoded ("%3A")', async () => {
    const body = JSON.stringify([deal(9301)]);
    const response = await raw({
      body,
      signedUrl: `${PUBLIC_URL}/webhooks/hubspot?tag=a:b`,
      path: '/webhooks/hubspot?tag=a%3Ab',
    });
    expect(response.status).toBe(200);
  });

  it('answers 400 to a correctly signed body that is not a batch of events', async () => {
    const response = await world.webhooks.post(JSON.stringify({ hello: 'world' }));
    expect(response.status).toBe(400);
  });

  it('stores events of a portal with no tenant yet (an install may still be completing)', async () => {
    const [delivery] = await world.webhooks.send([deal(9401, { portalId: 99999 })]);
    expect(delivery?.status).toBe(200);
    const row = await world.runtime.db
      .selectFrom('inbox')
      .select('tenant_id')
      .where('source_id', 'like', '99999:%')
      .executeTakeFirstOrThrow();
    expect(row.tenant_id).toBeNull();
  });
});
