import type { DealSource, StageCategory } from './deal.table.ts';

/**
 * A change of a deal as every source reports it once normalized: the HubSpot and Salesforce
 * connectors build these from their notifications, `POST /api/v1/deal-events` accepts them as JSON.
 * Only the fields present in `changes` changed. Events arrive twice and out of order: recording one
 * (recordDealEvent in deal-events.ts) dedupes on (source, sourceEventId) and applies each field only
 * if the event is newer than what that field already reflects.
 */
export interface NormalizedDealEvent {
  tenantId: string;
  source: DealSource;
  /** Unique within the source (HubSpot eventId, Salesforce replay id / change key, API caller's id). */
  sourceEventId: string;
  crmDealId: string;
  occurredAt: Date;
  type: DealEventType;
  changes: DealChanges;
  /** For `revenue.recorded`: recurring revenue of the deal's customer. */
  revenue?: RecordedRevenue;
}

export type DealEventType =
  | 'deal.created'
  | 'deal.stage_changed'
  | 'deal.amount_changed'
  | 'deal.updated'
  | 'deal.deleted'
  | 'deal.restored'
  | 'deal.merged'
  | 'revenue.recorded';

export interface DealChanges {
  stage?: { id: string; category: StageCategory; label?: string };
  /** Minor units of `currency`. */
  amount?: { amount: bigint; currency: string };
  closeDate?: string | null;
  ownerId?: string | null;
  pipeline?: string | null;
  name?: string | null;
  /** CRM property values rules may test; null removes one. */
  properties?: Record<string, string | null>;
  /** For `deal.merged`: the deal this one was merged into. */
  mergedInto?: string;
}

export interface RecordedRevenue {
  /** Unique per deal: a second event with the same id is the same revenue. */
  revenueId: string;
  amount: bigint;
  currency: string;
  /** The calendar month it is revenue for, 'YYYY-MM' (tenant time zone). */
  month: string;
}
