/*
 * Company names as partners type them ("ACME Corp.", "Acme Corporation", "Açme & Co") reduced to a
 * key for matching. Near misses between keys ("Acme Widgets" / "Acme Widget") are scored in
 * PostgreSQL by pg_trgm's trigram similarity (see registration-conflicts.ts): a trigram index finds
 * the few similar keys among a tenant's claims, where scoring in JavaScript needed every row sharing
 * a word, thousands when the word is "analytics". pg_trgm is a trusted extension (a database owner
 * may create it) and PGlite bundles it.
 */

/** Legal-form words dropped from the end of a name: they say how a company is registered, not which. */
const LEGAL_SUFFIXES = new Set([
  'ab',
  'ag',
  'as',
  'bhd',
  'bv',
  'co',
  'company',
  'corp',
  'corporation',
  'cv',
  'gmbh',
  'inc',
  'incorporated',
  'kg',
  'kgaa',
  'kk',
  'lda',
  'llc',
  'llp',
  'lp',
  'ltd',
  'ltda',
  'limited',
  'mbh',
  'nv',
  'ohg',
  'oy',
  'oyj',
  'plc',
  'pte',
  'pty',
  'pvt',
  'sa',
  'sarl',
  'sas',
  'sdn',
  'se',
  'sl',
  'spa',
  'sprl',
  'srl',
  'sro',
  'ug',
]);

/** Letters NFKD does not take apart but that people type both ways. */
const FOLDS: Record<string, string> = { ß: 'ss', æ: 'ae', œ: 'oe', ø: 'o', ł: 'l', đ: 'd', þ: 'th', ı: 'i' };

/**
 * The matching key of a company name: lower-case, accents stripped, `&`/`+` read as "and",
 * apostrophes, dots and one-letter slashes joined ("J.P." → "jp", "A/S" → "as"), other punctuation
 * as spaces, a leading "the" and trailing legal forms dropped ("Acme Co. Ltd" → "acme"), whitespace
 * collapsed. Empty when nothing is left (a name made only of punctuation).
 */
export function companyKey(name: string): string {
  const folded = name
    .normalize('NFKD')
    .replace(/\p{M}+/gu, '')
    .toLowerCase()
    .replace(/[ßæœøłđþı]/g, (c) => FOLDS[c] ?? c)
    .replace(/[&+]/g, ' and ')
    // Abbreviations written with a slash: "A/S", "S/A".
    .replace(/(?<![\p{L}\p{N}])(\p{L})\/(\p{L})(?![\p{L}\p{N}])/gu, '$1$2')
    .replace(/['’`´.]/g, '')
    .replace(/[^\p{L}\p{N}]+/gu, ' ')
    .trim();
  const words = folded === '' ? [] : folded.split(' ');
  if (words.length > 1 && words[0] === 'the') words.shift();
  // Keep at least one word: a company called "Limited" is still a company.
  while (words.length > 1 && (LEGAL_SUFFIXES.has(words.at(-1)!) || words.at(-1) === 'and')) words.pop();
  return words.join(' ');
}

/**
 * From this pg_trgm similarity on (shared trigrams over all distinct trigrams of both keys, each word
 * padded with two spaces in front and one behind), two names are taken for one company. Chosen on
 * the cases in the tests:
 * a plural or a typo in the second word of a two-word name scores about 0.75–0.8 ("Acme Widgets" /
 * "Acme Widget" 0.79), names sharing only a first word score about 0.3 ("Acme Foods" / "Acme Bank").
 * Character measures cannot tell "Blue Sky Consulting" from "Blue Sea Consulting" (0.74) from a typo,
 * so the bar sits just above them; domain and email remain the strong signals.
 */
export const SAME_COMPANY_SIMILARITY = 0.75;
