import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/*
 * Where the migrations are and what identifies their set, without the migrator (and Kysely): a
 * start names the embedded database template it wants before it loads anything else.
 */

export const MIGRATIONS_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../migrations');

/** Identifies the set of migrations (names and contents): a template migrated with it is keyed by it. */
export async function migrationsFingerprint(): Promise<string> {
  const hash = createHash('sha256');
  for (const file of (await readdir(MIGRATIONS_DIR)).filter((f) => f.endsWith('.ts')).sort()) {
    hash
      .update(file)
      .update('\0')
      .update(await readFile(path.join(MIGRATIONS_DIR, file)))
      .update('\0');
  }
  return hash.digest('hex').slice(0, 16);
}
