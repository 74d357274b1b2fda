import { describe, expect, it } from 'vitest';
import { backoffWithFullJitter } from '../../src/internal/backoff.ts';

describe('backoffWithFullJitter', () => {
  it('draws below an exponentially growing ceiling capped at the maximum', () => {
    const top = () => 0.999_999;
    expect(backoffWithFullJitter(1, 100, 10_000, top)).toBe(99);
    expect(backoffWithFullJitter(2, 100, 10_000, top)).toBe(199);
    expect(backoffWithFullJitter(4, 100, 10_000, top)).toBe(799);
    expect(backoffWithFullJitter(20, 100, 10_000, top)).toBe(9_999);
    expect(backoffWithFullJitter(5_000, 100, 10_000, top)).toBe(9_999);
  });

  it('spreads delays over the whole window (full jitter)', () => {
    expect(backoffWithFullJitter(3, 100, 10_000, () => 0)).toBe(0);
    expect(backoffWithFullJitter(3, 100, 10_000, () => 0.5)).toBe(200);
    const samples = Array.from({ length: 200 }, () => backoffWithFullJitter(3, 100, 10_000));
    expect(Math.min(...samples)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...samples)).toBeLessThan(400);
    expect(new Set(samples).size).toBeGreaterThan(20);
  });

  it('refuses nonsense', () => {
    expect(() => backoffWithFullJitter(0, 100, 1_000)).toThrow(RangeError);
    expect(() => backoffWithFullJitter(1, -1, 1_000)).toThrow(RangeError);
  });
});
