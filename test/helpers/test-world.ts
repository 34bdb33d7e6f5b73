import type { App } from '../../src/app.ts';
import type { Clock } from '../../src/clock.ts';
import type { TestDatabase } from './test-database.ts';
import { createTestDatabase } from './test-database.ts';
import type { TestRuntime } from './test-runtime.ts';
import { buildTestApp, clearRedisPrefix, createTestRuntime } from './test-runtime.ts';

/** A database, runtime and app for one test file, with the clock the test wants. */
export interface TestWorld {
  database: TestDatabase;
  runtime: TestRuntime;
  app: App;
  close(): Promise<void>;
}

export async function openWorld(options: { clock?: Clock } = {}): Promise<TestWorld> {
  const database = await createTestDatabase();
  const runtime = await createTestRuntime(database, options.clock ? { clock: options.clock } : {});
  const app = await buildTestApp(runtime);
  return {
    database,
    runtime,
    app,
    async close() {
      await app.close();
      await runtime.close();
      await clearRedisPrefix(runtime.redisPrefix);
      await database.destroy();
    },
  };
}
