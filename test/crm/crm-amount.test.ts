import { describe, expect, it } from 'vitest';
import { decimalToMinor } from '../../src/crm/crm-amount.ts';

describe("decimalToMinor: a CRM's decimal amount in minor units", () => {
  it('shifts the digits exactly and rounds finer digits half-even', () => {
    expect(decimalToMinor('12500.5', 'EUR')).toBe(1_250_050n);
    expect(decimalToMinor('-0.005', 'USD')).toBe(0n);
    expect(decimalToMinor('0.015', 'USD')).toBe(2n);
    expect(decimalToMinor('1250', 'JPY')).toBe(1250n);
  });

  it('takes up to 18 digits of minor units (they fit the 64-bit columns); beyond is unreadable (null)', () => {
    expect(decimalToMinor('9999999999999999.99', 'USD')).toBe(999_999_999_999_999_999n);
    expect(decimalToMinor('-9999999999999999.99', 'USD')).toBe(-999_999_999_999_999_999n);
    expect(decimalToMinor('10000000000000000', 'USD')).toBeNull();
    expect(decimalToMinor('-10000000000000000.00', 'USD')).toBeNull();
    // Rounding up can carry past the bound.
    expect(decimalToMinor('9999999999999999.999', 'USD')).toBeNull();
    expect(decimalToMinor('1e30', 'USD')).toBeNull();
  });
});
