// Longer than 400 lines: sign-in, tokens, refresh and MFA challenge use cases share private helpers; splitting waits for the passkeys and ASVS work on this folder to land.
/** Registration, e-mail verification, sign-in (password, second factor), refresh, logout, step-up, recovery. */
import { sql } from 'kysely';
import { problems } from '@wallet/service-kit';
import { codeHashInput } from './code-delivery.ts';
import { checkPasswordPolicy } from '../domain/password-policy.ts';
import type { CodePurpose } from '../db/schema.ts';
import {
  steppedUpAccessToken,
  amrWith,
  consumeSecondFactor,
  deviceKey,
  emit,
  identityProblems,
  insertRefreshToken,
  opaqueToken,
  openSession,
  revokeSessions,
  sha256Hex,
  type IdentityDeps,
  type RequestMeta,
  type SessionTokens,
  type Trx,
} from './context.ts';
import {
  admitSignInAttempt,
  completeSignIn,
  settledSignIn,
  failSignIn,
  refuseSignIn,
  releaseSignInAttempt,
} from './sign-in-throttle.ts';
import type { BackgroundTasks } from './background-tasks.ts';
import { findUserByEmail } from '../db/users.ts';

/**
 * The password rules (length, common list, strength, personal data) and the breached-password list
 * (ASVS 6.2.4, 6.2.12). A refusal names the field and says why; it depends only on the password and
 * the inputs given, never on whether an account exists.
 */
export async function assertPasswordAcceptable(
  deps: Pick<IdentityDeps, 'breached'>,
  password: string,
  userInputs: string[],
  field = 'password',
): Promise<void> {
  const verdict = checkPasswordPolicy(password, userInputs);
  if (!verdict.ok)
    throw problems.validation([{ field: `body.${field}`, message: `password ${verdict.reason}` }]);
  if (await deps.breached.isBreached(password)) {
    throw problems.validation([
      {
        field: `body.${field}`,
        message: 'password appears in a known data breach; choose one you have never used elsewhere',
      },
    ]);
  }
}

/**
 * Opens a fresh one-time code for the purpose (the previous live one stops working) WITHOUT making the
 * code: the row is pending, and its id is the reference the event carries. The notification service
 * mints the code when it sends (`issueCodeForDelivery`), so no code is ever in an event, an outbox row
 * or a broker, and only its keyed hash is in this database.
 */
export async function openPendingCode(
  deps: IdentityDeps,
  trx: Trx,
  userId: string,
  purpose: CodePurpose,
  ttlSeconds: number,
): Promise<{ codeRef: string; expiresAt: Date }> {
  await trx
    .updateTable('one_time_codes')
    .set({ consumed_at: sql<Date>`now()` })
    .where('user_id', '=', userId)
    .where('purpose', '=', purpose)
    .where('consumed_at', 'is', null)
    .execute();
  const expiresAt = new Date(Date.now() + ttlSeconds * 1000);
  const row = await trx
    .insertInto('one_time_codes')
    .values({ user_id: userId, purpose, code_hash: null, expires_at: expiresAt })
    .returning('id')
    .executeTakeFirstOrThrow();
  return { codeRef: row.id, expiresAt };
}

/**
 * Checks a one-time code inside `trx` (row locked). A wrong guess is counted and the code burns after
 * the last allowed attempt. Returns whether it matched; a match consumes the code.
 */
