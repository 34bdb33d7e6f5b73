import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Kysely, Migration, MigrationProvider, MigrationResultSet } from 'kysely';
import { Migrator, sql } from 'kysely';
import { MIGRATIONS_DIR } from './migrations-fingerprint.ts';

export { MIGRATIONS_DIR, migrationsFingerprint } from './migrations-fingerprint.ts';

/**
 * Reads `migrations/*.ts`, named so that they sort in time order. The import happens here rather
 * than inside Kysely so that whichever loader runs our sources (tsx, vitest) also loads these.
 */
class MigrationFolderProvider implements MigrationProvider {
  async getMigrations(): Promise<Record<string, Migration>> {
    const files = (await readdir(MIGRATIONS_DIR))
      .filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))
      .sort();
    const migrations: Record<string, Migration> = {};
    for (const file of files) {
      const module = (await import(pathToFileURL(path.join(MIGRATIONS_DIR, file)).href)) as Migration;
      if (typeof module.up !== 'function' || typeof module.down !== 'function') {
        throw new Error(`migration ${file} must export both up() and down()`);
      }
      migrations[file.replace(/\.ts$/, '')] = { up: module.up, down: module.down };
    }
    return migrations;
  }
}

export function createMigrator(db: Kysely<any>): Migrator {
  return new Migrator({ db, provider: new MigrationFolderProvider() });
}

export class MigrationError extends Error {
  constructor(
    message: string,
    readonly results: MigrationResultSet['results'],
  ) {
    super(message);
    this.name = 'MigrationError';
  }
}

function check(direction: string, { error, results }: MigrationResultSet): string[] {
  if (error) {
    const failed = results?.find((r) => r.status === 'Error')?.migrationName ?? 'unknown';
    const reason = error instanceof Error ? error.message : String(error);
    throw new MigrationError(`migrate ${direction} failed at ${failed}: ${reason}`, results);
  }
  return (results ?? []).map((r) => r.migrationName);
}

export async function migrateUp(db: Kysely<any>): Promise<string[]> {
  if (await upToDate(db)) return [];
  return check('up', await createMigrator(db).migrateToLatest());
}

/**
 * True when every migration file is recorded as applied, and nothing else is. Checked from the file
 * names alone, so a start on an up-to-date database does not load every migration module.
 */
async function upToDate(db: Kysely<any>): Promise<boolean> {
  const files = (await migrationFileNames()).map((file) => file.replace(/\.ts$/, ''));
  let applied: string[];
  try {
    const { rows } = await sql<{ name: string }>`select name from kysely_migration order by name`.execute(db);
    applied = rows.map((row) => row.name);
  } catch {
    return false; // no migration table yet
  }
  return applied.length === files.length && applied.every((name, i) => name === files[i]);
}

async function migrationFileNames(): Promise<string[]> {
  return (await readdir(MIGRATIONS_DIR)).filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts')).sort();
}

export async function migrateDown(db: Kysely<any>): Promise<string[]> {
  return check('down', await createMigrator(db).migrateDown());
}

export interface MigrationStatus {
  name: string;
  executedAt: Date | undefined;
}

export async function migrationStatus(db: Kysely<any>): Promise<MigrationStatus[]> {
  const migrations = await createMigrator(db).getMigrations();
  return migrations.map((m) => ({ name: m.name, executedAt: m.executedAt }));
}

export async function pendingMigrations(db: Kysely<any>): Promise<string[]> {
  return (await migrationStatus(db)).filter((m) => !m.executedAt).map((m) => m.name);
}
