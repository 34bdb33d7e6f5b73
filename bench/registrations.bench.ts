import { randomBytes, randomInt } from 'node:crypto';
import http from 'node:http';
import { sql } from 'kysely';
import pg from 'pg';
import type { Db } from '../src/db/database.ts';
import { openDatabase } from '../src/db/open-database.ts';
import { createApiKey } from '../src/tenants/api-key.service.ts';
import {
  type BenchContext,
  benchSecrets,
  errorMessage,
  makeTempDir,
  median,
  percentile,
  removeDir,
  round,
  settleAfterBulkLoad,
} from './lib.ts';
import { type ServiceProcess, startServiceProcess } from './service-process.ts';

const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const EXISTING = 100_000;
const SUBMISSIONS = 2_000;
/** Before each level, untimed: a new API process runs its first requests unoptimised (V8, caches). */
const WARMUP = 500;
/**
 * Requests in flight: each level in turn on each run's database and API process, each reported
 * with its own figures, from light load to the two cores saturated.
 */
const LEVELS = (process.env.BENCH_CONCURRENCY ?? '2,4,8').split(',').map(Number);
const PARTNERS = 20;
const GOAL_P99_MS = 50;
const API_READY_TIMEOUT_MS = 60_000;
/** Every 10th timed submission names an existing active claim's domain (a conflict or a duplicate). */
const REPEAT_EVERY = 10;
/** Generous, so that a slow machine still finishes (and a regression shows as a figure, not a hang). */
const RUN_TIMEOUT_MS = 600_000;

// Company names as people write them: a distinctive word, often an industry word, a legal form.
const SYLLABLES = 'ka lo mi ra ve to su ne pa di zo be fu ga hi jo ku ly mo ni'.split(' ');
/*
 * Word n is six syllables spelling (n * 48271 + 11) mod 20^6 in base 20: a bijection (48271 is prime
 * to 20^6), so every n has its own word, and consecutive n are spread over a space 640 times larger
 * than the 100,000 loaded, so two names rarely look alike. The SQL below spells the same words.
 */
const WORD_SPACE = 20 ** 6;
const wordIndex = (n: number) => (n * 48271 + 11) % WORD_SPACE;
const INDUSTRIES = ['analytics', 'systems', 'logistics', 'consulting', 'health', 'foods', 'energy', 'media'];
const INDUSTRIES_2 = ['software', 'labs', 'capital', 'robotics', 'studio', 'networks', 'security', 'travel'];
const TLDS = ['com', 'io', 'co.uk', 'de', 'fr', 'net', 'com.au', 'nl'];
const FIRST = ['anna', 'ben', 'chloe', 'dev', 'emma', 'finn', 'grace', 'hugo', 'ines', 'jack'];
const LAST = ['smith', 'jones', 'brown', 'lee', 'garcia', 'martin', 'muller', 'rossi', 'kim', 'nguyen'];
const SUFFIXES = ['Inc', 'Ltd', 'GmbH', 'LLC', 'SAS', 'BV', 'Pty Ltd', ''];

interface Fixture {
  url: string;
  drop(): Promise<void>;
  tenantId: string;
  programId: string;
  partnerIds: string[];
  adminKey: string;
  /** Active claims to submit again: half by their own partner (duplicate), half by another (conflict). */
  active: { partnerId: string; domain: string; company: string }[];
}

/**
 * Registrations submitted per second through `POST /api/v1/registrations` (admin key, real HTTP to
 * the API role in its own process, at each level of requests in flight), with conflict detection
 * against a tenant that already holds 100,000 registrations. PostgreSQL only; a fresh database per run.
 */
