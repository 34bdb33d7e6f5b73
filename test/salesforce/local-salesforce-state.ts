import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { newSalesforceId } from './local-salesforce-ids.ts';
import {
  RecordStore,
  type SalesforceRecord,
  Transaction,
  type WriteContext,
} from './local-salesforce-records.ts';
import { type CustomFieldInput, field, standardObjects } from './local-salesforce-schema.ts';
import { formatDateTime } from './local-salesforce-values.ts';

export interface LocalSalesforceOptions {
  port?: number;
  host?: string;
  clientId?: string;
  clientSecret?: string;
  /** The version the run script prints; every `vNN.N` is served. */
  apiVersion?: string;
  orgId?: string;
  rotateRefreshTokens?: boolean;
  cdcEnabled?: boolean;
  dailyApiLimit?: number;
  /** The app's callback URLs; when set, authorize refuses any other `redirect_uri` (default: any). */
  callbackUrls?: string[];
  /** Custom fields the org already has, by sObject (e.g. `{ Opportunity: [{ name: 'Reg_Id__c', externalId: true, unique: true }] }`). */
  customFields?: Record<string, (string | CustomFieldInput)[]>;
  /** How long a CometD `/meta/connect` is held when there is nothing to deliver (Salesforce: 110 s). */
  cometdTimeoutMs?: number;
  /** Entities selected for Change Data Capture (default: Opportunity). */
  cdcEntities?: string[];
  /** How many change events the org retains for replay (Salesforce: 72 hours' worth). */
  retainedEvents?: number;
}

export interface AccessGrant {
  userId: string;
  refreshToken: string | null;
  scope: string;
}

export interface RefreshGrant {
  userId: string;
  scope: string;
}

export interface FailRule {
  match: { method?: string; path?: RegExp };
  response: { status: number; body: unknown; headers?: Record<string, string> };
}

export const STAGES: [string, boolean, boolean, number, string][] = [
  ['Prospecting', false, false, 10, 'Pipeline'],
  ['Qualification', false, false, 10, 'Pipeline'],
  ['Needs Analysis', false, false, 20, 'Pipeline'],
  ['Proposal/Price Quote', false, false, 75, 'Pipeline'],
  ['Negotiation/Review', false, false, 90, 'Pipeline'],
  ['Closed Won', true, true, 100, 'Closed'],
  ['Closed Lost', true, false, 0, 'Omitted'],
];

/** Everything one local org holds: metadata and records, tokens, API usage, injected faults, counters. */
export class LocalSalesforceState extends EventEmitter {
  readonly clientId: string;
  readonly clientSecret: string;
  readonly apiVersion: string;
  readonly orgId: string;
  /** The integration user the OAuth flow signs in as. */
  readonly userId: string;
  /** A sales rep whose edits in the Salesforce UI `userInsert`/`userUpdate` stand for. */
  readonly salesUserId: string;
  readonly rotateRefreshTokens: boolean;
  readonly callbackUrls: string[] | null;
  readonly cometdTimeoutMs: number;
  readonly retainedEvents: number;
  readonly store: RecordStore;
  cdcEnabled: boolean;
  /** `http://127.0.0.1:<port>`, known once listening: login host and instance URL at once. */
  url = '';
  apiUsed = 0;
  apiMax: number;
  readonly accessTokens = new Map<string, AccessGrant>();
  readonly refreshTokens = new Map<string, RefreshGrant>();
  readonly faults: FailRule[] = [];
  readonly stats = {
    tokenRefreshes: 0,
    requests: [] as { method: string; path: string; callOptions: string | null }[],
  };

  constructor(options: LocalSalesforceOptions = {}) {
    super();
    this.clientId = options.clientId ?? 'sf-test-client-id';
    this.clientSecret = options.clientSecret ?? 'sf-test-client-secret';
    this.apiVersion = options.apiVersion ?? '62.0';
    this.orgId = options.orgId ?? newSalesforceId('00D', 1);
    this.rotateRefreshTokens = options.rotateRefreshTokens ?? true;
    this.callbackUrls = options.callbackUrls ?? null;
    this.cdcEnabled = options.cdcEnabled ?? true;
    this.apiMax = options.dailyApiLimit ?? 100_000;
    this.cometdTimeoutMs = options.cometdTimeoutMs ?? 110_000;
    this.retainedEvents = options.retainedEvents ?? 100_000;
    this.store = new RecordStore(standardObjects(STAGES.map(([label]) => label)));
    this.userId = this.seed('User', {
      Username: 'integration@partnerloop.example',
      FirstName: 'Integration',
      LastName: 'User',
    });
    this.salesUserId = this.seed('User', {
      Username: 'sam.seller@customer.example',
      FirstName: 'Sam',
      LastName: 'Seller',
    });
    STAGES.forEach(([label, isClosed, isWon, probability, forecast], i) => {
      this.seed('OpportunityStage', {
        MasterLabel: label,
        ApiName: label,
        IsActive: true,
        IsClosed: isClosed,
        IsWon: isWon,
        SortOrder: i + 1,
        DefaultProbability: probability,
        ForecastCategoryName: forecast,
      });
    });
    for (const [sobject, fields] of Object.entries(options.customFields ?? {}))
      for (const f of fields) this.addCustomField(sobject, f);
  }

