import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../../src/app.ts';
import { ManualClock } from '../../src/clock.ts';
import type { Db } from '../../src/db/database.ts';
import { makePartner, makeTier } from '../factories/partner.factory.ts';
import { makeTenant, type TenantWithKeys } from '../factories/tenant.factory.ts';
import { runCli } from '../helpers/cli.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/test-database.ts';
import type { TestRuntime } from '../helpers/test-runtime.ts';
import { openWorld, type TestWorld } from '../helpers/test-world.ts';

const HEADER =
  'external_id,name,kind,tier,status,parent_external_id,contact_name,contact_email,payout_method,payout_reference';

/** Rows by line number; line 1 is the header. */
const MIXED = [
  HEADER,
  'SUB,Sub Agency,delivery,,active,LEAD,Sam Sub,Sam@Sub.Example,,', // 2: parent defined further down
  'BAD1,,reseller,Diamond,,,,,,', // 3: no name, bad kind, unknown tier
  'LEAD,Lead Agency,referral,gold,active,,Lee Lead,lee@lead.example,bank_transfer,DE00 1234', // 4
  '"QUOTE","Multi', // 5: a quoted name over two lines
  'line Co",consultancy,,,SUB,,,,', // 6
  'ORPHAN,Orphan,referral,,,NOWHERE,,,,', // 7: unknown parent
  'LEAD,Duplicate Lead,referral,,,,,,,', // 8: external_id used on line 4
  'SHORT,Short row,referral', // 9: too few fields
  'MAILBAD,Mail,affiliate,,,,Bob,not-an-email,,', // 10: bad email
].join('\n');

async function partnerByExternalId(db: Db, tenantId: string, externalId: string) {
  return db
    .selectFrom('partners')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('external_id', '=', externalId)
    .executeTakeFirst();
}

