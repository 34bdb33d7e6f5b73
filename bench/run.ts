// Benchmark runner: `npm run bench` runs every benchmark, `npm run bench -- queue-throughput` only
// the named ones. Each result is one JSON line on stdout; progress goes to stderr, so
// `npm run bench --silent > results.jsonl` keeps only the results.
import os from 'node:os';
import type { BenchContext, Benchmark, BenchResult } from './lib.ts';
import { errorMessage } from './lib.ts';

const BENCHMARKS: Record<string, () => Promise<Benchmark>> = {
  'cold-start': async () => (await import('./cold-start.bench.ts')).coldStart,
  'queue-throughput': async () => (await import('./queue-throughput.bench.ts')).queueThroughput,
  'ledger-postings': async () => (await import('./ledger-postings.bench.ts')).ledgerPostings,
  'ledger-verify': async () => (await import('./ledger-verify.bench.ts')).ledgerVerify,
  'commission-postings': async () => (await import('./commission-postings.bench.ts')).commissionPostings,
  registrations: async () => (await import('./registrations.bench.ts')).registrations,
  statement: async () => (await import('./statement.bench.ts')).statement,
  'email-inbound': async () => (await import('./email-inbound.bench.ts')).emailInbound,
  'email-render': async () => (await import('./email-render.bench.ts')).emailRender,
  'hubspot-webhooks': async () => (await import('./hubspot-webhooks.bench.ts')).hubspotWebhooks,
  'hubspot-backfill': async () => (await import('./hubspot-backfill.bench.ts')).hubspotBackfill,
  'hubspot-time-to-ledger': async () =>
    (await import('./hubspot-time-to-ledger.bench.ts')).hubspotTimeToLedger,
  'salesforce-change-events': async () =>
    (await import('./salesforce-change-events.bench.ts')).salesforceChangeEvents,
};

const log = (message: string) => process.stderr.write(`[bench] ${message}\n`);

const requested = process.argv.slice(2).filter((arg) => arg !== '--');
const unknown = requested.filter((name) => !(name in BENCHMARKS));
if (unknown.length > 0) {
  log(`unknown benchmark(s): ${unknown.join(', ')}; known: ${Object.keys(BENCHMARKS).join(', ')}`);
  process.exit(2);
}
const names = requested.length > 0 ? [...new Set(requested)] : Object.keys(BENCHMARKS);

let failed = 0;
for (const name of names) {
  const ctx: BenchContext = {
    report(result: BenchResult) {
      process.stdout.write(`${JSON.stringify(result)}\n`);
    },
    log: (message) => log(`${name}: ${message}`),
  };
  const started = performance.now();
  // The figures move with whatever else the machine is doing: note how busy it was.
  const load = os.loadavg().map((l) => l.toFixed(2));
  log(`${name}: starting (load average ${load.join(' ')} on ${os.availableParallelism()} CPUs)`);
  try {
    const benchmark = await BENCHMARKS[name]!();
    await benchmark(ctx);
    log(`${name}: done in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  } catch (error) {
    failed++;
    log(
      `${name}: FAILED after ${((performance.now() - started) / 1000).toFixed(1)} s: ${errorMessage(error)}`,
    );
    if (error instanceof Error && error.stack) process.stderr.write(`${error.stack}\n`);
  }
}

process.exitCode = failed > 0 ? 1 : 0;
// Every benchmark closes what it opened; if something still holds the event loop (a leaked socket
// or timer), say so and exit anyway rather than hang.
setTimeout(() => {
  log('handles still open 5 s after the last benchmark; exiting anyway');
  process.exit();
}, 5_000).unref();
