// Longer than 400 lines: the whole authorisation matrix (every route x every kind of caller) against one running platform; the table is the point.
/**
 * The gateway's authorisation matrix against the REAL services (embedded mode), beside the stand-in
 * version in services/api-gateway/test/integration/gateway.test.ts.
 *
 * Every route of the gateway's table x every principal (anonymous; user A; another user B; support;
 * admin), each signed in for real (register, e-mail code from the dev outbox, login; the admin from
 * identity's `create-admin` CLI; support promoted by the admin through PUT /v1/admin/users/{id}/roles),
 * with and without step-up (TOTP enrolled, code computed with otplib, POST /v1/auth/step-up).
 *
 * Per cell: what the table declares denied is refused by the gateway itself (401/403 with the right
 * problem type, no X-Upstream-App); what it allows reaches its target (X-Upstream-App) and is neither
 * refused for a role/step-up/authentication reason (401/403) nor crashes (5xx) there. The "another user"
 * column uses A's real wallet, transfer and session ids and expects the SERVICE to refuse (ownership);
 * user A, with the same ids, gets 200 on the reads (so B's refusal is about ownership, not a bad id).
 * The stepped-up admin's maker-checker cells expect the LEDGER to refuse: an adjustment on the admin's
 * own wallet (adjustment-own-wallet) and approving the admin's own pending request (four-eyes-required).
 */
import { spawn } from 'node:child_process';
import { createHmac, randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { generate } from 'otplib';
import { Agent, fetch as undiciFetch } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProblemType } from '@wallet/contracts';
import { startEmbeddedPlatform, type EmbeddedPlatform } from '@wallet/embedded-host';
import { waitFor } from '@wallet/testing';
// @wallet/api-gateway exports only its ServiceModule; the table is read from its source.
import { ROUTES, type RouteSpec } from '../../../services/api-gateway/src/http/route-table.ts';

const REPO_ROOT = resolve(import.meta.dirname, '../../..');
// Apart from embedded-host's test (25490/28443/28080), the money flow (25491/28444/28081) and `npm start`.
// Fixed ports below Linux's ephemeral range (32768-60999): a port in it can be held by a loopback
// client socket (or its TIME_WAIT) of an earlier suite, and listening on it then fails with EADDRINUSE.
const ports = { postgresPort: 25492, httpsPort: 28445, httpPort: 28082 };
const LIMITS = '100000/60';

/** Routes not in the matrix, and why. */
const SKIPPED: Record<string, string> = {
  'POST /v1/webhooks/payments':
    'authenticated by the payment provider’s signature, not by a principal (signature cases: money flow, gateway tests)',
  'GET /v1/dev/outbox':
    'development-only helper outside the public contract (used here to read e-mailed codes)',
};

/** Revoke the caller's session: each allowed cell gets a session of its own, and they run after the rest. */
const LOGOUTS = new Set(['POST /v1/auth/logout', 'POST /v1/web/logout']);
/** Run last: they disable MFA / revoke the other sessions of the principal. */
const LAST = ['DELETE /v1/me/mfa/totp', 'DELETE /v1/me/sessions'];

const keyOf = (r: Pick<RouteSpec, 'method' | 'path'>) => `${r.method} ${r.path}`;

interface Answer {
  status: number;
  headers: Headers;
  body: unknown;
}

interface Person {
  email: string;
  password: string;
  userId: string;
  /** Main session: an aal1 token, and the aal2 token of the same session after step-up. */
  aal1: string;
  aal2: string;
  /** Sessions only the logout routes spend, one per (route, step-up) cell. */
  spareAal1: string[];
  spareAal2: string[];
}

type Column = 'anonymous' | 'user' | 'another user' | 'support' | 'admin';
interface Principal {
  name: string;
  column: Column;
  /** 0 anonymous, 1 user, 2 support, 3 admin. */
  rank: number;
  aal2: boolean;
  person?: Person;
}

