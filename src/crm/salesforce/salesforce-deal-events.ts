import type { Tx } from '../../db/database.ts';
import { findDealByCrmId } from '../../deals/deal.repository.ts';
import type { DealChanges, NormalizedDealEvent } from '../../deals/deal-event.ts';
import { recordDealEvent } from '../../deals/deal-events.ts';
import {
  outcomeText,
  outcomeUnlessRefused,
  recordDealEventsIsolated,
} from '../../deals/record-deal-events-isolated.ts';
import { lockPendingEvents, markProcessedWith } from '../../inbox/inbox.repository.ts';
import type { InboxRow } from '../../inbox/inbox.table.ts';
import type { InboxProcessor, InboxProcessorContext } from '../../inbox/inbox-processors.ts';
import { enqueueJob } from '../../jobs/enqueue.ts';
import { decimalToMinor, toDay } from '../crm-amount.ts';
import type { CrmDealChange } from '../crm-connector.ts';
import { rereadDealsJob } from '../reread-deals.job.ts';
import { findStageMapping } from '../stage-mapping.repository.ts';
import type { StageCategory } from '../stage-mapping.table.ts';
import type { SalesforceInboxPayload } from './salesforce-change.inbox.ts';
import { changeEventProblem, opportunityChanges } from './salesforce-change-events.ts';

interface Scope {
  tx: Tx;
  tenantId: string;
  ctx: InboxProcessorContext;
  currency: string;
  /** Deals to read again from Salesforce, after this transaction (a job). */
  reread: Set<string>;
  /** Stages already read from the mapping in this job (shared by the scopes of one job). */
  stages: Map<string, Promise<NormalizedStage | undefined>>;
}

type NormalizedStage = { id: string; category: StageCategory; label: string };

/** The stage as the tenant's stage mapping reads it; undefined for a stage the mapping does not know yet. */
function stageOf(scope: Scope, stageId: string): Promise<NormalizedStage | undefined> {
  let stage = scope.stages.get(stageId);
  if (!stage) {
    stage = findStageMapping(scope.tx, scope.tenantId, stageId).then((mapping) =>
      mapping
        ? {
            id: stageId,
            category: mapping.override_category ?? mapping.derived_category,
            label: mapping.stage_label,
          }
        : undefined,
    );
    scope.stages.set(stageId, stage);
  }
  return stage;
}

/**
 * The neutral fields of a change as the deals feature's changes. A stage the mapping does not know
 * (added in Salesforce since the install) is left out and the deal read again: the re-read syncs the
 * stages first, so its snapshot carries the stage with its category.
 */
async function dealChanges(
  scope: Scope,
  dealId: string,
  fields: CrmDealChange['changes'],
  dealCurrency: string | null,
) {
  const changes: DealChanges = {};
  if (fields.name !== undefined) changes.name = fields.name;
  if (fields.stageId) {
    const stage = await stageOf(scope, fields.stageId);
    if (stage) changes.stage = stage;
    else scope.reread.add(dealId);
  }
  if (fields.closeDate !== undefined) changes.closeDate = toDay(fields.closeDate);
  if (fields.ownerId !== undefined) changes.ownerId = fields.ownerId;
  if (fields.amount !== undefined) {
    const currency = fields.currency ?? dealCurrency ?? scope.currency;
    const amount = fields.amount === null ? 0n : decimalToMinor(fields.amount, currency);
    if (amount !== null) changes.amount = { amount, currency };
  }
  return changes;
}

function baseOf(scope: Scope, change: CrmDealChange) {
  return {
    tenantId: scope.tenantId,
    source: 'salesforce' as const,
    sourceEventId: change.sourceEventId,
    crmDealId: change.dealId,
    occurredAt: change.occurredAt,
  };
}

/** An update's deal event, typed by what it changes. */
function updateEvent(base: ReturnType<typeof baseOf>, changes: DealChanges): NormalizedDealEvent {
  const type = changes.stage ? 'deal.stage_changed' : changes.amount ? 'deal.amount_changed' : 'deal.updated';
  return { ...base, type, changes };
}