export async function registrations(ctx: BenchContext): Promise<void> {
  const baseUrl = process.env.DATABASE_URL?.trim();
  if (!baseUrl) {
    ctx.log('DATABASE_URL not set: skipping');
    ctx.report({
      bench: 'registrations',
      skipped: 'DATABASE_URL is not set; this benchmark measures conflict detection on PostgreSQL',
    });
    return;
  }
  if (LEVELS.some((level) => !Number.isInteger(level) || level < 1))
    throw new Error(`BENCH_CONCURRENCY must list whole numbers of requests in flight, not "${LEVELS}"`);
  const byLevel = new Map<number, RunResult[]>(LEVELS.map((level) => [level, []]));
  for (let run = 1; run <= RUNS; run++) {
    for (const [level, result] of await oneRun(ctx, baseUrl)) {
      byLevel.get(level)!.push(result);
      ctx.log(
        `run ${run}/${RUNS}, ${level} in flight: ${SUBMISSIONS} submissions in ${round(result.ms)} ms = ` +
          `${round(result.perSec)}/s, p50 ${round(result.p50, 1)} ms, p99 ${round(result.p99, 1)} ms, ` +
          JSON.stringify(result.outcomes),
      );
    }
  }
  for (const [level, runs] of byLevel) {
    const p99 = median(runs.map((r) => r.p99));
    ctx.report({
      bench: 'registrations',
      db: 'postgres',
      existingRegistrations: EXISTING,
      submissionsPerRun: SUBMISSIONS,
      inFlight: level,
      runs: RUNS,
      medianSubmissionsPerSec: round(median(runs.map((r) => r.perSec))),
      p50Ms: round(median(runs.map((r) => r.p50)), 1),
      p99Ms: round(p99, 1),
      goalP99Ms: GOAL_P99_MS,
      metGoal: p99 < GOAL_P99_MS,
      samplesSubmissionsPerSec: runs.map((r) => round(r.perSec)),
      samplesP50Ms: runs.map((r) => round(r.p50, 1)),
      samplesP99Ms: runs.map((r) => round(r.p99, 1)),
      outcomes: runs[runs.length - 1]?.outcomes,
    });
  }
}

interface RunResult {
  ms: number;
  perSec: number;
  p50: number;
  p99: number;
  outcomes: Record<string, number>;
}

async function oneRun(ctx: BenchContext, baseUrl: string): Promise<Map<number, RunResult>> {
  const fixture = await createFixture(ctx, baseUrl);
  try {
    return await submitThroughApi(ctx, fixture);
  } finally {
    await fixture.drop().catch((error) => ctx.log(`dropping the database failed: ${errorMessage(error)}`));
  }
}

/**
 * Starts the API role (`partnerloop api`, its own process, as deployed) on the fixture's database and
 * times the submissions from this process: the load generator does not share the server's event loop.
 */
async function submitThroughApi(ctx: BenchContext, fixture: Fixture): Promise<Map<number, RunResult>> {
  const dataDir = await makeTempDir('registrations');
  let service: ServiceProcess | undefined;
  const agent = new http.Agent({ keepAlive: true, maxSockets: Math.max(...LEVELS) });
  try {
    // The API role: its own pool (10 connections), no workers and no outbox relay; no Redis.
    service = await startServiceProcess(
      'api',
      {
        PATH: process.env.PATH,
        NODE_ENV: 'development',
        LOG_LEVEL: 'warn',
        HOST: '127.0.0.1',
        DATA_DIR: dataDir,
        DATABASE_URL: fixture.url,
        PUBLIC_URL: 'http://127.0.0.1',
        ...benchSecrets(),
      },
      API_READY_TIMEOUT_MS,
    );
    const port = service.port;
    const post = (body: object) => postJson(agent, port, fixture.adminKey, body);
    const results = new Map<number, RunResult>();
    for (const [index, level] of LEVELS.entries()) {
      // Each level submits prospects of its own and repeats claims of its own.
      results.set(level, await timeLevel(ctx, post, submissions(fixture, index), level));
    }
    return results;
  } finally {
    agent.destroy();
    await service
      ?.stop()
      .catch((error: unknown) => ctx.log(`stopping the API failed: ${errorMessage(error)}`));
    await removeDir(dataDir);
  }
}

/** A warm-up, then SUBMISSIONS timed submissions, `inFlight` at a time. */
async function timeLevel(
  ctx: BenchContext,
  post: (body: object) => Promise<{ status: number; body: string }>,
  make: ReturnType<typeof submissions>,
  inFlight: number,
): Promise<RunResult> {
  await drive(WARMUP, inFlight, async (i) => {
    await post(make.fresh(SUBMISSIONS + i));
  });
  const latencies: number[] = [];
  const outcomes: Record<string, number> = {};
  const started = performance.now();
  await drive(SUBMISSIONS, inFlight, async (i) => {
    const t0 = performance.now();
    const response = await post(i % REPEAT_EVERY === 0 ? make.repeat(i / REPEAT_EVERY) : make.fresh(i));
    latencies.push(performance.now() - t0);
    if (response.status !== 201) throw new Error(`HTTP ${response.status}: ${response.body.slice(0, 300)}`);
    const outcome = (JSON.parse(response.body) as { checkOutcome: string }).checkOutcome;
    outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;
    if (latencies.length % 1000 === 0)
      ctx.log(`${inFlight} in flight: ${latencies.length}/${SUBMISSIONS} submitted`);
  });
  const ms = performance.now() - started;
  return {
    ms,
    perSec: (SUBMISSIONS / ms) * 1000,
    p50: percentile(latencies, 0.5),
    p99: percentile(latencies, 0.99),
    outcomes,
  };
}

