/**
 * The platform's abuse limits as the traffic they meet sees them, through the public gateway only,
 * written once for every mode:
 *
 * - many people behind one address (an office NAT) sign up, verify, sign in, enrol TOTP and step up
 *   at the same time: no 429;
 * - an attacker tries 30 passwords on one account, or one password each on many accounts, from one
 *   address: stopped early, with 429 + Retry-After + RateLimit;
 * - while an attacker's address is throttled, the owner signs in from their usual address;
 * - a recovery request answers in the same time whether or not the address has an account.
 *
 * Client addresses other than the test's own come from `X-Forwarded-For`, which the gateway believes
 * only from TRUSTED_PROXIES (set to loopback where a scenario needs several addresses).
 */
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { generate } from 'otplib';
import { Agent, fetch as undiciFetch } from 'undici';
import { expect } from 'vitest';
import { ProblemType } from '@wallet/contracts';
import { untilNotShed } from '@wallet/testing';
import { freshLoopbackAddress } from './client.ts';

export interface Answer<T = Record<string, unknown>> {
  status: number;
  headers: Headers;
  body: T;
  ms: number;
}

export interface CallOptions {
  body?: unknown;
  token?: string;
  /** Client address, sent as X-Forwarded-For (believed only from a trusted proxy). */
  ip?: string;
}

/** A client of the public API, trusting the gateway's certificate. */
export class PublicClient {
  private readonly agent: Agent;
  private readonly gatewayUrl: string;
  private readonly certificate: string;

  /** `localAddress`: the loopback address the requests come from (default 127.0.0.1). */
  constructor(gatewayUrl: string, certificate: string, localAddress?: string) {
    this.gatewayUrl = gatewayUrl;
    this.certificate = certificate;
    this.agent = new Agent({
      connect: { ca: certificate },
      connections: 64,
      ...(localAddress ? { localAddress } : {}),
    });
  }

  /** The same gateway seen from another address (a mailbox is read from elsewhere than the phone). */
  fromAnotherAddress(): PublicClient {
    return new PublicClient(this.gatewayUrl, this.certificate, freshLoopbackAddress());
  }

  async call<T = Record<string, unknown>>(
    method: string,
    path: string,
    options: CallOptions = {},
  ): Promise<Answer<T>> {
    const headers: Record<string, string> = {};
    if (options.token) headers['authorization'] = `Bearer ${options.token}`;
    if (options.ip) headers['x-forwarded-for'] = options.ip;
    let body: string | undefined;
    if (options.body !== undefined) {
      body = JSON.stringify(options.body);
      headers['content-type'] = 'application/json';
    }
    const started = performance.now();
    const res = await undiciFetch(`${this.gatewayUrl}${path}`, {
      method,
      headers,
      body,
      dispatcher: this.agent,
    });
    const text = await res.text();
    const ms = performance.now() - started;
    return {
      status: res.status,
      headers: res.headers as unknown as Headers,
      body: (text ? JSON.parse(text) : undefined) as T,
      ms,
    };
  }

  async close(): Promise<void> {
    await this.agent.close();
  }
}

/**
 * One reader of the dev outbox for many waiting recipients, from an address of its own: people read
 * their mail in a mailbox, not through the office's address, so the reading must not eat into the
 * office's per-address windows (4 polls a second from the office's address exceeded the anonymous class).
 */
class Mailbox {
  private readonly waiting = new Map<
    string,
    { pattern: RegExp; resolve: (code: string) => void; reject: (error: unknown) => void }
  >();
  private polling: Promise<void> | undefined;
  private readonly client: PublicClient;
  private readonly timeoutMs: number;

  constructor(client: PublicClient, timeoutMs: number) {
    this.client = client.fromAnotherAddress();
    this.timeoutMs = timeoutMs;
  }

