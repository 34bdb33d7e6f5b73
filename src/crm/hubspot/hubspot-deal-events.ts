import type { Tx } from '../../db/database.ts';
import { findDealByCrmId } from '../../deals/deal.repository.ts';
import type { NormalizedDealEvent } from '../../deals/deal-event.ts';
import { recordDealEvent } from '../../deals/deal-events.ts';
import {
  outcomeText,
  outcomeUnlessRefused,
  recordDealEventsIsolated,
} from '../../deals/record-deal-events-isolated.ts';
import { markProcessedWith } from '../../inbox/inbox.repository.ts';
import type { InboxRow } from '../../inbox/inbox.table.ts';
import type { InboxProcessor, InboxProcessorContext } from '../../inbox/inbox-processors.ts';
import { decimalToMinor, toDay } from '../crm-amount.ts';
import { tenantsByPortal } from '../crm-connection.repository.ts';
import type { CrmConnector, CrmDeal } from '../crm-connector.ts';
import { isOwnWrite } from '../crm-sync.repository.ts';
import { findStageMapping, syncStageMappings } from '../stage-mapping.repository.ts';
import type { StageCategory } from '../stage-mapping.table.ts';
import { hubspotConnector } from './hubspot-connector.ts';
import {
  type HubspotWebhookEvent,
  lockPendingDealChanges,
  lockPendingObjectEvents,
} from './hubspot-webhook.inbox.ts';

/**
 * Turns stored HubSpot webhook events into normalized deal events (recordDealEvent and
 * recordDealEvents apply them: dedupe, latest occurredAt per field wins, commissions settle). A job
 * processing one event takes the object's other pending events with it, creations first, then by
 * occurredAt, so a batch delivered shuffled is applied in order and a deal is fetched from HubSpot
 * at most once. It also takes the tenant's oldest pending property changes of deals mirrored here
 * (up to JOB_EVENTS_MAX events in all) and records them in one batch: a burst of stage changes
 * costs a few statements per hundred events, not a job and a dozen statements per event.
 */
type Kind = 'created' | 'property' | 'deleted' | 'restored' | 'merged' | 'other';

function kindOf(event: HubspotWebhookEvent): Kind {
  const action = event.subscriptionType.split('.')[1] ?? '';
  if (action === 'creation') return 'created';
  if (action === 'propertyChange') return 'property';
  if (action === 'deletion' || action === 'privacyDeletion') return 'deleted';
  if (action === 'restore') return 'restored';
  if (action === 'merge') return 'merged';
  return 'other';
}

function isDeal(event: HubspotWebhookEvent): boolean {
  return event.objectTypeId === '0-3' || event.subscriptionType.startsWith('deal.');
}

/** Creations first, then by occurredAt, then by event id (HubSpot's ids grow with time). */
export function orderEvents<T extends { event: HubspotWebhookEvent }>(items: T[]): T[] {
  const rank = (e: HubspotWebhookEvent) => (kindOf(e) === 'created' ? 0 : 1);
  return [...items].sort(
    (a, b) =>
      rank(a.event) - rank(b.event) ||
      a.event.occurredAt - b.event.occurredAt ||
      Number(a.event.eventId) - Number(b.event.eventId),
  );
}

interface Scope {
  tx: Tx;
  tenantId: string;
  ctx: InboxProcessorContext;
  connector: () => CrmConnector;
  currency: () => Promise<string>;
  /** Stages already classified in this job, by pipeline and stage id. */
  stages: Map<string, Promise<NormalizedStage>>;
}

type NormalizedStage = { id: string; category: StageCategory; label?: string };

function stageOf(scope: Scope, stageId: string, pipelineId: string | null): Promise<NormalizedStage> {
  const key = `${pipelineId ?? ''}/${stageId}`;
  let stage = scope.stages.get(key);
  if (!stage) {
    stage = classifyStage(scope, stageId, pipelineId);
    scope.stages.set(key, stage);
  }
  return stage;
}

