import { sql } from 'kysely';
import { loadProgramPlans } from '../commissions/commission-context.ts';
import { settleDealBatch, settlesAlone } from '../commissions/settle-deal-batch.ts';
import type { Tx } from '../db/database.ts';
import { jsonRows } from '../db/json-rows.ts';
import { withoutNul } from '../db/nul-characters.ts';
import { AppError } from '../errors/app-error.ts';
import { type NewDomainEvent, publishEvents } from '../events/publish-event.ts';
import type { Services } from '../services.ts';
import { createDeals } from './deal.repository.ts';
import type { DealRow } from './deal.table.ts';
import type { NormalizedDealEvent } from './deal-event.ts';
import {
  announcementsOf,
  changesOf,
  isRemoval,
  payloadOf,
  type RecordOptions,
  type RecordResult,
  recordDealEvent,
} from './deal-events.ts';

/** Event types that only change fields of an existing deal: the ones a batch records together. */
const FIELD_CHANGES: ReadonlySet<string> = new Set([
  'deal.created',
  'deal.stage_changed',
  'deal.amount_changed',
  'deal.updated',
]);

export interface BatchRecordOptions {
  /** recordDealEvent's `notify`, for all the events or decided per event; default true. */
  notify?: RecordOptions['notify'] | ((event: NormalizedDealEvent) => boolean);
}

/** A deal's or an event's identity within its source. */
const sourceKey = (source: string, id: string) => `${source}\u0000${id}`;

/**
 * Records many normalized deal events of one tenant in the caller's transaction, with the same
 * outcome, deal state, commission lines, ledger transactions and domain events as recording them
 * one by one with recordDealEvent, in a fixed number of statements for the usual case: the deals
 * locked at once (id order), their programs' plans read once, the events stored in one insert,
 * the deals updated in one statement, their commissions settled together (settleDealBatch) and the
 * announcements published in one insert.
 *
 * Together: field changes of known deals, one event per deal and per source event id in the batch,
 * in programs without volume tiers. The others (a deal's second event in the batch, an unknown
 * deal, removals, revenue, volume-tier programs, whose deals share periods) are recorded after
 * them, one by one with recordDealEvent, in the order given.
 *
 * Locks: the batch's known deals first, in id order; then the deals it will create, all created at
 * once in (source, CRM id) order, before any account is locked. Created as their events came, two
 * concurrent batches naming the same new deals in different orders would each hold the first ones
 * it created while waiting for the other's: a deadlock, broken by PostgreSQL failing one batch.
 */
