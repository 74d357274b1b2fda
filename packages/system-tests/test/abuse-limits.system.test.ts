/**
 * Abuse limits against the traffic they will meet, through the public gateway of the whole platform
 * (embedded mode, real identity on PostgreSQL counting failed sign-ins) with the gateway's counters
 * on the real Redis of infra/local.sh, as in the Dapr and cluster modes. The gateway trusts loopback
 * as its proxy here, so each scenario chooses its client addresses with X-Forwarded-For.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmbeddedPlatform, type EmbeddedPlatform } from '@wallet/embedded-host';
import { infraEnv, untilNotShed } from '@wallet/testing';
import {
  PublicClient,
  expectThrottled,
  guessPasswords,
  onboardFromOneAddress,
  recoveryTimings,
  registeredOwner,
} from '../src/abuse-limits.ts';

const redisUrl = infraEnv('REDIS_URL');
// Below Linux's ephemeral range (32768-60999), apart from the other embedded suites' ports.
const ports = { postgresPort: 25513, httpsPort: 28513, httpPort: 28514 };
const prefix = `systest:${randomUUID().slice(0, 8)}:`;
let platform: EmbeddedPlatform | undefined;
let dataDir: string | undefined;
let client: PublicClient;

let ipCounter = 0;
/** A fresh client address (TEST-NET-2/3 and benchmark ranges) per use. */
function freshIp(): string {
  ipCounter += 1;
  return `198.18.${Math.floor(ipCounter / 250)}.${(ipCounter % 250) + 1}`;
}

