import type { Logger } from 'pino';
import type { Static, TSchema } from 'typebox';
import { Compile, type Validator } from 'typebox/compile';
import type { Db } from '../db/database.ts';
import type { Services } from '../services.ts';

/** Separate queues per workload, so a slow CRM cannot hold up the emails. */
export const QUEUE_NAMES = ['default', 'crm', 'email', 'ledger'] as const;
export type QueueName = (typeof QUEUE_NAMES)[number];

export interface Backoff {
  type: 'exponential' | 'fixed';
  /** Delay before the first retry; exponential doubles it for each further retry. */
  delayMs: number;
}

export interface JobContext {
  db: Db;
  log: Logger;
  /** The queue's id for this run: the outbox row it came from. */
  jobId: string;
  /** 1 for the first run, 2 for the first retry, … */
  attempt: number;
  services: Services;
}

export interface JobDefinition<P = unknown> {
  /** Unique, dotted: `inbox.process`, `email.send`, … */
  name: string;
  queue: QueueName;
  payload: TSchema;
  /** Total runs before the job is marked failed (1 = no retry). */
  attempts: number;
  backoff: Backoff;
  /** Two enqueues with the same name and deduplication id make one job. */
  dedupId?: (payload: P) => string;
  handle: (payload: P, ctx: JobContext) => Promise<void>;
  /** Compiled payload checker, built once by defineJob. */
  validator: Validator;
}

export function defineJob<S extends TSchema>(definition: {
  name: string;
  queue: QueueName;
  payload: S;
  attempts?: number;
  backoff?: Backoff;
  dedupId?: (payload: Static<S>) => string;
  handle: (payload: Static<S>, ctx: JobContext) => Promise<void>;
}): JobDefinition<Static<S>> {
  if (!/^[a-z][a-z0-9-]*(\.[a-z][a-z0-9-]*)+$/.test(definition.name)) {
    throw new Error(`job name "${definition.name}" must be dotted lowercase words, e.g. "inbox.process"`);
  }
  return {
    attempts: 5,
    backoff: { type: 'exponential', delayMs: 1_000 },
    ...definition,
    validator: Compile(definition.payload) as unknown as Validator,
  };
}

/** Delay before retry number `retry` (1 = first retry), the same rule BullMQ applies. */
export function backoffDelay(backoff: Backoff, retry: number): number {
  return backoff.type === 'fixed' ? backoff.delayMs : backoff.delayMs * 2 ** Math.max(0, retry - 1);
}

export class InvalidJobPayloadError extends Error {
  constructor(jobName: string, problems: string[]) {
    super(`invalid payload for job ${jobName}: ${problems.join('; ')}`);
    this.name = 'InvalidJobPayloadError';
  }
}

export function assertPayload(job: JobDefinition<any>, payload: unknown): void {
  if (job.validator.Check(payload)) return;
  const problems = job.validator.Errors(payload).map((e) => `${e.instancePath || '/'} ${e.message}`);
  throw new InvalidJobPayloadError(job.name, problems);
}
