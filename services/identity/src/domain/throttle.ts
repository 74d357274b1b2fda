/**
 * Sign-in throttling that keys on failures (OWASP ASVS 6.3.1; the shape of Keycloak's brute-force
 * detection, without its hard lock): a wrong password, second-factor code or recovery code is counted
 *
 * - per account and source address: a few free failures, then a delay that doubles with each further
 *   failure (capped) — the attacker's own address slows down, nobody else's;
 * - per account, from any source: a generous ceiling per window, which refuses only sources the
 *   account has never signed in from (the owner's usual address or device still gets in);
 * - per source address, across accounts (password spraying): a ceiling per window, again refusing only
 *   sources unknown to the account being tried.
 *
 * Keys are keyed hashes of the normalised e-mail and the address, for accounts that exist and for
 * those that do not alike, so the answers never tell the two apart.
 */
export interface ThrottlePolicy {
  /** Failures per account and source before delays begin. */
  freeFailures: number;
  /** The first delay; each further failure doubles it. */
  delayBaseMs: number;
  maxDelayMs: number;
  /** A source's failures on an account are forgotten after this long without a new one. */
  sourceWindowSeconds: number;
  accountMaxFailures: number;
  accountWindowSeconds: number;
  ipMaxFailures: number;
  ipWindowSeconds: number;
  /** A source the account signed in from stays "known" this long after its last success. */
  trustedSourceSeconds: number;
}

/** Wait imposed after `failures` counted failures from one source: none within the free ones, then base, 2*base, ... (capped). */
export function delayAfterFailures(failures: number, policy: ThrottlePolicy): number {
  if (failures < policy.freeFailures || policy.delayBaseMs === 0) return 0;
  return Math.min(policy.maxDelayMs, policy.delayBaseMs * 2 ** Math.min(failures - policy.freeFailures, 30));
}

/** The three counters an attempt is held to. */
export type ThrottleScope = 'source' | 'account' | 'ip';
