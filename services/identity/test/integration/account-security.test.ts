// Longer than 400 lines: one suite per ASVS chapter group, over one service start; each test is named in the README's ASVS table.
/**
 * OWASP ASVS 5.0 L2, chapters 6 and 7 (issue 17): non-enumerating sign-up, breached passwords, resend of
 * the verification code, password change, re-authentication before factor changes, "sign out the other
 * sessions", recovery-code regeneration and the refresh-token grace window. Each test is named in the
 * README's ASVS table.
 */
import { performance } from 'node:perf_hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeJwt } from 'jose';
import { sql } from 'kysely';
import { infraEnv, isShed, untilNotShed } from '@wallet/testing';
import { ProblemType } from '@wallet/contracts';
import {
  OTHER_STRONG_PASSWORD,
  REGISTERED_V2,
  SIGN_UP_ATTEMPTED,
  STRONG_PASSWORD,
  VERIFICATION_REQUESTED,
  anonymous,
  asHolder,
  asNotification,
  countEvents,
  enrolTotp,
  eventuallyLatestEvent,
  eventuallyUserId,
  forgetTotpStep,
  issueCode,
  latestEvent,
  login,
  loginTokens,
  registerUser,
  registerVerified,
  startIdentity,
  totpCode,
  uniqueEmail,
  type IdentityTestService,
  type Tokens,
} from './helpers.ts';

const adminUrl = infraEnv('TEST_PG_ADMIN_URL');

/** Long enough and strong enough for the rules alone, yet in the bundled breach corpus. */
const BREACHED_BUT_STRONG = 'xxPa33bq.aDNA';
const THIRD_STRONG_PASSWORD = 'amber-glacier-trombone-71-quokka';

