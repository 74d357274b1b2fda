/** The signed-in user's own account: profile, authenticator app, recovery codes, sessions and devices. */
import { sql } from 'kysely';
import { problems } from '@wallet/service-kit';
import { decodeCursor, InvalidCursorError, keysetPage, type Role } from '@wallet/contracts';
import { RECOVERY_CODE_COUNT, canonicalRecoveryCode, recoveryCode } from '../domain/codes.ts';
import { newTotpSecret, totpUri, verifyTotp } from '../security/totp.ts';
import {
  emit,
  identityProblems,
  revokeSessions,
  totpAad,
  type IdentityDeps,
  type RequestMeta,
} from './context.ts';

export interface UserSession {
  userId: string;
  sessionId: string;
}

const LAST_SEEN_RESOLUTION_SECONDS = 60;

/**
 * The caller's session must still be live (not revoked, not expired, account not locked): the
 * gateway checks too, but identity never acts on a dead session's word.
 */
export async function loadLiveSession(deps: IdentityDeps, userId: string, sessionId: string) {
  const row = await deps.db
    .selectFrom('sessions as s')
    .innerJoin('users as u', 'u.id', 's.user_id')
    .select(['s.id', 's.user_id', 's.step_up_until', 's.last_seen_at', 'u.roles', 'u.status'])
    .where('s.id', '=', sessionId)
    .where('s.user_id', '=', userId)
    .where('s.revoked_at', 'is', null)
    .where('s.expires_at', '>', sql<Date>`now()`)
    .executeTakeFirst();
  if (!row || row.status !== 'active') throw problems.unauthenticated('This session is no longer active.');
  if (Date.now() - row.last_seen_at.getTime() > LAST_SEEN_RESOLUTION_SECONDS * 1000) {
    await deps.db
      .updateTable('sessions')
      .set({ last_seen_at: sql<Date>`now()` })
      .where('id', '=', row.id)
      .execute();
  }
  return row;
}

export async function getMe(deps: IdentityDeps, userId: string) {
  const user = await deps.db
    .selectFrom('users')
    .select(['id', 'email', 'display_name', 'email_verified_at', 'roles', 'mfa_enabled', 'created_at'])
    .where('id', '=', userId)
    .executeTakeFirstOrThrow();
  return {
    userId: user.id,
    email: user.email,
    emailVerified: user.email_verified_at !== null,
    roles: user.roles,
    mfaEnabled: user.mfa_enabled,
    displayName: user.display_name,
    createdAt: user.created_at.toISOString(),
  };
}

export async function startTotpEnrolment(
  deps: IdentityDeps,
  userId: string,
): Promise<{ secret: string; otpauthUrl: string }> {
  const user = await deps.db
    .selectFrom('users')
    .select(['email', 'mfa_enabled'])
    .where('id', '=', userId)
    .executeTakeFirstOrThrow();
  if (user.mfa_enabled) throw problems.conflict('An authenticator app is already set up; remove it first.');
  const secret = newTotpSecret();
  await deps.db
    .updateTable('users')
    .set({ totp_pending_sealed: deps.ring.seal(secret, totpAad(userId)), updated_at: sql<Date>`now()` })
    .where('id', '=', userId)
    .execute();
  return { secret, otpauthUrl: totpUri(deps.config.TOTP_ISSUER, user.email, secret) };
}

export async function confirmTotpEnrolment(
  deps: IdentityDeps,
  userId: string,
  input: { code: string },
  meta: RequestMeta,
): Promise<{ recoveryCodes: string[] }> {
  const user = await deps.db
    .selectFrom('users')
    .select(['email', 'mfa_enabled', 'totp_pending_sealed'])
    .where('id', '=', userId)
    .executeTakeFirstOrThrow();
  if (user.mfa_enabled) throw problems.conflict('An authenticator app is already set up.');
  if (!user.totp_pending_sealed)
    throw problems.conflict('No enrolment in progress; start one with POST /v1/me/mfa/totp.');
  const step = await verifyTotp(
    deps.ring.open(user.totp_pending_sealed, totpAad(userId)),
    input.code.trim(),
    null,
  );
  if (step === null) throw identityProblems.invalidCode();
  const codes = Array.from({ length: RECOVERY_CODE_COUNT }, recoveryCode);
  const confirmed = await deps.db.transaction().execute(async (trx) => {
    const row = await trx
      .updateTable('users')
      .set({
        mfa_enabled: true,
        totp_secret_sealed: user.totp_pending_sealed,
        totp_pending_sealed: null,
        totp_last_step: step,
        updated_at: sql<Date>`now()`,
      })
      .where('id', '=', userId)
      .where('mfa_enabled', '=', false)
      .where('totp_pending_sealed', '=', user.totp_pending_sealed)
      .returning('id')
      .executeTakeFirst();
    if (!row) return false;
    await trx.deleteFrom('recovery_codes').where('user_id', '=', userId).execute();
    await trx
      .insertInto('recovery_codes')
      .values(
        codes.map((c) => ({ user_id: userId, code_hash: deps.ring.hashCode(canonicalRecoveryCode(c)) })),
      )
      .execute();
    await emit(trx, 'mfaChanged', { userId, email: user.email, enabled: true }, userId, meta);
    return true;
  });
  if (!confirmed) throw problems.conflict('The enrolment changed meanwhile; start again.');
  return { recoveryCodes: codes };
}

