/**
 * The flows only a browser can prove, in a real Chromium (Debian's, through playwright-core) against
 * the embedded platform, speaking only to the gateway's public origin (https://localhost:<port>):
 *   - the `__Host-session` cookie's flags as the browser stored them, unreadable by the page;
 *   - CSRF: unsafe calls of a browser session without (or with a wrong) X-CSRF-Token are refused;
 *   - passkeys with WebAuthn's CDP virtual authenticator: register one, sign out, sign in with it
 *     without a password, then use it as the step-up second factor of a password session;
 *   - logout: the cookies are cleared and the old cookie value is dead server-side;
 *   - plain HTTP redirects to HTTPS (308), and HSTS makes the browser upgrade by itself.
 * In CI a missing Chromium fails the suite (chromiumPath); `infra/local.sh up chromium` installs it.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Cookie } from 'playwright-core';
import { ProblemType } from '@wallet/contracts';
import { freePorts } from '@wallet/dapr-harness';
import { startEmbeddedPlatform, type EmbeddedPlatform } from '@wallet/embedded-host';
import {
  HSTS_TEST_HOST,
  WebApp,
  addVirtualAuthenticator,
  chromiumPath,
  launchChromium,
  type VirtualAuthenticator,
} from '../src/browser.ts';
import { publicClient, type Account } from '../src/public-client.ts';

const chromium = chromiumPath();

interface Options {
  challengeId: string;
  options: Record<string, unknown>;
}

describe.skipIf(!chromium)('system (embedded, Chromium): browser sessions and passkeys', () => {
  let platform: EmbeddedPlatform | undefined;
  let dataDir: string | undefined;
  let browser: Browser | undefined;
  let context: BrowserContext;
  let app: WebApp;
  let authenticator: VirtualAuthenticator;
  let account: Account;
  let origin: string;
  let httpsPort: number;
  let csrfToken: string;

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'wallet-browser-'));
    // Free ports from the harness block (below the ephemeral range), as the Dapr harness picks them.
    const [postgresPort, https, httpPort] = await freePorts(3);
    httpsPort = https!;
    const started = startEmbeddedPlatform({
      dataDir,
      postgresPort: postgresPort!,
      httpsPort,
      httpPort: httpPort!,
      logLevel: process.env['TEST_LOG_LEVEL'] ?? 'silent',
    });
    platform = await started;
    origin = platform.gatewayUrl;
    const api = publicClient(platform.gatewayUrl, platform.certificate);
    try {
      account = await api.registerVerified('browser');
    } finally {
      await api.close();
    }
    browser = await launchChromium(chromium!, platform.certificate);
    context = await browser.newContext();
    const page = await context.newPage();
    authenticator = await addVirtualAuthenticator(context, page);
    app = new WebApp(page);
    await app.open(origin);
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await platform?.stop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  }, 60_000);

  const sessionCookie = async (): Promise<Cookie | undefined> =>
    (await context.cookies(origin)).find((c) => c.name === '__Host-session');

  async function passwordSignIn(): Promise<string> {
    const login = await app.call<{ csrfToken: string }>('POST', '/v1/web/login', {
      body: { email: account.email, password: account.password },
    });
    expect(login.status, JSON.stringify(login.body)).toBe(200);
    return login.body.csrfToken;
  }

  async function signOut(): Promise<void> {
    const out = await app.call('POST', '/v1/web/logout', { csrfToken });
    expect(out.status).toBe(204);
  }

  it('keeps the session in a __Host- cookie: Secure, HttpOnly, SameSite=Strict, Path=/, host-only; no token reaches the page', async () => {
    const before = Date.now() / 1000;
    csrfToken = await passwordSignIn();
    const cookie = await sessionCookie();
    expect(cookie).toMatchObject({
      secure: true,
      httpOnly: true,
      sameSite: 'Strict',
      path: '/',
      // Host-only (no Domain attribute), as the __Host- prefix demands; Chromium refuses the cookie otherwise.
      domain: 'localhost',
    });
    // WEB_SESSION_TTL_SECONDS (12 h) from now, not a browser-session cookie.
    expect(cookie!.expires).toBeGreaterThan(before + 43_200 - 60);
    expect(cookie!.expires).toBeLessThan(before + 43_200 + 60);
    expect(cookie!.value).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(await app.scriptCookies()).not.toContain('__Host-session');
    const me = await app.call<{ userId: string; email: string }>('GET', '/v1/me');
    expect(me.status).toBe(200);
    expect(me.body).toMatchObject({ userId: account.userId, email: account.email });
    expect(JSON.stringify(me.body)).not.toMatch(/accessToken|refreshToken/);
  });

  it("refuses a browser session's unsafe calls without its CSRF token, or with another", async () => {
    for (const token of [undefined, 'forged-token-value']) {
      const refused = await app.call<{ type: string }>('POST', '/v1/me/passkeys/registration/options', {
        ...(token ? { csrfToken: token } : {}),
      });
      expect(refused.status).toBe(403);
      expect(refused.body.type).toBe(ProblemType.csrf);
      const revoke = await app.call<{ type: string }>('DELETE', '/v1/me/sessions', {
        ...(token ? { csrfToken: token } : {}),
      });
      expect(revoke.status).toBe(403);
      expect(revoke.body.type).toBe(ProblemType.csrf);
    }
    // Reads need no token; the same unsafe call with it goes through.
    expect((await app.call('GET', '/v1/me/passkeys')).status).toBe(200);
    expect((await app.call('POST', '/v1/me/passkeys/registration/options', { csrfToken })).status).toBe(200);
  });

  it("registers a passkey in Chromium's virtual authenticator (discoverable, for rp id localhost)", async () => {
    const start = await app.call<Options>('POST', '/v1/me/passkeys/registration/options', { csrfToken });
    expect(start.status).toBe(200);
    expect(start.body.options).toMatchObject({ rp: { id: 'localhost' } });
    const credential = await app.create(start.body.options);
    const created = await app.call<{ passkeyId: string; name: string }>('POST', '/v1/me/passkeys', {
      csrfToken,
      body: { challengeId: start.body.challengeId, credential, name: 'Chromium' },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    expect(created.body.name).toBe('Chromium');

    const stored = await authenticator.credentials();
    expect(stored).toHaveLength(1);
    expect(stored[0]).toMatchObject({ isResidentCredential: true, rpId: 'localhost' });
    expect(Buffer.from(stored[0]!.userHandle!, 'base64').toString('hex')).toBe(
      account.userId.replace(/-/g, ''),
    );
    const list = await app.call<{ items: unknown[] }>('GET', '/v1/me/passkeys');
    expect(list.body.items).toHaveLength(1);
  });

  it('logs out: both cookies cleared, and the old cookie value no longer opens the session', async () => {
    const old = await sessionCookie();
    expect(old).toBeDefined();
    await signOut();
    const names = (await context.cookies(origin)).map((c) => c.name);
    expect(names).not.toContain('__Host-session');
    expect(names).not.toContain('__Host-csrf');
    expect((await app.call('GET', '/v1/me')).status).toBe(401);
    // A copy of the cookie taken before logout (a stolen one) is dead server-side.
    await context.addCookies([old!]);
    expect((await app.call('GET', '/v1/me')).status).toBe(401);
    await context.clearCookies();
  });

  it('signs in with the passkey alone (no password), once per challenge', async () => {
    const begin = await app.call<Options>('POST', '/v1/auth/passkey/options', { body: {} });
    expect(begin.status).toBe(200);
    expect(begin.body.options).toMatchObject({ rpId: 'localhost', userVerification: 'required' });
    const credential = await app.get(begin.body.options);
    const login = await app.call<{ csrfToken: string }>('POST', '/v1/web/login', {
      body: { challengeId: begin.body.challengeId, credential },
    });
    expect(login.status, JSON.stringify(login.body)).toBe(200);
    csrfToken = login.body.csrfToken;
    expect(await sessionCookie()).toMatchObject({ secure: true, httpOnly: true, sameSite: 'Strict' });
    const me = await app.call<{ userId: string }>('GET', '/v1/me');
    expect(me.body.userId).toBe(account.userId);
    expect((await authenticator.credentials())[0]!.signCount).toBeGreaterThan(0);

    // A user-verified passkey sign-in counts as a second factor: adding another passkey needs no step-up now.
    expect((await app.call('POST', '/v1/me/passkeys/registration/options', { csrfToken })).status).toBe(200);
    await signOut();

    // The same answer again (a replay, signed out) opens nothing.
    const replay = await app.call<{ type: string }>('POST', '/v1/web/login', {
      body: { challengeId: begin.body.challengeId, credential },
    });
    expect(replay.status).toBe(401);
    expect(replay.body.type).toBe(ProblemType.passkeyRejected);
    expect(await sessionCookie()).toBeUndefined();
  });

  it('steps a password session up with the passkey as its second factor', async () => {
    csrfToken = await passwordSignIn();
    const refused = await app.call<{ type: string }>('POST', '/v1/me/passkeys/registration/options', {
      csrfToken,
    });
    expect(refused.status).toBe(403);
    expect(refused.body.type).toBe(ProblemType.stepUpRequired);

    const start = await app.call<Options>('POST', '/v1/auth/step-up/passkey/options', { csrfToken });
    expect(start.status).toBe(200);
    const assertion = await app.get(start.body.options);
    const stepped = await app.call<Record<string, unknown>>('POST', '/v1/auth/step-up/passkey', {
      csrfToken,
      body: { challengeId: start.body.challengeId, credential: assertion },
    });
    expect(stepped.status, JSON.stringify(stepped.body)).toBe(200);
    // The stepped-up token stays server-side; the page learns only that the session is aal2.
    expect(Object.keys(stepped.body).sort()).toEqual(['acr', 'expiresIn']);
    expect(stepped.body['acr']).toBe('aal2');
    expect(stepped.body['expiresIn']).toBeGreaterThan(0);
    expect((await app.call('POST', '/v1/me/passkeys/registration/options', { csrfToken })).status).toBe(200);
    await signOut();
  });

  it('redirects plain HTTP to HTTPS (308) and sends HSTS, which the browser then applies by itself', async () => {
    const fresh = await browser!.newContext();
    try {
      const page = await fresh.newPage();
      const http = platform!.redirectUrl;
      const answer = await page.goto(`${http}/healthz?from=http`);
      expect(page.url()).toBe(`${origin}/healthz?from=http`);
      const hop = answer!.request().redirectedFrom();
      expect(hop?.url()).toBe(`${http}/healthz?from=http`);
      expect((await hop!.response())?.status()).toBe(308);
      const hsts = (await answer!.allHeaders())['strict-transport-security'];
      expect(hsts).toMatch(/max-age=31536000/);
      expect(hsts).toMatch(/includeSubDomains/);

      // Chromium ignores HSTS on localhost, so the same gateway is reached by a test name mapped to
      // 127.0.0.1. Its TLS port does not speak plain HTTP: before HSTS an http:// URL there fails...
      const host = `${HSTS_TEST_HOST}:${httpsPort}`;
      const before = await fresh.newPage();
      await expect(before.goto(`http://${host}/healthz`)).rejects.toThrow(
        /ERR_EMPTY_RESPONSE|ERR_CONNECTION/,
      );
      const secure = await (await fresh.newPage()).goto(`https://${host}/healthz`);
      expect(secure?.status()).toBe(200);
      // ...after one HTTPS answer the browser rewrites http:// to https:// itself, subdomains included.
      for (const name of [host, `api.${host}`]) {
        const after = await fresh.newPage();
        const upgraded = await after.goto(`http://${name}/healthz`);
        expect(upgraded?.status()).toBe(200);
        expect(after.url()).toBe(`https://${name}/healthz`);
        expect(upgraded!.request().redirectedFrom()?.url()).toBe(`http://${name}/healthz`);
      }
    } finally {
      await fresh.close();
    }
  });
});
