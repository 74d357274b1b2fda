// Longer than 400 lines: the four WebAuthn ceremonies (registration, passwordless, second factor, step-up) share one challenge store and one verification path; split by ceremony when one grows.
/**
 * Passkeys (WebAuthn, with @simplewebauthn/server): registration by a signed-in user, passwordless
 * sign-in, the second step of a password sign-in, and step-up.
 *
 * Each ceremony is two calls: `options` stores a one-time challenge (webauthn_challenges) bound to what
 * asked for it (the session, the password step's challenge, or nobody for a passwordless sign-in) and
 * answers its id with the browser's options; `finish` claims the challenge atomically before verifying,
 * so a challenge is answered at most once, right or wrong. Origins and the RP id come from the relying
 * party settings (security/relying-party.ts), never from the request.
 *
 * Assurance: a passkey with user verification (the passwordless sign-in demands it) is something you
 * have plus something you are or know, so that sign-in opens the session at aal2 for the step-up window,
 * as a password followed by a second factor does. amr values (RFC 8176): `pop` (proof of possession of a
 * key), `user` (user verification was performed), `mfa`.
 */
import { HttpProblem, problems } from '@wallet/service-kit';
import { ProblemType } from '@wallet/contracts';
import { sql } from 'kysely';
import {
  generateAuthenticationOptions,
  generateRegistrationOptions,
  verifyAuthenticationResponse,
  verifyRegistrationResponse,
  type AuthenticationResponseJSON,
  type PublicKeyCredentialCreationOptionsJSON,
  type PublicKeyCredentialRequestOptionsJSON,
  type RegistrationResponseJSON,
} from '@simplewebauthn/server';
import type { WebauthnPurpose } from '../db/passkey-schema.ts';
import { knownTransports } from '../domain/passkey-transports.ts';
import type { RelyingParty } from '../security/relying-party.ts';
import {
  identityProblems,
  openSession,
  sha256Hex,
  steppedUpAccessToken,
  type IdentityDeps,
  type RequestMeta,
  type SessionTokens,
} from './context.ts';
import { rememberSignInSource } from './sign-in-throttle.ts';

export type PasskeyDeps = IdentityDeps & { relyingParty: RelyingParty };

/** More than anyone needs (phones, laptops, keys), few enough to bound the work of a sign-in. */
export const MAX_PASSKEYS_PER_USER = 20;

export const passkeyRejected = (detail: string) =>
  new HttpProblem({ status: 401, type: ProblemType.passkeyRejected, title: 'Passkey rejected', detail });

export interface PasskeyView {
  passkeyId: string;
  name: string;
  deviceType: 'singleDevice' | 'multiDevice';
  backedUp: boolean;
  createdAt: string;
  lastUsedAt: string | null;
}

/** A signed-in user's session as the routes know it. */
export interface PasskeySession {
  userId: string;
  sessionId: string;
  stepUpUntil: Date | null;
  /** The caller's token's assurance (the session's window is checked too: both must say aal2). */
  acr: 'aal1' | 'aal2';
}

/** The WebAuthn user handle: the account's UUID as 16 bytes (stable across its passkeys, no personal data). */
function userHandleOf(userId: string): Uint8Array<ArrayBuffer> {
  return new Uint8Array(Buffer.from(userId.replace(/-/g, ''), 'hex'));
}

function userHandleMatches(handle: string | undefined, userId: string): boolean {
  if (handle === undefined) return true;
  return Buffer.from(handle, 'base64url').equals(Buffer.from(userHandleOf(userId)));
}

/** Options for an assertion by one of `keys` (the user's own passkeys), and the challenge stored for it. */
async function challengeForPasskeys(
  deps: PasskeyDeps,
  keys: { credential_id: string; transports: string[] }[],
  binding: { purpose: WebauthnPurpose; userId: string; sessionId?: string; mfaChallengeId?: string },
) {
  const options = await generateAuthenticationOptions({
    rpID: deps.relyingParty.id,
    userVerification: 'preferred',
    timeout: deps.relyingParty.challengeTtlSeconds * 1000,
    allowCredentials: keys.map((k) => ({ id: k.credential_id, transports: knownTransports(k.transports) })),
  });
  const challengeId = await storeChallenge(deps, { ...binding, challenge: options.challenge });
  return { challengeId, options };
}

