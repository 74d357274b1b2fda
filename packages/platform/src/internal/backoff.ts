/**
 * Exponential backoff with full jitter: a delay drawn uniformly from [0, min(max, base * 2^(attempt-1))).
 * Full jitter spreads retries of many failing messages (or several relay replicas) so they do not
 * hit a recovering broker in lock-step. `attempt` is 1 for the first retry.
 */
export function backoffWithFullJitter(
  attempt: number,
  baseMs: number,
  maxMs: number,
  random: () => number = Math.random,
): number {
  if (!Number.isFinite(attempt) || attempt < 1) throw new RangeError(`attempt must be >= 1, got ${attempt}`);
  if (baseMs < 0 || maxMs < 0) throw new RangeError('backoff bounds must not be negative');
  // 2^(attempt-1) overflows to Infinity for large attempts; min() keeps the ceiling finite.
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.min(attempt - 1, 52));
  return Math.floor(random() * ceiling);
}
