import { randomBytes } from 'node:crypto';
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { type ChangeEvent, type ChangeEventLog, matches } from './local-salesforce-events.ts';
import { presentedToken } from './local-salesforce-oauth.ts';
import type { LocalSalesforceState } from './local-salesforce-state.ts';

/**
 * The Streaming API's CometD endpoint, `/cometd/<version>`, speaking Bayeux over long-polling as
 * Salesforce does: /meta/handshake (ext `replay: true`), /meta/subscribe with the replay
 * extension (`ext.replay[channel]`: -1 new only, -2 all retained, an id: what followed it),
 * /meta/connect held up to `cometdTimeoutMs` (Salesforce: 110 s) until events arrive,
 * /meta/unsubscribe and /meta/disconnect. A session that is no longer valid answers
 * `401::Authentication invalid` with `advice.reconnect: none` (what jsforce's AuthFailure
 * extension reacts to); a client the server forgot answers `403::Unknown client` with
 * `advice.reconnect: handshake`.
 */
type Message = Record<string, unknown> & { channel: string; id?: string; clientId?: string };

interface Waiter {
  reply: Message;
  timer: NodeJS.Timeout;
  resolve(messages: Message[]): void;
}

interface StreamingClient {
  id: string;
  token: string;
  subscriptions: Set<string>;
  queue: Message[];
  connected: boolean;
  waiter: Waiter | null;
}

const authInvalid = { error: '401::Authentication invalid', advice: { reconnect: 'none' } };
const unknownClient = { error: '403::Unknown client', advice: { reconnect: 'handshake', interval: 0 } };

export class CometdServer {
  readonly clients = new Map<string, StreamingClient>();

  constructor(
    private readonly state: LocalSalesforceState,
    private readonly log: ChangeEventLog,
  ) {
    log.onEvent((event) => this.deliver(event));
    state.on('sessions-ended', () => this.endInvalidSessions());
  }

  private advice() {
    return { interval: 0, timeout: this.state.cometdTimeoutMs, reconnect: 'retry' };
  }

  async handle(request: FastifyRequest): Promise<Message[]> {
    const token = presentedToken(request);
    const messages = (Array.isArray(request.body) ? request.body : [request.body]) as Message[];
    const replies: Message[] = [];
    let held: Promise<Message[]> | null = null;
    for (const message of messages) {
      if (!message || typeof message.channel !== 'string') continue;
      if (message.channel === '/meta/connect') held = this.connect(message, token);
      else replies.push(this.answer(message, token));
    }
    return held ? [...replies, ...(await held)] : replies;
  }

  private answer(message: Message, token: string): Message {
    const base = { channel: message.channel, id: message.id };
    if (message.channel === '/meta/handshake') {
      if (!this.state.accessTokens.has(token)) {
        return {
          ...base,
          successful: false,
          error: '403::Handshake denied',
          ext: {
            sfdc: { failureReason: '401::Authentication invalid' },
            replay: true,
            'payload.format': true,
          },
          advice: { reconnect: 'none' },
        };
      }
      const id = randomBytes(18).toString('base64url');
      this.clients.set(id, {
        id,
        token,
        subscriptions: new Set(),
        queue: [],
        connected: false,
        waiter: null,
      });
      return {
        ...base,
        version: '1.0',
        minimumVersion: '1.0',
        clientId: id,
        supportedConnectionTypes: ['long-polling'],
        successful: true,
        advice: this.advice(),
        ext: { replay: true, 'payload.format': true },
      };
    }
    const client = this.clients.get(String(message.clientId));
    const withClient = { ...base, clientId: message.clientId };
    if (message.channel === '/meta/disconnect') {
      if (client) this.forget(client, { channel: '/meta/connect', successful: true, clientId: client.id });
      return { ...withClient, successful: true };
    }
    // The session is checked before the client, so an expired session always reads as such.
    if (!this.state.accessTokens.has(token)) {
      if (client)
        this.forget(client, {
          channel: '/meta/connect',
          clientId: client.id,
          successful: false,
          ...authInvalid,
        });
      return { ...withClient, successful: false, ...authInvalid };
    }
    if (!client) return { ...withClient, successful: false, ...unknownClient };
    const channel = String(message.subscription ?? '');
    if (message.channel === '/meta/unsubscribe') {
      client.subscriptions.delete(channel);
      return { ...withClient, subscription: channel, successful: true };
    }
    if (message.channel === '/meta/subscribe')
      return { ...withClient, subscription: channel, ...this.subscribe(client, message, channel) };
    return { ...withClient, successful: false, error: `403::Publish denied` };
  }

