import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { z } from 'zod';
import {
  AmountFormatError,
  AmountRangeError,
  CURRENCY_EXPONENTS,
  currencySchema,
  type CurrencyCode,
  formatForDisplay,
  formatMinorUnits,
  majorToMinor,
  MAX_AMOUNT,
  maxAmount,
  parseMinorUnits,
  positiveAmountSchema,
  refineAmountForCurrency,
} from '../src/money.ts';

describe('minor-unit codec', () => {
  it('round-trips every non-negative bigint up to the maximum', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: MAX_AMOUNT }), (n) => {
        expect(parseMinorUnits(formatMinorUnits(n))).toBe(n);
      }),
    );
  });

  it.each(['', '-1', '1.5', '1e3', '01', ' 1', '0x10', '1'.repeat(16), '1'.repeat(41)])(
    'refuses %j',
    (bad) => {
      expect(() => parseMinorUnits(bad)).toThrow(AmountFormatError);
    },
  );

  it('requires positive amounts where money moves', () => {
    expect(positiveAmountSchema.safeParse('0').success).toBe(false);
    expect(positiveAmountSchema.parse('1050')).toBe(1050n);
  });
});

const currencies = Object.keys(CURRENCY_EXPONENTS) as CurrencyCode[];
/** What a request schema with its currency looks like (transfers, withdrawals, deposits, risk). */
const request = z
  .object({ amount: positiveAmountSchema, currency: currencySchema })
  .superRefine(refineAmountForCurrency);

describe('the bound on amounts', () => {
  it('is 12 digits of major units per currency, below 2^53 for every exponent', () => {
    expect(maxAmount('EUR')).toBe(99_999_999_999_999n);
    expect(maxAmount('JPY')).toBe(999_999_999_999n);
    expect(maxAmount('KWD')).toBe(999_999_999_999_999n);
    for (const c of currencies) expect(maxAmount(c) <= MAX_AMOUNT).toBe(true);
    expect(MAX_AMOUNT < 2n ** 53n).toBe(true);
    // int8 holds thousands of maximal amounts summed.
    expect((2n ** 63n - 1n) / MAX_AMOUNT).toBeGreaterThan(9_000n);
  });

  it('accepts every amount up to the currency maximum and refuses every amount above it (property)', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...currencies),
        fc.bigInt({ min: -5n, max: 5n }),
        fc.bigInt({ min: 1n, max: 10n ** 40n }),
        (currency, nearBound, anywhere) => {
          const max = maxAmount(currency);
          for (const amount of [max + nearBound, anywhere]) {
            if (amount < 1n) continue;
            const within = amount <= max;
            const parsed = request.safeParse({ amount: amount.toString(), currency });
            expect(parsed.success, `${amount} ${currency}`).toBe(within);
            if (within) {
              expect(parseMinorUnits(amount.toString(), currency)).toBe(amount);
            } else {
              expect(() => parseMinorUnits(amount.toString(), currency)).toThrow(AmountRangeError);
              expect([...new Set(parsed.error?.issues.map((i) => i.path.join('.')))]).toEqual(['amount']);
            }
          }
        },
      ),
      { numRuns: 500 },
    );
  });

  it('refuses the amounts an outside test got through: 2^63 and 92233720368547758070', () => {
    for (const amount of ['9223372036854775808', '92233720368547758070', '9'.repeat(400)]) {
      expect(positiveAmountSchema.safeParse(amount).success).toBe(false);
      expect(() => parseMinorUnits(amount)).toThrow(AmountFormatError);
    }
    expect(positiveAmountSchema.parse(MAX_AMOUNT.toString())).toBe(MAX_AMOUNT);
    expect(positiveAmountSchema.safeParse((MAX_AMOUNT + 1n).toString()).success).toBe(false);
  });

  it('bounds major-unit conversions too', () => {
    expect(majorToMinor('999999999999.99', 'EUR')).toBe(maxAmount('EUR'));
    expect(() => majorToMinor('1000000000000', 'EUR')).toThrow(AmountRangeError);
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
