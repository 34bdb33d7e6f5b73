import type { Db, Tx } from '../db/database.ts';
import type { NormalizedDealEvent } from '../deals/deal-event.ts';
import { outcomeText, recordDealEventsIsolated } from '../deals/record-deal-events-isolated.ts';
import type { Services } from '../services.ts';
import { decimalToMinor, toDay } from './crm-amount.ts';
import type { CrmConnector, CrmDeal, CrmKind, CrmResult, ModifiedDealsPage } from './crm-connector.ts';
import { crmConnectorFor } from './crm-vendors.ts';
import { listStageMappings, syncStageMappings } from './stage-mapping.repository.ts';
import type { StageCategory } from './stage-mapping.table.ts';

/** Search is eventually consistent: each incremental run re-reads a little before its cursor. */
export const RECONCILE_OVERLAP_MS = 5 * 60_000;

export interface ReconcileReport {
  deals: number;
  outcomes: Record<string, number>;
  /** CRM calls made, and how many were held back (HubSpot 429, Salesforce's allowance). */
  calls: number;
  rateLimited: number;
  /** The newest last-modified instant seen (the next incremental cursor). */
  newestModifiedAt: Date | null;
}

export type ProgressListener = (progress: { done: number; total: number | null }) => void;

class StageCategories {
  private map: Map<string, { category: StageCategory; label: string }> | undefined;
  private refreshed = false;

  constructor(
    private readonly db: Db,
    private readonly tenantId: string,
    private readonly connector: CrmConnector,
  ) {}

  private async load() {
    const rows = await listStageMappings(this.db, this.tenantId);
    this.map = new Map(
      rows.map((row) => [
        row.stage_id,
        { category: row.override_category ?? row.derived_category, label: row.stage_label },
      ]),
    );
  }

  async of(stageId: string): Promise<{ id: string; category: StageCategory; label?: string }> {
    if (!this.map) await this.load();
    if (!this.map!.has(stageId) && !this.refreshed) {
      // A stage added in the CRM since the install: read the pipelines again, once per run.
      this.refreshed = true;
      const pipelines = await this.connector.listPipelines();
      if (pipelines.ok) {
        await syncStageMappings(this.db, this.tenantId, pipelines.value);
        await this.load();
      }
    }
    const known = this.map!.get(stageId);
    return known ? { id: stageId, ...known } : { id: stageId, category: 'open' };
  }
}

/**
 * A deal as the CRM holds it now, as the same normalized event a webhook- or change-event-fetched
 * deal makes: a snapshot at its last-modified instant. The source event id is the deal and that
 * instant, so reading an unchanged deal again records nothing.
 */
async function snapshotEvent(
  source: CrmKind,
  tenantId: string,
  deal: CrmDeal,
  currency: string,
  stages: StageCategories,
): Promise<NormalizedDealEvent> {
  const dealCurrency = deal.currency ?? currency;
  const amount = deal.amount === null ? null : decimalToMinor(deal.amount, dealCurrency);
  return {
    tenantId,
    source,
    sourceEventId: `reconcile:${deal.id}:${deal.modifiedAt.getTime()}`,
    crmDealId: deal.id,
    occurredAt: deal.modifiedAt,
    type: 'deal.created',
    changes: {
      name: deal.name,
      pipeline: deal.pipelineId,
      closeDate: toDay(deal.closeDate),
      ownerId: deal.ownerId,
      ...(deal.stageId ? { stage: await stages.of(deal.stageId) } : {}),
      ...(amount !== null ? { amount: { amount, currency: dealCurrency } } : {}),
    },
  };
}

/** The deals of this page we already mirror (before the page is recorded). */
async function knownDeals(tx: Tx, source: CrmKind, tenantId: string, deals: CrmDeal[]): Promise<Set<string>> {
  if (deals.length === 0) return new Set();
  const rows = await tx
    .selectFrom('deals')
    .select('crm_deal_id')
    .where('tenant_id', '=', tenantId)
    .where('source', '=', source)
    .where(
      'crm_deal_id',
      'in',
      deals.map((d) => d.id),
    )
    .execute();
  return new Set(rows.map((r) => r.crm_deal_id));
}

/**
 * Partner notifications: a backfill records history and tells no one. Reconciliation tells partners
 * of a change webhooks missed on a deal we already follow; a deal it sees for the first time is
 * history to us, like a backfilled one.
 */
type WalkMode = 'backfill' | 'reconcile';

