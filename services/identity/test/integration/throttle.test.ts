/**
 * Sign-in throttling with the default policy (real delays): failures slow their own source down, a
 * generous per-account ceiling and a per-address ceiling refuse only sources the account has never
 * signed in from, and nothing ever locks the owner out of their usual address or device.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { infraEnv, isShed, untilNotShed } from '@wallet/testing';
import { ProblemType } from '@wallet/contracts';
import {
  OTHER_STRONG_PASSWORD,
  STRONG_PASSWORD,
  anonymous,
  asHolder,
  countEvents,
  enrolTotp,
  latestEvent,
  login,
  loginTokens,
  recoveryCodeFor,
  registerVerified,
  startIdentity,
  totpCode,
  uniqueEmail,
  type IdentityTestService,
} from './helpers.ts';

const adminUrl = infraEnv('TEST_PG_ADMIN_URL');

let ipCounter = 0;
/** A fresh documentation address per use, so tests never share a source's counters. */
function freshIp(): string {
  ipCounter += 1;
  return `198.51.${100 + Math.floor(ipCounter / 250)}.${(ipCounter % 250) + 1}`;
}

describe.skipIf(!adminUrl)('identity: sign-in throttling (default policy)', () => {
  let svc: IdentityTestService;
  beforeAll(async () => {
    // The default policy but for the cheap argon2 of every suite: 3 free failures per account and
    // source, then 1 s, 2 s, 4 s...; 100 failures per account per hour; 20 per address per 15 min.
    svc = await startIdentity(adminUrl!, { LOGIN_DELAY_BASE_MS: '1000', LOGIN_IP_MAX_FAILURES: '20' });
  });
  afterAll(async () => {
    await svc?.stop();
  });

  it('slows the failing source down with growing delays and leaves the owner elsewhere alone', async () => {
    const { email, userId } = await registerVerified(svc);
    const attacker = { ip: freshIp() };
    const owner = { ip: freshIp() };
    for (let i = 0; i < 3; i += 1)
      expect((await login(svc, email, OTHER_STRONG_PASSWORD, attacker)).status).toBe(401);
    const refused = await login(svc, email, OTHER_STRONG_PASSWORD, attacker);
    expect(refused.status).toBe(429);
    expect(refused.body).toMatchObject({ type: ProblemType.rateLimited, status: 429 });
    expect(Number(refused.headers.get('retry-after'))).toBe(1);
    // Even the right password waits while its source owes a delay...
    expect((await login(svc, email, STRONG_PASSWORD, attacker)).status).toBe(429);
    // ...but the owner from elsewhere signs in at once, and nothing is locked.
    await loginTokens(svc, email, STRONG_PASSWORD, owner);
    expect(await latestEvent(svc, 'wallet.identity.user.locked.v1', userId)).toBeUndefined();

    // The delay doubles with each further failure.
    await new Promise((r) => setTimeout(r, 1_100));
    expect((await login(svc, email, OTHER_STRONG_PASSWORD, attacker)).status).toBe(401);
    const longer = await login(svc, email, OTHER_STRONG_PASSWORD, attacker);
    expect(longer.status).toBe(429);
    // 2 s after the fourth failure (1 s if the machine took a second to get here).
    expect(Number(longer.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(Number(longer.headers.get('retry-after'))).toBeLessThanOrEqual(2);
    expect(await countEvents(svc, 'wallet.identity.login.failed.v1', userId)).toBe(4);
  });

  it('stops 30 fast wrong passwords from one source after 3, in sequence and in a parallel burst', async () => {
    const { email, userId } = await registerVerified(svc);
    const sequential = { ip: freshIp() };
    const statuses: number[] = [];
    for (let i = 0; i < 30; i += 1)
      statuses.push((await login(svc, email, OTHER_STRONG_PASSWORD, sequential)).status);
    // 3 free; a machine slow enough to take a whole second between two answers lets one more through.
    const checked = statuses.filter((s) => s === 401).length;
    expect(checked).toBeGreaterThanOrEqual(3);
    expect(checked).toBeLessThanOrEqual(4);
    expect(statuses.slice(checked).every((s) => s === 429)).toBe(true);

    const parallel = { ip: freshIp() };
    const burst = await Promise.all(
      Array.from({ length: 30 }, () => login(svc, email, OTHER_STRONG_PASSWORD, parallel)),
    );
    const burstChecked = burst.filter((a) => a.status === 401).length;
    expect(burstChecked).toBeGreaterThanOrEqual(3);
    expect(burstChecked).toBeLessThanOrEqual(4);
    expect(burst.filter((a) => a.status === 429)).toHaveLength(30 - burstChecked);
    expect(await countEvents(svc, 'wallet.identity.login.failed.v1', userId)).toBe(checked + burstChecked);
  });

  it('throttles an address without an account exactly like a real one (no enumeration)', async () => {
    const { email } = await registerVerified(svc);
    const nobody = uniqueEmail('nobody');
    const source = { ip: freshIp() };
    const answers = [];
    for (const address of [email, nobody]) {
      for (let i = 0; i < 3; i += 1)
        expect((await login(svc, address, OTHER_STRONG_PASSWORD, source)).status).toBe(401);
      answers.push(await login(svc, address, OTHER_STRONG_PASSWORD, source));
    }
    expect(answers.map((a) => a.status)).toEqual([429, 429]);
    expect(answers[1]!.body).toEqual(answers[0]!.body);
    expect(answers[1]!.headers.get('retry-after')).toBe(answers[0]!.headers.get('retry-after'));
  });

  it('caps an account at 100 failures an hour from unknown sources; its known address and device still sign in', async () => {
    const { email } = await registerVerified(svc);
    const home = { ip: freshIp(), deviceId: 'owners-phone' };
    await loginTokens(svc, email, STRONG_PASSWORD, home);
    // An attacker rotating addresses, 3 guesses each (never delayed), until the ceiling refuses.
    let failures = 0;
    let refusedAt: number | undefined;
    for (let round = 0; round < 40 && refusedAt === undefined; round += 1) {
      const source = { ip: freshIp() };
      for (let i = 0; i < 3; i += 1) {
        const res = await login(svc, email, OTHER_STRONG_PASSWORD, source);
        if (res.status === 401) failures += 1;
        else {
          expect(res.status).toBe(429);
          refusedAt = failures;
          break;
        }
      }
    }
    expect(refusedAt).toBe(100);
    // A new address is refused, even with the right password (that is the ceiling's price)...
    expect((await login(svc, email, STRONG_PASSWORD, { ip: freshIp() })).status).toBe(429);
    // ...the owner's usual address signs in, and so does their phone from a new network.
    await loginTokens(svc, email, STRONG_PASSWORD, { ip: home.ip });
    await loginTokens(svc, email, STRONG_PASSWORD, { ip: freshIp(), deviceId: home.deviceId });
  });

  it('stops password spraying from one address after 20 failures, but not the accounts known there', async () => {
    const office = { ip: freshIp() };
    const regular = await registerVerified(svc);
    await loginTokens(svc, regular.email, STRONG_PASSWORD, office);
    const statuses: number[] = [];
    for (let i = 0; i < 30; i += 1)
      statuses.push((await login(svc, uniqueEmail('sprayed'), OTHER_STRONG_PASSWORD, office)).status);
    expect(statuses.slice(0, 20).every((s) => s === 401)).toBe(true);
    expect(statuses.slice(20).every((s) => s === 429)).toBe(true);
    // Someone who signs in from this office as usual is not affected; the sprayed accounts are not
    // touched elsewhere.
    await loginTokens(svc, regular.email, STRONG_PASSWORD, office);
    const elsewhere = await registerVerified(svc);
    await loginTokens(svc, elsewhere.email, STRONG_PASSWORD, { ip: freshIp() });
  });

  it('bounds a parallel spray to twice the address ceiling, yet lets 35 people behind one address sign in at once', async () => {
    const sprayer = { ip: freshIp() };
    const burst = await Promise.all(
      Array.from({ length: 80 }, () => login(svc, uniqueEmail('burst'), OTHER_STRONG_PASSWORD, sprayer)),
    );
    const checked = burst.filter((a) => a.status === 401).length;
    expect(checked).toBeGreaterThanOrEqual(20);
    expect(checked).toBeLessThanOrEqual(40);
    // The rest were refused unchecked: throttled (429), or shed while the machine is busy (503 overloaded).
    expect(burst.filter((a) => a.status === 429 || isShed(a))).toHaveLength(80 - checked);

    // 35 newcomers behind one address sign in for the first time, all at once: nobody is refused. (More
    // than twice the ceiling in flight at once, 40 here, waits 1 s: beyond the gateway's 600 a minute.)
    const office = { ip: freshIp() };
    const people = await Promise.all(Array.from({ length: 35 }, () => registerVerified(svc)));
    const answers = await Promise.all(
      people.map((p) => untilNotShed(() => login(svc, p.email, STRONG_PASSWORD, office))),
    );
    expect(answers.map((a) => a.status)).toEqual(people.map(() => 200));
  });

  it('counts wrong second-factor codes and recovery codes as failures of the account and source', async () => {
    const user = await registerVerified(svc);
    const source = { ip: freshIp() };
    const tokens = await loginTokens(svc, user.email, STRONG_PASSWORD, source);
    const { secret } = await enrolTotp(svc, tokens);
    const stepUpStatuses: number[] = [];
    for (let i = 0; i < 4; i += 1)
      stepUpStatuses.push(
        (await asHolder(svc, tokens.accessToken, source).post('/auth/step-up', { code: '000000' })).status,
      );
    expect(stepUpStatuses).toEqual([400, 400, 400, 429]);

    const recoverer = { ip: freshIp() };
    await anonymous(svc, recoverer).post('/auth/recovery', { email: user.email });
    const code = await recoveryCodeFor(svc, user);
    const wrong = code === '00000000' ? '11111111' : '00000000';
    const recoveryStatuses: number[] = [];
    for (let i = 0; i < 4; i += 1)
      recoveryStatuses.push(
        (
          await anonymous(svc, recoverer).post('/auth/recovery/complete', {
            email: user.email,
            code: wrong,
            newPassword: OTHER_STRONG_PASSWORD,
          })
        ).status,
      );
    expect(recoveryStatuses).toEqual([400, 400, 400, 429]);
    // The TOTP step-up from the owner's other source is untouched.
    expect(
      (
        await asHolder(svc, tokens.accessToken, { ip: freshIp() }).post('/auth/step-up', {
          code: await totpCode(secret, 1),
        })
      ).status,
    ).toBe(200);
  });
});
