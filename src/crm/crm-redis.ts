import type { Redis } from 'ioredis';
import type { Config } from '../config.ts';

const clients = new Map<string, Promise<Redis>>();

/**
 * The process's Redis connection for CRM state shared across processes (HubSpot rate budgets,
 * Salesforce API allowance), one per REDIS_URL, loaded only when Redis is configured. A shared,
 * long-lived connection must not keep a finishing process (CLI, tests) alive: its socket is unref'd.
 */
export function crmRedis(config: Config & { redisUrl: string }): Promise<Redis> {
  let client = clients.get(config.redisUrl);
  if (!client) {
    client = import('ioredis').then(({ Redis }) => {
      const redis = new Redis(config.redisUrl, { maxRetriesPerRequest: 3, lazyConnect: false });
      redis.on('connect', () => (redis as unknown as { stream?: { unref?: () => void } }).stream?.unref?.());
      return redis;
    });
    clients.set(config.redisUrl, client);
  }
  return client;
}