async function classifyStage(
  scope: Scope,
  stageId: string,
  pipelineId: string | null,
): Promise<NormalizedStage> {
  let mapping = await findStageMapping(scope.tx, scope.tenantId, stageId, pipelineId);
  if (!mapping) {
    // A stage added in HubSpot after the install: read the pipelines again.
    const pipelines = await scope.connector().listPipelines();
    if (pipelines.ok) {
      await syncStageMappings(scope.tx, scope.tenantId, pipelines.value);
      mapping = await findStageMapping(scope.tx, scope.tenantId, stageId, pipelineId);
    }
  }
  const category: StageCategory = mapping ? (mapping.override_category ?? mapping.derived_category) : 'open';
  return { id: stageId, category, ...(mapping ? { label: mapping.stage_label } : {}) };
}

async function snapshotEvent(
  scope: Scope,
  deal: CrmDeal,
  sourceEventId: string,
  at: Date,
): Promise<NormalizedDealEvent> {
  const currency = deal.currency ?? (await scope.currency());
  const amount = deal.amount === null ? null : decimalToMinor(deal.amount, currency);
  return {
    tenantId: scope.tenantId,
    source: 'hubspot',
    sourceEventId,
    crmDealId: deal.id,
    // The snapshot is the deal as it is now: never older than its last modification.
    occurredAt: deal.modifiedAt.getTime() > at.getTime() ? deal.modifiedAt : at,
    type: 'deal.created',
    changes: {
      name: deal.name,
      pipeline: deal.pipelineId,
      closeDate: toDay(deal.closeDate),
      ownerId: deal.ownerId,
      ...(deal.stageId ? { stage: await stageOf(scope, deal.stageId, deal.pipelineId) } : {}),
      ...(amount !== null ? { amount: { amount, currency } } : {}),
    },
  };
}

/** Fetches the deal from HubSpot and records it; the outcome when it cannot. */
async function recordSnapshot(
  scope: Scope,
  dealId: string,
  sourceEventId: string,
  at: Date,
): Promise<string | null> {
  const fetched = await scope.connector().getDeal(dealId);
  if (!fetched.ok) {
    if (fetched.error.kind === 'not_found') return 'ignored: deal no longer in HubSpot';
    if (fetched.error.kind === 'not_connected' || fetched.error.kind === 'auth')
      return 'skipped: HubSpot not connected';
    // Rate limited or HubSpot down: fail the job, it retries with backoff and nothing is lost.
    throw new Error(`fetching deal ${dealId} from HubSpot failed: ${fetched.error.kind}`);
  }
  await recordDealEvent(
    scope.tx,
    scope.ctx.services,
    await snapshotEvent(scope, fetched.value, sourceEventId, at),
  );
  return null;
}

async function propertyChange(
  scope: Scope,
  event: HubspotWebhookEvent,
  base: Omit<NormalizedDealEvent, 'type' | 'changes'>,
) {
  const name = event.propertyName ?? '';
  const value = event.propertyValue === undefined || event.propertyValue === '' ? null : event.propertyValue;
  switch (name) {
    case 'dealstage':
      return value === null
        ? null
        : {
            ...base,
            type: 'deal.stage_changed' as const,
            changes: { stage: await stageOf(scope, value, null) },
          };
    case 'amount': {
      const current = await scope.tx
        .selectFrom('deals')
        .select('currency')
        .where('tenant_id', '=', scope.tenantId)
        .where('source', '=', 'hubspot')
        .where('crm_deal_id', '=', base.crmDealId)
        .executeTakeFirst();
      const currency = current?.currency ?? (await scope.currency());
      const amount = value === null ? 0n : decimalToMinor(value, currency);
      return amount === null
        ? null
        : { ...base, type: 'deal.amount_changed' as const, changes: { amount: { amount, currency } } };
    }
    case 'closedate':
      return { ...base, type: 'deal.updated' as const, changes: { closeDate: toDay(value) } };
    case 'hubspot_owner_id':
      return { ...base, type: 'deal.updated' as const, changes: { ownerId: value } };
    case 'pipeline':
      return { ...base, type: 'deal.updated' as const, changes: { pipeline: value } };
    case 'dealname':
      return { ...base, type: 'deal.updated' as const, changes: { name: value } };
    default:
      return { ...base, type: 'deal.updated' as const, changes: { properties: { [name]: value } } };
  }
}