async function consumeCode(
  deps: IdentityDeps,
  trx: Trx,
  userId: string,
  purpose: CodePurpose,
  code: string,
): Promise<boolean> {
  const row = await trx
    .selectFrom('one_time_codes')
    .select(['id', 'code_hash', 'attempts', 'expires_at'])
    .where('user_id', '=', userId)
    .where('purpose', '=', purpose)
    .where('consumed_at', 'is', null)
    .forUpdate()
    .executeTakeFirst();
  if (!row || row.expires_at.getTime() <= Date.now()) return false;
  // Not issued yet (still on its way to the notification service): nothing can match, but the guess counts.
  if (row.code_hash !== null && deps.ring.codeMatches(codeHashInput(purpose, code), row.code_hash)) {
    await trx
      .updateTable('one_time_codes')
      .set({ consumed_at: sql<Date>`now()` })
      .where('id', '=', row.id)
      .execute();
    return true;
  }
  const attempts = row.attempts + 1;
  await trx
    .updateTable('one_time_codes')
    .set({
      attempts,
      ...(attempts >= deps.config.CODE_MAX_ATTEMPTS ? { consumed_at: sql<Date>`now()` } : {}),
    })
    .where('id', '=', row.id)
    .execute();
  return false;
}

/**
 * Registration that does not tell whether the address has an account (ASVS 6.3.8 / 6.6.x): every
 * acceptable request gets the same 202 after the same work (password rules, breach list, argon2), and
 * what differs runs after the answer (`completeRegistration`). A new address gets an account and a
 * verification code; the owner of a known address gets an e-mail instead (`sign-up.attempted`, with a
 * recovery code by reference in case they forgot their password). Lost on a crash like a recovery
 * request: the person asks again.
 */
export async function register(
  deps: IdentityDeps,
  tasks: BackgroundTasks,
  input: { email: string; password: string; displayName: string | null },
  meta: RequestMeta,
): Promise<void> {
  await assertPasswordAcceptable(deps, input.password, [
    input.email,
    ...(input.displayName ? [input.displayName] : []),
  ]);
  const passwordHash = await deps.hasher.hash(input.password);
  tasks.run('registration', () =>
    completeRegistration(deps, { email: input.email, displayName: input.displayName, passwordHash }, meta),
  );
}

export async function completeRegistration(
  deps: IdentityDeps,
  input: { email: string; displayName: string | null; passwordHash: string },
  meta: RequestMeta,
): Promise<void> {
  await deps.db.transaction().execute(async (trx) => {
    const user = await trx
      .insertInto('users')
      .values({ email: input.email, display_name: input.displayName, password_hash: input.passwordHash })
      .onConflict((oc) => oc.column('email').doNothing())
      .returning('id')
      .executeTakeFirst();
    if (user) {
      const { codeRef, expiresAt } = await openPendingCode(
        deps,
        trx,
        user.id,
        'email-verification',
        deps.config.EMAIL_CODE_TTL_SECONDS,
      );
      await emit(
        trx,
        'userRegistered',
        {
          userId: user.id,
          email: input.email,
          displayName: input.displayName,
          verificationCodeRef: codeRef,
          verificationExpiresAt: expiresAt.toISOString(),
        },
        user.id,
        meta,
      );
      return;
    }
    await noticeSignUpOfKnownAddress(deps, trx, input.email, meta);
  });
}

/**
 * Someone signed up with an address that has an account: its owner is told (and given a recovery code,
 * by reference, in case it was them and they forgot the password). At most as often as a verification
 * resend, so nobody can flood an owner's mailbox through sign-up.
 */
async function noticeSignUpOfKnownAddress(
  deps: IdentityDeps,
  trx: Trx,
  email: string,
  meta: RequestMeta,
): Promise<void> {
  const owner = await trx
    .selectFrom('users')
    .select(['id', 'email'])
    .where('email', '=', email)
    .forUpdate()
    .executeTakeFirst();
  if (!owner) return;
  if (!(await mayOpenAnotherCode(deps, trx, owner.id, 'recovery'))) return;
  const { codeRef, expiresAt } = await openPendingCode(
    deps,
    trx,
    owner.id,
    'recovery',
    deps.config.RECOVERY_CODE_TTL_SECONDS,
  );
  await emit(
    trx,
    'signUpAttempted',
    { userId: owner.id, email: owner.email, codeRef, expiresAt: expiresAt.toISOString() },
    owner.id,
    meta,
  );
}