  /** Adds a custom field to an sObject's metadata (describe shows it, writes and SOQL accept it). */
  addCustomField(sobject: string, input: string | CustomFieldInput): void {
    const spec = this.store.object(sobject);
    if (!spec) throw new Error(`unknown sObject ${sobject}`);
    const wanted = typeof input === 'string' ? { name: input } : input;
    if (!wanted.name.endsWith('__c')) throw new Error(`custom field names end with __c: ${wanted.name}`);
    if (this.store.field(spec, wanted.name)) return;
    const { name, type = 'string', ...rest } = wanted;
    spec.fields.push(field(name, type, rest));
    for (const record of this.store.table(spec.name).values()) record[name] = null;
  }

  /** A record written by the platform itself (seed data): no event, no validation. */
  private seed(sobject: string, values: SalesforceRecord): string {
    const spec = this.store.object(sobject)!;
    const id = this.store.newId(spec);
    const stamp = formatDateTime(Date.now());
    const record: SalesforceRecord = Object.fromEntries(spec.fields.map((f) => [f.name, null]));
    const name = values.FirstName ? { Name: `${values.FirstName} ${values.LastName}`, IsActive: true } : {};
    Object.assign(record, name, values, {
      Id: id,
      IsDeleted: false,
      CreatedDate: stamp,
      CreatedById: this.userId ?? id,
      LastModifiedDate: stamp,
      LastModifiedById: this.userId ?? id,
      SystemModstamp: stamp,
    });
    this.store.table(spec.name).set(id, record);
    return id;
  }

  /** Runs writes as one transaction: all committed (their change events emitted) or none. */
  write<T>(userId: string, changeOrigin: string, work: (ctx: WriteContext) => T): T {
    const ctx = { userId, changeOrigin, tx: new Transaction() };
    try {
      const result = work(ctx);
      this.commit(ctx);
      return result;
    } catch (error) {
      this.rollback(ctx.tx);
      throw error;
    }
  }

  /** A sales rep's edit in the Salesforce UI: its own transaction, an empty changeOrigin. */
  userWrite<T>(work: (ctx: WriteContext) => T): T {
    return this.write(this.salesUserId, '', work);
  }

  commit(ctx: WriteContext): void {
    if (ctx.tx.changes.length > 0) this.emit('commit', ctx);
  }

  rollback(tx: Transaction): void {
    for (const undo of tx.undo.reverse()) undo();
    tx.undo.length = 0;
    tx.changes.length = 0;
  }

  /** A refresh token and an access token for the integration user, as a completed OAuth flow leaves them. */
  issueTokens(
    scope = 'api refresh_token',
    userId = this.userId,
  ): { accessToken: string; refreshToken: string } {
    const refreshToken = this.issueRefreshToken(userId, scope);
    return { accessToken: this.issueAccessToken(userId, refreshToken, scope), refreshToken };
  }

  issueRefreshToken(userId: string, scope: string): string {
    const token = `5Aep861${randomBytes(32).toString('base64url')}`;
    this.refreshTokens.set(token, { userId, scope });
    return token;
  }

  issueAccessToken(userId: string, refreshToken: string | null, scope: string): string {
    const token = `${this.orgId.slice(0, 15)}!${randomBytes(48).toString('base64url')}`;
    this.accessTokens.set(token, { userId, refreshToken, scope });
    return token;
  }

  /** Every current access token stops working (the session timed out). */
  expireAccessTokens(): void {
    this.accessTokens.clear();
    this.emit('sessions-ended');
  }

  revokeRefreshToken(token: string): void {
    this.refreshTokens.delete(token);
    for (const [access, grant] of this.accessTokens)
      if (grant.refreshToken === token) this.accessTokens.delete(access);
    this.emit('sessions-ended');
  }

  revokeAll(): void {
    this.refreshTokens.clear();
    this.expireAccessTokens();
  }

  /** The fault to answer with for this request, if one was set for it (used once). */
  takeFault(method: string, path: string): FailRule['response'] | null {
    const index = this.faults.findIndex(
      ({ match }) =>
        (!match.method || match.method.toUpperCase() === method.toUpperCase()) &&
        (!match.path || match.path.test(path)),
    );
    if (index < 0) return null;
    return this.faults.splice(index, 1)[0]!.response;
  }
}
