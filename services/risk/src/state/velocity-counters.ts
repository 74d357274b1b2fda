/**
 * Velocity counters in the platform state store (Redis through Dapr, memory in the embedded mode).
 * Each counter is one JSON value updated read-modify-write under its ETag: a concurrent writer makes
 * the write fail with EtagMismatchError and we re-read and retry, so no increment is ever lost.
 */
import { EtagMismatchError, type StateStore } from '@wallet/platform';
import type { VelocityScope } from '../domain/rules.ts';
import {
  COUNTER_TTL_SECONDS,
  parseCounterState,
  recordVelocityEvent,
  releaseVelocityAmount,
  type CounterState,
  type VelocityTotals,
} from '../domain/velocity.ts';

export const MAX_COUNTER_ATTEMPTS = 40;

export class VelocityContentionError extends Error {
  override name = 'VelocityContentionError';
}

/** The state store could not be read or written (sidecar or Redis down): the assessment cannot be made. */
export class VelocityStoreError extends Error {
  override name = 'VelocityStoreError';
}

export function velocityKey(scope: VelocityScope, id: string): string {
  return `velocity:v1:${scope}:${encodeURIComponent(id)}`;
}

function pause(attempt: number): Promise<void> {
  // The first retries only yield (the competing write has usually landed); later ones back off with jitter.
  if (attempt < 3) return new Promise((resolve) => setImmediate(resolve));
  const ceilingMs = Math.min(20, 2 ** (attempt - 2));
  return new Promise((resolve) => setTimeout(resolve, Math.random() * ceilingMs));
}

export interface RecordedVelocity {
  totals: VelocityTotals;
  /** Writes lost to a concurrent writer and retried. */
  conflicts: number;
}

/** Read-modify-write of one counter under its ETag, retried on a concurrent write. */
async function updateCounter<T>(
  state: StateStore,
  key: string,
  apply: (previous: CounterState | undefined) => { next: CounterState; result: T },
): Promise<{ result: T; conflicts: number }> {
  for (let attempt = 0; attempt < MAX_COUNTER_ATTEMPTS; attempt += 1) {
    const stored = await state.get<unknown>(key).catch((error: unknown) => {
      throw new VelocityStoreError(`velocity counter ${key}: state store read failed`, { cause: error });
    });
    const { next, result } = apply(stored ? parseCounterState(stored.value) : undefined);
    try {
      await state.set(key, next, { etag: stored ? stored.etag : null, ttlSeconds: COUNTER_TTL_SECONDS });
      return { result, conflicts: attempt };
    } catch (error) {
      if (!(error instanceof EtagMismatchError)) {
        throw new VelocityStoreError(`velocity counter ${key}: state store write failed`, { cause: error });
      }
      await pause(attempt);
    }
  }
  throw new VelocityContentionError(
    `velocity counter ${key}: still contended after ${MAX_COUNTER_ATTEMPTS} attempts`,
  );
}

/** Adds one event to the counter at `key` and returns the totals that include it. */
export async function recordVelocity(
  state: StateStore,
  key: string,
  event: { nowMs: number; currency: string | null; amount: bigint | null },
): Promise<RecordedVelocity> {
  const { result, conflicts } = await updateCounter(state, key, (previous) => {
    const { state: next, totals } = recordVelocityEvent(previous, event.nowMs, event.currency, event.amount);
    return { next, result: totals };
  });
  return { totals: result, conflicts };
}

/**
 * Takes the amount of an event recorded by `recordVelocity` back out of the sums (its count stays).
 * Called right after the recording, so the event's time also decides which buckets are still live.
 */
export async function releaseVelocity(
  state: StateStore,
  key: string,
  event: { nowMs: number; currency: string; amount: bigint },
): Promise<{ conflicts: number }> {
  const { conflicts } = await updateCounter(state, key, (previous) => ({
    next: releaseVelocityAmount(previous, event.nowMs, event.nowMs, event.currency, event.amount),
    result: undefined,
  }));
  return { conflicts };
}
