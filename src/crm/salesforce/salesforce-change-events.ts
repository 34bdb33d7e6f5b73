import type { CrmChangeNormalizer, CrmDealChange, CrmDealChangeKind } from '../crm-connector.ts';

/** The CometD channel of opportunity change events (Change Data Capture). */
export const OPPORTUNITY_CHANNEL = '/data/OpportunityChangeEvent';

/** `ChangeEventHeader` of a Change Data Capture event, as Salesforce sends it (the fields we use). */
export interface ChangeEventHeader {
  entityName: string;
  /** Several ids when Salesforce merged changes; a key prefix with a wildcard (`006*`) on overflow. */
  recordIds: string[];
  changeType: string;
  /** UPDATE: the fields that changed (CREATE and UNDELETE bodies carry every non-null field). */
  changedFields?: string[];
  /** Fields set to null (newer API versions also list them in changedFields). */
  nulledFields?: string[];
  /** `com/salesforce/api/rest/62.0;client=<Sforce-Call-Options client>` for API writes. */
  changeOrigin?: string;
  transactionKey?: string;
  sequenceNumber?: number;
  /** Epoch milliseconds. */
  commitTimestamp: number;
  commitNumber?: number;
  commitUser?: string;
}

/** The `data` of a CometD message on a change event channel. */
export interface OpportunityChangeEvent {
  schema?: string;
  payload: { ChangeEventHeader: ChangeEventHeader; [field: string]: unknown };
  event: { replayId: number | string };
}

/** Opportunity fields that map to the neutral deal fields. */
const FIELDS = {
  Name: 'name',
  StageName: 'stageId',
  Amount: 'amount',
  CurrencyIsoCode: 'currency',
  CloseDate: 'closeDate',
  OwnerId: 'ownerId',
} as const;

const KINDS: Record<string, CrmDealChangeKind> = {
  CREATE: 'created',
  UPDATE: 'updated',
  DELETE: 'deleted',
  UNDELETE: 'restored',
};

/** What is wrong with a message that claims to be a change event, or null when it is one. */
export function changeEventProblem(raw: unknown): string | null {
  const data = raw as Partial<OpportunityChangeEvent> | null;
  if (typeof data !== 'object' || data === null) return 'not an object';
  const header = data.payload?.ChangeEventHeader;
  if (typeof header !== 'object' || header === null) return 'no payload.ChangeEventHeader';
  if (!Array.isArray(header.recordIds) || header.recordIds.some((id) => typeof id !== 'string'))
    return 'ChangeEventHeader.recordIds is not a list of ids';
  if (typeof header.changeType !== 'string') return 'ChangeEventHeader.changeType is missing';
  if (typeof header.commitTimestamp !== 'number' || !Number.isFinite(header.commitTimestamp))
    return 'ChangeEventHeader.commitTimestamp is not a number';
  const replayId = data.event?.replayId;
  if (replayId === undefined || !/^-?\d+$/.test(String(replayId))) return 'event.replayId is missing';
  return null;
}

/** True when `changeOrigin` names our API client (`…;client=<name>`): our own write coming back. */
export function isOwnOrigin(changeOrigin: string | undefined, callClient: string): boolean {
  if (!changeOrigin) return false;
  return changeOrigin
    .split(';')
    .slice(1)
    .some((part) => part.trim() === `client=${callClient}`);
}

const text = (value: unknown): string | null =>
  value === null || value === undefined || value === '' ? null : String(value);

/** The neutral fields a change event carries: every mapped field present for CREATE/UNDELETE, the changed ones for UPDATE. */
function neutralChanges(event: OpportunityChangeEvent, kind: CrmDealChangeKind): CrmDealChange['changes'] {
  const body = event.payload;
  const header = body.ChangeEventHeader;
  const names =
    kind === 'updated'
      ? [...(header.changedFields ?? []), ...(header.nulledFields ?? [])]
      : Object.keys(body).filter((name) => body[name] !== null && body[name] !== undefined);
  const changes: Record<string, string | null> = {};
  for (const name of names) {
    const neutral = FIELDS[name as keyof typeof FIELDS];
    if (neutral) changes[neutral] = text(body[name]);
  }
  return changes;
}

/**
 * Opportunity change events → deal changes, one per record id. The source event id is the
 * transaction key, the sequence number in it and the record id (the replay id when Salesforce gives
 * no transaction key): the same change replayed gets the same id. GAP_* and GAP_OVERFLOW events
 * carry no values: they become `gap` changes, to be re-read (an overflow's wildcard id as `*`).
 * Changes made through our own API client (`Sforce-Call-Options: client=<callClient>`) are
 * flagged `ownWrite`. Throws on a message that is not a change event (see changeEventProblem).
 */
export function opportunityChanges(raw: unknown, callClient: string): CrmDealChange[] {
  const problem = changeEventProblem(raw);
  if (problem) throw new Error(`not an opportunity change event: ${problem}`);
  const event = raw as OpportunityChangeEvent;
  const header = event.payload.ChangeEventHeader;
  if (header.entityName !== undefined && header.entityName !== 'Opportunity') return [];
  const gap = header.changeType.startsWith('GAP_');
  const kind: CrmDealChangeKind | undefined = gap ? 'gap' : KINDS[header.changeType];
  if (!kind) return [];
  const changes = gap ? {} : neutralChanges(event, kind);
  const ownWrite = isOwnOrigin(header.changeOrigin, callClient);
  const key =
    header.transactionKey !== undefined && header.transactionKey !== ''
      ? `${header.transactionKey}:${header.sequenceNumber ?? 0}`
      : `replay:${event.event.replayId}`;
  const ids = gap && header.recordIds.length === 0 ? ['*'] : header.recordIds;
  return ids.map((id) => {
    const dealId = gap && id.endsWith('*') ? '*' : id;
    return {
      sourceEventId: `${key}:${dealId}`,
      dealId,
      kind,
      occurredAt: new Date(header.commitTimestamp),
      changes: { ...changes },
      ownWrite,
    };
  });
}

/** The Salesforce `CrmChangeNormalizer`: a list of change event messages → their deal changes, in order. */
export function salesforceChangeNormalizer(callClient: string): CrmChangeNormalizer {
  return { toDealChanges: (raw) => raw.flatMap((message) => opportunityChanges(message, callClient)) };
}
