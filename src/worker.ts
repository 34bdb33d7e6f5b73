import type { Runtime } from './runtime.ts';

/** The worker role: runs the jobs of every queue, the recurring jobs' scheduler, and the outbox relay. */
export async function startWorker(runtime: Runtime): Promise<void> {
  await runtime.queue.startWorkers(runtime.registry.queues());
  runtime.scheduler.start();
  runtime.relay.start();
}