/**
 * Per-account limit on codes sent without the owner asking through a signed-in session (verification
 * resends, sign-up notices): one per CODE_RESEND_INTERVAL_SECONDS, CODE_RESEND_MAX_PER_HOUR an hour.
 * Call with the user's row locked, so parallel requests cannot both pass.
 */
export async function mayOpenAnotherCode(
  deps: IdentityDeps,
  trx: Trx,
  userId: string,
  purpose: CodePurpose,
): Promise<boolean> {
  const recent = await trx
    .selectFrom('one_time_codes')
    .select([sql<number>`count(*)::int`.as('lastHour'), sql<Date | null>`max(created_at)`.as('newest')])
    .where('user_id', '=', userId)
    .where('purpose', '=', purpose)
    .where('created_at', '>', sql<Date>`now() - interval '1 hour'`)
    .executeTakeFirstOrThrow();
  if (recent.lastHour >= deps.config.CODE_RESEND_MAX_PER_HOUR) return false;
  return (
    recent.newest === null ||
    Date.now() - new Date(recent.newest).getTime() >= deps.config.CODE_RESEND_INTERVAL_SECONDS * 1000
  );
}

export async function verifyEmail(
  deps: IdentityDeps,
  input: { email: string; code: string },
  meta: RequestMeta,
): Promise<void> {
  const ok = await deps.db.transaction().execute(async (trx) => {
    const user = await findUserByEmail(trx, input.email);
    if (!user) return false;
    if (!(await consumeCode(deps, trx, user.id, 'email-verification', input.code))) return false;
    await trx
      .updateTable('users')
      .set({ email_verified_at: sql<Date>`now()`, updated_at: sql<Date>`now()` })
      .where('id', '=', user.id)
      .execute();
    await emit(trx, 'emailVerified', { userId: user.id, email: user.email }, user.id, meta);
    return true;
  });
  if (!ok) throw identityProblems.invalidCode();
}

export type LoginAnswer = SessionTokens | { mfaRequired: true; mfaToken: string };

export async function login(
  deps: IdentityDeps,
  input: { email: string; password: string; deviceName: string | null },
  meta: RequestMeta,
): Promise<LoginAnswer> {
  const attempt = await admitSignInAttempt(deps, input.email, meta);
  const user = await deps.db
    .selectFrom('users')
    .select(['id', 'email', 'password_hash', 'roles', 'status', 'mfa_enabled'])
    .where('email', '=', input.email)
    .executeTakeFirst();
  // Unknown e-mail: the same argon2 work, the same answer.
  let valid: boolean;
  try {
    valid = user
      ? await deps.hasher.verify(user.password_hash, input.password)
      : await deps.hasher.verifyAgainstDummy(input.password);
  } catch (error) {
    // Not checked at all (too much hashing waiting, see passwords.ts): no attempt was made.
    await releaseSignInAttempt(deps, attempt);
    throw error;
  }
  if (!user || !valid) {
    await failSignIn(deps, attempt, user ?? null, meta);
    throw identityProblems.invalidCredentials();
  }
  // Only someone who knows the password learns that the account is locked.
  if (user.status === 'locked') throw identityProblems.accountLocked();
  if (deps.hasher.needsRehash(user.password_hash)) {
    const rehashed = await deps.hasher.hash(input.password);
    await deps.db
      .updateTable('users')
      .set({ password_hash: rehashed })
      .where('id', '=', user.id)
      .where('password_hash', '=', user.password_hash)
      .execute();
    deps.logger.info({ userId: user.id }, 'password hash upgraded to the current parameters');
  }
  if (user.mfa_enabled) {
    // The password was right: only the second factor's attempts count from here.
    await releaseSignInAttempt(deps, attempt);
    const mfaToken = opaqueToken('mfa');
    await deps.db
      .insertInto('mfa_challenges')
      .values({
        user_id: user.id,
        token_hash: sha256Hex(mfaToken),
        device_name: input.deviceName,
        expires_at: new Date(Date.now() + deps.config.MFA_CHALLENGE_TTL_SECONDS * 1000),
      })
      .execute();
    return { mfaRequired: true, mfaToken };
  }
  return openSession(deps, user, {
    amr: ['pwd'],
    secondFactor: false,
    deviceName: input.deviceName,
    meta,
    completing: (trx) => completeSignIn(trx, attempt),
  });
}

