import Fastify from 'fastify';
import { limitInfo, localSalesforceApi } from './local-salesforce-api.ts';
import { CometdServer, localSalesforceCometd } from './local-salesforce-cometd.ts';
import { localSalesforceControl } from './local-salesforce-control.ts';
import { type ChangeEvent, ChangeEventLog } from './local-salesforce-events.ts';
import { localSalesforceOauth } from './local-salesforce-oauth.ts';
import type { CustomFieldInput } from './local-salesforce-schema.ts';
import { type LocalSalesforceOptions, LocalSalesforceState } from './local-salesforce-state.ts';

export type { ChangeEvent, ChangeEventHeader } from './local-salesforce-events.ts';
export type { LocalSalesforceOptions } from './local-salesforce-state.ts';

/**
 * A local Salesforce org: OAuth (web server flow with PKCE, refresh rotation, revoke, identity),
 * the REST API PartnerLoop uses (sObjects, describe, SOQL with cursors, composite, collections,
 * limits) with Salesforce's error arrays and `Sforce-Limit-Info`, and CometD streaming of
 * `OpportunityChangeEvent` with replay. The official `jsforce` client is pointed at `url` (it is
 * the login host and the instance URL at once). Each area lives in its own `local-salesforce-*.ts`.
 */
export interface LocalSalesforce {
  url: string;
  orgId: string;
  userId: string;
  clientId: string;
  clientSecret: string;
  /** The org's state, for helpers that need more than the methods below. */
  state: LocalSalesforceState;
  records(sobject: string): Record<string, unknown>[];
  userInsert(sobject: string, fields: Record<string, unknown>): string;
  userUpdate(sobject: string, id: string, fields: Record<string, unknown>): void;
  userDelete(sobject: string, id: string): void;
  userUndelete(sobject: string, id: string): void;
  emitGap(kind: 'GAP_UPDATE' | 'GAP_OVERFLOW', recordIds: string[]): void;
  failNext(
    match: { method?: string; path?: RegExp },
    response: { status: number; body: unknown; headers?: Record<string, string> },
  ): void;
  setApiUsage(used: number, max?: number): void;
  expireAccessTokens(): void;
  revokeAll(): void;
  stats(): {
    tokenRefreshes: number;
    requests: { method: string; path: string; callOptions: string | null }[];
  };
  setCdcEnabled(enabled: boolean): void;
  addCustomField(sobject: string, field: string | CustomFieldInput): void;
  /** The change events the org retains (what a `-2` replay would deliver), oldest first. */
  changeEvents(): ChangeEvent[];
  /** The CometD server forgets every client (as after 40 s without a connect): they handshake again. */
  dropStreamingClients(): void;
  /** Tokens as a completed OAuth flow leaves them, without the browser round trip. */
  issueTokens(): { accessToken: string; refreshToken: string; instanceUrl: string; id: string };
  close(): Promise<void>;
}

export async function startLocalSalesforce(options: LocalSalesforceOptions = {}): Promise<LocalSalesforce> {
  const state = new LocalSalesforceState(options);
  const changeLog = new ChangeEventLog(state, options.cdcEntities ?? ['Opportunity']);
  const cometd = new CometdServer(state, changeLog);
  const app = Fastify({ logger: false, bodyLimit: 50 * 1024 * 1024, forceCloseConnections: true });
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, done) => {
    try {
      done(null, body === '' ? undefined : JSON.parse(body as string));
    } catch {
      done(null, { __malformedJson: true });
    }
  });
  app.addContentTypeParser(
    'application/x-www-form-urlencoded',
    { parseAs: 'string' },
    (_request, body, done) => done(null, Object.fromEntries(new URLSearchParams(body as string))),
  );
  app.addHook('onRequest', async (request, reply) => {
    if (!request.url.startsWith('/cometd/') && !request.url.startsWith('/local/')) {
      const callOptions = request.headers['sforce-call-options'];
      state.stats.requests.push({
        method: request.method,
        path: request.url,
        callOptions: callOptions ? String(callOptions) : null,
      });
    }
    const fault = state.takeFault(request.method, request.url);
    if (!fault) return;
    if (request.url.startsWith('/services/data/')) reply.header('Sforce-Limit-Info', limitInfo(state));
    for (const [name, value] of Object.entries(fault.headers ?? {})) reply.header(name, value);
    reply.code(fault.status);
    return typeof fault.body === 'string'
      ? reply.send(fault.body)
      : reply.type('application/json;charset=UTF-8').send(JSON.stringify(fault.body));
  });
  await app.register(localSalesforceOauth, { state });
  await app.register(localSalesforceApi, { state });
  await app.register(localSalesforceCometd, { server: cometd });
  await app.register(localSalesforceControl, { state });
  const address = await app.listen({ port: options.port ?? 0, host: options.host ?? '127.0.0.1' });
  state.url = address;

  return {
    url: address,
    orgId: state.orgId,
    userId: state.userId,
    clientId: state.clientId,
    clientSecret: state.clientSecret,
    state,
    records: (sobject) => [...state.store.table(sobject).values()].map((r) => ({ ...r })),
    userInsert: (sobject, fields) => state.userWrite((ctx) => state.store.insert(ctx, sobject, fields)),
    userUpdate: (sobject, id, fields) =>
      state.userWrite((ctx) => state.store.update(ctx, sobject, id, fields)),
    userDelete: (sobject, id) => state.userWrite((ctx) => state.store.remove(ctx, sobject, id)),
    userUndelete: (sobject, id) => state.userWrite((ctx) => state.store.undelete(ctx, sobject, id)),
    emitGap: (kind, recordIds) => state.emit('gap', kind, recordIds),
    failNext: (match, response) => {
      state.faults.push({ match, response });
    },
    setApiUsage: (used, max) => {
      state.apiUsed = used;
      if (max !== undefined) state.apiMax = max;
    },
    expireAccessTokens: () => state.expireAccessTokens(),
    revokeAll: () => state.revokeAll(),
    stats: () => ({ tokenRefreshes: state.stats.tokenRefreshes, requests: [...state.stats.requests] }),
    setCdcEnabled: (enabled) => {
      state.cdcEnabled = enabled;
    },
    addCustomField: (sobject, field) => state.addCustomField(sobject, field),
    changeEvents: () => changeLog.all(),
    dropStreamingClients: () => cometd.dropClients(),
    issueTokens: () => ({
      ...state.issueTokens(),
      instanceUrl: address,
      id: `${address}/id/${state.orgId}/${state.userId}`,
    }),
    close: async () => {
      cometd.close();
      await app.close();
    },
  };
}
