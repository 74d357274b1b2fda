/**
 * Bounded CPU-heavy work inside a request (password hashing): at most `concurrency` jobs run at once and
 * the others wait in arrival order. A job that cannot start while its request can still use the answer
 * (the request's remaining budget, less what a job has been taking lately and a margin for the rest of
 * the request), or whose place in the queue says it will not, is refused with
 * `WorkOverloadedError`, which the problem handler answers with 503 `overloaded` and `Retry-After`.
 *
 * Why: a burst of sign-ups on a busy machine otherwise queues hashes until every call times out, and
 * timeouts are what a caller's circuit breaker counts, so a few dozen people signing up at once could
 * open the gateway's breaker and turn everyone away for seconds. A prompt 503 with Retry-After is a
 * deliberate answer of a working service: callers neither retry it nor count it against the breaker
 * (see @wallet/platform's invoke policy), and nothing was done, so the client may simply send it again.
 */
import { performance } from 'node:perf_hooks';
import { remainingBudgetMs } from '@wallet/platform';

export class WorkOverloadedError extends Error {
  override name = 'WorkOverloadedError';
  readonly what: string;
  readonly retryAfterSeconds: number;
  constructor(what: string, retryAfterSeconds: number) {
    super(`${what}: too much work waiting; not started`);
    this.what = what;
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

export interface WorkLimiterOptions {
  /** Named in errors and logs: `password hashing`. */
  what: string;
  /** Jobs running at once. */
  concurrency: number;
  /** Jobs waiting at most; beyond, refused at once. Default 256. */
  maxQueued?: number;
  /** Longest wait outside any request budget (a CLI, a background task). Default 10 s. */
  maxWaitMs?: number;
  /** Seconds a refused client is told to wait. Default 1. */
  retryAfterSeconds?: number;
}

export interface WorkLimiter {
  run<T>(job: () => Promise<T>): Promise<T>;
  load(): { running: number; queued: number };
}

interface Waiter {
  start(): void;
  timer: NodeJS.Timeout | undefined;
}

/** Weight of the newest duration in the moving average of job durations. */
const SMOOTHING = 0.2;
/** Least time kept for the rest of a request after its job. */
const MIN_MARGIN_MS = 100;

export function createWorkLimiter(options: WorkLimiterOptions): WorkLimiter {
  const maxQueued = options.maxQueued ?? 256;
  const maxWaitMs = options.maxWaitMs ?? 10_000;
  const retryAfter = options.retryAfterSeconds ?? 1;
  let running = 0;
  let typicalMs = 0;
  const queue: Waiter[] = [];

  // Kept for what the request does after the job (a database write, the answer).
  const marginMs = (): number => Math.max(MIN_MARGIN_MS, typicalMs);
  const refuse = (): WorkOverloadedError => new WorkOverloadedError(options.what, retryAfter);

  const finished = (startedAt: number): void => {
    const took = performance.now() - startedAt;
    typicalMs = typicalMs === 0 ? took : typicalMs + SMOOTHING * (took - typicalMs);
    running -= 1;
    const next = queue.shift();
    if (next) next.start();
  };

  const execute = async <T>(job: () => Promise<T>): Promise<T> => {
    running += 1;
    const startedAt = performance.now();
    try {
      return await job();
    } finally {
      finished(startedAt);
    }
  };

  return {
    run(job) {
      const budget = remainingBudgetMs();
      if (running < options.concurrency && queue.length === 0) return execute(job);
      // Time left to start: the job and the rest of the request must still fit in the budget.
      const waitMs = Math.min(maxWaitMs, budget === undefined ? maxWaitMs : budget - typicalMs - marginMs());
      // What the jobs ahead will take, at the pace jobs have been running lately.
      const expectedWaitMs = Math.ceil((queue.length + 1) / options.concurrency) * typicalMs;
      if (queue.length >= maxQueued || waitMs <= 0 || expectedWaitMs > waitMs)
        return Promise.reject(refuse());
      return new Promise((resolve, reject) => {
        const waiter: Waiter = {
          start: () => {
            if (waiter.timer) clearTimeout(waiter.timer);
            execute(job).then(resolve, reject);
          },
          timer: undefined,
        };
        waiter.timer = setTimeout(() => {
          const at = queue.indexOf(waiter);
          if (at >= 0) queue.splice(at, 1);
          reject(refuse());
        }, waitMs);
        queue.push(waiter);
      });
    },
    load: () => ({ running, queued: queue.length }),
  };
}
