import { PGlite, types as pgliteTypes } from '@electric-sql/pglite';
import { pg_trgm } from '@electric-sql/pglite/contrib/pg_trgm';
import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import { redactUrl } from '../config.ts';
import type { Database } from './database.ts';
import { fillDataDir } from './embedded-data-dir.ts';
import { parseTimestamptz } from './pg-timestamp.ts';
import { PGliteDialect } from './pglite-dialect.ts';

export type DatabaseKind = 'postgres' | 'pglite';

export interface DatabaseHandle {
  db: Kysely<Database>;
  kind: DatabaseKind;
  /** Where the data lives, safe to print (no password). */
  describe: string;
  close(): Promise<void>;
}

export interface OpenDatabaseOptions {
  /** PostgreSQL connection string; when absent, PGlite is used. */
  databaseUrl?: string | undefined;
  /** PGlite's data directory; "memory" for a throw-away database. */
  pgliteDir?: string | 'memory';
  poolMax?: number;
  /** For a new PGlite database: the template to start from when it exists (else the pristine one). */
  pgliteTemplate?: string;
}

/*
 * Both drivers return the same JavaScript values for the same SQL types, so no query depends on
 * which one runs it: int8 → bigint (money is counted in minor units), numeric → string (exact),
 * date → 'YYYY-MM-DD' string (a calendar day has no time zone), timestamptz → Date.
 */
const INT8 = 20;
const NUMERIC = 1700;
const DATE = 1082;
const TIMESTAMPTZ = 1184;

const pgTypes = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === INT8) return (value: string) => BigInt(value);
    if (oid === NUMERIC || oid === DATE) return (value: string) => value;
    if (oid === TIMESTAMPTZ && format !== 'binary') return parseTimestamptz;
    return pg.types.getTypeParser(oid, format);
  },
};

/**
 * The extensions our migrations create (pg_trgm, for company-name matching). PGlite loads an
 * extension's code only when it is given here, so every PGlite that opens our data needs them.
 */
export const pgliteExtensions = { pg_trgm };

export async function openDatabase(options: OpenDatabaseOptions): Promise<DatabaseHandle> {
  if (options.databaseUrl) return openPostgres(options.databaseUrl, options.poolMax ?? 10);
  return openPglite(options.pgliteDir ?? 'memory', options.pgliteTemplate);
}

function openPostgres(url: string, max: number): DatabaseHandle {
  const pool = new pg.Pool({ connectionString: url, max, types: pgTypes, connectionTimeoutMillis: 5_000 });
  // An idle client losing its connection must not crash the process; the next query reconnects.
  pool.on('error', () => {});
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  return { db, kind: 'postgres', describe: redactUrl(url), close: () => db.destroy() };
}

async function openPglite(dir: string, preferredTemplate: string | undefined): Promise<DatabaseHandle> {
  const parsers = {
    [pgliteTypes.INT8]: (value: string) => BigInt(value),
    [pgliteTypes.NUMERIC]: (value: string) => value,
    [pgliteTypes.DATE]: (value: string) => value,
  };
  const inMemory = dir === 'memory';
  // A new database starts from a prepared template when there is one, else PGlite runs initdb.
  if (!inMemory) await fillDataDir(dir, preferredTemplate ? [preferredTemplate, 'pristine'] : ['pristine']);
  // Options as one object: PGlite ignores the second argument when the first is not a directory.
  const pglite = new PGlite({ ...(inMemory ? {} : { dataDir: dir }), parsers, extensions: pgliteExtensions });
  await pglite.waitReady;
  const db = new Kysely<Database>({ dialect: new PGliteDialect(pglite) });
  return {
    db,
    kind: 'pglite',
    describe: inMemory ? 'PGlite (in memory)' : `PGlite at ${dir}`,
    close: () => db.destroy(),
  };
}
