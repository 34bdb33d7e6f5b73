import type { JobDefinition } from './job.ts';

/**
 * The one list of jobs a process knows. Boot fails if two definitions share a name or one has no
 * handler, rather than finding out when the first such job is picked up.
 */
export class JobRegistry {
  private readonly byName = new Map<string, JobDefinition<any>>();

  constructor(definitions: readonly JobDefinition<any>[]) {
    for (const job of definitions) {
      if (typeof job.handle !== 'function') throw new Error(`job ${job.name} has no handler`);
      if (this.byName.has(job.name)) throw new Error(`job ${job.name} is defined twice`);
      if (!Number.isInteger(job.attempts) || job.attempts < 1) {
        throw new Error(`job ${job.name}: attempts must be a positive integer`);
      }
      this.byName.set(job.name, job);
    }
  }

  get(name: string): JobDefinition<any> | undefined {
    return this.byName.get(name);
  }

  all(): JobDefinition<any>[] {
    return [...this.byName.values()];
  }

  queues(): string[] {
    return [...new Set(this.all().map((job) => job.queue))];
  }
}
