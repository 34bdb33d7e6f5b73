import { existsSync } from 'node:fs';
import { PGlite } from '@electric-sql/pglite';
import { Kysely } from 'kysely';
import { migrateUp, migrationsFingerprint } from './migrator.ts';
import { PGliteDialect } from './pglite-dialect.ts';
import { readTemplate, saveTemplate, templatePath } from './pglite-template.ts';

export async function migratedTemplateName(): Promise<string> {
  return `migrated-${await migrationsFingerprint()}`;
}

/** Makes the pristine and the migrated templates that are missing; returns the ones it made. */
export async function prepareTemplates(): Promise<string[]> {
  const made: string[] = [];
  if (!existsSync(templatePath())) {
    const pristine = new PGlite();
    await pristine.waitReady;
    await saveTemplate(pristine);
    await pristine.close();
    made.push('pristine');
  }
  const migrated = await migratedTemplateName();
  if (!existsSync(templatePath(migrated))) {
    const template = readTemplate();
    const pglite = new PGlite(undefined, template ? { loadDataDir: template } : {});
    const db = new Kysely<any>({ dialect: new PGliteDialect(pglite) });
    await migrateUp(db);
    await saveTemplate(pglite, migrated);
    await db.destroy();
    made.push(migrated);
  }
  return made;
}