const RANK = { anonymous: 0, user: 1, support: 2, admin: 3 } as const;

/** The table's decision, restated: anonymous < user < support < admin; step-up where declared. */
function expectedDecision(route: RouteSpec, p: Principal): 'allow' | 401 | 403 {
  if (route.access === 'anonymous') return 'allow';
  if (p.rank === 0) return 401;
  if (p.rank < RANK[route.access]) return 403;
  if (route.stepUp && !p.aal2) return 403;
  return 'allow';
}

let platform: EmbeddedPlatform | undefined;
let dataDir: string | undefined;
let agent: Agent | undefined;

async function call(
  method: string,
  path: string,
  options: { token?: string; body?: unknown; raw?: string; headers?: Record<string, string> } = {},
): Promise<Answer> {
  const headers: Record<string, string> = { 'user-agent': 'authz-matrix', ...options.headers };
  if (options.token) headers['authorization'] = `Bearer ${options.token}`;
  let body = options.raw;
  if (options.body !== undefined) body = JSON.stringify(options.body);
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await undiciFetch(`${platform!.gatewayUrl}${path}`, {
    method,
    headers,
    body,
    dispatcher: agent,
  });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    // not JSON: keep the text
  }
  return { status: res.status, headers: res.headers as unknown as Headers, body: parsed };
}

async function ok<T>(answer: Promise<Answer>, status: number, what: string): Promise<T> {
  const res = await answer;
  expect(res.status, `${what}: ${JSON.stringify(res.body)}`).toBe(status);
  return res.body as T;
}

function readCode(email: string): Promise<string> {
  return waitFor(
    async () => {
      const outbox = await call('GET', `/v1/dev/outbox?to=${encodeURIComponent(email)}`);
      const items = (outbox.body as { items?: { subject: string; body: string }[] }).items ?? [];
      for (const item of items) {
        const match = /\b([0-9]{6})\b/.exec(`${item.subject}\n${item.body}`);
        if (match?.[1]) return match[1];
      }
      return undefined;
    },
    { timeoutMs: 15_000, intervalMs: 50, what: `the verification code e-mailed to ${email}` },
  );
}

interface Tokens {
  accessToken: string;
  sessionId: string;
}

const login = (email: string, password: string) =>
  ok<Tokens>(
    call('POST', '/v1/auth/login', { body: { email, password, deviceName: 'authz-matrix' } }),
    200,
    'login',
  );

async function registerVerified(label: string): Promise<{ email: string; password: string; userId: string }> {
  const email = `${label}+${randomUUID().slice(0, 8)}@example.com`;
  const password = `correct horse ${randomUUID()}`;
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
}

/** identity's operator path for the first administrator, on the platform's identity database. */
function createAdminWithCli(email: string, password: string): Promise<string> {
  return new Promise((done, fail) => {
    const child = spawn(
      process.execPath,
      [join(REPO_ROOT, 'services/identity/src/cli.ts'), 'create-admin', '--email', email, '--password-stdin'],
      {
        env: { ...process.env, DATABASE_URL: platform!.databases['identity']!.appUrl, LOG_LEVEL: 'warn' },
        stdio: ['pipe', 'pipe', 'pipe'],
      },
    );
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
    child.on('error', fail);
    child.on('close', (code) => {
      const created = /\{.*"userId":"([0-9a-f-]{36})".*\}/.exec(out);
      if (code === 0 && created?.[1]) done(created[1]);
      else fail(new Error(`create-admin exited ${code}: ${err}${out}`));
    });
    child.stdin.end(password);
  });
}

/**
 * Signs in four sessions before MFA (main + two spares for the logout cells; plus `extra`), enrols TOTP on
 * the main one, steps it up with the next TOTP code, and opens two aal2 sessions through /login/mfa
 * with recovery codes (a TOTP step is accepted once, so codes are not spent twice in one 30 s step).
 */
