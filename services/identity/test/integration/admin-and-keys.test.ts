// Longer than 400 lines: tokens, keys, the operator CLI and admin routes share one service start and its signing keys.
/** Access tokens and JWKS, key rotation, the operator CLI, admin routes and event delivery. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify, type JSONWebKeySet } from 'jose';
import { infraEnv, waitFor } from '@wallet/testing';
import {
  ACCESS_TOKEN_AUDIENCE,
  ACCESS_TOKEN_ISSUER,
  ProblemType,
  accessTokenClaimsSchema,
  type CloudEvent,
} from '@wallet/contracts';
import { createEmbeddedPlatform } from '@wallet/platform';
import {
  STRONG_PASSWORD,
  anonymous,
  asHolder,
  enrolTotp,
  latestEvent,
  login,
  loginTokens,
  registerUser,
  registerVerified,
  runCli,
  startIdentity,
  totpCode,
  uniqueEmail,
  type IdentityTestService,
  type Tokens,
} from './helpers.ts';

const adminUrl = infraEnv('TEST_PG_ADMIN_URL');

describe.skipIf(!adminUrl)('identity: tokens, keys, CLI and administration', () => {
  let svc: IdentityTestService;
  beforeAll(async () => {
    svc = await startIdentity(adminUrl!);
  });
  afterAll(async () => {
    await svc?.stop();
  });

  async function jwks(): Promise<JSONWebKeySet> {
    const res = await svc.as({ sub: 'anonymous' }).get<JSONWebKeySet>('/.well-known/jwks.json');
    expect(res.status).toBe(200);
    return res.body;
  }

  async function verifyAccessToken(token: string, currentDate?: Date) {
    return jwtVerify(token, createLocalJWKSet(await jwks()), {
      issuer: ACCESS_TOKEN_ISSUER,
      audience: ACCESS_TOKEN_AUDIENCE,
      algorithms: ['ES256'],
      ...(currentDate ? { currentDate } : {}),
    });
  }

  describe('access tokens', () => {
    it('are ES256 JWTs with a kid, verifiable with the JWKS, carrying the contract claims for ten minutes', async () => {
      const user = await registerVerified(svc);
      const tokens = await loginTokens(svc, user.email, STRONG_PASSWORD);
      const { payload, protectedHeader } = await verifyAccessToken(tokens.accessToken);
      expect(protectedHeader.alg).toBe('ES256');
      expect(protectedHeader.kid).toBeTruthy();
      const claims = accessTokenClaimsSchema.parse(payload);
      expect(claims).toMatchObject({
        sub: user.userId,
        sid: tokens.sessionId,
        roles: ['user'],
        acr: 'aal1',
        amr: ['pwd'],
      });
      expect(claims.exp - claims.iat).toBe(600);
      const keys = await jwks();
      expect(keys.keys.every((k) => !('d' in k))).toBe(true);
    });

    it('refuses tampered and expired tokens', async () => {
      const user = await registerVerified(svc);
      const { accessToken } = await loginTokens(svc, user.email, STRONG_PASSWORD);
      const [header, payload, signature] = accessToken.split('.');
      const claims = JSON.parse(Buffer.from(payload!, 'base64url').toString()) as Record<string, unknown>;
      const forged = Buffer.from(JSON.stringify({ ...claims, roles: ['user', 'admin'] })).toString(
        'base64url',
      );
      await expect(verifyAccessToken(`${header}.${forged}.${signature}`)).rejects.toThrow(/signature/);
      const flipped = `${signature!.slice(0, -2)}${signature!.endsWith('AA') ? 'BB' : 'AA'}`;
      await expect(verifyAccessToken(`${header}.${payload}.${flipped}`)).rejects.toThrow();
      await expect(verifyAccessToken(accessToken, new Date(Date.now() + 601_000))).rejects.toThrow(/exp/);
    });

    it('publishes a rotated-in key before it signs, keeps the old one until its tokens expire', async () => {
      const user = await registerVerified(svc);
      const before = await loginTokens(svc, user.email, STRONG_PASSWORD);
      const oldKid = decodeProtectedHeader(before.accessToken).kid;

      const rotated = await runCli(svc, ['rotate-signing-key']);
      expect(rotated.code).toBe(0);
      const out = JSON.parse(rotated.stdout) as {
        activeKid: string;
        nextKid: string;
        nextActivatesAt: string;
        retiredKid: string | null;
      };
      // Scheduled, not switched: the next key is in the JWKS at once and signs nothing yet (ASVS 7.2 / key
      // pre-publication: every verifier's cached JWKS knows it before its first token arrives).
      expect(out.activeKid).toBe(oldKid);
      expect(out.retiredKid).toBeNull();
      expect(new Date(out.nextActivatesAt).getTime()).toBeGreaterThan(Date.now() + 800_000);
      expect((await jwks()).keys.map((k) => k.kid)).toEqual(expect.arrayContaining([oldKid, out.nextKid]));
      await new Promise((r) => setTimeout(r, 1_100)); // past the replica's 1 s key cache
      const meanwhile = await loginTokens(svc, user.email, STRONG_PASSWORD);
      expect(decodeProtectedHeader(meanwhile.accessToken).kid).toBe(oldKid);
      // A second rotation while one is scheduled keeps the scheduled key.
      const again = JSON.parse((await runCli(svc, ['rotate-signing-key'])).stdout) as { nextKid: string };
      expect(again.nextKid).toBe(out.nextKid);

      // The pre-publication time passes: the next key signs, the old one is retired but still published.
      await svc.ownerDb
        .updateTable('signing_keys')
        .set({ activates_at: new Date(Date.now() - 1_000) })
        .where('kid', '=', out.nextKid)
        .execute();
      const after = await waitFor(
        async () => {
          const t = await loginTokens(svc, user.email, STRONG_PASSWORD);
          return decodeProtectedHeader(t.accessToken).kid === out.nextKid ? t : undefined;
        },
        { timeoutMs: 5_000, intervalMs: 200, what: 'tokens signed with the new key' },
      );
      const old = await svc.ownerDb
        .selectFrom('signing_keys')
        .select(['status', 'publish_until'])
        .where('kid', '=', oldKid!)
        .executeTakeFirstOrThrow();
      expect(old.status).toBe('retired');
      expect(old.publish_until!.getTime()).toBeGreaterThan(Date.now() + 600_000);
      const kids = (await jwks()).keys.map((k) => k.kid);
      expect(kids).toEqual(expect.arrayContaining([oldKid, out.nextKid]));
      await verifyAccessToken(before.accessToken);
      await verifyAccessToken(after.accessToken);

      // Once every token of the old key has expired, the key leaves the JWKS and its tokens fail.
      await svc.ownerDb
        .updateTable('signing_keys')
        .set({ publish_until: new Date(Date.now() - 1_000) })
        .where('kid', '=', oldKid!)
        .execute();
      expect((await jwks()).keys.map((k) => k.kid)).not.toContain(oldKid);
      await expect(verifyAccessToken(before.accessToken)).rejects.toThrow();
    });

    it('replaces a compromised key at once with --now', async () => {
      const user = await registerVerified(svc);
      const before = await loginTokens(svc, user.email, STRONG_PASSWORD);
      const oldKid = decodeProtectedHeader(before.accessToken).kid;
      const rotated = await runCli(svc, ['rotate-signing-key', '--now']);
      expect(rotated.code).toBe(0);
      const out = JSON.parse(rotated.stdout) as {
        activeKid: string;
        nextKid: string | null;
        retiredKid: string;
      };
      expect(out.retiredKid).toBe(oldKid);
      expect(out.nextKid).toBeNull();
      await waitFor(
        async () => {
          const t = await loginTokens(svc, user.email, STRONG_PASSWORD);
          return decodeProtectedHeader(t.accessToken).kid === out.activeKid ? t : undefined;
        },
        { timeoutMs: 5_000, intervalMs: 200, what: 'tokens signed with the replacement key' },
      );
    });

    it('stores signing keys sealed at rest', async () => {
      const rows = await svc.ownerDb.selectFrom('signing_keys').select(['private_jwk_sealed']).execute();
      expect(rows.length).toBeGreaterThan(0);
      for (const row of rows) {
        expect(row.private_jwk_sealed).toMatch(/^v1\./);
        expect(row.private_jwk_sealed).not.toContain('"d"');
      }
    });
  });

  describe('operator CLI', () => {
    it('creates the first admin, and refuses a duplicate or a weak password', async () => {
      const email = uniqueEmail('root');
      const created = await runCli(svc, ['create-admin', '--email', email, '--password', STRONG_PASSWORD]);
      expect(created.code).toBe(0);
      const tokens = await loginTokens(svc, email, STRONG_PASSWORD);
      expect(
        accessTokenClaimsSchema.parse((await verifyAccessToken(tokens.accessToken)).payload).roles,
      ).toEqual(['user', 'admin']);

      const dup = await runCli(svc, ['create-admin', '--email', email, '--password', STRONG_PASSWORD]);
      expect(dup.code).toBe(1);
      expect(dup.stderr).toMatch(/already exists/);
      const weak = await runCli(svc, [
        'create-admin',
        '--email',
        uniqueEmail('root'),
        '--password',
        'password1234',
      ]);
      expect(weak.code).toBe(1);
      expect(weak.stderr).not.toContain('password1234');
      const viaStdin = await runCli(
        svc,
        ['create-admin', '--email', uniqueEmail('root'), '--password-stdin'],
        `${STRONG_PASSWORD}\n`,
      );
      expect(viaStdin.code).toBe(0);
    });
  });

  describe('administration', () => {
    let admin: { email: string; secret: string; stepped: Tokens; userId: string };

    beforeAll(async () => {
      const email = uniqueEmail('admin');
      expect(
        (await runCli(svc, ['create-admin', '--email', email, '--password', STRONG_PASSWORD])).code,
      ).toBe(0);
      const tokens = await loginTokens(svc, email, STRONG_PASSWORD);
      const { secret } = await enrolTotp(svc, tokens);
      const first = await login(svc, email, STRONG_PASSWORD);
      const stepped = await anonymous(svc).post<Tokens>('/auth/login/mfa', {
        mfaToken: first.body.mfaToken,
        code: await totpCode(secret, 1),
      });
      expect(stepped.status).toBe(200);
      admin = {
        email,
        secret,
        stepped: stepped.body,
        userId: accessTokenClaimsSchema.parse((await verifyAccessToken(stepped.body.accessToken)).payload)
          .sub,
      };
    });

    it('finds users by e-mail prefix', async () => {
      const target = await registerUser(svc, uniqueEmail('findme'));
      const res = await asHolder(svc, admin.stepped.accessToken).get<{
        items: { userId: string; email: string; status: string }[];
      }>(`/admin/users?email=${encodeURIComponent(target.email.slice(0, 20).toUpperCase())}`);
      expect(res.status).toBe(200);
      expect(res.body.items.map((i) => i.userId)).toContain(target.userId);
      expect(res.body.items.every((i) => i.email.startsWith(target.email.slice(0, 20)))).toBe(true);
    });

    it('requires a stepped-up session and the right role', async () => {
      const plain = await loginTokens(svc, admin.email, STRONG_PASSWORD, {}).catch(() => undefined);
      expect(plain).toBeUndefined(); // MFA is on: a password alone gives no tokens
      const user = await registerVerified(svc);
      const userTokens = await loginTokens(svc, user.email, STRONG_PASSWORD);
      expect((await asHolder(svc, userTokens.accessToken, { acr: 'aal2' }).get('/admin/users')).status).toBe(
        403,
      );
      // An aal2 claim without a stepped-up session is not enough.
      await svc.ownerDb
        .updateTable('sessions')
        .set({ step_up_until: null })
        .where('id', '=', userTokens.sessionId)
        .execute();
      await svc.ownerDb
        .updateTable('users')
        .set({ roles: ['user', 'support'] })
        .where('id', '=', user.userId)
        .execute();
      const support = await asHolder(svc, userTokens.accessToken, {
        acr: 'aal2',
        roles: ['user', 'support'],
      }).get<{ type: string }>('/admin/users');
      expect(support.status).toBe(403);
      expect(support.body.type).toBe(ProblemType.stepUpRequired);
    });

    it('locks a user (sessions revoked, user notified) and unlocks them', async () => {
      const target = await registerVerified(svc);
      const tokens = await loginTokens(svc, target.email, STRONG_PASSWORD);
      const adminClient = asHolder(svc, admin.stepped.accessToken);
      expect(
        (await adminClient.post(`/admin/users/${target.userId}/lock`, { reason: 'fraud investigation' }))
          .status,
      ).toBe(204);
      const status = await svc
        .as({ sub: 'anonymous' })
        .get<{ active: boolean }>(`/internal/sessions/${tokens.sessionId}`);
      expect(status.body.active).toBe(false);
      expect(await latestEvent(svc, 'wallet.identity.user.locked.v1', target.userId)).toMatchObject({
        reason: 'admin',
        lockedUntil: null,
      });
      expect((await latestEvent(svc, 'wallet.identity.session.revoked.v1', target.userId))?.['reason']).toBe(
        'account-locked',
      );

      const refused = await login(svc, target.email, STRONG_PASSWORD);
      expect(refused.status).toBe(403);
      expect((refused.body as unknown as { type: string }).type).toBe(ProblemType.accountLocked);
      // A wrong password still says only "invalid credentials".
      expect((await login(svc, target.email, 'not-the-password-at-all-1')).status).toBe(401);

      expect((await adminClient.post(`/admin/users/${target.userId}/unlock`)).status).toBe(204);
      await loginTokens(svc, target.email, STRONG_PASSWORD);
    });

    it('sets roles (admin only), and never leaves the platform without an admin', async () => {
      const target = await registerVerified(svc);
      const adminClient = asHolder(svc, admin.stepped.accessToken);
      const res = await adminClient.put<{ roles: string[] }>(`/admin/users/${target.userId}/roles`, {
        roles: ['support'],
      });
      expect(res.status).toBe(200);
      expect(res.body.roles).toEqual(['user', 'support']);
      const tokens = await loginTokens(svc, target.email, STRONG_PASSWORD);
      expect(
        accessTokenClaimsSchema.parse((await verifyAccessToken(tokens.accessToken)).payload).roles,
      ).toEqual(['user', 'support']);
      const bad = await adminClient.put(`/admin/users/${target.userId}/roles`, { roles: ['root'] });
      expect(bad.status).toBe(400);
      expect((await adminClient.post(`/admin/users/${admin.userId}/lock`)).status).toBe(409);
      expect(
        (
          await adminClient.put(`/admin/users/00000000-0000-4000-8000-000000000000/roles`, {
            roles: ['user'],
          })
        ).status,
      ).toBe(404);
    });

    it('ends every session of a user whose roles change, and reports the current roles to the gateway', async () => {
      const target = await registerVerified(svc);
      const adminClient = asHolder(svc, admin.stepped.accessToken);
      expect(
        (await adminClient.put(`/admin/users/${target.userId}/roles`, { roles: ['support'] })).status,
      ).toBe(200);
      const tokens = await loginTokens(svc, target.email, STRONG_PASSWORD);
      const introspect = () =>
        svc
          .as({ sub: 'anonymous' })
          .get<{ active: boolean; userId: string; roles: string[] }>(
            `/internal/sessions/${tokens.sessionId}`,
          );
      expect((await introspect()).body).toEqual({
        active: true,
        userId: target.userId,
        roles: ['user', 'support'],
      });

      expect((await adminClient.put(`/admin/users/${target.userId}/roles`, { roles: ['user'] })).status).toBe(
        200,
      );
      expect((await introspect()).body).toEqual({ active: false, userId: target.userId, roles: [] });
      const revoked = await latestEvent<{ sessionIds: string[]; reason: string }>(
        svc,
        'wallet.identity.session.revoked.v1',
        target.userId,
      );
      expect(revoked).toMatchObject({ reason: 'roles-changed', sessionIds: [tokens.sessionId] });
      // The refresh family dies with the session.
      expect(
        (await svc.as({ sub: 'anonymous' }).post('/auth/refresh', { refreshToken: tokens.refreshToken }))
          .status,
      ).toBe(401);
      // Setting the same roles again changes nothing and ends nothing.
      const again = await loginTokens(svc, target.email, STRONG_PASSWORD);
      expect((await adminClient.put(`/admin/users/${target.userId}/roles`, { roles: ['user'] })).status).toBe(
        200,
      );
      const still = await svc
        .as({ sub: 'anonymous' })
        .get<{ active: boolean }>(`/internal/sessions/${again.sessionId}`);
      expect(still.body.active).toBe(true);
    });
  });

  describe('events', () => {
    it('reach subscribers through the outbox relay', async () => {
      const notification = createEmbeddedPlatform({
        appId: 'notification',
        bus: svc.bus,
        logger: svc.running.context.logger,
      });
      const received: CloudEvent<unknown>[] = [];
      notification.subscribe('identity.user.registered.v2', (event) => {
        received.push(event);
        return Promise.resolve('SUCCESS');
      });
      try {
        const user = await registerUser(svc);
        const event = await waitFor(
          () => received.find((e) => (e.data as { userId: string }).userId === user.userId),
          {
            timeoutMs: 10_000,
            what: 'user.registered on the bus',
          },
        );
        expect(event.type).toBe('wallet.identity.user.registered.v2');
        expect(event.source).toBe('identity');
        // A reference to the pending code travels, never the code.
        expect((event.data as { verificationCodeRef: string }).verificationCodeRef).toMatch(
          /^[0-9a-f-]{36}$/,
        );
        expect(JSON.stringify(event)).not.toMatch(/verificationCode"/);
      } finally {
        await notification.close();
      }
    });
  });

  it('serves its OpenAPI document', async () => {
    const res = await svc
      .as({ sub: 'anonymous' })
      .get<{ openapi: string; paths: Record<string, unknown> }>('/openapi.json');
    expect(res.status).toBe(200);
    expect(res.body.openapi).toBe('3.1.0');
    expect(Object.keys(res.body.paths)).toEqual(
      expect.arrayContaining(['/v1/auth/login', '/v1/me/sessions/{id}', '/.well-known/jwks.json']),
    );
  });
});
