import type { Redis } from 'ioredis';
import type { Config } from '../../config.ts';
import type { CrmFailure } from '../crm-connector.ts';
import { crmRedis } from '../crm-redis.ts';

/**
 * An org's daily API allowance (rolling 24 h, shared by every app in the org), as Salesforce reports
 * it on each REST answer (`Sforce-Limit-Info: api-usage=N/M`). We keep the last reading per org and
 * spend what is left by priority, so our background work never starves the customer's own
 * integrations or our interactive calls:
 * - `background` (reconciliation, polling, backfill) waits above 90 % used;
 * - `normal` (writes out: deals, notes) waits above 97 %;
 * - `interactive` (a registration's conflict check, an admin's field check) always goes.
 * A `REQUEST_LIMIT_EXCEEDED` answer pauses every call to the org for a while.
 */
export type CallPriority = 'interactive' | 'normal' | 'background';

export const PAUSE_ABOVE: Record<CallPriority, number> = { background: 0.9, normal: 0.97, interactive: 1 };

/** A reading this old no longer holds calls back: the next call goes, and its answer reads again. */
export const READING_TTL_MS = 10 * 60_000;

/** How long the org is left alone after REQUEST_LIMIT_EXCEEDED when Salesforce does not say. */
export const DAILY_LIMIT_PAUSE_MS = 15 * 60_000;
/** The other REQUEST_LIMIT_EXCEEDED: too many concurrent long-running requests, over in seconds. */
export const CONCURRENCY_LIMIT_PAUSE_MS = 30_000;

export interface ApiUsage {
  used: number;
  max: number;
  /** When it was read (ms since epoch). */
  at: number;
}

export interface AllowanceStore {
  read(orgId: string): Promise<{ usage: ApiUsage | null; pausedUntil: number }>;
  record(orgId: string, usage: ApiUsage): Promise<void>;
  pause(orgId: string, untilMs: number): Promise<void>;
}

export class MemoryAllowanceStore implements AllowanceStore {
  private readonly usage = new Map<string, ApiUsage>();
  private readonly paused = new Map<string, number>();

  async read(orgId: string) {
    return { usage: this.usage.get(orgId) ?? null, pausedUntil: this.paused.get(orgId) ?? 0 };
  }

  async record(orgId: string, usage: ApiUsage) {
    const known = this.usage.get(orgId);
    if (!known || known.at <= usage.at) this.usage.set(orgId, usage);
  }

  async pause(orgId: string, untilMs: number) {
    this.paused.set(orgId, Math.max(this.paused.get(orgId) ?? 0, untilMs));
  }
}

/** The same in Redis, so every process of every machine sees the org's last reading and pause. */
export class RedisAllowanceStore implements AllowanceStore {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  private key(orgId: string) {
    return `${this.prefix}:salesforce:allowance:${orgId}`;
  }

  async read(orgId: string) {
    const [used, max, at, pausedUntil] = await this.redis.hmget(
      this.key(orgId),
      'used',
      'max',
      'at',
      'pausedUntil',
    );
    const usage = used && max && at ? { used: Number(used), max: Number(max), at: Number(at) } : null;
    return { usage, pausedUntil: Number(pausedUntil ?? 0) };
  }

  async record(orgId: string, usage: ApiUsage) {
    const key = this.key(orgId);
    await this.redis
      .multi()
      .hset(key, { used: usage.used, max: usage.max, at: usage.at })
      .pexpire(key, 24 * 60 * 60_000)
      .exec();
  }

  async pause(orgId: string, untilMs: number) {
    const key = this.key(orgId);
    const current = Number((await this.redis.hget(key, 'pausedUntil')) ?? 0);
    if (untilMs > current)
      await this.redis
        .multi()
        .hset(key, 'pausedUntil', untilMs)
        .pexpire(key, 24 * 60 * 60_000)
        .exec();
  }
}

const stores = new Map<string, AllowanceStore>();

/** The process's store for this configuration: Redis when REDIS_URL is set, else memory. */
export async function allowanceStore(config: Config): Promise<AllowanceStore> {
  const key = config.redisUrl ? `${config.redisUrl}|${config.redisPrefix}` : 'local';
  let store = stores.get(key);
  if (!store) {
    store = config.redisUrl
      ? new RedisAllowanceStore(await crmRedis({ ...config, redisUrl: config.redisUrl }), config.redisPrefix)
      : new MemoryAllowanceStore();
    stores.set(key, store);
  }
  return store;
}

/**
 * Whether a call of this priority may go now: null when it may, else the `rate_limited` failure
 * saying when to come back.
 */
export function admission(
  state: { usage: ApiUsage | null; pausedUntil: number },
  priority: CallPriority,
  nowMs: number,
): CrmFailure | null {
  if (state.pausedUntil > nowMs)
    return {
      kind: 'rate_limited',
      code: 'REQUEST_LIMIT_EXCEEDED',
      message: 'Salesforce refused calls for this org a moment ago (REQUEST_LIMIT_EXCEEDED): waiting',
      retryAfterMs: state.pausedUntil - nowMs,
    };
  const usage = state.usage;
  if (!usage || usage.max <= 0 || nowMs - usage.at >= READING_TTL_MS) return null;
  const share = usage.used / usage.max;
  if (share < PAUSE_ABOVE[priority]) return null;
  return {
    kind: 'rate_limited',
    code: 'API_ALLOWANCE',
    message: `The org has used ${usage.used} of its ${usage.max} daily API calls: ${priority} calls wait above ${PAUSE_ABOVE[priority] * 100} %`,
    retryAfterMs: Math.max(1_000, usage.at + READING_TTL_MS - nowMs),
  };
}

/** How long to leave the org alone after REQUEST_LIMIT_EXCEEDED: the daily limit, or concurrency. */
export function limitExceededPauseMs(message: string): number {
  return /concurrent|ConcurrentPerOrg/i.test(message) ? CONCURRENCY_LIMIT_PAUSE_MS : DAILY_LIMIT_PAUSE_MS;
}
