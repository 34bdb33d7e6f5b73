import type { Runtime } from './runtime.ts';

/**
 * The worker role: runs the jobs of every queue, the recurring jobs' scheduler, the outbox relay,
 * and the Salesforce change event streams (one per org across worker processes).
 */
export async function startWorker(runtime: Runtime): Promise<void> {
  await runtime.queue.startWorkers(runtime.registry.queues());
  runtime.scheduler.start();
  runtime.relay.start();
  runtime.salesforceStreams.start();
}
