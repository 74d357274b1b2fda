// Longer than 400 lines: one suite over one notification instance with the dev outbox; the scenarios share that set-up.
/**
 * notification with no provider configured (the embedded/dev default): every message goes through
 * the worker to the dev outbox. Events, idempotency, preferences, history and the HTTP API.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Events, type EventInput } from '@wallet/contracts';
import type { Kysely } from 'kysely';
import { createEmbeddedPlatform, silentLogger } from '@wallet/platform';
import { infraEnv, waitFor } from '@wallet/testing';
import { sql } from 'kysely';
import { newUser, startHarness, transfer, type Harness } from './harness.ts';

const adminUrl = infraEnv('TEST_PG_ADMIN_URL');

interface OutboxItem {
  to: string;
  channel: string;
  subject: string | null;
  body: string;
  createdAt: string;
}

describe.skipIf(!adminUrl)('notification with the dev outbox', () => {
  let h: Harness;
  const anonymous = { sub: 'anonymous' };

  beforeAll(async () => {
    h = await startHarness(adminUrl!);
  });
  afterAll(async () => {
    await h?.stop();
  });

  async function outbox(to: string): Promise<OutboxItem[]> {
    const res = await h.svc
      .as(anonymous)
      .get<{ items: OutboxItem[] }>(`/dev/outbox?to=${encodeURIComponent(to)}`);
    expect(res.status).toBe(200);
    return res.body.items;
  }

  async function waitForOutbox(to: string, count: number): Promise<OutboxItem[]> {
    return waitFor(
      async () => {
        const items = await outbox(to);
        return items.length >= count ? items : undefined;
      },
      { what: `${count} dev outbox messages to ${to}` },
    );
  }

  const CODE_IN = (length: number) => new RegExp(`\\b([0-9]{${length}})\\b`);

  /** Every row of every table of a database as text, but the dev outbox (the stand-in mailbox). */
  async function databaseText(db: Kysely<unknown>): Promise<string> {
    const tables = await sql<{ name: string }>`
      select table_name as name from information_schema.tables
      where table_schema = 'public' and table_type = 'BASE TABLE' and table_name <> 'dev_outbox'`.execute(db);
    const parts: string[] = [];
    for (const { name } of tables.rows) {
      const rows = await sql<{ row: string }>`select t::text as row from ${sql.table(name)} t`.execute(db);
      parts.push(...rows.rows.map((r) => `${name}: ${r.row}`));
    }
    return parts.join('\n');
  }

  it('e-mails the verification code identity mints at send time; no database keeps it', async () => {
    const user = await h.register({ displayName: 'Ada' });
    const [mail] = await waitForOutbox(user.email, 1);
    expect(mail).toMatchObject({ to: user.email, channel: 'email', subject: 'Your verification code' });
    expect(mail!.body).toContain('Ada');
    const code = CODE_IN(6).exec(mail!.body)?.[1];
    expect(code).toBeDefined();

    const row = await h.svc.db
      .selectFrom('deliveries')
      .selectAll()
      .where('user_id', '=', user.userId)
      .executeTakeFirstOrThrow();
    const event = await h.identityEvent(Events.userRegistered.type, user.userId);
    expect(row).toMatchObject({
      status: 'sent',
      provider: 'dev-outbox',
      attempts: 1,
      template: 'email-verification',
      event_type: 'wallet.identity.user.registered.v2',
      code_ref: event.data['verificationCodeRef'],
    });
    expect(row.provider_message_id).toBe(`dev-outbox:${row.id}`);
    expect(row.body_text).toBe('');
    // The code never rode the event and is in neither service's database (dev outbox aside).
    expect(JSON.stringify(event.data)).not.toContain(code);
    expect(await databaseText(h.svc.ownerDb as Kysely<unknown>)).not.toContain(code);
    expect(await databaseText(h.identity.ownerDb as Kysely<unknown>)).not.toContain(code);
    // And it is the code identity expects.
    const verified = await h.identity
      .as({ sub: 'anonymous' })
      .post('/auth/verify-email', { email: user.email, code });
    expect(verified.status).toBe(204);
  });

  it('a redelivered event produces one message and one code, not two', async () => {
    const user = await h.register();
    await waitForOutbox(user.email, 1);
    const event = await h.identityEvent(Events.userRegistered.type, user.userId);
    await h.publish('userRegistered', event.data as EventInput<'userRegistered'>, event.id);
    await h.publish('userRegistered', event.data as EventInput<'userRegistered'>, event.id);
    await h.svc.bus.drain();
    const inbox = await h.svc.db
      .selectFrom('inbox')
      .select('event_id')
      .where('event_id', '=', event.id)
      .execute();
    expect(inbox).toHaveLength(1);
    expect(await outbox(user.email)).toHaveLength(1);
    const deliveries = await h.svc.db
      .selectFrom('deliveries')
      .select('id')
      .where('event_id', '=', event.id)
      .execute();
    expect(deliveries).toHaveLength(1);
    const issued = await h.identity.ownerDb
      .selectFrom('one_time_codes')
      .select('issued_count')
      .where('id', '=', String(event.data['verificationCodeRef']))
      .executeTakeFirstOrThrow();
    expect(issued.issued_count).toBe(1);
  });

  it('lists messages newest first and matches the address case-insensitively; recovery codes too', async () => {
    const user = await h.register();
    await waitForOutbox(user.email, 1);
    await h.requestRecovery(user.email);
    const items = await waitForOutbox(user.email.toUpperCase(), 2);
    expect(items[0]!.subject).toBe('Your account recovery code');
    const recoveryCode = CODE_IN(8).exec(items[0]!.body)?.[1];
    expect(recoveryCode).toBeDefined();
    expect(items[1]!.body).toMatch(CODE_IN(6));
    expect(Date.parse(items[0]!.createdAt)).toBeGreaterThanOrEqual(Date.parse(items[1]!.createdAt));
    expect(await databaseText(h.svc.ownerDb as Kysely<unknown>)).not.toContain(recoveryCode);
    const reset = await h.identity.as({ sub: 'anonymous' }).post('/auth/recovery/complete', {
      email: user.email,
      code: recoveryCode,
      newPassword: 'quiet-meadow-falcon-83-zeppelin',
    });
    expect(reset.status).toBe(204);
  });

  it('fails a code message for good when identity refuses its reference, and says so', async () => {
    const user = await h.register();
    const [mail] = await waitForOutbox(user.email, 1);
    const verified = await h.identity
      .as({ sub: 'anonymous' })
      .post('/auth/verify-email', { email: user.email, code: CODE_IN(6).exec(mail!.body)?.[1] });
    expect(verified.status).toBe(204);
    // A stale (or forged) event naming the spent code, and one naming another address.
    const spent = await h.identityEvent(Events.userRegistered.type, user.userId);
    const spentId = await h.publish('recoveryRequested', {
      userId: user.userId,
      email: user.email,
      codeRef: String(spent.data['verificationCodeRef']),
      expiresAt: new Date(Date.now() + 600_000).toISOString(),
    });
    const failure = await waitFor(
      () =>
        h.deliveryFailures.find(
          (e) => (e.data as { userId: string; template: string }).userId === user.userId,
        ),
      { what: 'delivery.failed for the refused reference' },
    );
    expect(failure.data).toMatchObject({ template: 'recovery-code', permanent: true });
    expect((failure.data as { error: string }).error).toContain('identity answered 410');
    const row = await h.svc.db
      .selectFrom('deliveries')
      .selectAll()
      .where('event_id', '=', spentId)
      .executeTakeFirstOrThrow();
    expect(row).toMatchObject({ status: 'failed', attempts: 1, body_text: '' });
    expect(await outbox(user.email)).toHaveLength(1);
  });

  it('retries a code message while identity is unreachable, with a fresh code once it answers', async () => {
    // A platform of its own, with attempts to spare: the retries below must not exhaust them.
    const own = await startHarness(adminUrl!, { DELIVERY_MAX_ATTEMPTS: '100' });
    try {
      own.svc.bus.registerApp('identity', 'http://127.0.0.1:9');
      let user: { userId: string; email: string };
      try {
        user = await own.register();
        const who = user;
        await waitFor(
          async () => {
            const rows = await own.svc.db
              .selectFrom('delivery_attempts')
              .innerJoin('deliveries', 'deliveries.id', 'delivery_attempts.delivery_id')
              .select(['delivery_attempts.error', 'delivery_attempts.outcome'])
              .where('deliveries.user_id', '=', who.userId)
              .execute();
            return rows.length >= 2 ? rows : undefined;
          },
          { what: 'two failed attempts while identity is away' },
        ).then((rows) => {
          for (const row of rows) {
            expect(row).toMatchObject({ outcome: 'transient', error: 'one-time code: identity unreachable' });
          }
        });
      } finally {
        own.svc.bus.registerApp('identity', own.identity.url);
      }
      const mail = await waitFor(
        async () => {
          const res = await own.svc
            .as(anonymous)
            .get<{ items: OutboxItem[] }>(`/dev/outbox?to=${encodeURIComponent(user.email)}`);
          return res.body.items[0];
        },
        { what: 'the verification mail once identity is back' },
      );
      const verified = await own.identity
        .as({ sub: 'anonymous' })
        .post('/auth/verify-email', { email: user.email, code: CODE_IN(6).exec(mail.body)?.[1] });
      expect(verified.status).toBe(204);
    } finally {
      await own.stop();
    }
  });

  it('notifies payer and payee of a transfer, each in their own history only', async () => {
    const payer = await h.register();
    const payee = await h.register();
    await waitForOutbox(payer.email, 1);
    await waitForOutbox(payee.email, 1);
    await h.publish('transferCompleted', transfer(payer.userId, payee.userId, '1050'));
    const [sent] = await waitForOutbox(payer.email, 2);
    const [received] = await waitForOutbox(payee.email, 2);
    expect(sent!.subject).toBe('You sent 10.50 EUR');
    expect(received!.subject).toBe('You received 10.50 EUR');

    const history = await h.svc
      .as({ sub: payer.userId })
      .get<{ items: { template: string; status: string; channel: string; attempts: number }[] }>(
        '/me/notifications',
      );
    expect(history.status).toBe(200);
    expect(history.body.items.map((i) => i.template)).toEqual(['transfer-sent', 'email-verification']);
    expect(history.body.items[0]).toMatchObject({ channel: 'email', status: 'sent', attempts: 1 });
  });

  it('honours switched-off payment e-mails, but a security alert still arrives', async () => {
    const user = await h.register();
    const other = await h.register();
    await waitForOutbox(user.email, 1);
    const client = h.svc.as({ sub: user.userId });

    const put = await client.put<Record<string, { email: boolean; mandatory: boolean }>>(
      '/me/notification-preferences',
      {
        payments: { email: false },
      },
    );
    expect(put.status).toBe(200);
    expect(put.body['payments']).toMatchObject({ email: false, mandatory: false });
    expect(put.body['security']).toMatchObject({ email: true, mandatory: true });

    const refused = await client.put<{ type: string; errors: { field: string }[] }>(
      '/me/notification-preferences',
      {
        security: { email: false },
      },
    );
    expect(refused.status).toBe(400);
    expect(refused.body.type).toBe('https://wallet.dev/problems/validation');
    expect(refused.body.errors[0]!.field).toBe('body.security.email');

    await h.publish('transferCompleted', transfer(other.userId, user.userId));
    await h.publish('passwordChanged', { userId: user.userId, email: user.email, via: 'settings' });
    const items = await waitForOutbox(user.email, 2);
    expect(items[0]!.subject).toBe('Your password was changed');
    // The payer still got theirs; the payee's switched-off payment e-mail was never created.
    await waitForOutbox(other.email, 2);
    const deliveries = await h.svc.db
      .selectFrom('deliveries')
      .select('template')
      .where('user_id', '=', user.userId)
      .execute();
    expect(deliveries.map((d) => d.template).sort()).toEqual(['email-verification', 'password-changed']);

    const get = await client.get<Record<string, { email: boolean }>>('/me/notification-preferences');
    expect(get.body['payments']!.email).toBe(false);
  });

  it('sends push and SMS security alerts to the channels the user registered', async () => {
    const user = await h.register();
    await waitForOutbox(user.email, 1);
    const token = `push-token-${user.userId}`;
    const set = await h.svc
      .as({ sub: user.userId })
      .put('/me/notification-channels', { phone: '+4915112345678', pushTokens: [token] });
    expect(set.status).toBe(200);
    // SMS go only to a proven number: confirm the code the number got.
    const [codeSms] = await waitForOutbox('+4915112345678', 1);
    const code = /verification code is ([0-9]{6})/.exec(codeSms!.body)?.[1];
    const confirmed = await h.svc
      .as({ sub: user.userId })
      .post('/me/notification-channels/phone/verification/confirm', { code });
    expect(confirmed.status).toBe(200);
    await h.publish('sessionCreated', {
      userId: user.userId,
      sessionId: 's1',
      email: user.email,
      deviceName: 'Pixel <script>',
      userAgent: null,
      ip: '203.0.113.9',
      newDevice: true,
    });
    const push = await waitForOutbox(token, 1);
    const sms = await waitForOutbox('+4915112345678', 2);
    expect(push[0]).toMatchObject({ channel: 'push', subject: 'New sign-in' });
    expect(sms[0]!.body).toContain('Pixel <script>');
    const [mail] = await waitForOutbox(user.email, 2);
    expect(mail!.subject).toBe('New sign-in to your wallet');
    // The HTML part escapes what the event carried.
    const html = await h.svc.db
      .selectFrom('deliveries')
      .select('body_html')
      .where('user_id', '=', user.userId)
      .where('template', '=', 'new-device-login')
      .where('channel', '=', 'email')
      .executeTakeFirstOrThrow();
    expect(html.body_html).toContain('Pixel &lt;script&gt;');
    expect(html.body_html).not.toContain('<script>');
  });

  it('retries a ledger event whose recipient is not known yet, then applies it once identity catches up', async () => {
    const user = newUser();
    await h.publish('depositCompleted', {
      depositId: 'd1',
      walletId: 'w1',
      userId: user.userId,
      amount: '2500',
      currency: 'EUR',
      providerEventId: 'evt_1',
      occurredAt: new Date().toISOString(),
    });
    await waitFor(
      async () => {
        const row = await h.svc.db
          .selectFrom('consumer_failures')
          .select('attempts')
          .where('topic', '=', 'ledger.deposit.completed')
          .executeTakeFirst();
        return row ? row.attempts >= 1 : undefined;
      },
      { what: 'a recorded consumer failure' },
    );
    // identity's word about the user arrives late (e-mail verified: an event that names the address).
    await h.publish('emailVerified', { userId: user.userId, email: user.email });
    const items = await waitForOutbox(user.email, 2);
    expect(items.map((i) => i.subject)).toContain('25.00 EUR added to your wallet');
  });

  it('an event that breaks its contract is dead-lettered, listed without its payload, and replayable', async () => {
    const staff = h.svc.as({ sub: 'staff-1', roles: ['support'], acr: 'aal2' });
    const bad = createEmbeddedPlatform({ appId: 'identity', bus: h.svc.bus, logger: silentLogger });
    const id = randomUUID();
    await bad.publish(
      Events.recoveryRequested.topic,
      {
        type: Events.recoveryRequested.type,
        source: 'identity',
        data: { userId: 'u-x', codeRef: 'SECRET-777' },
      },
      { id },
    );
    const letter = await waitFor(
      async () => {
        const res = await staff.get<{
          items: { id: string; eventId: string; origin: string; topic: string }[];
        }>(`/admin/dead-letters?topic=${Events.recoveryRequested.topic}`);
        return res.body.items.find((i) => i.eventId === id);
      },
      { what: 'the dead letter to be listed' },
    );
    expect(letter).toMatchObject({ origin: 'subscription', topic: Events.recoveryRequested.topic });
    const listed = await staff.get('/admin/dead-letters?service=notification');
    expect(listed.text).not.toContain('SECRET-777');
    expect(
      (await staff.get<{ items: unknown[] }>('/admin/dead-letters?service=wallet-ledger')).body.items,
    ).toEqual([]);

    // Support may look; only an admin may replay (as the gateway's route table says).
    expect((await staff.post('/admin/dead-letters/replay', { ids: [letter.id] })).status).toBe(403);
    const admin = h.svc.as({ sub: 'admin-1', roles: ['admin'], acr: 'aal2' });
    const replay = await admin.post<{ replayed: string[] }>('/admin/dead-letters/replay', {
      ids: [letter.id],
    });
    expect(replay.status).toBe(200);
    expect(replay.body.replayed).toEqual([letter.id]);
    // Still broken: it comes back as a pending dead letter, never as a half-applied message.
    await waitFor(
      async () => {
        const res = await staff.get<{ items: { eventId: string }[] }>(
          `/admin/dead-letters?topic=${Events.recoveryRequested.topic}`,
        );
        return res.body.items.some((i) => i.eventId === id);
      },
      { what: 'the replayed message to be dead-lettered again' },
    );
    expect(await h.svc.db.selectFrom('deliveries').select('id').where('event_id', '=', id).execute()).toEqual(
      [],
    );
    expect((await admin.post('/admin/dead-letters/replay', { ids: ['not-a-number'] })).status).toBe(400);
    await bad.close();
  });

  it('exposes delivery metrics', async () => {
    const user = await h.register();
    await waitForOutbox(user.email, 1);
    const res = await fetch(`${h.svc.internalUrl}/metrics`);
    const text = await res.text();
    expect(text).toMatch(
      /notification_delivery_attempts_total\{[^}]*channel="email"[^}]*outcome="sent"[^}]*\} [1-9]/,
    );
    expect(text).toContain('# TYPE notification_deliveries gauge');
    expect(text).toContain('# TYPE outbox_lag_seconds gauge');
  });

  it('refuses calls without an internal token, anonymous history reads and non-staff admin calls', async () => {
    expect((await h.svc.as(null).get('/me/notifications')).status).toBe(401);
    expect((await h.svc.as(anonymous).get('/me/notifications')).status).toBe(401);
    expect(
      (await h.svc.as({ sub: 'u1', roles: ['user'], acr: 'aal2' }).get('/admin/dead-letters')).status,
    ).toBe(403);
    const noStepUp = await h.svc
      .as({ sub: 'a1', roles: ['admin'], acr: 'aal1' })
      .get<{ type: string }>('/admin/dead-letters');
    expect(noStepUp.status).toBe(403);
    expect(noStepUp.body.type).toBe('https://wallet.dev/problems/step-up-required');
    const bad = await h.svc
      .as({ sub: 'u1' })
      .put('/me/notification-channels', { phone: '0151 not a number' });
    expect(bad.status).toBe(400);
  });

  it('serves its OpenAPI document with the public paths', async () => {
    const res = await h.svc
      .as(anonymous)
      .get<{ openapi: string; paths: Record<string, unknown> }>('/openapi.json');
    expect(res.status).toBe(200);
    expect(res.body.openapi).toBe('3.1.0');
    expect(Object.keys(res.body.paths)).toEqual(
      expect.arrayContaining([
        '/v1/me/notifications',
        '/v1/me/notification-preferences',
        '/v1/me/notification-channels/phone/verification',
        '/v1/me/notification-channels/phone/verification/confirm',
        '/v1/admin/dead-letters',
        '/v1/dev/outbox',
      ]),
    );
  });
});
