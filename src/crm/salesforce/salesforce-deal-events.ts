import type { Tx } from '../../db/database.ts';
import { findDealByCrmId } from '../../deals/deal.repository.ts';
import type { DealChanges, NormalizedDealEvent } from '../../deals/deal-event.ts';
import { recordDealEvent } from '../../deals/deal-events.ts';
import type { InboxProcessor, InboxProcessorContext } from '../../inbox/inbox-processors.ts';
import { enqueueJob } from '../../jobs/enqueue.ts';
import type { Services } from '../../services.ts';
import type { CrmConnector, CrmDeal, CrmDealChange } from '../crm-connector.ts';
import { decimalToMinor, toDay } from '../hubspot/hubspot-deal-events.ts';
import { rereadDealsJob } from '../reread-deals.job.ts';
import { findStageMapping, syncStageMappings } from '../stage-mapping.repository.ts';
import type { SalesforceInboxPayload } from './salesforce-change.inbox.ts';
import { changeEventProblem, opportunityChanges } from './salesforce-change-events.ts';

/** The tenant's Salesforce connector on the processor's transaction (SF-APP's salesforceConnector). */
export type ConnectorOn = (tx: Tx, services: Services, tenantId: string) => CrmConnector;

interface Scope {
  tx: Tx;
  tenantId: string;
  ctx: InboxProcessorContext;
  currency: string;
  connector: () => CrmConnector;
}

async function stageOf(scope: Scope, stageId: string) {
  let mapping = await findStageMapping(scope.tx, scope.tenantId, stageId);
  if (!mapping) {
    // A stage added in Salesforce since the install: read the stages again.
    const pipelines = await scope.connector().listPipelines();
    if (pipelines.ok) {
      await syncStageMappings(scope.tx, scope.tenantId, pipelines.value);
      mapping = await findStageMapping(scope.tx, scope.tenantId, stageId);
    }
  }
  const category = mapping ? (mapping.override_category ?? mapping.derived_category) : 'open';
  return { id: stageId, category, ...(mapping ? { label: mapping.stage_label } : {}) };
}

/** The neutral fields of a change (or of a whole deal) as the deals feature's changes. */
async function dealChanges(scope: Scope, fields: CrmDealChange['changes'], dealCurrency: string | null) {
  const changes: DealChanges = {};
  if (fields.name !== undefined) changes.name = fields.name;
  if (fields.stageId) changes.stage = await stageOf(scope, fields.stageId);
  if (fields.closeDate !== undefined) changes.closeDate = toDay(fields.closeDate);
  if (fields.ownerId !== undefined) changes.ownerId = fields.ownerId;
  if (fields.amount !== undefined) {
    const currency = fields.currency ?? dealCurrency ?? scope.currency;
    const amount = fields.amount === null ? 0n : decimalToMinor(fields.amount, currency);
    if (amount !== null) changes.amount = { amount, currency };
  }
  return changes;
}

/** A deal as Salesforce holds it now, recorded as the snapshot a creation makes. */
async function recordSnapshot(scope: Scope, deal: CrmDeal, sourceEventId: string, at: Date) {
  const { amount, currency, name, stageId, closeDate, ownerId } = deal;
  const changes = await dealChanges(scope, { amount, currency, name, stageId, closeDate, ownerId }, null);
  return recordDealEvent(scope.tx, scope.ctx.services, {
    tenantId: scope.tenantId,
    source: 'salesforce',
    sourceEventId,
    crmDealId: deal.id,
    occurredAt: deal.modifiedAt > at ? deal.modifiedAt : at,
    type: 'deal.created',
    changes,
  });
}

/** Reads the opportunity from Salesforce and records it; the outcome when it cannot. */
async function fetchSnapshot(scope: Scope, dealId: string, sourceEventId: string, at: Date) {
  const fetched = await scope.connector().getDeal(dealId);
  if (!fetched.ok) {
    if (fetched.error.kind === 'not_found') return 'ignored: opportunity no longer in Salesforce';
    if (fetched.error.kind === 'not_connected' || fetched.error.kind === 'auth')
      return 'skipped: Salesforce not connected';
    // Rate limited or Salesforce down: the job fails and retries with backoff; nothing is lost.
    throw new Error(`reading opportunity ${dealId} from Salesforce failed: ${fetched.error.kind}`);
  }
  await recordSnapshot(scope, fetched.value, sourceEventId, at);
  return null;
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
      const changes = await dealChanges(scope, change.changes, null);
      outcomes.push(await record({ ...base, type: 'deal.created', changes }));
      return outcomes.join(', ');
    }
    case 'deleted':
      return record({ ...base, type: 'deal.deleted', changes: {} });
    case 'updated': {
      const known = await findDealByCrmId(scope.tx, scope.tenantId, 'salesforce', change.dealId);
      // A currency change re-denominates the amount: the opportunity as it is now says it exactly.
      const currencyOnly = change.changes.currency !== undefined && change.changes.amount === undefined;
      if (!known || currencyOnly) {
        const missing = await fetchSnapshot(
          scope,
          change.dealId,
          `${base.sourceEventId}:snapshot`,
          change.occurredAt,
        );
        if (missing) return missing;
        if (currencyOnly) return 'applied';
      }
      const changes = await dealChanges(scope, change.changes, known?.currency ?? null);
      if (Object.keys(changes).length === 0) return 'ignored: no field we follow changed';
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
 * writes coming back are skipped. A gap or an overflow carries no values: the affected opportunities
 * (or every one modified since the gap) are read again by a job through the shared reconciliation.
 */
export function salesforceInboxProcessorWith(connectorOn: ConnectorOn): InboxProcessor {
  return async (tx, row, ctx) => {
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
    let connector: CrmConnector | undefined;
    const scope: Scope = {
      tx,
      tenantId,
      ctx,
      currency: tenant.currency,
      connector: () => {
        connector ??= connectorOn(tx, ctx.services, tenantId);
        return connector;
      },
    };
    const changes = opportunityChanges(payload.event, ctx.services.config.salesforceCallClient);
    const gaps = changes.filter((c) => c.kind === 'gap' && !c.ownWrite);
    const outcomes: string[] = [];
    for (const change of changes) if (change.kind !== 'gap') outcomes.push(await applyChange(scope, change));
    if (gaps.length > 0) {
      const occurredAt = gaps[0]!.occurredAt.toISOString();
      const everything = gaps.some((g) => g.dealId === '*');
      await enqueueJob(tx, rereadDealsJob, {
        tenantId,
        reason: `inbox ${row.id}`,
        ...(everything ? { since: occurredAt } : { dealIds: gaps.map((g) => g.dealId) }),
      });
      outcomes.push(
        everything
          ? `gap: re-reading deals modified since ${occurredAt}`
          : `gap: re-reading ${gaps.length} deal(s)`,
      );
    }
    return outcomes.length > 0 ? [...new Set(outcomes)].join('; ') : 'ignored: no opportunity change';
  };
}