async function signIn(
  account: { email: string; password: string; userId: string },
  extra = 0,
): Promise<Person & { extra: Tokens[] }> {
  const main = await login(account.email, account.password);
  const spare = [await login(account.email, account.password), await login(account.email, account.password)];
  const extraSessions: Tokens[] = [];
  for (let i = 0; i < extra; i++) extraSessions.push(await login(account.email, account.password));
  const { secret } = await ok<{ secret: string }>(
    call('POST', '/v1/me/mfa/totp', { token: main.accessToken, body: {} }),
    200,
    'start TOTP enrolment',
  );
  const now = Math.floor(Date.now() / 1000);
  const { recoveryCodes } = await ok<{ recoveryCodes: string[] }>(
    call('POST', '/v1/me/mfa/totp/confirm', {
      token: main.accessToken,
      body: { code: await generate({ secret, epoch: now }) },
    }),
    200,
    'confirm TOTP enrolment',
  );
  // The confirmation claimed this step; the next one is within the ±1 step window.
  const steppedUp = await ok<{ accessToken: string }>(
    call('POST', '/v1/auth/step-up', {
      token: main.accessToken,
      body: { code: await generate({ secret, epoch: Math.floor(Date.now() / 1000) + 30 }) },
    }),
    200,
    'step-up',
  );
  const spareAal2: string[] = [];
  for (const code of recoveryCodes.slice(0, 2)) {
    const first = await ok<{ mfaRequired: boolean; mfaToken: string }>(
      call('POST', '/v1/auth/login', { body: { email: account.email, password: account.password } }),
      200,
      'login with MFA',
    );
    expect(first.mfaRequired).toBe(true);
    const second = await ok<Tokens>(
      call('POST', '/v1/auth/login/mfa', { body: { mfaToken: first.mfaToken, code } }),
      200,
      'login/mfa',
    );
    spareAal2.push(second.accessToken);
  }
  return {
    ...account,
    aal1: main.accessToken,
    aal2: steppedUp.accessToken,
    spareAal1: spare.map((s) => s.accessToken),
    spareAal2,
    extra: extraSessions,
  };
}

async function defaultWallet(token: string): Promise<string> {
  return waitFor(
    async () =>
      ((await call('GET', '/v1/wallets', { token })).body as { items?: { walletId: string }[] }).items?.[0]
        ?.walletId,
    { timeoutMs: 15_000, intervalMs: 50, what: 'the default wallet opened on registration' },
  );
}

// Filled in beforeAll.
const principals: Principal[] = [];
const fixtures = {
  aliceWallet: '',
  supportWallet: '',
  aliceTransfer: '',
  aliceBalance: '',
  aliceTargetSession: { accessToken: '', sessionId: '' },
  adminWallet: '',
  adminRequest: '',
};
let setupMs = 0;
let matrixStarted = 0;
const cellCounts = { allowed: 0, denied: 0, ownership: 0 };

