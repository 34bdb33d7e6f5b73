import type { Logger } from 'pino';
import type { Tx } from '../db/database.ts';
import { unlessRefused } from '../db/savepoint.ts';
import type { AppError } from '../errors/app-error.ts';
import type { Services } from '../services.ts';
import type { NormalizedDealEvent } from './deal-event.ts';
import type { RecordResult } from './deal-events.ts';
import { type BatchRecordOptions, recordDealEvents } from './record-deal-events.ts';

/** An event the engine refused (an AppError): nothing of it was stored. */
export interface RefusedResult {
  outcome: 'refused';
  deal: null;
  refusal: AppError;
}

export type IsolatedResult = RecordResult | RefusedResult;

/** A refusal as a result, logged (with what identifies the event) when a logger is given. */
function refused(
  refusal: AppError,
  log: Pick<Logger, 'warn'> | undefined,
  event: Record<string, unknown>,
): RefusedResult {
  log?.warn({ ...event, err: refusal }, `deal event refused: ${refusal.message}`);
  return { outcome: 'refused', deal: null, refusal };
}

/** The outcome as the inbox and reconcile reports keep it: a refusal with its reason. */
export function outcomeText(result: IsolatedResult): string {
  return result.outcome === 'refused' ? `refused: ${result.refusal.message}` : result.outcome;
}

/**
 * The outcome of recording one event from another system by `work` (which returns its outcome),
 * in a savepoint: a refusal is rolled back, logged and answered `refused: <reason>`.
 */
export async function outcomeUnlessRefused(
  tx: Tx,
  work: () => Promise<string>,
  log: Pick<Logger, 'warn'>,
  event: Record<string, unknown>,
): Promise<string> {
  const attempt = await unlessRefused(tx, work);
  return 'value' in attempt ? attempt.value : outcomeText(refused(attempt.refusal, log, event));
}

/**
 * recordDealEvents for events from another system (CRM webhooks, change events, reconcile pages),
 * where one event the engine refuses must not hold back the others: recorded as one batch, a
 * refusal (say, a commission beyond what the ledger's 64-bit balances hold) would fail the whole
 * transaction, and every later job taking the same pending events would fail with it.
 *
 * The batch runs in a savepoint. When it is refused, it is rolled back and split in halves,
 * recorded in order, each the same way, down to single events: a refused event gets the outcome
 * `refused` (logged when a logger is given) and stores nothing; the others are recorded as one by
 * one would record them without it (as a batch does). A single refusal among n events costs about
 * 2·log2(n) savepoints; a batch with none, one.
 */
export async function recordDealEventsIsolated(
  tx: Tx,
  services: Services,
  events: NormalizedDealEvent[],
  options: BatchRecordOptions & { log?: Pick<Logger, 'warn'> } = {},
): Promise<IsolatedResult[]> {
  if (events.length === 0) return [];
  const attempt = await unlessRefused(tx, () => recordDealEvents(tx, services, events, options));
  if ('value' in attempt) return attempt.value;
  if (events.length === 1) {
    const { tenantId, source, sourceEventId } = events[0]!;
    return [refused(attempt.refusal, options.log, { tenantId, source, sourceEventId })];
  }
  const half = Math.ceil(events.length / 2);
  const first = await recordDealEventsIsolated(tx, services, events.slice(0, half), options);
  const second = await recordDealEventsIsolated(tx, services, events.slice(half), options);
  return [...first, ...second];
}
