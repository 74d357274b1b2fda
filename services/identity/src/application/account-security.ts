/**
 * The signed-in user's credentials (OWASP ASVS 5.0 L2, chapters 6 and 7; issue 17): password change
 * with the current password, full re-authentication before a factor changes, recovery-code
 * regeneration, "sign out the other sessions" after a factor change, and the resend of an e-mail
 * verification code.
 */
import { sql } from 'kysely';
import { problems } from '@wallet/service-kit';
import { RECOVERY_CODE_COUNT, canonicalRecoveryCode, recoveryCode } from '../domain/codes.ts';
import { assertPasswordAcceptable, mayOpenAnotherCode, openPendingCode } from './auth.ts';
import type { BackgroundTasks } from './background-tasks.ts';
import {
  amrWith,
  consumeSecondFactor,
  emit,
  identityProblems,
  revokeSessions,
  type IdentityDeps,
  type RequestMeta,
  type SecondFactor,
  type Trx,
} from './context.ts';
import {
  admitSignInAttempt,
  completeSignIn,
  refuseSignIn,
  releaseSignInAttempt,
  settledSignIn,
  type SignInAttempt,
} from './sign-in-throttle.ts';

export interface SignedInSession {
  userId: string;
  sessionId: string;
}

/** What a factor change answers beside its own result: the other sessions, ended or still open. */
export interface OtherSessions {
  /** Sessions of the user ended by this change (`signOutOtherSessions`). */
  otherSessionsSignedOut: number;
  /** Other sessions still open: the client offers to sign them out (`DELETE /v1/me/sessions`). */
  otherActiveSessions: number;
}

/**
 * ASVS 7.5.1: a change to how the user signs in needs a full authentication (every factor they have)
 * within REAUTH_WINDOW_SECONDS: the sign-in that opened the session, or `POST /auth/reauthenticate`.
 */
export async function requireRecentAuthentication(
  deps: IdentityDeps,
  session: SignedInSession,
): Promise<void> {
  const row = await deps.db
    .selectFrom('sessions')
    .select(
      sql<boolean>`reauthenticated_at > now() - ${deps.config.REAUTH_WINDOW_SECONDS} * interval '1 second'`.as(
        'recent',
      ),
    )
    .where('id', '=', session.sessionId)
    .where('user_id', '=', session.userId)
    .where('revoked_at', 'is', null)
    .executeTakeFirst();
  if (!row) throw problems.unauthenticated('This session is no longer active.');
  if (row.recent !== true) throw identityProblems.reauthenticationRequired(deps.config.REAUTH_WINDOW_SECONDS);
}

/** Ends the user's other sessions when asked to, and counts the ones left open (inside `trx`). */
export async function settleOtherSessions(
  trx: Trx,
  session: SignedInSession,
  signOut: boolean,
  reason: string,
  meta: RequestMeta,
): Promise<OtherSessions> {
  const ended = signOut
    ? await revokeSessions(trx, session.userId, { allExcept: session.sessionId }, reason, meta)
    : [];
  const open = await trx
    .selectFrom('sessions')
    .select(sql<number>`count(*)::int`.as('n'))
    .where('user_id', '=', session.userId)
    .where('id', '!=', session.sessionId)
    .where('revoked_at', 'is', null)
    .where('expires_at', '>', sql<Date>`now()`)
    .executeTakeFirstOrThrow();
  return { otherSessionsSignedOut: ended.length, otherActiveSessions: open.n };
}

/** `settleOtherSessions` in a transaction of its own (after a change made elsewhere). */
export function afterFactorChange(
  deps: IdentityDeps,
  session: SignedInSession,
  signOut: boolean,
  reason: string,
  meta: RequestMeta,
): Promise<OtherSessions> {
  return deps.db.transaction().execute((trx) => settleOtherSessions(trx, session, signOut, reason, meta));
}

/**
 * ASVS 6.2.3: a new password only with the current one. A wrong current password is a failed sign-in
 * (throttled like one). The other sessions end unless the caller keeps them (`signOutOtherSessions`
 * defaults to true here: a password change is most often made because of a doubt).
 */
