import { randomBytes, randomUUID } from 'node:crypto';
import type { RecordChange, SalesforceRecord, WriteContext } from './local-salesforce-records.ts';
import type { LocalSalesforceState } from './local-salesforce-state.ts';
import { parseDateTime } from './local-salesforce-values.ts';

/**
 * Change Data Capture as the org's event bus holds it: every committed transaction on a
 * CDC-selected entity becomes change events (one per record, in commit order, sharing the
 * transaction key), each with a replay id, retained for replay up to `retainedEvents`.
 * GAP_* and GAP_OVERFLOW events come from `emitGap`. Subscribers (the CometD endpoint) are told
 * of each new event.
 */
export interface ChangeEventHeader {
  entityName: string;
  recordIds: string[];
  changeType: string;
  changeOrigin: string;
  transactionKey: string;
  sequenceNumber: number;
  commitTimestamp: number;
  commitNumber: number;
  commitUser: string;
  changedFields: string[];
  diffFields: string[];
  nulledFields: string[];
}

export interface ChangeEvent {
  replayId: number;
  entityName: string;
  channel: string;
  data: {
    schema: string;
    payload: { ChangeEventHeader: ChangeEventHeader } & SalesforceRecord;
    event: { replayId: number };
  };
}

export const channelOf = (entity: string) => `/data/${entity}ChangeEvent`;
export const ALL_CHANGE_EVENTS = '/data/ChangeEvents';

/** CometD's CDC JSON writes datetimes as `2026-12-07T02:38:35Z`. */
function eventValue(value: unknown): unknown {
  if (typeof value !== 'string' || !/^\d{4}-\d\d-\d\dT/.test(value)) return value;
  const ms = parseDateTime(value);
  return ms === null ? value : new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export class ChangeEventLog {
  private readonly events: ChangeEvent[] = [];
  private readonly listeners = new Set<(event: ChangeEvent) => void>();
  private readonly schemas = new Map<string, string>();
  private nextReplayId = 1;
  private commitNumber = 10_969_661_118;

  constructor(
    private readonly state: LocalSalesforceState,
    readonly entities: string[],
  ) {
    state.on('commit', (ctx: WriteContext) => this.record(ctx));
    state.on('gap', (kind: string, recordIds: string[]) => this.gap(kind, recordIds));
  }

  /** Whether subscribing to the channel is allowed (CDC on and the entity selected). */
  isChannel(channel: string): boolean {
    if (!this.state.cdcEnabled) return false;
    return channel === ALL_CHANGE_EVENTS || this.entities.some((e) => channelOf(e) === channel);
  }

  onEvent(listener: (event: ChangeEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Retained events of a channel after the replay id (-2: all retained); null when the id is not valid. */
  replayFrom(channel: string, replayId: number): ChangeEvent[] | null {
    const matching = this.events.filter((e) => matches(channel, e));
    if (replayId === -2) return matching;
    if (replayId === -1) return [];
    const oldest = this.events[0]?.replayId ?? this.nextReplayId;
    if (replayId < oldest - 1 || replayId >= this.nextReplayId) return null;
    return matching.filter((e) => e.replayId > replayId);
  }

  all(): ChangeEvent[] {
    return [...this.events];
  }

  private record(ctx: WriteContext) {
    if (!this.state.cdcEnabled) return;
    const changes = ctx.tx.changes.filter((c) => this.entities.includes(c.entityName));
    changes.forEach((change, i) => {
      this.append(change.entityName, this.payload(ctx, change, i + 1));
    });
    if (changes.length > 0) this.commitNumber += 1;
  }

  private payload(ctx: WriteContext, change: RecordChange, sequenceNumber: number) {
    const header: ChangeEventHeader = {
      entityName: change.entityName,
      recordIds: [change.recordId],
      changeType: change.changeType,
      changeOrigin: ctx.changeOrigin,
      transactionKey: ctx.tx.key,
      sequenceNumber,
      commitTimestamp: change.commitTimestamp,
      commitNumber: this.commitNumber,
      commitUser: ctx.userId,
      changedFields: change.changedFields,
      diffFields: [],
      nulledFields:
        change.changeType === 'UPDATE' ? change.changedFields.filter((f) => change.values[f] === null) : [],
    };
    const fields = Object.fromEntries(Object.entries(change.values).map(([k, v]) => [k, eventValue(v)]));
    return { ChangeEventHeader: header, ...fields };
  }

  private gap(kind: string, recordIds: string[]) {
    if (!this.state.cdcEnabled) return;
    const prefix = recordIds[0]?.slice(0, 3) ?? '006';
    const entityName = this.state.store.objectOfId(prefix)?.name ?? 'Opportunity';
    const now = Date.now();
    const header: ChangeEventHeader = {
      entityName,
      recordIds: recordIds.length > 0 ? recordIds : [`${prefix}*`],
      changeType: kind,
      changeOrigin: '',
      transactionKey: randomUUID(),
      sequenceNumber: 1,
      commitTimestamp: now,
      commitNumber: this.commitNumber++,
      commitUser: this.state.userId,
      changedFields: [],
      diffFields: [],
      nulledFields: [],
    };
    this.append(entityName, { ChangeEventHeader: header });
  }

  private append(entityName: string, payload: ChangeEvent['data']['payload']) {
    const replayId = this.nextReplayId++;
    const event: ChangeEvent = {
      replayId,
      entityName,
      channel: channelOf(entityName),
      data: { schema: this.schemaOf(entityName), payload, event: { replayId } },
    };
    this.events.push(event);
    if (this.events.length > this.state.retainedEvents) this.events.shift();
    for (const listener of this.listeners) listener(event);
  }

  private schemaOf(entity: string): string {
    const schema = this.schemas.get(entity) ?? randomBytes(16).toString('base64url').slice(0, 22);
    this.schemas.set(entity, schema);
    return schema;
  }
}

export function matches(channel: string, event: ChangeEvent): boolean {
  return channel === ALL_CHANGE_EVENTS || channel === event.channel;
}