async function applyChange(scope: Scope, change: CrmDealChange): Promise<string> {
  if (change.ownWrite) return 'skipped: own write';
  const base = baseOf(scope, change);
  const record = async (event: NormalizedDealEvent) =>
    (await recordDealEvent(scope.tx, scope.ctx.services, event)).outcome;

  switch (change.kind) {
    case 'created':
    case 'restored': {
      const outcomes: string[] = [];
      if (change.kind === 'restored')
        outcomes.push(
          await record({
            ...base,
            sourceEventId: `${base.sourceEventId}:restore`,
            type: 'deal.restored',
            changes: {},
          }),
        );
      // CREATE and UNDELETE bodies carry every non-null field: the event is the snapshot.
      const changes = await dealChanges(scope, change.dealId, change.changes, null);
      outcomes.push(await record({ ...base, type: 'deal.created', changes }));
      return outcomes.join(', ');
    }
    case 'deleted':
      return record({ ...base, type: 'deal.deleted', changes: {} });
    case 'updated': {
      const known = await findDealByCrmId(scope.tx, scope.tenantId, 'salesforce', change.dealId);
      // First news of this deal is a change (or a currency change re-denominates its amount): the
      // change is recorded and the opportunity read again, as it is now, after this transaction.
      if (!known || (change.changes.currency !== undefined && change.changes.amount === undefined))
        scope.reread.add(change.dealId);
      const changes = await dealChanges(scope, change.dealId, change.changes, known?.currency ?? null);
      if (Object.keys(changes).length === 0)
        return scope.reread.has(change.dealId)
          ? 'deferred: re-reading the opportunity'
          : 'ignored: no field we follow changed';
      return record(updateEvent(base, changes));
    }
    default:
      return `ignored: ${change.kind}`;
  }
}

/** Change events one job records at most: its own and the tenant's oldest other pending ones. */
const JOB_EVENTS_MAX = 100;

/**
 * The `salesforce` inbox processor: stored change events → their deal changes → normalized deal
 * events, as HubSpot's webhooks (dedupe on the source event id, the latest commit timestamp per
 * field wins, commissions settle, partners hear of stage changes). Our own writes coming back are
 * skipped. It calls Salesforce for nothing inside its transaction: what it cannot apply from the
 * event alone (a gap or overflow, a deal seen first through an update, a stage not mapped yet) is
 * read again by a job through the shared reconciliation.
 *
 * A job takes, with its own event, up to JOB_EVENTS_MAX − 1 of the tenant's other pending change
 * events (oldest first, skipping those another job holds) and records the updates of deals mirrored
 * here in one batch (recordDealEvents); the other changes (creations, deletions, a deal seen first,
 * an unmapped stage, and every change of a deal that has one of those in the job) one by one, after
 * them, in event order. Each event keeps its own outcome and its own re-read job.
 */
export const salesforceInboxProcessor: InboxProcessor = async (tx, row, ctx) => {
  const payload = row.payload as Partial<SalesforceInboxPayload>;
  const problem = changeEventProblem(payload?.event);
  if (problem) return `invalid: ${problem}`;
  if (!row.tenant_id) return 'ignored: no tenant';
  const tenantId = row.tenant_id;
  const tenant = await tx
    .selectFrom('tenants')
    .select(['status', 'currency'])
    .where('id', '=', tenantId)
    .executeTakeFirst();
  // Kept in the inbox as received: after a reinstall, reconciliation brings the deals up to date.
  if (tenant?.status !== 'active') return 'skipped: tenant not connected';
  const others = await lockPendingEvents(tx, 'salesforce', tenantId, {
    exclude: [row.id],
    limit: JOB_EVENTS_MAX - 1,
  });
  const stages: Scope['stages'] = new Map();
  const scopeOf = (): Scope => ({ tx, tenantId, ctx, currency: tenant.currency, reread: new Set(), stages });
  // In arrival order: a deal's changes are applied in the order Salesforce made them.
  const outcomes = await applyEvents(
    scopeOf,
    [row, ...others].sort((a, b) => (a.id < b.id ? -1 : 1)),
  );
  // The job's own row is marked by the job; the others here, each with its outcome.
  await markProcessedWith(
    tx,
    row.id,
    others.map((r) => ({ id: r.id, outcome: outcomes.get(r.id)! })),
  );
  return outcomes.get(row.id);
};

