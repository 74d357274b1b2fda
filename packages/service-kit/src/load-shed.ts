/**
 * Bounded work in flight: a service serves at most `maxInFlight` requests at once and lets at most
 * `maxQueued` more wait, each no longer than `maxQueueWaitMs` nor half of what is left of its own time
 * budget. Anything beyond is answered at once with 503 `overloaded` and `Retry-After`: a short, honest
 * refusal the caller can act on, instead of a queue that grows until every request times out. Callers
 * (the platform's invoke policy) neither retry this answer nor count it against the service's breaker.
 *
 * Written here rather than taken from a library: admission must be decided per HTTP request and
 * released when its response ends or its client leaves, and the wait must be bounded by the request's
 * own deadline; promise-queue libraries (p-limit, p-queue, cockatiel's bulkhead) bound neither.
 */
import type { Request, RequestHandler, Response } from 'express';
import { ProblemType } from '@wallet/contracts';
import type { Counter, Gauge } from 'prom-client';
import { HttpProblem, sendProblem } from './errors.ts';

export interface LoadShedOptions {
  maxInFlight: number;
  maxQueued: number;
  maxQueueWaitMs: number;
  /** Milliseconds of the request's budget left now (see request-budget.ts). */
  remainingBudgetMs: (req: Request) => number;
  /** Seconds a shed client is told to wait. Default 1. */
  retryAfterSeconds?: number;
  metrics?: { shed: Counter<'reason'>; inFlight: Gauge; queued: Gauge };
}

interface Waiter {
  admit(): void;
  timer: NodeJS.Timeout;
}

export interface LoadShedder {
  middleware: RequestHandler;
  /** Requests being served now, and waiting. */
  load(): { inFlight: number; queued: number };
}

export function createLoadShedder(options: LoadShedOptions): LoadShedder {
  const { maxInFlight, maxQueued, maxQueueWaitMs } = options;
  const retryAfter = String(options.retryAfterSeconds ?? 1);
  let inFlight = 0;
  const queue: Waiter[] = [];

  const report = (): void => {
    options.metrics?.inFlight.set(inFlight);
    options.metrics?.queued.set(queue.length);
  };

  const shed = (req: Request, res: Response, reason: 'queue-full' | 'queue-wait'): void => {
    options.metrics?.shed.inc({ reason });
    req.log.debug({ reason, inFlight, queued: queue.length }, 'request shed');
    sendProblem(
      res,
      new HttpProblem({
        status: 503,
        type: ProblemType.overloaded,
        title: 'Overloaded',
        detail: 'The service is at its limit of work in flight. Retry after the time in Retry-After.',
        headers: { 'Retry-After': retryAfter },
      }),
      req.originalUrl,
    );
  };

  const release = (): void => {
    inFlight--;
    while (inFlight < maxInFlight && queue.length > 0) queue.shift()!.admit();
    report();
  };

  const start = (res: Response, next: () => void): void => {
    inFlight++;
    report();
    let released = false;
    res.once('close', () => {
      if (released) return;
      released = true;
      release();
    });
    next();
  };

  const middleware: RequestHandler = (req, res, next) => {
    if (inFlight < maxInFlight && queue.length === 0) {
      start(res, next);
      return;
    }
    const waitMs = Math.min(maxQueueWaitMs, Math.floor(options.remainingBudgetMs(req) / 2));
    if (queue.length >= maxQueued || waitMs <= 0) {
      shed(req, res, 'queue-full');
      return;
    }
    const waiter: Waiter = {
      admit: () => {
        clearTimeout(waiter.timer);
        res.off('close', leave);
        start(res, next);
      },
      timer: setTimeout(() => {
        remove();
        shed(req, res, 'queue-wait');
      }, waitMs),
    };
    const remove = (): void => {
      const index = queue.indexOf(waiter);
      if (index !== -1) queue.splice(index, 1);
      report();
    };
    // The client gave up while waiting: free its place.
    const leave = (): void => {
      clearTimeout(waiter.timer);
      remove();
    };
    res.once('close', leave);
    queue.push(waiter);
    report();
  };

  return { middleware, load: () => ({ inFlight, queued: queue.length }) };
}