async function walk(
  db: Db,
  services: Services,
  tenantId: string,
  mode: WalkMode,
  nextPage: (
    connector: CrmConnector,
    report: ReconcileReport,
  ) => Promise<CrmResult<ModifiedDealsPage> | null>,
  onProgress?: ProgressListener,
): Promise<CrmResult<ReconcileReport>> {
  const tenant = await db
    .selectFrom('tenants')
    .select(['currency'])
    .where('id', '=', tenantId)
    .executeTakeFirst();
  const connector = tenant ? await crmConnectorFor(db, services, tenantId, { priority: 'background' }) : null;
  if (!tenant || !connector)
    return { ok: false, error: { kind: 'not_connected', message: `no CRM tenant ${tenantId}` } };
  const stages = new StageCategories(db, tenantId, connector);
  const report: ReconcileReport = {
    deals: 0,
    outcomes: {},
    calls: 0,
    rateLimited: 0,
    newestModifiedAt: null,
  };
  let total: number | null = null;
  const finish = () => {
    report.calls = connector.stats.calls;
    report.rateLimited = connector.stats.rateLimited;
  };
  for (;;) {
    const page = await nextPage(connector, report);
    if (page === null) break;
    if (!page.ok) {
      finish();
      return page;
    }
    total = page.value.total ?? total;
    const events: NormalizedDealEvent[] = [];
    for (const deal of page.value.deals)
      events.push(await snapshotEvent(connector.kind, tenantId, deal, tenant.currency, stages));
    // One transaction per page: a crash loses at most a page, which the next run reads again.
    await db.transaction().execute(async (tx) => {
      const known = await knownDeals(tx, connector.kind, tenantId, page.value.deals);
      // Isolated: a deal the engine refuses is reported with its reason, and the walk goes on.
      const results = await recordDealEventsIsolated(tx, services, events, {
        notify: (event) => mode === 'reconcile' && known.has(event.crmDealId),
      });
      for (const outcome of results.map(outcomeText))
        report.outcomes[outcome] = (report.outcomes[outcome] ?? 0) + 1;
    });
    for (const deal of page.value.deals) {
      if (!report.newestModifiedAt || deal.modifiedAt > report.newestModifiedAt)
        report.newestModifiedAt = deal.modifiedAt;
    }
    report.deals += page.value.deals.length;
    onProgress?.({ done: report.deals, total });
    if (page.value.after === null) break;
  }
  finish();
  return { ok: true, value: report };
}

/** Every deal of the CRM account (HubSpot's list API, Salesforce by Id), recorded as snapshots. */
export function backfillDeals(db: Db, services: Services, tenantId: string, onProgress?: ProgressListener) {
  let after: string | null = null;
  let done = false;
  return walk(
    db,
    services,
    tenantId,
    'backfill',
    async (connector) => {
      if (done) return null;
      const page = await connector.listDeals(after);
      if (page.ok) {
        after = page.value.after;
        done = after === null;
      }
      return page;
    },
    onProgress,
  );
}

/**
 * Deals modified at or after `since`, oldest first (HubSpot's search API, Salesforce's
 * SystemModstamp). Past a CRM's search result cap the query starts again from the newest instant read.
 */
export function reconcileDealsSince(db: Db, services: Services, tenantId: string, since: Date) {
  let from = since;
  let after: string | null = null;
  let done = false;
  const limit = 200;
  return walk(db, services, tenantId, 'reconcile', async (connector, report) => {
    if (done) return null;
    const page = await connector.listDealsModifiedSince(from, after, limit);
    if (!page.ok) return page;
    after = page.value.after;
    if (after === null) done = true;
    else if (connector.searchResultCap !== null && Number(after) + limit > connector.searchResultCap) {
      const newest = page.value.deals.at(-1)?.modifiedAt ?? report.newestModifiedAt;
      // More deals than the cap modified in one millisecond cannot be paged: stop rather than loop.
      if (!newest || newest.getTime() <= from.getTime()) done = true;
      else {
        from = newest;
        after = null;
      }
    }
    return { ok: true, value: { ...page.value, after: done ? null : 'more' } };
  });
}

/**
 * The given deals as the CRM holds them now (a change notification that carried no values: a
 * Salesforce gap event), recorded as snapshots like any reconciliation.
 */
export function reconcileDealIds(db: Db, services: Services, tenantId: string, dealIds: string[]) {
  let done = false;
  return walk(db, services, tenantId, 'reconcile', async (connector) => {
    if (done) return null;
    done = true;
    const deals = await connector.getDeals(dealIds);
    return deals.ok
      ? { ok: true, value: { deals: deals.value, after: null, total: deals.value.length } }
      : deals;
  });
}