beforeAll(async () => {
  const started = Date.now();
  dataDir = await mkdtemp(join(tmpdir(), 'wallet-authz-'));
  platform = await startEmbeddedPlatform({
    dataDir,
    ...ports,
    logLevel: process.env['TEST_LOG_LEVEL'] ?? 'silent',
    serviceEnv: {
      // Hundreds of sign-ins and sensitive calls from one IP in a few seconds: limits out of the way.
      // X-Upstream-App (off by default) tells the gateway's own refusals from the services'.
      'api-gateway': {
        RATE_LIMIT_ANONYMOUS: LIMITS,
        RATE_LIMIT_USER: LIMITS,
        RATE_LIMIT_SIGNUP: LIMITS,
        RATE_LIMIT_LOGIN: LIMITS,
        GATEWAY_EXPOSE_UPSTREAM_APP: 'true',
      },
      // Cheap argon2: the matrix is about access, not hashing cost (dev only; production refuses it).
      // Its cells send wrong codes by the hundred from one address: failure throttling out of the way too.
      identity: {
        ARGON2_MEMORY_KIB: '1024',
        ARGON2_TIME_COST: '1',
        LOGIN_FREE_FAILURES: '100',
        LOGIN_IP_MAX_FAILURES: '100000',
      },
    },
  });
  agent = new Agent({ connect: { ca: platform.certificate } });

  const [aliceAccount, bobAccount, supportAccount] = await Promise.all([
    registerVerified('alice'),
    registerVerified('bob'),
    registerVerified('support'),
  ]);
  const adminAccount = {
    email: `admin+${randomUUID().slice(0, 8)}@example.com`,
    password: `correct horse ${randomUUID()}`,
    userId: '',
  };
  adminAccount.userId = await createAdminWithCli(adminAccount.email, adminAccount.password);

  // The admin steps up and makes `support` a support agent, before support signs in (roles ride in tokens).
  const admin = await signIn(adminAccount);
  const promoted = await ok<{ roles: string[] }>(
    call('PUT', `/v1/admin/users/${supportAccount.userId}/roles`, {
      token: admin.aal2,
      body: { roles: ['user', 'support'] },
    }),
    200,
    'admin sets support roles',
  );
  expect(promoted.roles.sort()).toEqual(['support', 'user']);
  const [alice, bob, support] = await Promise.all([
    signIn(aliceAccount, 1),
    signIn(bobAccount),
    signIn(supportAccount),
  ]);
  fixtures.aliceTargetSession = alice.extra[0]!;

  // A's money: a signed deposit, then a transfer to support (B is neither payer nor payee).
  fixtures.aliceWallet = await defaultWallet(alice.aal1);
  fixtures.supportWallet = await defaultWallet(support.aal1);
  const deposit = JSON.stringify({
    id: `evt_${randomUUID()}`,
    type: 'payment.succeeded',
    data: { walletId: fixtures.aliceWallet, amount: '50000', currency: 'EUR' },
  });
  const t = Math.floor(Date.now() / 1000);
  const signature = `t=${t},v1=${createHmac('sha256', 'whsec_dev_only').update(`${t}.${deposit}`).digest('hex')}`;
  const credited = await call('POST', '/v1/webhooks/payments', {
    raw: deposit,
    headers: { 'webhook-signature': signature },
  });
  expect(credited.status, JSON.stringify(credited.body)).toBeLessThan(300);
  const transfer = await ok<{ transferId: string }>(
    call('POST', '/v1/transfers', {
      token: alice.aal1,
      headers: { 'idempotency-key': randomUUID() },
      body: {
        fromWalletId: fixtures.aliceWallet,
        toWalletId: fixtures.supportWallet,
        amount: '1000',
        currency: 'EUR',
      },
    }),
    201,
    'A pays support',
  );
  fixtures.aliceTransfer = transfer.transferId;
  fixtures.aliceBalance = await waitFor(
    async () => {
      const wallet = (await call('GET', `/v1/wallets/${fixtures.aliceWallet}`, { token: alice.aal1 }))
        .body as {
        balance?: string;
      };
      return wallet.balance === '49000' ? wallet.balance : undefined;
    },
    { timeoutMs: 15_000, intervalMs: 50, what: 'A’s balance after deposit and transfer' },
  );

  // The admin's own wallet, and a pending adjustment the admin requested (maker) for A: the admin may
  // neither credit the former nor approve the latter. Nothing moves, so A's balance stays as checked.
  fixtures.adminWallet = (
    await ok<{ walletId: string }>(
      call('POST', '/v1/wallets', { token: admin.aal1, body: { currency: 'EUR' } }),
      201,
      'admin opens a wallet',
    )
  ).walletId;
  fixtures.adminRequest = (
    await ok<{ requestId: string }>(
      call('POST', '/v1/admin/adjustments', {
        token: admin.aal2,
        headers: { 'idempotency-key': randomUUID() },
        body: { walletId: fixtures.aliceWallet, amount: '100', direction: 'credit', reason: 'matrix maker' },
      }),
      202,
      'admin requests an adjustment for A',
    )
  ).requestId;

  principals.push({ name: 'anonymous', column: 'anonymous', rank: 0, aal2: false });
  for (const [column, person, rank] of [
    ['user', alice, 1],
    ['another user', bob, 1],
    ['support', support, 2],
    ['admin', admin, 3],
  ] as const) {
    for (const aal2 of [false, true]) {
      principals.push({ name: `${column}${aal2 ? ' (stepped up)' : ''}`, column, rank, aal2, person });
    }
  }
  setupMs = Date.now() - started;
  matrixStarted = Date.now();
}, 120_000);

