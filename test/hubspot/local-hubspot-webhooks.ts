import { createHmac } from 'node:crypto';
import type { FastifyPluginAsync } from 'fastify';
import type { AreaOptions } from './local-hubspot.ts';
import { type LocalHubspotState, OBJECT_TYPE_IDS, type ObjectChange } from './local-hubspot-state.ts';

/**
 * HubSpot's webhook delivery: changes to CRM objects become events (the generic `object.*`
 * subscription types with `objectTypeId`), POSTed as JSON arrays of up to 100 events, signed with
 * `X-HubSpot-Signature-v3` (HMAC-SHA256 of method + URI + body + timestamp with the client secret,
 * base64). Test helpers resend duplicates and shuffle order, as HubSpot's at-least-once, unordered
 * delivery does.
 */
export interface WebhookSettings {
  /** The URL registered as the app's target: what HubSpot signs. */
  targetUrl: string;
  clientSecret: string;
  /** Where to actually send (defaults to targetUrl): lets a test sign the public URL and hit a local port. */
  deliverTo?: string;
  appId?: number;
  maxBatchSize?: number;
}

export interface WebhookEvent {
  eventId: number;
  subscriptionId: number;
  portalId: number;
  appId: number;
  occurredAt: number;
  subscriptionType: string;
  attemptNumber: number;
  objectId: number;
  objectTypeId: string;
  changeSource: string;
  sourceId?: string;
  changeFlag?: string;
  propertyName?: string;
  propertyValue?: string;
  [field: string]: unknown;
}

export interface Delivery {
  status: number;
  body: string;
  events: number;
  ms: number;
}

let nextEventId = 1_000_000 + Math.floor(Math.random() * 1_000_000);

/** Signs a request exactly as HubSpot does (v3). */
export function signV3(secret: string, method: string, uri: string, body: string, timestamp: number): string {
  return createHmac('sha256', secret).update(`${method}${uri}${body}${timestamp}`).digest('base64');
}

export class LocalWebhookSender {
  /** Events made from object changes, waiting for `flush()`. */
  readonly pending: WebhookEvent[] = [];
  readonly deliveries: Delivery[] = [];

  constructor(
    private readonly state: LocalHubspotState,
    public settings: WebhookSettings,
  ) {}

  /** Turns the local HubSpot's object changes into pending events (call once). */
  listen(): this {
    this.state.listeners.push((change) => {
      const event = this.eventFor(change);
      if (event) this.pending.push(event);
    });
    return this;
  }

  eventFor(change: ObjectChange): WebhookEvent | undefined {
    const base = {
      eventId: nextEventId++,
      subscriptionId: 1000 + Object.keys(OBJECT_TYPE_IDS).indexOf(change.objectType),
      portalId: change.portalId,
      appId: this.settings.appId ?? this.state.appId,
      occurredAt: change.occurredAt,
      attemptNumber: 0,
      objectId: Number(change.objectId),
      objectTypeId: OBJECT_TYPE_IDS[change.objectType],
      changeSource: change.changeSource,
      sourceId: change.sourceId,
    };
    if (change.kind === 'creation')
      return { ...base, subscriptionType: 'object.creation', changeFlag: 'NEW' };
    if (change.kind === 'deletion')
      return { ...base, subscriptionType: 'object.deletion', changeFlag: 'DELETED' };
    if (change.kind === 'restore')
      return { ...base, subscriptionType: 'object.restore', changeFlag: 'RESTORED' };
    return {
      ...base,
      subscriptionType: 'object.propertyChange',
      propertyName: change.propertyName ?? '',
      propertyValue: change.propertyValue ?? '',
    };
  }

  /** A hand-made event, for tests that script a sequence HubSpot could send. */
  event(
    fields: Partial<WebhookEvent> & Pick<WebhookEvent, 'portalId' | 'objectId' | 'subscriptionType'>,
  ): WebhookEvent {
    return {
      eventId: nextEventId++,
      subscriptionId: 1002,
      appId: this.settings.appId ?? this.state.appId,
      occurredAt: Date.now(),
      attemptNumber: 0,
      objectTypeId: '0-3',
      changeSource: 'CRM',
      ...fields,
    };
  }

