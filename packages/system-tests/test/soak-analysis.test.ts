/** The soak's arithmetic (no infrastructure): which errors belong to which fault, and the recovery bound. */
import { describe, expect, it } from 'vitest';
import { analyseFaults, buckets } from '../soak/analysis.ts';
import { outcomeOf, type RequestRecord } from '../soak/recorder.ts';

const attempt = (at: number, ms: number, status: number, type?: string): RequestRecord => ({
  at,
  ms,
  op: 'transfer-small',
  status,
  outcome: outcomeOf(status, type),
  attempt: 1,
});

describe('soak analysis', () => {
  it('classifies answers: refusals are not errors, "in flight" and 429 are asked again', () => {
    expect(outcomeOf(201)).toBe('ok');
    expect(outcomeOf(422)).toBe('refused');
    expect(outcomeOf(409, 'https://wallet.dev/problems/idempotency-in-flight')).toBe('retry-later');
    expect(outcomeOf(409, 'https://wallet.dev/problems/conflict')).toBe('refused');
    expect(outcomeOf(429)).toBe('retry-later');
    expect(outcomeOf(503)).toBe('server-error');
    expect(outcomeOf(0)).toBe('lost');
  });

  it('gives an error to the fault in force when its answer came, and flags a slow recovery', () => {
    const requests = [
      attempt(500, 100, 503), // before any fault: outside
      attempt(9_900, 300, 503), // sent before the fault, answered during it: the fault's
      attempt(12_000, 100, 201),
      attempt(40_000, 100, 503), // 25 s after the first fault's repair at 15 s: too late
      attempt(61_000, 200, 0), // the second fault's
    ];
    const faults = [
      { name: 'kill-service:risk', startedAt: 10_000, repairedAt: 15_000 },
      { name: 'restart-redis', startedAt: 60_000, repairedAt: 61_000 },
    ];
    const { faults: analysed, errorsOutside } = analyseFaults(requests, faults, [61_500], 90_000, 15_000);
    expect(errorsOutside).toHaveLength(1);
    expect(analysed[0]).toMatchObject({ errors: 2, detectMs: 200, repairMs: 5_000, afterRepairMs: 25_100 });
    expect(analysed[0]!.withinBound).toBe(false);
    expect(analysed[1]).toMatchObject({ errors: 1, inDoubt: 1, afterRepairMs: 200, withinBound: true });
  });

  it('counts answers per time bucket', () => {
    const series = buckets(
      [attempt(100, 50, 201), attempt(900, 70, 422), attempt(1_500, 10, 503)],
      0,
      2_000,
      1_000,
    );
    expect(series.map((b) => [b.ok, b.refused, b.errors])).toEqual([
      [1, 1, 0],
      [0, 0, 1],
    ]);
  });
});
