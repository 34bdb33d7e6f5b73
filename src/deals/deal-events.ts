import { sql } from 'kysely';
import { settleDeal } from '../commissions/settle-deal.ts';
import type { Tx } from '../db/database.ts';
import { withoutNul } from '../db/nul-characters.ts';
import { type NewDomainEvent, publishEvents } from '../events/publish-event.ts';
import type { Services } from '../services.ts';
import { lockOrCreateDeal } from './deal.repository.ts';
import type { DealRow } from './deal.table.ts';
import type { NormalizedDealEvent } from './deal-event.ts';

export type RecordOutcome = 'applied' | 'duplicate' | 'stale' | 'unknown_deal';

export interface RecordResult {
  outcome: RecordOutcome;
  deal: DealRow | null;
  /** Ids of the commission lines this event posted (accruals and clawbacks). */
  lineIds?: string[];
}

export interface RecordOptions {
  /**
   * Publish `deal.stage_changed` / `deal.won` (partner emails) when the stage changes; default true.
   * A backfill recording a CRM's history passes false: partners hear about changes as they happen,
   * not about years-old deals, and the ledger settles all the same.
   */
  notify?: boolean;
}

/** A removal (deleted, merged away): of a deal never seen, it creates nothing (`unknown_deal`). */
export const isRemoval = (event: NormalizedDealEvent): boolean =>
  event.type === 'deal.deleted' || event.type === 'deal.merged';

/** The payload as stored: bigints as strings, dates as ISO. */
export function payloadOf(event: NormalizedDealEvent): string {
  return JSON.stringify(event, (_k, v) => (typeof v === 'bigint' ? v.toString() : v));
}

/**
 * The event's deal, locked FOR UPDATE, and the event stored (deduplicated on its source id; `stored`
 * is undefined for a duplicate). A known deal takes one statement; a deal seen for the first time is
 * created (not for a removal: undefined) and the event stored after it.
 */
async function lockDealAndStoreEvent(
  tx: Tx,
  event: NormalizedDealEvent,
): Promise<{ deal: DealRow; stored: { id: string } | undefined } | undefined> {
  const { tenantId, source, crmDealId } = event;
  // The usual outcome is stored at once, so the usual path needs no second write; the others overwrite it.
  const { rows } = await sql<DealRow & { stored_event_id: string | null }>`
    with d as (
      select * from deals
      where tenant_id = ${tenantId} and source = ${source} and crm_deal_id = ${crmDealId}
      for update
    ),
    e as (
      insert into deal_events (tenant_id, deal_id, source, source_event_id, type, occurred_at, payload, outcome)
      select d.tenant_id, d.id, ${source}, ${event.sourceEventId}, ${event.type}, ${event.occurredAt}::timestamptz,
        ${payloadOf(event)}::jsonb, 'applied'
      from d
      on conflict (tenant_id, source, source_event_id) do nothing
      returning id
    )
    select d.*, (select id from e) as stored_event_id from d`.execute(tx);
  if (rows[0]) {
    const { stored_event_id: storedId, ...deal } = rows[0];
    return { deal, stored: storedId ? { id: storedId } : undefined };
  }
  const deal = await lockOrCreateDeal(tx, tenantId, source, crmDealId, !isRemoval(event));
  if (!deal) return undefined;
  const stored = await tx
    .insertInto('deal_events')
    .values({
      tenant_id: tenantId,
      deal_id: deal.id,
      source,
      source_event_id: event.sourceEventId,
      type: event.type,
      occurred_at: event.occurredAt,
      payload: payloadOf(event),
      outcome: 'applied',
    })
    .onConflict((oc) => oc.columns(['tenant_id', 'source', 'source_event_id']).doNothing())
    .returning('id')
    .executeTakeFirst();
  return { deal, stored };
}

/**
 * Records one normalized deal event and settles the deal's commissions. Dedupes on (source,
 * sourceEventId); creates the deal on first sight; applies each changed field only when the event
 * is newer than what that field reflects (`field_times`), so the latest occurredAt decides whatever
 * the arrival order; bumps the version; then posts the difference between what the deal's latest
 * state owes and what the ledger holds. Safe to call twice and out of order.
 */
export async function recordDealEvent(
  tx: Tx,
  services: Services,
  received: NormalizedDealEvent,
  options: RecordOptions = {},
): Promise<RecordResult> {
  // A CRM's text may hold a NUL character, which PostgreSQL cannot store (the API refuses it).
  const event = withoutNul(received);
  const locked = await lockDealAndStoreEvent(tx, event);
  if (!locked) return { outcome: 'unknown_deal', deal: null };
  const { deal, stored } = locked;
  if (!stored) return { outcome: 'duplicate', deal };
  const setOutcome = (outcome: string) =>
    tx
      .updateTable('deal_events')
      .set({ outcome })
      .where('tenant_id', '=', event.tenantId)
      .where('id', '=', stored.id)
      .execute();

  if (event.type === 'revenue.recorded') {
    if (!event.revenue) {
      await setOutcome('stale: no revenue');
      return { outcome: 'stale', deal };
    }
    const revenue = await tx
      .insertInto('deal_revenues')
      .values({
        tenant_id: event.tenantId,
        deal_id: deal.id,
        revenue_id: event.revenue.revenueId,
        amount: event.revenue.amount,
        currency: event.revenue.currency,
        month: event.revenue.month,
        occurred_at: event.occurredAt,
      })
      .onConflict((oc) => oc.columns(['tenant_id', 'deal_id', 'revenue_id']).doNothing())
      .returning('id')
      .executeTakeFirst();
    await setOutcome(revenue ? 'applied' : 'duplicate revenue');
    return { outcome: revenue ? 'applied' : 'duplicate', deal };
  }

  const { patch, fieldTimes, applied } = changesOf(deal, event);
  if (applied.length === 0) {
    await setOutcome('stale');
    return { outcome: 'stale', deal };
  }
  const lastEventAt =
    deal.last_event_at && deal.last_event_at.getTime() > event.occurredAt.getTime()
      ? deal.last_event_at
      : event.occurredAt;
  const updated = await tx
    .updateTable('deals')
    .set((eb) => ({
      ...patch,
      field_times: JSON.stringify(fieldTimes),
      last_event_at: lastEventAt,
      version: eb('version', '+', 1n),
      updated_at: services.clock.now(),
    }))
    .where('tenant_id', '=', deal.tenant_id)
    .where('id', '=', deal.id)
    .returningAll()
    .executeTakeFirstOrThrow();

  const settled = await settleDeal(tx, services, updated, {
    version: BigInt(updated.version),
    occurredAt: event.occurredAt,
    dealEventId: stored.id,
    reason: `${event.type} ${event.sourceEventId}`,
  });
  if (settled.problems.length > 0) await setOutcome(`applied: ${[...new Set(settled.problems)].join('; ')}`);
  if (options.notify !== false && applied.includes('stage') && updated.stage !== deal.stage) {
    await announce(tx, event, deal, updated, settled.owed, settled.partnerIds);
  }
  return {
    outcome: 'applied',
    deal: updated,
    lineIds: [...settled.reversed, ...settled.accrued].map((l) => l.id),
  };
}