describe('importing partners from CSV over the API', () => {
  let world: TestWorld;
  let runtime: TestRuntime;
  let app: App;
  let tenant: TenantWithKeys;
  const clock = new ManualClock(new Date('2027-07-01T09:00:00.000Z'));

  beforeAll(async () => {
    world = await openWorld({ clock });
    ({ runtime, app } = world);
    tenant = await makeTenant(runtime.db);
    await makeTier(runtime.db, tenant.tenant.id, 'Gold', 3);
  });
  afterAll(async () => {
    await world?.close();
  });

  const importCsv = (csv: string, as: TenantWithKeys = tenant) =>
    app.inject({
      method: 'POST',
      url: '/api/v1/partners/import',
      headers: { ...as.as('program_manager'), 'content-type': 'text/csv' },
      payload: csv,
    });

  it('lands the good rows, including forward parent references, and reports each bad row by line', async () => {
    const response = await importCsv(MIXED);
    expect(response.statusCode).toBe(200);
    const report = response.json();
    expect({ created: report.created, updated: report.updated, unchanged: report.unchanged }).toEqual({
      created: 3,
      updated: 0,
      unchanged: 0,
    });
    expect(report.errors.map((e: { line: number }) => e.line)).toEqual([3, 7, 8, 9, 10]);
    const reason = (line: number) => report.errors.find((e: { line: number }) => e.line === line)?.reason;
    expect(reason(3)).toMatch(/name is empty/);
    expect(reason(3)).toMatch(/kind "reseller"/);
    expect(reason(3)).toMatch(/tier "Diamond" does not exist/);
    expect(reason(7)).toMatch(/parent "NOWHERE" is neither in this file nor an existing partner/);
    expect(reason(8)).toMatch(/already appears on line 4/);
    expect(reason(9)).toMatch(/expected 10 fields, found 3/);
    expect(reason(10)).toMatch(/not-an-email/);
    expect(report.rows.map((r: { line: number; outcome: string }) => [r.line, r.outcome])).toEqual([
      [2, 'created'],
      [3, 'error'],
      [4, 'created'],
      [5, 'created'],
      [7, 'error'],
      [8, 'error'],
      [9, 'error'],
      [10, 'error'],
    ]);

    const t = tenant.tenant.id;
    const lead = (await partnerByExternalId(runtime.db, t, 'LEAD'))!;
    const sub = (await partnerByExternalId(runtime.db, t, 'SUB'))!;
    const quote = (await partnerByExternalId(runtime.db, t, 'QUOTE'))!;
    expect(lead).toMatchObject({ name: 'Lead Agency', kind: 'referral', status: 'active', parent_id: null });
    expect(lead.payout_details).toEqual({ method: 'bank_transfer', reference: 'DE00 1234' });
    const gold = await runtime.db
      .selectFrom('tiers')
      .select('id')
      .where('tenant_id', '=', t)
      .where('name', '=', 'Gold')
      .executeTakeFirstOrThrow();
    expect(lead.tier_id).toBe(gold.id);
    expect(sub.parent_id).toBe(lead.id);
    expect(quote).toMatchObject({
      name: 'Multi\nline Co',
      kind: 'consultancy',
      status: 'invited',
      parent_id: sub.id,
    });
    expect(await partnerByExternalId(runtime.db, t, 'BAD1')).toBeUndefined();
    expect(await partnerByExternalId(runtime.db, t, 'ORPHAN')).toBeUndefined();
    const contacts = await runtime.db
      .selectFrom('partner_contacts')
      .select(['partner_id', 'email'])
      .where('tenant_id', '=', t)
      .execute();
    expect(contacts).toEqual(
      expect.arrayContaining([
        { partner_id: sub.id, email: 'sam@sub.example' },
        { partner_id: lead.id, email: 'lee@lead.example' },
      ]),
    );
    const created = await runtime.db
      .selectFrom('audit_log')
      .select('subject_id')
      .where('tenant_id', '=', t)
      .where('action', '=', 'partner.created')
      .execute();
    expect(created.map((a) => a.subject_id).sort()).toEqual([lead.id, sub.id, quote.id].sort());
  });

  it('changes nothing when the same file is imported again', async () => {
    const t = tenant.tenant.id;
    const before = await runtime.db
      .selectFrom('partners')
      .selectAll()
      .where('tenant_id', '=', t)
      .orderBy('id')
      .execute();
    const auditsBefore = await runtime.db
      .selectFrom('audit_log')
      .select('id')
      .where('tenant_id', '=', t)
      .execute();
    clock.advance(3_600_000);
    const report = (await importCsv(MIXED)).json();
    expect(report).toMatchObject({ created: 0, updated: 0, unchanged: 3 });
    expect(report.errors.map((e: { line: number }) => e.line)).toEqual([3, 7, 8, 9, 10]);
    const after = await runtime.db
      .selectFrom('partners')
      .selectAll()
      .where('tenant_id', '=', t)
      .orderBy('id')
      .execute();
    expect(after).toEqual(before);
    const auditsAfter = await runtime.db
      .selectFrom('audit_log')
      .select('action')
      .where('tenant_id', '=', t)
      .execute();
    // Only the import's own summary entry is new.
    expect(auditsAfter.length).toBe(auditsBefore.length + 1);
  });

  it('updates and moves matched partners, reporting them as updated', async () => {
    const t = tenant.tenant.id;
    const csv = [
      'external_id,name,kind,parent_external_id,contact_name,contact_email',
      'LEAD,Lead Agency Ltd,referral,,Lee Lead,lee@lead.example',
      'QUOTE,Multi line Co,consultancy,LEAD,,',
      'SUB,Sub Agency,delivery,LEAD,Sam Sub,sam@sub.example',
    ].join('\r\n');
    const report = (await importCsv(csv)).json();
    expect(report).toMatchObject({ created: 0, updated: 2, unchanged: 1, errors: [] });
    const lead = (await partnerByExternalId(runtime.db, t, 'LEAD'))!;
    const quote = (await partnerByExternalId(runtime.db, t, 'QUOTE'))!;
    expect(lead.name).toBe('Lead Agency Ltd');
    // Columns the file lacks are left alone.
    expect(lead.status).toBe('active');
    expect(lead.payout_details).toEqual({ method: 'bank_transfer', reference: 'DE00 1234' });
    expect(quote.parent_id).toBe(lead.id);
    const moved = await runtime.db
      .selectFrom('audit_log')
      .select(['action', 'source'])
      .where('subject_id', '=', quote.id)
      .where('action', '=', 'partner.moved')
      .execute();
    expect(moved).toHaveLength(1);
  });

  it('fails rows whose parent references make a cycle, in the file or with partners already stored', async () => {
    const owner = await makeTenant(runtime.db);
    const t = owner.tenant.id;
    const x = await runtime.db
      .insertInto('partners')
      .values({ tenant_id: t, name: 'X', kind: 'referral', external_id: 'X' })
      .returning('id')
      .executeTakeFirstOrThrow();
    await runtime.db
      .insertInto('partners')
      .values({ tenant_id: t, name: 'Y', kind: 'referral', external_id: 'Y', parent_id: x.id })
      .execute();
    const csv = [
      'external_id,name,kind,parent_external_id',
      'CA,Cycle A,referral,CB', // 2
      'CB,Cycle B,referral,CA', // 3
      'CC,Below the cycle,referral,CA', // 4
      'SELF,Self,referral,SELF', // 5
      'X,X,referral,Y', // 6: Y is stored under X
      'FINE,Fine,referral,Y', // 7
    ].join('\n');
    const report = (await importCsv(csv, owner)).json();
    expect(report.created).toBe(1);
    expect(report.errors.map((e: { line: number }) => e.line)).toEqual([2, 3, 4, 5, 6]);
    const reason = (line: number) => report.errors.find((e: { line: number }) => e.line === line)?.reason;
    for (const line of [2, 3, 6]) expect(reason(line)).toMatch(/cycle/);
    expect(reason(2)).toContain('CA → CB → CA');
    expect(reason(4)).toMatch(/parent "CA" \(line 2\) has errors/);
    expect(reason(5)).toMatch(/own parent/);
    expect((await partnerByExternalId(runtime.db, t, 'X'))?.parent_id).toBeNull();
    const storedY = (await partnerByExternalId(runtime.db, t, 'Y'))!;
    expect(storedY.parent_id).toBe(x.id);
    expect((await partnerByExternalId(runtime.db, t, 'FINE'))?.parent_id).toBe(storedY.id);
    for (const failed of ['CA', 'CB', 'CC', 'SELF']) {
      expect(await partnerByExternalId(runtime.db, t, failed), failed).toBeUndefined();
    }

    // Swapping X and Y in one file is legal: Y goes to the top first, then X under it.
    const swap = (
      await importCsv('external_id,name,kind,parent_external_id\nX,X,referral,Y\nY,Y,referral,\n', owner)
    ).json();
    expect(swap).toMatchObject({ updated: 2, errors: [] });
    const y = (await partnerByExternalId(runtime.db, t, 'Y'))!;
    expect(y.parent_id).toBeNull();
    expect((await partnerByExternalId(runtime.db, t, 'X'))?.parent_id).toBe(y.id);
  });

  it('refuses a file without a usable header as a whole, naming every problem', async () => {
    const owner = await makeTenant(runtime.db);
    const unknown = await importCsv('external_id,name,kind,tierr,colour\nA,A,referral,,red\n', owner);
    expect(unknown.statusCode).toBe(400);
    expect(unknown.json().error.code).toBe('validation_failed');
    expect(unknown.json().error.details.errors).toEqual([
      { line: 1, reason: expect.stringContaining('unknown column "tierr"') },
      { line: 1, reason: expect.stringContaining('unknown column "colour"') },
    ]);
    const headless = await importCsv('A1,Acme,referral\n', owner);
    expect(headless.statusCode).toBe(400);
    expect(headless.json().error.details.fields.map((f: { message: string }) => f.message)).toEqual(
      expect.arrayContaining([expect.stringContaining('lacks the column "external_id"')]),
    );
    const broken = await importCsv('external_id,name,kind\n"A1,Acme,referral\n', owner);
    expect(broken.statusCode).toBe(400);
    const json = await app.inject({
      method: 'POST',
      url: '/api/v1/partners/import',
      headers: owner.as('admin'),
      payload: { external_id: 'A' },
    });
    expect(json.statusCode).toBe(415);
    const none = await runtime.db
      .selectFrom('partners')
      .select('id')
      .where('tenant_id', '=', owner.tenant.id)
      .execute();
    expect(none).toHaveLength(0);
  });
});

