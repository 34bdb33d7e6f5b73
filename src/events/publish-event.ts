import { randomUUID } from 'node:crypto';
import type { QueryCreator } from 'kysely';
import type { Logger } from 'pino';
import type { Database, Db, DbOrTx } from '../db/database.ts';
import { enqueueJobs, insertJobs } from '../jobs/enqueue.ts';
import type { Services } from '../services.ts';
import { deliverDomainEventJob } from './domain-event.job.ts';

export interface DomainEvent {
  id: string;
  /** Dotted: `registration.submitted`, `registration.approved`, … */
  type: string;
  tenantId: string;
  subjectId: string;
  occurredAt: string;
  data: Record<string, unknown>;
}

/**
 * Reacts to a domain event. Subscribers should only enqueue their own job (with a deduplication id
 * derived from the event id), so each reaction retries on its own and a replay changes nothing.
 */
export type EventSubscriber = (
  event: DomainEvent,
  ctx: { db: Db; log: Logger; services: Services },
) => Promise<void>;
export type EventSubscribers = ReadonlyMap<string, EventSubscriber[]>;

export type NewDomainEvent = Omit<DomainEvent, 'id' | 'occurredAt'> & { id?: string; occurredAt?: Date };

function domainEventOf(event: NewDomainEvent): DomainEvent {
  return {
    id: event.id ?? randomUUID(),
    type: event.type,
    tenantId: event.tenantId,
    subjectId: event.subjectId,
    occurredAt: (event.occurredAt ?? new Date()).toISOString(),
    data: JSON.parse(JSON.stringify(event.data, (_k, v) => (typeof v === 'bigint' ? v.toString() : v))),
  };
}

/** Publishes a domain event through the outbox, in the transaction of the change it announces. */
export async function publishEvent(db: DbOrTx, event: NewDomainEvent): Promise<void> {
  await publishEvents(db, [event]);
}

/** Several domain events in one statement, in the transaction of the change they announce. */
export async function publishEvents(db: DbOrTx, events: NewDomainEvent[]): Promise<void> {
  await enqueueJobs(db, deliverDomainEventJob, events.map(domainEventOf));
}

/**
 * The outbox insert of domain events, not yet run: for a statement that also makes the change they
 * announce (as a data-modifying `with` query), so both cost one round trip.
 */
export function insertEvents(db: QueryCreator<Database>, events: NewDomainEvent[]) {
  return insertJobs(db, deliverDomainEventJob, events.map(domainEventOf));
}