  private subscribe(client: StreamingClient, message: Message, channel: string) {
    if (!this.log.isChannel(channel))
      return {
        successful: false,
        error: `400::The channel you requested to subscribe to does not exist {${channel}}`,
      };
    const replay = (message.ext as { replay?: Record<string, unknown> } | undefined)?.replay?.[channel];
    const replayId = replay === undefined || replay === null ? -1 : Number(replay);
    const backlog = Number.isInteger(replayId) ? this.log.replayFrom(channel, replayId) : null;
    if (!backlog) {
      return {
        successful: false,
        error: `400::The replayId {${String(replay)}} you provided was invalid.  Please provide a valid ID, -2 to replay all events, or -1 to replay only new events.`,
      };
    }
    client.subscriptions.add(channel);
    for (const event of backlog) client.queue.push(toMessage(channel, event));
    this.flush(client);
    return { successful: true };
  }

  private connect(message: Message, token: string): Promise<Message[]> {
    const client = this.clients.get(String(message.clientId));
    const base = { channel: '/meta/connect', id: message.id, clientId: message.clientId };
    if (!this.state.accessTokens.has(token)) {
      if (client) this.forget(client, null);
      return Promise.resolve([{ ...base, successful: false, ...authInvalid }]);
    }
    if (!client) return Promise.resolve([{ ...base, successful: false, ...unknownClient }]);
    client.token = token;
    const reply = { ...base, successful: true, advice: this.advice() };
    if (client.waiter) this.release(client, [client.waiter.reply]);
    if (!client.connected || client.queue.length > 0) {
      client.connected = true;
      const events = client.queue.splice(0);
      return Promise.resolve([...events, reply]);
    }
    return new Promise((resolve) => {
      const timer = setTimeout(() => this.release(client, [reply]), this.state.cometdTimeoutMs);
      client.waiter = { reply, timer, resolve };
    });
  }

  private deliver(event: ChangeEvent) {
    for (const client of this.clients.values()) {
      for (const channel of client.subscriptions) {
        if (matches(channel, event)) client.queue.push(toMessage(channel, event));
      }
      this.flush(client);
    }
  }

  /** Answers a held connect with what is queued (events are sent on the next tick, batched). */
  private flush(client: StreamingClient) {
    if (!client.waiter || client.queue.length === 0) return;
    setImmediate(() => {
      if (client.waiter && client.queue.length > 0)
        this.release(client, [...client.queue.splice(0), client.waiter.reply]);
    });
  }

  private release(client: StreamingClient, messages: Message[]) {
    const waiter = client.waiter;
    if (!waiter) return;
    client.waiter = null;
    clearTimeout(waiter.timer);
    waiter.resolve(messages);
  }

  /** Drops the client; a held connect gets the given answer. */
  private forget(client: StreamingClient, answer: Message | null) {
    this.clients.delete(client.id);
    if (client.waiter)
      this.release(client, [answer ? { ...answer, id: client.waiter.reply.id } : client.waiter.reply]);
  }

  private endInvalidSessions() {
    for (const client of [...this.clients.values()]) {
      if (this.state.accessTokens.has(client.token)) continue;
      this.forget(client, {
        channel: '/meta/connect',
        clientId: client.id,
        successful: false,
        ...authInvalid,
      });
    }
  }

  /** The server forgets every client (as after 40 s without a connect): they must handshake again. */
  dropClients(): void {
    for (const client of [...this.clients.values()])
      this.forget(client, {
        channel: '/meta/connect',
        clientId: client.id,
        successful: false,
        ...unknownClient,
      });
  }

  /** Answers every held connect (server shutting down) so no request or timer outlives `close()`. */
  close(): void {
    for (const client of this.clients.values())
      this.release(client, client.waiter ? [client.waiter.reply] : []);
    this.clients.clear();
  }
}

function toMessage(channel: string, event: ChangeEvent): Message {
  return { channel, data: event.data };
}

export const localSalesforceCometd: FastifyPluginAsync<{ server: CometdServer }> = async (
  app,
  { server },
) => {
  for (const url of ['/cometd/:version', '/cometd/replay/:version']) {
    app.post(url, async (request, reply) => {
      const messages = await server.handle(request);
      return reply.type('application/json;charset=UTF-8').send(JSON.stringify(messages));
    });
  }
};