export async function loginWithSecondFactor(
  deps: IdentityDeps,
  input: { mfaToken: string; code: string },
  meta: RequestMeta,
): Promise<SessionTokens> {
  const challenge = await deps.db
    .selectFrom('mfa_challenges as c')
    .innerJoin('users as u', 'u.id', 'c.user_id')
    .select([
      'c.id as challengeId',
      'c.attempts',
      'c.device_name',
      'u.id',
      'u.email',
      'u.roles',
      'u.status',
      'u.totp_secret_sealed',
      'u.totp_last_step',
      'u.mfa_enabled',
    ])
    .where('c.token_hash', '=', sha256Hex(input.mfaToken))
    .where('c.consumed_at', 'is', null)
    .where('c.expires_at', '>', sql<Date>`now()`)
    .executeTakeFirst();
  if (!challenge || challenge.attempts >= deps.config.CODE_MAX_ATTEMPTS || !challenge.mfa_enabled) {
    throw identityProblems.invalidToken('MFA token');
  }
  if (challenge.status === 'locked') throw identityProblems.accountLocked();
  const attempt = await admitSignInAttempt(deps, challenge.email, meta);
  const factor = await consumeSecondFactor(deps, challenge, input.code);
  if (!factor) {
    await deps.db
      .updateTable('mfa_challenges')
      .set((eb) => ({ attempts: eb('attempts', '+', 1) }))
      .where('id', '=', challenge.challengeId)
      .execute();
    await failSignIn(deps, attempt, challenge, meta);
    throw identityProblems.invalidCode();
  }
  const spent = await deps.db
    .updateTable('mfa_challenges')
    .set({ consumed_at: sql<Date>`now()` })
    .where('id', '=', challenge.challengeId)
    .where('consumed_at', 'is', null)
    .executeTakeFirst();
  if (spent.numUpdatedRows !== 1n) throw identityProblems.invalidToken('MFA token');
  return openSession(deps, challenge, {
    amr: amrWith(['pwd'], factor),
    secondFactor: true,
    deviceName: challenge.device_name,
    meta,
    completing: (trx) => completeSignIn(trx, attempt),
  });
}

type RefreshOutcome =
  | {
      kind: 'ok';
      refreshToken: string;
      session: { id: string; user_id: string; amr: string[]; auth_time: Date; step_up_until: Date | null };
      roles: ('user' | 'support' | 'admin')[];
    }
  | { kind: 'reused' }
  | { kind: 'invalid' };

