/**
 * The whole platform through the gateway, as a client sees it, written once for every mode (embedded,
 * dapr on RabbitMQ, dapr on Kafka): register, verify the e-mail with the code the notification service
 * "sent" (the dev outbox), log in, receive a deposit from the payment provider's signed webhook,
 * transfer to another user (idempotently), be asked to step up for a large transfer, and find the
 * transfer notification in the payee's outbox.
 *
 * Every run uses fresh e-mail addresses, event ids and idempotency keys, so it can run again and
 * again against the same databases.
 */
import { createHmac, randomUUID } from 'node:crypto';
import { Agent, fetch as undiciFetch } from 'undici';
import { freshLoopbackAddress, requestParts, type CallOptions } from './client.ts';
import { expect } from 'vitest';
import { waitFor } from '@wallet/testing';

export interface MoneyFlowOptions {
  /** Deadline of each wait for something asynchronous (an e-mail, a wallet, a balance). Default 15 s. */
  timeoutMs?: number;
  /** The payment provider's webhook secret. Default: the development secret of the gateway. */
  webhookSecret?: string;
}

interface Answer<T> {
  status: number;
  headers: Headers;
  body: T;
}

/** Runs the scenario against the gateway at `gatewayUrl`, trusting `certificate` (PEM) for its TLS. */
export async function moneyFlow(
  gatewayUrl: string,
  certificate: string,
  options: MoneyFlowOptions = {},
): Promise<void> {
  const timeoutMs = options.timeoutMs ?? 15_000;
  const webhookSecret = options.webhookSecret ?? 'whsec_dev_only';
  const agent = new Agent({ connect: { ca: certificate } });

  async function call<T = Record<string, unknown>>(
    method: string,
    path: string,
    callOptions: CallOptions = {},
  ): Promise<Answer<T>> {
    const { headers, body } = requestParts(callOptions);
    const res = await undiciFetch(`${gatewayUrl}${path}`, { method, headers, body, dispatcher: agent });
    const text = await res.text();
    return {
      status: res.status,
      headers: res.headers as unknown as Headers,
      body: (text ? JSON.parse(text) : undefined) as T,
    };
  }

  // A person reads mail in a mailbox, not through the address they use the API from: polling the dev
  // outbox from that address would eat into its anonymous rate-limit window (a late mail then met 429s).
  // Each wait reads from an address of its own.
  async function waitForMail<T>(
    email: string,
    found: (items: { to: string; body: string; subject: string }[]) => T | undefined,
    what: string,
  ): Promise<T> {
    const mailbox = new Agent({ connect: { ca: certificate }, localAddress: freshLoopbackAddress() });
    try {
      return await waitFor(
        async () => {
          const res = await undiciFetch(`${gatewayUrl}/v1/dev/outbox?to=${encodeURIComponent(email)}`, {
            dispatcher: mailbox,
          });
          const outbox = (await res.json()) as { items?: { to: string; body: string; subject: string }[] };
          return found(outbox.items ?? []);
        },
        { timeoutMs, intervalMs: 250, what },
      );
    } finally {
      await mailbox.close();
    }
  }

  function readCode(email: string, pattern: RegExp): Promise<string> {
    return waitForMail(
      email,
      (items) => {
        for (const item of items) {
          const match = pattern.exec(`${item.subject}\n${item.body}`);
          if (match?.[1]) return match[1];
        }
        return undefined;
      },
      `a code e-mailed to ${email}`,
    );
  }

  async function registerAndLogin(email: string): Promise<{ userId: string; token: string }> {
    const password = `correct horse ${randomUUID()}`;
    const registered = await call('POST', '/v1/auth/register', { body: { email, password } });
    expect(registered.status, JSON.stringify(registered.body)).toBe(202);
    const code = await readCode(email, /\b([0-9]{6})\b/);
    const verified = await call('POST', '/v1/auth/verify-email', { body: { email, code } });
    expect(verified.status, JSON.stringify(verified.body)).toBe(204);
    const login = await call<{ accessToken: string }>('POST', '/v1/auth/login', {
      body: { email, password, deviceName: 'system-test' },
    });
    expect(login.status, JSON.stringify(login.body)).toBe(200);
    const me = await call<{ userId: string }>('GET', '/v1/me', { token: login.body.accessToken });
    expect(me.status, JSON.stringify(me.body)).toBe(200);
    return { userId: me.body.userId, token: login.body.accessToken };
  }

  async function defaultWallet(
    token: string,
  ): Promise<{ walletId: string; balance: string; currency: string }> {
    return waitFor(
      async () => {
        const wallets = await call<{ items: { walletId: string; balance: string; currency: string }[] }>(
          'GET',
          '/v1/wallets',
          { token },
        );
        return wallets.body?.items?.[0];
      },
      { timeoutMs, intervalMs: 100, what: 'the default wallet opened on registration' },
    );
  }

  function signWebhook(raw: string): string {
    const t = Math.floor(Date.now() / 1000);
    const v1 = createHmac('sha256', webhookSecret).update(`${t}.${raw}`).digest('hex');
    return `t=${t},v1=${v1}`;
  }

  try {
    const alice = await registerAndLogin(`alice+${randomUUID().slice(0, 8)}@example.com`);
    const bobEmail = `bob+${randomUUID().slice(0, 8)}@example.com`;
    const bob = await registerAndLogin(bobEmail);
    const aliceWallet = await defaultWallet(alice.token);
    const bobWallet = await defaultWallet(bob.token);
    expect(aliceWallet.currency).toBe('EUR');
    expect(aliceWallet.balance).toBe('0');

    // The payment provider credits 2,000.00 EUR to Alice (signed webhook, idempotent on its event id).
    const deposit = JSON.stringify({
      id: `evt_${randomUUID()}`,
      type: 'payment.succeeded',
      data: { walletId: aliceWallet.walletId, amount: '200000', currency: 'EUR' },
    });
    const credited = await call('POST', '/v1/webhooks/payments', {
      raw: deposit,
      headers: { 'webhook-signature': signWebhook(deposit) },
    });
    expect(credited.status, JSON.stringify(credited.body)).toBeLessThan(300);
    const again = await call('POST', '/v1/webhooks/payments', {
      raw: deposit,
      headers: { 'webhook-signature': signWebhook(deposit) },
    });
    expect(again.status).toBeLessThan(500);
    const tampered = await call('POST', '/v1/webhooks/payments', {
      raw: deposit.replace('"amount":"200000"', '"amount":"900000"'),
      headers: { 'webhook-signature': signWebhook(deposit) },
    });
    expect(tampered.status).toBe(401);
    await waitFor(
      async () =>
        (
          await call<{ balance: string }>('GET', `/v1/wallets/${aliceWallet.walletId}`, {
            token: alice.token,
          })
        ).body.balance === '200000',
      { timeoutMs, intervalMs: 100, what: 'the deposit on Alice’s balance' },
    );

    // Alice pays Bob 10.50 EUR; the same key and body replays the first answer.
    const key = randomUUID();
    const transfer = {
      fromWalletId: aliceWallet.walletId,
      toWalletId: bobWallet.walletId,
      amount: '1050',
      currency: 'EUR',
    };
    const first = await call<{ transferId: string; status: string }>('POST', '/v1/transfers', {
      token: alice.token,
      body: transfer,
      headers: { 'idempotency-key': key },
    });
    expect(first.status, JSON.stringify(first.body)).toBe(201);
    expect(first.body.status).toBe('completed');
    const replay = await call<{ transferId: string }>('POST', '/v1/transfers', {
      token: alice.token,
      body: transfer,
      headers: { 'idempotency-key': key },
    });
    expect(replay.status).toBe(201);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(replay.body.transferId).toBe(first.body.transferId);
    const reused = await call('POST', '/v1/transfers', {
      token: alice.token,
      body: { ...transfer, amount: '1051' },
      headers: { 'idempotency-key': key },
    });
    expect(reused.status).toBe(422);

    const bobAfter = await call<{ balance: string; available: string }>(
      'GET',
      `/v1/wallets/${bobWallet.walletId}`,
      { token: bob.token },
    );
    expect(bobAfter.body.balance).toBe('1050');
    const aliceAfter = await call<{ balance: string }>('GET', `/v1/wallets/${aliceWallet.walletId}`, {
      token: alice.token,
    });
    expect(aliceAfter.body.balance).toBe('198950');

    // Bob cannot spend from Alice's wallet.
    const theft = await call('POST', '/v1/transfers', {
      token: bob.token,
      body: { ...transfer, amount: '100' },
      headers: { 'idempotency-key': randomUUID() },
    });
    expect([403, 404]).toContain(theft.status);

    // 1,000.00 EUR or more needs a stepped-up session (Alice can afford it).
    const large = await call<{ type: string }>('POST', '/v1/transfers', {
      token: alice.token,
      body: { ...transfer, amount: '100000' },
      headers: { 'idempotency-key': randomUUID() },
    });
    expect(large.status).toBe(403);
    expect(large.body.type).toBe('https://wallet.dev/problems/step-up-required');

    // Bob hears about the money (the ledger's event, through the broker, to the notification service).
    await waitForMail(
      bobEmail,
      (items) => items.some((m) => m.body.includes('10.50')) || undefined,
      'the transfer notification to Bob',
    );
  } finally {
    await agent.close();
  }
}