export async function disableTotp(deps: IdentityDeps, userId: string, meta: RequestMeta): Promise<void> {
  await deps.db.transaction().execute(async (trx) => {
    const row = await trx
      .updateTable('users')
      .set({
        mfa_enabled: false,
        totp_secret_sealed: null,
        totp_pending_sealed: null,
        totp_last_step: null,
        updated_at: sql<Date>`now()`,
      })
      .where('id', '=', userId)
      .where('mfa_enabled', '=', true)
      .returning('email')
      .executeTakeFirst();
    if (!row) return;
    await trx.deleteFrom('recovery_codes').where('user_id', '=', userId).execute();
    await emit(trx, 'mfaChanged', { userId, email: row.email, enabled: false }, userId, meta);
  });
}

export interface SessionView {
  sessionId: string;
  deviceName: string | null;
  userAgent: string | null;
  ip: string | null;
  createdAt: string;
  lastSeenAt: string;
  current: boolean;
}

export async function listSessions(
  deps: IdentityDeps,
  session: UserSession,
  page: { limit: number; cursor?: string | undefined },
): Promise<{ items: SessionView[]; nextCursor: string | null }> {
  let query = deps.db
    .selectFrom('sessions')
    .select(['id', 'device_name', 'user_agent', 'ip', 'created_at', 'last_seen_at'])
    .where('user_id', '=', session.userId)
    .where('revoked_at', 'is', null)
    .where('expires_at', '>', sql<Date>`now()`);
  if (page.cursor) {
    const [at, id] = decodeCursor(page.cursor, 2);
    const created = new Date(at);
    if (Number.isNaN(created.getTime()) || !/^[0-9a-f-]{36}$/.test(id)) throw new InvalidCursorError();
    query = query.where((eb) =>
      eb.or([eb('created_at', '<', created), eb.and([eb('created_at', '=', created), eb('id', '<', id)])]),
    );
  }
  const rows = await query
    .orderBy('created_at', 'desc')
    .orderBy('id', 'desc')
    .limit(page.limit + 1)
    .execute();
  return keysetPage(
    rows,
    page.limit,
    (r) => [r.created_at.toISOString(), r.id],
    (r): SessionView => ({
      sessionId: r.id,
      deviceName: r.device_name,
      userAgent: r.user_agent,
      ip: r.ip,
      createdAt: r.created_at.toISOString(),
      lastSeenAt: r.last_seen_at.toISOString(),
      current: r.id === session.sessionId,
    }),
  );
}

/** Revokes one of the caller's sessions; another user's session id is simply not found. */
export async function revokeOwnSession(
  deps: IdentityDeps,
  session: UserSession,
  targetId: string,
  meta: RequestMeta,
): Promise<void> {
  const owned = await deps.db
    .selectFrom('sessions')
    .select('id')
    .where('id', '=', targetId)
    .where('user_id', '=', session.userId)
    .where('revoked_at', 'is', null)
    .executeTakeFirst();
  if (!owned) throw problems.notFound('No such session.');
  await deps.db
    .transaction()
    .execute((trx) => revokeSessions(trx, session.userId, { ids: [targetId] }, 'revoked-by-user', meta));
}

export async function revokeOtherSessions(
  deps: IdentityDeps,
  session: UserSession,
  meta: RequestMeta,
): Promise<{ revoked: number }> {
  const ids = await deps.db
    .transaction()
    .execute((trx) =>
      revokeSessions(trx, session.userId, { allExcept: session.sessionId }, 'revoked-by-user', meta),
    );
  return { revoked: ids.length };
}

/** The gateway's revocation and current-roles check (introspection). */
export async function sessionStatus(
  deps: IdentityDeps,
  sessionId: string,
): Promise<{ active: boolean; userId: string | null; roles: Role[] }> {
  if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(sessionId))
    return { active: false, userId: null, roles: [] };
  const row = await deps.db
    .selectFrom('sessions as s')
    .innerJoin('users as u', 'u.id', 's.user_id')
    .select(['s.user_id', 's.revoked_at', 's.expires_at', 'u.status', 'u.roles'])
    .where('s.id', '=', sessionId)
    .executeTakeFirst();
  if (!row) return { active: false, userId: null, roles: [] };
  const active = row.revoked_at === null && row.expires_at.getTime() > Date.now() && row.status === 'active';
  // The roles the user holds now: the gateway checks privileged calls against these, not the token's.
  return { active, userId: row.user_id, roles: active ? row.roles : [] };
}
