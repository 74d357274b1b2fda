import { afterAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { createEmbeddedPlatform, EmbeddedBus, EtagMismatchError, type StateStore } from '@wallet/platform';
import { parseCounterState } from '../../src/domain/velocity.ts';
import { recordVelocity, velocityKey, VelocityStoreError } from '../../src/state/velocity-counters.ts';

const bus = new EmbeddedBus();
const platform = createEmbeddedPlatform({
  appId: 'risk',
  bus,
  logger: { debug() {}, info() {}, warn() {}, error() {} },
});
afterAll(async () => {
  await platform.close();
  await bus.close();
});

describe('velocity counters in the state store', () => {
  it('stay exact under many concurrent increments of one key (ETag retries, no lost update)', async () => {
    const key = velocityKey('user', 'concurrent-user');
    const now = Date.now();
    const results = await Promise.all(
      Array.from({ length: 100 }, () =>
        recordVelocity(platform.state, key, { nowMs: now, currency: 'EUR', amount: 100n }),
      ),
    );
    const stored = await platform.state.get(key);
    const state = parseCounterState(stored?.value);
    expect(state?.b['10m'][0]?.[1]).toBe(100);
    expect(state?.b['10m'][0]?.[2]).toEqual({ EUR: '10000' });
    // Each request saw a distinct running total: together exactly 1..100.
    expect(results.map((r) => r.totals['10m'].count).sort((a, b) => a - b)).toEqual(
      Array.from({ length: 100 }, (_, i) => i + 1),
    );
    expect(results.some((r) => r.conflicts > 0)).toBe(true);
  });

  it('keep count and sum exact for any mix of concurrent amounts and currencies (property)', async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.record({
            amount: fc.bigInt({ min: 1n, max: 10n ** 20n }),
            currency: fc.constantFrom('EUR', 'USD'),
          }),
          {
            minLength: 1,
            maxLength: 40,
          },
        ),
        async (events) => {
          const key = velocityKey('device', `prop-${run++}`);
          const now = Date.now();
          await Promise.all(events.map((e) => recordVelocity(platform.state, key, { nowMs: now, ...e })));
          const state = parseCounterState((await platform.state.get(key))?.value);
          const bucket = state!.b['24h'][0]!;
          expect(bucket[1]).toBe(events.length);
          for (const currency of ['EUR', 'USD']) {
            const expected = events
              .filter((e) => e.currency === currency)
              .reduce((sum, e) => sum + e.amount, 0n);
            expect(BigInt(bucket[2][currency] ?? '0')).toBe(expected);
          }
        },
      ),
      { numRuns: 30 },
    );
  });

  it('gives up with a clear error when the store keeps refusing', async () => {
    const refusing: StateStore = {
      get: <T>() => Promise.resolve({ value: null as T, etag: '1' }),
      set: () => Promise.reject(new EtagMismatchError('always')),
      delete: () => Promise.resolve(),
    };
    await expect(recordVelocity(refusing, 'k', { nowMs: 0, currency: null, amount: null })).rejects.toThrow(
      /still contended/,
    );
  });

  it('does not retry other store failures', async () => {
    let sets = 0;
    const broken: StateStore = {
      get: () => Promise.resolve(undefined),
      set: () => {
        sets += 1;
        return Promise.reject(new Error('sidecar down'));
      },
      delete: () => Promise.resolve(),
    };
    const failure = recordVelocity(broken, 'k', { nowMs: 0, currency: null, amount: null });
    await expect(failure).rejects.toBeInstanceOf(VelocityStoreError);
    await expect(failure).rejects.toMatchObject({ cause: new Error('sidecar down') });
    expect(sets).toBe(1);
  });
});
