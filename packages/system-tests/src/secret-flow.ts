/**
 * The flows that handle secrets, through the gateway only, as a person would: register, verify the
 * e-mail with the code from the dev outbox (the stand-in mailbox), sign in, forget the password and
 * reset it with the recovery code from the dev outbox, sign in with the new one. Returns every secret
 * the user or the platform handled (both codes, both passwords, the tokens), so that the caller can
 * search the whole platform for them (issue 17: no secret in an event, outbox, broker, inbox, dead
 * letter or log line).
 *
 * It waits until the platform has settled: the default wallet is open (user.registered reached the
 * ledger), the password-changed e-mail arrived (the last event reached notification), and the
 * sign-in after the reset works. Fresh address and passwords every run.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { Agent, fetch as undiciFetch } from 'undici';
import { freshLoopbackAddress } from './client.ts';
import { expect } from 'vitest';
import { waitFor } from '@wallet/testing';

export interface SecretFlowResult {
  userId: string;
  email: string;
  /** Every secret of the run by name: the caller searches for each value. */
  secrets: Record<
    | 'verificationCode'
    | 'recoveryCode'
    | 'password'
    | 'newPassword'
    | 'refreshToken'
    | 'accessToken'
    | 'newRefreshToken'
    | 'newAccessToken',
    string
  >;
}

interface OutboxItem {
  to: string;
  subject: string | null;
  body: string;
}

export async function secretFlow(
  gatewayUrl: string,
  certificate: string,
  options: { timeoutMs?: number } = {},
): Promise<SecretFlowResult> {
  const timeoutMs = options.timeoutMs ?? 40_000;
  const agent = new Agent({ connect: { ca: certificate } });

  async function call<T>(
    method: string,
    path: string,
    body?: unknown,
    token?: string,
  ): Promise<{ status: number; body: T }> {
    const headers: Record<string, string> = {};
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (token) headers['authorization'] = `Bearer ${token}`;
    const res = await undiciFetch(`${gatewayUrl}${path}`, {
      method,
      headers,
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      dispatcher: agent,
    });
    const text = await res.text();
    return { status: res.status, body: (text ? JSON.parse(text) : undefined) as T };
  }

  // Mail is read from addresses of its own (a mailbox, one connection per look), so polling does not eat
  // into the anonymous rate-limit window of the address the flow uses the API from.
  const mailbox = async (email: string): Promise<OutboxItem[]> => {
    const reader = new Agent({ connect: { ca: certificate }, localAddress: freshLoopbackAddress() });
    try {
      const res = await undiciFetch(`${gatewayUrl}/v1/dev/outbox?to=${encodeURIComponent(email)}`, {
        dispatcher: reader,
      });
      return ((await res.json()) as { items?: OutboxItem[] }).items ?? [];
    } finally {
      await reader.close();
    }
  };

  async function mailed(email: string, subject: string, pattern: RegExp): Promise<string> {
    return waitFor(
      async () => {
        for (const item of await mailbox(email)) {
          if (item.subject !== subject) continue;
          const match = pattern.exec(item.body);
          if (match?.[1]) return match[1];
        }
        return undefined;
      },
      { timeoutMs, intervalMs: 250, what: `"${subject}" e-mailed to ${email}` },
    );
  }

  try {
    const email = `secrets+${randomUUID().slice(0, 8)}@example.com`;
    // Unique, long, and unlike anything else in a database or a log.
    const password = `Pw-${randomBytes(18).toString('base64url')}`;
    const newPassword = `Pw-${randomBytes(18).toString('base64url')}`;

    const registered = await call('POST', '/v1/auth/register', {
      email,
      password,
      displayName: 'Secret Keeper',
    });
    expect(registered.status, JSON.stringify(registered.body)).toBe(202);
    const verificationCode = await mailed(email, 'Your verification code', /\b([0-9]{6})\b/);
    const verified = await call('POST', '/v1/auth/verify-email', { email, code: verificationCode });
    expect(verified.status, JSON.stringify(verified.body)).toBe(204);

    const login = await call<{ accessToken: string; refreshToken: string }>('POST', '/v1/auth/login', {
      email,
      password,
      deviceName: 'secrets-test',
    });
    expect(login.status, JSON.stringify(login.body)).toBe(200);
    const userId = (await call<{ userId: string }>('GET', '/v1/me', undefined, login.body.accessToken)).body
      .userId;
    // The user.registered event reached the ledger: the default wallet is open.
    await waitFor(
      async () =>
        ((await call<{ items?: unknown[] }>('GET', '/v1/wallets', undefined, login.body.accessToken)).body
          .items?.length ?? 0) > 0,
      { timeoutMs, intervalMs: 100, what: 'the default wallet opened on registration' },
    );

    const recovery = await call('POST', '/v1/auth/recovery', { email });
    expect(recovery.status, JSON.stringify(recovery.body)).toBe(202);
    const recoveryCode = await mailed(email, 'Your account recovery code', /\b([0-9]{8})\b/);
    const reset = await call('POST', '/v1/auth/recovery/complete', {
      email,
      code: recoveryCode,
      newPassword,
    });
    expect(reset.status, JSON.stringify(reset.body)).toBe(204);
    // The last event of the run (password.changed) reached notification.
    await waitFor(async () => (await mailbox(email)).some((m) => m.subject === 'Your password was changed'), {
      timeoutMs,
      intervalMs: 100,
      what: 'the password-changed e-mail',
    });
    const again = await call<{ accessToken: string; refreshToken: string }>('POST', '/v1/auth/login', {
      email,
      password: newPassword,
      deviceName: 'secrets-test',
    });
    expect(again.status, JSON.stringify(again.body)).toBe(200);

    return {
      userId,
      email,
      secrets: {
        verificationCode,
        recoveryCode,
        password,
        newPassword,
        refreshToken: login.body.refreshToken,
        accessToken: login.body.accessToken,
        newRefreshToken: again.body.refreshToken,
        newAccessToken: again.body.accessToken,
      },
    };
  } finally {
    await agent.close();
  }
}