describe('partnerloop partners import', { timeout: 120_000 }, () => {
  let database: TestDatabase;
  let tenantId: string;
  const dir = mkdtempSync(path.join(tmpdir(), 'pl-import-'));

  beforeAll(async () => {
    database = await createTestDatabase();
    tenantId = (await makeTenant(database.handle.db)).tenant.id;
    await makePartner(database.handle.db, tenantId, { name: 'Stored parent' }).then((p) =>
      database.handle.db
        .updateTable('partners')
        .set({ external_id: 'STORED' })
        .where('id', '=', p.id)
        .execute(),
    );
    // The CLI opens the database itself; PGlite allows one process at a time.
    await database.handle.close();
  });
  afterAll(async () => {
    await database?.destroy();
  });

  const env = () => ({ ...database.env, DATA_DIR: database.env.DATA_DIR ?? dir });

  it('imports a file, prints the report, and exits 1 when a row failed', async () => {
    const file = path.join(dir, 'partners.csv');
    writeFileSync(
      file,
      ['external_id,name,kind,parent_external_id', 'C1,Child,referral,STORED', 'C2,Broken,nonsense,'].join(
        '\n',
      ),
    );
    const first = await runCli(['partners', 'import', '--tenant', tenantId, file], env());
    expect(first.stderr).toBe('');
    expect(first.code).toBe(1);
    expect(first.stdout).toContain('created 1, updated 0, unchanged 0, errors 1');
    expect(first.stdout).toMatch(/^line 3: kind "nonsense"/m);

    const good = path.join(dir, 'good.csv');
    writeFileSync(good, ['external_id,name,kind,parent_external_id', 'C1,Child,referral,STORED'].join('\n'));
    const again = await runCli(['partners', 'import', '--json', '--tenant', tenantId, good], env());
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ created: 0, updated: 0, unchanged: 1, errors: [] });

    const missing = await runCli(
      ['partners', 'import', '--tenant', '00000000-0000-4000-8000-000000000000', good],
      env(),
    );
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('--tenant: no tenant');

    const db = (await database.reopen()).db;
    const child = await partnerByExternalId(db, tenantId, 'C1');
    const parent = await partnerByExternalId(db, tenantId, 'STORED');
    expect(child?.parent_id).toBe(parent?.id);
    expect(await partnerByExternalId(db, tenantId, 'C2')).toBeUndefined();
    const audit = await db
      .selectFrom('audit_log')
      .select(['actor_type', 'source'])
      .where('subject_id', '=', child!.id)
      .executeTakeFirstOrThrow();
    expect(audit).toEqual({ actor_type: 'cli', source: 'cli' });
  });
});