afterAll(async () => {
  await agent?.close();
  await platform?.stop();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
}, 60_000);

interface CellRequest {
  path: string;
  body?: unknown;
  /** The service, not the gateway, must refuse: ownership. */
  refusedBy?: 'service';
  /** The problem type the service must refuse with, where it is specific. */
  refusedAs?: string;
  /** The owner's control: the same real id, answered. */
  expectStatus?: number;
}

/** Placeholder ids (well-formed UUIDs, so services answer "not found" rather than "bad id"). */
function withIds(path: string, ids: Record<string, string> = {}): string {
  return path.replace(/\{([^}]+)\}/g, (_all, name: string) => ids[name] ?? randomUUID());
}

/** What a cell sends: placeholders, except A's real ids for A (reads) and for B (ownership). */
function requestFor(route: RouteSpec, p: Principal): CellRequest {
  const body = route.method === 'POST' || route.method === 'PUT' ? {} : undefined;
  const base = { path: withIds(route.path), ...(body ? { body } : {}) };
  const f = fixtures;
  const aliceIds = { walletId: f.aliceWallet, transferId: f.aliceTransfer };
  // Every person here has TOTP, so adding a passkey needs a stepped-up session: identity refuses aal1.
  if (keyOf(route) === 'POST /v1/me/passkeys/registration/options' && p.person && !p.aal2)
    return { ...base, refusedBy: 'service', refusedAs: ProblemType.stepUpRequired };
  if (p.column === 'user') {
    switch (keyOf(route)) {
      case 'GET /v1/wallets/{walletId}':
      case 'GET /v1/wallets/{walletId}/transactions':
      case 'GET /v1/transfers/{transferId}':
        return { path: withIds(route.path, aliceIds), expectStatus: 200 };
    }
  }
  if (p.column === 'admin') {
    switch (keyOf(route)) {
      case 'POST /v1/admin/adjustments':
        return {
          path: route.path,
          body: { walletId: f.adminWallet, amount: '100', direction: 'credit', reason: 'self credit' },
          refusedBy: 'service',
          refusedAs: ProblemType.adjustmentOwnWallet,
        };
      case 'POST /v1/admin/adjustments/{requestId}/approve':
        return {
          path: withIds(route.path, { requestId: f.adminRequest }),
          refusedBy: 'service',
          refusedAs: ProblemType.fourEyesRequired,
        };
    }
  }
  if (p.column === 'another user') {
    const refused = { refusedBy: 'service' } as const;
    switch (keyOf(route)) {
      case 'GET /v1/wallets/{walletId}':
      case 'GET /v1/wallets/{walletId}/transactions':
      case 'GET /v1/transfers/{transferId}':
        return { path: withIds(route.path, aliceIds), ...refused };
      case 'POST /v1/transfers/{transferId}/refunds':
        return { path: withIds(route.path, aliceIds), body: { amount: '100' }, ...refused };
      case 'POST /v1/transfers':
        return {
          path: route.path,
          body: { fromWalletId: f.aliceWallet, toWalletId: f.supportWallet, amount: '100', currency: 'EUR' },
          ...refused,
        };
      case 'POST /v1/withdrawals':
        return {
          path: route.path,
          body: {
            walletId: f.aliceWallet,
            amount: '100',
            currency: 'EUR',
            destination: 'NL91ABNA0417164300',
          },
          ...refused,
        };
      case 'DELETE /v1/me/sessions/{id}':
        return { path: withIds(route.path, { id: f.aliceTargetSession.sessionId }), ...refused };
    }
  }
  return base;
}

