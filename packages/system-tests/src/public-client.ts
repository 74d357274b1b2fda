/**
 * A client of the public API for system tests: calls through the gateway (trusting its certificate),
 * signs people up for real (register, e-mailed code from the dev outbox, login), creates an admin
 * with identity's `create-admin` CLI, and steps a session up with a TOTP code (otplib).
 */
import { spawn } from 'node:child_process';
import { createHmac, randomUUID } from 'node:crypto';
import { join, resolve } from 'node:path';
import { generate } from 'otplib';
import { Agent, fetch as undiciFetch } from 'undici';
import { waitFor } from '@wallet/testing';

const REPO_ROOT = resolve(import.meta.dirname, '../../..');

export interface Answer<T = unknown> {
  status: number;
  headers: Headers;
  body: T;
}

export interface CallOptions {
  token?: string;
  body?: unknown;
  raw?: string;
  headers?: Record<string, string>;
}

export interface Account {
  email: string;
  password: string;
  userId: string;
}

export interface SignedIn extends Account {
  aal1: string;
  /** The same session's token after a TOTP step-up. */
  aal2: string;
}

export interface PublicClient {
  call<T = unknown>(method: string, path: string, options?: CallOptions): Promise<Answer<T>>;
  registerVerified(label: string): Promise<Account>;
  /** identity's operator path for an administrator, on the platform's identity database. */
  createAdmin(label: string, identityDatabaseUrl: string): Promise<Account>;
  /** Logs in, enrols TOTP and steps the session up. */
  signIn(account: Account): Promise<SignedIn>;
  /** The payment provider's signed webhook (the gateway's development secret by default). */
  deposit(walletId: string, amount: string, currency?: string): Promise<Answer>;
  close(): Promise<void>;
}

export function publicClient(
  gatewayUrl: string,
  certificate: string,
  options: { webhookSecret?: string; timeoutMs?: number } = {},
): PublicClient {
  const agent = new Agent({ connect: { ca: certificate } });
  const timeoutMs = options.timeoutMs ?? 15_000;

  async function call<T = unknown>(method: string, path: string, o: CallOptions = {}): Promise<Answer<T>> {
    const headers: Record<string, string> = { 'user-agent': 'system-test', ...o.headers };
    if (o.token) headers['authorization'] = `Bearer ${o.token}`;
    let body = o.raw;
    if (o.body !== undefined) body = JSON.stringify(o.body);
    if (body !== undefined) headers['content-type'] = 'application/json';
    const res = await undiciFetch(`${gatewayUrl}${path}`, { method, headers, body, dispatcher: agent });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      // not JSON: keep the text
    }
    return { status: res.status, headers: res.headers as unknown as Headers, body: parsed as T };
  }

  async function ok<T>(answer: Promise<Answer<T>>, status: number, what: string): Promise<T> {
    const res = await answer;
    if (res.status !== status) throw new Error(`${what}: ${res.status} ${JSON.stringify(res.body)}`);
    return res.body;
  }

  function readCode(email: string): Promise<string> {
    return waitFor(
      async () => {
        const outbox = await call<{ items?: { subject: string; body: string }[] }>(
          'GET',
          `/v1/dev/outbox?to=${encodeURIComponent(email)}`,
        );
        for (const item of outbox.body.items ?? []) {
          const match = /\b([0-9]{6})\b/.exec(`${item.subject}\n${item.body}`);
          if (match?.[1]) return match[1];
        }
        return undefined;
      },
      { timeoutMs, intervalMs: 50, what: `the verification code e-mailed to ${email}` },
    );
  }

  const newAccount = (label: string) => ({
    email: `${label}+${randomUUID().slice(0, 8)}@example.com`,
    password: `correct horse ${randomUUID()}`,
  });

  return {
    call,
    async registerVerified(label) {
      const { email, password } = newAccount(label);
      // 202 for every address (no enumeration): the id is read back once signed in.
      await ok(call('POST', '/v1/auth/register', { body: { email, password } }), 202, `register ${label}`);
      const code = await readCode(email);
      await ok(call('POST', '/v1/auth/verify-email', { body: { email, code } }), 204, `verify ${label}`);
      const { accessToken } = await ok<{ accessToken: string }>(
        call('POST', '/v1/auth/login', { body: { email, password } }),
        200,
        `sign in ${label}`,
      );
      const { userId } = await ok<{ userId: string }>(
        call('GET', '/v1/me', { token: accessToken }),
        200,
        `me ${label}`,
      );
      await ok(call('POST', '/v1/auth/logout', { token: accessToken }), 204, `sign out ${label}`);
      return { email, password, userId };
    },
    createAdmin(label, identityDatabaseUrl) {
      const { email, password } = newAccount(label);
      return new Promise((done, fail) => {
        const child = spawn(
          process.execPath,
          [
            join(REPO_ROOT, 'services/identity/src/cli.ts'),
            'create-admin',
            '--email',
            email,
            '--password-stdin',
          ],
          { env: { ...process.env, DATABASE_URL: identityDatabaseUrl, LOG_LEVEL: 'warn' }, stdio: 'pipe' },
        );
        let out = '';
        let err = '';
        child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
        child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
        child.on('error', fail);
        child.on('close', (code) => {
          const created = /\{.*"userId":"([0-9a-f-]{36})".*\}/.exec(out);
          if (code === 0 && created?.[1]) done({ email, password, userId: created[1] });
          else fail(new Error(`create-admin exited ${code}: ${err}${out}`));
        });
        child.stdin.end(password);
      });
    },
    async signIn(account) {
      const { accessToken } = await ok<{ accessToken: string }>(
        call('POST', '/v1/auth/login', {
          body: { email: account.email, password: account.password, deviceName: 'system-test' },
        }),
        200,
        'login',
      );
      const { secret } = await ok<{ secret: string }>(
        call('POST', '/v1/me/mfa/totp', { token: accessToken, body: {} }),
        200,
        'start TOTP enrolment',
      );
      await ok(
        call('POST', '/v1/me/mfa/totp/confirm', {
          token: accessToken,
          body: { code: await generate({ secret, epoch: Math.floor(Date.now() / 1000) }) },
        }),
        200,
        'confirm TOTP enrolment',
      );
      // The confirmation claimed this 30 s step; the next one is within the ±1 step window.
      const steppedUp = await ok<{ accessToken: string }>(
        call('POST', '/v1/auth/step-up', {
          token: accessToken,
          body: { code: await generate({ secret, epoch: Math.floor(Date.now() / 1000) + 30 }) },
        }),
        200,
        'step-up',
      );
      return { ...account, aal1: accessToken, aal2: steppedUp.accessToken };
    },
    deposit(walletId, amount, currency = 'EUR') {
      const raw = JSON.stringify({
        id: `evt_${randomUUID()}`,
        type: 'payment.succeeded',
        data: { walletId, amount, currency },
      });
      const t = Math.floor(Date.now() / 1000);
      const mac = createHmac('sha256', options.webhookSecret ?? 'whsec_dev_only')
        .update(`${t}.${raw}`)
        .digest('hex');
      return call('POST', '/v1/webhooks/payments', {
        raw,
        headers: { 'webhook-signature': `t=${t},v1=${mac}` },
      });
    },
    close: () => agent.close(),
  };
}
