import { salesforceConnection } from '../../../src/crm/salesforce/salesforce-session.ts';
import { SalesforceStreamManager } from '../../../src/crm/salesforce/salesforce-stream-manager.ts';
import { syncStageMappings } from '../../../src/crm/stage-mapping.repository.ts';
import { waitFor } from '../../helpers/wait-for.ts';
import type { LocalSalesforce } from '../../salesforce/local-salesforce.ts';
import { openSalesforceWorld, type SalesforceTenant, type SalesforceWorld } from './salesforce-world.ts';

/**
 * The Salesforce world with the job workers and relay running, tenants whose stage mapping is read
 * from their org (as the install does), and stream managers that look at tenants every 100 ms.
 */
export interface ChangeStreamWorld extends SalesforceWorld {
  streamingTenant(org?: LocalSalesforce): Promise<SalesforceTenant>;
  /** A stream manager as a worker process runs it (started; stopped by the world's close). */
  startStreams(owner?: string): SalesforceStreamManager;
  /** Waits until every stored change event has been processed. */
  drained(): Promise<void>;
  /** The deal mirror's row of an opportunity. */
  deal(
    crmDealId: string,
  ): Promise<
    | { stage: string | null; stage_category: string; amount: bigint | null; deleted_at: Date | null }
    | undefined
  >;
  /** The normalized deal events recorded for an opportunity, oldest first. */
  dealEvents(crmDealId: string): Promise<{ type: string; source_event_id: string; outcome: string | null }[]>;
}

export async function openChangeStreamWorld(
  options: Parameters<typeof openSalesforceWorld>[0] = {},
): Promise<ChangeStreamWorld> {
  const world = await openSalesforceWorld(options);
  const { runtime } = world;
  await runtime.queue.startWorkers(runtime.registry.queues());
  runtime.relay.start();
  const managers: SalesforceStreamManager[] = [];
  const close = world.close;
  return Object.assign(world, {
    async streamingTenant(org?: LocalSalesforce) {
      const tenant = await world.connectTenant(org);
      const pipelines = await tenant.connector.listPipelines();
      if (!pipelines.ok) throw new Error(`stages not readable: ${pipelines.error.message}`);
      await syncStageMappings(runtime.db, tenant.tenant.id, pipelines.value);
      return tenant;
    },
    startStreams(owner?: string) {
      const manager = new SalesforceStreamManager({
        db: runtime.db,
        services: runtime.services,
        log: runtime.logger,
        connect: (tenantId) => salesforceConnection(runtime.db, runtime.services, tenantId),
        scanMs: 100,
        leaseMs: 3_000,
        retryMs: 200,
        ...(owner ? { owner } : {}),
      });
      managers.push(manager);
      manager.start();
      return manager;
    },
    async drained() {
      await waitFor(
        'the stored change events processed',
        async () => {
          const open = await runtime.db
            .selectFrom('inbox')
            .select('id')
            .where('processed_at', 'is', null)
            .executeTakeFirst();
          return !open;
        },
        { timeoutMs: 30_000 },
      );
    },
    deal(crmDealId: string) {
      return runtime.db
        .selectFrom('deals')
        .select(['stage', 'stage_category', 'amount', 'deleted_at'])
        .where('source', '=', 'salesforce')
        .where('crm_deal_id', '=', crmDealId)
        .executeTakeFirst();
    },
    async dealEvents(crmDealId: string) {
      return runtime.db
        .selectFrom('deal_events')
        .innerJoin('deals', 'deals.id', 'deal_events.deal_id')
        .select(['deal_events.type', 'deal_events.source_event_id', 'deal_events.outcome'])
        .where('deals.source', '=', 'salesforce')
        .where('deals.crm_deal_id', '=', crmDealId)
        .orderBy('deal_events.occurred_at')
        .orderBy('deal_events.received_at')
        .execute();
    },
    async close() {
      for (const manager of managers) await manager.stop();
      await close();
    },
  });
}

/** An opportunity a sales rep creates in Salesforce (not through our app). */
export function userOpportunity(org: LocalSalesforce, fields: Record<string, unknown> = {}): string {
  return org.userInsert('Opportunity', {
    Name: `Deal ${Math.random().toString(36).slice(2, 8)}`,
    StageName: 'Prospecting',
    CloseDate: '2027-03-31',
    Amount: 10_000,
    ...fields,
  });
}