export async function recordDealEvents(
  tx: Tx,
  services: Services,
  received: NormalizedDealEvent[],
  options: BatchRecordOptions = {},
): Promise<RecordResult[]> {
  // As recordDealEvent: a NUL character in a CRM's text is stored as U+FFFD.
  const events = received.map(withoutNul);
  const notifies = (event: NormalizedDealEvent) =>
    typeof options.notify === 'function' ? options.notify(event) : options.notify !== false;
  if (events.length === 0) return [];
  const tenantId = events[0]!.tenantId;
  if (events.some((event) => event.tenantId !== tenantId))
    throw new AppError('validation_failed', 'A batch of deal events belongs to one tenant');
  const results: RecordResult[] = new Array(events.length);

  const deals = await lockDeals(tx, tenantId, events);
  await createDealsOf(
    tx,
    tenantId,
    events.filter((e) => !deals.has(sourceKey(e.source, e.crmDealId))),
  );
  const plans = await loadProgramPlans(
    tx,
    tenantId,
    [...deals.values()].flatMap((deal) => (deal.program_id ? [deal.program_id] : [])),
  );
  const perDeal = countBy(events, (e) => sourceKey(e.source, e.crmDealId));
  const perSourceEvent = countBy(events, (e) => sourceKey(e.source, e.sourceEventId));
  const together: number[] = [];
  const alone: number[] = [];
  events.forEach((event, i) => {
    const deal = deals.get(sourceKey(event.source, event.crmDealId));
    const plan = deal?.program_id ? plans.get(deal.program_id) : undefined;
    const ok =
      deal &&
      plan &&
      settlesAlone(plan) &&
      FIELD_CHANGES.has(event.type) &&
      perDeal.get(sourceKey(event.source, event.crmDealId)) === 1 &&
      perSourceEvent.get(sourceKey(event.source, event.sourceEventId)) === 1;
    (ok ? together : alone).push(i);
  });

  if (together.length > 0) {
    const stored = await storeEvents(
      tx,
      tenantId,
      together.map((i) => ({
        event: events[i]!,
        deal: deals.get(sourceKey(events[i]!.source, events[i]!.crmDealId))!,
      })),
    );
    const stale: { id: string; outcome: string }[] = [];
    const changing: { i: number; eventId: string; before: DealRow; changes: ReturnType<typeof changesOf> }[] =
      [];
    for (const i of together) {
      const event = events[i]!;
      const deal = deals.get(sourceKey(event.source, event.crmDealId))!;
      const eventId = stored.get(sourceKey(event.source, event.sourceEventId));
      if (!eventId) {
        results[i] = { outcome: 'duplicate', deal };
        continue;
      }
      const changes = changesOf(deal, event);
      if (changes.applied.length === 0) {
        stale.push({ id: eventId, outcome: 'stale' });
        results[i] = { outcome: 'stale', deal };
      } else changing.push({ i, eventId, before: deal, changes });
    }

    await setOutcomes(tx, tenantId, stale);
    const updated = await updateDeals(
      tx,
      services,
      changing.map((c) => ({ event: events[c.i]!, deal: c.before, changes: c.changes })),
    );
    const items = changing.map((c) => {
      const deal = updated.get(c.before.id)!;
      const event = events[c.i]!;
      return {
        deal,
        cause: {
          version: BigInt(deal.version),
          occurredAt: event.occurredAt,
          dealEventId: c.eventId,
          reason: `${event.type} ${event.sourceEventId}`,
        },
      };
    });
    const settled = await settleDealBatch(tx, services, plans, items, {
      async beforePosting(owed) {
        const announcements: NewDomainEvent[] = [];
        const problems: { id: string; outcome: string }[] = [];
        changing.forEach((c, n) => {
          const after = items[n]!.deal;
          const { partnerIds } = owed[n]!;
          if (owed[n]!.problems.length > 0)
            problems.push({
              id: c.eventId,
              outcome: `applied: ${[...new Set(owed[n]!.problems)].join('; ')}`,
            });
          if (notifies(events[c.i]!) && c.changes.applied.includes('stage') && after.stage !== c.before.stage)
            announcements.push(...announcementsOf(events[c.i]!, c.before, after, owed[n]!.owed, partnerIds));
        });
        await publishEvents(tx, announcements);
        await setOutcomes(tx, tenantId, problems);
      },
    });
    changing.forEach((c, n) => {
      results[c.i] = { outcome: 'applied', deal: items[n]!.deal, lineIds: settled[n]!.lineIds };
    });
  }

  for (const i of alone)
    results[i] = await recordDealEvent(tx, services, events[i]!, { notify: notifies(events[i]!) });
  return results;
}

function countBy<T>(items: T[], key: (item: T) => string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const item of items) counts.set(key(item), (counts.get(key(item)) ?? 0) + 1);
  return counts;
}

/**
 * The known deals of the events, locked FOR UPDATE in id order, by source and CRM id. The `= any`
 * conditions let the planner see the keys as index conditions (deals_crm_key): with the pairs
 * alone it estimated a hash join over a sequential scan of the tenant's deals cheaper up to some
 * 20,000 deals (4 ms a batch of 100 at 12,000 deals, by auto_explain).
 */
async function lockDeals(tx: Tx, tenantId: string, events: NormalizedDealEvent[]) {
  const sources = events.map((e) => e.source);
  const crmDealIds = events.map((e) => e.crmDealId);
  const { rows } = await sql<DealRow>`
    select * from deals
    where tenant_id = ${tenantId}
      and source = any(${[...new Set(sources)]}::text[])
      and crm_deal_id = any(${crmDealIds}::text[])
      and (source, crm_deal_id) in (select * from unnest(${sources}::text[], ${crmDealIds}::text[]))
    order by id
    for update`.execute(tx);
  return new Map(rows.map((deal) => [sourceKey(deal.source, deal.crm_deal_id), deal]));
}

/**
 * Creates the unknown deals of these events (createDeals: one statement, in (source, CRM id)
 * order, so two batches naming the same new deals queue instead of deadlocking); recordDealEvent
 * then finds them. Only the deals whose first event here would create them (not a removal: of a
 * deal never seen it creates nothing and is `unknown_deal`, one by one as in a batch).
 */
async function createDealsOf(tx: Tx, tenantId: string, events: NormalizedDealEvent[]) {
  const first = new Map<string, NormalizedDealEvent>();
  for (const event of events) {
    const key = sourceKey(event.source, event.crmDealId);
    if (!first.has(key)) first.set(key, event);
  }
  await createDeals(
    tx,
    tenantId,
    [...first.values()].filter((event) => !isRemoval(event)),
  );
}