function tokenFor(route: RouteSpec, p: Principal): string | undefined {
  if (!p.person) return undefined;
  if (LOGOUTS.has(keyOf(route))) {
    const spares = p.aal2 ? p.person.spareAal2 : p.person.spareAal1;
    const token = spares.shift();
    if (!token) throw new Error(`no spare session left for ${p.name}`);
    return token;
  }
  return p.aal2 ? p.person.aal2 : p.person.aal1;
}

/** Runs one route's row; returns the cells that contradict the table (empty = all good). */
async function runRow(route: RouteSpec): Promise<unknown[]> {
  const wrong: unknown[] = [];
  for (const p of principals) {
    const decision = expectedDecision(route, p);
    const request = requestFor(route, p);
    const token = tokenFor(route, p);
    const res = await call(route.method, request.path, {
      ...(token ? { token } : {}),
      ...(request.body !== undefined ? { body: request.body } : {}),
      ...(route.movesMoney ? { headers: { 'idempotency-key': randomUUID() } } : {}),
    });
    const upstream = res.headers.get('x-upstream-app');
    const problemType = (res.body as { type?: string } | undefined)?.type;
    const cell = { principal: p.name, expected: decision, status: res.status, upstream, problemType };
    if (process.env['AUTHZ_MATRIX_DUMP'])
      process.stdout.write(
        `${keyOf(route)} | ${p.name} | ${decision} | ${res.status} | ${upstream} | ${problemType}\n`,
      );
    if (decision !== 'allow') {
      cellCounts.denied += 1;
      const type =
        decision === 401
          ? ProblemType.unauthenticated
          : expectedDecision({ ...route, stepUp: false }, p) === 'allow'
            ? ProblemType.stepUpRequired
            : ProblemType.forbidden;
      if (res.status !== decision || upstream !== null || problemType !== type)
        wrong.push({ ...cell, want: type });
      continue;
    }
    cellCounts.allowed += 1;
    const target = route.target.kind === 'service' ? route.target.appId : 'api-gateway';
    // web/login relays identity's answer (a problem, or mfaRequired) as identity's.
    const upstreamOk =
      upstream === target || (keyOf(route) === 'POST /v1/web/login' && upstream === 'identity');
    if (!upstreamOk) {
      wrong.push({ ...cell, why: `not forwarded to ${target}` });
    } else if (request.refusedBy === 'service') {
      cellCounts.ownership += 1;
      if (res.status !== 403 && res.status !== 404)
        wrong.push({ ...cell, why: 'ownership not enforced by the service' });
      else if (request.refusedAs !== undefined && problemType !== request.refusedAs)
        wrong.push({ ...cell, why: `refused, but not as ${request.refusedAs}` });
    } else if (request.expectStatus !== undefined) {
      if (res.status !== request.expectStatus)
        wrong.push({ ...cell, why: `owner expected ${request.expectStatus}` });
    } else if (res.status === 401 || res.status === 403 || res.status >= 500) {
      wrong.push({
        ...cell,
        why: 'allowed by the table, refused or failed behind the gateway',
        body: res.body,
      });
    } else if (keyOf(route) === 'GET /v1/admin/dead-letters') {
      // The gateway asks every service with the caller's identity: none may refuse what the table allows.
      const sources = (res.body as { sources?: { service: string; status: number }[] }).sources ?? [];
      const refusing = sources.filter((s) => s.status !== 200);
      if (sources.length !== 5 || refusing.length > 0)
        wrong.push({ ...cell, why: 'a service refused', sources });
    }
  }
  return wrong;
}

