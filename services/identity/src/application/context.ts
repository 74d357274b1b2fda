/** What identity's use cases share: dependencies, problems, throttling, sessions and second factors. */
import { createHash, randomBytes } from 'node:crypto';
import { sql, type Kysely, type Transaction } from 'kysely';
import type { Logger } from '@wallet/service-kit';
import { HttpProblem, problems } from '@wallet/service-kit';
import { ProblemType } from '@wallet/contracts';
import { enqueueEvent } from '@wallet/platform';
import type { EnqueueEventInput } from '@wallet/platform';
import type { EventName, Role } from '@wallet/contracts';
import type { Config } from '../config.ts';
import type { IdentityDatabase } from '../db/schema.ts';
import { canonicalRecoveryCode, looksLikeTotp } from '../domain/codes.ts';
import type { KeyRing } from '../security/keyring.ts';
import type { PasswordHasher } from '../security/passwords.ts';
import type { SigningKeys } from '../security/signing-keys.ts';
import type { BreachedPasswordList } from '../security/breached-passwords.ts';
import { verifyTotp } from '../security/totp.ts';

export type Db = Kysely<IdentityDatabase>;
export type Trx = Transaction<IdentityDatabase>;

export interface IdentityDeps {
  db: Db;
  config: Config;
  ring: KeyRing;
  hasher: PasswordHasher;
  keys: SigningKeys;
  breached: BreachedPasswordList;
  logger: Logger;
}

/** Who is calling and from where, as the gateway put it in the internal token. */
export interface RequestMeta {
  ip: string | null;
  userAgent: string | null;
  deviceId: string | null;
  traceparent?: string | undefined;
}

export const identityProblems = {
  invalidCredentials: () =>
    new HttpProblem({
      status: 401,
      type: ProblemType.invalidCredentials,
      title: 'Invalid credentials',
      detail: 'The e-mail address or password is not right.',
    }),
  accountLocked: () =>
    new HttpProblem({
      status: 403,
      type: ProblemType.accountLocked,
      title: 'Account locked',
      detail: 'This account is locked. Contact support.',
    }),
  throttled: (retryAfterSeconds: number) =>
    new HttpProblem({
      status: 429,
      type: ProblemType.rateLimited,
      title: 'Too many attempts',
      detail: 'Too many failed sign-in attempts for this account from here. Try again later.',
      headers: { 'Retry-After': String(Math.max(1, Math.ceil(retryAfterSeconds))) },
      // `policy` names the quota for the gateway's RateLimit header; which counter refused is not told.
      extensions: { retryAfter: Math.max(1, Math.ceil(retryAfterSeconds)), policy: 'sign-in-failures' },
    }),
  invalidCode: (detail = 'The code is wrong, expired or already used.') =>
    new HttpProblem({ status: 400, type: ProblemType.invalidCode, title: 'Invalid code', detail }),
  tokenReused: () =>
    new HttpProblem({
      status: 401,
      type: ProblemType.tokenReused,
      title: 'Refresh token reused',
      detail: 'This refresh token was already used; the session has been revoked. Sign in again.',
    }),
  wrongCurrentPassword: () =>
    new HttpProblem({
      status: 403,
      type: ProblemType.invalidCredentials,
      title: 'Invalid credentials',
      detail: 'The current password is not right.',
    }),
  reauthenticationRequired: (windowSeconds: number) =>
    new HttpProblem({
      status: 403,
      type: ProblemType.reauthenticationRequired,
      title: 'Re-authentication required',
      detail: `Changing how you sign in needs a full sign-in within the last ${Math.round(windowSeconds / 60)} minutes: POST /v1/auth/reauthenticate first.`,
      extensions: { reauthenticateWithin: windowSeconds },
    }),
  invalidToken: (what: string) => problems.unauthenticated(`The ${what} is invalid or expired.`),
  mfaNotEnabled: () =>
    new HttpProblem({
      status: 403,
      type: ProblemType.mfaRequired,
      title: 'Second factor not set up',
      detail: 'Set up an authenticator app first (POST /v1/me/mfa/totp).',
    }),
};

export function sha256Hex(value: string): string {
  return createHash('sha256').update(value, 'utf8').digest('hex');
}

/** An opaque bearer secret (refresh token, MFA token): 256 random bits. Only its SHA-256 is stored. */
export function opaqueToken(prefix: string): string {
  return `${prefix}_${randomBytes(32).toString('base64url')}`;
}

