import { describe, expect, it } from 'vitest';
import {
  companyKey,
  keySimilarity,
  keyWords,
  SAME_COMPANY_SIMILARITY,
} from '../../src/registrations/company-key.ts';
import { companyDomainOfEmail, registrableDomain } from '../../src/registrations/domain-normalize.ts';

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

  it('pre-filters on meaningful words only', () => {
    expect(keyWords('smith and jones')).toEqual(['smith', 'jones']);
    expect(keyWords('acme acme')).toEqual(['acme']);
  });
});

describe('company name similarity', () => {
  const same = (a: string, b: string) =>
    keySimilarity(companyKey(a), companyKey(b)) >= SAME_COMPANY_SIMILARITY;

  it('scores identical keys 1 and keys with nothing in common 0', () => {
    expect(keySimilarity('acme', 'acme')).toBe(1);
    expect(keySimilarity('globex', 'initech')).toBe(0);
    expect(keySimilarity('', '')).toBe(0);
    expect(keySimilarity('acme', '')).toBe(0);
  });

  it('is symmetric and between 0 and 1', () => {
    const pairs = [
      ['acme widgets', 'acme widget'],
      ['blue sky consulting', 'blue sea consulting'],
      ['northwind traders', 'northwind'],
    ] as const;
    for (const [a, b] of pairs) {
      const score = keySimilarity(a, b);
      expect(score).toBe(keySimilarity(b, a));
      expect(score).toBeGreaterThan(0);
      expect(score).toBeLessThan(1);
    }
  });

  it('takes spelling variants of one company for the same company', () => {
    expect(same('Acme Corp.', 'ACME Corporation')).toBe(true);
    expect(same('Acme Widgets Ltd', 'Acme Widget')).toBe(true);
    expect(same('Smith & Jones', 'Smith and Jones LLC')).toBe(true);
    expect(same('Société Générale', 'Societe Generale SA')).toBe(true);
  });

  it('keeps clearly different companies apart', () => {
    expect(same('Acme Foods', 'Acme Bank')).toBe(false);
    expect(same('Globex', 'Initech')).toBe(false);
    expect(same('Acme', 'Acme Holdings')).toBe(false);
    expect(same('Umbrella Corporation', 'Umbrella Academy')).toBe(false);
  });
});
