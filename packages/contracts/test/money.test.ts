import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  AmountFormatError,
  currencySchema,
  formatForDisplay,
  formatMinorUnits,
  majorToMinor,
  parseMinorUnits,
  positiveAmountSchema,
} from '../src/money.ts';

describe('minor-unit codec', () => {
  it('round-trips every non-negative bigint below the maximum', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 10n ** 30n - 1n }), (n) => {
        expect(parseMinorUnits(formatMinorUnits(n))).toBe(n);
      }),
    );
  });

  it.each(['', '-1', '1.5', '1e3', '01', ' 1', '0x10', '1'.repeat(31)])('refuses %j', (bad) => {
    expect(() => parseMinorUnits(bad)).toThrow(AmountFormatError);
  });

  it('requires positive amounts where money moves', () => {
    expect(positiveAmountSchema.safeParse('0').success).toBe(false);
    expect(positiveAmountSchema.parse('1050')).toBe(1050n);
  });
});

describe('currencies', () => {
  it('accepts ISO 4217 codes it knows and refuses others', () => {
    expect(currencySchema.safeParse('EUR').success).toBe(true);
    expect(currencySchema.safeParse('eur').success).toBe(false);
    expect(currencySchema.safeParse('XXX').success).toBe(false);
  });

  it('renders with the currency exponent', () => {
    expect(formatForDisplay(1050n, 'EUR')).toBe('10.50 EUR');
    expect(formatForDisplay(5n, 'EUR')).toBe('0.05 EUR');
    expect(formatForDisplay(1050n, 'JPY')).toBe('1050 JPY');
    expect(formatForDisplay(1234n, 'KWD')).toBe('1.234 KWD');
    expect(formatForDisplay(-1050n, 'EUR')).toBe('-10.50 EUR');
  });

  it('converts major decimals exactly and refuses excess precision', () => {
    expect(majorToMinor('1000.00', 'EUR')).toBe(100000n);
    expect(majorToMinor('10.5', 'EUR')).toBe(1050n);
    expect(() => majorToMinor('10.505', 'EUR')).toThrow(AmountFormatError);
    expect(() => majorToMinor('1.5', 'JPY')).toThrow(AmountFormatError);
  });
});