describe.skipIf(!adminUrl)('identity: ASVS 5.0 L2 account security', () => {
  let svc: IdentityTestService;
  beforeAll(async () => {
    svc = await startIdentity(adminUrl!);
  });
  afterAll(async () => {
    await svc?.stop();
  });

  /** Makes the session's last full authentication `minutes` old. */
  async function ageAuthentication(sessionId: string, minutes: number) {
    await svc.ownerDb
      .updateTable('sessions')
      .set({ reauthenticated_at: new Date(Date.now() - minutes * 60_000) })
      .where('id', '=', sessionId)
      .execute();
  }

  /** Makes the user's codes (those of the last `onlyNewerThanSeconds`, or all) `seconds` old. */
  async function ageCodes(userId: string, seconds: number, options: { onlyNewerThanSeconds?: number } = {}) {
    const newer = options.onlyNewerThanSeconds ?? 365 * 24 * 3600;
    await sql`update one_time_codes set created_at = now() - ${seconds} * interval '1 second'
      where user_id = ${userId} and created_at > now() - ${newer} * interval '1 second'`.execute(svc.ownerDb);
  }

  async function sessionActive(sessionId: string): Promise<boolean> {
    const res = await svc
      .as({ sub: 'anonymous' })
      .get<{ active: boolean }>(`/internal/sessions/${sessionId}`);
    return res.body.active;
  }

  describe('sign-up does not tell whether an address has an account (ASVS 6.3.8)', () => {
    it('answers a known address exactly like a new one and e-mails its owner instead', async () => {
      const owner = await registerVerified(svc);
      const fresh = uniqueEmail('fresh');
      const signUp = (email: string) =>
        untilNotShed(() => anonymous(svc).post('/auth/register', { email, password: THIRD_STRONG_PASSWORD }));
      const forNew = await signUp(fresh);
      const forKnown = await signUp(owner.email);
      expect(forKnown.status).toBe(202);
      expect(forNew.status).toBe(202);
      expect(forKnown.text).toBe(forNew.text);
      const headersOf = (r: typeof forNew) =>
        [...r.headers.entries()].filter(([k]) => !['date', 'x-request-id', 'traceparent'].includes(k));
      expect(headersOf(forKnown)).toEqual(headersOf(forNew));

      // The new address gets an account and a verification code; the owner gets a notice with a recovery
      // code by reference (nothing secret in the event), and that code resets the password.
      const freshId = await eventuallyUserId(svc, fresh);
      expect(await latestEvent(svc, REGISTERED_V2, freshId)).toBeDefined();
      const notice = await eventuallyLatestEvent<Record<string, unknown>>(
        svc,
        SIGN_UP_ATTEMPTED,
        owner.userId,
      );
      expect(Object.keys(notice).sort()).toEqual(['codeRef', 'email', 'expiresAt', 'userId']);
      expect(await countEvents(svc, REGISTERED_V2, owner.userId)).toBe(1);
      const issued = await issueCode(svc, notice['codeRef'] as string, owner.email);
      expect(issued.purpose).toBe('recovery');
      const reset = await anonymous(svc).post('/auth/recovery/complete', {
        email: owner.email,
        code: issued.code,
        newPassword: OTHER_STRONG_PASSWORD,
      });
      expect(reset.status).toBe(204);
      expect((await login(svc, owner.email, OTHER_STRONG_PASSWORD)).status).toBe(200);
      // The sign-up's password never became the owner's.
      expect((await login(svc, owner.email, THIRD_STRONG_PASSWORD)).status).toBe(401);
    });

    it('answers known and new addresses in the same time (medians of 100 each within 1 ms)', async () => {
      const known: string[] = [];
      for (let i = 0; i < 5; i += 1) known.push((await registerVerified(svc)).email);
      const client = anonymous(svc);
      // A shed answer (503 overloaded: the machine is busy) is no sample: wait as told and send again.
      const timed = async (email: string): Promise<number> => {
        for (;;) {
          const started = performance.now();
          const res = await client.post('/auth/register', { email, password: THIRD_STRONG_PASSWORD });
          const ms = performance.now() - started;
          if (isShed(res)) {
            await new Promise((r) => setTimeout(r, Number(res.headers.get('retry-after')) * 1000));
            continue;
          }
          expect(res.status).toBe(202);
          return ms;
        }
      };
      const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)]!;
      for (let i = 0; i < 20; i += 1) await timed(uniqueEmail('warmup'));
      // Up to five rounds (a loaded shared machine can push one round's medians apart by chance; a real
      // difference, such as the database work done before the answer, shows in every round).
      const rounds: { k: number; u: number }[] = [];
      for (let round = 0; round < 5; round += 1) {
        const times = { known: [] as number[], unknown: [] as number[] };
        for (let i = 0; i < 100; i += 1) {
          for (const isKnown of Math.random() < 0.5 ? [true, false] : [false, true]) {
            const ms = await timed(isKnown ? known[i % known.length]! : uniqueEmail('newcomer'));
            (isKnown ? times.known : times.unknown).push(ms);
          }
        }
        rounds.push({ k: median(times.known), u: median(times.unknown) });
        if (Math.abs(rounds.at(-1)!.k - rounds.at(-1)!.u) <= 1) break;
      }
      const report = rounds.map((r) => `known ${r.k.toFixed(3)} ms, new ${r.u.toFixed(3)} ms`).join('; ');
      expect(Math.abs(rounds.at(-1)!.k - rounds.at(-1)!.u), report).toBeLessThanOrEqual(1);
    }, 240_000);

    it('tells an owner of a flood of sign-ups at most once a minute', async () => {
      const owner = await registerVerified(svc);
      for (let i = 0; i < 4; i += 1) {
        const again = await untilNotShed(() =>
          anonymous(svc).post('/auth/register', { email: owner.email, password: THIRD_STRONG_PASSWORD }),
        );
        expect(again.status).toBe(202);
      }
      await eventuallyLatestEvent(svc, SIGN_UP_ATTEMPTED, owner.userId);
      // Tasks start in order: once a later sign-up's account exists, the notices have run (a short margin
      // for the last of them to commit; no event can show that nothing more will come).
      await registerUser(svc);
      await new Promise((r) => setTimeout(r, 300));
      expect(await countEvents(svc, SIGN_UP_ATTEMPTED, owner.userId)).toBe(1);
    });
  });

  describe('breached passwords (ASVS 6.2.12)', () => {
    it('refuses a password from the bundled breach list at sign-up, password change and recovery', async () => {
      const email = uniqueEmail('breached');
      const signUp = await anonymous(svc).post<{
        type: string;
        errors: { field: string; message: string }[];
      }>('/auth/register', { email, password: BREACHED_BUT_STRONG });
      expect(signUp.status).toBe(400);
      expect(signUp.body.type).toBe(ProblemType.validation);
      expect(signUp.body.errors.map((e) => e.field)).toEqual(['body.password']);
      expect(signUp.body.errors[0]?.message).toMatch(/known data breach/);
      expect(signUp.text).not.toContain(BREACHED_BUT_STRONG);

      const user = await registerVerified(svc);
      const tokens = await loginTokens(svc, user.email, STRONG_PASSWORD);
      const change = await asHolder(svc, tokens.accessToken).post<{ errors: { field: string }[] }>(
        '/me/password',
        { currentPassword: STRONG_PASSWORD, newPassword: BREACHED_BUT_STRONG },
      );
      expect(change.status).toBe(400);
      expect(change.body.errors[0]?.field).toBe('body.newPassword');
      const recovery = await anonymous(svc).post('/auth/recovery/complete', {
        email: user.email,
        code: '12345678',
        newPassword: BREACHED_BUT_STRONG,
      });
      expect(recovery.status).toBe(400);
    });
  });

  describe('resend of the verification code (rate-limited)', () => {
    it('sends a new code that replaces the old one, at most once a minute, and tells nothing', async () => {
      const user = await registerUser(svc);
      const first = await eventuallyLatestEvent<{ verificationCodeRef: string }>(
        svc,
        REGISTERED_V2,
        user.userId,
      );
      const resend = () => anonymous(svc).post('/auth/verify-email/resend', { email: user.email });

      // Right after the sign-up: accepted, but no second code within the minute.
      expect((await resend()).status).toBe(202);
      const unknown = await anonymous(svc).post('/auth/verify-email/resend', {
        email: uniqueEmail('nobody'),
      });
      expect(unknown.status).toBe(202);
      await registerUser(svc); // a later background task has run once this exists
      expect(await countEvents(svc, VERIFICATION_REQUESTED, user.userId)).toBe(0);

      // A minute later: a new code by reference; the first one stops working.
      await ageCodes(user.userId, 61);
      expect((await resend()).status).toBe(202);
      const next = await eventuallyLatestEvent<{ codeRef: string; email: string }>(
        svc,
        VERIFICATION_REQUESTED,
        user.userId,
      );
      expect(next.codeRef).not.toBe(first.verificationCodeRef);
      const stale = await asNotification(svc).post(
        `/internal/one-time-codes/${first.verificationCodeRef}/issue`,
        {
          recipient: user.email,
        },
      );
      expect(stale.status).toBe(410);
      const { code } = await issueCode(svc, next.codeRef, user.email);
      expect((await anonymous(svc).post('/auth/verify-email', { email: user.email, code })).status).toBe(204);

      // A verified address gets no more codes.
      await ageCodes(user.userId, 61);
      expect((await resend()).status).toBe(202);
      await registerUser(svc);
      expect(await countEvents(svc, VERIFICATION_REQUESTED, user.userId)).toBe(1);
    });

    it('sends at most five codes an hour to one account', async () => {
      const user = await registerUser(svc);
      for (let i = 0; i < 7; i += 1) {
        await ageCodes(user.userId, 61 + i, { onlyNewerThanSeconds: 60 });
        expect((await anonymous(svc).post('/auth/verify-email/resend', { email: user.email })).status).toBe(
          202,
        );
        await registerUser(svc);
      }
      // The sign-up's code plus four resends make five in the hour.
      expect(await countEvents(svc, VERIFICATION_REQUESTED, user.userId)).toBe(4);
    });
  });

  describe('password change (ASVS 6.2.3) and the other sessions (ASVS 7.4.3)', () => {
    it('needs the current password, ends the other sessions by default and tells the user', async () => {
      const user = await registerVerified(svc);
      const here = await loginTokens(svc, user.email, STRONG_PASSWORD);
      const elsewhere = await loginTokens(svc, user.email, STRONG_PASSWORD, { userAgent: 'phone/1' });

      const wrong = await asHolder(svc, here.accessToken).post<{ type: string }>('/me/password', {
        currentPassword: OTHER_STRONG_PASSWORD,
        newPassword: THIRD_STRONG_PASSWORD,
      });
      expect(wrong.status).toBe(403);
      expect(wrong.body.type).toBe(ProblemType.invalidCredentials);
      expect(await countEvents(svc, 'wallet.identity.login.failed.v1', user.userId)).toBe(1);

      const changed = await asHolder(svc, here.accessToken).post('/me/password', {
        currentPassword: STRONG_PASSWORD,
        newPassword: THIRD_STRONG_PASSWORD,
      });
      expect(changed.status).toBe(200);
      expect(changed.body).toEqual({ otherSessionsSignedOut: 1, otherActiveSessions: 0 });
      expect(await sessionActive(here.sessionId)).toBe(true);
      expect(await sessionActive(elsewhere.sessionId)).toBe(false);
      expect(await latestEvent(svc, 'wallet.identity.password.changed.v1', user.userId)).toEqual({
        userId: user.userId,
        email: user.email,
        via: 'settings',
      });
      expect((await login(svc, user.email, STRONG_PASSWORD)).status).toBe(401);
      expect((await login(svc, user.email, THIRD_STRONG_PASSWORD)).status).toBe(200);
    });

    it('keeps the other sessions when asked, and says how many are open', async () => {
      const user = await registerVerified(svc);
      const here = await loginTokens(svc, user.email, STRONG_PASSWORD);
      const elsewhere = await loginTokens(svc, user.email, STRONG_PASSWORD, { userAgent: 'phone/1' });
      const changed = await asHolder(svc, here.accessToken).post('/me/password', {
        currentPassword: STRONG_PASSWORD,
        newPassword: THIRD_STRONG_PASSWORD,
        signOutOtherSessions: false,
      });
      expect(changed.body).toEqual({ otherSessionsSignedOut: 0, otherActiveSessions: 1 });
      expect(await sessionActive(elsewhere.sessionId)).toBe(true);
    });
  });

  describe('re-authentication before a factor changes (ASVS 7.5.1)', () => {
    it('refuses authenticator enrolment in a session whose sign-in is old, until the password is proven again', async () => {
      const user = await registerVerified(svc);
      const tokens = await loginTokens(svc, user.email, STRONG_PASSWORD);
      await ageAuthentication(tokens.sessionId, 10);
      const client = asHolder(svc, tokens.accessToken);
      const refused = await client.post<{ type: string; reauthenticateWithin: number }>('/me/mfa/totp');
      expect(refused.status).toBe(403);
      expect(refused.body.type).toBe(ProblemType.reauthenticationRequired);
      expect(refused.body.reauthenticateWithin).toBe(300);

      const wrong = await client.post<{ type: string }>('/auth/reauthenticate', {
        password: OTHER_STRONG_PASSWORD,
      });
      expect(wrong.status).toBe(403);
      expect(wrong.body.type).toBe(ProblemType.invalidCredentials);
      const again = await client.post<{ accessToken: string; reauthenticatedUntil: string }>(
        '/auth/reauthenticate',
        {
          password: STRONG_PASSWORD,
        },
      );
      expect(again.status).toBe(200);
      expect(new Date(again.body.reauthenticatedUntil).getTime()).toBeGreaterThan(Date.now() + 240_000);
      expect(decodeJwt(again.body.accessToken)['acr']).toBe('aal1');
      expect((await client.post('/me/mfa/totp')).status).toBe(200);
    });

    it('asks an account with a second factor for both, and guards removal and recovery codes too', async () => {
      const user = await registerVerified(svc);
      const tokens = await loginTokens(svc, user.email, STRONG_PASSWORD);
      const { secret } = await enrolTotp(svc, tokens);
      await ageAuthentication(tokens.sessionId, 10);
      const client = asHolder(svc, tokens.accessToken);
      expect((await client.post('/me/mfa/recovery-codes')).status).toBe(403);

      const passwordOnly = await client.post<{ errors: { field: string }[] }>('/auth/reauthenticate', {
        password: STRONG_PASSWORD,
      });
      expect(passwordOnly.status).toBe(400);
      expect(passwordOnly.body.errors[0]?.field).toBe('body.code');
      const wrongCode = await client.post<{ type: string }>('/auth/reauthenticate', {
        password: STRONG_PASSWORD,
        code: '000000',
      });
      expect(wrongCode.status).toBe(400);
      expect(wrongCode.body.type).toBe(ProblemType.invalidCode);
      await forgetTotpStep(svc, user.userId);
      const both = await client.post<{ accessToken: string }>('/auth/reauthenticate', {
        password: STRONG_PASSWORD,
        code: await totpCode(secret),
      });
      expect(both.status).toBe(200);
      expect(decodeJwt(both.body.accessToken)).toMatchObject({ acr: 'aal2' });

      // Removal needs the step-up AND a recent full authentication.
      const stepped = asHolder(svc, both.body.accessToken);
      await ageAuthentication(tokens.sessionId, 10);
      const stale = await stepped.delete<{ type: string }>('/me/mfa/totp');
      expect(stale.status).toBe(403);
      expect(stale.body.type).toBe(ProblemType.reauthenticationRequired);
      await ageAuthentication(tokens.sessionId, 1);
      expect((await stepped.delete('/me/mfa/totp')).status).toBe(204);
    });
  });

  describe('factor changes offer to end the other sessions (ASVS 7.4.3)', () => {
    it('ends them on request when an authenticator is added or removed', async () => {
      const user = await registerVerified(svc);
      const here = await loginTokens(svc, user.email, STRONG_PASSWORD);
      const elsewhere = await loginTokens(svc, user.email, STRONG_PASSWORD, { userAgent: 'tablet/1' });
      const client = asHolder(svc, here.accessToken);
      const start = await client.post<{ secret: string }>('/me/mfa/totp');
      const kept = await client.post<{ recoveryCodes: string[]; otherActiveSessions: number }>(
        '/me/mfa/totp/confirm',
        { code: await totpCode(start.body.secret) },
      );
      expect(kept.status).toBe(200);
      expect(kept.body).toMatchObject({ otherSessionsSignedOut: 0, otherActiveSessions: 1 });
      expect(await sessionActive(elsewhere.sessionId)).toBe(true);

      const stepped = await client.post<{ accessToken: string }>('/auth/step-up', {
        code: await totpCode(start.body.secret, 1),
      });
      expect(stepped.status).toBe(200);
      const removed = await asHolder(svc, stepped.body.accessToken).delete(
        '/me/mfa/totp?signOutOtherSessions=true',
      );
      expect(removed.status).toBe(204);
      expect(await sessionActive(elsewhere.sessionId)).toBe(false);
      expect(await sessionActive(here.sessionId)).toBe(true);
    });
  });

  describe('recovery-code regeneration', () => {
    it('replaces every old code, needs a second factor on the account, and ends other sessions when asked', async () => {
      const plain = await registerVerified(svc);
      const plainTokens = await loginTokens(svc, plain.email, STRONG_PASSWORD);
      const noMfa = await asHolder(svc, plainTokens.accessToken).post<{ type: string }>(
        '/me/mfa/recovery-codes',
      );
      expect(noMfa.status).toBe(403);
      expect(noMfa.body.type).toBe(ProblemType.mfaRequired);

      const user = await registerVerified(svc);
      const here = await loginTokens(svc, user.email, STRONG_PASSWORD);
      const enrolled = await enrolTotp(svc, here);
      const elsewhere = await signInWithMfa(user.email, enrolled.secret);
      const fresh = await asHolder(svc, here.accessToken).post<{
        recoveryCodes: string[];
        otherSessionsSignedOut: number;
      }>('/me/mfa/recovery-codes', { signOutOtherSessions: true });
      expect(fresh.status).toBe(200);
      expect(fresh.body.recoveryCodes).toHaveLength(10);
      expect(fresh.body.otherSessionsSignedOut).toBe(1);
      expect(await sessionActive(elsewhere.sessionId)).toBe(false);
      expect(fresh.body.recoveryCodes).not.toContain(enrolled.recoveryCodes[0]);
      expect(await countEvents(svc, 'wallet.identity.mfa.changed.v1', user.userId)).toBe(2);

      const challenge = async () => {
        const res = await login(svc, user.email, STRONG_PASSWORD);
        return res.body.mfaToken!;
      };
      const old = await anonymous(svc).post('/auth/login/mfa', {
        mfaToken: await challenge(),
        code: enrolled.recoveryCodes[0],
      });
      expect(old.status).toBe(400);
      const current = await anonymous(svc).post('/auth/login/mfa', {
        mfaToken: await challenge(),
        code: fresh.body.recoveryCodes[0],
      });
      expect(current.status).toBe(200);
    });

    async function signInWithMfa(email: string, secret: string): Promise<Tokens> {
      const first = await login(svc, email, STRONG_PASSWORD, { userAgent: 'laptop/2' });
      const res = await anonymous(svc, { userAgent: 'laptop/2' }).post<Tokens>('/auth/login/mfa', {
        mfaToken: first.body.mfaToken,
        code: await totpCode(secret, 1),
      });
      if (res.status !== 200) throw new Error(`login/mfa answered ${res.status}: ${res.text}`);
      return res.body;
    }
  });

  describe('lifetimes and recovery', () => {
    it('keeps a password valid however old it is: no forced rotation (ASVS 6.2.10)', async () => {
      const user = await registerVerified(svc);
      await sql`update users set created_at = now() - interval '5 years', updated_at = now() - interval '5 years'
        where id = ${user.userId}`.execute(svc.ownerDb);
      expect((await login(svc, user.email, STRONG_PASSWORD)).status).toBe(200);
    });

    it('verifies the password exactly as typed: no case change, no truncation (ASVS 6.2.8)', async () => {
      const long = `${STRONG_PASSWORD}-${'k7'.repeat(30)}`;
      const user = await registerVerified(svc, uniqueEmail('exact'), long);
      expect((await login(svc, user.email, long)).status).toBe(200);
      expect((await login(svc, user.email, long.toUpperCase())).status).toBe(401);
      expect((await login(svc, user.email, long.slice(0, 64))).status).toBe(401);
      expect((await login(svc, user.email, long.slice(0, -1))).status).toBe(401);
    });

    it('ends a session after its idle time and at its absolute lifetime (ASVS 7.3.1, 7.3.2)', async () => {
      const user = await registerVerified(svc);
      const idle = await loginTokens(svc, user.email, STRONG_PASSWORD);
      // The refresh token idles out after REFRESH_TOKEN_TTL_SECONDS without use.
      await svc.ownerDb
        .updateTable('refresh_tokens')
        .set({ expires_at: new Date(Date.now() - 1_000) })
        .where('session_id', '=', idle.sessionId)
        .execute();
      expect((await anonymous(svc).post('/auth/refresh', { refreshToken: idle.refreshToken })).status).toBe(
        401,
      );

      const old = await loginTokens(svc, user.email, STRONG_PASSWORD);
      await svc.ownerDb
        .updateTable('sessions')
        .set({ expires_at: new Date(Date.now() - 1_000) })
        .where('id', '=', old.sessionId)
        .execute();
      expect((await anonymous(svc).post('/auth/refresh', { refreshToken: old.refreshToken })).status).toBe(
        401,
      );
      expect(await sessionActive(old.sessionId)).toBe(false);
      expect((await asHolder(svc, old.accessToken).get('/me')).status).toBe(401);
    });

    it('resets a forgotten password without bypassing the second factor (ASVS 6.4.3)', async () => {
      const user = await registerVerified(svc);
      const tokens = await loginTokens(svc, user.email, STRONG_PASSWORD);
      await enrolTotp(svc, tokens);
      await anonymous(svc).post('/auth/recovery', { email: user.email });
      const notice = await eventuallyLatestEvent<{ codeRef: string }>(
        svc,
        'wallet.identity.recovery.requested.v2',
        user.userId,
      );
      const { code } = await issueCode(svc, notice.codeRef, user.email);
      expect(
        (
          await anonymous(svc).post('/auth/recovery/complete', {
            email: user.email,
            code,
            newPassword: THIRD_STRONG_PASSWORD,
          })
        ).status,
      ).toBe(204);
      const after = await login(svc, user.email, THIRD_STRONG_PASSWORD);
      expect(after.status).toBe(200);
      expect(after.body).toMatchObject({ mfaRequired: true });
      expect(after.body.accessToken).toBeUndefined();
    });
  });

  describe('refresh-token grace window (ASVS 7.2.4 without weakening reuse detection)', () => {
    it('lets two tabs of one client refresh with the same token at once', async () => {
      const user = await registerVerified(svc);
      const tokens = await loginTokens(svc, user.email, STRONG_PASSWORD);
      const [a, b] = await Promise.all(
        [1, 2].map(() => anonymous(svc).post<Tokens>('/auth/refresh', { refreshToken: tokens.refreshToken })),
      );
      expect([a!.status, b!.status]).toEqual([200, 200]);
      expect(a!.body.refreshToken).not.toBe(b!.body.refreshToken);
      expect(await sessionActive(tokens.sessionId)).toBe(true);
      // Both tabs go on refreshing with their own tokens.
      for (const tab of [a!, b!]) {
        const next = await anonymous(svc).post('/auth/refresh', { refreshToken: tab.body.refreshToken });
        expect(next.status).toBe(200);
      }
    });

    it('still revokes the session for a reuse after the window, from another client, or too often', async () => {
      const user = await registerVerified(svc);
      const afterWindow = await loginTokens(svc, user.email, STRONG_PASSWORD);
      expect(
        (await anonymous(svc).post('/auth/refresh', { refreshToken: afterWindow.refreshToken })).status,
      ).toBe(200);
      await svc.ownerDb
        .updateTable('refresh_tokens')
        .set({ used_at: new Date(Date.now() - 11_000) })
        .where('used_at', 'is not', null)
        .where('session_id', '=', afterWindow.sessionId)
        .execute();
      const late = await anonymous(svc).post<{ type: string }>('/auth/refresh', {
        refreshToken: afterWindow.refreshToken,
      });
      expect(late.status).toBe(401);
      expect(late.body.type).toBe(ProblemType.tokenReused);
      expect(await sessionActive(afterWindow.sessionId)).toBe(false);

      const stolen = await loginTokens(svc, user.email, STRONG_PASSWORD);
      expect((await anonymous(svc).post('/auth/refresh', { refreshToken: stolen.refreshToken })).status).toBe(
        200,
      );
      const thief = await anonymous(svc, { userAgent: 'curl/8', ip: '198.51.100.9' }).post('/auth/refresh', {
        refreshToken: stolen.refreshToken,
      });
      expect(thief.status).toBe(401);
      expect(await sessionActive(stolen.sessionId)).toBe(false);

      const hammered = await loginTokens(svc, user.email, STRONG_PASSWORD);
      const statuses: number[] = [];
      for (let i = 0; i < 4; i += 1)
        statuses.push(
          (await anonymous(svc).post('/auth/refresh', { refreshToken: hammered.refreshToken })).status,
        );
      // The first use, two forgiven reuses, then theft.
      expect(statuses).toEqual([200, 200, 200, 401]);
      expect(await sessionActive(hammered.sessionId)).toBe(false);
    });
  });
});