/** As for removing the authenticator app: the token says aal2 AND the session's own window is still open. */
function stepUpOpen(session: PasskeySession): boolean {
  return session.acr === 'aal2' && session.stepUpUntil !== null && session.stepUpUntil.getTime() > Date.now();
}

async function storeChallenge(
  deps: PasskeyDeps,
  row: {
    purpose: WebauthnPurpose;
    challenge: string;
    userId?: string;
    sessionId?: string;
    mfaChallengeId?: string;
  },
): Promise<string> {
  const stored = await deps.db
    .insertInto('webauthn_challenges')
    .values({
      purpose: row.purpose,
      challenge: row.challenge,
      user_id: row.userId ?? null,
      session_id: row.sessionId ?? null,
      mfa_challenge_id: row.mfaChallengeId ?? null,
      expires_at: new Date(Date.now() + deps.relyingParty.challengeTtlSeconds * 1000),
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return stored.id;
}

/** Spends the challenge (whatever the verification will say) if it is live and of one of the purposes. */
async function claimChallenge(deps: PasskeyDeps, challengeId: string, purposes: WebauthnPurpose[]) {
  const row = await deps.db
    .updateTable('webauthn_challenges')
    .set({ consumed_at: sql<Date>`now()` })
    .where('id', '=', challengeId)
    .where('purpose', 'in', purposes)
    .where('consumed_at', 'is', null)
    .where('expires_at', '>', sql<Date>`now()`)
    .returning(['purpose', 'challenge', 'user_id', 'session_id', 'mfa_challenge_id'])
    .executeTakeFirst();
  if (!row)
    throw passkeyRejected('The challenge is unknown, expired or already answered; ask for a new one.');
  return row;
}

async function passkeysOf(deps: PasskeyDeps, userId: string) {
  return deps.db
    .selectFrom('passkeys')
    .select(['id', 'credential_id', 'transports'])
    .where('user_id', '=', userId)
    .orderBy('created_at')
    .execute();
}

function viewOf(row: {
  id: string;
  name: string;
  device_type: 'singleDevice' | 'multiDevice';
  backed_up: boolean;
  created_at: Date;
  last_used_at: Date | null;
}): PasskeyView {
  return {
    passkeyId: row.id,
    name: row.name,
    deviceType: row.device_type,
    backedUp: row.backed_up,
    createdAt: row.created_at.toISOString(),
    lastUsedAt: row.last_used_at?.toISOString() ?? null,
  };
}

/**
 * Adding a credential to an account that already has a second factor (an authenticator app or a
 * passkey) is a credential change: the session's step-up window must be open. An account without one
 * may add its first passkey from a fresh session, as it may enrol its first authenticator app.
 */
async function requireStepUpIfProtected(deps: PasskeyDeps, session: PasskeySession) {
  const user = await deps.db
    .selectFrom('users')
    .select([
      'email',
      'display_name',
      'mfa_enabled',
      sql<number>`(select count(*)::int from passkeys p where p.user_id = users.id)`.as('passkeys'),
    ])
    .where('id', '=', session.userId)
    .executeTakeFirstOrThrow();
  if ((user.mfa_enabled || user.passkeys > 0) && !stepUpOpen(session))
    throw problems.stepUpRequired(
      'Adding a passkey to an account with a second factor needs a recent step-up.',
    );
  return user;
}

export async function startPasskeyRegistration(
  deps: PasskeyDeps,
  session: PasskeySession,
): Promise<{ challengeId: string; options: PublicKeyCredentialCreationOptionsJSON }> {
  const user = await requireStepUpIfProtected(deps, session);
  if (user.passkeys >= MAX_PASSKEYS_PER_USER)
    throw problems.conflict(`An account holds at most ${MAX_PASSKEYS_PER_USER} passkeys; remove one first.`);
  const existing = await passkeysOf(deps, session.userId);
  const options = await generateRegistrationOptions({
    rpName: deps.relyingParty.name,
    rpID: deps.relyingParty.id,
    userName: user.email,
    userID: userHandleOf(session.userId),
    userDisplayName: user.display_name ?? user.email,
    timeout: deps.relyingParty.challengeTtlSeconds * 1000,
    attestationType: 'none',
    // The authenticator refuses to make a second credential for this account on itself.
    excludeCredentials: existing.map((p) => ({
      id: p.credential_id,
      transports: knownTransports(p.transports),
    })),
    // Discoverable (usable without typing an address) and user-verified (usable without a password).
    authenticatorSelection: { residentKey: 'required', userVerification: 'required' },
  });
  const challengeId = await storeChallenge(deps, {
    purpose: 'registration',
    challenge: options.challenge,
    userId: session.userId,
    sessionId: session.sessionId,
  });
  return { challengeId, options };
}

export async function finishPasskeyRegistration(
  deps: PasskeyDeps,
  session: PasskeySession,
  input: { challengeId: string; credential: RegistrationResponseJSON; name: string | null },
): Promise<PasskeyView> {
  const challenge = await claimChallenge(deps, input.challengeId, ['registration']);
  if (challenge.user_id !== session.userId || challenge.session_id !== session.sessionId)
    throw passkeyRejected('This challenge was issued to another session.');
  // The window may have closed since the options were asked for.
  await requireStepUpIfProtected(deps, session);
  let verified;
  try {
    verified = await verifyRegistrationResponse({
      response: input.credential,
      expectedChallenge: challenge.challenge,
      expectedOrigin: deps.relyingParty.origins,
      expectedRPID: deps.relyingParty.id,
      requireUserVerification: true,
    });
  } catch (error) {
    deps.logger.info(
      { err: error instanceof Error ? error.message : String(error) },
      'passkey registration refused',
    );
    throw passkeyRejected('The new passkey could not be verified.');
  }
  if (!verified.verified) throw passkeyRejected('The new passkey could not be verified.');
  const info = verified.registrationInfo;
  // WebAuthn's bounds on a credential id (16 to 1023 bytes): a crafted attestation gets a 401, not a 500.
  const idBytes = Buffer.from(info.credential.id, 'base64url').length;
  if (idBytes < 16 || idBytes > 1023) throw passkeyRejected('The new passkey has an invalid credential id.');
  const row = await deps.db
    .insertInto('passkeys')
    .values({
      user_id: session.userId,
      credential_id: info.credential.id,
      public_key: info.credential.publicKey,
      sign_count: info.credential.counter,
      transports: knownTransports(input.credential.response.transports ?? []),
      device_type: info.credentialDeviceType,
      backed_up: info.credentialBackedUp,
      aaguid: info.aaguid,
      name: input.name ?? 'Passkey',
    })
    .onConflict((oc) => oc.column('credential_id').doNothing())
    .returning(['id', 'name', 'device_type', 'backed_up', 'created_at', 'last_used_at'])
    .executeTakeFirst();
  if (!row) throw problems.conflict('This passkey is already registered.');
  deps.logger.info({ userId: session.userId, passkeyId: row.id }, 'passkey registered');
  return viewOf(row);
}

export async function listPasskeys(deps: PasskeyDeps, userId: string): Promise<{ items: PasskeyView[] }> {
  const rows = await deps.db
    .selectFrom('passkeys')
    .select(['id', 'name', 'device_type', 'backed_up', 'created_at', 'last_used_at'])
    .where('user_id', '=', userId)
    .orderBy('created_at')
    .execute();
  return { items: rows.map(viewOf) };
}

export async function deletePasskey(deps: PasskeyDeps, session: PasskeySession, passkeyId: string) {
  if (!stepUpOpen(session)) throw problems.stepUpRequired();
  const deleted = await deps.db
    .deleteFrom('passkeys')
    .where('id', '=', passkeyId)
    .where('user_id', '=', session.userId)
    .executeTakeFirst();
  if (deleted.numDeletedRows !== 1n) throw problems.notFound('No such passkey.');
}

// ---------------------------------------------------------------------------------------------------
// Sign-in: passwordless, or the second step after a password.

interface MfaChallengeRow {
  id: string;
  user_id: string;
  device_name: string | null;
  attempts: number;
}

async function liveMfaChallenge(deps: PasskeyDeps, mfaToken: string): Promise<MfaChallengeRow> {
  const row = await deps.db
    .selectFrom('mfa_challenges')
    .select(['id', 'user_id', 'device_name', 'attempts'])
    .where('token_hash', '=', sha256Hex(mfaToken))
    .where('consumed_at', 'is', null)
    .where('expires_at', '>', sql<Date>`now()`)
    .executeTakeFirst();
  if (!row || row.attempts >= deps.config.CODE_MAX_ATTEMPTS) throw identityProblems.invalidToken('MFA token');
  return row;
}

/**
 * Options for a passkey sign-in. Without `mfaToken`: passwordless, any discoverable passkey of this
 * relying party may answer (the browser offers the user's). With the `mfaToken` of a password step:
 * one of that account's passkeys must answer.
 */
export async function startPasskeySignIn(
  deps: PasskeyDeps,
  input: { mfaToken?: string | undefined },
): Promise<{ challengeId: string; options: PublicKeyCredentialRequestOptionsJSON }> {
  const timeout = deps.relyingParty.challengeTtlSeconds * 1000;
  if (input.mfaToken === undefined) {
    const options = await generateAuthenticationOptions({
      rpID: deps.relyingParty.id,
      userVerification: 'required',
      timeout,
    });
    return {
      challengeId: await storeChallenge(deps, { purpose: 'passwordless', challenge: options.challenge }),
      options,
    };
  }
  const mfa = await liveMfaChallenge(deps, input.mfaToken);
  const keys = await passkeysOf(deps, mfa.user_id);
  if (keys.length === 0)
    throw problems.conflict('This account has no passkey; finish with a code (POST /v1/auth/login/mfa).');
  return challengeForPasskeys(deps, keys, {
    purpose: 'second-factor',
    userId: mfa.user_id,
    mfaChallengeId: mfa.id,
  });
}

/** Verifies an assertion by one of the passkeys (of `userId`, if given) and advances its counter. */
async function verifyAssertion(
  deps: PasskeyDeps,
  input: {
    credential: AuthenticationResponseJSON;
    challenge: string;
    userId: string | null;
    requireUserVerification: boolean;
  },
) {
  const key = await deps.db
    .selectFrom('passkeys')
    .select(['id', 'user_id', 'credential_id', 'public_key', 'sign_count', 'transports'])
    .where('credential_id', '=', input.credential.id)
    .executeTakeFirst();
  if (!key || (input.userId !== null && key.user_id !== input.userId))
    throw passkeyRejected('This passkey is not registered here.');
  if (!userHandleMatches(input.credential.response.userHandle, key.user_id))
    throw passkeyRejected('The passkey does not belong to the account it names.');
  let verified;
  try {
    verified = await verifyAuthenticationResponse({
      response: input.credential,
      expectedChallenge: input.challenge,
      expectedOrigin: deps.relyingParty.origins,
      expectedRPID: deps.relyingParty.id,
      credential: {
        id: key.credential_id,
        publicKey: new Uint8Array(key.public_key),
        counter: Number(key.sign_count),
        transports: knownTransports(key.transports),
      },
      requireUserVerification: input.requireUserVerification,
    });
  } catch (error) {
    deps.logger.info(
      { err: error instanceof Error ? error.message : String(error), passkeyId: key.id },
      'passkey assertion refused',
    );
    throw passkeyRejected('The passkey could not be verified.');
  }
  if (!verified.verified) throw passkeyRejected('The passkey could not be verified.');
  const newCount = verified.authenticationInfo.newCounter;
  // The counter only moves forward: of two assertions racing with the same count, one is refused.
  const advanced = await deps.db
    .updateTable('passkeys')
    .set({ sign_count: newCount, last_used_at: sql<Date>`now()` })
    .where('id', '=', key.id)
    .where((eb) => (newCount === 0 ? eb('sign_count', '=', 0n) : eb('sign_count', '<', BigInt(newCount))))
    .executeTakeFirst();
  if (advanced.numUpdatedRows !== 1n) throw passkeyRejected('The passkey signature counter went backwards.');
  return { userId: key.user_id, userVerified: verified.authenticationInfo.userVerified };
}

export async function finishPasskeySignIn(
  deps: PasskeyDeps,
  input: {
    challengeId: string;
    credential: AuthenticationResponseJSON;
    mfaToken?: string | undefined;
    deviceName: string | null;
  },
  meta: RequestMeta,
): Promise<SessionTokens> {
  const challenge = await claimChallenge(deps, input.challengeId, ['passwordless', 'second-factor']);
  let mfa: MfaChallengeRow | undefined;
  if (challenge.purpose === 'second-factor') {
    if (input.mfaToken === undefined)
      throw passkeyRejected('This challenge finishes a password sign-in: send its mfaToken.');
    mfa = await liveMfaChallenge(deps, input.mfaToken);
    if (mfa.id !== challenge.mfa_challenge_id)
      throw passkeyRejected('This challenge belongs to another sign-in.');
  }
  let proof;
  try {
    proof = await verifyAssertion(deps, {
      credential: input.credential,
      challenge: challenge.challenge,
      userId: challenge.user_id,
      requireUserVerification: challenge.purpose === 'passwordless',
    });
  } catch (error) {
    if (mfa) {
      // Each wrong answer uses up one of the password step's attempts, as a wrong code does.
      await deps.db
        .updateTable('mfa_challenges')
        .set((eb) => ({ attempts: eb('attempts', '+', 1) }))
        .where('id', '=', mfa.id)
        .execute();
    }
    throw error;
  }
  const user = await deps.db
    .selectFrom('users')
    .select(['id', 'email', 'roles', 'status'])
    .where('id', '=', proof.userId)
    .executeTakeFirstOrThrow();
  if (user.status === 'locked') throw identityProblems.accountLocked();
  if (mfa) {
    const spent = await deps.db
      .updateTable('mfa_challenges')
      .set({ consumed_at: sql<Date>`now()` })
      .where('id', '=', mfa.id)
      .where('consumed_at', 'is', null)
      .executeTakeFirst();
    if (spent.numUpdatedRows !== 1n) throw identityProblems.invalidToken('MFA token');
  }
  return openSession(deps, user, {
    amr: mfa ? ['pwd', 'pop', 'mfa'] : ['pop', 'user', 'mfa'],
    secondFactor: true,
    deviceName: mfa ? mfa.device_name : input.deviceName,
    meta,
    completing: (trx) => rememberSignInSource(deps, trx, user.email, meta),
  });
}

// ---------------------------------------------------------------------------------------------------
// Step-up with a passkey.

export async function startPasskeyStepUp(
  deps: PasskeyDeps,
  session: PasskeySession,
): Promise<{ challengeId: string; options: PublicKeyCredentialRequestOptionsJSON }> {
  const keys = await passkeysOf(deps, session.userId);
  // 409, not 403: nothing is refused to this session; the account lacks what the ceremony needs.
  if (keys.length === 0)
    throw problems.conflict(
      'This account has no passkey; register one first (POST /v1/me/passkeys/registration/options).',
    );
  return challengeForPasskeys(deps, keys, {
    purpose: 'step-up',
    userId: session.userId,
    sessionId: session.sessionId,
  });
}

export async function finishPasskeyStepUp(
  deps: PasskeyDeps,
  session: PasskeySession,
  input: { challengeId: string; credential: AuthenticationResponseJSON },
): Promise<{ accessToken: string; expiresIn: number }> {
  const challenge = await claimChallenge(deps, input.challengeId, ['step-up']);
  if (challenge.user_id !== session.userId || challenge.session_id !== session.sessionId)
    throw passkeyRejected('This challenge was issued to another session.');
  await verifyAssertion(deps, {
    credential: input.credential,
    challenge: challenge.challenge,
    userId: session.userId,
    requireUserVerification: false,
  });
  const updated = await deps.db
    .updateTable('sessions')
    .set({
      step_up_until: sql<Date>`now() + ${deps.config.STEP_UP_WINDOW_SECONDS} * interval '1 second'`,
      amr: sql<string[]>`(select array(select distinct unnest(amr || array['pop', 'mfa']::text[])))`,
      last_seen_at: sql<Date>`now()`,
    })
    .where('id', '=', session.sessionId)
    .where('user_id', '=', session.userId)
    .where('revoked_at', 'is', null)
    .returning(['amr', 'auth_time', 'step_up_until'])
    .executeTakeFirst();
  if (!updated) throw problems.unauthenticated('This session is no longer active.');
  const user = await deps.db
    .selectFrom('users')
    .select('roles')
    .where('id', '=', session.userId)
    .executeTakeFirstOrThrow();
  return steppedUpAccessToken(deps, session, user.roles, updated);
}
