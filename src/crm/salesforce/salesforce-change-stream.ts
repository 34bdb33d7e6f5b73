import type { Connection } from 'jsforce';
import type { Logger } from 'pino';
import type { Clock } from '../../clock.ts';
import type { Db } from '../../db/database.ts';
import type { CrmResult } from '../crm-connector.ts';
import { StreamLeaseLostError, storeChangeEvents } from './salesforce-change.inbox.ts';
import { OPPORTUNITY_CHANNEL, type OpportunityChangeEvent } from './salesforce-change-events.ts';

/** Why a tenant's stream ended (the manager decides what follows). */
export type StreamEnd =
  /** The org refused the subscription: CDC is not enabled for Opportunity (polling instead). */
  | { kind: 'cdc_refused'; message: string }
  /** The tenant is no longer connected (refresh refused, uninstalled). */
  | { kind: 'not_connected'; message: string }
  /** The stored replay id is past Salesforce's retention: resume from what is retained, re-read the rest. */
  | { kind: 'replay_invalid'; message: string }
  /** Another process holds the tenant's stream now. */
  | { kind: 'lease_lost'; message: string }
  /** Anything else (Salesforce down, the database failing): started again on a later scan. */
  | { kind: 'failed'; message: string };

export interface ChangeStreamOptions {
  db: Db;
  log: Logger;
  clock: Clock;
  tenantId: string;
  orgId: string;
  /** The lease holder this process is. */
  owner: string;
  /** Where to resume: the last stored event's replay id; null = every retained event (-2). */
  replayId: string | null;
  /** A connection to the tenant's org, its access token refreshed (SF-APP's salesforceConnection). */
  connect: () => Promise<CrmResult<Connection>>;
  onEnd: (end: StreamEnd) => void;
  subscribeTimeoutMs?: number;
}

/** Faye's client as jsforce hands it out (its typings lack disconnect). */
interface FayeClient {
  subscribe(channel: string, listener: (message: unknown) => void): PromiseLike<void>;
  disconnect(): unknown;
  addExtension(extension: unknown): void;
}

/** Auth failures in a row (a refreshed token refused at once) before the stream gives up. */
const MAX_REAUTH = 3;

function describe(error: unknown): string {
  if (error && typeof error === 'object') {
    const e = error as { code?: unknown; message?: unknown };
    if (e.code !== undefined && e.code !== null) return `${String(e.code)}::${String(e.message ?? '')}`;
    if (typeof e.message === 'string') return e.message;
  }
  return String(error);
}

/** How a refused subscribe reads: a credential problem, a stale replay id, or no CDC for Opportunity. */
export function subscribeRefusal(message: string): 'auth' | 'replay' | 'cdc_refused' | 'failed' {
  if (/^401\b|authenticat/i.test(message)) return 'auth';
  if (/replay/i.test(message)) return 'replay';
  if (/^(400|403|404)\b|unknown channel|does not exist|not enabled|not available/i.test(message))
    return 'cdc_refused';
  return 'failed';
}

/**
 * One tenant's CometD subscription to opportunity change events (jsforce's streaming client with
 * the Replay and AuthFailure extensions). Messages are stored in the inbox in arrival order, a batch
 * at a time (storeChangeEvents moves the replay id in the same transaction). A failed store ends the
 * stream: the next one resumes from the stored replay id, so what failed is received again. An auth
 * failure takes a fresh connection (refreshing the token) and subscribes again from the stored id.
 */
export class TenantChangeStream {
  private client: FayeClient | undefined;
  private buffer: OpportunityChangeEvent[] = [];
  private draining: Promise<void> | undefined;
  private stopped = false;
  private reauths = 0;
  private storedReplayId: string | null;
  /** Events stored in the inbox by this stream (duplicates not counted). */
  stored = 0;

  constructor(private readonly options: ChangeStreamOptions) {
    this.storedReplayId = options.replayId;
  }

  /** Connects and subscribes; null once subscribed, else why it could not. */
  async start(): Promise<StreamEnd | null> {
    const connection = await this.options.connect();
    if (this.stopped) return null;
    if (!connection.ok) {
      const kind = connection.error.kind === 'not_connected' ? 'not_connected' : 'failed';
      return { kind, message: connection.error.message };
    }
    return this.subscribe(connection.value);
  }

  /** Subscribes; a token refused meanwhile is refreshed and the subscribe tried again, a few times. */
  private async subscribe(connection: Connection): Promise<StreamEnd | null> {
    let current = connection;
    for (;;) {
      const outcome = await this.subscribeOnce(current);
      if (outcome !== 'auth') return outcome;
      const fresh = await this.refreshed();
      if ('end' in fresh) return fresh.end;
      current = fresh.connection;
    }
  }