function baseOf(scope: Scope, event: HubspotWebhookEvent) {
  return {
    tenantId: scope.tenantId,
    source: 'hubspot' as const,
    sourceEventId: String(event.eventId),
    crmDealId: String(event.objectId),
    occurredAt: new Date(event.occurredAt),
  };
}

/** Why a property change changes nothing here, if it does not. */
async function skippedChange(scope: Scope, event: HubspotWebhookEvent): Promise<string | null> {
  const name = event.propertyName ?? '';
  // Our own properties are ours to write; their changes (our writes coming back) change nothing here.
  if (name.startsWith('partnerloop_')) return 'skipped: own property';
  if (await isOwnWrite(scope.tx, scope.tenantId, String(event.objectId), name, event.propertyValue ?? null))
    return 'skipped: own write';
  return null;
}

/** Applies one HubSpot event; returns its outcome for the inbox record. */
async function applyEvent(scope: Scope, event: HubspotWebhookEvent): Promise<string> {
  if (!isDeal(event)) return 'ignored: not a deal';
  const base = baseOf(scope, event);
  const { crmDealId: dealId, occurredAt } = base;
  const kind = kindOf(event);

  if (kind === 'property') {
    const skipped = await skippedChange(scope, event);
    if (skipped) return skipped;
    if (!(await findDealByCrmId(scope.tx, scope.tenantId, 'hubspot', dealId))) {
      // First news of this deal is a change: take the whole deal from HubSpot, then the change.
      const missing = await recordSnapshot(scope, dealId, `${event.eventId}:snapshot`, occurredAt);
      if (missing) return missing;
    }
    const normalized = await propertyChange(scope, event, base);
    if (!normalized) return 'ignored: unreadable value';
    return (await recordDealEvent(scope.tx, scope.ctx.services, normalized)).outcome;
  }
  if (kind === 'created' || kind === 'restored') {
    const missing = await recordSnapshot(scope, dealId, String(event.eventId), occurredAt);
    if (missing) return missing;
    if (kind === 'restored') {
      return (
        await recordDealEvent(scope.tx, scope.ctx.services, {
          ...base,
          sourceEventId: `${event.eventId}:restore`,
          type: 'deal.restored',
          changes: {},
        })
      ).outcome;
    }
    return 'applied';
  }
  if (kind === 'deleted') {
    return (
      await recordDealEvent(scope.tx, scope.ctx.services, { ...base, type: 'deal.deleted', changes: {} })
    ).outcome;
  }
  if (kind === 'merged') {
    // The merged-away deals point at the survivor; the survivor's own state arrives as its changes.
    const survivor = String(event.newObjectId ?? event.primaryObjectId ?? event.objectId);
    const merged = (event.mergedObjectIds ?? []).map(String).filter((id) => id !== survivor);
    const outcomes: string[] = [];
    for (const id of merged) {
      const result = await recordDealEvent(scope.tx, scope.ctx.services, {
        ...base,
        crmDealId: id,
        sourceEventId: `${event.eventId}:${id}`,
        type: 'deal.merged',
        changes: { mergedInto: survivor },
      });
      outcomes.push(result.outcome);
    }
    return outcomes.length > 0 ? `merged: ${outcomes.join(', ')}` : 'ignored: nothing merged';
  }
  return `ignored: ${event.subscriptionType}`;
}

/**
 * Events one job records at most: its own, its object's others, and the tenant's oldest pending
 * property changes of mirrored deals (HubSpot sends up to 100 events a request).
 */
const JOB_EVENTS_MAX = 100;

