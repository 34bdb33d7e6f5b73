import { randomUUID } from 'node:crypto';

const TEN_SECONDS = 10_000;
const ONE_SECOND = 1_000;

export interface Admission {
  headers: Record<string, string>;
  /** The 429 body when the request is refused. */
  body?: Record<string, unknown>;
}

/**
 * HubSpot's limits for OAuth (marketplace) apps, as documented: a rolling 10-second window per
 * installed account (headers `X-HubSpot-RateLimit-Max`, `-Remaining`,
 * `-Interval-Milliseconds`; 429 with `policyName: TEN_SECONDLY_ROLLING`), and CRM search's own
 * limit per token per second, not counted in the 10-second window (429 "You have reached your
 * secondly limit."). No daily limit and no `Retry-After` header for OAuth calls.
 */
export class RateLimitEnforcer {
  private readonly windows = new Map<number, number[]>();
  private readonly searches = new Map<string, number[]>();

  constructor(
    private readonly tenSecondly: number,
    private readonly searchPerSecond: number,
  ) {}

  admit(portalId: number, token: string, search: boolean, now = Date.now()): Admission {
    if (search) {
      const recent = prune(this.searches, token, now - ONE_SECOND);
      if (recent.length >= this.searchPerSecond) {
        return {
          headers: {},
          body: {
            status: 'error',
            message: 'You have reached your secondly limit.',
            errorType: 'RATE_LIMIT',
            correlationId: randomUUID(),
            policyName: 'SECONDLY',
          },
        };
      }
      recent.push(now);
      return { headers: {} };
    }
    const recent = prune(this.windows, portalId, now - TEN_SECONDS);
    const headers = {
      'X-HubSpot-RateLimit-Interval-Milliseconds': String(TEN_SECONDS),
      'X-HubSpot-RateLimit-Max': String(this.tenSecondly),
      'X-HubSpot-RateLimit-Remaining': String(Math.max(0, this.tenSecondly - recent.length - 1)),
    };
    if (recent.length >= this.tenSecondly) {
      headers['X-HubSpot-RateLimit-Remaining'] = '0';
      return {
        headers,
        body: {
          status: 'error',
          message: 'You have reached your ten_secondly_rolling limit.',
          errorType: 'RATE_LIMIT',
          correlationId: randomUUID(),
          policyName: 'TEN_SECONDLY_ROLLING',
          groupName: `publicapi:oauth:${portalId}`,
        },
      };
    }
    recent.push(now);
    return { headers };
  }
}

function prune<K>(map: Map<K, number[]>, key: K, since: number): number[] {
  const list = map.get(key) ?? [];
  let drop = 0;
  while (drop < list.length && list[drop]! <= since) drop++;
  const kept = drop > 0 ? list.slice(drop) : list;
  map.set(key, kept);
  return kept;
}
