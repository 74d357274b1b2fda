/**
 * Per-account sign-in throttling (on top of the gateway's per-IP limits): growing delays between
 * failures, then a temporary lockout that doubles each time. Keyed by the normalised e-mail, for
 * addresses with and without an account alike, so the answers never tell the two apart.
 */
export interface ThrottlePolicy {
  maxFailures: number;
  lockoutSeconds: number;
  delayBaseMs: number;
}

export const MAX_DELAY_MS = 30_000;
export const MAX_LOCKOUT_SECONDS = 24 * 3600;

/** Wait imposed after the n-th consecutive failure: none after the first, then base, 2*base, ... (capped). */
export function delayAfterFailure(failures: number, policy: ThrottlePolicy): number {
  if (failures < 2 || policy.delayBaseMs === 0) return 0;
  return Math.min(MAX_DELAY_MS, policy.delayBaseMs * 2 ** Math.min(failures - 2, 20));
}

/** Length of the k-th lockout (k = 0 for the first). */
export function lockoutSeconds(previousLockouts: number, policy: ThrottlePolicy): number {
  return Math.min(MAX_LOCKOUT_SECONDS, policy.lockoutSeconds * 2 ** Math.min(previousLockouts, 20));
}
