import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { migratedTemplateName } from '../../src/db/embedded-data-dir.ts';
import { migrateUp } from '../../src/db/migrator.ts';
import { type DatabaseHandle, openDatabase } from '../../src/db/open-database.ts';

/** Real PostgreSQL when DATABASE_URL is set (CI), PGlite otherwise. */
export const usingPostgres = Boolean(process.env.DATABASE_URL);

export interface TestDatabase {
  handle: DatabaseHandle;
  /** For child processes: the env that opens the same database. */
  env: { DATABASE_URL?: string; DATA_DIR?: string };
  /** Closes the handle (if still open) and deletes the database. */
  destroy(): Promise<void>;
  /** Opens the same database again (after `handle` was closed, e.g. to simulate a restart). */
  reopen(): Promise<DatabaseHandle>;
}

/**
 * A fresh database for one test file: its own PostgreSQL database, or its own PGlite data
 * directory (file-backed, so a child process can open it after this one lets go).
 */
export async function createTestDatabase(options: { migrate?: boolean } = {}): Promise<TestDatabase> {
  const migrate = options.migrate ?? true;
  if (process.env.DATABASE_URL) return createPostgresDatabase(process.env.DATABASE_URL, migrate);
  return createPgliteDatabase(migrate);
}

async function createPostgresDatabase(adminUrl: string, migrate: boolean): Promise<TestDatabase> {
  const name = `pl_test_${process.pid}_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`create database ${name}`);
  await admin.end();
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  const databaseUrl = url.toString();
  const open = () => openDatabase({ databaseUrl, poolMax: 20 });
  const state = { handle: await open() };
  if (migrate) await migrateUp(state.handle.db);
  return {
    get handle() {
      return state.handle;
    },
    env: { DATABASE_URL: databaseUrl },
    async reopen() {
      state.handle = await open();
      return state.handle;
    },
    async destroy() {
      await state.handle.close().catch(() => {});
      const client = new pg.Client({ connectionString: adminUrl });
      await client.connect();
      await client.query(`drop database if exists ${name} with (force)`);
      await client.end();
    },
  };
}

async function createPgliteDatabase(migrate: boolean): Promise<TestDatabase> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'pl-test-'));
  // The runtime keeps the embedded database in DATA_DIR/pglite: use the same layout.
  // A migrated template (when prepared) saves each test file the migrations; migrateUp still checks.
  const pgliteTemplate = migrate ? await migratedTemplateName() : undefined;
  const open = () => openDatabase({ pgliteDir: path.join(dataDir, 'pglite'), pgliteTemplate });
  const state = { handle: await open() };
  if (migrate) await migrateUp(state.handle.db);
  return {
    get handle() {
      return state.handle;
    },
    env: { DATA_DIR: dataDir },
    async reopen() {
      state.handle = await open();
      return state.handle;
    },
    async destroy() {
      await state.handle.close().catch(() => {});
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
