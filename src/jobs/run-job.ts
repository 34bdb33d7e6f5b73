import type { Logger } from 'pino';
import type { Db } from '../db/database.ts';
import type { Services } from '../services.ts';
import { assertPayload } from './job.ts';
import type { JobRegistry } from './job-registry.ts';

export interface JobRun {
  id: string;
  name: string;
  payload: unknown;
  attempt: number;
}

/** Runs one job through its definition, whichever queue delivered it. Throws to ask for a retry. */
export interface JobRunner {
  registry: JobRegistry;
  db: Db;
  log: Logger;
  services: Services;
}

export async function runJob({ registry, db, log, services }: JobRunner, run: JobRun): Promise<void> {
  const job = registry.get(run.name);
  if (!job) throw new Error(`no handler registered for job ${run.name}`);
  assertPayload(job, run.payload);
  const jobLog = log.child({ job: run.name, jobId: run.id, attempt: run.attempt });
  await job.handle(run.payload, { db, log: jobLog, jobId: run.id, attempt: run.attempt, services });
}
