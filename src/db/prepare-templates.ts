import { PGlite } from '@electric-sql/pglite';
import { Kysely } from 'kysely';
import { migratedTemplateName } from './embedded-data-dir.ts';
import { migrateUp } from './migrator.ts';
import { pgliteExtensions } from './open-database.ts';
import { PGliteDialect } from './pglite-dialect.ts';
import { copyTemplate, hasTemplate, makeTemplate } from './pglite-template.ts';

/** Makes the pristine and the migrated templates that are missing; returns the ones it made. */
export async function prepareTemplates(): Promise<string[]> {
  const made: string[] = [];
  if (!hasTemplate('pristine')) {
    await makeTemplate('pristine', async (dir) => {
      const pglite = new PGlite(dir);
      await pglite.waitReady;
      await pglite.close();
    });
    made.push('pristine');
  }
  const migrated = await migratedTemplateName();
  if (!hasTemplate(migrated)) {
    await makeTemplate(migrated, async (dir) => {
      await copyTemplate('pristine', dir);
      const db = new Kysely<any>({
        dialect: new PGliteDialect(new PGlite(dir, { extensions: pgliteExtensions })),
      });
      await migrateUp(db);
      await db.destroy();
    });
    made.push(migrated);
  }
  return made;
}
