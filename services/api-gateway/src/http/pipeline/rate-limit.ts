/**
 * The rate-limit stage: counters per client address for anonymous traffic, per user when signed in,
 * and per address for the route's class — `signup` and `login` are generous on purpose (an office or
 * a carrier NAT puts thousands of people behind one address); brute force is held by identity, which
 * counts FAILED attempts per account+source, per account and per address. Redis when configured (every
 * replica shares the counters), memory in the embedded mode. If the store is unreachable the limits
 * fail open (logged): no brute-force protection depends on them.
 */
import type { Request, Response } from 'express';
import { ProblemType } from '@wallet/contracts';
import { HttpProblem } from '@wallet/service-kit';
import type { InvokeResponse } from '@wallet/platform';
import type { Principal } from '../../auth/principal.ts';
import { rateLimitHeaders, type LimiterName, type RateLimitOutcome } from '../../infra/rate-limits.ts';
import type { RouteSpec } from '../route-table.ts';
import type { GatewayDeps } from './types.ts';
import { clientIp } from './subject.ts';

export function limiterKeys(route: RouteSpec, principal: Principal, ip: string): [LimiterName, string][] {
  if (route.rateLimit === 'webhook') return [['webhook', `ip:${ip}`]];
  const keys: [LimiterName, string][] = [];
  if (principal.kind === 'user') keys.push(['user', `user:${principal.sub}`]);
  if (route.rateLimit === 'signup' || route.rateLimit === 'login') keys.push([route.rateLimit, `ip:${ip}`]);
  else if (principal.kind !== 'user') keys.push(['anonymous', `ip:${ip}`]);
  return keys;
}

/** Consumes a point on each key; sets RateLimit headers (the tightest one) and throws 429 when one is spent. */
export async function applyRateLimits(
  req: Request,
  res: Response,
  deps: GatewayDeps,
  keys: [LimiterName, string][],
) {
  let shown: RateLimitOutcome | undefined;
  let refused: RateLimitOutcome | undefined;
  for (const [name, key] of keys) {
    let outcome: RateLimitOutcome;
    try {
      outcome = await deps.rateLimits.consume(name, key);
    } catch (error) {
      req.log.error(
        { err: error instanceof Error ? error.message : String(error), limiter: name },
        'rate limiter unavailable; request let through',
      );
      continue;
    }
    if (!outcome.allowed) {
      refused = outcome;
      break;
    }
    if (!shown || outcome.remaining < shown.remaining) shown = outcome;
  }
  const report = refused ?? shown;
  if (report)
    for (const [name, value] of Object.entries(rateLimitHeaders(report))) res.setHeader(name, value);
  if (refused) {
    req.log.warn({ limiter: refused.policy, ip: clientIp(req) }, 'rate limited');
    throw new HttpProblem({
      status: 429,
      type: ProblemType.rateLimited,
      title: 'Too many requests',
      detail: `Rate limit "${refused.policy}" exceeded; retry after ${refused.resetSeconds} s.`,
    });
  }
}

const POLICY_NAME = /^[a-z][a-z0-9-]{0,39}$/;

/**
 * A service that refused with 429 (identity's failed sign-in throttling) spent a quota of its own:
 * the RateLimit header says so (r=0 until Retry-After) instead of the gateway's untouched quota.
 */
export function reflectUpstreamThrottle(res: Response, answer: InvokeResponse): void {
  if (answer.status !== 429) return;
  const retryAfter = Object.entries(answer.headers).find(
    ([name]) => name.toLowerCase() === 'retry-after',
  )?.[1];
  const seconds = Number(retryAfter);
  if (!Number.isInteger(seconds) || seconds < 0) return;
  const policy = (answer.body as { policy?: unknown } | undefined)?.policy;
  const name = typeof policy === 'string' && POLICY_NAME.test(policy) ? policy : 'service';
  res.setHeader('RateLimit', `"${name}";r=0;t=${seconds}`);
}
