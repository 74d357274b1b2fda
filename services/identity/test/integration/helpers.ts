/** Shared set-up of identity's integration suites: a real service on a throw-away database. */
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { decodeJwt } from 'jose';
import { generate } from 'otplib';
import { sql } from 'kysely';
import { untilNotShed, waitFor } from '@wallet/testing';
import { startTestService, type ServiceClient, type TestService } from '@wallet/service-testing';
import type { InternalSubject } from '@wallet/service-kit';
import { accessTokenClaimsSchema } from '@wallet/contracts';
import { service } from '../../src/service.ts';
import type { Config } from '../../src/config.ts';
import type { IdentityDatabase } from '../../src/db/schema.ts';

export type IdentityTestService = TestService<IdentityDatabase, Config>;

/**
 * Cheap argon2 and no waiting between failures: the behaviour under test, not the cost (throttle.test.ts
 * runs the default throttling policy).
 */
export const TEST_ENV: Record<string, string> = {
  ARGON2_MEMORY_KIB: '1024',
  ARGON2_TIME_COST: '1',
  LOGIN_DELAY_BASE_MS: '0',
  LOGIN_IP_MAX_FAILURES: '100000',
  SIGNING_KEY_CACHE_SECONDS: '1',
  HOUSEKEEPING_INTERVAL_SECONDS: '0',
};

export function startIdentity(
  adminUrl: string,
  env: Record<string, string> = {},
): Promise<IdentityTestService> {
  return startTestService(service, { adminUrl, env: { ...TEST_ENV, ...env } });
}

export const STRONG_PASSWORD = 'violet-harbour-cactus-49-lantern';
export const OTHER_STRONG_PASSWORD = 'quiet-meadow-falcon-83-zeppelin';

let counter = 0;
export function uniqueEmail(prefix = 'user'): string {
  counter += 1;
  return `${prefix}.${Date.now().toString(36)}.${counter}@example.test`;
}

export const CLIENT_CONTEXT = { ip: '203.0.113.7', userAgent: 'vitest/identity', deviceId: null } as const;

export function anonymous(svc: IdentityTestService, context: Partial<InternalSubject> = {}): ServiceClient {
  return svc.as({ sub: 'anonymous', ...CLIENT_CONTEXT, ...context });
}

export interface Tokens {
  accessToken: string;
  refreshToken: string;
  expiresIn: number;
  sessionId: string;
}

/** A client calling as the gateway would for the holder of `accessToken` (its claims copied into the internal token). */
export function asHolder(
  svc: IdentityTestService,
  accessToken: string,
  context: Partial<InternalSubject> = {},
): ServiceClient {
  const claims = accessTokenClaimsSchema.parse(decodeJwt(accessToken));
  return svc.as({
    sub: claims.sub,
    sid: claims.sid,
    roles: claims.roles,
    acr: claims.acr,
    ...CLIENT_CONTEXT,
    ...context,
  });
}

/** The payload of the newest outbox event of `type` about `userId`. */
export async function latestEvent<T = Record<string, unknown>>(
  svc: IdentityTestService,
  type: string,
  userId: string,
): Promise<T | undefined> {
  const row = await svc.ownerDb
    .selectFrom('outbox')
    .select('payload')
    .where('event_type', '=', type)
    .where(sql<boolean>`payload->>'userId' = ${userId}`)
    .orderBy('seq', 'desc')
    .executeTakeFirst();
  return row?.payload as T | undefined;
}

/** Waits for the newest outbox event of `type` about `userId` (for work done after the answer). */
export async function eventuallyLatestEvent<T = Record<string, unknown>>(
  svc: IdentityTestService,
  type: string,
  userId: string,
): Promise<T> {
  return waitFor(() => latestEvent<T>(svc, type, userId), { timeoutMs: 5_000, intervalMs: 20, what: type });
}

export async function countEvents(svc: IdentityTestService, type: string, userId: string): Promise<number> {
  const row = await svc.ownerDb
    .selectFrom('outbox')
    .select(sql<number>`count(*)::int`.as('n'))
    .where('event_type', '=', type)
    .where(sql<boolean>`payload->>'userId' = ${userId}`)
    .executeTakeFirstOrThrow();
  return row.n;
}

export const REGISTERED_V2 = 'wallet.identity.user.registered.v2';
export const RECOVERY_V2 = 'wallet.identity.recovery.requested.v2';
export const SIGN_UP_ATTEMPTED = 'wallet.identity.sign-up.attempted.v1';
export const VERIFICATION_REQUESTED = 'wallet.identity.email.verification.requested.v1';

/** The notification service's side of a code delivery: exchanges a code reference for the code. */
export function asNotification(svc: IdentityTestService): ServiceClient {
  return svc.as({ sub: 'notification' }, 'notification');
}

export async function issueCode(
  svc: IdentityTestService,
  codeRef: string | undefined,
  recipient: string,
): Promise<{ purpose: string; code: string; expiresAt: string }> {
  const res = await asNotification(svc).post<{ purpose: string; code: string; expiresAt: string }>(
    `/internal/one-time-codes/${codeRef ?? 'missing'}/issue`,
    { recipient },
  );
  if (res.status !== 200) throw new Error(`issue answered ${res.status}: ${res.text}`);
  return res.body;
}

