import { describe, expect, it } from 'vitest';
import {
  applyRate,
  parseDecimal,
  ratio,
  ratioToDecimal,
  roundHalfEven,
  splitLargestRemainder,
} from '../../src/commissions/money-math.ts';

describe('money math: exact rates, one half-even rounding, largest remainder', () => {
  it('rounds .5 to the even neighbour: 0.5 → 0, 1.5 → 2, 2.5 → 2, -2.5 → -2, -3.5 → -4', () => {
    expect(roundHalfEven(ratio(1n, 2n))).toBe(0n);
    expect(roundHalfEven(ratio(3n, 2n))).toBe(2n);
    expect(roundHalfEven(ratio(5n, 2n))).toBe(2n);
    expect(roundHalfEven(ratio(-5n, 2n))).toBe(-2n);
    expect(roundHalfEven(ratio(-7n, 2n))).toBe(-4n);
  });

  it('rounds away from .5 by the nearest: 2.51 → 3, -2.49 → -2, 7/3 → 2', () => {
    expect(roundHalfEven(ratio(251n, 100n))).toBe(3n);
    expect(roundHalfEven(ratio(-249n, 100n))).toBe(-2n);
    expect(roundHalfEven(ratio(7n, 3n))).toBe(2n);
  });

  it('10 % of 10,000.05 is 1,000.005 → 1,000.00; 10 % of 10,000.15 → 1,000.02', () => {
    expect(applyRate(1_000_005n, '0.1')).toBe(100_000n);
    expect(applyRate(1_000_015n, '0.1')).toBe(100_002n);
  });

  it('converts exactly between minor units: EUR 100.00 at 1.0835 is USD 108.35; JPY 10,000 at 0.0062 is EUR 62.00', () => {
    expect(applyRate(10_000n, '1', { fxRate: '1.0835', from: 'EUR', to: 'USD' })).toBe(10_835n);
    expect(applyRate(10_000n, '1', { fxRate: '0.0062', from: 'JPY', to: 'EUR' })).toBe(6_200n);
    // 12.5 % of JPY 1,001 in USD at 0.0067: 125.125 × 0.0067 × 100 = 83.83375 cents → 84
    expect(applyRate(1_001n, '0.125', { fxRate: '0.0067', from: 'JPY', to: 'USD' })).toBe(84n);
  });

  it('a negative amount rounds symmetrically: -10,000.05 × 10 % → -1,000.00', () => {
    expect(applyRate(-1_000_005n, '0.1')).toBe(-100_000n);
  });

  it('splits 100 by 10 and 5 into 67 and 33, and 100 by three equal weights into 34, 33, 33 (tie to the first)', () => {
    expect(splitLargestRemainder(100n, ['10', '5'])).toEqual([67n, 33n]);
    expect(splitLargestRemainder(100n, ['1', '1', '1'])).toEqual([34n, 33n, 33n]);
    expect(splitLargestRemainder(2n, ['1', '1', '1'])).toEqual([1n, 1n, 0n]);
  });

  it('split parts always sum to the whole, for negatives and decimal weights too', () => {
    for (const whole of [0n, 1n, 7n, 999_999n, -101n]) {
      const parts = splitLargestRemainder(whole, ['0.3', '0.3', '0.4', '1.25']);
      expect(parts.reduce((a, b) => a + b, 0n)).toBe(whole);
    }
    expect(splitLargestRemainder(-100n, ['1', '1', '1'])).toEqual([-34n, -33n, -33n]);
  });

  it('parses decimals exactly and refuses anything else', () => {
    expect(parseDecimal('0.125')).toEqual({ n: 125n, d: 1000n });
    expect(parseDecimal('-2')).toEqual({ n: -2n, d: 1n });
    expect(() => parseDecimal('1e3')).toThrow();
    expect(() => parseDecimal('0.1.2')).toThrow();
    expect(ratioToDecimal(ratio(1n, 8n))).toBe('0.125');
  });
});
