import { currencyExponent } from '../portal/amount.parse.ts';

/*
 * Exact money arithmetic: rates are decimal strings, products are bigint rationals, and the only
 * rounding is the one per ledger line (half-even, to the currency's minor unit). Floats never touch
 * an amount.
 */

/** A rational number n/d with d > 0. */
export interface Ratio {
  n: bigint;
  d: bigint;
}

const DECIMAL = /^(-)?(\d+)(?:\.(\d+))?$/;

/** `'0.125'` → 125/1000, exactly. Throws on anything that is not a plain decimal. */
export function parseDecimal(text: string): Ratio {
  const match = DECIMAL.exec(text.trim());
  if (!match) throw new RangeError(`not a decimal: ${text}`);
  const [, sign, whole, fraction = ''] = match;
  const n = BigInt(`${whole}${fraction}`) * (sign ? -1n : 1n);
  return { n, d: 10n ** BigInt(fraction.length) };
}

export function isDecimal(text: string): boolean {
  return DECIMAL.test(text.trim());
}

export const ratio = (n: bigint, d = 1n): Ratio => (d < 0n ? { n: -n, d: -d } : { n, d });

export function mul(...factors: Ratio[]): Ratio {
  return factors.reduce((acc, f) => ratio(acc.n * f.n, acc.d * f.d), ratio(1n));
}

/** Round n/d to an integer, half to even (banker's rounding), for either sign. */
export function roundHalfEven(value: Ratio): bigint {
  const { n, d } = ratio(value.n, value.d);
  const negative = n < 0n;
  const abs = negative ? -n : n;
  let q = abs / d;
  const twice = (abs % d) * 2n;
  if (twice > d || (twice === d && q % 2n === 1n)) q += 1n;
  return negative ? -q : q;
}

/** amount × rate (× fx), converted from one currency's minor unit to another's, rounded once. */
export function applyRate(
  amount: bigint,
  rate: string,
  options: { fxRate?: string | null; from?: string; to?: string } = {},
): bigint {
  const factors = [ratio(amount), parseDecimal(rate)];
  if (options.fxRate) factors.push(parseDecimal(options.fxRate));
  if (options.from && options.to && options.from !== options.to) {
    const shift = currencyExponent(options.to) - currencyExponent(options.from);
    factors.push(shift >= 0 ? ratio(10n ** BigInt(shift)) : ratio(1n, 10n ** BigInt(-shift)));
  }
  return roundHalfEven(mul(...factors));
}

/**
 * Divides `whole` by weights with the largest-remainder method: each part is the floor of its exact
 * share, and the units left go one each to the largest remainders, ties to the one listed first. The
 * parts always sum to `whole` (a negative whole is split as its magnitude, then negated).
 */
export function splitLargestRemainder(whole: bigint, weights: string[]): bigint[] {
  if (weights.length === 0) return [];
  const negative = whole < 0n;
  const abs = negative ? -whole : whole;
  const ws = weights.map(parseDecimal);
  // Common denominator so the weights are integers.
  const common = ws.reduce((acc, w) => (acc * w.d) / gcd(acc, w.d), 1n);
  const ints = ws.map((w) => (w.n * common) / w.d);
  const total = ints.reduce((a, b) => a + b, 0n);
  if (total <= 0n) throw new RangeError('split weights must sum to more than zero');
  const parts = ints.map((w) => (abs * w) / total);
  const remainders = ints.map((w, i) => ({ i, r: (abs * w) % total }));
  let left = abs - parts.reduce((a, b) => a + b, 0n);
  // Stable sort: equal remainders keep listing order.
  remainders.sort((a, b) => (a.r === b.r ? a.i - b.i : a.r > b.r ? -1 : 1));
  for (const { i } of remainders) {
    if (left === 0n) break;
    parts[i]! += 1n;
    left -= 1n;
  }
  return negative ? parts.map((p) => -p) : parts;
}

function gcd(a: bigint, b: bigint): bigint {
  let x = a < 0n ? -a : a;
  let y = b < 0n ? -b : b;
  while (y !== 0n) [x, y] = [y, x % y];
  return x;
}

/** An exact decimal string of a ratio when it has one (n/d with d a product of 2s and 5s). */
export function ratioToDecimal(value: Ratio, maxDigits = 12): string {
  const { n, d } = ratio(value.n, value.d);
  const sign = n < 0n ? '-' : '';
  const abs = n < 0n ? -n : n;
  for (let digits = 0; digits <= maxDigits; digits++) {
    const scaled = abs * 10n ** BigInt(digits);
    if (scaled % d === 0n) {
      const s = (scaled / d).toString().padStart(digits + 1, '0');
      return digits === 0 ? `${sign}${s}` : `${sign}${s.slice(0, -digits)}.${s.slice(-digits)}`;
    }
  }
  throw new RangeError('not a terminating decimal');
}
