import { Type } from 'typebox';
import { defineJob, type JobDefinition } from '../../src/jobs/job.ts';

export interface RecordedRun {
  jobId: string;
  attempt: number;
  payload: { key: string };
  at: number;
}

export interface RecordingJob {
  job: JobDefinition<{ key: string }>;
  runs: RecordedRun[];
  /** Makes the next `n` runs throw (each a failed attempt). */
  failNext(n: number): void;
}

/** A job whose runs are recorded in memory, and which can be told to fail: the test's probe. */
export function makeRecordingJob(
  name = 'test.record',
  options: { attempts?: number; backoffMs?: number; backoff?: 'fixed' | 'exponential'; dedup?: boolean } = {},
): RecordingJob {
  const runs: RecordedRun[] = [];
  let failures = 0;
  const job = defineJob({
    name,
    queue: 'default',
    payload: Type.Object({ key: Type.String() }),
    attempts: options.attempts ?? 3,
    backoff: { type: options.backoff ?? 'exponential', delayMs: options.backoffMs ?? 50 },
    ...(options.dedup ? { dedupId: (payload: { key: string }) => payload.key } : {}),
    async handle(payload, ctx) {
      runs.push({ jobId: ctx.jobId, attempt: ctx.attempt, payload, at: Date.now() });
      if (failures > 0) {
        failures--;
        throw new Error(`planned failure for ${payload.key}`);
      }
    },
  });
  return {
    job,
    runs,
    failNext(n) {
      failures = n;
    },
  };
}