export async function refresh(deps: IdentityDeps, input: { refreshToken: string }, meta: RequestMeta) {
  const outcome = await deps.db.transaction().execute(async (trx): Promise<RefreshOutcome> => {
    const row = await trx
      .selectFrom('refresh_tokens as t')
      .innerJoin('sessions as s', 's.id', 't.session_id')
      .innerJoin('users as u', 'u.id', 's.user_id')
      .select([
        't.id as tokenId',
        't.used_at',
        't.used_by_device',
        't.grace_uses',
        't.expires_at as tokenExpiresAt',
        's.id',
        's.user_id',
        's.amr',
        's.auth_time',
        's.step_up_until',
        's.expires_at',
        's.revoked_at',
        'u.roles',
        'u.status',
      ])
      .where('t.token_hash', '=', sha256Hex(input.refreshToken))
      .forUpdate('t')
      .executeTakeFirst();
    if (!row) return { kind: 'invalid' };
    const now = Date.now();
    const live =
      row.revoked_at === null &&
      row.expires_at.getTime() > now &&
      row.tokenExpiresAt.getTime() > now &&
      row.status === 'active';
    const device = deviceKey(meta);
    if (row.used_at !== null && live && withinRefreshGrace(deps, row, device, now)) {
      // Two tabs (or a retry after a lost answer) refreshing with one token: the same client, seconds
      // apart. It gets a sibling token; the session and the first answer's token stay valid.
      await trx
        .updateTable('refresh_tokens')
        .set((eb) => ({ grace_uses: eb('grace_uses', '+', 1) }))
        .where('id', '=', row.tokenId)
        .execute();
      const refreshToken = await insertRefreshToken(deps, trx, row.id, row.expires_at);
      return { kind: 'ok', refreshToken, session: row, roles: row.roles };
    }
    if (row.used_at !== null) {
      // A spent token again: it was stolen or the client is broken. Either way the family is burnt.
      const revoked = await revokeSessions(trx, row.user_id, { ids: [row.id] }, 'refresh-token-reuse', meta);
      if (revoked.length > 0)
        deps.logger.warn({ userId: row.user_id, sessionId: row.id }, 'refresh token reuse: session revoked');
      return { kind: 'reused' };
    }
    if (!live) return { kind: 'invalid' };
    await trx
      .updateTable('refresh_tokens')
      .set({ used_at: sql<Date>`now()`, used_by_device: device })
      .where('id', '=', row.tokenId)
      .execute();
    await trx
      .updateTable('sessions')
      .set({ last_seen_at: sql<Date>`now()`, ip: meta.ip })
      .where('id', '=', row.id)
      .execute();
    const refreshToken = await insertRefreshToken(deps, trx, row.id, row.expires_at);
    return { kind: 'ok', refreshToken, session: row, roles: row.roles };
  });
  if (outcome.kind === 'reused') throw identityProblems.tokenReused();
  if (outcome.kind === 'invalid') throw identityProblems.invalidToken('refresh token');
  const { session } = outcome;
  const stepUpActive = session.step_up_until !== null && session.step_up_until.getTime() > Date.now();
  const access = await deps.keys.issueAccessToken({
    userId: session.user_id,
    sessionId: session.id,
    roles: outcome.roles,
    acr: stepUpActive ? 'aal2' : 'aal1',
    amr: session.amr,
    authTime: session.auth_time,
    notAfter: stepUpActive ? session.step_up_until : null,
  });
  return {
    accessToken: access.accessToken,
    refreshToken: outcome.refreshToken,
    expiresIn: access.expiresIn,
    sessionId: session.id,
  };
}

/** Reuses of one spent token the grace window allows (three tabs at once). */
export const REFRESH_GRACE_MAX_REUSES = 2;

/**
 * A reuse is forgiven only when it is seconds after the first use, by the same client (device id, or
 * user agent when none), and not too often; anything else is treated as theft.
 */
function withinRefreshGrace(
  deps: IdentityDeps,
  token: { used_at: Date | null; used_by_device: string | null; grace_uses: number },
  device: string,
  now: number,
): boolean {
  const graceMs = deps.config.REFRESH_REUSE_GRACE_SECONDS * 1000;
  return (
    graceMs > 0 &&
    token.used_at !== null &&
    now - token.used_at.getTime() <= graceMs &&
    token.used_by_device === device &&
    token.grace_uses < REFRESH_GRACE_MAX_REUSES
  );
}

export async function logout(
  deps: IdentityDeps,
  session: { userId: string; sessionId: string },
  meta: RequestMeta,
): Promise<void> {
  await deps.db
    .transaction()
    .execute((trx) => revokeSessions(trx, session.userId, { ids: [session.sessionId] }, 'logout', meta));
}

