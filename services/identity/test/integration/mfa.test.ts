/** TOTP enrolment and sign-in, recovery codes, step-up, sessions and devices. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeJwt } from 'jose';
import { infraEnv } from '@wallet/testing';
import { ProblemType, accessTokenClaimsSchema } from '@wallet/contracts';
import {
  STRONG_PASSWORD,
  anonymous,
  asHolder,
  enrolTotp,
  forgetTotpStep,
  latestEvent,
  login,
  loginTokens,
  registerVerified,
  startIdentity,
  totpCode,
  type IdentityTestService,
  type Tokens,
} from './helpers.ts';

const adminUrl = infraEnv('TEST_PG_ADMIN_URL');

describe.skipIf(!adminUrl)('identity: MFA, step-up and sessions', () => {
  let svc: IdentityTestService;
  beforeAll(async () => {
    svc = await startIdentity(adminUrl!);
  });
  afterAll(async () => {
    await svc?.stop();
  });

  async function mfaUser() {
    const user = await registerVerified(svc);
    const tokens = await loginTokens(svc, user.email, STRONG_PASSWORD);
    const totp = await enrolTotp(svc, tokens);
    return { ...user, tokens, ...totp };
  }

  async function mfaLogin(email: string, code: string) {
    const first = await login(svc, email, STRONG_PASSWORD);
    expect(first.body).toMatchObject({ mfaRequired: true });
    expect(first.body).not.toHaveProperty('accessToken');
    return anonymous(svc).post<Tokens & { type?: string }>('/auth/login/mfa', {
      mfaToken: first.body.mfaToken,
      code,
    });
  }

  describe('TOTP', () => {
    it('enrols with an otpauth URL, stores the secret sealed, and hands out ten recovery codes once', async () => {
      const user = await mfaUser();
      expect(user.otpauthUrl).toMatch(/^otpauth:\/\/totp\/Wallet:.*secret=/);
      expect(user.recoveryCodes).toHaveLength(10);
      expect(new Set(user.recoveryCodes).size).toBe(10);
      const row = await svc.ownerDb
        .selectFrom('users')
        .select(['totp_secret_sealed', 'mfa_enabled'])
        .where('id', '=', user.userId)
        .executeTakeFirstOrThrow();
      expect(row.mfa_enabled).toBe(true);
      expect(row.totp_secret_sealed).not.toContain(user.secret);
      const stored = await svc.ownerDb
        .selectFrom('recovery_codes')
        .select('code_hash')
        .where('user_id', '=', user.userId)
        .execute();
      expect(stored.map((r) => r.code_hash).join()).not.toContain(user.recoveryCodes[0]!.replace('-', ''));
      expect((await latestEvent(svc, 'wallet.identity.mfa.changed.v1', user.userId))?.['enabled']).toBe(true);
      const me = await asHolder(svc, user.tokens.accessToken).get<{ mfaEnabled: boolean }>('/me');
      expect(me.body.mfaEnabled).toBe(true);
    });

    it('refuses a wrong confirmation code and leaves MFA off', async () => {
      const user = await registerVerified(svc);
      const tokens = await loginTokens(svc, user.email, STRONG_PASSWORD);
      const client = asHolder(svc, tokens.accessToken);
      const start = await client.post<{ secret: string }>('/me/mfa/totp');
      const wrong = await totpCode(start.body.secret, 5);
      expect((await client.post('/me/mfa/totp/confirm', { code: wrong })).status).toBe(400);
      expect((await client.get<{ mfaEnabled: boolean }>('/me')).body.mfaEnabled).toBe(false);
    });

    it('signs in with password then TOTP, at aal2 for the step-up window only', async () => {
      const user = await mfaUser();
      const res = await mfaLogin(user.email, await totpCode(user.secret, 1));
      expect(res.status).toBe(200);
      const claims = accessTokenClaimsSchema.parse(decodeJwt(res.body.accessToken));
      expect(claims.acr).toBe('aal2');
      expect(claims.amr).toEqual(expect.arrayContaining(['pwd', 'otp', 'mfa']));
      expect(claims.exp - claims.iat).toBeLessThanOrEqual(300);
    });

    it('refuses a TOTP code that was already used (replay)', async () => {
      const user = await mfaUser();
      // The confirmation used the current step; the same code again is a replay.
      const replay = await mfaLogin(user.email, await totpCode(user.secret, 0));
      expect(replay.status).toBe(400);
      expect(replay.body.type).toBe(ProblemType.invalidCode);
      const next = await totpCode(user.secret, 1);
      expect((await mfaLogin(user.email, next)).status).toBe(200);
      expect((await mfaLogin(user.email, next)).status).toBe(400);
    });

    it('refuses a code outside the one-step window', async () => {
      const user = await mfaUser();
      await forgetTotpStep(svc, user.userId);
      expect((await mfaLogin(user.email, await totpCode(user.secret, 3))).status).toBe(400);
      expect((await mfaLogin(user.email, await totpCode(user.secret, -3))).status).toBe(400);
    });

    it('accepts each recovery code once (a lost device is recovered with one)', async () => {
      const user = await mfaUser();
      const code = user.recoveryCodes[0]!;
      const first = await mfaLogin(user.email, code.toUpperCase());
      expect(first.status).toBe(200);
      expect(accessTokenClaimsSchema.parse(decodeJwt(first.body.accessToken)).amr).toContain('rc');
      const again = await mfaLogin(user.email, code);
      expect(again.status).toBe(400);
      expect((await mfaLogin(user.email, user.recoveryCodes[1]!)).status).toBe(200);
    });

    it('kills an MFA token after too many wrong codes, without locking the account', async () => {
      const user = await mfaUser();
      const first = await login(svc, user.email, STRONG_PASSWORD);
      const mfaToken = first.body.mfaToken;
      // CODE_MAX_ATTEMPTS (5) wrong codes per challenge (the delays between them are off in this suite).
      for (let i = 0; i < 5; i += 1) {
        expect((await anonymous(svc).post('/auth/login/mfa', { mfaToken, code: '000000' })).status).toBe(400);
      }
      const res = await anonymous(svc).post('/auth/login/mfa', {
        mfaToken,
        code: await totpCode(user.secret, 1),
      });
      expect(res.status).toBe(401);
      expect(await latestEvent(svc, 'wallet.identity.user.locked.v1', user.userId)).toBeUndefined();
      // A new challenge (the password again) still works.
      expect((await mfaLogin(user.email, await totpCode(user.secret, 1))).status).toBe(200);
    });
  });

  describe('step-up', () => {
    it('raises the session to aal2 for five minutes, and disabling MFA needs it', async () => {
      const user = await mfaUser();
      const holder = asHolder(svc, user.tokens.accessToken);
      const refused = await holder.delete<{ type: string }>('/me/mfa/totp');
      expect(refused.status).toBe(403);
      expect(refused.body.type).toBe(ProblemType.stepUpRequired);

      const up = await holder.post<{ accessToken: string; expiresIn: number }>('/auth/step-up', {
        code: await totpCode(user.secret, 1),
      });
      expect(up.status).toBe(200);
      expect(up.body.expiresIn).toBeLessThanOrEqual(300);
      expect(up.body.expiresIn).toBeGreaterThan(290);
      const claims = accessTokenClaimsSchema.parse(decodeJwt(up.body.accessToken));
      expect(claims).toMatchObject({ acr: 'aal2', sid: user.tokens.sessionId });

      expect((await asHolder(svc, up.body.accessToken).delete('/me/mfa/totp')).status).toBe(204);
      expect((await latestEvent(svc, 'wallet.identity.mfa.changed.v1', user.userId))?.['enabled']).toBe(
        false,
      );
      expect((await loginTokens(svc, user.email, STRONG_PASSWORD)).accessToken).toBeTruthy();
    });

    it('expires after its window even if a token still claims aal2', async () => {
      const user = await mfaUser();
      const holder = asHolder(svc, user.tokens.accessToken);
      const up = await holder.post<{ accessToken: string }>('/auth/step-up', { code: user.recoveryCodes[0] });
      expect(up.status).toBe(200);
      await svc.ownerDb
        .updateTable('sessions')
        .set({ step_up_until: new Date(Date.now() - 1_000) })
        .where('id', '=', user.tokens.sessionId)
        .execute();
      const late = await asHolder(svc, up.body.accessToken).delete<{ type: string }>('/me/mfa/totp');
      expect(late.status).toBe(403);
      expect(late.body.type).toBe(ProblemType.stepUpRequired);
      // A refresh after the window gives an ordinary aal1 token.
      const refreshed = await anonymous(svc).post<{ accessToken: string }>('/auth/refresh', {
        refreshToken: user.tokens.refreshToken,
      });
      expect(accessTokenClaimsSchema.parse(decodeJwt(refreshed.body.accessToken)).acr).toBe('aal1');
    });

    it('refuses step-up with a wrong code, and for an account without MFA', async () => {
      const user = await mfaUser();
      const wrong = await asHolder(svc, user.tokens.accessToken).post<{ type: string }>('/auth/step-up', {
        code: '000000',
      });
      expect(wrong.status).toBe(400);
      const plain = await registerVerified(svc);
      const tokens = await loginTokens(svc, plain.email, STRONG_PASSWORD);
      const res = await asHolder(svc, tokens.accessToken).post<{ type: string }>('/auth/step-up', {
        code: '123456',
      });
      expect(res.status).toBe(403);
      expect(res.body.type).toBe(ProblemType.mfaRequired);
    });
  });

  describe('sessions and devices', () => {
    it('lists sessions with device details and the current one, and revokes one', async () => {
      const user = await registerVerified(svc);
      const phone = await loginTokens(svc, user.email, STRONG_PASSWORD, {
        deviceId: 'phone',
        userAgent: 'WalletApp/1.0 (iPhone)',
      });
      const laptop = await anonymous(svc, { userAgent: 'Firefox/140' }).post<Tokens>('/auth/login', {
        email: user.email,
        password: STRONG_PASSWORD,
        deviceName: 'work laptop',
      });
      const list = await asHolder(svc, laptop.body.accessToken, { userAgent: 'Firefox/140' }).get<{
        items: {
          sessionId: string;
          current: boolean;
          deviceName: string | null;
          userAgent: string;
          ip: string;
        }[];
        nextCursor: null;
      }>('/me/sessions');
      expect(list.status).toBe(200);
      expect(list.body.items).toHaveLength(2);
      const current = list.body.items.find((i) => i.current);
      expect(current).toMatchObject({
        sessionId: laptop.body.sessionId,
        deviceName: 'work laptop',
        userAgent: 'Firefox/140',
        ip: '203.0.113.7',
      });

      const revoke = await asHolder(svc, laptop.body.accessToken).delete(`/me/sessions/${phone.sessionId}`);
      expect(revoke.status).toBe(204);
      expect((await asHolder(svc, phone.accessToken).get('/me')).status).toBe(401);
      const status = await svc
        .as({ sub: 'anonymous' })
        .get<{ active: boolean }>(`/internal/sessions/${phone.sessionId}`);
      expect(status.body.active).toBe(false);
      expect(
        (await latestEvent(svc, 'wallet.identity.session.revoked.v1', user.userId))?.['sessionIds'],
      ).toEqual([phone.sessionId]);
    });

    it("cannot see or revoke another user's session", async () => {
      const alice = await registerVerified(svc);
      const bob = await registerVerified(svc);
      const aliceTokens = await loginTokens(svc, alice.email, STRONG_PASSWORD);
      const bobTokens = await loginTokens(svc, bob.email, STRONG_PASSWORD);
      expect(
        (await asHolder(svc, bobTokens.accessToken).delete(`/me/sessions/${aliceTokens.sessionId}`)).status,
      ).toBe(404);
      expect((await asHolder(svc, aliceTokens.accessToken).get('/me')).status).toBe(200);
      // A token naming Alice's session under Bob's id is refused.
      const forged = svc.as({ sub: bob.userId, sid: aliceTokens.sessionId, roles: ['user'], acr: 'aal1' });
      expect((await forged.get('/me')).status).toBe(401);
    });

    it('revokes every other session at once', async () => {
      const user = await registerVerified(svc);
      const sessions = [];
      for (let i = 0; i < 3; i += 1) sessions.push(await loginTokens(svc, user.email, STRONG_PASSWORD));
      const keep = sessions[2]!;
      const res = await asHolder(svc, keep.accessToken).delete<{ revoked: number }>('/me/sessions');
      expect(res.body).toEqual({ revoked: 2 });
      const list = await asHolder(svc, keep.accessToken).get<{ items: { sessionId: string }[] }>(
        '/me/sessions',
      );
      expect(list.body.items.map((i) => i.sessionId)).toEqual([keep.sessionId]);
    });

    it('pages through sessions with a cursor', async () => {
      const user = await registerVerified(svc);
      const all: Tokens[] = [];
      for (let i = 0; i < 3; i += 1) all.push(await loginTokens(svc, user.email, STRONG_PASSWORD));
      const holder = asHolder(svc, all[0]!.accessToken);
      const first = await holder.get<{ items: { sessionId: string }[]; nextCursor: string }>(
        '/me/sessions?limit=2',
      );
      expect(first.body.items).toHaveLength(2);
      const second = await holder.get<{ items: { sessionId: string }[]; nextCursor: null }>(
        `/me/sessions?limit=2&cursor=${first.body.nextCursor}`,
      );
      expect(second.body.items).toHaveLength(1);
      expect(second.body.nextCursor).toBeNull();
      const seen = [...first.body.items, ...second.body.items].map((i) => i.sessionId).sort();
      expect(seen).toEqual(all.map((t) => t.sessionId).sort());
    });
  });
});
