// Longer than 400 lines: the sign-in flows in one suite over one identity instance; each flow builds on the accounts the earlier ones create.
/** Registration, e-mail verification, sign-in, refresh rotation, logout, recovery (throttling: throttle.test.ts). */
import { performance } from 'node:perf_hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { infraEnv } from '@wallet/testing';
import { ProblemType } from '@wallet/contracts';
import {
  OTHER_STRONG_PASSWORD,
  STRONG_PASSWORD,
  anonymous,
  asHolder,
  countEvents,
  RECOVERY_V2,
  recoveryEvents,
  REGISTERED_V2,
  asNotification,
  issueCode,
  latestEvent,
  login,
  loginTokens,
  registerUser,
  recoveryCodeFor,
  registerVerified,
  startIdentity,
  verificationCodeFor,
  uniqueEmail,
  eventuallyUserId,
  eventuallyLatestEvent,
  SIGN_UP_ATTEMPTED,
  type IdentityTestService,
} from './helpers.ts';

const adminUrl = infraEnv('TEST_PG_ADMIN_URL');

describe.skipIf(!adminUrl)('identity: accounts and sign-in', () => {
  let svc: IdentityTestService;
  beforeAll(async () => {
    svc = await startIdentity(adminUrl!);
  });
  afterAll(async () => {
    await svc?.stop();
  });

  it('refuses calls without an internal token', async () => {
    const res = await svc
      .as(null)
      .post('/auth/login', { email: 'a@example.test', password: STRONG_PASSWORD });
    expect(res.status).toBe(401);
    expect(res.headers.get('content-type')).toContain('application/problem+json');
  });

  describe('registration and e-mail verification', () => {
    it('registers, e-mails a code by reference, and verifies the address with it', async () => {
      const email = uniqueEmail('Reg');
      const res = await anonymous(svc).post('/auth/register', {
        email: `  ${email.toUpperCase()} `,
        password: STRONG_PASSWORD,
      });
      expect(res.status).toBe(202);
      expect(res.text).toBe('');
      const userId = await eventuallyUserId(svc, email);
      const event = await latestEvent<Record<string, unknown>>(svc, REGISTERED_V2, userId);
      // The event names the pending code; it carries no code (issue 17).
      expect(Object.keys(event ?? {}).sort()).toEqual(
        ['displayName', 'email', 'locale', 'userId', 'verificationCodeRef', 'verificationExpiresAt'].sort(),
      );
      expect(event?.['email']).toBe(email.toLowerCase());
      const user = { userId: userId, email: email.toLowerCase() };
      // Nothing is issued until the notification service asks: no code exists yet, none can match.
      const pending = await svc.ownerDb
        .selectFrom('one_time_codes')
        .select(['code_hash', 'issued_count'])
        .where('user_id', '=', userId)
        .executeTakeFirstOrThrow();
      expect(pending).toEqual({ code_hash: null, issued_count: 0 });

      const issued = await issueCode(
        svc,
        event?.['verificationCodeRef'] as string,
        `  ${email.toUpperCase()}`,
      );
      expect(issued.purpose).toBe('email-verification');
      expect(issued.code).toMatch(/^[0-9]{6}$/);
      expect(issued.expiresAt).toBe(event?.['verificationExpiresAt']);
      const stored = await svc.ownerDb
        .selectFrom('one_time_codes')
        .select(['code_hash', 'issued_count'])
        .where('user_id', '=', userId)
        .executeTakeFirstOrThrow();
      expect(stored.issued_count).toBe(1);
      // The code is stored only as a keyed hash, and the outbox never saw it.
      expect(stored.code_hash).not.toContain(issued.code);
      const outboxText = await svc.ownerDb
        .selectFrom('outbox')
        .select(sql<string>`string_agg(payload::text, ' ')`.as('all'))
        .executeTakeFirstOrThrow();
      expect(outboxText.all).not.toContain(issued.code);

      // A second send (a retry) mints a new code and the first stops working.
      const code = await verificationCodeFor(svc, user);
      if (code !== issued.code) {
        expect((await anonymous(svc).post('/auth/verify-email', { email, code: issued.code })).status).toBe(
          400,
        );
      }
      expect((await anonymous(svc).post('/auth/verify-email', { email, code })).status).toBe(204);
      expect(await countEvents(svc, 'wallet.identity.email.verified.v1', userId)).toBe(1);
      // Single use.
      const again = await anonymous(svc).post<{ type: string }>('/auth/verify-email', { email, code });
      expect(again.status).toBe(400);
      expect(again.body.type).toBe(ProblemType.invalidCode);
      // A used reference cannot be exchanged again.
      const spent = await asNotification(svc).post<{ type: string }>(
        `/internal/one-time-codes/${String(event?.['verificationCodeRef'])}/issue`,
        { recipient: email },
      );
      expect(spent.status).toBe(410);
      expect(spent.body.type).toBe(ProblemType.codeUnavailable);

      const tokens = await loginTokens(svc, email, STRONG_PASSWORD);
      const me = await asHolder(svc, tokens.accessToken).get<{
        email: string;
        emailVerified: boolean;
        roles: string[];
        mfaEnabled: boolean;
      }>('/me');
      expect(me.body).toMatchObject({
        email: email.toLowerCase(),
        emailVerified: true,
        roles: ['user'],
        mfaEnabled: false,
      });
    });

    it('allows one account per normalised address: a second sign-up changes nothing', async () => {
      const { email, userId } = await registerUser(svc);
      const dup = await anonymous(svc).post('/auth/register', {
        email: email.toUpperCase(),
        password: OTHER_STRONG_PASSWORD,
      });
      expect(dup.status).toBe(202);
      await eventuallyLatestEvent(svc, SIGN_UP_ATTEMPTED, userId);
      const accounts = await svc.ownerDb
        .selectFrom('users')
        .select(['id', 'password_hash'])
        .where('email', '=', email)
        .execute();
      expect(accounts.map((a) => a.id)).toEqual([userId]);
      // The first password still signs in; the second sign-up's does not.
      expect((await login(svc, email, STRONG_PASSWORD)).status).toBe(200);
      expect((await login(svc, email, OTHER_STRONG_PASSWORD)).status).toBe(401);
    });

    it.each([
      ['too short', 'Xk9#mq2!'],
      ['a common password', 'password1234'],
      ['weak by the estimator', 'aaaaaaaaaaaaaaaa'],
      ['built from the e-mail', 'EMAIL-horse-battery'],
    ])('refuses a password that is %s, and stores nothing', async (_why, template) => {
      const local = `weakling${Date.now()}`;
      const email = `${local}@example.test`;
      const password = template.replace('EMAIL', local);
      const res = await anonymous(svc).post<{ type: string; errors: { field: string }[] }>('/auth/register', {
        email,
        password,
      });
      expect(res.status).toBe(400);
      expect(res.body.type).toBe(ProblemType.validation);
      expect(res.body.errors[0]?.field).toBe('body.password');
      expect(res.text).not.toContain(password);
      expect(
        await svc.ownerDb.selectFrom('users').select('id').where('email', '=', email).executeTakeFirst(),
      ).toBeUndefined();
    });

    it('burns a verification code after too many wrong guesses', async () => {
      const user = await registerUser(svc);
      const code = await verificationCodeFor(svc, user);
      const wrong = code === '000000' ? '111111' : '000000';
      for (let i = 0; i < 5; i += 1) {
        expect(
          (await anonymous(svc).post('/auth/verify-email', { email: user.email, code: wrong })).status,
        ).toBe(400);
      }
      expect((await anonymous(svc).post('/auth/verify-email', { email: user.email, code })).status).toBe(400);
    });
  });

  describe('sign-in', () => {
    it('answers an unknown e-mail exactly like a wrong password', async () => {
      const { email } = await registerVerified(svc);
      const known = await login(svc, email, OTHER_STRONG_PASSWORD);
      const unknown = await login(svc, uniqueEmail('nobody'), OTHER_STRONG_PASSWORD);
      expect(known.status).toBe(401);
      expect(unknown.status).toBe(known.status);
      expect(unknown.body).toEqual(known.body);
      expect(known.headers.get('content-type')).toBe(unknown.headers.get('content-type'));
    });

    it('issues a session with rotating refresh tokens', async () => {
      const { email } = await registerVerified(svc);
      const tokens = await loginTokens(svc, email, STRONG_PASSWORD, { deviceId: 'device-a' });
      expect(tokens.expiresIn).toBe(600);
      expect(tokens.refreshToken).toMatch(/^rt_/);
      const refreshed = await anonymous(svc).post<{
        accessToken: string;
        refreshToken: string;
        sessionId: string;
      }>('/auth/refresh', {
        refreshToken: tokens.refreshToken,
      });
      expect(refreshed.status).toBe(200);
      expect(refreshed.body.sessionId).toBe(tokens.sessionId);
      expect(refreshed.body.refreshToken).not.toBe(tokens.refreshToken);
      expect((await asHolder(svc, refreshed.body.accessToken).get('/me')).status).toBe(200);
    });

    it('revokes the whole session when a spent refresh token comes back', async () => {
      const { email, userId } = await registerVerified(svc);
      const tokens = await loginTokens(svc, email, STRONG_PASSWORD);
      const next = await anonymous(svc).post<{ refreshToken: string }>('/auth/refresh', {
        refreshToken: tokens.refreshToken,
      });
      expect(next.status).toBe(200);

      // Presented again by another client (the grace window is for the same client only:
      // account-security.test.ts covers the same client after the window).
      const replay = await anonymous(svc, { userAgent: 'someone-else/1.0' }).post<{ type: string }>(
        '/auth/refresh',
        { refreshToken: tokens.refreshToken },
      );
      expect(replay.status).toBe(401);
      expect(replay.body.type).toBe(ProblemType.tokenReused);
      // The legitimate holder's newer token is dead too, and the gateway is told.
      expect(
        (await anonymous(svc).post('/auth/refresh', { refreshToken: next.body.refreshToken })).status,
      ).toBe(401);
      const status = await svc
        .as({ sub: 'anonymous' })
        .get<{ active: boolean; userId: string }>(`/internal/sessions/${tokens.sessionId}`);
      expect(status.body).toEqual({ active: false, userId, roles: [] });
      const revoked = await latestEvent<{ sessionIds: string[]; reason: string }>(
        svc,
        'wallet.identity.session.revoked.v1',
        userId,
      );
      expect(revoked).toEqual({ userId, sessionIds: [tokens.sessionId], reason: 'refresh-token-reuse' });
    });

    it('refuses an unknown refresh token without touching any session', async () => {
      const res = await anonymous(svc).post('/auth/refresh', { refreshToken: 'rt_not-a-token' });
      expect(res.status).toBe(401);
    });

    it('logs out: the session is revoked and its token no longer reaches the account', async () => {
      const { email, userId } = await registerVerified(svc);
      const tokens = await loginTokens(svc, email, STRONG_PASSWORD);
      const holder = asHolder(svc, tokens.accessToken);
      expect((await holder.post('/auth/logout')).status).toBe(204);
      expect((await holder.get('/me')).status).toBe(401);
      expect((await anonymous(svc).post('/auth/refresh', { refreshToken: tokens.refreshToken })).status).toBe(
        401,
      );
      expect((await latestEvent(svc, 'wallet.identity.session.revoked.v1', userId))?.['reason']).toBe(
        'logout',
      );
    });

    it('flags sign-ins from a device never seen before', async () => {
      const { email, userId } = await registerVerified(svc);
      await loginTokens(svc, email, STRONG_PASSWORD, { deviceId: 'phone-1' });
      expect((await latestEvent(svc, 'wallet.identity.session.created.v1', userId))?.['newDevice']).toBe(
        true,
      );
      await loginTokens(svc, email, STRONG_PASSWORD, { deviceId: 'phone-1' });
      expect((await latestEvent(svc, 'wallet.identity.session.created.v1', userId))?.['newDevice']).toBe(
        false,
      );
      await loginTokens(svc, email, STRONG_PASSWORD, { deviceId: 'laptop-2' });
      expect((await latestEvent(svc, 'wallet.identity.session.created.v1', userId))?.['newDevice']).toBe(
        true,
      );
    });

    it('upgrades a hash made with older parameters on the next sign-in', async () => {
      const { email, userId } = await registerVerified(svc);
      const { hash } = await import('@node-rs/argon2');
      const old = await hash(STRONG_PASSWORD, { memoryCost: 2048, timeCost: 1, parallelism: 1 });
      await svc.ownerDb.updateTable('users').set({ password_hash: old }).where('id', '=', userId).execute();
      await loginTokens(svc, email, STRONG_PASSWORD);
      const row = await svc.ownerDb
        .selectFrom('users')
        .select('password_hash')
        .where('id', '=', userId)
        .executeTakeFirstOrThrow();
      expect(row.password_hash).not.toBe(old);
      expect(row.password_hash).toMatch(/^\$argon2id\$v=19\$m=1024,t=1,p=1\$/);
    });
  });

  describe('account recovery', () => {
    it('answers known and unknown addresses in the same time (medians of 250 each within 0.5 ms)', async () => {
      const known = [];
      for (let i = 0; i < 5; i += 1) known.push((await registerVerified(svc)).email);
      const client = anonymous(svc);
      const timed = async (email: string) => {
        const started = performance.now();
        const res = await client.post('/auth/recovery', { email });
        const ms = performance.now() - started;
        expect(res.status).toBe(202);
        return ms;
      };
      const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)]!;
      for (let i = 0; i < 20; i += 1) await timed(uniqueEmail('warmup'));
      // Up to five rounds: on a loaded shared machine one round's medians can drift apart by chance,
      // while a real difference shows in every round (answering synchronously, as before, differed by
      // 4-5 ms in every round; the issue measured 2.3 ms).
      const rounds: { k: number; u: number }[] = [];
      for (let round = 0; round < 5; round += 1) {
        const times = { known: [] as number[], unknown: [] as number[] };
        // Pairs in random order, so both groups meet the same neighbours and the same machine load.
        for (let i = 0; i < 250; i += 1) {
          for (const isKnown of Math.random() < 0.5 ? [true, false] : [false, true]) {
            const ms = await timed(isKnown ? known[i % known.length]! : uniqueEmail('nobody'));
            (isKnown ? times.known : times.unknown).push(ms);
          }
        }
        rounds.push({ k: median(times.known), u: median(times.unknown) });
        if (Math.abs(rounds.at(-1)!.k - rounds.at(-1)!.u) <= 0.5) break;
      }
      const report = rounds.map((r) => `known ${r.k.toFixed(3)} ms, unknown ${r.u.toFixed(3)} ms`).join('; ');
      expect(Math.abs(rounds.at(-1)!.k - rounds.at(-1)!.u), report).toBeLessThanOrEqual(0.5);
    }, 180_000);

    it('answers 202 whether or not the account exists, and e-mails a code only to a real one', async () => {
      const { email, userId } = await registerVerified(svc);
      const unknown = await anonymous(svc).post('/auth/recovery', { email: uniqueEmail('nobody') });
      const known = await anonymous(svc).post('/auth/recovery', { email });
      expect(unknown.status).toBe(202);
      expect(known.status).toBe(202);
      expect(unknown.text).toBe(known.text);
      await recoveryEvents(svc, userId, 1);
      expect(await countEvents(svc, RECOVERY_V2, userId)).toBe(1);
      expect(await recoveryCodeFor(svc, { userId, email })).toMatch(/^[0-9]{8}$/);
    });

    it('resets the password with the code, revokes every session and notifies the user', async () => {
      const { email, userId } = await registerVerified(svc);
      const first = await loginTokens(svc, email, STRONG_PASSWORD);
      const second = await loginTokens(svc, email, STRONG_PASSWORD);
      await anonymous(svc).post('/auth/recovery', { email });
      const code = await recoveryCodeFor(svc, { userId, email });
      const wrong = code === '00000000' ? '11111111' : '00000000';

      const bad = await anonymous(svc).post<{ type: string }>('/auth/recovery/complete', {
        email,
        code: wrong,
        newPassword: OTHER_STRONG_PASSWORD,
      });
      expect(bad.status).toBe(400);
      expect(bad.body.type).toBe(ProblemType.invalidCode);
      const weak = await anonymous(svc).post('/auth/recovery/complete', {
        email,
        code,
        newPassword: 'password1234',
      });
      expect(weak.status).toBe(400);

      expect(
        (
          await anonymous(svc).post('/auth/recovery/complete', {
            email,
            code,
            newPassword: OTHER_STRONG_PASSWORD,
          })
        ).status,
      ).toBe(204);
      for (const tokens of [first, second]) {
        const status = await svc
          .as({ sub: 'anonymous' })
          .get<{ active: boolean }>(`/internal/sessions/${tokens.sessionId}`);
        expect(status.body.active).toBe(false);
      }
      expect((await latestEvent(svc, 'wallet.identity.password.changed.v1', userId))?.['via']).toBe(
        'recovery',
      );
      expect(
        (
          await latestEvent<{ reason: string; sessionIds: string[] }>(
            svc,
            'wallet.identity.session.revoked.v1',
            userId,
          )
        )?.sessionIds,
      ).toHaveLength(2);
      expect((await login(svc, email, STRONG_PASSWORD)).status).toBe(401);
      await loginTokens(svc, email, OTHER_STRONG_PASSWORD);
      // The code was single use.
      expect(
        (await anonymous(svc).post('/auth/recovery/complete', { email, code, newPassword: STRONG_PASSWORD }))
          .status,
      ).toBe(400);
    });

    it('a newer request replaces the pending code of an older one', async () => {
      const user = await registerVerified(svc);
      await anonymous(svc).post('/auth/recovery', { email: user.email });
      await recoveryEvents(svc, user.userId, 1);
      const older = await latestEvent<{ codeRef: string }>(svc, RECOVERY_V2, user.userId);
      await anonymous(svc).post('/auth/recovery', { email: user.email });
      await recoveryEvents(svc, user.userId, 2);
      const stale = await asNotification(svc).post<{ type: string }>(
        `/internal/one-time-codes/${older!.codeRef}/issue`,
        { recipient: user.email },
      );
      expect(stale.status).toBe(410);
      expect(stale.body.type).toBe(ProblemType.codeUnavailable);
      expect(await recoveryCodeFor(svc, user)).toMatch(/^[0-9]{8}$/);
    });

    it('answers a wrong code for an unknown address like one for a real account', async () => {
      const { email } = await registerVerified(svc);
      await anonymous(svc).post('/auth/recovery', { email });
      const body = { code: '12345678', newPassword: OTHER_STRONG_PASSWORD };
      const known = await anonymous(svc).post('/auth/recovery/complete', { email, ...body });
      const unknown = await anonymous(svc).post('/auth/recovery/complete', {
        email: uniqueEmail('nobody'),
        ...body,
      });
      expect(unknown.status).toBe(known.status);
      expect(unknown.body).toEqual(known.body);
    });
  });

  describe('one-time codes by reference (POST /internal/one-time-codes/{ref}/issue)', () => {
    async function pendingRef(): Promise<{ ref: string; userId: string; email: string }> {
      const user = await registerUser(svc);
      const event = await latestEvent<{ verificationCodeRef: string }>(svc, REGISTERED_V2, user.userId);
      return { ref: event!.verificationCodeRef, userId: user.userId, email: user.email };
    }

    it('answers only the notification service, and lets it call nothing else', async () => {
      const { ref, email } = await pendingRef();
      const fromGateway = await anonymous(svc).post<{ type: string }>(
        `/internal/one-time-codes/${ref}/issue`,
        {
          recipient: email,
        },
      );
      expect(fromGateway.status).toBe(403);
      expect(fromGateway.body.type).toBe(ProblemType.forbidden);
      const fromLedger = await svc
        .as({ sub: 'wallet-ledger' }, 'wallet-ledger')
        .post(`/internal/one-time-codes/${ref}/issue`, { recipient: email });
      expect(fromLedger.status).toBe(401);
      // A notification token is no key to the public API.
      const register = await asNotification(svc).post<{ type: string }>('/auth/register', {
        email: uniqueEmail('via-notification'),
        password: STRONG_PASSWORD,
      });
      expect(register.status).toBe(403);
      const recover = await asNotification(svc).post('/auth/recovery', { email });
      expect(recover.status).toBe(403);
      // None of the refused calls issued anything.
      const row = await svc.ownerDb
        .selectFrom('one_time_codes')
        .select('issued_count')
        .where('id', '=', ref)
        .executeTakeFirstOrThrow();
      expect(row.issued_count).toBe(0);
    });

    it('sends a code only to the address of the account', async () => {
      const { ref } = await pendingRef();
      const res = await asNotification(svc).post<{ type: string }>(`/internal/one-time-codes/${ref}/issue`, {
        recipient: 'attacker@example.test',
      });
      expect(res.status).toBe(409);
      expect(res.body.type).toBe(ProblemType.conflict);
      expect(res.body).not.toHaveProperty('code');
      const row = await svc.ownerDb
        .selectFrom('one_time_codes')
        .select(['issued_count', 'code_hash'])
        .where('id', '=', ref)
        .executeTakeFirstOrThrow();
      expect(row).toEqual({ issued_count: 0, code_hash: null });
    });

    it('refuses unknown, malformed, expired and over-issued references with problem+json', async () => {
      const unknown = await asNotification(svc).post<{ type: string }>(
        '/internal/one-time-codes/6f1d2c1e-0a4b-4d7e-9a57-3c1f1b2a9e10/issue',
        { recipient: 'a@example.test' },
      );
      expect(unknown.status).toBe(404);
      expect(unknown.body.type).toBe(ProblemType.notFound);
      const malformed = await asNotification(svc).post<{ type: string }>(
        '/internal/one-time-codes/123/issue',
        {
          recipient: 'a@example.test',
        },
      );
      expect(malformed.status).toBe(400);
      expect(malformed.body.type).toBe(ProblemType.validation);
      const noBody = await asNotification(svc).post<{ type: string }>('/internal/one-time-codes/123/issue');
      expect(noBody.status).toBe(400);

      const expired = await pendingRef();
      await svc.ownerDb
        .updateTable('one_time_codes')
        .set({ expires_at: new Date(Date.now() - 1000) })
        .where('id', '=', expired.ref)
        .execute();
      const late = await asNotification(svc).post<{ type: string }>(
        `/internal/one-time-codes/${expired.ref}/issue`,
        {
          recipient: expired.email,
        },
      );
      expect(late.status).toBe(410);
      expect(late.body.type).toBe(ProblemType.codeUnavailable);

      const busy = await pendingRef();
      for (let i = 0; i < 10; i += 1) await issueCode(svc, busy.ref, busy.email);
      const tooMany = await asNotification(svc).post<{ type: string }>(
        `/internal/one-time-codes/${busy.ref}/issue`,
        {
          recipient: busy.email,
        },
      );
      expect(tooMany.status).toBe(410);
      expect(tooMany.body.type).toBe(ProblemType.codeUnavailable);
    });

    it('counts wrong guesses made before the code was issued', async () => {
      const { ref, email } = await pendingRef();
      for (let i = 0; i < 5; i += 1) {
        expect((await anonymous(svc).post('/auth/verify-email', { email, code: '123456' })).status).toBe(400);
      }
      const burnt = await asNotification(svc).post(`/internal/one-time-codes/${ref}/issue`, {
        recipient: email,
      });
      expect(burnt.status).toBe(410);
    });
  });
});
