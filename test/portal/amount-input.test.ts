import { describe, expect, it } from 'vitest';
import { currencyExponent, formatAmount, parseAmount } from '../../src/portal/amount.parse.ts';

describe('amounts typed into the form', () => {
  it.each([
    ['12,500.50', 'USD', 1_250_050n],
    ['12500.5', 'USD', 1_250_050n],
    ['12 500.50', 'EUR', 1_250_050n],
    ['0.10', 'USD', 10n],
    ['.5', 'USD', 50n],
    ['  $7  ', 'USD', 700n],
    ['12,500', 'JPY', 12_500n],
    ['1.234', 'KWD', 1_234n],
    // Exact beyond what a float can hold: 2^53 + 1 cents.
    ['90,071,992,547,409.93', 'USD', 9_007_199_254_740_993n],
  ])('reads %s %s as %s minor units, exactly', (text, currency, minor) => {
    expect(parseAmount(text, currency)).toEqual({ ok: true, minor });
  });

  it.each([
    ['12.345', 'USD', /at most 2 decimals/],
    ['12.5', 'JPY', /no decimals/],
    ['-5', 'USD', /zero or more/],
    ['12.500,50', 'EUR', /in figures/],
    ['1,2,3', 'USD', /in figures/],
    ['ten', 'USD', /in figures/],
    ['1e5', 'USD', /in figures/],
    ['99,999,999,999,999,999', 'USD', /smaller/],
  ])('refuses %s %s instead of rounding or guessing', (text, currency, message) => {
    const result = parseAmount(text, currency);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.message).toMatch(message);
  });

  it('knows the minor unit of each currency', () => {
    expect([currencyExponent('USD'), currencyExponent('JPY'), currencyExponent('KWD')]).toEqual([2, 0, 3]);
  });

  it('shows stored minor units the way a person types them', () => {
    expect(formatAmount(1_250_050n, 'USD')).toBe('12,500.50');
    expect(formatAmount(5n, 'USD')).toBe('0.05');
    expect(formatAmount(1_250_000n, 'JPY')).toBe('1,250,000');
    expect(formatAmount(1_234n, 'KWD')).toBe('1.234');
  });
});
