import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  addAmountSample,
  AMOUNT_HISTORY_SIZE,
  isFarAboveHistory,
  madOf,
  medianOf,
} from '../../src/domain/amount-stats.ts';

describe('robust statistic of a user’s amounts', () => {
  it('median and MAD of known samples', () => {
    expect(medianOf([5n, 1n, 3n])).toBe(3n);
    expect(medianOf([1n, 2n, 3n, 10n])).toBe(2n);
    expect(madOf([1n, 1n, 2n, 2n, 4n, 6n, 9n], 2n)).toBe(1n);
  });

  it('an outlier barely moves the median (unlike a mean)', () => {
    const stats = [1_000n, 1_100n, 900n, 1_050n, 950n].reduce<bigint[]>(
      (acc, v) => addAmountSample(acc, v).samples,
      [],
    );
    const withOutlier = addAmountSample(stats, 10n ** 12n);
    expect(withOutlier.median).toBeLessThanOrEqual(1_100n);
  });

  it('keeps the newest amounts only; median lies between min and max', () => {
    fc.assert(
      fc.property(
        fc.array(fc.bigInt({ min: 1n, max: 10n ** 15n }), { minLength: 1, maxLength: 120 }),
        (amounts) => {
          let last = addAmountSample([], amounts[0]!);
          for (const a of amounts.slice(1)) last = addAmountSample(last.samples, a);
          const samples = last.samples;
          expect(samples).toEqual(amounts.slice(-AMOUNT_HISTORY_SIZE));
          const min = samples.reduce((m, v) => (v < m ? v : m));
          const max = samples.reduce((m, v) => (v > m ? v : m));
          expect(last.median >= min && last.median <= max).toBe(true);
          expect(last.mad >= 0n && last.mad <= max - min).toBe(true);
        },
      ),
    );
  });

  it('flags only what is far above both the spread and the median', () => {
    const stats = { median: 2_000n, mad: 0n };
    expect(isFarAboveHistory(2_001n, stats, 6, 3)).toBe(false);
    expect(isFarAboveHistory(6_000n, stats, 6, 3)).toBe(true);
    expect(isFarAboveHistory(6_000n, { median: 2_000n, mad: 1_000n }, 6, 3)).toBe(false);
  });
});
