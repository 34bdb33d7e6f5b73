import { randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import pg from 'pg';
import type { Db } from '../src/db/database.ts';
import { migrateUp } from '../src/db/migrator.ts';
import { type DatabaseHandle, openDatabase } from '../src/db/open-database.ts';

/** Shared by the ledger benchmarks: a throw-away PostgreSQL database with a tenant, a program and partners. */
export interface LedgerBenchDatabase {
  handle: DatabaseHandle;
  db: Db;
  tenantId: string;
  programId: string;
  partnerIds: string[];
  drop(): Promise<void>;
}

/** DATABASE_URL when set and not blank: the ledger benchmarks measure PostgreSQL only. */
export function postgresUrl(): string | undefined {
  const url = process.env.DATABASE_URL?.trim();
  return url ? url : undefined;
}

export async function createLedgerBenchDatabase(
  baseUrl: string,
  options: { partners: number; poolMax: number },
): Promise<LedgerBenchDatabase> {
  const name = `bench_${randomBytes(6).toString('hex')}`;
  await admin(baseUrl, `create database ${name}`);
  const url = new URL(baseUrl);
  url.pathname = `/${name}`;
  const drop = () => admin(baseUrl, `drop database if exists ${name} with (force)`);
  let handle: DatabaseHandle | undefined;
  try {
    handle = await openDatabase({ databaseUrl: url.toString(), poolMax: options.poolMax });
    const db = handle.db;
    await migrateUp(db);
    const tenant = await db
      .insertInto('tenants')
      .values({ name: 'ledger bench' })
      .returning('id')
      .executeTakeFirstOrThrow();
    const program = await db
      .insertInto('programs')
      .values({ tenant_id: tenant.id, name: 'bench program', currency: 'USD' })
      .returning('id')
      .executeTakeFirstOrThrow();
    const { rows } = await sql<{ id: string }>`
      insert into partners (tenant_id, name, kind, status)
      select ${tenant.id}::uuid, 'partner ' || n, 'referral', 'active' from generate_series(1, ${options.partners}) n
      returning id`.execute(db);
    const opened = handle;
    return {
      handle,
      db,
      tenantId: tenant.id,
      programId: program.id,
      partnerIds: rows.map((r) => r.id),
      async drop() {
        await opened.close();
        await drop();
      },
    };
  } catch (error) {
    await handle?.close().catch(() => {});
    await drop().catch(() => {});
    throw error;
  }
}

async function admin(baseUrl: string, statement: string): Promise<void> {
  const client = new pg.Client({ connectionString: baseUrl, connectionTimeoutMillis: 5_000 });
  await client.connect();
  try {
    await client.query(statement);
  } finally {
    await client.end();
  }
}