/** The e-mail verification code as the notification service would send it (event reference -> code). */
export async function verificationCodeFor(svc: IdentityTestService, user: { userId: string; email: string }) {
  const event = await latestEvent<{ verificationCodeRef: string }>(svc, REGISTERED_V2, user.userId);
  return (await issueCode(svc, event?.verificationCodeRef, user.email)).code;
}

/** The recovery code of the newest recovery request, as the notification service would send it. */
/** Recovery requests are handled in the background (equal-time answers): wait until `count` events exist. */
export async function recoveryEvents(svc: IdentityTestService, userId: string, count: number): Promise<void> {
  await waitFor(async () => (await countEvents(svc, RECOVERY_V2, userId)) >= count, {
    timeoutMs: 5_000,
    intervalMs: 20,
    what: `${count} recovery event(s)`,
  });
}

/** The code of the user's latest recovery request (waits for its event). */
export async function recoveryCodeFor(svc: IdentityTestService, user: { userId: string; email: string }) {
  const event = await eventuallyLatestEvent<{ codeRef: string }>(svc, RECOVERY_V2, user.userId);
  return (await issueCode(svc, event?.codeRef, user.email)).code;
}

export async function registerUser(
  svc: IdentityTestService,
  email = uniqueEmail(),
  password = STRONG_PASSWORD,
) {
  const res = await untilNotShed(() =>
    anonymous(svc).post('/auth/register', { email, password, displayName: 'Test User' }),
  );
  if (res.status !== 202) throw new Error(`register answered ${res.status}: ${res.text}`);
  return { email, password, userId: await eventuallyUserId(svc, email) };
}

/**
 * Registration answers before the account exists (the same answer for known addresses): waits for the
 * account of `email` (its row and its user.registered event are written in one transaction).
 */
export async function eventuallyUserId(svc: IdentityTestService, email: string): Promise<string> {
  const row = await waitFor(
    () =>
      svc.ownerDb
        .selectFrom('users')
        .select('id')
        .where('email', '=', email.trim().toLowerCase())
        .executeTakeFirst(),
    { timeoutMs: 5_000, intervalMs: 20, what: `the account of ${email}` },
  );
  return row.id;
}

export async function registerVerified(
  svc: IdentityTestService,
  email = uniqueEmail(),
  password = STRONG_PASSWORD,
) {
  const user = await registerUser(svc, email, password);
  const code = await verificationCodeFor(svc, user);
  const res = await anonymous(svc).post('/auth/verify-email', { email, code });
  if (res.status !== 204) throw new Error(`verify-email answered ${res.status}: ${res.text}`);
  return user;
}

export async function login(
  svc: IdentityTestService,
  email: string,
  password: string,
  context: Partial<InternalSubject> = {},
) {
  return anonymous(svc, context).post<Tokens & { mfaRequired?: true; mfaToken?: string }>('/auth/login', {
    email,
    password,
  });
}

export async function loginTokens(
  svc: IdentityTestService,
  email: string,
  password: string,
  context: Partial<InternalSubject> = {},
): Promise<Tokens> {
  const res = await login(svc, email, password, context);
  if (res.status !== 200 || !res.body.accessToken)
    throw new Error(`login answered ${res.status}: ${res.text}`);
  return res.body;
}

/** A TOTP code for `offsetSteps` steps from now (the server accepts -1..+1). */
export function totpCode(secret: string, offsetSteps = 0): Promise<string> {
  return generate({ secret, epoch: Math.floor(Date.now() / 1000) + offsetSteps * 30 });
}

/** Enrols an authenticator for the holder of `tokens`; returns its secret and the recovery codes. */
export async function enrolTotp(svc: IdentityTestService, tokens: Tokens) {
  const client = asHolder(svc, tokens.accessToken);
  const start = await client.post<{ secret: string; otpauthUrl: string }>('/me/mfa/totp');
  if (start.status !== 200) throw new Error(`enrol answered ${start.status}: ${start.text}`);
  const confirm = await client.post<{ recoveryCodes: string[] }>('/me/mfa/totp/confirm', {
    code: await totpCode(start.body.secret),
  });
  if (confirm.status !== 200) throw new Error(`confirm answered ${confirm.status}: ${confirm.text}`);
  return {
    secret: start.body.secret,
    otpauthUrl: start.body.otpauthUrl,
    recoveryCodes: confirm.body.recoveryCodes,
  };
}

/** Forgets the last accepted TOTP step, so a test can use "now" codes again without waiting 30 s. */
export async function forgetTotpStep(svc: IdentityTestService, userId: string): Promise<void> {
  await svc.ownerDb.updateTable('users').set({ totp_last_step: null }).where('id', '=', userId).execute();
}

const CLI = resolve(import.meta.dirname, '../../src/cli.ts');

/** Runs `node src/cli.ts ...args` against the test database; resolves with its exit code and output. */
export function runCli(
  svc: IdentityTestService,
  args: string[],
  stdin?: string,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      env: {
        ...process.env,
        ...TEST_ENV,
        APP_ENV: 'test',
        LOG_LEVEL: 'silent',
        DATABASE_URL: svc.database.appUrl,
      },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolvePromise({ code: code ?? -1, stdout, stderr }));
    child.stdin.end(stdin ?? '');
  });
}
