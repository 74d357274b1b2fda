import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { WINDOWS } from '../../src/domain/rules.ts';
import {
  recordVelocityEvent,
  releaseVelocityAmount,
  WINDOW_SPEC,
  type CounterState,
  type VelocityTotals,
} from '../../src/domain/velocity.ts';

const T0 = Date.UTC(2026, 10, 25, 12, 0, 0);

describe('sliding-window velocity counters', () => {
  it('counts and sums within each window, per currency', () => {
    const first = recordVelocityEvent(undefined, T0, 'EUR', 1_000n);
    const second = recordVelocityEvent(first.state, T0 + 1_000, 'USD', 7n);
    const { totals } = recordVelocityEvent(second.state, T0 + 2_000, 'EUR', 500n);
    expect(totals['10m']).toEqual({ count: 3, sum: 1_500n });
    expect(totals['24h']).toEqual({ count: 3, sum: 1_500n });
  });

  it('gives back the amount of a refused event and keeps its count', () => {
    const first = recordVelocityEvent(undefined, T0, 'EUR', 1_000n);
    const refused = recordVelocityEvent(first.state, T0 + 90_000, 'EUR', 4_000n);
    const released = releaseVelocityAmount(refused.state, T0 + 90_000, T0 + 90_000, 'EUR', 4_000n);
    const { totals } = recordVelocityEvent(released, T0 + 95_000, 'EUR', 1n);
    for (const window of WINDOWS) expect(totals[window]).toEqual({ count: 3, sum: 1_001n });
    // Never below zero, even if asked for more than the bucket holds.
    const over = releaseVelocityAmount(first.state, T0, T0, 'EUR', 5_000n);
    expect(recordVelocityEvent(over, T0, 'EUR', 0n).totals['10m']).toEqual({ count: 2, sum: 0n });
  });

  it('forgets events once their bucket leaves the window', () => {
    let { state } = recordVelocityEvent(undefined, T0, 'EUR', 1_000n);
    const later = recordVelocityEvent(state, T0 + 11 * 60_000, 'EUR', 1n);
    expect(later.totals['10m']).toEqual({ count: 1, sum: 1n });
    expect(later.totals['1h']).toEqual({ count: 2, sum: 1_001n });
    state = later.state;
    const nextDay = recordVelocityEvent(state, T0 + 25 * 3_600_000, 'EUR', 2n);
    expect(nextDay.totals['24h']).toEqual({ count: 1, sum: 2n });
    // Nothing outside the longest window is kept.
    expect(nextDay.state.b['24h']).toHaveLength(1);
  });

  it('count-only events (no amount) still count', () => {
    const { totals } = recordVelocityEvent(undefined, T0, null, null);
    expect(totals['10m']).toEqual({ count: 1, sum: 0n });
  });

  it('equals a brute-force count of the events in the window, to one bucket of granularity', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            dt: fc.integer({ min: 0, max: 20 * 60_000 }),
            amount: fc.bigInt({ min: 1n, max: 10n ** 12n }),
          }),
          {
            minLength: 1,
            maxLength: 60,
          },
        ),
        (steps) => {
          let now = T0;
          let state: CounterState | undefined;
          const seen: { at: number; amount: bigint }[] = [];
          let totals: VelocityTotals = {
            '10m': { count: 0, sum: 0n },
            '1h': { count: 0, sum: 0n },
            '24h': { count: 0, sum: 0n },
          };
          for (const step of steps) {
            now += step.dt;
            seen.push({ at: now, amount: step.amount });
            ({ state, totals } = recordVelocityEvent(state, now, 'EUR', step.amount));
          }
          for (const window of WINDOWS) {
            const { seconds, bucketSeconds } = WINDOW_SPEC[window];
            const current = Math.floor(now / 1000 / bucketSeconds);
            const inWindow = seen.filter(
              (e) => Math.floor(e.at / 1000 / bucketSeconds) > current - seconds / bucketSeconds,
            );
            expect(totals[window].count).toBe(inWindow.length);
            expect(totals[window].sum).toBe(inWindow.reduce((s, e) => s + e.amount, 0n));
            // Everything in the last (window - bucket) seconds is always included.
            const surely = seen.filter((e) => now - e.at < (seconds - bucketSeconds) * 1000);
            expect(totals[window].count).toBeGreaterThanOrEqual(surely.length);
          }
        },
      ),
    );
  });
});
