import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { PGlite } from '@electric-sql/pglite';

/**
 * A brand-new PGlite database spends ~3 s in initdb, and then ~0.7 s in our migrations. Every new
 * database starts from the same initdb output, so we keep copies of data directories (tars, made by
 * `partnerloop prepare` on `npm install`, or by the first start) and load one instead:
 * - `pristine`: straight out of initdb;
 * - `migrated-<fingerprint>`: pristine plus every migration of the given set (see
 *   migrationsFingerprint), so a first start on an empty folder has nothing left to migrate.
 * Copies are keyed by PGlite's version, since a data directory belongs to the build that made it.
 */
const PACKAGE_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

function pgliteVersion(): string {
  // The package does not export its package.json, so read it from where Node installed it.
  const manifest = path.join(PACKAGE_ROOT, 'node_modules', '@electric-sql', 'pglite', 'package.json');
  try {
    return (JSON.parse(readFileSync(manifest, 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

export function templatePath(variant = 'pristine'): string {
  return path.join(
    PACKAGE_ROOT,
    'node_modules',
    '.cache',
    'partnerloop',
    `pglite-${pgliteVersion()}-${variant}.tar`,
  );
}

export function readTemplate(variant = 'pristine'): Blob | undefined {
  const file = templatePath(variant);
  if (!existsSync(file)) return undefined;
  return new Blob([readFileSync(file)]);
}

/** Writes a template from a database in exactly the state the variant names. */
export async function saveTemplate(source: PGlite, variant = 'pristine'): Promise<void> {
  const file = templatePath(variant);
  if (existsSync(file)) return;
  const dump = await source.dumpDataDir('none');
  mkdirSync(path.dirname(file), { recursive: true });
  const partial = `${file}.${process.pid}.tmp`;
  writeFileSync(partial, Buffer.from(await dump.arrayBuffer()));
  renameSync(partial, file);
}
