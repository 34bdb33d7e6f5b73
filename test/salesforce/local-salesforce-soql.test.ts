import type { Connection } from 'jsforce';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type LocalSalesforce, startLocalSalesforce } from './local-salesforce.ts';
import { connectWithTokens } from './local-salesforce-client.ts';

let sf: LocalSalesforce;
let conn: Connection;
beforeEach(async () => {
  sf = await startLocalSalesforce();
  conn = connectWithTokens(sf);
});
afterEach(async () => {
  await sf.close();
});

type Row = Record<string, unknown>;
const names = async (soql: string) => (await conn.query<Row>(soql)).records.map((r) => r.Name);

function seedDeals() {
  const acme = sf.userInsert('Account', { Name: 'Acme' });
  const globex = sf.userInsert('Account', { Name: 'Globex' });
  const deals: [string, string, number | null, string, string][] = [
    ['Alpha', 'Prospecting', 1000, '2026-01-15', acme],
    ['Bravo', 'Closed Won', 5000, '2026-02-01', acme],
    ['Charlie', 'Closed Lost', null, '2026-03-01', globex],
    ["D'Artagnan", 'Negotiation/Review', 2500, '2026-04-01', globex],
  ];
  for (const [Name, StageName, Amount, CloseDate, AccountId] of deals)
    sf.userInsert('Opportunity', { Name, StageName, Amount, CloseDate, AccountId });
}