export async function changePassword(
  deps: IdentityDeps,
  session: SignedInSession,
  input: { currentPassword: string; newPassword: string; signOutOtherSessions: boolean },
  meta: RequestMeta,
): Promise<OtherSessions> {
  const user = await deps.db
    .selectFrom('users')
    .select(['id', 'email', 'display_name', 'password_hash'])
    .where('id', '=', session.userId)
    .executeTakeFirstOrThrow();
  const attempt = await admitSignInAttempt(deps, user.email, meta);
  const right = await checkedOrReleased(deps, attempt, () =>
    deps.hasher.verify(user.password_hash, input.currentPassword),
  );
  if (!right) {
    return refuseSignIn(deps, attempt, user, meta, identityProblems.wrongCurrentPassword());
  }
  await assertPasswordAcceptable(
    deps,
    input.newPassword,
    [user.email, ...(user.display_name ? [user.display_name] : [])],
    'newPassword',
  );
  const passwordHash = await deps.hasher.hash(input.newPassword);
  return deps.db.transaction().execute(async (trx) => {
    const changed = await trx
      .updateTable('users')
      .set({ password_hash: passwordHash, updated_at: sql<Date>`now()` })
      .where('id', '=', user.id)
      // A change made meanwhile (another tab, a recovery) wins; this one is refused below.
      .where('password_hash', '=', user.password_hash)
      .executeTakeFirst();
    if (changed.numUpdatedRows !== 1n)
      throw problems.conflict('The password changed meanwhile; sign in again and retry.');
    await completeSignIn(trx, attempt);
    await trx.deleteFrom('mfa_challenges').where('user_id', '=', user.id).execute();
    await emit(
      trx,
      'passwordChanged',
      { userId: user.id, email: user.email, via: 'settings' },
      user.id,
      meta,
    );
    return settleOtherSessions(trx, session, input.signOutOtherSessions, 'password-changed', meta);
  });
}

/**
 * Runs a password check; when it is not made at all (the hashing queue is full: 503 `overloaded`), no
 * attempt was made either, so the admitted attempt is given back (as sign-in does).
 */
async function checkedOrReleased(
  deps: IdentityDeps,
  attempt: SignInAttempt,
  check: () => Promise<boolean>,
): Promise<boolean> {
  try {
    return await check();
  } catch (error) {
    await releaseSignInAttempt(deps, attempt);
    throw error;
  }
}

export interface Reauthenticated {
  accessToken: string;
  expiresIn: number;
  /** Until when factor changes are allowed without another re-authentication. */
  reauthenticatedUntil: string;
}

/**
 * Full re-authentication in a live session: the password, and the second factor when the account has
 * one. Failures count as failed sign-ins. Answers an access token whose assurance matches (aal2 with a
 * second factor, which also opens the step-up window).
 */
export async function reauthenticate(
  deps: IdentityDeps,
  session: SignedInSession,
  input: { password: string; code?: string | undefined },
  meta: RequestMeta,
): Promise<Reauthenticated> {
  const user = await deps.db
    .selectFrom('users')
    .select(['id', 'email', 'roles', 'password_hash', 'mfa_enabled', 'totp_secret_sealed', 'totp_last_step'])
    .where('id', '=', session.userId)
    .executeTakeFirstOrThrow();
  if (user.mfa_enabled && !input.code) {
    throw problems.validation([
      { field: 'body.code', message: 'this account has a second factor: send its code too' },
    ]);
  }
  const attempt = await admitSignInAttempt(deps, user.email, meta);
  let factor: SecondFactor | null = null;
  const passwordRight = await checkedOrReleased(deps, attempt, () =>
    deps.hasher.verify(user.password_hash, input.password),
  );
  if (passwordRight && user.mfa_enabled && input.code)
    factor = await consumeSecondFactor(deps, user, input.code);
  if (!passwordRight || (user.mfa_enabled && !factor)) {
    return refuseSignIn(
      deps,
      attempt,
      user,
      meta,
      passwordRight ? identityProblems.invalidCode() : identityProblems.wrongCurrentPassword(),
    );
  }
  const updated = await deps.db.transaction().execute(async (trx) => {
    const currentAmr = await settledSignIn(trx, attempt, session.sessionId);
    return trx
      .updateTable('sessions')
      .set({
        reauthenticated_at: sql<Date>`now()`,
        last_seen_at: sql<Date>`now()`,
        ...(factor
          ? {
              step_up_until: sql<Date>`now() + ${deps.config.STEP_UP_WINDOW_SECONDS} * interval '1 second'`,
              amr: amrWith(currentAmr, factor),
            }
          : {}),
      })
      .where('id', '=', session.sessionId)
      .where('revoked_at', 'is', null)
      .returning(['amr', 'auth_time', 'step_up_until', 'reauthenticated_at'])
      .executeTakeFirst();
  });
  if (!updated?.reauthenticated_at) throw problems.unauthenticated('This session is no longer active.');
  const stepUpActive = updated.step_up_until !== null && updated.step_up_until.getTime() > Date.now();
  const access = await deps.keys.issueAccessToken({
    userId: user.id,
    sessionId: session.sessionId,
    roles: user.roles,
    acr: stepUpActive ? 'aal2' : 'aal1',
    amr: updated.amr,
    authTime: updated.auth_time,
    notAfter: stepUpActive ? updated.step_up_until : null,
  });
  return {
    accessToken: access.accessToken,
    expiresIn: access.expiresIn,
    reauthenticatedUntil: new Date(
      updated.reauthenticated_at.getTime() + deps.config.REAUTH_WINDOW_SECONDS * 1000,
    ).toISOString(),
  };
}

