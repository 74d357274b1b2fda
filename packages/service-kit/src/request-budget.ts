/**
 * Each request's time budget. The edge (the gateway) decides it: `REQUEST_BUDGET_MS` from the moment
 * the request arrived. A service behind it takes what its caller handed down in `x-deadline-ms` (never
 * more than its own `REQUEST_BUDGET_MS`). The route handlers then run inside `runWithDeadline`, so
 * every `platform.invoke` they make is capped by what is left and passes the rest on.
 */
import { performance } from 'node:perf_hooks';
import type { Request, RequestHandler } from 'express';
import { DEADLINE_HEADER, parseDeadlineHeader, runWithDeadline } from '@wallet/platform';

export interface RequestBudgetOptions {
  /** The budget of a request that brings none (and the ceiling of one that does). */
  budgetMs: number;
  /** Read `x-deadline-ms` from the caller. False at the edge: the public decides nothing here. */
  trustCallerDeadline: boolean;
}

const arrivals = new WeakMap<Request, number>();

/** First middleware of the app: when the request arrived, before any parsing or queueing. */
export const stampArrival: RequestHandler = (req, _res, next) => {
  arrivals.set(req, performance.now());
  next();
};

/** The request's whole budget in milliseconds, counted from its arrival. */
export function requestBudgetMs(req: Request, options: RequestBudgetOptions): number {
  const handedDown = options.trustCallerDeadline ? parseDeadlineHeader(req.get(DEADLINE_HEADER)) : undefined;
  return Math.min(options.budgetMs, handedDown ?? options.budgetMs);
}

/** Milliseconds of the request's budget left now. */
export function remainingRequestBudgetMs(req: Request, options: RequestBudgetOptions): number {
  const arrived = arrivals.get(req) ?? performance.now();
  return requestBudgetMs(req, options) - (performance.now() - arrived);
}

/**
 * Runs the rest of the chain (parsers are done: mount it right before the routes) inside the
 * request's deadline, so that `invoke` calls made while handling it respect it.
 */
export function requestDeadline(options: RequestBudgetOptions): RequestHandler {
  return (req, _res, next) => {
    runWithDeadline(remainingRequestBudgetMs(req, options), () => next());
  };
}
