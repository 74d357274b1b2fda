// Longer than 400 lines: one suite over one running gateway and its fakes; its scenarios share that set-up, and splitting it would start the gateway once per file.
/**
 * The real gateway (real PostgreSQL) in front of stand-in services on the embedded bus: authorisation
 * matrix over every route, forwarding, access tokens (JWKS rotation, revocation), browser sessions
 * (cookies, CSRF), HSTS/CORS, WAF, webhook and partner signatures, audit log, dead letters, OpenAPI.
 */
import { randomBytes } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Events, ProblemType, type Role } from '@wallet/contracts';
import { infraEnv, waitFor } from '@wallet/testing';
import { ROUTES } from '../../src/http/route-table.ts';
import { signPartnerRequest, signWebhook } from '../../src/domain/signatures.ts';
import { createApiClientStore } from '../../src/auth/api-clients.ts';
import { createCryptoBox } from '../../src/infra/crypto-box.ts';
import { cookiesOf, startGateway, type GatewayUnderTest } from '../helpers/gateway.ts';
import { ATTACKS, LEGITIMATE } from '../fixtures/waf-corpora.ts';

const adminUrl = infraEnv('TEST_PG_ADMIN_URL');

function rawStatus(baseUrl: string, rawPath: string, accessToken: string): Promise<number> {
  const url = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: url.hostname,
        port: url.port,
        path: rawPath,
        method: 'GET',
        headers: { authorization: `Bearer ${accessToken}` },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

describe.skipIf(!adminUrl)('api-gateway', () => {
  let gw: GatewayUnderTest;
  const token = (sub: string, roles: Role[] = ['user'], acr: 'aal1' | 'aal2' = 'aal1', sid?: string) =>
    gw.fakes.issue({ sub, roles, acr, ...(sid ? { sid } : {}) });

  beforeAll(async () => {
    gw = await startGateway({
      adminUrl: adminUrl!,
      env: { JWKS_REFRESH_COOLDOWN_MS: '0', WEBHOOK_SECRETS: 'whsec_new_secret,whsec_old_secret' },
    });
    gw.fakes.users.set('alice@example.com', {
      password: 'correct horse',
      sub: 'user-alice',
      roles: ['user'],
    });
    gw.fakes.users.set('bob@example.com', { password: 'battery staple', sub: 'user-bob', roles: ['user'] });
  });
  afterAll(async () => gw?.stop());

  describe('authorisation matrix over every route', () => {
    const principals: { name: string; roles: Role[] | null; acr: 'aal1' | 'aal2'; sub: string }[] = [
      { name: 'anonymous', roles: null, acr: 'aal1', sub: '' },
      { name: 'user', roles: ['user'], acr: 'aal1', sub: 'user-1' },
      { name: 'another user', roles: ['user'], acr: 'aal1', sub: 'user-2' },
      { name: 'user stepped up', roles: ['user'], acr: 'aal2', sub: 'user-1' },
      { name: 'support', roles: ['user', 'support'], acr: 'aal1', sub: 'support-1' },
      { name: 'support stepped up', roles: ['user', 'support'], acr: 'aal2', sub: 'support-1' },
      { name: 'admin', roles: ['user', 'admin'], acr: 'aal1', sub: 'admin-1' },
      { name: 'admin stepped up', roles: ['user', 'admin'], acr: 'aal2', sub: 'admin-1' },
    ];
    const expectedStatus = (
      route: (typeof ROUTES)[number],
      p: (typeof principals)[number],
    ): 'pass' | 401 | 403 => {
      if (route.access === 'anonymous') return 'pass';
      if (!p.roles) return 401;
      if (route.access === 'support' && !p.roles.some((r) => r === 'support' || r === 'admin')) return 403;
      if (route.access === 'admin' && !p.roles.includes('admin')) return 403;
      if (route.stepUp && p.acr !== 'aal2') return 403;
      return 'pass';
    };

    for (const route of ROUTES.filter((r) => r.auth === 'principal')) {
      it(`${route.method} ${route.path}`, async () => {
        const path = route.path.replace(/\{[^}]+\}/g, 'id_123');
        for (const p of principals) {
          const res = await gw.call(route.method, path, {
            ...(p.roles ? { token: await token(p.sub, p.roles, p.acr) } : {}),
            ...(route.method === 'POST' || route.method === 'PUT' ? { body: {} } : {}),
            headers: route.movesMoney ? { 'Idempotency-Key': `k-${randomBytes(6).toString('hex')}` } : {},
          });
          const want = expectedStatus(route, p);
          const cell = { principal: p.name, status: res.status, upstream: res.headers.get('x-upstream-app') };
          if (want === 'pass') {
            expect(cell.upstream, JSON.stringify(cell)).not.toBeNull();
          } else {
            expect(cell).toEqual({ principal: p.name, status: want, upstream: null });
            const problem = res.body as { type: string };
            expect(problem.type).toBe(
              want === 401
                ? ProblemType.unauthenticated
                : route.stepUp && p.roles && expectedStatus({ ...route, stepUp: false }, p) === 'pass'
                  ? ProblemType.stepUpRequired
                  : ProblemType.forbidden,
            );
          }
        }
      });
    }

    it('answers unknown routes 404 and wrong methods 405 without forwarding', async () => {
      const missing = await gw.call('GET', '/v1/nothing-here', { token: await token('user-1') });
      expect(missing.status).toBe(404);
      const wrong = await gw.call('DELETE', '/v1/wallets', { token: await token('user-1') });
      expect(wrong.status).toBe(405);
      expect(wrong.headers.get('allow')).toBe('GET, POST');
      expect(wrong.headers.get('x-upstream-app')).toBeNull();
    });
  });

  describe('forwarding', () => {
    it('mints an internal token with the caller, forwards Idempotency-Key and relays the answer intact', async () => {
      const sid = `sid-${randomBytes(4).toString('hex')}`;
      const before = gw.fakes.received.length;
      const res = await gw.call('POST', '/v1/transfers', {
        token: await token('user-claims', ['user'], 'aal1', sid),
        body: { fromWalletId: 'w1', toWalletId: 'w2', amount: '1050', currency: 'EUR' },
        headers: {
          'Idempotency-Key': 'replayed-key',
          'X-Request-Id': 'req-claims-1',
          'X-Device-Id': 'device-7',
          'User-Agent': 'wallet-test/1',
        },
      });
      expect(res.status).toBe(201);
      expect(res.headers.get('x-upstream-app')).toBe('wallet-ledger');
      expect(res.headers.get('idempotent-replayed')).toBe('true');
      expect(res.headers.getSetCookie()).toEqual([]);
      const seen = gw.fakes.received.slice(before).find((r) => r.path === '/transfers')!;
      expect(seen.claims).toMatchObject({
        iss: 'api-gateway',
        aud: 'wallet-ledger',
        sub: 'user-claims',
        sid,
        roles: ['user'],
        acr: 'aal1',
        deviceId: 'device-7',
        userAgent: 'wallet-test/1',
      });
      // The request id rides in its header, not in the (reusable) token.
      expect(seen.claims['requestId']).toBeUndefined();
      expect(seen.headers['x-request-id']).toBe('req-claims-1');
      expect(seen.claims['ip']).toMatch(/127\.0\.0\.1/);
      expect(seen.headers['idempotency-key']).toBe('replayed-key');
      expect(seen.headers['authorization']).toBeUndefined();
      expect(seen.body).toEqual({ fromWalletId: 'w1', toWalletId: 'w2', amount: '1050', currency: 'EUR' });
    });

    it('passes a service problem through unchanged but for its instance: the public path', async () => {
      const problem = {
        type: ProblemType.insufficientFunds,
        title: 'Insufficient funds',
        status: 422,
        detail: 'available 10',
        available: '10',
        instance: '/transfers',
      };
      gw.fakes.overrides.set('wallet-ledger POST /transfers', (_req, res) => {
        res.status(422).type('application/problem+json').send(JSON.stringify(problem));
      });
      try {
        const res = await gw.call('POST', '/v1/transfers', {
          token: await token('user-1'),
          body: { amount: '1' },
          headers: { 'Idempotency-Key': 'k-problem' },
        });
        expect(res.status).toBe(422);
        expect(res.headers.get('content-type')).toContain('application/problem+json');
        expect(res.body).toEqual({ ...problem, instance: '/v1/transfers' });
      } finally {
        gw.fakes.overrides.delete('wallet-ledger POST /transfers');
      }
    });

    it('refuses a money-moving call without an Idempotency-Key before it reaches the ledger', async () => {
      const before = gw.fakes.received.length;
      const res = await gw.call('POST', '/v1/transfers', {
        token: await token('user-1'),
        body: { amount: '1' },
      });
      expect(res.status).toBe(400);
      expect((res.body as { type: string }).type).toBe(ProblemType.idempotencyKeyMissing);
      expect(gw.fakes.received.length).toBe(before);
    });

    it('forwards the query string and answers 503 when the service is unreachable', async () => {
      const res = await gw.call('GET', '/v1/wallets/w1/transactions?limit=5&cursor=abc', {
        token: await token('user-1'),
      });
      expect((res.body as { path: string }).path).toBe('/wallets/w1/transactions?limit=5&cursor=abc');
      gw.gateway.bus.unregisterApp('risk');
      try {
        const down = await gw.call('GET', '/v1/admin/risk/flags', {
          token: await token('admin-1', ['user', 'admin'], 'aal2'),
        });
        expect(down.status).toBe(503);
        expect((down.body as { type: string }).type).toBe(ProblemType.dependencyUnavailable);
      } finally {
        gw.gateway.bus.registerApp('risk', gw.fakes.urls['risk']!);
      }
    });
  });

  describe('access tokens', () => {
    it('refuses missing, malformed, forged and expired tokens', async () => {
      expect((await gw.call('GET', '/v1/me')).status).toBe(401);
      expect((await gw.call('GET', '/v1/me', { headers: { authorization: 'Basic abc' } })).status).toBe(401);
      expect((await gw.call('GET', '/v1/me', { token: 'not.a.jwt' })).status).toBe(401);
      const { newSigningKey } = await import('../helpers/fakes.ts');
      const forged = await gw.fakes.issue({ sub: 'user-1', roles: ['admin'], key: await newSigningKey() });
      expect((await gw.call('GET', '/v1/me', { token: forged })).status).toBe(401);
      const expired = await gw.fakes.issue({ sub: 'user-1', expiresIn: -60 });
      const res = await gw.call('GET', '/v1/me', { token: expired });
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toContain('Bearer');
    });

    it('refreshes the JWKS when identity rotates its key', async () => {
      const key = await gw.fakes.rotate();
      const fresh = await gw.fakes.issue({ sub: 'user-rotated', key });
      const res = await gw.call('GET', '/v1/me', { token: fresh });
      expect(res.status).toBe(200);
      expect((res.body as { sub: string }).sub).toBe('user-rotated');
    });

    it('refuses a revoked session within seconds of identity.session.revoked', async () => {
      const sid = `sid-revoke-${randomBytes(4).toString('hex')}`;
      const access = await token('user-revoked', ['user'], 'aal1', sid);
      expect((await gw.call('GET', '/v1/me', { token: access })).status).toBe(200);
      await gw.identityPlatform.publish(Events.sessionRevoked.topic, {
        type: Events.sessionRevoked.type,
        source: 'identity',
        data: { userId: 'user-revoked', sessionIds: [sid], reason: 'logout' },
      });
      const started = Date.now();
      await waitFor(async () => (await gw.call('GET', '/v1/me', { token: access })).status === 401, {
        timeoutMs: 5_000,
        what: 'revoked token refused',
      });
      expect(Date.now() - started).toBeLessThan(5_000);
      // Another session of the same user is untouched.
      expect((await gw.call('GET', '/v1/me', { token: await token('user-revoked') })).status).toBe(200);
    });

    it('uses only the roles identity grants now for a privileged token, and forwards those', async () => {
      const sid = `sid-narrowed-${randomBytes(4).toString('hex')}`;
      const access = await token('admin-narrowed', ['user', 'support', 'admin'], 'aal2', sid);
      gw.fakes.sessions.set(sid, { sub: 'admin-narrowed', roles: ['user', 'support'], active: true });
      const read = await gw.call('GET', '/v1/admin/risk/rules', { token: access });
      expect(read.status).toBe(200);
      const seen = gw.fakes.received.findLast((r) => r.claims['sub'] === 'admin-narrowed');
      expect(seen?.claims['roles']).toEqual(['user', 'support']);
      const write = await gw.call('PUT', `/v1/admin/users/u-1/roles`, {
        token: access,
        body: { roles: ['user'] },
      });
      expect(write.status).toBe(403);
    });

    it('refuses a demoted admin within the role-check cache time (1 s) of the change at identity', async () => {
      const sid = `sid-demoted-${randomBytes(4).toString('hex')}`;
      const access = await token('admin-demoted', ['user', 'admin'], 'aal2', sid);
      expect((await gw.call('GET', '/v1/admin/audit-log', { token: access })).status).toBe(200);
      gw.fakes.sessions.get(sid)!.roles = ['user'];
      const demotedAt = Date.now();
      await waitFor(
        async () => (await gw.call('GET', '/v1/admin/audit-log', { token: access })).status === 403,
        { timeoutMs: 5_000, intervalMs: 20, what: 'demoted admin refused' },
      );
      expect(Date.now() - demotedAt).toBeLessThan(1_500);
      // An ended session is refused outright, before any revocation event.
      gw.fakes.sessions.get(sid)!.active = false;
      await waitFor(async () => (await gw.call('GET', '/v1/me', { token: access })).status === 401, {
        timeoutMs: 5_000,
        intervalMs: 20,
        what: 'ended session refused',
      });
    });

    it('answers 503 for a privileged token when identity cannot say, never falling back to the claim', async () => {
      const sid = `sid-unknowable-${randomBytes(4).toString('hex')}`;
      const access = await token('admin-unknowable', ['user', 'admin'], 'aal2', sid);
      gw.fakes.overrides.set(`identity GET /internal/sessions/${sid}`, (_req, res) => {
        res.status(500).json({ title: 'down' });
      });
      try {
        const res = await gw.call('GET', '/v1/admin/audit-log', { token: access });
        expect(res.status).toBe(503);
        // Ordinary users' tokens are not looked up.
        expect((await gw.call('GET', '/v1/me', { token: await token('user-unaffected') })).status).toBe(200);
      } finally {
        gw.fakes.overrides.delete(`identity GET /internal/sessions/${sid}`);
      }
    });
  });

  describe('browser sessions', () => {
    const login = async (email = 'alice@example.com', password = 'correct horse') => {
      const res = await gw.call('POST', '/v1/web/login', { body: { email, password } });
      expect(res.status).toBe(200);
      const cookies = cookiesOf(res.headers);
      return {
        res,
        csrfToken: (res.body as { csrfToken: string }).csrfToken,
        cookies: {
          '__Host-session': cookies['__Host-session']!.value,
          '__Host-csrf': cookies['__Host-csrf']!.value,
        },
        raw: cookies,
      };
    };

    it('sets a __Host- session cookie (Secure, HttpOnly, SameSite=Strict, Path=/) and keeps tokens server-side', async () => {
      const { res, raw, csrfToken } = await login();
      expect(csrfToken.length).toBeGreaterThan(20);
      expect(res.text).not.toContain('accessToken');
      expect(res.text).not.toContain('refreshToken');
      const session = raw['__Host-session']!;
      expect(session.attributes).toEqual(
        expect.arrayContaining(['secure', 'httponly', 'samesite=strict', 'path=/']),
      );
      expect(session.attributes.some((a) => a.startsWith('domain='))).toBe(false);
      expect(session.value).toMatch(/^[A-Za-z0-9_-]{43}$/);
      const stored = await gw.gateway.db.selectFrom('web_sessions').selectAll().execute();
      expect(JSON.stringify(stored)).not.toContain(session.value);
      expect(stored.some((s) => s.user_id === 'user-alice')).toBe(true);
    });

    it('relays a failed login unchanged and sets no cookie', async () => {
      const res = await gw.call('POST', '/v1/web/login', {
        body: { email: 'alice@example.com', password: 'wrong' },
      });
      expect(res.status).toBe(401);
      expect((res.body as { type: string }).type).toBe(ProblemType.invalidCredentials);
      expect(res.headers.getSetCookie()).toEqual([]);
    });

    it('authenticates safe calls with the cookie alone', async () => {
      const { cookies } = await login();
      const res = await gw.call('GET', '/v1/me', { cookies });
      expect(res.status).toBe(200);
      expect((res.body as { sub: string }).sub).toBe('user-alice');
    });

    it('demands the session CSRF token on unsafe methods: missing, wrong and another session are refused', async () => {
      const alice = await login();
      const bob = await login('bob@example.com', 'battery staple');
      const post = (headers: Record<string, string>, cookies = alice.cookies) =>
        gw.call('POST', '/v1/wallets', { cookies, body: { currency: 'EUR' }, headers });
      const missing = await post({});
      expect(missing.status).toBe(403);
      expect((missing.body as { type: string }).type).toBe(ProblemType.csrf);
      expect(missing.headers.get('x-upstream-app')).toBeNull();
      expect((await post({ 'X-CSRF-Token': `${alice.csrfToken.slice(0, -2)}xx` })).status).toBe(403);
      // Bob's token and CSRF cookie with Alice's session cookie: bound to another session.
      expect(
        (
          await post(
            { 'X-CSRF-Token': bob.csrfToken },
            { ...alice.cookies, '__Host-csrf': bob.cookies['__Host-csrf'] },
          )
        ).status,
      ).toBe(403);
      expect((await post({ 'X-CSRF-Token': bob.csrfToken })).status).toBe(403);
      // A cross-site origin is refused even with the right token.
      expect((await post({ 'X-CSRF-Token': alice.csrfToken, Origin: 'https://evil.example' })).status).toBe(
        403,
      );
      const ok = await post({ 'X-CSRF-Token': alice.csrfToken, Origin: 'https://app.wallet.example' });
      expect(ok.status).toBe(201);
      expect((ok.body as { sub: string }).sub).toBe('user-alice');
    });

    it('steps up a browser session without handing it a token, then logs out', async () => {
      const { cookies, csrfToken } = await login();
      const headers = { 'X-CSRF-Token': csrfToken };
      const denied = await gw.call('POST', '/v1/withdrawals', {
        cookies,
        body: { walletId: 'w1' },
        headers: { ...headers, 'Idempotency-Key': 'wd-1' },
      });
      expect((denied.body as { type: string }).type).toBe(ProblemType.stepUpRequired);
      const stepUp = await gw.call('POST', '/v1/auth/step-up', {
        cookies,
        body: { code: '123456' },
        headers,
      });
      expect(stepUp.status).toBe(200);
      expect(stepUp.body).toEqual({ expiresIn: 300, acr: 'aal2' });
      const allowed = await gw.call('POST', '/v1/withdrawals', {
        cookies,
        body: { walletId: 'w1' },
        headers: { ...headers, 'Idempotency-Key': 'wd-2' },
      });
      expect(allowed.status).toBe(201);
      const logout = await gw.call('POST', '/v1/web/logout', { cookies, headers });
      expect(logout.status).toBe(204);
      expect(Object.keys(cookiesOf(logout.headers))).toEqual(
        expect.arrayContaining(['__Host-session', '__Host-csrf']),
      );
      expect((await gw.call('GET', '/v1/me', { cookies })).status).toBe(401);
    });
  });

  describe('transport security headers', () => {
    it('sends HSTS (one year, includeSubDomains) and helmet headers', async () => {
      const res = await gw.call('GET', '/v1/openapi.json');
      expect(res.headers.get('strict-transport-security')).toBe('max-age=31536000; includeSubDomains');
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
      expect(res.headers.get('x-powered-by')).toBeNull();
    });

    it('allows CORS only for configured origins', async () => {
      const preflight = (origin: string) =>
        gw.call('OPTIONS', '/v1/transfers', {
          headers: {
            Origin: origin,
            'Access-Control-Request-Method': 'POST',
            'Access-Control-Request-Headers': 'authorization,idempotency-key',
          },
        });
      const allowed = await preflight('https://app.wallet.example');
      expect(allowed.headers.get('access-control-allow-origin')).toBe('https://app.wallet.example');
      expect(allowed.headers.get('access-control-allow-credentials')).toBe('true');
      const refused = await preflight('https://evil.example');
      expect(refused.headers.get('access-control-allow-origin')).toBeNull();
    });
  });

  describe('WAF', () => {
    it('blocks every attack payload in a body or query, with the rule id, before any service sees it', async () => {
      const access = await token('user-waf');
      const before = gw.fakes.received.length;
      for (const payload of ATTACKS) {
        const body = await gw.call('PUT', '/v1/me/notification-preferences', {
          token: access,
          body: { note: payload },
        });
        expect({ payload, status: body.status }).toEqual({ payload, status: 400 });
        expect((body.body as { type: string; rule: string }).type).toBe(ProblemType.requestBlocked);
        expect((body.body as { rule: string }).rule).toMatch(/^[a-z]+-\d{3}$/);
        const query = await gw.call('GET', `/v1/admin/users?email=${encodeURIComponent(payload)}`, {
          token: access,
        });
        expect({ payload, status: query.status }).toEqual({ payload, status: 400 });
      }
      expect(gw.fakes.received.length).toBe(before);
    });

    it('lets every legitimate value through', async () => {
      const access = await token('user-waf');
      for (const value of LEGITIMATE) {
        const res = await gw.call('PUT', '/v1/me/notification-preferences', {
          token: access,
          body: { note: value, displayName: value },
        });
        expect({ value, status: res.status }).toEqual({ value, status: 200 });
      }
    });

    it('enforces method, content type, size, depth and path rules', async () => {
      const access = await token('user-waf');
      expect((await gw.call('PROPFIND', '/v1/me', { token: access })).status).toBe(405);
      expect(
        (
          await gw.call('POST', '/v1/wallets', {
            token: access,
            rawBody: 'currency=EUR',
            headers: { 'content-type': 'application/x-www-form-urlencoded' },
          })
        ).status,
      ).toBe(415);
      expect(
        (
          await gw.call('POST', '/v1/wallets', {
            token: access,
            rawBody: '{"currency":',
            headers: { 'content-type': 'application/json' },
          })
        ).status,
      ).toBe(400);
      expect(
        (await gw.call('POST', '/v1/wallets', { token: access, body: { blob: 'x'.repeat(70_000) } })).status,
      ).toBe(413);
      let deep: unknown = 'x';
      for (let i = 0; i < 12; i++) deep = { a: deep };
      expect((await gw.call('POST', '/v1/wallets', { token: access, body: deep })).status).toBe(400);
      // Raw request targets: fetch would normalise these before sending, an attacker's client does not.
      for (const path of [
        '/v1/%2e%2e/admin/users',
        '/v1/wallets/..%2f..%2fadmin',
        '/v1//me',
        '/v1/./me',
        '/v1/../v1/admin/users',
        '/v1/me%00',
      ]) {
        const status = await rawStatus(gw.url, path, access);
        expect({ path, status }).toEqual({ path, status: 400 });
      }
      expect(
        (await gw.call('GET', '/v1/me', { token: access, headers: { 'x-filler': 'a'.repeat(9_000) } }))
          .status,
      ).toBe(431);
    });
  });

  describe('payment-provider webhooks', () => {
    const event = () =>
      JSON.stringify({
        id: `evt_${randomBytes(6).toString('hex')}`,
        type: 'payment.succeeded',
        data: { walletId: 'w1', amount: '1050', currency: 'EUR' },
      });
    const send = (raw: string, signature: string) =>
      gw.call('POST', '/v1/webhooks/payments', {
        rawBody: raw,
        headers: { 'content-type': 'application/json', 'Webhook-Signature': signature },
      });
    const now = () => Math.floor(Date.now() / 1000);

    it('forwards a verified webhook as the payment provider and refuses its replay', async () => {
      const raw = event();
      const signature = signWebhook('whsec_new_secret', raw, now());
      const first = await send(raw, signature);
      expect(first.status).toBe(201);
      expect(first.headers.get('x-upstream-app')).toBe('wallet-ledger');
      expect(first.body).toMatchObject({ path: '/webhooks/payments', sub: 'system:payment-provider' });
      const replay = await send(raw, signature);
      expect(replay.status).toBe(401);
      expect((replay.body as { type: string }).type).toBe(ProblemType.invalidSignature);
    });

    it('refuses expired, tampered and unsigned webhooks, and accepts the previous secret during rotation', async () => {
      const raw = event();
      expect((await send(raw, signWebhook('whsec_new_secret', raw, now() - 301))).status).toBe(401);
      expect(
        (await send(raw.replace('1050', '999999'), signWebhook('whsec_new_secret', raw, now()))).status,
      ).toBe(401);
      expect(
        (
          await gw.call('POST', '/v1/webhooks/payments', {
            rawBody: raw,
            headers: { 'content-type': 'application/json' },
          })
        ).status,
      ).toBe(401);
      expect((await send(raw, signWebhook('whsec_retired', raw, now()))).status).toBe(401);
      expect((await send(raw, signWebhook('whsec_old_secret', raw, now()))).status).toBe(201);
    });
  });

  describe('partner request signatures', () => {
    it('accepts a signed request as the client owner, refuses replay and tampering', async () => {
      const store = createApiClientStore(
        gw.gateway.db,
        createCryptoBox('dev_only_web_session_key_change_me', 'api-gateway/at-rest/v1'),
      );
      const client = await store.create({ ownerUserId: 'user-partner', description: 'test partner' });
      const raw = JSON.stringify({ fromWalletId: 'w1', toWalletId: 'w2', amount: '100', currency: 'EUR' });
      const sign = (path: string, nonce: string) =>
        signPartnerRequest({
          keyId: client.keyId,
          secret: client.secret,
          method: 'POST',
          pathWithQuery: path,
          body: Buffer.from(raw),
          timestamp: Math.floor(Date.now() / 1000),
          nonce,
        });
      const nonce = randomBytes(12).toString('hex');
      const headers = {
        ...sign('/v1/transfers', nonce),
        'content-type': 'application/json',
        'Idempotency-Key': 'partner-1',
      };
      const ok = await gw.call('POST', '/v1/transfers', { rawBody: raw, headers });
      expect(ok.status).toBe(201);
      expect((ok.body as { sub: string }).sub).toBe('user-partner');
      expect((await gw.call('POST', '/v1/transfers', { rawBody: raw, headers })).status).toBe(401);
      const tampered = {
        ...sign('/v1/transfers', randomBytes(12).toString('hex')),
        'content-type': 'application/json',
        'Idempotency-Key': 'partner-2',
      };
      expect(
        (await gw.call('POST', '/v1/transfers', { rawBody: raw.replace('100', '100000'), headers: tampered }))
          .status,
      ).toBe(401);
      // A partner never gets admin rights.
      const admin = {
        ...sign('/v1/admin/adjustments', randomBytes(12).toString('hex')),
        'content-type': 'application/json',
        'Idempotency-Key': 'partner-3',
      };
      expect((await gw.call('POST', '/v1/admin/adjustments', { rawBody: raw, headers: admin })).status).toBe(
        403,
      );
    });
  });

  describe('audit log', () => {
    it('records allowed and denied admin calls and serves them to stepped-up support', async () => {
      const admin = await token('admin-audit', ['user', 'admin'], 'aal2');
      const requestId = `req-audit-${randomBytes(4).toString('hex')}`;
      expect(
        (
          await gw.call('POST', '/v1/admin/users/u_9/lock', {
            token: admin,
            body: {},
            headers: { 'X-Request-Id': requestId, 'User-Agent': 'audit-test' },
          })
        ).status,
      ).toBe(201);
      expect(
        (
          await gw.call('PUT', '/v1/admin/users/u_9/roles', {
            token: await token('support-audit', ['user', 'support'], 'aal2'),
            body: { roles: ['admin'] },
          })
        ).status,
      ).toBe(403);
      const res = await gw.call('GET', '/v1/admin/audit-log?limit=200', {
        token: await token('support-reader', ['user', 'support'], 'aal2'),
      });
      expect(res.status).toBe(200);
      const items = (
        res.body as {
          items: {
            actor: string;
            action: string;
            outcome: string;
            requestId: string;
            userAgent: string;
            ip: string;
            target: Record<string, string>;
            status: number;
          }[];
        }
      ).items;
      expect(items.find((i) => i.requestId === requestId)).toMatchObject({
        actor: 'admin-audit',
        action: 'POST /v1/admin/users/{id}/lock',
        outcome: 'allowed',
        status: 201,
        userAgent: 'audit-test',
        target: { path: '/v1/admin/users/u_9/lock', id: 'u_9' },
      });
      expect(items.find((i) => i.actor === 'support-audit')).toMatchObject({
        action: 'PUT /v1/admin/users/{id}/roles',
        outcome: 'denied',
        status: 403,
      });
      expect((await gw.call('GET', '/v1/admin/audit-log', { token: await token('user-1') })).status).toBe(
        403,
      );
    });

    it('records a gateway-local handler that throws as failed, with the status the caller got', async () => {
      const admin = await token('admin-audit-throw', ['user', 'admin'], 'aal2');
      const requestId = `req-audit-throw-${randomBytes(4).toString('hex')}`;
      const replay = await gw.call('POST', '/v1/admin/dead-letters/replay', {
        token: admin,
        body: { service: 'no-such-service', ids: 'not-a-list' },
        headers: { 'X-Request-Id': requestId },
      });
      expect(replay.status).toBe(400);
      const res = await gw.call('GET', `/v1/admin/audit-log?limit=200&actor=admin-audit-throw`, {
        token: await token('support-reader', ['user', 'support'], 'aal2'),
      });
      expect(res.status).toBe(200);
      const items = (res.body as { items: { requestId: string }[] }).items;
      expect(items.filter((i) => i.requestId === requestId)).toEqual([
        expect.objectContaining({
          action: 'POST /v1/admin/dead-letters/replay',
          outcome: 'failed',
          status: 400,
          upstreamApp: 'api-gateway',
        }),
      ]);
    });

    it('is append-only: UPDATE, DELETE and TRUNCATE are refused, even for the owner', async () => {
      for (const db of [gw.gateway.db, gw.gateway.ownerDb]) {
        await expect(sql`update audit_log set outcome = 'allowed'`.execute(db)).rejects.toThrow(
          /append-only/,
        );
        await expect(sql`delete from audit_log`.execute(db)).rejects.toThrow(/append-only/);
      }
      await expect(sql`truncate audit_log`.execute(gw.gateway.ownerDb)).rejects.toThrow(/append-only/);
    });
  });

  describe('dead letters', () => {
    it('aggregates every service and replays by service', async () => {
      const admin = await token('admin-dl', ['user', 'admin'], 'aal2');
      const list = await gw.call('GET', '/v1/admin/dead-letters', { token: admin });
      expect(list.status).toBe(200);
      const body = list.body as {
        items: { service: string }[];
        sources: { service: string; status: number }[];
      };
      expect(new Set(body.items.map((i) => i.service))).toEqual(
        new Set(['identity', 'wallet-ledger', 'risk', 'notification']),
      );
      expect(body.sources.map((s) => s.service).sort()).toEqual([
        'api-gateway',
        'identity',
        'notification',
        'risk',
        'wallet-ledger',
      ]);
      const replay = await gw.call('POST', '/v1/admin/dead-letters/replay', {
        token: admin,
        body: { service: 'wallet-ledger', ids: ['1'] },
      });
      expect(replay.status).toBe(200);
      expect(replay.body).toEqual({
        results: [{ service: 'wallet-ledger', status: 200, result: { replayed: ['1'], failed: [] } }],
      });
      const support = await token('support-dl', ['user', 'support'], 'aal2');
      expect(
        (await gw.call('POST', '/v1/admin/dead-letters/replay', { token: support, body: { ids: ['1'] } }))
          .status,
      ).toBe(403);
    });
  });

  describe('OpenAPI', () => {
    it('serves the merged document, and sampled answers match it', async () => {
      const res = await gw.call('GET', '/v1/openapi.json');
      expect(res.status).toBe(200);
      const doc = res.body as {
        openapi: string;
        paths: Record<
          string,
          Record<
            string,
            {
              responses: Record<string, { content?: Record<string, { schema: unknown }> }>;
              'x-access'?: string;
            }
          >
        >;
        components: { schemas: Record<string, unknown> };
      };
      expect(doc.openapi).toBe('3.1.0');
      expect(doc.paths['/v1/me']?.['get']?.['x-access']).toBe('user');
      expect(doc.paths['/v1/admin/audit-log']?.['get']?.['x-access']).toBe('support');

      const ajv = new Ajv2020({ strict: false, allErrors: true });
      ajv.addSchema({ $id: 'openapi', components: doc.components });
      const schemaFor = (path: string, method: string, status: string) => {
        const schema = doc.paths[path]![method]!.responses[status]!.content!['application/json']!.schema;
        // Rebase component refs onto the registered document.
        return JSON.parse(
          JSON.stringify(schema).replaceAll('"#/components/', '"openapi#/components/'),
        ) as object;
      };
      const login = await gw.call('POST', '/v1/web/login', {
        body: { email: 'alice@example.com', password: 'correct horse' },
      });
      const validateLogin = ajv.compile(schemaFor('/v1/web/login', 'post', '200'));
      expect(validateLogin(login.body), JSON.stringify(validateLogin.errors)).toBe(true);
      const audit = await gw.call('GET', '/v1/admin/audit-log', {
        token: await token('support-oa', ['user', 'support'], 'aal2'),
      });
      const validateAudit = ajv.compile(schemaFor('/v1/admin/audit-log', 'get', '200'));
      expect(validateAudit(audit.body), JSON.stringify(validateAudit.errors)).toBe(true);
      const letters = await gw.call('GET', '/v1/admin/dead-letters', {
        token: await token('admin-oa', ['user', 'admin'], 'aal2'),
      });
      const validateLetters = ajv.compile(schemaFor('/v1/admin/dead-letters', 'get', '200'));
      expect(validateLetters(letters.body), JSON.stringify(validateLetters.errors)).toBe(true);
      gw.fakes.overrides.set('identity GET /me', (_req, r) => {
        r.json({ userId: 'user-oa' });
      });
      try {
        const me = await gw.call('GET', '/v1/me', { token: await token('user-oa') });
        const validateMe = ajv.compile(schemaFor('/v1/me', 'get', '200'));
        expect(validateMe(me.body)).toBe(true);
        expect(validateMe({ nope: true })).toBe(false);
      } finally {
        gw.fakes.overrides.delete('identity GET /me');
      }
    });
  });
});
