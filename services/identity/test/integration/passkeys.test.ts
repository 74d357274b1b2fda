/**
 * Passkeys on the real service and PostgreSQL, with a software authenticator (soft-authenticator.ts):
 * registration, passwordless sign-in, the second step after a password, step-up, and the refusals
 * (spent challenge, wrong origin, other account's passkey, counter going back, malformed JSON).
 * The same flows in a real Chromium: packages/system-tests/test/browser.system.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeJwt } from 'jose';
import { infraEnv } from '@wallet/testing';
import { ProblemType, accessTokenClaimsSchema } from '@wallet/contracts';
import {
  STRONG_PASSWORD,
  anonymous,
  asHolder,
  enrolTotp,
  login,
  loginTokens,
  registerVerified,
  startIdentity,
  totpCode,
  type IdentityTestService,
  type Tokens,
} from './helpers.ts';
import { runHousekeeping } from '../../src/workers/housekeeping.ts';
import {
  SoftAuthenticator,
  type CreationOptionsJson,
  type RequestOptionsJson,
} from './soft-authenticator.ts';

const adminUrl = infraEnv('TEST_PG_ADMIN_URL');
const ORIGIN = 'https://app.wallet.test';
const RP_ID = 'wallet.test';

interface Options<T> {
  challengeId: string;
  options: T;
}

describe.skipIf(!adminUrl)('identity: passkeys', () => {
  let svc: IdentityTestService;
  beforeAll(async () => {
    svc = await startIdentity(adminUrl!, {
      WEBAUTHN_RP_ID: RP_ID,
      WEBAUTHN_ORIGINS: `${ORIGIN},https://wallet.test`,
    });
  });
  afterAll(async () => {
    await svc?.stop();
  });

  async function signedIn() {
    const user = await registerVerified(svc);
    const tokens = await loginTokens(svc, user.email, STRONG_PASSWORD);
    return { ...user, tokens };
  }

  async function addPasskey(tokens: Tokens, authenticator: SoftAuthenticator) {
    const client = asHolder(svc, tokens.accessToken);
    const start = await client.post<Options<CreationOptionsJson>>('/me/passkeys/registration/options');
    expect(start.status, start.text).toBe(200);
    const created = await client.post<{ passkeyId: string }>('/me/passkeys', {
      challengeId: start.body.challengeId,
      credential: authenticator.create(start.body.options),
      name: 'Laptop',
    });
    expect(created.status, created.text).toBe(201);
    return created.body.passkeyId;
  }

  async function passwordless(authenticator: SoftAuthenticator, overrides: { origin?: string } = {}) {
    const start = await anonymous(svc).post<Options<RequestOptionsJson>>('/auth/passkey/options', {});
    expect(start.status, start.text).toBe(200);
    const credential = authenticator.get(start.body.options, overrides);
    const answer = await anonymous(svc).post<Tokens & { type?: string }>('/auth/passkey/login', {
      challengeId: start.body.challengeId,
      credential,
    });
    return { answer, credential, challengeId: start.body.challengeId };
  }

  it('registers a discoverable, user-verified passkey for the RP and lists it', async () => {
    const user = await signedIn();
    const client = asHolder(svc, user.tokens.accessToken);
    const start = await client.post<Options<Record<string, unknown>>>('/me/passkeys/registration/options');
    expect(start.status).toBe(200);
    expect(start.body.options).toMatchObject({
      rp: { id: RP_ID, name: 'Wallet' },
      user: { name: user.email },
      authenticatorSelection: { residentKey: 'required', userVerification: 'required' },
      attestation: 'none',
    });
    const authenticator = new SoftAuthenticator(ORIGIN);
    const created = await client.post('/me/passkeys', {
      challengeId: start.body.challengeId,
      credential: authenticator.create(start.body.options as unknown as CreationOptionsJson),
    });
    expect(created.status, created.text).toBe(201);
    const list = await client.get<{ items: { name: string; lastUsedAt: string | null }[] }>('/me/passkeys');
    expect(list.body.items).toEqual([expect.objectContaining({ name: 'Passkey', lastUsedAt: null })]);
    const row = await svc.ownerDb
      .selectFrom('passkeys')
      .select(['credential_id', 'user_id'])
      .where('user_id', '=', user.userId)
      .executeTakeFirstOrThrow();
    expect(authenticator.keys.has(row.credential_id)).toBe(true);
  });

  it('signs in without a password at aal2 (amr pop, user, mfa); the same answer again is refused', async () => {
    const user = await signedIn();
    const authenticator = new SoftAuthenticator(ORIGIN);
    await addPasskey(user.tokens, authenticator);
    const { answer, credential, challengeId } = await passwordless(authenticator);
    expect(answer.status, answer.text).toBe(200);
    const claims = accessTokenClaimsSchema.parse(decodeJwt(answer.body.accessToken));
    expect(claims.sub).toBe(user.userId);
    expect(claims.acr).toBe('aal2');
    expect(claims.amr).toEqual(expect.arrayContaining(['pop', 'user', 'mfa']));
    const replay = await anonymous(svc).post<{ type: string }>('/auth/passkey/login', {
      challengeId,
      credential,
    });
    expect(replay.status).toBe(401);
    expect(replay.body.type).toBe(ProblemType.passkeyRejected);
    const list = await asHolder(svc, answer.body.accessToken).get<{ items: { lastUsedAt: string | null }[] }>(
      '/me/passkeys',
    );
    expect(list.body.items[0]?.lastUsedAt).not.toBeNull();
  });

  it('refuses an assertion made for another origin, an unverified user, and a counter that goes back', async () => {
    const user = await signedIn();
    const authenticator = new SoftAuthenticator(ORIGIN);
    await addPasskey(user.tokens, authenticator);

    const phished = await passwordless(authenticator, { origin: 'https://wallet-login.example' });
    expect(phished.answer.status).toBe(401);
    expect(phished.answer.body.type).toBe(ProblemType.passkeyRejected);

    const unverified = new SoftAuthenticator(ORIGIN, { userVerified: false });
    for (const [id, key] of authenticator.keys) unverified.keys.set(id, key);
    const noUv = await passwordless(unverified);
    expect(noUv.answer.status).toBe(401);

    // A cloned authenticator: its counter is behind what the server saw.
    const ok = await passwordless(authenticator);
    expect(ok.answer.status).toBe(200);
    for (const key of authenticator.keys.values()) key.count -= 2;
    const cloned = await passwordless(authenticator);
    expect(cloned.answer.status).toBe(401);
  });

  it("never lets one account's passkey open another account's session or step it up", async () => {
    const alice = await signedIn();
    const bob = await signedIn();
    const alicesKey = new SoftAuthenticator(ORIGIN);
    await addPasskey(alice.tokens, alicesKey);
    const bobsKey = new SoftAuthenticator(ORIGIN);
    await addPasskey(bob.tokens, bobsKey);

    const viaBob = asHolder(svc, bob.tokens.accessToken);
    const start = await viaBob.post<Options<RequestOptionsJson>>('/auth/step-up/passkey/options');
    expect(start.status).toBe(200);
    const [aliceCredentialId] = alicesKey.keys.keys();
    const stepUp = await viaBob.post<{ type: string }>('/auth/step-up/passkey', {
      challengeId: start.body.challengeId,
      credential: alicesKey.get(
        { ...start.body.options, allowCredentials: undefined },
        { credentialId: aliceCredentialId! },
      ),
    });
    expect(stepUp.status).toBe(401);
    expect(stepUp.body.type).toBe(ProblemType.passkeyRejected);

    // A passwordless answer naming Bob's user handle with Alice's key.
    const begin = await anonymous(svc).post<Options<RequestOptionsJson>>('/auth/passkey/options', {});
    const forged = alicesKey.get(begin.body.options);
    forged.response.userHandle = Buffer.from(bob.userId.replace(/-/g, ''), 'hex').toString('base64url');
    const mixed = await anonymous(svc).post('/auth/passkey/login', {
      challengeId: begin.body.challengeId,
      credential: forged,
    });
    expect(mixed.status).toBe(401);
  });

  it('steps a password session up with a passkey; a second passkey needs that step-up', async () => {
    const user = await signedIn();
    const laptop = new SoftAuthenticator(ORIGIN);
    await addPasskey(user.tokens, laptop);
    const client = asHolder(svc, user.tokens.accessToken);

    const refused = await client.post<{ type: string }>('/me/passkeys/registration/options');
    expect(refused.status).toBe(403);
    expect(refused.body.type).toBe(ProblemType.stepUpRequired);

    const start = await client.post<Options<RequestOptionsJson>>('/auth/step-up/passkey/options');
    expect(start.body.options.allowCredentials?.map((c) => c.id)).toEqual([...laptop.keys.keys()]);
    const stepped = await client.post<{ accessToken: string }>('/auth/step-up/passkey', {
      challengeId: start.body.challengeId,
      credential: laptop.get(start.body.options),
    });
    expect(stepped.status, stepped.text).toBe(200);
    const claims = accessTokenClaimsSchema.parse(decodeJwt(stepped.body.accessToken));
    expect(claims.acr).toBe('aal2');
    expect(claims.amr).toEqual(expect.arrayContaining(['pwd', 'pop', 'mfa']));

    const phone = new SoftAuthenticator('https://wallet.test');
    await addPasskey({ ...user.tokens, accessToken: stepped.body.accessToken }, phone);
    const list = await asHolder(svc, stepped.body.accessToken).get<{ items: { passkeyId: string }[] }>(
      '/me/passkeys',
    );
    expect(list.body.items).toHaveLength(2);

    // Removing one needs step-up too; with it, the passkey is gone and signs nobody in.
    const removeWithout = await client.delete(`/me/passkeys/${list.body.items[0]!.passkeyId}`);
    expect(removeWithout.status).toBe(403);
    const removed = await asHolder(svc, stepped.body.accessToken).delete(
      `/me/passkeys/${list.body.items[0]!.passkeyId}`,
    );
    expect(removed.status).toBe(204);
    const gone = await passwordless(laptop);
    expect(gone.answer.status).toBe(401);
  });

  it('finishes a password sign-in of an MFA account with a passkey instead of a code', async () => {
    const user = await signedIn();
    const totp = await enrolTotp(svc, user.tokens);
    const stepUp = await asHolder(svc, user.tokens.accessToken).post<{ accessToken: string }>(
      '/auth/step-up',
      {
        code: await totpCode(totp.secret, 1),
      },
    );
    expect(stepUp.status, stepUp.text).toBe(200);
    const key = new SoftAuthenticator(ORIGIN);
    await addPasskey({ ...user.tokens, accessToken: stepUp.body.accessToken }, key);

    const first = await login(svc, user.email, STRONG_PASSWORD);
    expect(first.body.mfaRequired).toBe(true);
    const start = await anonymous(svc).post<Options<RequestOptionsJson>>('/auth/passkey/options', {
      mfaToken: first.body.mfaToken,
    });
    expect(start.status, start.text).toBe(200);
    const credential = key.get(start.body.options);
    const withoutToken = await anonymous(svc).post('/auth/passkey/login', {
      challengeId: start.body.challengeId,
      credential,
    });
    expect(withoutToken.status).toBe(401);

    // The refused attempt spent that challenge: a fresh one, with the mfaToken.
    const again = await anonymous(svc).post<Options<RequestOptionsJson>>('/auth/passkey/options', {
      mfaToken: first.body.mfaToken,
    });
    const done = await anonymous(svc).post<Tokens>('/auth/passkey/login', {
      challengeId: again.body.challengeId,
      credential: key.get(again.body.options),
      mfaToken: first.body.mfaToken,
    });
    expect(done.status, done.text).toBe(200);
    const claims = accessTokenClaimsSchema.parse(decodeJwt(done.body.accessToken));
    expect(claims.amr).toEqual(expect.arrayContaining(['pwd', 'pop', 'mfa']));
    expect(claims.acr).toBe('aal2');
    // The password step is spent.
    const reuse = await anonymous(svc).post('/auth/passkey/options', { mfaToken: first.body.mfaToken });
    expect(reuse.status).toBe(401);
  });

  it("refuses a crafted credential id outside WebAuthn's bounds with 401, not a database error", async () => {
    const user = await signedIn();
    const client = asHolder(svc, user.tokens.accessToken);
    const start = await client.post<Options<CreationOptionsJson>>('/me/passkeys/registration/options');
    const created = await client.post<{ type: string }>('/me/passkeys', {
      challengeId: start.body.challengeId,
      credential: new SoftAuthenticator(ORIGIN).create(start.body.options, { credentialIdBytes: 8 }),
    });
    expect(created.status).toBe(401);
    expect(created.body.type).toBe(ProblemType.passkeyRejected);
  });

  it('housekeeping deletes expired challenges (anyone may ask for one) and keeps live ones', async () => {
    const expired = await anonymous(svc).post<Options<RequestOptionsJson>>('/auth/passkey/options', {});
    const live = await anonymous(svc).post<Options<RequestOptionsJson>>('/auth/passkey/options', {});
    await svc.ownerDb
      .updateTable('webauthn_challenges')
      .set({ expires_at: new Date(Date.now() - 1000) })
      .where('id', '=', expired.body.challengeId)
      .execute();
    await runHousekeeping(svc.ownerDb, svc.running.context.config);
    const left = await svc.ownerDb
      .selectFrom('webauthn_challenges')
      .select('id')
      .where('id', 'in', [expired.body.challengeId, live.body.challengeId])
      .execute();
    expect(left.map((r) => r.id)).toEqual([live.body.challengeId]);
  });

  it('answers malformed ceremony bodies with 400 problems, never 500', async () => {
    const user = await signedIn();
    const client = asHolder(svc, user.tokens.accessToken);
    const cases: [string, unknown][] = [
      ['/auth/passkey/login', { challengeId: 'nope', credential: {} }],
      [
        '/auth/passkey/login',
        { challengeId: crypto.randomUUID(), credential: { id: 'a b', type: 'public-key' } },
      ],
      ['/auth/passkey/options', { mfaToken: '', extra: true }],
    ];
    for (const [path, body] of cases) {
      const res = await anonymous(svc).post<{ type: string }>(path, body);
      expect(res.status, `${path} ${JSON.stringify(body)}`).toBe(400);
      expect(res.body.type).toBe(ProblemType.validation);
    }
    const garbage = await client.post<{ type: string }>('/me/passkeys', {
      challengeId: (await client.post<{ challengeId: string }>('/me/passkeys/registration/options')).body
        .challengeId,
      credential: {
        id: 'AAAAAAAAAAAAAAAAAAAAAA',
        rawId: 'AAAAAAAAAAAAAAAAAAAAAA',
        type: 'public-key',
        response: { clientDataJSON: 'e30', attestationObject: 'oA' },
        clientExtensionResults: {},
      },
    });
    expect(garbage.status).toBe(401);
    expect(garbage.body.type).toBe(ProblemType.passkeyRejected);
    const unknownChallenge = await anonymous(svc).post<{ type: string }>('/auth/passkey/login', {
      challengeId: crypto.randomUUID(),
      credential: new SoftAuthenticator(ORIGIN).create({
        challenge: 'x',
        rp: { id: RP_ID },
        user: { id: 'AA' },
      }),
    });
    expect(unknownChallenge.status).toBe(400);
  });
});
