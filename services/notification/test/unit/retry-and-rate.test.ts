import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TokenBucket } from '../../src/domain/rate-limit.ts';
import {
  classifyHttpStatus,
  classifySmtpResponse,
  parseRetryAfter,
  retryDelayMs,
} from '../../src/domain/retry.ts';

describe('retry rules', () => {
  it('property: backoff stays within [0, min(max, base * 2^(attempt-1))]', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 60 }),
        fc.integer({ min: 1, max: 10_000 }),
        fc.integer({ min: 1, max: 1_000_000 }),
        fc.double({ min: 0, max: 0.999999, noNaN: true }),
        (attempt, base, max, r) => {
          const delay = retryDelayMs(attempt, base, max, () => r);
          expect(Number.isInteger(delay)).toBe(true);
          expect(delay).toBeGreaterThanOrEqual(0);
          expect(delay).toBeLessThanOrEqual(Math.min(max, base * 2 ** (attempt - 1)));
        },
      ),
    );
  });

  it('bad input is permanent; throttling, auth trouble and server errors are transient', () => {
    expect(classifyHttpStatus(400)).toBe('permanent');
    expect(classifyHttpStatus(404)).toBe('permanent');
    expect(classifyHttpStatus(422)).toBe('permanent');
    expect(classifyHttpStatus(429)).toBe('transient');
    expect(classifyHttpStatus(401)).toBe('transient');
    expect(classifyHttpStatus(408)).toBe('transient');
    expect(classifyHttpStatus(500)).toBe('transient');
    expect(classifyHttpStatus(503)).toBe('transient');
  });

  it('SMTP 5yz is permanent except 503; 4yz and connection errors are transient', () => {
    expect(classifySmtpResponse(550)).toBe('permanent');
    expect(classifySmtpResponse(553)).toBe('permanent');
    expect(classifySmtpResponse(503)).toBe('transient');
    expect(classifySmtpResponse(451)).toBe('transient');
    expect(classifySmtpResponse(undefined)).toBe('transient');
  });

  it('reads Retry-After as seconds or a date, capped, and ignores garbage', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(parseRetryAfter('30', now, 60_000)).toBe(30_000);
    expect(parseRetryAfter('3600', now, 60_000)).toBe(60_000);
    expect(parseRetryAfter('Thu, 01 Jan 2026 00:00:10 GMT', now, 60_000)).toBe(10_000);
    expect(parseRetryAfter('soon', now, 60_000)).toBeUndefined();
    expect(parseRetryAfter(null, now, 60_000)).toBeUndefined();
  });
});

describe('per-provider rate cap (token bucket)', () => {
  it('grants a burst of one second, then refills at the rate', () => {
    let now = 0;
    const bucket = new TokenBucket(5, () => now);
    expect(bucket.take(20)).toBe(5);
    expect(bucket.take(1)).toBe(0);
    now += 400;
    expect(bucket.take(20)).toBe(2);
    bucket.refund(1);
    expect(bucket.available()).toBe(1);
  });

  it('property: over any schedule, grants never exceed rate * elapsed + burst', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 100 }),
        fc.array(fc.tuple(fc.integer({ min: 0, max: 2_000 }), fc.integer({ min: 0, max: 50 })), {
          maxLength: 50,
        }),
        (rate, steps) => {
          let now = 0;
          const bucket = new TokenBucket(rate, () => now);
          let granted = 0;
          for (const [advance, wanted] of steps) {
            now += advance;
            const got = bucket.take(wanted);
            expect(got).toBeLessThanOrEqual(wanted);
            granted += got;
          }
          expect(granted).toBeLessThanOrEqual(Math.floor((rate * now) / 1000) + rate);
        },
      ),
    );
  });
});