export async function stepUp(
  deps: IdentityDeps,
  session: { userId: string; sessionId: string },
  input: { code: string },
  meta: RequestMeta,
): Promise<{ accessToken: string; expiresIn: number }> {
  const user = await deps.db
    .selectFrom('users')
    .select(['id', 'email', 'roles', 'mfa_enabled', 'totp_secret_sealed', 'totp_last_step'])
    .where('id', '=', session.userId)
    .executeTakeFirstOrThrow();
  if (!user.mfa_enabled) throw identityProblems.mfaNotEnabled();
  const attempt = await admitSignInAttempt(deps, user.email, meta);
  const factor = await consumeSecondFactor(deps, user, input.code);
  if (!factor) {
    return refuseSignIn(deps, attempt, user, meta, identityProblems.invalidCode());
  }
  const updated = await deps.db.transaction().execute(async (trx) => {
    const currentAmr = await settledSignIn(trx, attempt, session.sessionId);
    return trx
      .updateTable('sessions')
      .set({
        step_up_until: sql<Date>`now() + ${deps.config.STEP_UP_WINDOW_SECONDS} * interval '1 second'`,
        amr: amrWith(currentAmr, factor),
        last_seen_at: sql<Date>`now()`,
      })
      .where('id', '=', session.sessionId)
      .where('revoked_at', 'is', null)
      .returning(['amr', 'auth_time', 'step_up_until'])
      .executeTakeFirst();
  });
  if (!updated) throw problems.unauthenticated('This session is no longer active.');
  return steppedUpAccessToken(deps, session, user.roles, updated);
}

/**
 * Accepts a recovery request and does its work after the answer (known and unknown addresses then
 * answer in the same time: the lookup, the code and the event all happen in the background).
 */
export function acceptRecoveryRequest(
  deps: IdentityDeps,
  tasks: BackgroundTasks,
  input: { email: string },
  meta: RequestMeta,
): void {
  tasks.run('recovery-request', () => requestRecovery(deps, input, meta));
}

export async function requestRecovery(
  deps: IdentityDeps,
  input: { email: string },
  meta: RequestMeta,
): Promise<void> {
  await deps.db.transaction().execute(async (trx) => {
    const user = await findUserByEmail(trx, input.email);
    if (!user) return;
    const { codeRef, expiresAt } = await openPendingCode(
      deps,
      trx,
      user.id,
      'recovery',
      deps.config.RECOVERY_CODE_TTL_SECONDS,
    );
    await emit(
      trx,
      'recoveryRequested',
      { userId: user.id, email: user.email, codeRef, expiresAt: expiresAt.toISOString() },
      user.id,
      meta,
    );
  });
}

export async function completeRecovery(
  deps: IdentityDeps,
  input: { email: string; code: string; newPassword: string },
  meta: RequestMeta,
): Promise<void> {
  await assertPasswordAcceptable(deps, input.newPassword, [input.email], 'newPassword');
  // A wrong recovery code is a failed sign-in attempt like a wrong password.
  const attempt = await admitSignInAttempt(deps, input.email, meta);
  const user = await deps.db
    .selectFrom('users')
    .select(['id', 'email', 'display_name'])
    .where('email', '=', input.email)
    .executeTakeFirst();
  // Hashing before we know whether the code is right keeps the timing of both answers alike.
  const passwordHash = await deps.hasher.hash(input.newPassword);
  if (!user) {
    await failSignIn(deps, attempt, null, meta);
    throw identityProblems.invalidCode();
  }
  const ok = await deps.db.transaction().execute(async (trx) => {
    if (!(await consumeCode(deps, trx, user.id, 'recovery', input.code))) return false;
    await trx
      .updateTable('users')
      .set({
        password_hash: passwordHash,
        // Receiving the code proves control of the mailbox.
        email_verified_at: sql<Date>`coalesce(email_verified_at, now())`,
        updated_at: sql<Date>`now()`,
      })
      .where('id', '=', user.id)
      .execute();
    await revokeSessions(trx, user.id, { allExcept: null }, 'password-recovery', meta);
    await trx.deleteFrom('mfa_challenges').where('user_id', '=', user.id).execute();
    await completeSignIn(trx, attempt);
    await emit(
      trx,
      'passwordChanged',
      { userId: user.id, email: user.email, via: 'recovery' },
      user.id,
      meta,
    );
    return true;
  });
  if (!ok) {
    return refuseSignIn(deps, attempt, user, meta, identityProblems.invalidCode());
  }
}
