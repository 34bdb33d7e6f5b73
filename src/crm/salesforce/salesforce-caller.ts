import type { Connection } from 'jsforce';
import type { CrmFailure, CrmResult } from '../crm-connector.ts';
import {
  type AllowanceStore,
  admission,
  type CallPriority,
  limitExceededPauseMs,
} from './salesforce-api-allowance.ts';

export interface OrgConnection {
  conn: Connection;
  orgId: string;
  /** Why the last session refresh failed, when it did. */
  refreshFailure: () => CrmFailure | undefined;
}

export interface SalesforceCallStats {
  calls: number;
  rateLimited: number;
}

/**
 * Every Salesforce call of the connector goes through here: the org's allowance is asked first
 * (salesforce-api-allowance.ts), the answer's `Sforce-Limit-Info` reading is kept for the org, and
 * jsforce's exceptions become `CrmFailure` results. The connection is opened once, on first use.
 */
export class SalesforceCaller {
  readonly stats: SalesforceCallStats = { calls: 0, rateLimited: 0 };
  private opened: Promise<CrmResult<OrgConnection>> | undefined;

  constructor(
    private readonly options: {
      open: () => Promise<CrmResult<OrgConnection>>;
      allowance: () => Promise<AllowanceStore>;
      priority: CallPriority;
      now: () => number;
    },
  ) {}

  connection(): Promise<CrmResult<OrgConnection>> {
    this.opened ??= this.options.open();
    return this.opened;
  }

  async call<T>(request: (conn: Connection) => Promise<T>): Promise<CrmResult<T>> {
    const opened = await this.connection();
    if (!opened.ok) return opened;
    const { conn, orgId } = opened.value;
    const store = await this.options.allowance();
    const refused = admission(await store.read(orgId), this.options.priority, this.options.now());
    if (refused) {
      this.stats.rateLimited += 1;
      return { ok: false, error: refused };
    }
    this.stats.calls += 1;
    let result: CrmResult<T>;
    try {
      result = { ok: true, value: await request(conn) };
    } catch (error) {
      result = { ok: false, error: toFailure(error, opened.value) };
    }
    const usage = conn.limitInfo?.apiUsage;
    if (usage) await store.record(orgId, { used: usage.used, max: usage.limit, at: this.options.now() });
    if (!result.ok && result.error.code === 'REQUEST_LIMIT_EXCEEDED') {
      this.stats.rateLimited += 1;
      await store.pause(orgId, this.options.now() + (result.error.retryAfterMs ?? 0));
    }
    return result;
  }
}

interface JsforceError {
  name?: string;
  errorCode?: string;
  message?: string;
}

const NOT_FOUND = new Set(['NOT_FOUND', 'ENTITY_IS_DELETED', 'INVALID_CROSS_REFERENCE_KEY']);
const CONFLICT = new Set(['DUPLICATE_VALUE', 'DUPLICATE_EXTERNAL_ID', 'DUPLICATES_DETECTED']);
const TRANSIENT = new Set([
  'SERVER_UNAVAILABLE',
  'UNABLE_TO_LOCK_ROW',
  'QUERY_TIMEOUT',
  'REQUEST_RUNNING_TOO_LONG',
]);

/** jsforce's `HttpApiError` (its `errorCode` is Salesforce's) or a network error, as a result. */
export function toFailure(error: unknown, opened: Pick<OrgConnection, 'refreshFailure'>): CrmFailure {
  const e = (error ?? {}) as JsforceError;
  const message = e.message ?? String(error);
  // jsforce rethrows a failed refresh as `Unable to refresh session due to: …`.
  if (/^Unable to refresh session/.test(message)) {
    return (
      opened.refreshFailure() ?? { kind: 'auth', message: `Salesforce session refresh failed: ${message}` }
    );
  }
  const code = e.errorCode;
  if (!code) return { kind: 'unavailable', message: `Salesforce unreachable: ${message}` };
  const base = { code, message };
  if (code === 'REQUEST_LIMIT_EXCEEDED')
    return { ...base, kind: 'rate_limited', status: 403, retryAfterMs: limitExceededPauseMs(message) };
  if (code === 'INVALID_SESSION_ID') return { ...base, kind: 'auth', status: 401 };
  if (NOT_FOUND.has(code)) return { ...base, kind: 'not_found', status: 404 };
  if (CONFLICT.has(code)) return { ...base, kind: 'conflict', status: 400 };
  const http = /^ERROR_HTTP_(\d{3})$/.exec(code);
  const status = http ? Number(http[1]) : undefined;
  if (TRANSIENT.has(code) || (status !== undefined && status >= 500))
    return { ...base, kind: 'unavailable', ...(status ? { status } : {}) };
  if (status === 401 || status === 403) return { ...base, kind: 'auth', status };
  if (status === 404) return { ...base, kind: 'not_found', status };
  return { ...base, kind: 'invalid', ...(status ? { status } : {}) };
}
