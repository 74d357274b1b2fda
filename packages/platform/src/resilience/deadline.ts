/**
 * One time budget per request, decided at the edge and handed down the hops: each service runs a
 * request's work inside `runWithDeadline`, and every `invoke` made from it caps its own timeout by
 * what is left, and tells the callee how much that is in the `x-deadline-ms` header (milliseconds
 * remaining when the call was sent: relative, so no clock needs to agree with another).
 *
 * The deadline lives in an AsyncLocalStorage so that code far from the HTTP handler (the ledger's
 * risk client, the gateway's forwarder) needs no extra parameter to respect it.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { performance } from 'node:perf_hooks';

/** Milliseconds of the caller's budget left when the request was sent (a positive integer). */
export const DEADLINE_HEADER = 'x-deadline-ms';

/** The longest budget a caller may hand down; anything larger is read as this. */
export const MAX_PROPAGATED_BUDGET_MS = 60_000;

interface DeadlineScope {
  /** `performance.now()` value at which the request's budget is spent. */
  at: number;
}

const scopes = new AsyncLocalStorage<DeadlineScope>();

/** Runs `work` (and everything it starts) with a deadline `budgetMs` from now. */
export function runWithDeadline<T>(budgetMs: number, work: () => T): T {
  return scopes.run({ at: performance.now() + Math.max(0, budgetMs) }, work);
}

/** Milliseconds left of the current request's budget (may be <= 0), or undefined outside a request. */
export function remainingBudgetMs(): number | undefined {
  const scope = scopes.getStore();
  return scope === undefined ? undefined : scope.at - performance.now();
}

/** Parses `x-deadline-ms`: a positive integer of milliseconds, at most MAX_PROPAGATED_BUDGET_MS; else undefined. */
export function parseDeadlineHeader(value: string | undefined): number | undefined {
  if (value === undefined || !/^[0-9]{1,9}$/.test(value.trim())) return undefined;
  const ms = Number(value.trim());
  if (ms <= 0) return undefined;
  return Math.min(ms, MAX_PROPAGATED_BUDGET_MS);
}
