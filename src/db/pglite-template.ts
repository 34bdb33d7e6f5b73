import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { PGlite } from '@electric-sql/pglite';

/**
 * A brand-new PGlite database spends ~3 s in initdb. Every new database starts from the same
 * initdb output, so we keep one pristine copy (a tar of the data directory, made once per
 * installation by `npm install` or by the first start) and load it instead: ~0.6 s.
 * The copy is keyed by PGlite's version, since a data directory belongs to the build that made it.
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

export function templatePath(): string {
  return path.join(PACKAGE_ROOT, 'node_modules', '.cache', 'partnerloop', `pglite-${pgliteVersion()}.tar`);
}

export function readTemplate(): Blob | undefined {
  const file = templatePath();
  if (!existsSync(file)) return undefined;
  return new Blob([readFileSync(file)]);
}

/** Writes the template from a database that has just been through initdb and nothing else. */
export async function saveTemplate(pristine: PGlite): Promise<void> {
  const file = templatePath();
  if (existsSync(file)) return;
  const dump = await pristine.dumpDataDir('none');
  mkdirSync(path.dirname(file), { recursive: true });
  const partial = `${file}.${process.pid}.tmp`;
  writeFileSync(partial, Buffer.from(await dump.arrayBuffer()));
  renameSync(partial, file);
}

/** Makes sure the template exists; used by `npm install` so that even the first start is quick. */
export async function ensureTemplate(): Promise<boolean> {
  if (existsSync(templatePath())) return false;
  const pristine = new PGlite();
  await pristine.waitReady;
  await saveTemplate(pristine);
  await pristine.close();
  return true;
}