  /** A deal's property change (`object.propertyChange` of type 0-3), as a sales rep's edit sends it. */
  propertyChange(
    portalId: number,
    dealId: string | number,
    propertyName: string,
    propertyValue: string,
    occurredAt: number = Date.now(),
  ): WebhookEvent {
    return this.event({
      portalId,
      objectId: Number(dealId),
      subscriptionType: 'object.propertyChange',
      propertyName,
      propertyValue,
      occurredAt,
    });
  }

  /** Sends one batch, signed; `timestamp` and `secret` overrides make bad requests on purpose. */
  async post(
    events: unknown[] | string,
    options: { timestamp?: number; secret?: string; headers?: Record<string, string> } = {},
  ): Promise<Delivery> {
    const body = typeof events === 'string' ? events : JSON.stringify(events);
    const timestamp = options.timestamp ?? Date.now();
    const signature = signV3(
      options.secret ?? this.settings.clientSecret,
      'POST',
      this.settings.targetUrl,
      body,
      timestamp,
    );
    const started = performance.now();
    const response = await fetch(this.settings.deliverTo ?? this.settings.targetUrl, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-hubspot-signature-v3': signature,
        'x-hubspot-request-timestamp': String(timestamp),
        ...options.headers,
      },
      body,
    });
    const delivery = {
      status: response.status,
      body: await response.text(),
      events: Array.isArray(events) ? events.length : 0,
      ms: performance.now() - started,
    };
    this.deliveries.push(delivery);
    return delivery;
  }

  /** Sends events in batches of up to 100 (HubSpot's maximum), one after another. */
  async send(
    events: WebhookEvent[],
    options: { duplicate?: boolean; shuffle?: boolean } = {},
  ): Promise<Delivery[]> {
    let list = options.shuffle ? shuffled(events) : [...events];
    // A redelivery is the same event (same eventId) with the next attemptNumber.
    if (options.duplicate)
      list = [...list, ...shuffled(list).map((e) => ({ ...e, attemptNumber: e.attemptNumber + 1 }))];
    const size = this.settings.maxBatchSize ?? 100;
    const out: Delivery[] = [];
    for (let i = 0; i < list.length; i += size) out.push(await this.post(list.slice(i, i + size)));
    return out;
  }

  /** Sends what the object changes produced since the last flush. */
  async flush(options: { duplicate?: boolean; shuffle?: boolean } = {}): Promise<Delivery[]> {
    const events = this.pending.splice(0, this.pending.length);
    return events.length === 0 ? [] : this.send(events, options);
  }
}

export function shuffled<T>(items: T[]): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

const senders = new WeakMap<LocalHubspotState, LocalWebhookSender>();

/** The sender of a local HubSpot, once its target is set (by a test, or by hand through the route below). */
export function localWebhooks(state: LocalHubspotState, settings?: WebhookSettings): LocalWebhookSender {
  let sender = senders.get(state);
  if (!sender) {
    if (!settings)
      throw new Error('set the webhook target first: localWebhooks(state, { targetUrl, clientSecret })');
    sender = new LocalWebhookSender(state, settings).listen();
    senders.set(state, sender);
  } else if (settings) {
    sender.settings = settings;
  }
  return sender;
}

/**
 * For use by hand: `PUT /local/webhooks/settings` `{ targetUrl, clientSecret }` (the app's webhook
 * settings in HubSpot), then `POST /local/webhooks/flush` delivers the changes made since.
 */
export const localHubspotWebhooks: FastifyPluginAsync<AreaOptions> = async (app, { state }) => {
  app.put('/local/webhooks/settings', async (request) => {
    const body = request.body as WebhookSettings;
    localWebhooks(state, { targetUrl: body.targetUrl, clientSecret: body.clientSecret });
    return { ok: true };
  });
  app.post('/local/webhooks/flush', async () => {
    const deliveries = await localWebhooks(state).flush();
    return { deliveries: deliveries.map(({ status, events }) => ({ status, events })) };
  });
};
