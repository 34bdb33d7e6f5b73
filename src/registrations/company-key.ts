/*
 * Company names as partners type them ("ACME Corp.", "Acme Corporation", "Açme & Co") reduced to a
 * key for matching, and a similarity between keys for near misses ("Acme Widgets" / "Acme Widget").
 *
 * Why trigram Jaccard computed here rather than Postgres pg_trgm: pg_trgm would need
 * `create extension` rights on every customer's PostgreSQL and the extension bundled into PGlite's
 * constructor and its data-dir template; the JS measure is a few lines, runs identically on both
 * databases, and only ever sees the handful of candidates the SQL pre-filter (a shared word of the
 * key) returns. It follows pg_trgm's definition (words padded with two spaces in front, one behind),
 * so a later move into SQL gives the same scores.
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

/** Words that tell nothing on their own, so they do not make two names candidates of each other. */
const FILLER_WORDS = new Set(['and', 'the', 'of']);

/** The words of a key worth pre-filtering candidates on (see registration-conflicts.ts). */
export function keyWords(key: string): string[] {
  return [...new Set(key.split(' ').filter((w) => w !== '' && !FILLER_WORDS.has(w)))];
}

function trigrams(key: string): Set<string> {
  const grams = new Set<string>();
  for (const word of key.split(' ')) {
    if (word === '') continue;
    const padded = `  ${word} `;
    for (let i = 0; i + 3 <= padded.length; i++) grams.add(padded.slice(i, i + 3));
  }
  return grams;
}

/** Trigram Jaccard similarity of two keys, from 0 (nothing shared) to 1 (the same trigrams). */
export function keySimilarity(a: string, b: string): number {
  if (a === b) return a === '' ? 0 : 1;
  const left = trigrams(a);
  const right = trigrams(b);
  if (left.size === 0 || right.size === 0) return 0;
  let shared = 0;
  for (const gram of left) if (right.has(gram)) shared++;
  return shared / (left.size + right.size - shared);
}

/**
 * From this similarity on, two names are taken for one company. Chosen on the cases in the tests:
 * a plural or a typo in the second word of a two-word name scores about 0.75–0.8 ("Acme Widgets" /
 * "Acme Widget" 0.79), names sharing only a first word score about 0.3 ("Acme Foods" / "Acme Bank").
 * Character measures cannot tell "Blue Sky Consulting" from "Blue Sea Consulting" (0.74) from a typo,
 * so the bar sits just above them; domain and email remain the strong signals.
 */
export const SAME_COMPANY_SIMILARITY = 0.75;
