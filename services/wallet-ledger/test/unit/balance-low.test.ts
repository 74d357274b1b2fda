import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { crossedBelow } from '../../src/operations/balance-low.ts';

describe('balance.low', () => {
  it('fires only on the debit that takes the available balance from at or above the threshold to below it', () => {
    expect(crossedBelow({ availableBefore: 1_500n, availableAfter: 1_100n }, 1_000n)).toBe(false);
    expect(crossedBelow({ availableBefore: 1_100n, availableAfter: 900n }, 1_000n)).toBe(true);
    expect(crossedBelow({ availableBefore: 1_000n, availableAfter: 999n }, 1_000n)).toBe(true);
    expect(crossedBelow({ availableBefore: 900n, availableAfter: 800n }, 1_000n)).toBe(false);
    expect(crossedBelow({ availableBefore: 5_000n, availableAfter: 0n }, 0n)).toBe(false);
  });

  it('fires at most once over any sequence of debits that never goes back above the threshold', () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 0n, max: 100_000n }),
        fc.array(fc.bigInt({ min: 1n, max: 5_000n })),
        (start, debits) => {
          let available = start;
          let fired = 0;
          for (const debit of debits) {
            if (crossedBelow({ availableBefore: available, availableAfter: available - debit }, 1_000n))
              fired += 1;
            available -= debit;
          }
          expect(fired).toBe(start >= 1_000n && available < 1_000n ? 1 : 0);
        },
      ),
    );
  });
});
