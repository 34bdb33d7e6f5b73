import { mkdtempSync, rmSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { type Kysely, sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MIGRATIONS_DIR, migrateDown, migrateUp, migrationStatus } from '../../src/db/migrator.ts';
import { type DatabaseHandle, openDatabase } from '../../src/db/open-database.ts';
import { createTestDatabase, type TestDatabase, usingPostgres } from '../helpers/test-database.ts';

const TABLES = ['inbox', 'outbox', 'local_jobs'];

async function migrationFiles(): Promise<string[]> {
  return (await readdir(MIGRATIONS_DIR)).filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts')).sort();
}

async function migrationNames(): Promise<string[]> {
  return (await migrationFiles()).map((f) => f.replace(/\.ts$/, ''));
}

async function existingTables(db: Kysely<any>): Promise<string[]> {
  const { rows } = await sql<{ table_name: string }>`
    select table_name from information_schema.tables
    where table_schema = current_schema() and table_name in (${sql.join(TABLES)})
  `.execute(db);
  return rows.map((r) => r.table_name).sort();
}

/** An open database per driver: PGlite always, PostgreSQL too when DATABASE_URL is set. */
interface Driver {
  name: 'pglite' | 'postgres';
  open(): Promise<DatabaseHandle>;
  close(): Promise<void>;
}

function pgliteDriver(): Driver {
  let dir: string | undefined;
  let handle: DatabaseHandle | undefined;
  return {
    name: 'pglite',
    async open() {
      dir = mkdtempSync(path.join(tmpdir(), 'pl-migrations-'));
      handle = await openDatabase({ pgliteDir: dir });
      return handle;
    },
    async close() {
      await handle?.close();
      if (dir) rmSync(dir, { recursive: true, force: true });
    },
  };
}

function postgresDriver(): Driver {
  let database: TestDatabase | undefined;
  return {
    name: 'postgres',
    async open() {
      database = await createTestDatabase({ migrate: false });
      return database.handle;
    },
    async close() {
      await database?.destroy();
    },
  };
}

const drivers: (() => Driver)[] = usingPostgres ? [pgliteDriver, postgresDriver] : [pgliteDriver];

it('every migration file exports both up and down', async () => {
  const files = await migrationFiles();
  expect(files.length).toBeGreaterThan(0);
  for (const file of files) {
    const module = (await import(pathToFileURL(path.join(MIGRATIONS_DIR, file)).href)) as Record<
      string,
      unknown
    >;
    expect(typeof module.up, `${file} exports up`).toBe('function');
    expect(typeof module.down, `${file} exports down`).toBe('function');
  }
});

it('names migrations so that file order is time order', async () => {
  const files = await migrationFiles();
  for (const file of files) expect(file).toMatch(/^\d{4}-\d{2}-\d{2}T\d{4}_[a-z0-9_]+\.ts$/);
});

for (const makeDriver of drivers) {
  const driver = makeDriver();

  describe(`migrations on ${driver.name}`, () => {
    let db: Kysely<any>;

    beforeAll(async () => {
      const handle = await driver.open();
      expect(handle.kind).toBe(driver.name);
      db = handle.db;
    });
    afterAll(async () => {
      await driver.close();
    });

    it('starts with every migration pending and none of the tables', async () => {
      const names = await migrationNames();
      const status = await migrationStatus(db);
      expect(status.map((m) => m.name)).toEqual(names);
      for (const m of status) expect(m.executedAt, m.name).toBeUndefined();
      expect(await existingTables(db)).toEqual([]);
    });

    it('goes up: creates the tables and marks every migration applied', async () => {
      const names = await migrationNames();
      const before = Date.now();
      expect(await migrateUp(db)).toEqual(names);
      expect(await existingTables(db)).toEqual([...TABLES].sort());
      const status = await migrationStatus(db);
      expect(status.map((m) => m.name)).toEqual(names);
      for (const m of status) {
        expect(m.executedAt, m.name).toBeInstanceOf(Date);
        expect(m.executedAt!.getTime()).toBeGreaterThan(before - 60_000);
      }
      // Up again is a no-op.
      expect(await migrateUp(db)).toEqual([]);
    });

    it('goes down one migration at a time until none is left, dropping the tables', async () => {
      const names = await migrationNames();
      const undone: string[] = [];
      for (let step = 0; step <= names.length + 1; step++) {
        const batch = await migrateDown(db);
        if (batch.length === 0) break;
        expect(batch).toHaveLength(1);
        undone.push(...batch);
        // Exactly the undone ones are pending now, the others still applied.
        const status = await migrationStatus(db);
        for (const m of status) {
          if (undone.includes(m.name)) expect(m.executedAt, m.name).toBeUndefined();
          else expect(m.executedAt, m.name).toBeInstanceOf(Date);
        }
      }
      expect(undone).toEqual([...names].reverse());
      expect(await existingTables(db)).toEqual([]);
      for (const m of await migrationStatus(db)) expect(m.executedAt, m.name).toBeUndefined();
      // Down with nothing applied is a no-op.
      expect(await migrateDown(db)).toEqual([]);
    });

    it('goes up again after going all the way down, and the tables work', async () => {
      const names = await migrationNames();
      expect(await migrateUp(db)).toEqual(names);
      expect(await existingTables(db)).toEqual([...TABLES].sort());
      for (const m of await migrationStatus(db)) expect(m.executedAt, m.name).toBeInstanceOf(Date);

      const inserted = await db
        .insertInto('inbox')
        .values({ source: 'test', source_id: 'one', payload: JSON.stringify({ ok: true }) })
        .returning(['id', 'payload', 'received_at'])
        .executeTakeFirstOrThrow();
      expect(typeof inserted.id).toBe('bigint');
      expect(inserted.payload).toEqual({ ok: true });
      expect(inserted.received_at).toBeInstanceOf(Date);
      await expect(
        db
          .insertInto('inbox')
          .values({ source: 'test', source_id: 'one', payload: JSON.stringify({}) })
          .execute(),
      ).rejects.toThrow(/inbox_source_source_id_key|duplicate key/);
    });
  });
}

describe('JavaScript types returned by the drivers', () => {
  const opened: Driver[] = [];
  const handles = new Map<string, DatabaseHandle>();

  beforeAll(async () => {
    for (const makeDriver of drivers) {
      const driver = makeDriver();
      opened.push(driver);
      handles.set(driver.name, await driver.open());
    }
  });
  afterAll(async () => {
    for (const driver of opened) await driver.close();
  });

  async function sample(handle: DatabaseHandle) {
    const { rows } = await sql<Record<string, unknown>>`
      select
        9007199254740993::int8 as big,
        (-42)::int8 as negative_big,
        12345678901234567890.123456789::numeric as exact,
        0.10::numeric(10, 2) as money,
        '2024-02-29'::date as day,
        '0001-01-01'::date as first_day,
        '2024-02-29T23:30:00.123Z'::timestamptz as instant,
        '{"a": 1, "nested": {"list": [1, "two", null]}, "big": 1234567890123}'::jsonb as doc,
        '[1, 2]'::jsonb as list,
        null::int8 as missing_big,
        null::date as missing_day,
        7::int4 as small
    `.execute(handle.db);
    expect(rows).toHaveLength(1);
    return rows[0]!;
  }

  it('returns int8 as bigint, numeric as string, date as YYYY-MM-DD, timestamptz as Date, jsonb as JSON', async () => {
    for (const [name, handle] of handles) {
      const row = await sample(handle);
      expect(typeof row.big, name).toBe('bigint');
      expect(row.big, name).toBe(9007199254740993n);
      expect(row.negative_big, name).toBe(-42n);
      expect(row.exact, name).toBe('12345678901234567890.123456789');
      expect(row.money, name).toBe('0.10');
      expect(row.day, name).toBe('2024-02-29');
      expect(row.first_day, name).toBe('0001-01-01');
      expect(row.instant, name).toBeInstanceOf(Date);
      expect((row.instant as Date).toISOString(), name).toBe('2024-02-29T23:30:00.123Z');
      expect(row.doc, name).toEqual({ a: 1, nested: { list: [1, 'two', null] }, big: 1234567890123 });
      expect(row.list, name).toEqual([1, 2]);
      expect(row.missing_big, name).toBeNull();
      expect(row.missing_day, name).toBeNull();
      expect(row.small, name).toBe(7);
    }
  });

  it('returns the same values from table columns', async () => {
    for (const [name, handle] of handles) {
      const db = handle.db as Kysely<any>;
      await migrateUp(db);
      await db.schema
        .createTable('type_probe')
        .ifNotExists()
        .addColumn('id', 'bigint', (col) => col.primaryKey())
        .addColumn('amount', 'numeric(12, 2)')
        .addColumn('day', 'date')
        .addColumn('at', 'timestamptz')
        .addColumn('doc', 'jsonb')
        .execute();
      try {
        await db
          .insertInto('type_probe')
          .values({
            id: 9007199254740993n,
            amount: '19.90',
            day: '2023-12-31',
            at: new Date('2023-12-31T23:59:59.999Z'),
            doc: JSON.stringify({ k: 'v' }),
          })
          .execute();
        const row = await db.selectFrom('type_probe').selectAll().executeTakeFirstOrThrow();
        expect(row, name).toEqual({
          id: 9007199254740993n,
          amount: '19.90',
          day: '2023-12-31',
          at: new Date('2023-12-31T23:59:59.999Z'),
          doc: { k: 'v' },
        });
      } finally {
        await db.schema.dropTable('type_probe').execute();
      }
    }
  });

  if (usingPostgres) {
    it('returns identical values from PGlite and PostgreSQL', async () => {
      const pglite = await sample(handles.get('pglite')!);
      const postgres = await sample(handles.get('postgres')!);
      expect(postgres).toEqual(pglite);
      for (const key of Object.keys(pglite)) {
        expect(typeof postgres[key], key).toBe(typeof pglite[key]);
        expect(postgres[key] instanceof Date, key).toBe(pglite[key] instanceof Date);
      }
    });
  }
});
