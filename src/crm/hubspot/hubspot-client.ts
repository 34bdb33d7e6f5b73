import { Client } from '@hubspot/api-client';
import type { CrmFailure, CrmResult } from '../crm-connector.ts';
import {
  Concurrency,
  type HubspotRateLimiter,
  MAX_CONCURRENT,
  type RequestKind,
} from './hubspot-rate-limiter.ts';

/** How often one call is tried again after a 429 before the caller gets `rate_limited`. */
const MAX_RATE_LIMIT_RETRIES = 3;
/** Longest pause a call waits out itself; longer ones go back to the caller (the job retries). */
const MAX_INLINE_WAIT_MS = 15_000;

const concurrency = new Concurrency();

export interface HubspotCallStats {
  calls: number;
  rateLimited: number;
}

/**
 * Every HubSpot call of the connector goes through here: a slot from the portal's rate limiter,
 * a fresh SDK client, and the SDK's exceptions turned into `CrmFailure` results.
 *
 * A fresh `Client` per call because the SDK keeps its decorators (limiter, retries) in a
 * process-global singleton that any `new Client()` replaces: building ours right before the call,
 * with none configured, makes the call run without them whatever other code did.
 */
export class HubspotCaller {
  readonly stats: HubspotCallStats = { calls: 0, rateLimited: 0 };

  constructor(
    private readonly options: {
      basePath: string;
      access: () => Promise<CrmResult<{ accessToken: string; portalId: string }>>;
      limiter: () => Promise<HubspotRateLimiter>;
    },
  ) {}

  async call<T>(kind: RequestKind, request: (client: Client) => Promise<T>): Promise<CrmResult<T>> {
    const access = await this.options.access();
    if (!access.ok) return access;
    const { accessToken, portalId } = access.value;
    const limiter = await this.options.limiter();
    const { basePath } = this.options;
    for (let attempt = 0; ; attempt++) {
      try {
        // The rate slot is taken when the request can leave at once (inside the concurrency cap):
        // HubSpot counts arrivals, so a slot taken long before sending would skew the window.
        const value = await concurrency.run(`${portalId}:${kind}`, MAX_CONCURRENT[kind], async () => {
          await limiter.acquire(portalId, kind);
          this.stats.calls += 1;
          const client = new Client({ accessToken, basePath, numberOfApiCallRetries: 0 });
          return request(client);
        });
        return { ok: true, value };
      } catch (error) {
        const failure = toFailure(error);
        if (failure.kind !== 'rate_limited') return { ok: false, error: failure };
        this.stats.rateLimited += 1;
        const wait = failure.retryAfterMs ?? 1_000;
        await limiter.pause(portalId, kind, wait);
        if (attempt >= MAX_RATE_LIMIT_RETRIES || wait > MAX_INLINE_WAIT_MS)
          return { ok: false, error: failure };
      }
    }
  }
}

interface ApiExceptionLike {
  code?: number;
  body?: { message?: string; category?: string; subCategory?: string } | string;
  headers?: Record<string, string>;
}

/** The SDK's `ApiException` (or a network error) as a result the caller can act on. */
export function toFailure(error: unknown): CrmFailure {
  const e = error as ApiExceptionLike;
  const status = typeof e?.code === 'number' ? e.code : undefined;
  if (status === undefined) {
    return {
      kind: 'unavailable',
      message: `HubSpot unreachable: ${(error as Error)?.message ?? String(error)}`,
    };
  }
  const body = typeof e.body === 'object' && e.body !== null ? e.body : {};
  const message = body.message ?? (typeof e.body === 'string' ? e.body : `HubSpot answered ${status}`);
  const base = { status, message, ...(body.category ? { code: body.category } : {}) };
  if (status === 429)
    return { ...base, kind: 'rate_limited', retryAfterMs: retryAfter(e.headers ?? {}, message) };
  if (status === 401 || status === 403) return { ...base, kind: 'auth' };
  if (status === 404) return { ...base, kind: 'not_found' };
  if (status === 409) return { ...base, kind: 'conflict' };
  if (status >= 500) return { ...base, kind: 'unavailable' };
  return { ...base, kind: 'invalid' };
}

/**
 * How long to wait after a 429: `Retry-After` when sent; else what HubSpot's policy implies (the
 * secondly search limit: 1 s; the ten-second rolling window: its interval), as the SDK does.
 */
export function retryAfter(headers: Record<string, string>, message: string): number {
  const header = headers['retry-after'];
  if (header !== undefined) {
    const seconds = Number(header);
    if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
    const at = Date.parse(header);
    if (!Number.isNaN(at)) return Math.max(0, at - Date.now());
  }
  if (/secondly limit/i.test(message) && !/ten_secondly/i.test(message)) return 1_000;
  const interval = Number(headers['x-hubspot-ratelimit-interval-milliseconds']);
  return Number.isFinite(interval) && interval > 0 ? interval : 10_000;
}