describe.skipIf(!redisUrl)('system (embedded, gateway on Redis): abuse limits', () => {
  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'wallet-abuse-'));
    platform = await startEmbeddedPlatform({
      dataDir,
      ...ports,
      logLevel: process.env['TEST_LOG_LEVEL'] ?? 'silent',
      // Default limits: the policies as they ship. Cheap argon2, because hundreds of sign-ups and wrong
      // passwords on a shared 2-core machine are not what is measured here (embedded.system.test.ts
      // onboards its 25 people with the default argon2 cost).
      serviceEnv: {
        'api-gateway': { REDIS_URL: redisUrl!, REDIS_KEY_PREFIX: prefix, TRUSTED_PROXIES: 'loopback' },
        identity: { ARGON2_MEMORY_KIB: '1024', ARGON2_TIME_COST: '1' },
      },
    });
    client = new PublicClient(platform.gatewayUrl, platform.certificate);
  }, 120_000);

  afterAll(async () => {
    await client?.close();
    await platform?.stop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  }, 60_000);

  it('lets 25 people behind one address sign up, verify, sign in, enrol TOTP and step up within 60 s, no 429', async () => {
    const office = freshIp();
    const { elapsedMs, statuses } = await onboardFromOneAddress(client, { people: 25, ip: office });
    expect(statuses).toHaveLength(25 * 6);
    expect(statuses).not.toContain(429);
    expect(elapsedMs).toBeLessThan(60_000);
    // The gateway's counters for that address live in Redis (shared by every gateway replica).
    const redis = new Redis(redisUrl!);
    try {
      expect(await redis.keys(`${prefix}rl:signup*`)).not.toHaveLength(0);
      expect(await redis.keys(`${prefix}rl:login*`)).not.toHaveLength(0);
    } finally {
      redis.disconnect();
    }
  });

  it('stops 30 wrong passwords against one account after at most 10', async () => {
    const owner = await registeredOwner(client, freshIp(), freshIp());
    const statuses = await guessPasswords(client, owner.email, freshIp(), 30);
    const checked = statuses.filter((s) => s === 401).length;
    expect(checked).toBeGreaterThan(0);
    expect(checked).toBeLessThanOrEqual(10);
    // (Every other answer was a 429 problem with Retry-After and RateLimit: guessPasswords checks.)
    expect(statuses.filter((s) => s === 429)).toHaveLength(30 - checked);
  });

  it('stops one wrong password each against 100 accounts from one address after at most 20', async () => {
    const accounts: string[] = [];
    // 100 real accounts, registered from ten addresses (ten people each), a few at a time.
    for (let batch = 0; batch < 10; batch += 1) {
      const ip = freshIp();
      const emails = Array.from({ length: 10 }, () => `sprayed+${randomUUID().slice(0, 12)}@example.com`);
      const answers = await Promise.all(
        // A busy machine may shed a sign-up (503 overloaded + Retry-After): sent again, as a client does.
        emails.map((email) =>
          untilNotShed(() =>
            client.call('POST', '/v1/auth/register', {
              ip,
              body: { email, password: `correct horse ${randomUUID()}` },
            }),
          ),
        ),
      );
      expect(answers.map((a) => a.status)).toEqual(emails.map(() => 202));
      accounts.push(...emails);
    }
    const sprayer = freshIp();
    const statuses: number[] = [];
    for (const email of accounts) {
      const res = await client.call('POST', '/v1/auth/login', {
        ip: sprayer,
        body: { email, password: 'Summer2026!' },
      });
      statuses.push(res.status);
      if (res.status !== 401) expectThrottled(res);
    }
    const checked = statuses.filter((s) => s === 401).length;
    expect(checked).toBeLessThanOrEqual(20);
    expect(statuses.filter((s) => s === 429)).toHaveLength(100 - checked);
  });

  it('lets the owner sign in from their usual address while attackers are throttled, even past the account ceiling', async () => {
    const home = freshIp();
    const owner = await registeredOwner(client, freshIp(), home);
    const attacker = freshIp();
    await guessPasswords(client, owner.email, attacker, 30);
    // A patient attacker waits out each delay; the delays double (1 s, 2 s, 4 s...).
    let refused = await client.call('POST', '/v1/auth/login', {
      ip: attacker,
      body: { email: owner.email, password: 'guess' },
    });
    while (refused.status !== 429 || Number(refused.headers.get('retry-after')) < 4) {
      if (refused.status === 429)
        await new Promise((r) => setTimeout(r, Number(refused.headers.get('retry-after')) * 1000));
      refused = await client.call('POST', '/v1/auth/login', {
        ip: attacker,
        body: { email: owner.email, password: 'guess' },
      });
    }
    expectThrottled(refused);
    // Meanwhile the owner at home signs in...
    expect((await client.call('POST', '/v1/auth/login', { ip: home, body: owner })).status).toBe(200);
    // ...and the attacker's address is still being throttled, even with the right password.
    expectThrottled(await client.call('POST', '/v1/auth/login', { ip: attacker, body: owner }));

    // The attack: wrong passwords from rotating addresses, until the account's ceiling.
    let failures = 0;
    let ceiling = false;
    while (!ceiling && failures < 200) {
      const ip = freshIp();
      for (let i = 0; i < 3 && !ceiling; i += 1) {
        const res = await client.call('POST', '/v1/auth/login', {
          ip,
          body: { email: owner.email, password: `guess ${failures}` },
        });
        if (res.status === 401) failures += 1;
        else {
          expectThrottled(res);
          ceiling = true;
        }
      }
    }
    expect(ceiling).toBe(true);
    expect(failures).toBeLessThanOrEqual(100);
    // New addresses are now refused (the price of the ceiling), the owner's usual one is not.
    expectThrottled(await client.call('POST', '/v1/auth/login', { ip: freshIp(), body: owner }));
    const signedIn = await client.call<{ accessToken: string }>('POST', '/v1/auth/login', {
      ip: home,
      body: owner,
    });
    expect(signedIn.status).toBe(200);
    expect(signedIn.body.accessToken).toEqual(expect.any(String));
  });

  it('answers recovery for known and unknown addresses in the same time (medians of 220 each within 0.5 ms)', async () => {
    const known = [];
    for (let i = 0; i < 5; i += 1) known.push((await registeredOwner(client, freshIp(), freshIp())).email);
    // Up to five rounds: on a loaded shared machine (load 15-30 here) one round's medians can drift
    // apart by chance, while a real difference shows in every round (answering synchronously, as before,
    // differed by 4-5 ms in every round; the issue measured 2.3 ms).
    const rounds: { knownMs: number; unknownMs: number }[] = [];
    for (let round = 0; round < 5; round += 1) {
      const { knownMs, unknownMs, bodiesAlike } = await recoveryTimings(client, {
        known,
        perGroup: 220,
        ip: freshIp(),
      });
      expect(bodiesAlike).toBe(true);
      rounds.push({ knownMs, unknownMs });
      if (Math.abs(knownMs - unknownMs) <= 0.5) break;
    }
    const report = rounds
      .map((r) => `known ${r.knownMs.toFixed(3)} ms, unknown ${r.unknownMs.toFixed(3)} ms`)
      .join('; ');
    const last = rounds.at(-1)!;
    expect(Math.abs(last.knownMs - last.unknownMs), report).toBeLessThanOrEqual(0.5);
  }, 240_000);
});
