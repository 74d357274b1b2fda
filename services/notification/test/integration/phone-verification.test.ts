/**
 * Phone numbers are proven by a code before any SMS goes to them (issue 20), on real PostgreSQL with
 * the dev outbox standing in for the phone: the code SMS is the only message an unverified number
 * gets, code requests are limited per user and per number (also under concurrency), wrong guesses
 * burn a code, SMS to an unverified number are recorded as skipped and never sent, and no table but
 * the dev outbox ever holds the code.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProblemType } from '@wallet/contracts';
import { infraEnv, waitFor } from '@wallet/testing';
import { sql, type Kysely } from 'kysely';
import { startHarness, type Harness } from './harness.ts';

const adminUrl = infraEnv('TEST_PG_ADMIN_URL');

interface OutboxItem {
  to: string;
  channel: string;
  body: string;
}

interface Channels {
  phone: string | null;
  phoneVerified: boolean;
  pushTokens: string[];
  codeSent?: boolean;
}

const CODE_SMS = /phone verification code is ([0-9]{6})/;

function newPhone(): string {
  return `+4917${String(Math.floor(Math.random() * 1e9)).padStart(9, '0')}`;
}

describe.skipIf(!adminUrl)('phone number verification', () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness(adminUrl!, {
      PHONE_CODE_MAX_PER_USER: '3',
      PHONE_CODE_MAX_PER_NUMBER: '2',
      PHONE_CODE_MAX_GUESSES: '3',
    });
  });
  afterAll(async () => {
    await h?.stop();
  });

  async function outbox(to: string): Promise<OutboxItem[]> {
    const res = await h.svc
      .as({ sub: 'anonymous' })
      .get<{ items: OutboxItem[] }>(`/dev/outbox?to=${encodeURIComponent(to)}&limit=200`);
    expect(res.status).toBe(200);
    return res.body.items;
  }

  /** Waits for the `n`-th code SMS to `phone` and returns its code. */
  async function codeSentTo(phone: string, n = 1): Promise<string> {
    const items = await waitFor(
      async () => {
        const codes = (await outbox(phone)).filter((i) => CODE_SMS.test(i.body));
        return codes.length >= n ? codes : undefined;
      },
      { what: `${n} code SMS to ${phone}` },
    );
    return CODE_SMS.exec(items[0]!.body)![1]!;
  }

  async function setPhone(userId: string, phone: string | null) {
    return h.svc
      .as({ sub: userId })
      .put<Channels & { type?: string }>('/me/notification-channels', { phone });
  }

  async function confirm(userId: string, code: string) {
    return h.svc
      .as({ sub: userId })
      .post<Channels & { type?: string }>('/me/notification-channels/phone/verification/confirm', { code });
  }

  async function smsRows(userId: string, template: string) {
    return h.svc.db
      .selectFrom('deliveries')
      .selectAll()
      .where('user_id', '=', userId)
      .where('template', '=', template)
      .where('channel', '=', 'sms')
      .execute();
  }

  /** Every row of every table as text, but the dev outbox (the stand-in phone). */
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

  it('sends a code to a new number, skips SMS alerts until it is confirmed, then sends them', async () => {
    const user = await h.register();
    const phone = newPhone();
    const set = await setPhone(user.userId, phone);
    expect(set.status).toBe(200);
    expect(set.body).toEqual({ phone, phoneVerified: false, pushTokens: [], codeSent: true });
    const code = await codeSentTo(phone);

    // An alert while unverified: e-mailed, but the SMS is recorded as skipped and never sent.
    await h.publish('passwordChanged', { userId: user.userId, email: user.email, via: 'settings' });
    const [skipped] = await waitFor(async () => {
      const rows = await smsRows(user.userId, 'password-changed');
      return rows.length === 1 ? rows : undefined;
    });
    expect(skipped).toMatchObject({
      status: 'skipped',
      last_error: 'skipped: phone number not verified',
      attempts: 0,
      recipient: phone,
    });
    const history = await h.svc
      .as({ sub: user.userId })
      .get<{ items: { channel: string; template: string; status: string; skippedReason: string | null }[] }>(
        '/me/notifications',
      );
    expect(
      history.body.items.find((i) => i.channel === 'sms' && i.template === 'password-changed'),
    ).toMatchObject({ status: 'skipped', skippedReason: 'skipped: phone number not verified' });

    // The code is in no table (only its keyed hash), though the SMS carried it.
    const verification = await h.svc.ownerDb
      .selectFrom('phone_verifications')
      .selectAll()
      .where('user_id', '=', user.userId)
      .executeTakeFirstOrThrow();
    expect(verification.code_hash).toMatch(/^[0-9a-f]{64}$/);
    expect(await databaseText(h.svc.ownerDb as Kysely<unknown>)).not.toContain(code);
    const codeDelivery = (await smsRows(user.userId, 'phone-verification'))[0]!;
    expect(codeDelivery).toMatchObject({ status: 'sent', sensitive: true, body_text: '' });

    const wrongCode = code === '000000' ? '000001' : '000000';
    const wrong = await confirm(user.userId, wrongCode);
    expect(wrong.status).toBe(400);
    expect(wrong.body.type).toBe(ProblemType.invalidCode);
    const right = await confirm(user.userId, code);
    expect(right.status).toBe(200);
    expect(right.body).toEqual({ phone, phoneVerified: true, pushTokens: [] });
    expect((await h.svc.as({ sub: user.userId }).get<Channels>('/me/notification-channels')).body).toEqual({
      phone,
      phoneVerified: true,
      pushTokens: [],
    });
    // A code works once.
    expect((await confirm(user.userId, code)).status).toBe(400);

    await h.publish('mfaChanged', { userId: user.userId, email: user.email, enabled: true });
    await waitFor(
      async () => (await outbox(phone)).some((i) => !CODE_SMS.test(i.body) && i.channel === 'sms'),
      { what: 'the alert SMS to the verified number' },
    );
    expect((await outbox(phone)).filter((i) => !CODE_SMS.test(i.body))).toHaveLength(1);
    expect((await smsRows(user.userId, 'mfa-changed'))[0]).toMatchObject({ status: 'sent' });
  });

  it('a changed number is unverified again; a queued SMS to the old number is skipped by the worker', async () => {
    const user = await h.register();
    const first = newPhone();
    await setPhone(user.userId, first);
    expect((await confirm(user.userId, await codeSentTo(first))).status).toBe(200);
    await h.publish('userLocked', {
      userId: user.userId,
      email: user.email,
      reason: 'admin',
      lockedUntil: null,
    });
    const sent = await waitFor(async () => {
      const [row] = await smsRows(user.userId, 'account-locked');
      return row?.status === 'sent' ? row : undefined;
    });

    const second = newPhone();
    const changed = await setPhone(user.userId, second);
    expect(changed.body).toMatchObject({ phone: second, phoneVerified: false, codeSent: true });
    await codeSentTo(second);
    // Setting the same (unverified) number again sends nothing and changes nothing.
    expect((await setPhone(user.userId, second)).body).toMatchObject({
      phoneVerified: false,
      codeSent: false,
    });

    // Support resends the old SMS: the worker refuses to send it to a number that is no longer proven.
    const resend = await h.svc
      .as({ sub: 'staff-1', roles: ['admin'], acr: 'aal2' })
      .post<{ deliveryId: string }>(`/admin/notifications/${sent.id}/resend`, {});
    expect(resend.status).toBe(202);
    const copy = await waitFor(async () => {
      const row = await h.svc.db
        .selectFrom('deliveries')
        .selectAll()
        .where('id', '=', resend.body.deliveryId)
        .executeTakeFirstOrThrow();
      return row.status === 'pending' || row.status === 'sending' ? undefined : row;
    });
    expect(copy).toMatchObject({ status: 'skipped', last_error: 'skipped: phone number not verified' });
    expect((await outbox(first)).filter((i) => !CODE_SMS.test(i.body))).toHaveLength(1);
    expect(await outbox(second)).toHaveLength(1);

    // Removing the number: nothing left to verify.
    expect((await setPhone(user.userId, null)).body).toMatchObject({ phone: null, phoneVerified: false });
    const again = await h.svc
      .as({ sub: user.userId })
      .post('/me/notification-channels/phone/verification', {});
    expect(again.status).toBe(409);
  });

  it('wrong guesses burn the code; a new code (resend) works and replaces the old one', async () => {
    const user = await h.register();
    const phone = newPhone();
    await setPhone(user.userId, phone);
    const code = await codeSentTo(phone);
    const wrong = code === '123456' ? '654321' : '123456';
    for (let i = 0; i < 3; i += 1) expect((await confirm(user.userId, wrong)).status).toBe(400);
    expect((await confirm(user.userId, code)).status).toBe(400);

    const resent = await h.svc
      .as({ sub: user.userId })
      .post('/me/notification-channels/phone/verification', {});
    expect(resent.status).toBe(202);
    expect(resent.body).toEqual({ codeSent: true });
    const fresh = await waitFor(async () => {
      const codes = (await outbox(phone)).filter((i) => CODE_SMS.test(i.body));
      return codes.length === 2 ? CODE_SMS.exec(codes[0]!.body)![1] : undefined;
    });
    expect((await confirm(user.userId, fresh)).status).toBe(200);
    const verified = await h.svc
      .as({ sub: user.userId })
      .post('/me/notification-channels/phone/verification', {});
    expect(verified.status).toBe(409);
  });

  it('limits code SMS per number across users, also when they ask at the same moment', async () => {
    const users = await Promise.all(Array.from({ length: 5 }, () => h.register()));
    const stranger = newPhone();
    const answers = await Promise.all(users.map((u) => setPhone(u.userId, stranger)));
    const statuses = answers.map((a) => a.status).sort();
    expect(statuses).toEqual([200, 200, 429, 429, 429]);
    const refused = answers.find((a) => a.status === 429)!;
    expect(refused.body.type).toBe(ProblemType.rateLimited);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    await codeSentTo(stranger, 2);
    // The refused users' numbers were not stored; nothing more reached the number.
    for (const [i, a] of answers.entries()) {
      const channels = await h.svc.as({ sub: users[i]!.userId }).get<Channels>('/me/notification-channels');
      expect(channels.body.phone).toBe(a.status === 200 ? stranger : null);
    }
    expect(await outbox(stranger)).toHaveLength(2);
  });

  it('limits code SMS per user, whichever numbers they try', async () => {
    const user = await h.register();
    const tried: number[] = [];
    for (let i = 0; i < 4; i += 1) tried.push((await setPhone(user.userId, newPhone())).status);
    expect(tried).toEqual([200, 200, 200, 429]);
    const resend = await h.svc
      .as({ sub: user.userId })
      .post('/me/notification-channels/phone/verification', {});
    expect(resend.status).toBe(429);
    const unknown = await confirm(randomUUID(), '123456');
    expect(unknown.status).toBe(400);
  });
});
