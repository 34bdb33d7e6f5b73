import type { Tx } from '../../db/database.ts';
import { findDealByCrmId } from '../../deals/deal.repository.ts';
import type { DealChanges, NormalizedDealEvent } from '../../deals/deal-event.ts';
import { recordDealEvent } from '../../deals/deal-events.ts';
import type { InboxProcessor, InboxProcessorContext } from '../../inbox/inbox-processors.ts';
import { enqueueJob } from '../../jobs/enqueue.ts';
import { decimalToMinor, toDay } from '../crm-amount.ts';
import type { CrmDealChange } from '../crm-connector.ts';
import { rereadDealsJob } from '../reread-deals.job.ts';
import { findStageMapping } from '../stage-mapping.repository.ts';
import type { SalesforceInboxPayload } from './salesforce-change.inbox.ts';
import { changeEventProblem, opportunityChanges } from './salesforce-change-events.ts';

interface Scope {
  tx: Tx;
  tenantId: string;
  ctx: InboxProcessorContext;
  currency: string;
  /** Deals to read again from Salesforce, after this transaction (a job). */
  reread: Set<string>;
}

/** The stage as the tenant's stage mapping reads it; undefined for a stage the mapping does not know yet. */
async function stageOf(scope: Scope, stageId: string) {
  const mapping = await findStageMapping(scope.tx, scope.tenantId, stageId);
  if (!mapping) return undefined;
  return {
    id: stageId,
    category: mapping.override_category ?? mapping.derived_category,
    label: mapping.stage_label,
  };
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

async function applyChange(scope: Scope, change: CrmDealChange): Promise<string> {
  if (change.ownWrite) return 'skipped: own write';
  const base = {
    tenantId: scope.tenantId,
    source: 'salesforce' as const,
    sourceEventId: change.sourceEventId,
    crmDealId: change.dealId,
    occurredAt: change.occurredAt,
  };
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
      const type = changes.stage
        ? 'deal.stage_changed'
        : changes.amount
          ? 'deal.amount_changed'
          : 'deal.updated';
      return record({ ...base, type, changes });
    }
    default:
      return `ignored: ${change.kind}`;
  }
}

/**
 * The `salesforce` inbox processor: one stored change event → its deal changes → normalized deal
 * events through recordDealEvent, as HubSpot's webhooks (dedupe on the source event id, the latest
 * commit timestamp per field wins, commissions settle, partners hear of stage changes). Our own
 * writes coming back are skipped. It calls Salesforce for nothing inside its transaction: what it
 * cannot apply from the event alone (a gap or overflow, a deal seen first through an update, a stage
 * not mapped yet) is read again by a job through the shared reconciliation.
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
  const scope: Scope = { tx, tenantId, ctx, currency: tenant.currency, reread: new Set() };
  const changes = opportunityChanges(payload.event, ctx.services.config.salesforceCallClient);
  const outcomes: string[] = [];
  let since: Date | undefined;
  for (const change of changes) {
    if (change.kind !== 'gap') outcomes.push(await applyChange(scope, change));
    else if (change.ownWrite) outcomes.push('skipped: own write');
    else if (change.dealId === '*') since = change.occurredAt;
    else scope.reread.add(change.dealId);
  }
  if (since || scope.reread.size > 0) {
    await enqueueJob(tx, rereadDealsJob, {
      tenantId,
      reason: `inbox:${row.id}`,
      ...(since ? { since: since.toISOString() } : { dealIds: [...scope.reread] }),
    });
    outcomes.push(
      since
        ? `re-reading deals modified since ${since.toISOString()}`
        : `re-reading ${scope.reread.size} deal(s)`,
    );
  }
  return outcomes.length > 0 ? [...new Set(outcomes)].join('; ') : 'ignored: no opportunity change';
};