const matrixRoutes = ROUTES.filter((r) => !(keyOf(r) in SKIPPED));
const ordered = [
  ...matrixRoutes.filter((r) => !LOGOUTS.has(keyOf(r)) && !LAST.includes(keyOf(r))),
  ...matrixRoutes.filter((r) => LOGOUTS.has(keyOf(r))),
  ...LAST.map((k) => matrixRoutes.find((r) => keyOf(r) === k)!),
];
const firstDestructive = ordered.findIndex((r) => LOGOUTS.has(keyOf(r)) || LAST.includes(keyOf(r)));

describe('system (embedded): the gateway’s authorisation matrix against the real services', () => {
  it('covers every route of the table (the skipped ones with a reason)', () => {
    expect(ordered.filter(Boolean)).toHaveLength(matrixRoutes.length);
    expect(new Set(ordered.map(keyOf)).size).toBe(matrixRoutes.length);
    for (const key of Object.keys(SKIPPED)) expect(ROUTES.map(keyOf)).toContain(key);
    expect(principals).toHaveLength(9);
  });

  it('has a table entry for every operation the real services publish (merged OpenAPI)', async () => {
    const doc = (await call('GET', '/v1/openapi.json')).body as { paths?: Record<string, object> };
    const shape = (path: string) => path.replace(/\{[^}]+\}/g, '{}');
    const table = new Set(ROUTES.map((r) => `${r.method} ${shape(r.path)}`));
    const published = Object.entries(doc.paths ?? {}).flatMap(([path, item]) =>
      Object.keys(item)
        .filter((m) => ['get', 'post', 'put', 'delete', 'patch'].includes(m))
        .map((m) => `${m.toUpperCase()} ${shape(path)}`),
    );
    expect(published.length).toBeGreaterThan(30);
    expect(published.filter((op) => !table.has(op))).toEqual([]);
  });

  const row = (route: RouteSpec) =>
    it(`${keyOf(route)} (${route.access}${route.stepUp ? ', step-up' : ''})`, async () => {
      expect(await runRow(route)).toEqual([]);
    });

  for (const route of ordered.slice(0, firstDestructive)) row(route);

  it('left A’s money and A’s other session alone after B’s attempts', async () => {
    const alice = principals.find((p) => p.column === 'user')!.person!;
    const wallet = await ok<{ balance: string }>(
      call('GET', `/v1/wallets/${fixtures.aliceWallet}`, { token: alice.aal1 }),
      200,
      'A reads her wallet',
    );
    expect(wallet.balance).toBe(fixtures.aliceBalance);
    const sessions = await ok<{ items: { sessionId: string }[] }>(
      call('GET', '/v1/me/sessions', { token: alice.aal1 }),
      200,
      'A lists her sessions',
    );
    expect(sessions.items.map((s) => s.sessionId)).toContain(fixtures.aliceTargetSession.sessionId);
    await ok(
      call('GET', '/v1/me', { token: fixtures.aliceTargetSession.accessToken }),
      200,
      'A’s other session',
    );
  });

  for (const route of ordered.slice(firstDestructive)) row(route);

  it('reports its size and time', () => {
    const matrixMs = Date.now() - matrixStarted;
    // Visible with --reporter=verbose; asserted so the numbers cannot silently be zero.
    expect(cellCounts.allowed + cellCounts.denied).toBe(matrixRoutes.length * principals.length);
    expect(cellCounts.ownership).toBeGreaterThanOrEqual(7);
    process.stdout.write(
      `authz matrix: ${matrixRoutes.length} routes x ${principals.length} principals = ${cellCounts.allowed + cellCounts.denied} cells ` +
        `(${cellCounts.denied} denied by the gateway, ${cellCounts.allowed} forwarded, ${cellCounts.ownership} refused by a service for ownership); ` +
        `setup ${setupMs} ms, matrix ${matrixMs} ms\n`,
    );
  });
});