/** The events stored as applied (deduplicated on their source id): the new rows' ids by source and id. */
async function storeEvents(tx: Tx, tenantId: string, items: { event: NormalizedDealEvent; deal: DealRow }[]) {
  const { rows } = await sql<{ id: string; source: string; source_event_id: string }>`
    insert into deal_events (tenant_id, deal_id, source, source_event_id, type, occurred_at, payload, outcome)
    select ${tenantId}::uuid, v.deal_id, v.source, v.source_event_id, v.type, v.occurred_at, v.payload, 'applied'
    from rows from (
      unnest(
        ${items.map((x) => x.deal.id)}::uuid[], ${items.map((x) => x.event.source)}::text[],
        ${items.map((x) => x.event.sourceEventId)}::text[], ${items.map((x) => x.event.type)}::text[],
        ${items.map((x) => x.event.occurredAt.toISOString())}::timestamptz[]
      ),
      ${jsonRows(items.map((x) => payloadOf(x.event)))}
    ) with ordinality as v(deal_id, source, source_event_id, type, occurred_at, payload, n)
    order by v.n
    on conflict (tenant_id, source, source_event_id) do nothing
    returning id, source, source_event_id`.execute(tx);
  return new Map(rows.map((row) => [sourceKey(row.source, row.source_event_id), row.id]));
}

/** The patched columns of a field change (see changesOf); the others keep their values. */
const PATCHABLE = [
  ['stage', 'text'],
  ['stage_category', 'text'],
  ['won_at', 'timestamptz'],
  ['amount', 'bigint'],
  ['currency', 'text'],
  ['close_date', 'date'],
  ['owner_id', 'text'],
  ['pipeline', 'text'],
  ['name', 'text'],
  ['properties', 'jsonb'],
] as const;
const PATCHABLE_COLUMNS: ReadonlySet<string> = new Set(PATCHABLE.map(([column]) => column));

/** Each deal's changed fields, field times and new version, in one statement; the rows by id. */
async function updateDeals(
  tx: Tx,
  services: Services,
  items: { event: NormalizedDealEvent; deal: DealRow; changes: ReturnType<typeof changesOf> }[],
): Promise<Map<string, DealRow>> {
  if (items.length === 0) return new Map();
  for (const { changes } of items)
    for (const column of Object.keys(changes.patch))
      if (!PATCHABLE_COLUMNS.has(column)) throw new Error(`updateDeals does not write deals.${column}`);
  const patches = items.map(({ changes }) =>
    JSON.stringify(changes.patch, (_k, v) => (typeof v === 'bigint' ? v.toString() : v)),
  );
  const lastEventAt = items.map(({ event, deal }) =>
    (deal.last_event_at && deal.last_event_at.getTime() > event.occurredAt.getTime()
      ? deal.last_event_at
      : event.occurredAt
    ).toISOString(),
  );
  const sets = PATCHABLE.map(
    ([column, type]) =>
      sql`${sql.ref(column)} = case when v.patch ? ${column} then (v.patch->>${column})::${sql.raw(type)} else d.${sql.ref(column)} end`,
  );
  const { rows } = await sql<DealRow>`
    update deals as d set ${sql.join(sets)},
      field_times = v.field_times, last_event_at = v.last_event_at, version = d.version + 1,
      updated_at = ${services.clock.now()}
    from rows from (
      unnest(${items.map(({ deal }) => deal.id)}::uuid[]), ${jsonRows(patches)},
      ${jsonRows(items.map(({ changes }) => JSON.stringify(changes.fieldTimes)))}, unnest(${lastEventAt}::timestamptz[])
    ) as v(id, patch, field_times, last_event_at)
    where d.tenant_id = ${items[0]!.deal.tenant_id} and d.id = v.id
      -- As in lockDeals: the ids as an index condition, not a hash join over every deal of the tenant.
      and d.id = any(${items.map(({ deal }) => deal.id)}::uuid[])
    returning d.*`.execute(tx);
  return new Map(rows.map((deal) => [deal.id, deal]));
}

async function setOutcomes(tx: Tx, tenantId: string, outcomes: { id: string; outcome: string }[]) {
  if (outcomes.length === 0) return;
  await sql`
    update deal_events as e set outcome = v.outcome
    from unnest(${outcomes.map((o) => o.id)}::uuid[], ${outcomes.map((o) => o.outcome)}::text[]) as v(id, outcome)
    where e.tenant_id = ${tenantId} and e.id = v.id`.execute(tx);
}