/** The fields this event changes, each only if it is newer than that field's last change. */
export function changesOf(deal: DealRow, event: NormalizedDealEvent) {
  const fieldTimes: Record<string, string> = { ...(deal.field_times ?? {}) };
  const patch: Record<string, unknown> = {};
  const applied: string[] = [];
  const at = event.occurredAt.toISOString();
  const newer = (field: string) => {
    const last = fieldTimes[field];
    if (last !== undefined && Date.parse(last) >= event.occurredAt.getTime()) return false;
    fieldTimes[field] = at;
    applied.push(field);
    return true;
  };
  const c = event.changes ?? {};
  if (c.stage && newer('stage')) {
    patch.stage = c.stage.id;
    patch.stage_category = c.stage.category;
    if (c.stage.category !== 'won') patch.won_at = null;
    else if (deal.stage_category !== 'won' || !deal.won_at) patch.won_at = event.occurredAt;
  }
  if (c.amount && newer('amount')) {
    patch.amount = c.amount.amount;
    patch.currency = c.amount.currency;
  }
  if (c.closeDate !== undefined && newer('closeDate')) patch.close_date = c.closeDate;
  if (c.ownerId !== undefined && newer('ownerId')) patch.owner_id = c.ownerId;
  if (c.pipeline !== undefined && newer('pipeline')) patch.pipeline = c.pipeline;
  if (c.name !== undefined && newer('name')) patch.name = c.name;
  if (c.properties) {
    const properties: Record<string, string | null> = {
      ...(deal.properties ?? {}),
    };
    let changed = false;
    for (const [name, value] of Object.entries(c.properties)) {
      if (!newer(`properties.${name}`)) continue;
      changed = true;
      if (value === null) delete properties[name];
      else properties[name] = value;
    }
    if (changed) patch.properties = properties;
  }
  if (event.type === 'deal.deleted' && newer('deleted')) patch.deleted_at = event.occurredAt;
  if (event.type === 'deal.restored' && newer('deleted')) patch.deleted_at = null;
  if (event.type === 'deal.merged' && newer('merged')) patch.merged_into_crm_deal_id = c.mergedInto ?? null;
  if (patch.properties) patch.properties = JSON.stringify(patch.properties);
  return { patch, fieldTimes, applied };
}

/** `deal.stage_changed`, and `deal.won` with what it pays, for the emails. */
async function announce(
  tx: Tx,
  event: NormalizedDealEvent,
  before: DealRow,
  after: DealRow,
  owed: { partnerId: string; amount: bigint; currency: string }[],
  partnerIds: string[],
): Promise<void> {
  await publishEvents(tx, announcementsOf(event, before, after, owed, partnerIds));
}

/** The domain events announcing a stage change (see announce). */
export function announcementsOf(
  event: NormalizedDealEvent,
  before: DealRow,
  after: DealRow,
  owed: { partnerId: string; amount: bigint; currency: string }[],
  partnerIds: string[],
): NewDomainEvent[] {
  const data = {
    dealId: after.id,
    crmDealId: after.crm_deal_id,
    registrationId: after.registration_id,
    programId: after.program_id,
    partnerIds,
    stage: after.stage,
    stageLabel: event.changes.stage?.label ?? after.stage,
    category: after.stage_category,
    previousCategory: before.stage_category,
    amount: after.amount === null ? null : String(after.amount),
    currency: after.currency,
  };
  const base = { tenantId: after.tenant_id, subjectId: after.id, occurredAt: event.occurredAt };
  const events: NewDomainEvent[] = [{ ...base, type: 'deal.stage_changed', data }];
  if (after.stage_category === 'won' && before.stage_category !== 'won') {
    const sums = new Map<string, { partnerId: string; amount: bigint; currency: string }>();
    for (const line of owed) {
      const key = `${line.partnerId}:${line.currency}`;
      const sum = sums.get(key) ?? { partnerId: line.partnerId, amount: 0n, currency: line.currency };
      sum.amount += line.amount;
      sums.set(key, sum);
    }
    const commissions = [...sums.values()].map((s) => ({ ...s, amount: s.amount.toString() }));
    events.push({ ...base, type: 'deal.won', data: { ...data, commissions } });
  }
  return events;
}