export async function emit<N extends EventName>(
  trx: Trx,
  name: N,
  data: EnqueueEventInput<N>['data'],
  partitionKey: string,
  meta?: Pick<RequestMeta, 'traceparent'>,
): Promise<void> {
  await enqueueEvent(trx, {
    name,
    data,
    partitionKey,
    ...(meta?.traceparent ? { traceparent: meta.traceparent } : {}),
  });
}

// ---------------------------------------------------------------------------------------------------
// Sessions and tokens.

export interface SessionTokens {
  accessToken: string;
  refreshToken: string;
  expiresIn: number;
  sessionId: string;
}

/** Which client this is: its X-Device-Id, or its user agent when it sends none (hashed). */
export function deviceKey(meta: RequestMeta): string {
  return sha256Hex(meta.deviceId ? `device:${meta.deviceId}` : `agent:${meta.userAgent ?? ''}`);
}

export async function insertRefreshToken(
  deps: IdentityDeps,
  trx: Trx,
  sessionId: string,
  sessionExpiresAt: Date,
): Promise<string> {
  const token = opaqueToken('rt');
  const expiresAt = new Date(
    Math.min(Date.now() + deps.config.REFRESH_TOKEN_TTL_SECONDS * 1000, sessionExpiresAt.getTime()),
  );
  await trx
    .insertInto('refresh_tokens')
    .values({ session_id: sessionId, token_hash: sha256Hex(token), expires_at: expiresAt })
    .execute();
  return token;
}

