import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { Connection } from 'jsforce';
import type { Logger } from 'pino';
import type { Db } from '../../db/database.ts';
import type { Services } from '../../services.ts';
import type { CrmResult } from '../crm-connector.ts';
import {
  acquireStreamLease,
  changeCaptureTenants,
  forgetReplayId,
  recordStreamError,
  releaseStreamLease,
  setChangeCaptureMode,
} from './salesforce-change-stream.repository.ts';
import { type StreamEnd, TenantChangeStream } from './salesforce-change-stream.ts';

export type ConnectionFactory = (tenantId: string) => Promise<CrmResult<Connection>>;

export interface StreamManagerOptions {
  db: Db;
  services: Services;
  log: Logger;
  connect: ConnectionFactory;
  /** How often tenants are looked at and leases renewed. */
  scanMs?: number;
  /** How long a lease lasts unrenewed: a crashed process's streams move elsewhere after this. */
  leaseMs?: number;
  /** The pause before a failed stream is tried again. */
  retryMs?: number;
  /** This process's name as a lease holder. */
  owner?: string;
}

/**
 * The long-lived CometD subscriptions of the worker role, outside the job queue: one per connected
 * Salesforce tenant in CDC mode, at most one per org across processes (a lease in
 * salesforce_change_streams, renewed on every scan; a process that stops releases its leases, one
 * that dies loses them when they expire). A tenant disconnected or switched to polling has its
 * stream stopped; a subscribe refused because the org has no CDC for Opportunity switches the tenant
 * to polling; any other end is retried on the next scan.
 */
export class SalesforceStreamManager {
  readonly owner: string;
  private readonly streams = new Map<string, TenantChangeStream>();
  private timer: NodeJS.Timeout | undefined;
  private scanning: Promise<void> = Promise.resolve();
  private running = false;
  /** A stream that failed is tried again after a pause, not on every scan. */
  private readonly retryAt = new Map<string, number>();

  constructor(private readonly options: StreamManagerOptions) {
    this.owner = options.owner ?? `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  }

  /** Tenants whose stream runs in this process. */
  tenants(): string[] {
    return [...this.streams.keys()];
  }

  stream(tenantId: string): TenantChangeStream | undefined {
    return this.streams.get(tenantId);
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.scanning = this.scan();
    this.timer = setInterval(() => {
      this.scanning = this.scanning.then(() => this.scan());
    }, this.options.scanMs ?? 5_000);
    this.timer.unref();
  }

  /** Stops every stream (what was received is stored first) and releases the leases. */
  async stop(): Promise<void> {
    this.running = false;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.scanning;
    await Promise.all([...this.streams.keys()].map((tenantId) => this.stopStream(tenantId)));
  }

  /** One look at the tenants: start, keep or stop each stream. */
  async scan(): Promise<void> {
    if (!this.running) return;
    try {
      const wanted = new Map(
        (await changeCaptureTenants(this.options.db, 'cdc')).map((t) => [t.tenantId, t.orgId]),
      );
      for (const tenantId of this.streams.keys()) {
        if (!wanted.has(tenantId)) await this.stopStream(tenantId);
      }
      const now = Date.now();
      for (const [tenantId, orgId] of wanted) {
        if (!this.running) return;
        if ((this.retryAt.get(tenantId) ?? 0) > now) continue;
        const lease = await acquireStreamLease(
          this.options.db,
          tenantId,
          this.owner,
          this.options.leaseMs ?? 30_000,
        );
        if (!lease) {
          // Another process holds it (or took it over after our lease lapsed).
          if (this.streams.has(tenantId)) await this.stopStream(tenantId, false);
          continue;
        }
        if (!this.streams.has(tenantId))
          await this.startStream(tenantId, orgId, lease.replay_id === null ? null : String(lease.replay_id));
      }
    } catch (error) {
      this.options.log.warn({ err: error }, 'salesforce streams: scan failed');
    }
  }

  private async startStream(tenantId: string, orgId: string, replayId: string | null): Promise<void> {
    const { db, services, log } = this.options;
    const stream = new TenantChangeStream({
      db,
      log,
      clock: services.clock,
      tenantId,
      orgId,
      owner: this.owner,
      replayId,
      connect: () => this.options.connect(tenantId),
      onEnd: (end) => void this.ended(tenantId, stream, end),
    });
    this.streams.set(tenantId, stream);
    const refused = await stream.start();
    if (refused) await this.ended(tenantId, stream, refused);
    else log.info({ tenantId, replayId }, 'salesforce stream: subscribed to opportunity changes');
  }

  private async ended(tenantId: string, stream: TenantChangeStream, end: StreamEnd): Promise<void> {
    if (this.streams.get(tenantId) !== stream) return;
    const { db, log, services } = this.options;
    log.warn({ tenantId, end }, 'salesforce stream ended');
    try {
      if (end.kind === 'cdc_refused') {
        await setChangeCaptureMode(
          db,
          tenantId,
          'polling',
          `Salesforce refused the change event subscription (${end.message}): polling SystemModstamp instead`,
        );
      } else if (end.kind === 'replay_invalid') {
        await forgetReplayId(db, tenantId, services.clock.now());
      } else {
        if (end.kind === 'failed') this.retryAt.set(tenantId, Date.now() + (this.options.retryMs ?? 30_000));
        await recordStreamError(db, tenantId, `${end.kind}: ${end.message}`);
      }
    } catch (error) {
      log.warn({ err: error, tenantId }, 'salesforce stream: could not record its end');
    }
    await this.stopStream(tenantId, end.kind !== 'lease_lost');
  }

  private async stopStream(tenantId: string, release = true): Promise<void> {
    const stream = this.streams.get(tenantId);
    if (!stream) return;
    this.streams.delete(tenantId);
    await stream.stop();
    if (release) {
      await releaseStreamLease(this.options.db, tenantId, this.owner).catch((error) =>
        this.options.log.warn({ err: error, tenantId }, 'salesforce stream: could not release its lease'),
      );
    }
  }
}
