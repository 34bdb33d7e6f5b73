import { currencyExponent } from '../portal/amount.parse.ts';

/** Minor units → the decimal a CRM's amount field takes ("12500.5" for 1250050 EUR cents). */
export function toDecimal(minor: bigint, exponent: number): string {
  const negative = minor < 0n;
  const digits = (negative ? -minor : minor).toString().padStart(exponent + 1, '0');
  const whole = exponent === 0 ? digits : digits.slice(0, -exponent);
  const fraction = exponent === 0 ? '' : digits.slice(-exponent).replace(/0+$/, '');
  return `${negative ? '-' : ''}${whole}${fraction ? `.${fraction}` : ''}`;
}

/** The largest amount taken from a CRM: 18 digits of minor units always fit the 64-bit columns. */
const MAX_MINOR = 999_999_999_999_999_999n;

/**
 * A CRM's decimal amount ("12500.5") in minor units, exactly; finer digits round half-even. null
 * for what is not a plain decimal, or beyond 18 digits of minor units (the caller's "unreadable").
 */
export function decimalToMinor(text: string, currency: string): bigint | null {
  const match = /^\s*(-)?(\d*)(?:\.(\d*))?\s*$/.exec(text);
  if (!match || (match[2] === '' && (match[3] ?? '') === '')) return null;
  const exponent = currencyExponent(currency);
  const fraction = match[3] ?? '';
  const kept = fraction.slice(0, exponent).padEnd(exponent, '0');
  let minor = BigInt(`${match[2] || '0'}${kept}`);
  const rest = fraction.slice(exponent).replace(/0+$/, '');
  if (rest !== '') {
    const half = rest[0] === '5' && rest.length === 1;
    if (rest[0]! > '5' || (rest[0] === '5' && !half) || (half && minor % 2n === 1n)) minor += 1n;
  }
  if (minor > MAX_MINOR) return null;
  return match[1] ? -minor : minor;
}

/**
 * A CRM's date as a calendar day: HubSpot sends epoch milliseconds in webhooks and ISO strings from
 * its API, Salesforce ISO dates.
 */
export function toDay(value: string | null | undefined): string | null {
  if (value === null || value === undefined || value === '') return null;
  const date = /^\d+$/.test(value) ? new Date(Number(value)) : new Date(value);
  return Number.isNaN(date.getTime()) ? null : date.toISOString().slice(0, 10);
}
