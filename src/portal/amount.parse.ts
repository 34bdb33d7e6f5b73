/**
 * The number of decimals of a currency's minor unit (JPY 0, EUR 2, KWD 3), from the runtime's
 * ISO 4217 data; 2 for a code it does not know.
 */
export function currencyExponent(currency: string): number {
  try {
    return new Intl.NumberFormat('en', { style: 'currency', currency }).resolvedOptions()
      .maximumFractionDigits as number;
  } catch {
    return 2;
  }
}

export type AmountParse = { ok: true; minor: bigint } | { ok: false; message: string };

// "12500.5", "12,500.50", "12 500.50": commas and spaces only as thousands separators.
const GROUPED = /^\d{1,3}(?:[, \u00a0\u202f]\d{3})+(?:\.\d+)?$/;
const PLAIN = /^\d+(?:\.\d+)?$|^\.\d+$/;

/**
 * A decimal amount as a person types it, to minor units of `currency`, exactly: the digits are
 * shifted, never multiplied as a float, and an amount finer than the currency's minor unit is an
 * error rather than silently rounded.
 */
export function parseAmount(text: string, currency: string): AmountParse {
  const value = text.trim().replace(/^[$€£¥]\s*/, '');
  const exponent = currencyExponent(currency);
  const example = exponent === 0 ? '12,500' : `12,500.${'5'.padEnd(exponent, '0')}`;
  if (value.startsWith('-')) return { ok: false, message: 'Enter an amount of zero or more' };
  if (!GROUPED.test(value) && !PLAIN.test(value)) {
    return { ok: false, message: `Enter an amount in figures, like ${example}` };
  }
  const [whole = '', fraction = ''] = value.replace(/[, \u00a0\u202f]/g, '').split('.');
  if (fraction.length > exponent) {
    return {
      ok: false,
      message:
        exponent === 0
          ? `${currency} amounts have no decimals: enter a whole amount, like ${example}`
          : `${currency} amounts have at most ${exponent} decimals, like ${example}`,
    };
  }
  const digits = `${whole}${fraction.padEnd(exponent, '0')}`.replace(/^0+(?=\d)/, '');
  // 18 digits always fit the bigint column (its maximum has 19), far above any real deal.
  if (digits.length > 18) return { ok: false, message: 'Enter a smaller amount' };
  return { ok: true, minor: BigInt(digits) };
}

/** Minor units back to the decimal text a person would type (for showing a stored value). */
export function formatAmount(minor: bigint, currency: string): string {
  const exponent = currencyExponent(currency);
  const text = minor.toString().padStart(exponent + 1, '0');
  const whole = text.slice(0, text.length - exponent).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  return exponent === 0 ? whole : `${whole}.${text.slice(text.length - exponent)}`;
}
