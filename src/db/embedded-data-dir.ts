import { cpSync, existsSync, mkdirSync, readdirSync, renameSync, rmdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import type { Config } from '../config.ts';
import { migrationsFingerprint } from './migrations-fingerprint.ts';
import { copyTemplate } from './pglite-template.ts';

const filling = new Map<string, Promise<void>>();

/** Where the embedded database of a data folder lives. */
export function embeddedDatabaseDir(config: Config): string {
  return path.join(config.dataDir, 'pglite');
}

/** The template a new embedded database starts from: every migration of this build applied. */
export async function migratedTemplateName(): Promise<string> {
  return `migrated-${await migrationsFingerprint()}`;
}

/**
 * Starts filling the embedded database of `config` (when it uses one) without waiting: see
 * fillDataDir. Errors surface when the database is opened, which waits for the same promise.
 */
export function startFillingDataDir(config: Config): void {
  if (config.databaseUrl) return;
  fillDataDir(
    embeddedDatabaseDir(config),
    migratedTemplateName().then((migrated) => [migrated, 'pristine']),
  ).catch(() => {});
}

/**
 * Fills a new embedded database directory (one without PG_VERSION) from the first of `variants`
 * that exists as a template (see pglite-template.ts), once per directory at a time: `start` calls it
 * before it loads the rest of the application, so the copy runs on libuv's threads while the
 * modules load, and opening the database waits for the same promise. The files are copied next to
 * the directory and moved in by one rename, so a crash mid-copy never leaves a half database.
 * Without any template the directory is left empty and PGlite runs initdb there.
 */
export function fillDataDir(
  dir: string,
  variants: readonly string[] | Promise<readonly string[]>,
): Promise<void> {
  const key = path.resolve(dir);
  const pending = filling.get(key) ?? fill(key, variants).finally(() => filling.delete(key));
  filling.set(key, pending);
  return pending;
}

async function fill(dir: string, wanted: readonly string[] | Promise<readonly string[]>): Promise<void> {
  if (existsSync(path.join(dir, 'PG_VERSION'))) return;
  const variants = await wanted;
  const staging = `${dir}.partial-${process.pid}`;
  rmSync(staging, { recursive: true, force: true });
  try {
    for (const variant of variants) {
      if (!(await copyTemplate(variant, staging))) continue;
      mkdirSync(dir, { recursive: true });
      if (readdirSync(dir).length === 0) {
        rmdirSync(dir); // rename replaces only an empty directory
        renameSync(staging, dir);
      } else cpSync(staging, dir, { recursive: true }); // leftovers without a database: copied over
      return;
    }
    mkdirSync(dir, { recursive: true });
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}
