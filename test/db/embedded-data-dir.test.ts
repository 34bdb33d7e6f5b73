import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { fillDataDir, migratedTemplateName } from '../../src/db/embedded-data-dir.ts';
import { pendingMigrations } from '../../src/db/migrator.ts';
import { openDatabase } from '../../src/db/open-database.ts';
import { hasTemplate, templateDir } from '../../src/db/pglite-template.ts';

/** Every file under a directory, relative, sorted. */
function filesOf(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => path.relative(dir, path.join(e.parentPath, e.name)))
    .sort();
}

describe('fillDataDir: a new embedded database from its template', () => {
  const root = mkdtempSync(path.join(tmpdir(), 'partnerloop-datadir-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('copies the migrated template file for file, once for two callers, and the database opens', async () => {
    const variant = await migratedTemplateName();
    // `npm ci` prepares the templates (postinstall); without them this test has nothing to copy.
    expect(hasTemplate(variant)).toBe(true);
    const dir = path.join(root, 'a', 'pglite');
    const first = fillDataDir(dir, Promise.resolve([variant, 'pristine']));
    const second = fillDataDir(dir, ['pristine']);
    await Promise.all([first, second]);
    expect(filesOf(dir)).toEqual(filesOf(templateDir(variant)));
    expect(readFileSync(path.join(dir, 'PG_VERSION'), 'utf8')).toBe(
      readFileSync(path.join(templateDir(variant), 'PG_VERSION'), 'utf8'),
    );
    expect(readdirSync(path.dirname(dir))).toEqual(['pglite']);
    const handle = await openDatabase({ pgliteDir: dir, pgliteTemplate: variant });
    try {
      // The migrations came with the template: nothing is pending.
      expect(await pendingMigrations(handle.db)).toEqual([]);
    } finally {
      await handle.close();
    }
  }, 60_000);

  it('copies over leftovers of a directory that holds no database yet', async () => {
    const variant = await migratedTemplateName();
    const dir = path.join(root, 'd');
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, 'leftover.txt'), 'x');
    await fillDataDir(dir, [variant]);
    expect(filesOf(dir)).toEqual([...filesOf(templateDir(variant)), 'leftover.txt'].sort());
  }, 60_000);

  it('leaves an existing database alone', async () => {
    const dir = path.join(root, 'b');
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, 'PG_VERSION'), 'mine');
    await fillDataDir(dir, ['pristine']);
    expect(readdirSync(dir)).toEqual(['PG_VERSION']);
    expect(readFileSync(path.join(dir, 'PG_VERSION'), 'utf8')).toBe('mine');
  });

  it('without any template leaves an empty directory for initdb and no staging copy', async () => {
    const dir = path.join(root, 'c', 'pglite');
    await fillDataDir(dir, ['no-such-template']);
    expect(existsSync(dir)).toBe(true);
    expect(readdirSync(dir)).toEqual([]);
    expect(readdirSync(path.dirname(dir))).toEqual(['pglite']);
  });
});
