/**
 * What every `invoke` does around the transport's raw call, the same on both transports: the call's
 * timeout is capped by the caller's remaining time budget (and that budget is handed to the callee in
 * `x-deadline-ms`), a per-target circuit breaker fails fast while a target is broken, and a call that
 * never reached its target may be sent once more when that is safe.
 *
 * What counts as a failure for the breaker is decided here, not by Dapr: Dapr 1.16's breakers count
 * every non-2xx answer of the app (see dapr/README.md), so any client's refusals (4xx) could open them.
 * Here only these count:
 *  - no answer at all: a connection error, or a timeout of a call that had at least `countTimeoutsFromMs`;
 *  - a 5xx answer, except a 503 carrying `Retry-After`: that is a callee shedding load or waiting on
 *    its own dependency, a deliberate answer of a working service, not "I am broken".
 * Refusals (4xx) and deliberate 503s are answers: they close a half-open breaker like any success.
 *
 * Retries: at most one, only for a call that got no connection (`unreachable`), only when it is safe
 * to repeat (GET, or a request carrying an Idempotency-Key) and only if the budget still allows it.
 * Timeouts and 5xx are never retried (the callee may be overloaded: repeating multiplies its load), nor
 * is a 503 from a callee shedding load.
 */
import {
  BrokenCircuitError,
  CircuitState,
  ConsecutiveBreaker,
  circuitBreaker,
  handleWhen,
  type CircuitBreakerPolicy,
} from 'cockatiel';
import { describeError, type PlatformLogger } from '../logger.ts';
import { InvocationError, type InvokeRequest, type InvokeResponse } from '../port.ts';
import { backoffWithFullJitter } from '../internal/backoff.ts';
import { DEADLINE_HEADER, remainingBudgetMs } from './deadline.ts';

export interface InvokePolicyOptions {
  /** Consecutive failures that open a target's breaker. Default 5. */
  breakerConsecutiveFailures?: number;
  /** How long an open breaker fails fast before it lets one probe through. Default 3000 ms. */
  breakerOpenMs?: number;
  /** Kept back from the remaining budget so the caller can still answer after the callee. Default 50 ms. */
  budgetReserveMs?: number;
  /** Below this much usable budget a call is not made at all (InvocationError `timeout`). Default 20 ms. */
  minCallMs?: number;
  /** A timeout counts for the breaker only if the call was allowed at least this long. Default 250 ms. */
  countTimeoutsFromMs?: number;
  /** Ceiling of the single retry's jittered backoff. Default 100 ms. */
  retryBackoffMs?: number;
}

export type RawInvoke = (request: InvokeRequest, timeoutMs: number) => Promise<InvokeResponse>;

export interface InvokePolicy {
  invoke(request: InvokeRequest, raw: RawInvoke): Promise<InvokeResponse>;
  /** `closed`, `open` or `half-open` per target app seen so far (metrics, tests). */
  breakerStates(): Record<string, 'closed' | 'open' | 'half-open'>;
}

/** A callee's deliberate "not now": shedding load, or waiting on its own dependency. */
export function isDeliberateUnavailable(answer: InvokeResponse): boolean {
  return answer.status === 503 && headerOf(answer, 'retry-after') !== undefined;
}

/** Whether an answer means the callee itself is broken (counted by the breaker). */
export function isFailureAnswer(answer: InvokeResponse): boolean {
  return answer.status >= 500 && !isDeliberateUnavailable(answer);
}

function headerOf(answer: InvokeResponse, name: string): string | undefined {
  for (const [key, value] of Object.entries(answer.headers)) if (key.toLowerCase() === name) return value;
  return undefined;
}

function hasHeader(request: InvokeRequest, name: string): boolean {
  return Object.keys(request.headers ?? {}).some((key) => key.toLowerCase() === name);
}

/** Repeating the call cannot do anything twice. */
function safeToRepeat(request: InvokeRequest): boolean {
  return request.method === 'GET' || hasHeader(request, 'idempotency-key');
}

/** Marks an answer the breaker must count, so cockatiel sees it as a failure without us throwing it away. */
class FailedAnswer extends Error {
  override name = 'FailedAnswer';
  readonly answer: InvokeResponse;
  constructor(answer: InvokeResponse) {
    super(`answered ${answer.status}`);
    this.answer = answer;
  }
}