describe('local Salesforce SOQL', () => {
  it('filters with comparison operators, IN, LIKE, AND/OR/NOT and parentheses', async () => {
    seedDeals();
    expect(await names('SELECT Name FROM Opportunity WHERE Amount > 1000 ORDER BY Name')).toEqual([
      'Bravo',
      "D'Artagnan",
    ]);
    expect(
      await names('SELECT Name FROM Opportunity WHERE Amount >= 1000 AND Amount <= 2500 ORDER BY Name'),
    ).toEqual(['Alpha', "D'Artagnan"]);
    expect(await names('select name from opportunity where amount = null')).toEqual(['Charlie']);
    expect(
      await names("SELECT Name FROM Opportunity WHERE StageName != 'closed won' ORDER BY Name DESC"),
    ).toEqual(["D'Artagnan", 'Charlie', 'Alpha']);
    expect(
      await names(
        "SELECT Name FROM Opportunity WHERE StageName IN ('Closed Won', 'Closed Lost') ORDER BY Name",
      ),
    ).toEqual(['Bravo', 'Charlie']);
    expect(
      await names(
        "SELECT Name FROM Opportunity WHERE StageName NOT IN ('Closed Won') AND IsClosed = false ORDER BY Name",
      ),
    ).toEqual(['Alpha', "D'Artagnan"]);
    expect(await names("SELECT Name FROM Opportunity WHERE Name LIKE 'd\\'art%'")).toEqual(["D'Artagnan"]);
    const sale = sf.userInsert('Opportunity', {
      Name: '100% off_x',
      StageName: 'Prospecting',
      CloseDate: '2026-01-01',
    });
    expect(await names("SELECT Name FROM Opportunity WHERE Name LIKE '%0\\% off\\_%'")).toEqual([
      '100% off_x',
    ]);
    expect(await names("SELECT Name FROM Opportunity WHERE Name LIKE '%\\_'")).toEqual([]);
    expect(await names("SELECT Name FROM Opportunity WHERE Name LIKE 'al_ha'")).toEqual(['Alpha']);
    sf.userDelete('Opportunity', sale);
    expect(
      await names(
        "SELECT Name FROM Opportunity WHERE (IsWon = true OR Amount < 2000) AND NOT Name = 'Alpha' ORDER BY Name",
      ),
    ).toEqual(['Bravo']);
    expect(
      await names('SELECT Name FROM Opportunity WHERE CloseDate < 2026-02-15 ORDER BY CloseDate DESC'),
    ).toEqual(['Bravo', 'Alpha']);
    expect(await names("SELECT Name FROM Opportunity WHERE Account.Name = 'Globex' ORDER BY Name")).toEqual([
      'Charlie',
      "D'Artagnan",
    ]);
  });

  it('orders with nulls first/last, applies LIMIT/OFFSET, counts, and returns relationship fields nested', async () => {
    seedDeals();
    expect(await names('SELECT Name FROM Opportunity ORDER BY Amount')).toEqual([
      'Charlie',
      'Alpha',
      "D'Artagnan",
      'Bravo',
    ]);
    expect(await names('SELECT Name FROM Opportunity ORDER BY Amount DESC NULLS FIRST LIMIT 2')).toEqual([
      'Charlie',
      'Bravo',
    ]);
    expect(await names('SELECT Name FROM Opportunity ORDER BY Name LIMIT 2 OFFSET 1')).toEqual([
      'Bravo',
      'Charlie',
    ]);
    const count = await conn.query('SELECT COUNT() FROM Opportunity WHERE IsClosed = true');
    expect(count).toMatchObject({ totalSize: 2, records: [] });
    const [row] = (
      await conn.query<Row>("SELECT Id, Account.Name, StageName FROM Opportunity WHERE Name = 'Alpha'")
    ).records;
    expect(row).toMatchObject({
      attributes: { type: 'Opportunity' },
      Account: { attributes: { type: 'Account' }, Name: 'Acme' },
      StageName: 'Prospecting',
    });
  });

  it('compares SystemModstamp with datetime literals, the polling query', async () => {
    seedDeals();
    const [first] = sf.records('Opportunity');
    const since = new Date(
      Date.parse(String(first!.SystemModstamp).replace('+0000', 'Z')) - 1000,
    ).toISOString();
    const all = await conn.query<Row>(
      `SELECT Id, StageName, SystemModstamp FROM Opportunity WHERE SystemModstamp > ${since} ORDER BY SystemModstamp, Id LIMIT 2000`,
    );
    expect(all.totalSize).toBe(4);
    const future = await conn.query(`SELECT Id FROM Opportunity WHERE SystemModstamp > 2099-01-01T00:00:00Z`);
    expect(future.totalSize).toBe(0);
    expect((await conn.query('SELECT Id FROM Opportunity WHERE CreatedDate = TODAY')).totalSize).toBe(4);
    const id = String(first!.Id);
    sf.userDelete('Opportunity', id);
    expect((await conn.query('SELECT Id FROM Opportunity')).totalSize).toBe(3);
    const withDeleted = await conn.query<Row>(`SELECT Id, IsDeleted FROM Opportunity WHERE Id = '${id}'`, {
      scanAll: true,
    });
    expect(withDeleted.records).toMatchObject([{ Id: id, IsDeleted: true }]);
  });

  it('pages through nextRecordsUrl at 2000 rows or the asked batch size, and autoFetch follows it', async () => {
    for (let i = 0; i < 2300; i++)
      sf.userInsert('Account', { Name: `Account ${String(i).padStart(4, '0')}` });
    const first = await conn.query<Row>('SELECT Id, Name FROM Account ORDER BY Name');
    expect(first).toMatchObject({ totalSize: 2300, done: false });
    expect(first.records).toHaveLength(2000);
    expect(first.nextRecordsUrl).toMatch(/\/services\/data\/v62\.0\/query\/01g\w+-2000$/);
    const raw = await conn.request<{ nextRecordsUrl: string }>(
      `/services/data/v62.0/query?q=${encodeURIComponent('SELECT Id FROM Account')}`,
    );
    expect(raw.nextRecordsUrl).toMatch(/^\/services\/data\/v62\.0\/query\/01g\w+-2000$/);
    const rest = await conn.queryMore<Row>(first.nextRecordsUrl!);
    expect(rest).toMatchObject({ done: true });
    expect(rest.records).toHaveLength(300);
    expect(rest.records[0]!.Name).toBe('Account 2000');

    const pages: number[] = [];
    const query = conn.query<Row>('SELECT Name FROM Account ORDER BY Name');
    query.on('fetch', () => pages.push(1));
    const all = await query.execute({
      autoFetch: true,
      maxFetch: 10_000,
      headers: { 'Sforce-Query-Options': 'batchSize=500' },
    });
    expect(all.records).toHaveLength(2300);
    expect(pages).toHaveLength(5);
    expect(new Set(all.records.map((r) => r.Name)).size).toBe(2300);
    await expect(conn.queryMore('/services/data/v62.0/query/01gnope-2000')).rejects.toMatchObject({
      errorCode: 'INVALID_QUERY_LOCATOR',
    });
  });

  it('answers MALFORMED_QUERY, INVALID_FIELD and INVALID_TYPE like Salesforce', async () => {
    await expect(conn.query('SELECT Id FORM Opportunity')).rejects.toMatchObject({
      errorCode: 'MALFORMED_QUERY',
    });
    await expect(conn.query('SELECT Id FROM Opportunity WHERE')).rejects.toMatchObject({
      errorCode: 'MALFORMED_QUERY',
    });
    await expect(conn.query('SELECT Bogus__c FROM Opportunity')).rejects.toMatchObject({
      errorCode: 'INVALID_FIELD',
    });
    await expect(conn.query("SELECT Id FROM Opportunity WHERE Amount = '5'")).rejects.toMatchObject({
      errorCode: 'INVALID_FIELD',
      message:
        "value of filter criterion for field 'Amount' must be of type double and should not be enclosed in quotes",
    });
    await expect(
      conn.query('SELECT Id FROM Opportunity WHERE SystemModstamp > 2026-01-01'),
    ).rejects.toMatchObject({
      errorCode: 'INVALID_FIELD',
    });
    await expect(conn.query("SELECT Id FROM Opportunity WHERE Id = 'nope'")).rejects.toMatchObject({
      errorCode: 'INVALID_QUERY_FILTER_OPERATOR',
    });
    await expect(conn.query('SELECT Id FROM Deal')).rejects.toMatchObject({ errorCode: 'INVALID_TYPE' });
  });
});