/** Runs `count` tasks, `inFlight` at a time. */
async function drive(count: number, inFlight: number, task: (i: number) => Promise<void>): Promise<void> {
  // Stop (and fail) rather than hang, so the caller still closes the app and drops the database.
  const deadline = performance.now() + RUN_TIMEOUT_MS;
  let next = 0;
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      for (let i = next++; i < count; i = next++) {
        if (performance.now() > deadline)
          throw new Error(`not done after ${RUN_TIMEOUT_MS} ms (${i}/${count})`);
        await task(i);
      }
    }),
  );
}

function postJson(
  agent: http.Agent,
  port: number,
  key: string,
  body: object,
): Promise<{ status: number; body: string }> {
  const payload = JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const request = http.request(
      {
        agent,
        host: '127.0.0.1',
        port,
        method: 'POST',
        path: '/api/v1/registrations',
        headers: {
          authorization: `Bearer ${key}`,
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(payload),
        },
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () =>
          resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }),
        );
        response.on('error', reject);
      },
    );
    request.on('error', reject);
    request.end(payload);
  });
}

/** The word of n; the loaded registrations use n < EXISTING, new submissions n ≥ EXISTING. */
function word(n: number): string {
  let text = '';
  for (let m = wordIndex(n), k = 0; k < 6; k++, m = Math.floor(m / 20)) text += SYLLABLES[m % 20]!;
  return text;
}

const pick = <T>(items: readonly T[]): T => items[randomInt(items.length)]!;
const capital = (word: string) => word.charAt(0).toUpperCase() + word.slice(1);

/** Request bodies: `fresh(n)` a prospect nobody registered, `repeat(r)` an active claim's domain again. */
function submissions(fixture: Fixture, level: number) {
  const value = () => (randomInt(500) + 1) * 100_000;
  const fresh = level * (SUBMISSIONS + WARMUP);
  const repeats = level * Math.ceil(SUBMISSIONS / REPEAT_EVERY);
  return {
    fresh(n: number) {
      const name = word(EXISTING + fresh + n);
      const industry = Math.random() < 0.6 ? pick([...INDUSTRIES, ...INDUSTRIES_2]) : null;
      const domain = `${name}${industry ? `-${industry}` : ''}.${pick(TLDS)}`;
      return {
        programId: fixture.programId,
        partnerId: pick(fixture.partnerIds),
        companyName: [capital(name), industry && capital(industry), pick(SUFFIXES)].filter(Boolean).join(' '),
        website: `https://www.${domain}/`,
        contactName: `${capital(pick(FIRST))} ${capital(pick(LAST))}`,
        contactEmail: `${pick(FIRST)}.${pick(LAST)}@${domain}`,
        estimatedValue: value(),
        expectedClose: '2027-06-30',
      };
    },
    repeat(r: number) {
      const claim = fixture.active[(repeats + r) % fixture.active.length]!;
      // Every other repeat by the claim's own partner (duplicate_of), the rest by another (conflict_with).
      const other = fixture.partnerIds.find((id) => id !== claim.partnerId)!;
      return {
        programId: fixture.programId,
        partnerId: r % 2 === 0 ? claim.partnerId : other,
        companyName: claim.company,
        website: `https://www.${claim.domain}/`,
        contactEmail: `${pick(FIRST)}.${pick(LAST)}@${claim.domain}`,
        estimatedValue: value(),
      };
    },
  };
}

/** A new database with a tenant, an admin key, one program, 20 enrolled partners and 100,000 registrations. */
async function createFixture(ctx: BenchContext, baseUrl: string): Promise<Fixture> {
  const name = `bench_${randomBytes(6).toString('hex')}`;
  await admin(baseUrl, `create database ${name}`);
  const url = new URL(baseUrl);
  url.pathname = `/${name}`;
  const drop = () => admin(baseUrl, `drop database if exists ${name} with (force)`);
  const handle = await openDatabase({ databaseUrl: url.toString(), poolMax: 2 });
  try {
    const { migrateUp } = await import('../src/db/migrator.ts');
    await migrateUp(handle.db);
    const started = performance.now();
    const fixture = await load(handle.db);
    ctx.log(`loaded ${EXISTING} registrations in ${round(performance.now() - started)} ms`);
    return { ...fixture, url: url.toString(), drop };
  } catch (error) {
    await drop().catch(() => {});
    throw error;
  } finally {
    await handle.close();
  }
}

