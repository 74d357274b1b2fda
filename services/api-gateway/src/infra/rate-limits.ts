/**
 * Rate limits with rate-limiter-flexible: on Redis when REDIS_URL is set (every gateway replica shares
 * the counters, as Envoy's and Kong's global limits do), in memory in the embedded mode. The limits
 * come from configuration. Answers carry the IETF RateLimit / RateLimit-Policy headers. These count
 * every request; failed sign-ins are counted by identity (see http/pipeline/rate-limit.ts).
 */
import type { Redis } from 'ioredis';
import {
  RateLimiterMemory,
  RateLimiterRedis,
  RateLimiterRes,
  type RateLimiterAbstract,
} from 'rate-limiter-flexible';
import type { LimitSpec } from '../config.ts';

export type LimiterName = 'anonymous' | 'user' | 'signup' | 'login' | 'webhook';

export interface RateLimitOutcome {
  allowed: boolean;
  policy: LimiterName;
  limit: number;
  remaining: number;
  resetSeconds: number;
  windowSeconds: number;
}

export interface RateLimits {
  consume(name: LimiterName, key: string): Promise<RateLimitOutcome>;
}

export function createRateLimits(options: {
  limits: Record<LimiterName, LimitSpec>;
  redis?: Redis | undefined;
  keyPrefix: string;
}): RateLimits {
  const limiters = new Map<LimiterName, { limiter: RateLimiterAbstract; spec: LimitSpec }>();
  for (const [name, spec] of Object.entries(options.limits) as [LimiterName, LimitSpec][]) {
    const common = {
      points: spec.points,
      duration: spec.durationSeconds,
      keyPrefix: `${options.keyPrefix}rl:${name}`,
    };
    const limiter = options.redis
      ? new RateLimiterRedis({ ...common, storeClient: options.redis, rejectIfRedisNotReady: true })
      : new RateLimiterMemory(common);
    limiters.set(name, { limiter, spec });
  }
  return {
    async consume(name, key) {
      const entry = limiters.get(name);
      if (!entry) throw new Error(`no rate limiter ${name}`);
      const outcome = (res: RateLimiterRes, allowed: boolean): RateLimitOutcome => ({
        allowed,
        policy: name,
        limit: entry.spec.points,
        remaining: Math.max(0, res.remainingPoints),
        resetSeconds: Math.max(1, Math.ceil(res.msBeforeNext / 1000)),
        windowSeconds: entry.spec.durationSeconds,
      });
      try {
        return outcome(await entry.limiter.consume(key), true);
      } catch (rejection) {
        if (rejection instanceof RateLimiterRes) return outcome(rejection, false);
        throw rejection;
      }
    },
  };
}

/** `RateLimit-Policy` and `RateLimit` (draft-ietf-httpapi-ratelimit-headers), plus `Retry-After` when refused. */
export function rateLimitHeaders(outcome: RateLimitOutcome): Record<string, string> {
  const headers: Record<string, string> = {
    'RateLimit-Policy': `"${outcome.policy}";q=${outcome.limit};w=${outcome.windowSeconds}`,
    RateLimit: `"${outcome.policy}";r=${outcome.remaining};t=${outcome.resetSeconds}`,
  };
  if (!outcome.allowed) headers['Retry-After'] = String(outcome.resetSeconds);
  return headers;
}