export const hubspotInboxProcessor: InboxProcessor = async (tx, row, ctx) => {
  const event = row.payload as HubspotWebhookEvent;
  const tenantId =
    row.tenant_id ?? (await tenantsByPortal(tx, [String(event.portalId)])).get(String(event.portalId));
  if (!tenantId) return 'ignored: no tenant for this portal';
  const tenant = await tx
    .selectFrom('tenants')
    .select(['status', 'currency'])
    .where('id', '=', tenantId)
    .executeTakeFirst();
  // Kept in the inbox as received: after a reinstall, reconciliation brings the deals up to date.
  if (tenant?.status !== 'active') return 'skipped: tenant not connected';

  let connector: CrmConnector | undefined;
  const scope: Scope = {
    tx,
    tenantId,
    ctx,
    // The processor's transaction serves the token lookup too (no second connection while it is open).
    connector: () => {
      connector ??= hubspotConnector(tx, ctx.services, tenantId);
      return connector;
    },
    currency: async () => tenant.currency,
    stages: new Map(),
  };

  const siblings: InboxRow[] = row.tenant_id
    ? await lockPendingObjectEvents(tx, tenantId, String(event.objectId))
    : [];
  const own = [row, ...siblings.filter((s) => s.id !== row.id)];
  const others = row.tenant_id
    ? await lockPendingDealChanges(
        tx,
        tenantId,
        own.map((r) => r.id),
        JOB_EVENTS_MAX - own.length,
      )
    : [];
  const taken = [...own, ...others];
  const outcomes = await applyEvents(scope, taken);
  // The job's own row is marked by the job; the others here, each with its outcome.
  await markProcessedWith(
    tx,
    row.id,
    taken.filter((r) => r.id !== row.id).map((r) => ({ id: r.id, outcome: outcomes.get(r.id)! })),
  );
  return outcomes.get(row.id);
};

/**
 * Applies the events, each object's in order (orderEvents); their outcomes by inbox id. Objects
 * whose events are all property changes of a deal mirrored here are recorded in one batch
 * (recordDealEvents: the same outcomes as one by one, in a fixed number of statements); the
 * others (creations, deletions, merges, a deal first heard of) event by event, after them.
 */
async function applyEvents(scope: Scope, rows: InboxRow[]): Promise<Map<bigint, string>> {
  const byObject = new Map<string, { row: InboxRow; event: HubspotWebhookEvent }[]>();
  for (const row of rows) {
    const event = row.payload as HubspotWebhookEvent;
    const items = byObject.get(String(event.objectId)) ?? [];
    items.push({ row, event });
    byObject.set(String(event.objectId), items);
  }
  const mirrored = await mirroredDeals(scope, [...byObject.keys()]);
  const outcomes = new Map<bigint, string>();
  const batch: { row: InboxRow; event: NormalizedDealEvent }[] = [];
  const oneByOne: { row: InboxRow; event: HubspotWebhookEvent }[] = [];
  for (const [objectId, items] of byObject) {
    const ordered = orderEvents(items);
    if (!mirrored.has(objectId) || !ordered.every((i) => isDeal(i.event) && kindOf(i.event) === 'property')) {
      oneByOne.push(...ordered);
      continue;
    }
    for (const item of ordered) {
      const skipped = await skippedChange(scope, item.event);
      const normalized = skipped ? null : await propertyChange(scope, item.event, baseOf(scope, item.event));
      if (normalized) batch.push({ row: item.row, event: normalized });
      else outcomes.set(item.row.id, skipped ?? 'ignored: unreadable value');
    }
  }
  const results = await recordDealEventsIsolated(
    scope.tx,
    scope.ctx.services,
    batch.map((b) => b.event),
    { log: scope.ctx.log },
  );
  batch.forEach((b, i) => {
    outcomes.set(b.row.id, outcomeText(results[i]!));
  });
  for (const item of oneByOne) {
    outcomes.set(
      item.row.id,
      await outcomeUnlessRefused(scope.tx, () => applyEvent(scope, item.event), scope.ctx.log, {
        tenantId: scope.tenantId,
        inboxId: item.row.id,
      }),
    );
  }
  return outcomes;
}

/** Which of these HubSpot object ids are deals mirrored here. */
async function mirroredDeals(scope: Scope, crmDealIds: string[]): Promise<Set<string>> {
  const rows = await scope.tx
    .selectFrom('deals')
    .select('crm_deal_id')
    .where('tenant_id', '=', scope.tenantId)
    .where('source', '=', 'hubspot')
    .where('crm_deal_id', 'in', crmDealIds)
    .execute();
  return new Set(rows.map((r) => r.crm_deal_id));
}
