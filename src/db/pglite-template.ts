import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { copyFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * A brand-new PGlite database spends ~3 s in initdb, and then ~0.7 s in our migrations. Every new
 * database starts from the same initdb output, so we keep ready-made data directories (made by
 * `partnerloop prepare` on `npm install`) and copy one instead (~0.1 s, then a normal open):
 * - `pristine`: straight out of initdb;
 * - `migrated-<fingerprint>`: pristine plus every migration of the given set (see
 *   migrationsFingerprint), so a first start on an empty folder has nothing left to migrate.
 * Templates are keyed by PGlite's version, since a data directory belongs to the build that made it.
 */
const PACKAGE_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const CACHE_DIR = path.join(PACKAGE_ROOT, 'node_modules', '.cache', 'partnerloop');

function pgliteVersion(): string {
  // The package does not export its package.json, so read it from where Node installed it.
  const manifest = path.join(PACKAGE_ROOT, 'node_modules', '@electric-sql', 'pglite', 'package.json');
  try {
    return (JSON.parse(readFileSync(manifest, 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

export function templateDir(variant = 'pristine'): string {
  return path.join(CACHE_DIR, `pglite-${pgliteVersion()}-${variant}`);
}

export function hasTemplate(variant = 'pristine'): boolean {
  return existsSync(path.join(templateDir(variant), 'PG_VERSION'));
}

/**
 * Copies a template into `target` (a directory that holds no database yet); false when there is
 * none. The ~1,200 files (~40 MB) are copied several at a time on libuv's threads, without blocking
 * the event loop, so a start can load its modules meanwhile (see embedded-data-dir.ts).
 */
export async function copyTemplate(variant: string, target: string): Promise<boolean> {
  if (!hasTemplate(variant)) return false;
  const source = templateDir(variant);
  const files: string[] = [];
  mkdirSync(target, { recursive: true });
  for (const entry of readdirSync(source, { recursive: true, withFileTypes: true })) {
    const relative = path.relative(source, path.join(entry.parentPath, entry.name));
    if (entry.isDirectory()) mkdirSync(path.join(target, relative), { recursive: true });
    else files.push(relative);
  }
  let next = 0;
  const copyNext = async (): Promise<void> => {
    for (let i = next++; i < files.length; i = next++)
      await copyFile(path.join(source, files[i]!), path.join(target, files[i]!));
  };
  await Promise.all(Array.from({ length: 8 }, copyNext));
  return true;
}

/**
 * Makes a template: `build` fills a fresh directory (and must leave it closed, so it is consistent),
 * which then becomes the template in one rename. Two processes racing: the second rename loses and
 * its copy is thrown away.
 */
export async function makeTemplate(variant: string, build: (dir: string) => Promise<void>): Promise<void> {
  if (hasTemplate(variant)) return;
  mkdirSync(CACHE_DIR, { recursive: true });
  const partial = path.join(CACHE_DIR, `.partial-${variant}-${process.pid}-${Date.now()}`);
  try {
    await build(partial);
    if (!hasTemplate(variant)) renameSync(partial, templateDir(variant));
  } finally {
    rmSync(partial, { recursive: true, force: true });
  }
}