  /** A fresh connection whose token Salesforce accepts, or why there is none. */
  private async refreshed(): Promise<{ connection: Connection } | { end: StreamEnd }> {
    if (++this.reauths > MAX_REAUTH)
      return {
        end: { kind: 'failed', message: 'the org refused the streaming client after each token refresh' },
      };
    this.options.log.info(
      { tenantId: this.options.tenantId },
      'salesforce stream: token refused, refreshing',
    );
    const connection = await this.options.connect();
    if (!connection.ok) {
      const kind = connection.error.kind === 'not_connected' ? 'not_connected' : 'failed';
      return { end: { kind, message: connection.error.message } };
    }
    // Salesforce gives access tokens no expiry: a REST call is what finds the token stale and refreshes it.
    await connection.value.limits().catch(() => undefined);
    return { connection: connection.value };
  }

  private async subscribeOnce(connection: Connection): Promise<StreamEnd | null | 'auth'> {
    const { StreamingExtension } = await import('jsforce/lib/api/streaming.js');
    const replay = this.storedReplayId === null ? -2 : Number(this.storedReplayId);
    let subscribed = false;
    let refused: (error: Error) => void = () => {};
    const authRefused = new Promise<never>((_, reject) => {
      refused = reject;
    });
    const client = connection.streaming.createClient([
      new StreamingExtension.Replay(OPPORTUNITY_CHANNEL, replay),
      new StreamingExtension.AuthFailure(() => {
        if (subscribed) void this.reauthenticate(client);
        else refused(new Error('401::Authentication invalid'));
      }),
    ]) as unknown as FayeClient;
    // A client stopped (or replaced) while it was still connecting disconnects as soon as it can.
    client.addExtension({
      incoming: (message: unknown, callback: (m: unknown) => void) => {
        callback(message);
        if (this.stopped || this.client !== client) setImmediate(() => client.disconnect());
      },
    });
    this.client = client;
    const timeoutMs = this.options.subscribeTimeoutMs ?? 30_000;
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        client.subscribe(OPPORTUNITY_CHANNEL, (message) => this.receive(client, message)),
        authRefused,
        new Promise((_, reject) => {
          timer = setTimeout(
            () => reject(new Error(`no answer to the subscribe in ${timeoutMs} ms`)),
            timeoutMs,
          );
        }),
      ]);
      subscribed = true;
      return null;
    } catch (error) {
      this.disconnect(client);
      const message = describe(error);
      const refusal = subscribeRefusal(message);
      if (refusal === 'auth') return 'auth';
      if (refusal === 'cdc_refused') return { kind: 'cdc_refused', message };
      if (refusal === 'replay') return { kind: 'replay_invalid', message };
      return { kind: 'failed', message: `subscribe to ${OPPORTUNITY_CHANNEL} refused: ${message}` };
    } finally {
      clearTimeout(timer);
    }
  }

  /** Stops receiving and waits for what was received to be stored. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.client) this.disconnect(this.client);
    await this.draining;
  }

  private disconnect(client: FayeClient) {
    if (this.client === client) this.client = undefined;
    try {
      client.disconnect();
    } catch {
      // A client that never connected has nothing to disconnect.
    }
  }

  private end(end: StreamEnd) {
    if (this.stopped) return;
    this.stopped = true;
    if (this.client) this.disconnect(this.client);
    this.options.onEnd(end);
  }

  private receive(client: FayeClient, message: unknown) {
    if (this.stopped || this.client !== client) return;
    this.reauths = 0;
    this.buffer.push(message as OpportunityChangeEvent);
    this.draining ??= this.drain().finally(() => {
      this.draining = undefined;
    });
  }

  private async drain(): Promise<void> {
    while (this.buffer.length > 0 && !this.stopped) {
      const batch = this.buffer.splice(0);
      try {
        const result = await storeChangeEvents(
          this.options.db,
          { ...this.options, channel: OPPORTUNITY_CHANNEL },
          batch,
          this.options.clock.now(),
        );
        this.stored += result.stored;
        this.storedReplayId = String(batch.at(-1)!.event.replayId);
      } catch (error) {
        this.buffer = [];
        if (error instanceof StreamLeaseLostError) this.end({ kind: 'lease_lost', message: error.message });
        else this.end({ kind: 'failed', message: `storing change events failed: ${describe(error)}` });
      }
    }
  }

  /** The token was refused while streaming: a fresh connection (the session refreshes it), then subscribe again. */
  private async reauthenticate(client: FayeClient): Promise<void> {
    if (this.stopped || this.client !== client) return;
    this.disconnect(client);
    // Resume from what is stored: the Replay extension has moved past events not stored yet.
    await this.draining;
    const fresh = await this.refreshed();
    if (this.stopped) return;
    const ended = 'end' in fresh ? fresh.end : await this.subscribe(fresh.connection);
    if (ended) this.end(ended);
  }
}
