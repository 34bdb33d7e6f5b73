import { SalesforceError } from './local-salesforce-errors.ts';
import type { WriteContext } from './local-salesforce-records.ts';
import type { LocalSalesforceState } from './local-salesforce-state.ts';

/** A REST call under `/services/data/vXX.X/`, as the resource handlers (and composite subrequests) see it. */
export interface RestRequest {
  state: LocalSalesforceState;
  /** `62.0` */
  version: string;
  method: string;
  /** The path after the version, without leading slash or query: `sobjects/Opportunity/006…`. */
  path: string;
  query: Record<string, string>;
  body: unknown;
  headers: Record<string, string | undefined>;
  userId: string;
  /** Runs writes in this request's transaction (one per request, or the enclosing allOrNone one). */
  write<T>(work: (ctx: WriteContext) => T): T;
  /** Serves another REST call with the same session (composite subrequests). */
  dispatch(sub: SubRequest): RestResponse;
}

export interface SubRequest {
  method: string;
  url: string;
  body?: unknown;
  headers?: Record<string, string>;
  /** Writes of the subrequest join this transaction instead of committing on their own. */
  ctx?: WriteContext;
}

export interface RestResponse {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export interface RestRoute {
  method: string;
  pattern: RegExp;
  handle(request: RestRequest, params: string[]): RestResponse;
}

/** `com/salesforce/api/rest/62.0;client=partnerloop` for a write carrying `Sforce-Call-Options: client=…`. */
export function changeOriginOf(version: string, callOptions: string | undefined): string {
  const client = /(?:^|[,;\s])client=([^,;\s]+)/.exec(callOptions ?? '')?.[1];
  return `com/salesforce/api/rest/${version}${client ? `;client=${client}` : ''}`;
}

/** Finds the resource for the request and runs it; a SalesforceError becomes Salesforce's error array. */
export function serve(routes: RestRoute[], request: RestRequest): RestResponse {
  const known = routes.filter((route) => route.pattern.test(request.path));
  const route = known.find((r) => r.method === request.method);
  try {
    if (!route) {
      if (known.length > 0) {
        const allowed = [...new Set(known.map((r) => r.method))].join(',');
        throw new SalesforceError(
          405,
          'METHOD_NOT_ALLOWED',
          `HTTP Method '${request.method}' not allowed. Allowed are ${allowed}`,
        );
      }
      throw new SalesforceError(404, 'NOT_FOUND', 'The requested resource does not exist');
    }
    const params = route.pattern
      .exec(request.path)!
      .slice(1)
      .map((p) => decodeURIComponent(p ?? ''));
    return route.handle(request, params);
  } catch (error) {
    if (error instanceof SalesforceError) return { status: error.status, body: error.body() };
    throw error;
  }
}

/** Splits `/services/data/v62.0/sobjects/X?a=b` (or `sobjects/X`) into version, path and query. */
export function parseRestUrl(url: string, defaultVersion: string) {
  const [pathPart, queryPart = ''] = url.split('?', 2) as [string, string?];
  const m = /^\/services\/data\/v(\d+\.\d)\/?(.*)$/.exec(pathPart);
  const version = m ? m[1]! : defaultVersion;
  const path = (m ? m[2]! : pathPart.replace(/^\//, '')).replace(/\/$/, '');
  return { version, path, query: Object.fromEntries(new URLSearchParams(queryPart)) };
}

export const ok = (body: unknown, status = 200): RestResponse => ({ status, body });
export const noContent = (): RestResponse => ({ status: 204 });
