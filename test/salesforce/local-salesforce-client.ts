import { createHash, randomBytes } from 'node:crypto';
import jsforce, { type Connection } from 'jsforce';
import { StreamingExtension } from 'jsforce/lib/api/streaming.js';
import type { ChangeEvent, LocalSalesforce } from './local-salesforce.ts';

/**
 * Test helpers that drive the local Salesforce the way an app does, through `jsforce`: the OAuth
 * web server flow with PKCE (verifier kept by the caller, `useVerifier` off) and a Connection
 * with auto-refresh.
 */
export const REDIRECT_URI = 'http://127.0.0.1:3000/oauth/salesforce/callback';

export function oauth2For(sf: LocalSalesforce, redirectUri = REDIRECT_URI) {
  return new jsforce.OAuth2({
    loginUrl: sf.url,
    clientId: sf.clientId,
    clientSecret: sf.clientSecret,
    redirectUri,
  });
}

export function pkcePair() {
  const verifier = randomBytes(48).toString('base64url');
  const challenge = createHash('sha256').update(verifier).digest('base64url');
  return { verifier, challenge };
}

/** Follows the authorize redirect (the local org approves at once) and returns the callback's query. */
export async function authorize(
  sf: LocalSalesforce,
  params: Record<string, string>,
): Promise<URLSearchParams> {
  const url = oauth2For(sf).getAuthorizationUrl(params);
  const response = await fetch(url, { redirect: 'manual' });
  const location = response.headers.get('location');
  if (response.status !== 302 || !location) throw new Error(`authorize answered ${response.status}`);
  return new URL(location).searchParams;
}

/** A Connection after the full PKCE flow, API version set explicitly, optional call options. */
export async function connectWithPkce(
  sf: LocalSalesforce,
  options: { version?: string; callOptions?: Record<string, string> } = {},
): Promise<Connection> {
  const { verifier, challenge } = pkcePair();
  const query = await authorize(sf, {
    code_challenge: challenge,
    code_challenge_method: 'S256',
    scope: 'api refresh_token',
    state: 'st',
  });
  const conn = new jsforce.Connection({
    oauth2: oauth2For(sf),
    version: options.version ?? '62.0',
    ...(options.callOptions ? { callOptions: options.callOptions } : {}),
  });
  await conn.authorize(query.get('code')!, { code_verifier: verifier });
  return conn;
}

/** A Connection from tokens issued directly (no browser round trip). */
export function connectWithTokens(
  sf: LocalSalesforce,
  options: { version?: string; callOptions?: Record<string, string> } = {},
): Connection {
  const tokens = sf.issueTokens();
  return new jsforce.Connection({
    oauth2: oauth2For(sf),
    instanceUrl: tokens.instanceUrl,
    accessToken: tokens.accessToken,
    refreshToken: tokens.refreshToken,
    version: options.version ?? '62.0',
    ...(options.callOptions ? { callOptions: options.callOptions } : {}),
  });
}

/** What a subscriber's handler receives: the `data` of a change event message. */
export type ChangeEventData = ChangeEvent['data'];

export interface ChangeSubscriber {
  /** Event data received on the channel, in order (`{ schema, payload, event: { replayId } }`). */
  messages: ChangeEventData[];
  /** What the AuthFailure extension reported (a /meta/connect or handshake with reconnect: none). */
  authFailures: { error?: string }[];
  /** Resolves once the subscription is acknowledged, rejects with the server's error otherwise. */
  ready: Promise<void>;
  waitFor(count: number, timeoutMs?: number): Promise<ChangeEventData[]>;
  close(): Promise<void>;
}

/** A jsforce streaming client with the Replay and AuthFailure extensions, subscribed to a channel. */
export function subscribeToChanges(
  conn: Connection,
  options: { channel?: string; replayId?: number } = {},
): ChangeSubscriber {
  const channel = options.channel ?? '/data/OpportunityChangeEvent';
  const messages: ChangeSubscriber['messages'] = [];
  const authFailures: ChangeSubscriber['authFailures'] = [];
  const client = conn.streaming.createClient([
    new StreamingExtension.Replay(channel, options.replayId ?? -1),
    new StreamingExtension.AuthFailure((message: { error?: string }) => authFailures.push(message)),
  ]);
  const subscription = client.subscribe(channel, (data: ChangeEventData) => messages.push(data));
  const ready = new Promise<void>((resolve, reject) => subscription.then(() => resolve(), reject));
  return {
    messages,
    authFailures,
    ready,
    async waitFor(count, timeoutMs = 5000) {
      const deadline = Date.now() + timeoutMs;
      while (messages.length < count) {
        if (Date.now() > deadline) throw new Error(`received ${messages.length} of ${count} messages`);
        await new Promise((r) => setTimeout(r, 10));
      }
      return messages.slice(0, count);
    },
    async close() {
      subscription.cancel();
      await new Promise<void>((resolve) => {
        // faye's Client#disconnect (absent from jsforce's faye typings) sends /meta/disconnect.
        const publication = (
          client as unknown as { disconnect(): PromiseLike<void> | undefined }
        ).disconnect();
        if (!publication) return resolve();
        publication.then(
          () => resolve(),
          () => resolve(),
        );
        setTimeout(resolve, 1000);
      });
    },
  };
}