/** The change events' outcomes by inbox id (see salesforceInboxProcessor). */
async function applyEvents(scopeOf: () => Scope, rows: InboxRow[]): Promise<Map<bigint, string>> {
  const events = rows.map((row) => {
    const payload = row.payload as Partial<SalesforceInboxPayload>;
    const problem = changeEventProblem(payload?.event);
    const scope = scopeOf();
    return {
      row,
      problem,
      scope,
      changes: problem
        ? []
        : opportunityChanges(payload.event, scope.ctx.services.config.salesforceCallClient),
      outcomes: [] as string[],
    };
  });
  const { tx, tenantId } = events[0]!.scope;
  const updatedIds = events.flatMap((e) =>
    e.changes.filter((c) => c.kind === 'updated' && !c.ownWrite).map((c) => c.dealId),
  );
  const mirrored = new Map(
    (updatedIds.length === 0
      ? []
      : await tx
          .selectFrom('deals')
          .select(['crm_deal_id', 'currency'])
          .where('tenant_id', '=', tenantId)
          .where('source', '=', 'salesforce')
          .where('crm_deal_id', 'in', [...new Set(updatedIds)])
          .execute()
    ).map((d) => [d.crm_deal_id, d.currency]),
  );
  // An update goes in the batch when it needs nothing else: a mirrored deal, a mapped stage, an
  // amount in a known currency. A deal with any other change in the job keeps all its changes in order.
  const together = new Set<CrmDealChange>();
  const apart = new Set<string>();
  for (const { changes, scope } of events) {
    for (const change of changes) {
      if (change.ownWrite || change.kind === 'gap') continue;
      const fits =
        change.kind === 'updated' &&
        mirrored.has(change.dealId) &&
        !(change.changes.currency !== undefined && change.changes.amount === undefined) &&
        (!change.changes.stageId || (await stageOf(scope, change.changes.stageId)) !== undefined);
      if (fits) together.add(change);
      else apart.add(change.dealId);
    }
  }
  const batch: { slot: { outcomes: string[]; at: number }; event: NormalizedDealEvent }[] = [];
  const oneByOne: { slot: { outcomes: string[]; at: number }; scope: Scope; change: CrmDealChange }[] = [];
  const since = new Map<bigint, Date>();
  for (const e of events) {
    for (const change of e.changes) {
      if (change.kind === 'gap') {
        if (change.ownWrite) e.outcomes.push('skipped: own write');
        else if (change.dealId === '*') since.set(e.row.id, change.occurredAt);
        else e.scope.reread.add(change.dealId);
        continue;
      }
      const slot = { outcomes: e.outcomes, at: e.outcomes.push('') - 1 };
      if (!together.has(change) || apart.has(change.dealId)) {
        oneByOne.push({ slot, scope: e.scope, change });
        continue;
      }
      const changes = await dealChanges(
        e.scope,
        change.dealId,
        change.changes,
        mirrored.get(change.dealId) ?? null,
      );
      if (Object.keys(changes).length === 0) slot.outcomes[slot.at] = 'ignored: no field we follow changed';
      else batch.push({ slot, event: updateEvent(baseOf(e.scope, change), changes) });
    }
  }
  const { ctx } = events[0]!.scope;
  const results = await recordDealEventsIsolated(
    tx,
    ctx.services,
    batch.map((b) => b.event),
    { log: ctx.log },
  );
  batch.forEach(({ slot }, i) => {
    slot.outcomes[slot.at] = outcomeText(results[i]!);
  });
  for (const { slot, scope, change } of oneByOne) {
    slot.outcomes[slot.at] = await outcomeUnlessRefused(tx, () => applyChange(scope, change), ctx.log, {
      tenantId,
      crmDealId: change.dealId,
    });
  }

  const outcomes = new Map<bigint, string>();
  for (const e of events) {
    if (e.problem) {
      outcomes.set(e.row.id, `invalid: ${e.problem}`);
      continue;
    }
    const from = since.get(e.row.id);
    if (from || e.scope.reread.size > 0) {
      await enqueueJob(tx, rereadDealsJob, {
        tenantId,
        reason: `inbox:${e.row.id}`,
        ...(from ? { since: from.toISOString() } : { dealIds: [...e.scope.reread] }),
      });
      e.outcomes.push(
        from
          ? `re-reading deals modified since ${from.toISOString()}`
          : `re-reading ${e.scope.reread.size} deal(s)`,
      );
    }
    outcomes.set(
      e.row.id,
      e.outcomes.length > 0 ? [...new Set(e.outcomes)].join('; ') : 'ignored: no opportunity change',
    );
  }
  return outcomes;
}
