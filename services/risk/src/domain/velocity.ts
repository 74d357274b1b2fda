/**
 * Sliding-window velocity counters, as pure functions over a small JSON value (one per user, device or
 * IP) kept in the platform state store. Each window is a ring of sub-buckets (10 min: 1-minute buckets,
 * 1 h: 5-minute buckets, 24 h: 1-hour buckets), so a window slides by one bucket at a time: it covers
 * between `window - bucket` and `window` of history. Counts are exact integers; sums are bigint minor
 * units per currency, stored as decimal strings.
 */
import { z } from 'zod';
import { WINDOWS, type VelocityWindow } from './rules.ts';

export const WINDOW_SPEC: Record<VelocityWindow, { seconds: number; bucketSeconds: number }> = {
  '10m': { seconds: 600, bucketSeconds: 60 },
  '1h': { seconds: 3_600, bucketSeconds: 300 },
  '24h': { seconds: 86_400, bucketSeconds: 3_600 },
};

/** Longest window plus one bucket: after this long without activity the whole value is stale. */
export const COUNTER_TTL_SECONDS = WINDOW_SPEC['24h'].seconds + WINDOW_SPEC['24h'].bucketSeconds;

const bucketSchema = z.tuple([
  z.number().int().nonnegative(),
  z.number().int().nonnegative(),
  z.record(z.string(), z.string().regex(/^(0|[1-9][0-9]*)$/)),
]);
export const counterStateSchema = z.object({
  v: z.literal(1),
  b: z.object({ '10m': z.array(bucketSchema), '1h': z.array(bucketSchema), '24h': z.array(bucketSchema) }),
});
export type CounterState = z.infer<typeof counterStateSchema>;
type Bucket = z.infer<typeof bucketSchema>;

export interface WindowTotal {
  count: number;
  /** Sum in the assessed currency. */
  sum: bigint;
}
export type VelocityTotals = Record<VelocityWindow, WindowTotal>;

export function emptyCounterState(): CounterState {
  return { v: 1, b: { '10m': [], '1h': [], '24h': [] } };
}

function bucketIndex(nowMs: number, bucketSeconds: number): number {
  return Math.floor(nowMs / 1000 / bucketSeconds);
}

function liveBuckets(buckets: readonly Bucket[], window: VelocityWindow, nowMs: number): Bucket[] {
  const spec = WINDOW_SPEC[window];
  const current = bucketIndex(nowMs, spec.bucketSeconds);
  const oldest = current - spec.seconds / spec.bucketSeconds + 1;
  return buckets.filter(([index]) => index >= oldest && index <= current);
}

function totalsOf(state: CounterState, nowMs: number, currency: string | null): VelocityTotals {
  const out = {} as VelocityTotals;
  for (const window of WINDOWS) {
    let count = 0;
    let sum = 0n;
    for (const [, n, sums] of liveBuckets(state.b[window], window, nowMs)) {
      count += n;
      const s = currency === null ? undefined : sums[currency];
      if (s !== undefined) sum += BigInt(s);
    }
    out[window] = { count, sum };
  }
  return out;
}

/**
 * Records one event (`amount` in `currency`, or none for count-only actions) at `nowMs` and returns the
 * new value plus the totals including this event. Buckets that left their window are dropped.
 */
export function recordVelocityEvent(
  previous: CounterState | undefined,
  nowMs: number,
  currency: string | null,
  amount: bigint | null,
): { state: CounterState; totals: VelocityTotals } {
  const state = emptyCounterState();
  for (const window of WINDOWS) {
    const spec = WINDOW_SPEC[window];
    const current = bucketIndex(nowMs, spec.bucketSeconds);
    const buckets = liveBuckets(previous?.b[window] ?? [], window, nowMs).map(([i, n, sums]): Bucket => [
      i,
      n,
      { ...sums },
    ]);
    let bucket = buckets.find(([i]) => i === current);
    if (!bucket) {
      bucket = [current, 0, {}];
      buckets.push(bucket);
    }
    bucket[1] += 1;
    if (currency !== null && amount !== null) {
      bucket[2][currency] = (BigInt(bucket[2][currency] ?? '0') + amount).toString();
    }
    state.b[window] = buckets.sort((a, b) => a[0] - b[0]);
  }
  return { state, totals: totalsOf(state, nowMs, currency) };
}

/** Parses a stored value; anything unreadable counts as empty (and the next write replaces it). */
export function parseCounterState(value: unknown): CounterState | undefined {
  const parsed = counterStateSchema.safeParse(value);
  return parsed.success ? parsed.data : undefined;
}

/**
 * Takes back the amount of an event recorded at `eventMs` (its count stays): for rule sets whose sums
 * add up allowed money only, once the event was not allowed. Buckets that left their window are gone
 * already; a sum never goes below zero.
 */
export function releaseVelocityAmount(
  previous: CounterState | undefined,
  eventMs: number,
  nowMs: number,
  currency: string,
  amount: bigint,
): CounterState {
  const state = emptyCounterState();
  for (const window of WINDOWS) {
    const target = bucketIndex(eventMs, WINDOW_SPEC[window].bucketSeconds);
    state.b[window] = liveBuckets(previous?.b[window] ?? [], window, nowMs).map(([i, n, sums]): Bucket => {
      const out = { ...sums };
      const current = out[currency];
      if (i === target && current !== undefined) {
        const left = BigInt(current) - amount;
        out[currency] = (left > 0n ? left : 0n).toString();
      }
      return [i, n, out];
    });
  }
  return state;
}
