/** Rate limits on real Redis (shared counters), hit and reset, RateLimit headers, trusted proxies. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { ProblemType } from '@wallet/contracts';
import { infraEnv, waitFor } from '@wallet/testing';
import { createRateLimits } from '../../src/infra/rate-limits.ts';
import { createRedisNonceStore } from '../../src/infra/nonce-store.ts';
import { startGateway, type GatewayUnderTest } from '../helpers/gateway.ts';

const adminUrl = infraEnv('TEST_PG_ADMIN_URL');
const redisUrl = infraEnv('REDIS_URL');

describe.skipIf(!adminUrl || !redisUrl)('rate limits on Redis', () => {
  let gw: GatewayUnderTest;
  let proxied: GatewayUnderTest;
  let redis: Redis;

  beforeAll(async () => {
    redis = new Redis(redisUrl!);
    const env = {
      REDIS_URL: redisUrl!,
      RATE_LIMIT_ANONYMOUS: '5/4',
      RATE_LIMIT_USER: '8/60',
      RATE_LIMIT_SIGNUP: '2/60',
      RATE_LIMIT_LOGIN: '3/60',
    };
    [gw, proxied] = await Promise.all([
      startGateway({ adminUrl: adminUrl!, env }),
      startGateway({ adminUrl: adminUrl!, env: { ...env, TRUSTED_PROXIES: 'loopback' } }),
    ]);
    // Ready includes the Redis connection; before it, the general limiters fail open by design.
    for (const g of [gw, proxied])
      await waitFor(async () => (await g.call('GET', '/readyz')).status === 200, { what: 'gateway ready' });
  });
  afterAll(async () => {
    await Promise.all([gw?.stop(), proxied?.stop()]);
    redis?.disconnect();
  });

  it('limits anonymous traffic per IP, answers 429 with Retry-After and RateLimit, then resets', async () => {
    const statuses: number[] = [];
    let last: Awaited<ReturnType<GatewayUnderTest['call']>> | undefined;
    for (let i = 0; i < 7; i++) {
      last = await gw.call('GET', '/v1/dev/outbox?to=a@example.com');
      statuses.push(last.status);
    }
    expect(statuses, JSON.stringify(statuses)).toEqual([200, 200, 200, 200, 200, 429, 429]);
    expect((last!.body as { type: string }).type).toBe(ProblemType.rateLimited);
    expect(Number(last!.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(last!.headers.get('ratelimit-policy')).toBe('"anonymous";q=5;w=4');
    expect(last!.headers.get('ratelimit')).toMatch(/^"anonymous";r=0;t=\d+$/);
    expect(last!.headers.get('x-upstream-app')).toBeNull();
    // The window passes: allowed again.
    await waitFor(async () => (await gw.call('GET', '/v1/dev/outbox?to=a@example.com')).status === 200, {
      timeoutMs: 8_000,
      intervalMs: 250,
      what: 'limit reset',
    });
  });

  it('counts per user for authenticated traffic, independently of other users', async () => {
    const alice = await gw.fakes.issue({ sub: 'rl-alice' });
    const bob = await gw.fakes.issue({ sub: 'rl-bob' });
    const results: number[] = [];
    for (let i = 0; i < 9; i++) results.push((await gw.call('GET', '/v1/wallets', { token: alice })).status);
    expect(results.slice(0, 8).every((s) => s === 200)).toBe(true);
    expect(results[8]).toBe(429);
    const ok = await gw.call('GET', '/v1/wallets', { token: bob });
    expect(ok.status).toBe(200);
    expect(ok.headers.get('ratelimit')).toBe('"user";r=7;t=60');
  });

  it('counts every sign-up and sign-in attempt per address on their own classes, not the anonymous one', async () => {
    const ip = '203.0.113.50';
    const post = (path: string, body: unknown) =>
      proxied.call('POST', path, { body, headers: { 'X-Forwarded-For': ip } });
    const logins: number[] = [];
    for (let i = 0; i < 4; i++)
      logins.push((await post('/v1/auth/login', { email: 'x@example.com', password: 'p' })).status);
    expect(logins.slice(0, 3).every((s) => s !== 429)).toBe(true);
    expect(logins[3]).toBe(429);
    const signups: number[] = [];
    for (let i = 0; i < 3; i++)
      signups.push((await post('/v1/auth/register', { email: `s${i}@example.com`, password: 'p' })).status);
    expect(signups).toEqual([201, 201, 429]);
    // Neither class spent the address's anonymous budget (5 per 4 s here).
    const other = await proxied.call('GET', '/v1/dev/outbox?to=x@example.com', {
      headers: { 'X-Forwarded-For': ip },
    });
    expect(other.status).toBe(200);
    expect(other.headers.get('ratelimit')).toMatch(/^"anonymous";r=4;t=\d+$/);
  });

  it("reports a service's failed sign-in throttling in RateLimit, with its Retry-After", async () => {
    gw.fakes.overrides.set('identity POST /auth/login', (_req, res) => {
      res
        .status(429)
        .set('Retry-After', '7')
        .type('application/problem+json')
        .send(
          JSON.stringify({
            type: ProblemType.rateLimited,
            status: 429,
            title: 'Too many attempts',
            policy: 'sign-in-failures',
          }),
        );
    });
    try {
      const res = await gw.call('POST', '/v1/auth/login', {
        body: { email: 'y@example.com', password: 'p' },
      });
      expect(res.status).toBe(429);
      expect((res.body as { type: string }).type).toBe(ProblemType.rateLimited);
      expect(res.headers.get('retry-after')).toBe('7');
      expect(res.headers.get('ratelimit')).toBe('"sign-in-failures";r=0;t=7');
    } finally {
      gw.fakes.overrides.delete('identity POST /auth/login');
    }
  });

  it('keeps counters in Redis, shared by every gateway replica', async () => {
    const keys = await redis.keys('gwtest:*rl:*');
    expect(keys.length).toBeGreaterThan(0);
    // Two limiter instances (two replicas) on one Redis share one budget.
    const prefix = `gwtest:shared:${Date.now()}:`;
    const limits = {
      anonymous: { points: 3, durationSeconds: 60 },
      user: { points: 3, durationSeconds: 60 },
      signup: { points: 3, durationSeconds: 60 },
      login: { points: 3, durationSeconds: 60 },
      webhook: { points: 3, durationSeconds: 60 },
    };
    const a = createRateLimits({ limits, redis, keyPrefix: prefix });
    const b = createRateLimits({ limits, redis, keyPrefix: prefix });
    const outcomes = [
      await a.consume('user', 'u'),
      await b.consume('user', 'u'),
      await a.consume('user', 'u'),
      await b.consume('user', 'u'),
    ];
    expect(outcomes.map((o) => o.allowed)).toEqual([true, true, true, false]);
  });

  it('claims a nonce once across replicas', async () => {
    const store = createRedisNonceStore(redis, `gwtest:nonce:${Date.now()}:`);
    expect(await store.claim('n1', 60)).toBe(true);
    expect(await store.claim('n1', 60)).toBe(false);
  });

  it('believes X-Forwarded-For only from trusted proxies', async () => {
    // Trusted (loopback is the proxy): each forwarded client IP gets its own budget.
    for (const ip of ['198.51.100.1', '198.51.100.2']) {
      const statuses: number[] = [];
      for (let i = 0; i < 5; i++)
        statuses.push(
          (
            await proxied.call('GET', '/v1/dev/outbox?to=b@example.com', {
              headers: { 'X-Forwarded-For': ip },
            })
          ).status,
        );
      expect(statuses.every((s) => s === 200)).toBe(true);
    }
    // Untrusted: a forged X-Forwarded-For does not buy a fresh budget.
    await waitFor(async () => (await gw.call('GET', '/v1/dev/outbox?to=c@example.com')).status === 200, {
      timeoutMs: 8_000,
      intervalMs: 250,
      what: 'limit reset',
    });
    const forged: number[] = [];
    for (let i = 0; i < 7; i++)
      forged.push(
        (
          await gw.call('GET', '/v1/dev/outbox?to=c@example.com', {
            headers: { 'X-Forwarded-For': `192.0.2.${i}` },
          })
        ).status,
      );
    expect(forged).toContain(429);
  });
});
