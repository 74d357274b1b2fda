/**
 * A client of the public gateway, as a user's app would be: JSON over HTTPS (trusting the gateway's
 * self-signed certificate), sign-up with the e-mailed code from the dev outbox, sign-in, and the
 * payment provider's signed deposit webhook. Every call records its status and latency.
 */
import { createHmac, randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { Agent, fetch as undiciFetch } from 'undici';
import { waitFor } from '@wallet/testing';

export interface Answer<T = Record<string, unknown>> {
  status: number;
  headers: Headers;
  body: T;
  ms: number;
}

export interface CallOptions {
  body?: unknown;
  token?: string;
  headers?: Record<string, string>;
  raw?: string;
  /** Gives up on the answer (the call then rejects), as a client with a deadline does. */
  signal?: AbortSignal;
}

/** Headers and body of a gateway call: bearer token, JSON body (or a raw one) and its content type. */
export function requestParts(callOptions: CallOptions): { headers: Record<string, string>; body?: string } {
  const headers: Record<string, string> = { ...callOptions.headers };
  if (callOptions.token) headers['authorization'] = `Bearer ${callOptions.token}`;
  if (callOptions.body !== undefined) {
    headers['content-type'] = 'application/json';
    return { headers, body: JSON.stringify(callOptions.body) };
  }
  if (callOptions.raw !== undefined) headers['content-type'] ??= 'application/json';
  return callOptions.raw === undefined ? { headers } : { headers, body: callOptions.raw };
}

export interface User {
  email: string;
  userId: string;
  token: string;
  walletId: string;
}

export interface GatewayClient {
  call<T = Record<string, unknown>>(method: string, path: string, options?: CallOptions): Promise<Answer<T>>;
  /** Registers, verifies the e-mail, signs in and waits for the default wallet. */
  onboard(label: string): Promise<User>;
  /** Credits `amount` minor units of EUR through the provider's signed webhook; waits until it is on the balance. */
  deposit(user: User, amount: bigint): Promise<void>;
  transfer(
    from: User,
    to: User,
    amount: string,
    key?: string,
  ): Promise<Answer<{ type?: string; transferId?: string }>>;
  close(): Promise<void>;
}

export interface ClientOptions {
  /** Deadline of each wait for something asynchronous (an e-mail, a wallet, a balance). Default 20 s. */
  timeoutMs?: number;
  webhookSecret?: string;
  /**
   * The address the client connects from (any of 127.0.0.0/8 works on loopback). Every user of one
   * client shares it, like people behind one office or carrier NAT; a fresh one per scenario keeps the
   * per-IP windows of earlier runs (rate limits, risk's IP velocity) out of this one.
   */
  localAddress?: string;
  /** Connections to the gateway at most (each carries one request at a time). Default 64. */
  connections?: number;
}

/** A random loopback address other than 127.0.0.1. */
export function freshLoopbackAddress(): string {
  const octet = (): number => 1 + Math.floor(Math.random() * 254);
  return `127.${octet()}.${octet()}.${octet()}`;
}

export function gatewayClient(
  gatewayUrl: string,
  certificate: string,
  options: ClientOptions = {},
): GatewayClient {
  const timeoutMs = options.timeoutMs ?? 40_000;
  const webhookSecret = options.webhookSecret ?? 'whsec_dev_only';
  // undici takes the source address as a Client option (`connect.localAddress` is ignored).
  const agent = new Agent({
    connect: { ca: certificate },
    connections: options.connections ?? 64,
    ...(options.localAddress ? { localAddress: options.localAddress } : {}),
  });
  // The e-mail is read in each person's own mailbox, not through their phone: the dev outbox is polled
  // from an address per mailbox, so neither the polling nor the number of people polling eats into
  // the users' per-IP windows (40 people's polls from one address would exceed the anonymous class).
  const mailboxFor = (): Agent =>
    new Agent({ connect: { ca: certificate }, localAddress: freshLoopbackAddress() });

  async function call<T = Record<string, unknown>>(
    method: string,
    path: string,
    callOptions: CallOptions = {},
    dispatcher: Agent = agent,
  ): Promise<Answer<T>> {
    const { headers, body } = requestParts(callOptions);
    const started = performance.now();
    const res = await undiciFetch(`${gatewayUrl}${path}`, {
      method,
      headers,
      body,
      dispatcher,
      ...(callOptions.signal ? { signal: callOptions.signal } : {}),
    });
    const text = await res.text();
    const ms = performance.now() - started;
    let parsed: unknown;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = text;
    }
    return { status: res.status, headers: res.headers as unknown as Headers, body: parsed as T, ms };
  }

  const expectStatus = (answer: Answer<unknown>, status: number, what: string): void => {
    if (answer.status !== status) {
      throw new Error(`${what}: expected ${status}, got ${answer.status} ${JSON.stringify(answer.body)}`);
    }
  };

  async function readCode(email: string): Promise<string> {
    const mailbox = mailboxFor();
    try {
      return await waitFor(
        async () => {
          const outbox = await call<{ items?: { subject: string; body: string }[] }>(
            'GET',
            `/v1/dev/outbox?to=${encodeURIComponent(email)}`,
            {},
            mailbox,
          );
          return sixDigitCode(outbox.body?.items);
        },
        { timeoutMs, intervalMs: 200, what: `the code e-mailed to ${email}` },
      );
    } finally {
      await mailbox.close();
    }
  }

  async function onboard(label: string): Promise<User> {
    const email = `${label}+${randomUUID().slice(0, 8)}@example.com`;
    const password = `correct horse ${randomUUID()}`;
    // 202 for every address (identity does not tell whether it has an account).
    const registered = await call('POST', '/v1/auth/register', { body: { email, password } });
    expectStatus(registered, 202, `register ${email}`);
    const code = await readCode(email);
    expectStatus(
      await call('POST', '/v1/auth/verify-email', { body: { email, code } }),
      204,
      `verify ${email}`,
    );
    const login = await call<{ accessToken: string }>('POST', '/v1/auth/login', {
      body: { email, password, deviceName: 'phone' },
    });
    expectStatus(login, 200, `login ${email}`);
    const token = login.body.accessToken;
    const wallet = await waitFor(
      async () =>
        (await call<{ items?: { walletId: string }[] }>('GET', '/v1/wallets', { token })).body?.items?.[0],
      { timeoutMs, intervalMs: 100, what: `the default wallet of ${email}` },
    );
    const me = await call<{ userId: string }>('GET', '/v1/me', { token });
    expectStatus(me, 200, `me ${email}`);
    return { email, userId: me.body.userId, token, walletId: wallet.walletId };
  }

  async function deposit(user: User, amount: bigint): Promise<void> {
    const before = await call<{ balance: string }>('GET', `/v1/wallets/${user.walletId}`, {
      token: user.token,
    });
    expectStatus(before, 200, 'balance before the deposit');
    const raw = JSON.stringify({
      id: `evt_${randomUUID()}`,
      type: 'payment.succeeded',
      data: { walletId: user.walletId, amount: amount.toString(), currency: 'EUR' },
    });
    const t = Math.floor(Date.now() / 1000);
    const v1 = createHmac('sha256', webhookSecret).update(`${t}.${raw}`).digest('hex');
    const credited = await call('POST', '/v1/webhooks/payments', {
      raw,
      headers: { 'webhook-signature': `t=${t},v1=${v1}` },
    });
    if (credited.status >= 300)
      throw new Error(`deposit: ${credited.status} ${JSON.stringify(credited.body)}`);
    const expected = (BigInt(before.body.balance) + amount).toString();
    await waitFor(
      async () =>
        (await call<{ balance: string }>('GET', `/v1/wallets/${user.walletId}`, { token: user.token })).body
          .balance === expected,
      { timeoutMs, intervalMs: 100, what: `the deposit on ${user.email}'s balance` },
    );
  }

  function transfer(from: User, to: User, amount: string, key: string = randomUUID()) {
    return call<{ type?: string; transferId?: string }>('POST', '/v1/transfers', {
      token: from.token,
      body: { fromWalletId: from.walletId, toWalletId: to.walletId, amount, currency: 'EUR' },
      headers: { 'idempotency-key': key },
    });
  }

  return {
    call: (method, path, callOptions) => call(method, path, callOptions),
    onboard,
    deposit,
    transfer,
    close: async () => {
      await agent.close();
    },
  };
}

/** Runs `work` over `items` with at most `concurrency` at once, in order of the items. */
export async function inParallel<T, R>(
  items: readonly T[],
  concurrency: number,
  work: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const index = next++;
      results[index] = await work(items[index]!, index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
  return results;
}

/** The first six-digit code in dev-outbox messages (newest first), if any. */
export function sixDigitCode(
  items: readonly { subject: string; body: string }[] | undefined,
): string | undefined {
  for (const item of items ?? []) {
    const match = /\b([0-9]{6})\b/.exec(`${item.subject}\n${item.body}`);
    if (match?.[1]) return match[1];
  }
  return undefined;
}

/** The p-th percentile (0-100) of `values`, nearest rank. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}