/**
 * New recovery codes replace every old one (used or not), after a recent full re-authentication. The
 * user is told (`mfa.changed`), and the other sessions end if asked.
 */
export async function regenerateRecoveryCodes(
  deps: IdentityDeps,
  session: SignedInSession,
  input: { signOutOtherSessions: boolean },
  meta: RequestMeta,
): Promise<{ recoveryCodes: string[] } & OtherSessions> {
  const user = await deps.db
    .selectFrom('users')
    .select(['email', 'mfa_enabled'])
    .where('id', '=', session.userId)
    .executeTakeFirstOrThrow();
  if (!user.mfa_enabled) throw identityProblems.mfaNotEnabled();
  await requireRecentAuthentication(deps, session);
  const codes = Array.from({ length: RECOVERY_CODE_COUNT }, recoveryCode);
  return deps.db.transaction().execute(async (trx) => {
    const still = await trx
      .selectFrom('users')
      .select('id')
      .where('id', '=', session.userId)
      .where('mfa_enabled', '=', true)
      .forUpdate()
      .executeTakeFirst();
    if (!still) throw identityProblems.mfaNotEnabled();
    await trx.deleteFrom('recovery_codes').where('user_id', '=', session.userId).execute();
    await trx
      .insertInto('recovery_codes')
      .values(
        codes.map((c) => ({
          user_id: session.userId,
          code_hash: deps.ring.hashCode(canonicalRecoveryCode(c)),
        })),
      )
      .execute();
    await emit(
      trx,
      'mfaChanged',
      { userId: session.userId, email: user.email, enabled: true },
      session.userId,
      meta,
    );
    const others = await settleOtherSessions(
      trx,
      session,
      input.signOutOtherSessions,
      'recovery-codes-regenerated',
      meta,
    );
    return { recoveryCodes: codes, ...others };
  });
}

/**
 * Resend of the e-mail verification code: answered 202 at once whatever the address (the work runs
 * after the answer, as for recovery), so it tells nothing about accounts. Only an unverified account
 * gets a new code, at most one per CODE_RESEND_INTERVAL_SECONDS and CODE_RESEND_MAX_PER_HOUR an hour;
 * the new code replaces the previous one.
 */
export function acceptVerificationResend(
  deps: IdentityDeps,
  tasks: BackgroundTasks,
  input: { email: string },
  meta: RequestMeta,
): void {
  tasks.run('verification-resend', () => resendVerification(deps, input, meta));
}

export async function resendVerification(
  deps: IdentityDeps,
  input: { email: string },
  meta: RequestMeta,
): Promise<void> {
  await deps.db.transaction().execute(async (trx) => {
    const user = await trx
      .selectFrom('users')
      .select(['id', 'email', 'email_verified_at'])
      .where('email', '=', input.email)
      .forUpdate()
      .executeTakeFirst();
    if (!user || user.email_verified_at !== null) return;
    if (!(await mayOpenAnotherCode(deps, trx, user.id, 'email-verification'))) {
      deps.logger.info({ userId: user.id }, 'verification resend refused by its rate limit');
      return;
    }
    const { codeRef, expiresAt } = await openPendingCode(
      deps,
      trx,
      user.id,
      'email-verification',
      deps.config.EMAIL_CODE_TTL_SECONDS,
    );
    await emit(
      trx,
      'emailVerificationRequested',
      { userId: user.id, email: user.email, codeRef, expiresAt: expiresAt.toISOString() },
      user.id,
      meta,
    );
  });
}
