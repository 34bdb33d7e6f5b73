import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { companyKey, SAME_COMPANY_SIMILARITY } from '../../src/registrations/company-key.ts';
import { companyDomainOfEmail, registrableDomain } from '../../src/registrations/domain-normalize.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/test-database.ts';

describe('registrableDomain', () => {
  it.each([
    ['https://www.Acme.co.uk/about', 'acme.co.uk'],
    ['acme.co.uk', 'acme.co.uk'],
    ['shop.eu.acme.com', 'acme.com'],
    ['http://user:pw@Shop.Acme.com:8080/cart?x=1#top', 'acme.com'],
    ['www.acme.com/path?q=1', 'acme.com'],
    ['acme.com.', 'acme.com'],
    ['bob@Acme.co.uk', 'acme.co.uk'],
    ['mailto:bob@acme.com', 'acme.com'],
    ['  ACME.COM  ', 'acme.com'],
    ['https://bücher.de', 'xn--bcher-kva.de'],
    // A private suffix: two GitHub Pages sites are two prospects.
    ['https://acme.github.io', 'acme.github.io'],
  ])('reads %j as %j', (input, expected) => {
    expect(registrableDomain(input)).toBe(expected);
  });

  it.each([
    '127.0.0.1',
    'http://[::1]/',
    'localhost',
    'http://localhost:3000',
    'intranet',
    'foo.invalidtld',
    'not a domain',
    '',
    '   ',
    null,
    undefined,
  ])('finds no registrable domain in %j', (input) => {
    expect(registrableDomain(input)).toBeNull();
  });

  it('takes the domain of a company mailbox, but not of a free mail provider', () => {
    expect(companyDomainOfEmail('jane@eu.acme.com')).toBe('acme.com');
    expect(companyDomainOfEmail('jane@gmail.com')).toBeNull();
    expect(companyDomainOfEmail('jane@outlook.com')).toBeNull();
    expect(companyDomainOfEmail('not-an-email')).toBeNull();
  });
});

describe('companyKey', () => {
  it.each([
    ['Acme Corp.', 'acme'],
    ['ACME Corporation', 'acme'],
    ['Acme, Inc.', 'acme'],
    ['The Acme Company', 'acme'],
    ['Acme Co. Ltd', 'acme'],
    ['Acme Pty Ltd', 'acme'],
    ['Müller GmbH & Co. KG', 'muller'],
    ['Société Générale S.A.', 'societe generale'],
    ['Smith & Jones', 'smith and jones'],
    ['Smith and Jones LLC', 'smith and jones'],
    ['Smith + Jones', 'smith and jones'],
    ['J.P. Morgan', 'jp morgan'],
    ["O'Brien Consulting", 'obrien consulting'],
    ['Coca-Cola', 'coca cola'],
    ['  Straße   Bau   AG ', 'strasse bau'],
    ['Nordisk A/S', 'nordisk'],
  ])('reduces %j to %j', (name, key) => {
    expect(companyKey(name)).toBe(key);
  });

  it('keeps a name that is nothing but a legal form, and is empty for punctuation alone', () => {
    expect(companyKey('Limited')).toBe('limited');
    expect(companyKey('Inc. Ltd')).toBe('inc');
    expect(companyKey('!!! ...')).toBe('');
  });
});

// Scored by pg_trgm in the database, as conflict detection scores them (`%` with the threshold).
describe('company name similarity', () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterAll(async () => {
    await database?.destroy();
  });

  const score = (a: string, b: string) =>
    database.handle.db.transaction().execute(async (tx) => {
      await sql`select set_config('pg_trgm.similarity_threshold', ${String(SAME_COMPANY_SIMILARITY)}, true)`.execute(
        tx,
      );
      const { rows } = await sql<{ similarity: number; same: boolean }>`
        select similarity(${a}, ${b}) as similarity, ${a} % ${b} as same`.execute(tx);
      return rows[0]!;
    });
  const same = async (a: string, b: string) => (await score(companyKey(a), companyKey(b))).same;

  it('scores identical keys 1 and keys with nothing in common 0', async () => {
    expect((await score('acme', 'acme')).similarity).toBe(1);
    expect((await score('globex', 'initech')).similarity).toBe(0);
    expect((await score('', '')).similarity).toBe(0);
    expect((await score('acme', '')).similarity).toBe(0);
  });

  it('is symmetric and between 0 and 1', async () => {
    const pairs = [
      ['acme widgets', 'acme widget'],
      ['blue sky consulting', 'blue sea consulting'],
      ['northwind traders', 'northwind'],
    ] as const;
    for (const [a, b] of pairs) {
      const { similarity } = await score(a, b);
      expect(similarity).toBe((await score(b, a)).similarity);
      expect(similarity).toBeGreaterThan(0);
      expect(similarity).toBeLessThan(1);
    }
  });

  it('sits the bar between a plural and a different word', async () => {
    // 11 of 14 trigrams shared; "blue sea" / "blue sky" share 17 of 23.
    expect((await score('acme widgets', 'acme widget')).similarity).toBeCloseTo(11 / 14, 6);
    expect((await score('blue sky consulting', 'blue sea consulting')).similarity).toBeLessThan(
      SAME_COMPANY_SIMILARITY,
    );
  });

  it('takes spelling variants of one company for the same company', async () => {
    expect(await same('Acme Corp.', 'ACME Corporation')).toBe(true);
    expect(await same('Acme Widgets Ltd', 'Acme Widget')).toBe(true);
    expect(await same('Smith & Jones', 'Smith and Jones LLC')).toBe(true);
    expect(await same('Société Générale', 'Societe Generale SA')).toBe(true);
  });

  it('keeps clearly different companies apart', async () => {
    expect(await same('Acme Foods', 'Acme Bank')).toBe(false);
    expect(await same('Globex', 'Initech')).toBe(false);
    expect(await same('Acme', 'Acme Holdings')).toBe(false);
    expect(await same('Umbrella Corporation', 'Umbrella Academy')).toBe(false);
  });
});
