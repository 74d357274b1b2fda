// Longer than 400 lines: one suite over real SMTP, SMS and push fakes started once; the scenarios share them.
/**
 * notification against real local providers: an SMTP server (smtp-server) and HTTP servers speaking
 * the SMS (Twilio-style) and push (FCM v1-style) protocols, told to fail, hang or reject.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { infraEnv, waitFor } from '@wallet/testing';
import {
  startFakePushApi,
  startFakeSmsApi,
  type FakeProvider,
  type ReceivedRequest,
} from '../fakes/http-provider.ts';
import { startFakeSmtp, type FakeSmtp } from '../fakes/smtp.ts';
import { newUser, startHarness, transfer, type Harness } from './harness.ts';

const adminUrl = infraEnv('TEST_PG_ADMIN_URL');

const SMS_SID = 'AC0123456789abcdef0123456789abcdef';
const CODE_SMS = /phone verification code is ([0-9]{6})/;
const isCodeSms = (r: ReceivedRequest) => CODE_SMS.test(String(r.body['Body']));

describe.skipIf(!adminUrl)('notification with SMTP, SMS and push providers', () => {
  let h: Harness;
  let smtp: FakeSmtp;
  let sms: FakeProvider;
  let push: FakeProvider;
  const admin = { sub: 'staff-1', roles: ['admin' as const], acr: 'aal2' as const };

  beforeAll(async () => {
    [smtp, sms, push] = await Promise.all([startFakeSmtp(), startFakeSmsApi(), startFakePushApi()]);
    h = await startHarness(adminUrl!, {
      SMTP_URL: smtp.url,
      SMS_API_URL: sms.url,
      SMS_ACCOUNT_SID: SMS_SID,
      SMS_AUTH_TOKEN: 'sms-test-token',
      SMS_FROM: '+15550001111',
      PUSH_API_URL: push.url,
      PUSH_BEARER_TOKEN: 'push-test-token',
      PUSH_PROJECT_ID: 'wallet-test',
    });
  });
  afterAll(async () => {
    await h?.stop();
    await Promise.all([smtp?.close(), sms?.close(), push?.close()]);
  });
  beforeEach(() => {
    sms.reset();
    push.reset();
  });

  /** A registered user with a phone and a push token. */
  async function userWithDevices() {
    const user = await h.register();
    await waitFor(() => smtp.mailsTo(user.email).length === 1, { what: 'verification mail' });
    const token = `fcm-token-${user.userId}`;
    const phone = `+4915${String(Math.floor(Math.random() * 1e9)).padStart(9, '0')}`;
    const res = await h.svc
      .as({ sub: user.userId })
      .put('/me/notification-channels', { phone, pushTokens: [token] });
    expect(res.status).toBe(200);
    // SMS go only to a proven number: confirm the code the provider delivered to it.
    const codeSms = await waitFor(() => sms.accepted().find((r) => r.body['To'] === phone && isCodeSms(r)), {
      what: 'phone verification code SMS',
    });
    const code = CODE_SMS.exec(String(codeSms.body['Body']))?.[1];
    const confirmed = await h.svc
      .as({ sub: user.userId })
      .post('/me/notification-channels/phone/verification/confirm', { code });
    expect(confirmed.status).toBe(200);
    return { ...user, token, phone };
  }

  /** The SMS the provider got for `phone`, but the verification code SMS. */
  const alertsTo = (requests: ReceivedRequest[], phone: string) =>
    requests.filter((r) => r.body['To'] === phone && !isCodeSms(r));

  async function deliveriesOf(userId: string, template: string) {
    return h.svc.db
      .selectFrom('deliveries')
      .selectAll()
      .where('user_id', '=', userId)
      .where('template', '=', template)
      .execute();
  }

  it('sends e-mail over SMTP with the delivery id as Message-ID, and records the provider message id', async () => {
    const user = await h.register();
    const mail = await waitFor(() => smtp.mailsTo(user.email)[0], { what: 'mail over SMTP' });
    // The code identity minted at send time, and the one it accepts.
    const code = /Your verification code is ([0-9]{6})/.exec(mail.raw)?.[1];
    expect(code).toBeDefined();
    // The server has the mail a moment before the worker records the outcome.
    const row = await waitFor(
      async () => {
        const [r] = await deliveriesOf(user.userId, 'email-verification');
        return r?.status === 'sent' ? r : undefined;
      },
      { what: 'delivery recorded as sent' },
    );
    expect(row).toMatchObject({ status: 'sent', provider: 'smtp', attempts: 1, body_text: '' });
    const verified = await h.identity
      .as({ sub: 'anonymous' })
      .post('/auth/verify-email', { email: user.email, code });
    expect(verified.status).toBe(204);
    expect(mail.messageId).toBe(`<${row.id}@notification.wallet>`);
    expect(row.provider_message_id).toBe(mail.messageId);
    // The dev outbox still mirrors what was sent (non-production).
    const out = await h.svc
      .as({ sub: 'anonymous' })
      .get<{ items: { body: string }[] }>(`/dev/outbox?to=${user.email}`);
    expect(out.body.items[0]!.body).toContain(`Your verification code is ${code!}`);
  });

  it('a transient SMS failure is retried and then sent; every attempt is recorded', async () => {
    const user = await userWithDevices();
    sms.queue({ kind: 'fail', status: 503 }, { kind: 'fail', status: 500 });
    await h.publish('passwordChanged', { userId: user.userId, email: user.email, via: 'settings' });
    const row = await waitFor(
      async () => {
        const [r] = await deliveriesOf(user.userId, 'password-changed').then((rows) =>
          rows.filter((x) => x.channel === 'sms'),
        );
        return r?.status === 'sent' ? r : undefined;
      },
      { what: 'SMS sent after retries' },
    );
    expect(row.attempts).toBe(3);
    expect(row.provider).toBe('twilio-sms');
    expect(row.provider_message_id).toMatch(/^SM[0-9]{32}$/);
    const attempts = await h.svc.db
      .selectFrom('delivery_attempts')
      .selectAll()
      .where('delivery_id', '=', row.id)
      .orderBy('attempt')
      .execute();
    expect(attempts.map((a) => a.outcome)).toEqual(['transient', 'transient', 'sent']);
    expect(attempts[0]!.error).toContain('503');
    // The provider saw the Twilio-style request: basic auth, form fields, the account path.
    const accepted = alertsTo(sms.accepted(), user.phone);
    expect(accepted).toHaveLength(1);
    expect(accepted[0]!.path).toBe(`/2010-04-01/Accounts/${SMS_SID}/Messages.json`);
    expect(accepted[0]!.authorization).toBe(
      `Basic ${Buffer.from(`${SMS_SID}:sms-test-token`).toString('base64')}`,
    );
    expect(accepted[0]!.body['Body']).toContain('password was changed');
  });

  it('a permanent rejection (bad number) is not retried, is marked failed and publishes delivery.failed', async () => {
    const user = await userWithDevices();
    sms.setFallback({
      kind: 'fail',
      status: 400,
      body: { code: 21211, message: "The 'To' number is not a valid phone number.", status: 400 },
    });
    await h.publish('mfaChanged', { userId: user.userId, email: user.email, enabled: false });
    const row = await waitFor(
      async () => {
        const r = (await deliveriesOf(user.userId, 'mfa-changed')).find((x) => x.channel === 'sms');
        return r?.status === 'failed' ? r : undefined;
      },
      { what: 'SMS marked failed' },
    );
    expect(row.attempts).toBe(1);
    expect(row.last_error).toContain('21211');
    const event = await waitFor(
      () => h.deliveryFailures.find((e) => (e.data as { deliveryId: string }).deliveryId === row.id),
      {
        what: 'delivery.failed published',
      },
    );
    expect(event.data).toMatchObject({
      userId: user.userId,
      channel: 'sms',
      template: 'mfa-changed',
      permanent: true,
    });
    expect(alertsTo(sms.requests, user.phone)).toHaveLength(1);
    // The other channels of the same alert were unaffected.
    const others = (await deliveriesOf(user.userId, 'mfa-changed')).filter((x) => x.channel !== 'sms');
    await waitFor(
      async () =>
        (await deliveriesOf(user.userId, 'mfa-changed')).filter(
          (x) => x.channel !== 'sms' && x.status === 'sent',
        ).length === 2,
    );
    expect(others.map((o) => o.channel).sort()).toEqual(['email', 'push']);
  });

  it('an SMTP 550 is permanent; an SMTP 451 is retried and then delivered', async () => {
    const goneEmail = newUser().email;
    smtp.rejectRecipient(goneEmail, 550);
    const gone = await h.register({ email: goneEmail });
    const failed = await waitFor(
      async () => {
        const [r] = await deliveriesOf(gone.userId, 'email-verification');
        return r?.status === 'failed' ? r : undefined;
      },
      { what: 'mail failed' },
    );
    expect(failed.attempts).toBe(1);
    expect(failed.body_text).toBe(''); // the code is not kept

    const busyEmail = newUser().email;
    smtp.rejectRecipient(busyEmail, 451, 1);
    const busy = await h.register({ email: busyEmail });
    const sent = await waitFor(
      async () => {
        const [r] = await deliveriesOf(busy.userId, 'email-verification');
        return r?.status === 'sent' ? r : undefined;
      },
      { what: 'mail sent after a 451' },
    );
    expect(sent.attempts).toBe(2);
    expect(smtp.mailsTo(busy.email)).toHaveLength(1);
    // The retry carried a fresh code, and that one works.
    const issued = await h.identity.ownerDb
      .selectFrom('one_time_codes')
      .select('issued_count')
      .where('user_id', '=', busy.userId)
      .executeTakeFirstOrThrow();
    expect(issued.issued_count).toBe(2);
    const code = /Your verification code is ([0-9]{6})/.exec(smtp.mailsTo(busy.email)[0]!.raw)?.[1];
    expect(
      (await h.identity.as({ sub: 'anonymous' }).post('/auth/verify-email', { email: busy.email, code }))
        .status,
    ).toBe(204);
  });

  it('a provider that hangs hits the deadline and is retried', async () => {
    const user = await userWithDevices();
    push.queue({ kind: 'hang' });
    await h.publish('anomalyFlagged', {
      flagId: 'f1',
      userId: user.userId,
      assessmentId: null,
      action: 'challenge',
      score: 80,
      reasons: [{ rule: 'velocity', detail: 'many transfers' }],
      occurredAt: new Date().toISOString(),
    });
    const row = await waitFor(
      async () => {
        const r = (await deliveriesOf(user.userId, 'security-alert')).find((x) => x.channel === 'push');
        return r?.status === 'sent' ? r : undefined;
      },
      { what: 'push sent after a timeout' },
    );
    expect(row.attempts).toBe(2);
    const [first] = await h.svc.db
      .selectFrom('delivery_attempts')
      .select(['outcome', 'error'])
      .where('delivery_id', '=', row.id)
      .orderBy('attempt')
      .execute();
    expect(first).toMatchObject({ outcome: 'transient' });
    expect(first!.error).toContain('timed out');
    const accepted = push.accepted().find((r) => r.idempotencyKey === row.id)!;
    expect(accepted.authorization).toBe('Bearer push-test-token');
    expect(accepted.path).toBe('/v1/projects/wallet-test/messages:send');
    expect(accepted.body).toMatchObject({
      message: { token: user.token, notification: { title: 'Unusual activity' } },
    });
  });

  it('an unregistered push token fails permanently and is forgotten', async () => {
    const user = await userWithDevices();
    push.setFallback({
      kind: 'fail',
      status: 404,
      body: { error: { code: 404, status: 'NOT_FOUND', details: [{ errorCode: 'UNREGISTERED' }] } },
    });
    await h.publish('transferCompleted', transfer(user.userId, user.userId));
    await waitFor(async () =>
      (await deliveriesOf(user.userId, 'transfer-sent')).find(
        (x) => x.channel === 'push' && x.status === 'failed',
      ),
    );
    const channels = await h.svc
      .as({ sub: user.userId })
      .get<{ pushTokens: string[] }>('/me/notification-channels');
    expect(channels.body.pushTokens).toEqual([]);
  });

  it('after N transient failures a delivery is dead: listed, replayable, and sent once on replay', async () => {
    const user = await userWithDevices();
    push.setFallback({ kind: 'fail', status: 503, headers: { 'retry-after': '0' } });
    await h.publish('userLocked', {
      userId: user.userId,
      email: user.email,
      reason: 'admin',
      lockedUntil: null,
    });
    await h.publish('passwordChanged', { userId: user.userId, email: user.email, via: 'recovery' });
    const dead = await waitFor(
      async () => {
        const r = (await deliveriesOf(user.userId, 'password-changed')).find((x) => x.channel === 'push');
        return r?.status === 'dead' ? r : undefined;
      },
      { what: 'push delivery dead' },
    );
    expect(dead.attempts).toBe(3);
    const failure = await waitFor(() =>
      h.deliveryFailures.find((e) => (e.data as { deliveryId: string }).deliveryId === dead.id),
    );
    expect(failure.data).toMatchObject({ permanent: false, channel: 'push' });

    const staff = h.svc.as(admin);
    const list = await staff.get<{
      items: { id: string; eventId: string; topic: string; attempts: number; lastError: string }[];
    }>('/admin/dead-letters?topic=notification.deliveries.push');
    expect(list.status).toBe(200);
    const letter = list.body.items.find((i) => i.eventId === dead.id)!;
    expect(letter).toMatchObject({ topic: 'notification.deliveries.push', attempts: 3 });
    expect(letter.lastError).toContain('503');
    expect(JSON.stringify(list.body)).not.toContain(user.token);

    push.setFallback({ kind: 'accept' });
    const replay = await staff.post<{ replayed: string[] }>('/admin/dead-letters/replay', {
      ids: [letter.id],
    });
    expect(replay.status).toBe(200);
    expect(replay.body.replayed).toEqual([letter.id]);
    await waitFor(
      async () =>
        (await deliveriesOf(user.userId, 'password-changed')).find(
          (x) => x.id === dead.id && x.status === 'sent',
        ),
      {
        what: 'replayed delivery sent',
      },
    );
    // Replaying again changes nothing: only a dead delivery goes back to pending.
    await staff.post('/admin/dead-letters/replay', { ids: [letter.id] });
    const still = await h.svc.db
      .selectFrom('deliveries')
      .select(['status', 'attempts'])
      .where('id', '=', dead.id)
      .executeTakeFirstOrThrow();
    expect(still).toEqual({ status: 'sent', attempts: 1 });
    expect(push.accepted().filter((r) => r.idempotencyKey === dead.id)).toHaveLength(1);
    const after = await staff.get<{ items: { id: string }[] }>(
      '/admin/dead-letters?topic=notification.deliveries.push',
    );
    expect(after.body.items.map((i) => i.id)).not.toContain(letter.id);
  });

  it('provider down for a while: everything is sent after it recovers, nothing twice', async () => {
    const users = await Promise.all(Array.from({ length: 4 }, () => userWithDevices()));
    // Down long enough that every message is refused twice; the third attempt (of 3) finds it back up.
    sms.failEachKey(2, 503);
    for (const u of users) {
      await h.publish('sessionCreated', {
        userId: u.userId,
        sessionId: `s-${u.userId}`,
        email: u.email,
        deviceName: 'Laptop',
        userAgent: null,
        ip: null,
        newDevice: true,
      });
    }
    const smsRows = await waitFor(
      async () => {
        const rows = (await Promise.all(users.map((u) => deliveriesOf(u.userId, 'new-device-login'))))
          .flat()
          .filter((r) => r.channel === 'sms');
        return rows.length === 4 && rows.every((r) => r.status === 'sent' || r.status === 'dead')
          ? rows
          : undefined;
      },
      { what: 'all SMS settled' },
    );
    expect(smsRows.map((r) => r.status)).toEqual(['sent', 'sent', 'sent', 'sent']);
    expect(smsRows.map((r) => r.attempts)).toEqual([3, 3, 3, 3]);
    expect(sms.requests.filter((r) => r.answeredWith === 503)).toHaveLength(8);
    for (const u of users) {
      expect(alertsTo(sms.accepted(), u.phone)).toHaveLength(1);
      expect(smtp.mailsTo(u.email).filter((m) => m.raw.includes('New sign-in'))).toHaveLength(1);
    }
  });

  it('admin resend sends a copy of a delivery as a new delivery; codes are never resent', async () => {
    const user = await userWithDevices();
    await h.publish('withdrawalFailed', {
      withdrawalId: 'wd1',
      walletId: 'w1',
      userId: user.userId,
      amount: '700',
      currency: 'EUR',
      reason: 'account closed',
      occurredAt: new Date().toISOString(),
    });
    const original = await waitFor(async () =>
      (await deliveriesOf(user.userId, 'withdrawal-failed')).find(
        (r) => r.channel === 'email' && r.status === 'sent',
      ),
    );
    const staff = h.svc.as(admin);
    const res = await staff.post<{ deliveryId: string; resendOf: string }>(
      `/admin/notifications/${original.id}/resend`,
    );
    expect(res.status).toBe(202);
    expect(res.body.resendOf).toBe(original.id);
    await waitFor(
      () => smtp.mailsTo(user.email).filter((m) => m.raw.includes('could not be paid out')).length === 2,
      { what: 'resent mail' },
    );

    const [code] = await deliveriesOf(user.userId, 'email-verification');
    const refused = await staff.post<{ type: string }>(`/admin/notifications/${code!.id}/resend`);
    expect(refused.status).toBe(409);
    const asUser = await h.svc
      .as({ sub: user.userId, roles: ['user'], acr: 'aal2' })
      .post(`/admin/notifications/${original.id}/resend`);
    expect(asUser.status).toBe(403);
    expect(
      (await staff.post('/admin/notifications/00000000-0000-4000-8000-000000000000/resend')).status,
    ).toBe(404);
  });
});