  code(to: string, pattern: RegExp): Promise<string> {
    const found = new Promise<string>((resolve, reject) =>
      this.waiting.set(to.toLowerCase(), { pattern, resolve, reject }),
    );
    this.polling ??= this.poll()
      .catch((error: unknown) => {
        for (const waiter of this.waiting.values()) waiter.reject(error);
        this.waiting.clear();
      })
      .finally(() => (this.polling = undefined));
    return found;
  }

  private async poll(): Promise<void> {
    const deadline = Date.now() + this.timeoutMs;
    while (this.waiting.size > 0) {
      if (Date.now() > deadline) throw new Error(`no mail for ${[...this.waiting.keys()].join(', ')}`);
      const outbox = await this.client.call<{ items: { to: string; subject: string; body: string }[] }>(
        'GET',
        '/v1/dev/outbox?limit=200',
      );
      if (outbox.status === 429) {
        // This mailbox's own address met the anonymous limit: wait as told, like any client.
        await new Promise((r) => setTimeout(r, Number(outbox.headers.get('retry-after') ?? '1') * 1000));
        continue;
      }
      expect(outbox.status, JSON.stringify(outbox.body)).toBe(200);
      for (const item of outbox.body.items) {
        const waiter = this.waiting.get(item.to.toLowerCase());
        const match = waiter?.pattern.exec(`${item.subject}\n${item.body}`);
        if (waiter && match?.[1]) {
          this.waiting.delete(item.to.toLowerCase());
          waiter.resolve(match[1]);
        }
      }
      // 600 ms apart: 100 reads a minute, inside the gateway's anonymous class (120/60 s) for one address.
      if (this.waiting.size > 0) await new Promise((r) => setTimeout(r, 600));
    }
  }
}

function newPerson(label: string) {
  return {
    email: `${label}+${randomUUID().slice(0, 12)}@example.com`,
    password: `correct horse ${randomUUID()}`,
  };
}

/** A TOTP code `offsetSteps` 30-second steps from now (the server accepts -1..+1, each step once). */
function totp(secret: string, offsetSteps = 0): Promise<string> {
  return generate({ secret, epoch: Math.floor(Date.now() / 1000) + offsetSteps * 30 });
}

export interface OnboardingResult {
  elapsedMs: number;
  statuses: number[];
}

/**
 * `people` newcomers behind one address, all at once: register, verify the e-mail, sign in, enrol an
 * authenticator, confirm it, step up. Every one finishes, nobody sees a 429.
 */
export async function onboardFromOneAddress(
  client: PublicClient,
  options: { people: number; ip?: string; timeoutMs?: number },
): Promise<OnboardingResult> {
  const mailbox = new Mailbox(client, options.timeoutMs ?? 60_000);
  const statuses: number[] = [];
  const at = options.ip ? { ip: options.ip } : {};
  const step = async <T>(
    send: () => Promise<Answer<T>>,
    expected: number,
    what: string,
  ): Promise<Answer<T>> => {
    const res = await untilNotShed(send);
    statuses.push(res.status);
    expect(res.status, `${what}: ${JSON.stringify(res.body)}`).toBe(expected);
    return res;
  };
  const started = performance.now();
  await Promise.all(
    Array.from({ length: options.people }, async (_, i) => {
      const person = newPerson(`office${i}`);
      await step(() => client.call('POST', '/v1/auth/register', { ...at, body: person }), 202, 'register');
      const code = await mailbox.code(person.email, /\b([0-9]{6})\b/);
      await step(
        () => client.call('POST', '/v1/auth/verify-email', { ...at, body: { email: person.email, code } }),
        204,
        'verify',
      );
      const login = await step(
        () =>
          client.call<{ accessToken: string }>('POST', '/v1/auth/login', {
            ...at,
            body: { ...person, deviceName: 'office laptop' },
          }),
        200,
        'login',
      );
      const token = login.body.accessToken;
      const enrol = await step(
        () => client.call<{ secret: string }>('POST', '/v1/me/mfa/totp', { ...at, token }),
        200,
        'enrol TOTP',
      );
      await step(
        async () =>
          client.call('POST', '/v1/me/mfa/totp/confirm', {
            ...at,
            token,
            body: { code: await totp(enrol.body.secret) },
          }),
        200,
        'confirm TOTP',
      );
      // The confirmation used this step's code: step up with the next one.
      const stepUp = await step(
        async () =>
          client.call<{ accessToken: string }>('POST', '/v1/auth/step-up', {
            ...at,
            token,
            body: { code: await totp(enrol.body.secret, 1) },
          }),
        200,
        'step up',
      );
      expect(stepUp.body.accessToken).toEqual(expect.any(String));
    }),
  );
  return { elapsedMs: performance.now() - started, statuses };
}

