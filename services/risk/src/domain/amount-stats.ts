/**
 * The per-user robust statistic behind "amount far above the user's own history": the median and the
 * median absolute deviation (MAD) of the user's most recent outgoing amounts, per currency. Median and
 * MAD resist the outliers a mean and a standard deviation would chase. Pure bigint arithmetic.
 */

/** How many recent amounts are kept per user and currency. */
export const AMOUNT_HISTORY_SIZE = 50;

/** Median of integers, rounded down for an even count (bigint division floors toward zero; inputs are >= 0). */
export function medianOf(values: readonly bigint[]): bigint {
  if (values.length === 0) throw new RangeError('median of nothing');
  const sorted = [...values].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const mid = Math.floor(sorted.length / 2);
  if (sorted.length % 2 === 1) return sorted[mid]!;
  return (sorted[mid - 1]! + sorted[mid]!) / 2n;
}

export function madOf(values: readonly bigint[], median: bigint): bigint {
  return medianOf(values.map((v) => (v >= median ? v - median : median - v)));
}

export interface AmountStats {
  samples: bigint[];
  median: bigint;
  mad: bigint;
}

/** Adds one amount, keeping the newest `AMOUNT_HISTORY_SIZE`, and recomputes median and MAD. */
export function addAmountSample(previous: readonly bigint[], amount: bigint): AmountStats {
  const samples = [...previous, amount].slice(-AMOUNT_HISTORY_SIZE);
  const median = medianOf(samples);
  return { samples, median, mad: madOf(samples, median) };
}

/**
 * Whether `amount` is far above the history: above median + k x MAD and at least r x median. The ratio
 * guard keeps a user whose amounts never vary (MAD = 0) from being flagged for one cent more.
 */
export function isFarAboveHistory(
  amount: bigint,
  stats: { median: bigint; mad: bigint },
  madMultiplier: number,
  minRatioToMedian: number,
): boolean {
  return (
    amount > stats.median + BigInt(madMultiplier) * stats.mad &&
    amount >= BigInt(minRatioToMedian) * stats.median
  );
}