async function load(db: Db): Promise<Omit<Fixture, 'url' | 'drop'>> {
  const tenant = await db
    .insertInto('tenants')
    .values({ name: 'registrations bench' })
    .returning('id')
    .executeTakeFirstOrThrow();
  const adminKey = (await createApiKey(db, { tenantId: tenant.id, role: 'admin', name: 'bench' })).key;
  const program = await db
    .insertInto('programs')
    .values({ tenant_id: tenant.id, name: 'Resellers', currency: 'USD' })
    .returning('id')
    .executeTakeFirstOrThrow();
  const { rows: partners } = await sql<{ id: string }>`
    insert into partners (tenant_id, name, kind, status)
    select ${tenant.id}::uuid, 'Partner ' || n, 'referral', 'active' from generate_series(1, ${PARTNERS}) n
    returning id`.execute(db);
  const partnerIds = partners.map((p) => p.id);
  await sql`
    insert into enrolments (tenant_id, program_id, partner_id, referral_code)
    select ${tenant.id}::uuid, ${program.id}::uuid, id, 'BENCH' || row_number() over (order by id)
    from partners where tenant_id = ${tenant.id}::uuid`.execute(db);

  // n → its word (see word()); 60% of names add an industry word shared with many others; the
  // status mix of a program that has run for half a year: 30% submitted, 30% approved (protected),
  // 15% rejected, 10% won, 10% lost, 5% expired.
  const industries = [...INDUSTRIES, ...INDUSTRIES_2];
  await sql`
    insert into registrations (tenant_id, program_id, partner_id, source, company_name, company_key, website,
      domain, contact_name, contact_email, estimated_value, currency, status, approved_at, approved_by,
      protected_until, created_at, updated_at)
    select ${tenant.id}::uuid, ${program.id}::uuid, (${partnerIds}::uuid[])[1 + n % ${PARTNERS}],
      case when n % 4 = 0 then 'form' else 'api' end,
      initcap(word) || coalesce(' ' || initcap(industry), '') || ' ' || suffix,
      word || coalesce(' ' || industry, ''),
      'https://www.' || domain || '/', domain,
      initcap(first) || ' ' || initcap(last), first || '.' || last || '@' || domain,
      (1 + n % 500) * 100000, 'USD', status,
      case when status in ('approved', 'won', 'lost', 'expired') then created + interval '1 day' end,
      case when status in ('approved', 'won', 'lost', 'expired') then 'bench' end,
      case when status = 'approved' then now() + (1 + n % 89) * interval '1 day'
           when status in ('won', 'lost', 'expired') then created + interval '91 days' end,
      created, created
    from (
      select n, word, industry, word || coalesce('-' || industry, '') || '.' || (${TLDS}::text[])[1 + n % 8] as domain,
        (${FIRST}::text[])[1 + n % 10] as first, (${LAST}::text[])[1 + (n / 10) % 10] as last,
        (${['Inc', 'Ltd', 'GmbH', 'LLC']}::text[])[1 + (n / 3) % 4] as suffix,
        case when n % 20 < 6 then 'submitted' when n % 20 < 12 then 'approved' when n % 20 < 15 then 'rejected'
             when n % 20 < 17 then 'won' when n % 20 < 19 then 'lost' else 'expired' end as status,
        now() - (n % 180) * interval '1 day' - (n % 86400) * interval '1 second' as created
      from (
        select n, s[1 + m % 20] || s[1 + (m / 20) % 20] || s[1 + (m / 400) % 20] || s[1 + (m / 8000) % 20]
            || s[1 + (m / 160000) % 20] || s[1 + (m / 3200000) % 20] as word,
          case when n % 5 < 3 then (${industries}::text[])[1 + (n / 7) % ${industries.length}] end as industry
        from (select n, (n::bigint * 48271 + 11) % ${WORD_SPACE} as m from generate_series(0, ${EXISTING - 1}) n) g,
          (select ${SYLLABLES}::text[] as s) syllables
      ) words
    ) rows`.execute(db);
  await settleAfterBulkLoad(db);
  const active = await db
    .selectFrom('registrations')
    .select(['partner_id', 'domain', 'company_name'])
    .where('tenant_id', '=', tenant.id)
    .where('status', 'in', ['submitted', 'approved'])
    .orderBy(sql`md5(id::text)`)
    .limit(1_000)
    .execute();
  return {
    tenantId: tenant.id,
    programId: program.id,
    partnerIds,
    adminKey,
    active: active.map((r) => ({ partnerId: r.partner_id, domain: r.domain ?? '', company: r.company_name })),
  };
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