/** Registers and verifies one person (from `ip`), then signs in from `home` so it becomes their usual address. */
export async function registeredOwner(client: PublicClient, ip: string, home: string) {
  const person = newPerson('owner');
  const mailbox = new Mailbox(client, 30_000);
  const registered = await client.call('POST', '/v1/auth/register', { ip, body: person });
  expect(registered.status, JSON.stringify(registered.body)).toBe(202);
  const code = await mailbox.code(person.email, /\b([0-9]{6})\b/);
  expect(
    (await client.call('POST', '/v1/auth/verify-email', { ip, body: { email: person.email, code } })).status,
  ).toBe(204);
  expect((await client.call('POST', '/v1/auth/login', { ip: home, body: person })).status).toBe(200);
  return person;
}

/** Every refusal is a 429 problem with Retry-After and a RateLimit header showing no quota left. */
export function expectThrottled(answer: Answer): void {
  expect(answer.status, JSON.stringify(answer.body)).toBe(429);
  expect(answer.body).toMatchObject({ type: ProblemType.rateLimited, status: 429 });
  expect(Number(answer.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
  expect(answer.headers.get('ratelimit')).toMatch(/;r=0;t=\d+$/);
}

/** `attempts` wrong passwords against one account from `ip`, as fast as answers come; returns the statuses. */
export async function guessPasswords(client: PublicClient, email: string, ip: string, attempts: number) {
  const answers: Answer[] = [];
  for (let i = 0; i < attempts; i += 1)
    answers.push(
      await client.call('POST', '/v1/auth/login', {
        ip,
        body: { email, password: `guess ${i} ${randomUUID()}` },
      }),
    );
  for (const a of answers.filter((x) => x.status !== 401)) expectThrottled(a);
  return answers.map((a) => a.status);
}

/** Median of a sample (ms). */
export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/**
 * `perGroup` recovery requests for addresses with an account and as many without, interleaved in a
 * random order from one address; returns both medians (after a warm-up).
 */
export async function recoveryTimings(
  client: PublicClient,
  options: { known: string[]; perGroup: number; ip?: string },
): Promise<{ knownMs: number; unknownMs: number; bodiesAlike: boolean }> {
  const at = options.ip ? { ip: options.ip } : {};
  const order: boolean[] = [];
  // Pairs in random order: each group meets the same mix of neighbours and of machine load.
  for (let i = 0; i < options.perGroup; i += 1)
    order.push(...(Math.random() < 0.5 ? [true, false] : [false, true]));
  for (let i = 0; i < 20; i += 1)
    await client.call('POST', '/v1/auth/recovery', { ...at, body: { email: `warmup${i}@example.com` } });
  const known: number[] = [];
  const unknown: number[] = [];
  const bodies = new Set<string>();
  for (const [i, isKnown] of order.entries()) {
    const email = isKnown ? options.known[i % options.known.length]! : `nobody+${randomUUID()}@example.com`;
    const res = await client.call('POST', '/v1/auth/recovery', { ...at, body: { email } });
    expect(res.status).toBe(202);
    bodies.add(JSON.stringify(res.body ?? null));
    (isKnown ? known : unknown).push(res.ms);
  }
  return { knownMs: median(known), unknownMs: median(unknown), bodiesAlike: bodies.size === 1 };
}