/** Opens a session for a user who just proved who they are, and issues its first token pair. */
export async function openSession(
  deps: IdentityDeps,
  user: { id: string; email: string; roles: Role[] },
  input: {
    amr: string[];
    secondFactor: boolean;
    deviceName: string | null;
    meta: RequestMeta;
    /** Runs inside the session's transaction (the sign-in throttle forgets this source's failures). */
    completing: (trx: Trx) => Promise<void>;
  },
): Promise<SessionTokens> {
  const { meta } = input;
  const now = new Date();
  const stepUpUntil = input.secondFactor
    ? new Date(now.getTime() + deps.config.STEP_UP_WINDOW_SECONDS * 1000)
    : null;
  const expiresAt = new Date(now.getTime() + deps.config.SESSION_MAX_AGE_SECONDS * 1000);
  const key = deviceKey(meta);
  const { sessionId, refreshToken } = await deps.db.transaction().execute(async (trx) => {
    const session = await trx
      .insertInto('sessions')
      .values({
        user_id: user.id,
        device_key: key,
        device_name: input.deviceName,
        user_agent: meta.userAgent?.slice(0, 512) ?? null,
        ip: meta.ip,
        auth_time: now,
        // A sign-in proves every factor the user has: it is a full authentication.
        reauthenticated_at: now,
        amr: input.amr,
        step_up_until: stepUpUntil,
        expires_at: expiresAt,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    const device = await trx
      .insertInto('known_devices')
      .values({ user_id: user.id, device_key: key })
      .onConflict((oc) =>
        oc.columns(['user_id', 'device_key']).doUpdateSet({ last_seen_at: sql<Date>`now()` }),
      )
      .returning(sql<boolean>`(xmax = 0)`.as('inserted'))
      .executeTakeFirstOrThrow();
    const token = await insertRefreshToken(deps, trx, session.id, expiresAt);
    await input.completing(trx);
    await emit(
      trx,
      'sessionCreated',
      {
        userId: user.id,
        sessionId: session.id,
        email: user.email,
        deviceName: input.deviceName,
        userAgent: meta.userAgent,
        ip: meta.ip,
        newDevice: device.inserted,
      },
      user.id,
      meta,
    );
    return { sessionId: session.id, refreshToken: token };
  });
  const access = await deps.keys.issueAccessToken({
    userId: user.id,
    sessionId,
    roles: user.roles,
    acr: stepUpUntil ? 'aal2' : 'aal1',
    amr: input.amr,
    authTime: now,
    notAfter: stepUpUntil,
  });
  return { accessToken: access.accessToken, refreshToken, expiresIn: access.expiresIn, sessionId };
}

/**
 * Revokes sessions of one user (all live ones, or the listed ones, or all but one) and tells the
 * gateway through `session.revoked` so their still-valid access tokens stop working.
 */
export async function revokeSessions(
  trx: Trx,
  userId: string,
  which: { ids: string[] } | { allExcept: string | null },
  reason: string,
  meta?: Pick<RequestMeta, 'traceparent'>,
): Promise<string[]> {
  let query = trx
    .updateTable('sessions')
    .set({ revoked_at: sql<Date>`now()`, revoked_reason: reason })
    .where('user_id', '=', userId)
    .where('revoked_at', 'is', null);
  if ('ids' in which) {
    if (which.ids.length === 0) return [];
    query = query.where('id', 'in', which.ids);
  } else if (which.allExcept) {
    query = query.where('id', '!=', which.allExcept);
  }
  const rows = await query.returning('id').execute();
  const ids = rows.map((r) => r.id);
  if (ids.length > 0) await emit(trx, 'sessionRevoked', { userId, sessionIds: ids, reason }, userId, meta);
  return ids;
}

// ---------------------------------------------------------------------------------------------------
// Second factors.

export type SecondFactor = 'otp' | 'rc';

export interface MfaUser {
  id: string;
  totp_secret_sealed: string | null;
  totp_last_step: bigint | null;
}

export function totpAad(userId: string): string {
  return `totp:${userId}`;
}

/**
 * Checks a TOTP code (replay refused: its time step must be later than the last accepted one, claimed
 * atomically) or a recovery code (single use, claimed atomically). Returns which factor matched.
 */
export async function consumeSecondFactor(
  deps: IdentityDeps,
  user: MfaUser,
  code: string,
): Promise<SecondFactor | null> {
  const trimmed = code.trim();
  if (looksLikeTotp(trimmed)) {
    if (!user.totp_secret_sealed) return null;
    const secret = deps.ring.open(user.totp_secret_sealed, totpAad(user.id));
    const step = await verifyTotp(
      secret,
      trimmed,
      user.totp_last_step === null ? null : Number(user.totp_last_step),
    );
    if (step === null) return null;
    const claimed = await deps.db
      .updateTable('users')
      .set({ totp_last_step: step })
      .where('id', '=', user.id)
      .where((eb) => eb.or([eb('totp_last_step', 'is', null), eb('totp_last_step', '<', BigInt(step))]))
      .executeTakeFirst();
    return claimed.numUpdatedRows === 1n ? 'otp' : null;
  }
  const canonical = canonicalRecoveryCode(trimmed);
  if (!/^[a-z0-9]{10}$/.test(canonical)) return null;
  const candidates = await deps.db
    .selectFrom('recovery_codes')
    .select(['id', 'code_hash'])
    .where('user_id', '=', user.id)
    .where('used_at', 'is', null)
    .execute();
  const match = candidates.find((c) => deps.ring.codeMatches(canonical, c.code_hash));
  if (!match) return null;
  const claimed = await deps.db
    .updateTable('recovery_codes')
    .set({ used_at: sql<Date>`now()` })
    .where('id', '=', match.id)
    .where('used_at', 'is', null)
    .executeTakeFirst();
  return claimed.numUpdatedRows === 1n ? 'rc' : null;
}

export function amrWith(amr: readonly string[], factor: SecondFactor): string[] {
  return [...new Set([...amr, factor, 'mfa'])];
}

/** A session's authentication methods so far, read inside the transaction that is about to change them. */
export async function sessionAmr(trx: Trx, sessionId: string): Promise<string[]> {
  const row = await trx
    .selectFrom('sessions')
    .select('amr')
    .where('id', '=', sessionId)
    .executeTakeFirstOrThrow();
  return row.amr;
}

/** The access token of a session that has just stepped up: aal2 until its step-up window ends. */
export async function steppedUpAccessToken(
  deps: IdentityDeps,
  session: { userId: string; sessionId: string },
  roles: Parameters<IdentityDeps['keys']['issueAccessToken']>[0]['roles'],
  updated: { amr: string[]; auth_time: Date; step_up_until: Date | null },
): Promise<{ accessToken: string; expiresIn: number }> {
  const access = await deps.keys.issueAccessToken({
    userId: session.userId,
    sessionId: session.sessionId,
    roles,
    acr: 'aal2',
    amr: updated.amr,
    authTime: updated.auth_time,
    notAfter: updated.step_up_until,
  });
  return { accessToken: access.accessToken, expiresIn: access.expiresIn };
}
