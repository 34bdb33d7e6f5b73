import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Config } from '../../config.ts';
import { crmRedis } from '../crm-redis.ts';

/**
 * One request budget per HubSpot portal, shared by every process that talks to it.
 *
 * HubSpot's documented limits for OAuth (marketplace) apps: 110 requests per rolling 10 s per
 * installed account, and CRM search its own 4 requests per second per token, not counted in the
 * 10-second window (reference §3.1). We spend less than that (100 and 4 per 1.25 s): the server
 * counts arrival times and we count send times, and a little slack keeps jitter from ever making a
 * 429. A 429 that still happens pauses the whole portal (every process) for what HubSpot says.
 *
 * The SDK's own Bottleneck limiter (`limiterOptions`, default 9/s, 6 concurrent; search 550 ms,
 * 3 concurrent) and its retry decorator live in one process-global singleton, so they cannot
 * protect a portal across BullMQ workers: the connector switches them off and calls through here.
 */
export type RequestKind = 'api' | 'search';

export interface Budget {
  limit: number;
  windowMs: number;
}

export const HUBSPOT_BUDGETS: Record<RequestKind, Budget> = {
  api: { limit: 100, windowMs: 10_000 },
  search: { limit: 4, windowMs: 1_250 },
};

/** Requests allowed in flight per portal and kind, per process (the SDK's `maxConcurrent`). */
export const MAX_CONCURRENT: Record<RequestKind, number> = { api: 6, search: 3 };

export interface HubspotRateLimiter {
  /** Resolves when one request of this kind may be sent for the portal (the slot is taken). */
  acquire(portalId: string, kind: RequestKind): Promise<void>;
  /** HubSpot answered 429: nobody sends this kind for the portal for `ms`. */
  pause(portalId: string, kind: RequestKind, ms: number): Promise<void>;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A sliding-window log in this process: the embedded default (one process). */
export class InProcessRateLimiter implements HubspotRateLimiter {
  private readonly sent = new Map<string, number[]>();
  private readonly pausedUntil = new Map<string, number>();

  constructor(private readonly budgets = HUBSPOT_BUDGETS) {}

  async acquire(portalId: string, kind: RequestKind): Promise<void> {
    const key = `${portalId}:${kind}`;
    const { limit, windowMs } = this.budgets[kind];
    for (;;) {
      const now = Date.now();
      const paused = (this.pausedUntil.get(key) ?? 0) - now;
      if (paused > 0) {
        await sleep(paused);
        continue;
      }
      const log = (this.sent.get(key) ?? []).filter((at) => at > now - windowMs);
      if (log.length < limit) {
        log.push(now);
        this.sent.set(key, log);
        return;
      }
      this.sent.set(key, log);
      await sleep(log[0]! + windowMs - now + 1);
    }
  }

  async pause(portalId: string, kind: RequestKind, ms: number): Promise<void> {
    const key = `${portalId}:${kind}`;
    this.pausedUntil.set(key, Math.max(this.pausedUntil.get(key) ?? 0, Date.now() + ms));
  }
}

/**
 * The same sliding-window log in Redis, one atomic script per attempt, timed by Redis's clock so
 * processes on different machines agree. Answers 0 (slot taken) or how long to wait.
 */
const ACQUIRE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local paused = tonumber(redis.call('GET', KEYS[2]) or '0')
if paused > now then return paused - now end
local limit = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) < limit then
  redis.call('ZADD', KEYS[1], now, ARGV[3])
  redis.call('PEXPIRE', KEYS[1], window)
  return 0
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return tonumber(oldest[2]) + window - now + 1
`;

const PAUSE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local until_ = now + tonumber(ARGV[1])
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
if until_ > current then redis.call('SET', KEYS[1], until_, 'PX', tonumber(ARGV[1])) end
return 0
`;

export class RedisRateLimiter implements HubspotRateLimiter {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly budgets = HUBSPOT_BUDGETS,
  ) {}

  private keys(portalId: string, kind: RequestKind) {
    const base = `${this.prefix}:hubspot:rate:${portalId}:${kind}`;
    return [base, `${base}:paused`];
  }

  async acquire(portalId: string, kind: RequestKind): Promise<void> {
    const { limit, windowMs } = this.budgets[kind];
    const [log, paused] = this.keys(portalId, kind);
    for (;;) {
      const wait = Number(await this.redis.eval(ACQUIRE, 2, log!, paused!, limit, windowMs, randomUUID()));
      if (wait <= 0) return;
      await sleep(wait);
    }
  }

  async pause(portalId: string, kind: RequestKind, ms: number): Promise<void> {
    const [, paused] = this.keys(portalId, kind);
    await this.redis.eval(PAUSE, 1, paused!, Math.max(1, Math.ceil(ms)));
  }
}

/** Caps requests in flight per portal and kind within this process. */
export class Concurrency {
  private readonly running = new Map<string, number>();
  private readonly waiting = new Map<string, (() => void)[]>();

  async run<T>(key: string, max: number, task: () => Promise<T>): Promise<T> {
    if ((this.running.get(key) ?? 0) >= max) {
      await new Promise<void>((resolve) =>
        this.waiting.set(key, [...(this.waiting.get(key) ?? []), resolve]),
      );
    } else {
      this.running.set(key, (this.running.get(key) ?? 0) + 1);
    }
    try {
      return await task();
    } finally {
      const next = this.waiting.get(key)?.shift();
      // The slot passes straight to the next waiter; only when none waits is it given back.
      if (next) next();
      else this.running.set(key, (this.running.get(key) ?? 1) - 1);
    }
  }
}

const limiters = new Map<string, HubspotRateLimiter>();

/**
 * The process's limiter for this configuration: Redis-backed when REDIS_URL is set (shared by all
 * processes), else in-process. Without Redis each process keeps its own budget; the embedded
 * default is one process.
 */
export async function hubspotRateLimiter(config: Config): Promise<HubspotRateLimiter> {
  const key = config.redisUrl ? `${config.redisUrl}|${config.redisPrefix}` : 'local';
  let limiter = limiters.get(key);
  if (!limiter) {
    if (config.redisUrl) {
      limiter = new RedisRateLimiter(
        await crmRedis({ ...config, redisUrl: config.redisUrl }),
        config.redisPrefix,
      );
    } else {
      limiter = new InProcessRateLimiter();
    }
    limiters.set(key, limiter);
  }
  return limiter;
}
