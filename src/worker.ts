import type { Runtime } from './runtime.ts';

/** The worker role: runs the jobs of every queue and relays the outbox. */
export async function startWorker(runtime: Runtime): Promise<void> {
  await runtime.queue.startWorkers(runtime.registry.queues());
  runtime.relay.start();
}