/** A timeout that the caller's short budget caused: not the callee's fault. */
class UncountedInvocationError extends Error {
  override name = 'UncountedInvocationError';
  readonly error: InvocationError;
  constructor(error: InvocationError) {
    super(error.message);
    this.error = error;
  }
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export function createInvokePolicy(
  ownAppId: string,
  logger: PlatformLogger,
  defaultTimeoutMs: number,
  options: InvokePolicyOptions = {},
): InvokePolicy {
  const consecutiveFailures = options.breakerConsecutiveFailures ?? 5;
  const openMs = options.breakerOpenMs ?? 3_000;
  const reserveMs = options.budgetReserveMs ?? 50;
  const minCallMs = options.minCallMs ?? 20;
  const countTimeoutsFromMs = options.countTimeoutsFromMs ?? 250;
  const retryBackoffMs = options.retryBackoffMs ?? 100;
  const breakers = new Map<string, CircuitBreakerPolicy>();

  const breakerFor = (appId: string): CircuitBreakerPolicy => {
    let breaker = breakers.get(appId);
    if (breaker) return breaker;
    breaker = circuitBreaker(
      handleWhen((error) => error instanceof InvocationError || error instanceof FailedAnswer),
      { halfOpenAfter: openMs, breaker: new ConsecutiveBreaker(consecutiveFailures) },
    );
    breaker.onBreak(() =>
      logger.warn({ caller: ownAppId, target: appId, openMs }, `circuit breaker for ${appId} opened`),
    );
    breaker.onReset(() =>
      logger.info({ caller: ownAppId, target: appId }, `circuit breaker for ${appId} closed`),
    );
    breakers.set(appId, breaker);
    return breaker;
  };

  /** The call's timeout: its own (or the transport's), capped by what is left of the budget. */
  const timeoutFor = (request: InvokeRequest): number => {
    const own = request.timeoutMs ?? defaultTimeoutMs;
    const remaining = remainingBudgetMs();
    if (remaining === undefined) return own;
    const usable = Math.floor(remaining - reserveMs);
    if (usable < minCallMs) {
      throw new InvocationError(
        `invoke ${request.appId}: the caller's time budget is spent (${Math.max(0, Math.floor(remaining))} ms left)`,
        request.appId,
        'timeout',
      );
    }
    return Math.min(own, usable);
  };

  const attempt = async (request: InvokeRequest, raw: RawInvoke): Promise<InvokeResponse> => {
    const timeoutMs = timeoutFor(request);
    const headers = { ...request.headers, [DEADLINE_HEADER]: String(timeoutMs) };
    try {
      return await breakerFor(request.appId).execute(async () => {
        let answer: InvokeResponse;
        try {
          answer = await raw({ ...request, headers, timeoutMs }, timeoutMs);
        } catch (error) {
          if (
            error instanceof InvocationError &&
            error.reason === 'timeout' &&
            timeoutMs < countTimeoutsFromMs
          ) {
            throw new UncountedInvocationError(error);
          }
          throw error;
        }
        if (isFailureAnswer(answer)) throw new FailedAnswer(answer);
        return answer;
      });
    } catch (error) {
      if (error instanceof FailedAnswer) return error.answer;
      if (error instanceof UncountedInvocationError) throw error.error;
      if (error instanceof BrokenCircuitError) {
        throw new InvocationError(
          `invoke ${request.appId}: circuit open after repeated failures; not called`,
          request.appId,
          'circuit-open',
          { retryAfterMs: openMs },
        );
      }
      throw error;
    }
  };

  return {
    async invoke(request, raw) {
      try {
        return await attempt(request, raw);
      } catch (error) {
        if (!(error instanceof InvocationError) || error.reason !== 'unreachable' || !safeToRepeat(request)) {
          throw error;
        }
        const pause = backoffWithFullJitter(1, retryBackoffMs, retryBackoffMs);
        const remaining = remainingBudgetMs();
        if (remaining !== undefined && remaining - pause - reserveMs < minCallMs) throw error;
        logger.debug({ target: request.appId, error: describeError(error) }, 'invoke unreachable; one retry');
        await sleep(pause);
        return attempt(request, raw);
      }
    },
    breakerStates() {
      const names = { [CircuitState.Closed]: 'closed', [CircuitState.HalfOpen]: 'half-open' } as const;
      return Object.fromEntries(
        [...breakers].map(([appId, breaker]) => [
          appId,
          breaker.state === CircuitState.Closed || breaker.state === CircuitState.HalfOpen
            ? names[breaker.state]
            : 'open',
        ]),
      );
    },
  };
}
