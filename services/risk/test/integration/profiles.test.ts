import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Platform } from '@wallet/platform';
import { Events } from '@wallet/contracts';
import { createLogger } from '@wallet/service-kit';
import { waitFor } from '@wallet/testing';
import { profileEffects, profileHandler } from '../../src/events/profile-consumers.ts';
import { adminUrl, ledgerFor, peer, publishEvent, startRisk, type RiskTestService } from './helpers.ts';

describe.skipIf(!adminUrl)('profiles from ledger and identity events', () => {
  let risk: RiskTestService;
  let ledger: Platform;
  let identity: Platform;
  beforeAll(async () => {
    risk = await startRisk();
    ledger = peer(risk, 'wallet-ledger');
    identity = peer(risk, 'identity');
  });
  afterAll(async () => {
    await ledger?.close();
    await identity?.close();
    await risk?.stop();
  });

  const transferCompleted = (
    user: string,
    amount: string,
    extra: { toWalletId?: string; deviceId?: string } = {},
  ) => ({
    transferId: randomUUID(),
    fromWalletId: 'w-from',
    toWalletId: extra.toWalletId ?? 'w-to',
    fromUserId: user,
    toUserId: 'u-to',
    amount,
    currency: 'EUR',
    deviceId: extra.deviceId ?? 'd-home',
    ip: '198.51.100.1',
    occurredAt: new Date().toISOString(),
  });

  const stats = (user: string) =>
    risk.db
      .selectFrom('amount_stats')
      .selectAll()
      .where('user_id', '=', user)
      .where('currency', '=', 'EUR')
      .executeTakeFirst();

  it('a redelivered transfer.completed changes the profile once', async () => {
    const user = randomUUID();
    const data = transferCompleted(user, '2500');
    const id = randomUUID();
    await publishEvent(ledger, 'transferCompleted', data, id);
    await publishEvent(ledger, 'transferCompleted', data, id);
    await Promise.all([
      publishEvent(ledger, 'transferCompleted', data, id),
      publishEvent(ledger, 'transferCompleted', data, id),
    ]);
    await risk.bus.drain();
    const row = await stats(user);
    expect(row).toMatchObject({ sample_count: 1, median: '2500' });
    const cp = await risk.db
      .selectFrom('known_counterparties')
      .selectAll()
      .where('user_id', '=', user)
      .orderBy('counterparty')
      .execute();
    expect(cp.map((c) => [c.counterparty, c.times])).toEqual([
      ['u-to', 1],
      ['w-to', 1],
    ]);
  });

  it('known counterparties and devices stop being new once money has moved', async () => {
    const user = randomUUID();
    // Money moved from the laptop first: the phone is new against it.
    await publishEvent(ledger, 'transferCompleted', {
      ...transferCompleted(user, '100', { toWalletId: 'w-other', deviceId: 'd-laptop' }),
      toUserId: 'u-other',
    });
    await risk.bus.drain();
    const assess = () =>
      ledgerFor(risk, user).assess({
        action: 'transfer',
        amount: '100',
        currency: 'EUR',
        counterparty: 'w-to',
        deviceId: 'd-phone',
      });
    const before = await assess();
    expect(before.body.reasons.map((r) => r.rule)).toEqual(
      expect.arrayContaining(['new-counterparty', 'new-device']),
    );
    await publishEvent(ledger, 'transferCompleted', transferCompleted(user, '100', { deviceId: 'd-phone' }));
    await waitFor(
      async () =>
        (await risk.db
          .selectFrom('known_devices')
          .select('device_id')
          .where('user_id', '=', user)
          .where('device_id', '=', 'd-phone')
          .executeTakeFirst()) ?? false,
      {
        what: 'device learned',
      },
    );
    const after = await assess();
    expect(after.body.reasons.map((r) => r.rule)).not.toContain('new-counterparty');
    expect(after.body.reasons.map((r) => r.rule)).not.toContain('new-device');
  });

  it('a person’s first device is not new; a second one is', async () => {
    const user = randomUUID();
    const session = (sessionId: string) =>
      publishEvent(identity, 'sessionCreated', {
        userId: user,
        sessionId,
        email: 'a@example.com',
        deviceName: null,
        userAgent: null,
        ip: null,
        newDevice: true,
      });
    await session('s-first');
    await risk.bus.drain();
    const pay = (sessionId: string, deviceId: string) =>
      ledgerFor(risk, user).assess({
        action: 'transfer',
        amount: '500',
        currency: 'EUR',
        counterparty: 'w-friend',
        sessionId,
        deviceId,
      });
    // identity marks every first session "new device": right after signing up, paying a friend.
    const first = await pay('s-first', 'd-1');
    expect(first.body.reasons.map((r) => r.rule)).not.toContain('new-device');
    expect(first.body.decision).toBe('allow');
    await session('s-second');
    await risk.bus.drain();
    const second = await pay('s-second', 'd-2');
    expect(second.body.reasons.map((r) => r.rule)).toEqual(
      expect.arrayContaining(['new-device', 'new-counterparty']),
    );
    expect(second.body.decision).toBe('challenge');
  });

  it('builds the robust statistic and flags an amount far above the user’s history', async () => {
    const user = randomUUID();
    for (const amount of ['1000', '1200', '900', '1100', '1000', '950']) {
      await publishEvent(ledger, 'transferCompleted', transferCompleted(user, amount));
    }
    await risk.bus.drain();
    expect(await stats(user)).toMatchObject({ sample_count: 6, median: '1000' });
    const res = await ledgerFor(risk, user).assess({
      action: 'transfer',
      amount: '20000',
      currency: 'EUR',
      counterparty: 'w-to',
      deviceId: 'd-home',
    });
    expect(res.body.reasons.map((r) => r.rule)).toEqual(['amount-anomaly']);
  });

  it('failed logins, young sessions, refunds and deposits feed their rules', async () => {
    const user = randomUUID();
    for (let i = 1; i <= 5; i += 1)
      await publishEvent(identity, 'loginFailed', { userId: user, ip: '203.0.113.5', failedAttempts: i });
    // The owner signed in before (an hour ago): this session's new device is new against that.
    await profileHandler(
      { platform: identity, db: risk.db, logger: createLogger('test', { level: 'silent' }) },
      'sessionCreated',
      profileEffects.sessionCreated!,
    )({
      specversion: '1.0',
      id: randomUUID(),
      source: 'identity',
      type: Events.sessionCreated.type,
      time: new Date(Date.now() - 3_600_000).toISOString(),
      data: {
        userId: user,
        sessionId: 's-earlier',
        email: 'a@example.com',
        deviceName: null,
        userAgent: null,
        ip: null,
        newDevice: true,
      },
    });
    await publishEvent(identity, 'sessionCreated', {
      userId: user,
      sessionId: 's-young',
      email: 'a@example.com',
      deviceName: null,
      userAgent: null,
      ip: null,
      newDevice: true,
    });
    for (let i = 0; i < 3; i += 1) {
      await publishEvent(ledger, 'refundCompleted', {
        refundId: randomUUID(),
        transferId: randomUUID(),
        payerUserId: user,
        payeeUserId: 'u-x',
        amount: '10',
        currency: 'EUR',
        occurredAt: new Date().toISOString(),
      });
    }
    await publishEvent(ledger, 'depositCompleted', {
      depositId: randomUUID(),
      walletId: 'w-1',
      userId: user,
      amount: '100000',
      currency: 'EUR',
      providerEventId: 'evt_1',
      occurredAt: new Date().toISOString(),
    });
    await risk.bus.drain();
    const res = await ledgerFor(risk, user).assess({
      action: 'withdrawal',
      amount: '60000',
      currency: 'EUR',
      counterparty: 'iban-1',
      sessionId: 's-young',
    });
    expect(res.body.reasons.map((r) => r.rule).sort()).toEqual(
      [
        'failed-logins',
        'new-counterparty',
        'new-device',
        'refund-after-transfer',
        'withdrawal-after-deposit',
        'young-session',
      ].sort(),
    );
    // Repeated refunds are strong and a step-up cannot clear them; with other strong signals: deny.
    expect(res.body.decision).toBe('deny');
  });

  it('drops an event that breaks its contract to the dead-letter store, listable and replayable by an admin', async () => {
    const id = await publishEvent(ledger, 'refundCompleted', { refundId: 'r-1' } as never);
    await risk.bus.drain();
    const admin = risk.as({ sub: 'admin-1', roles: ['admin'], acr: 'aal2' });
    const list = await admin.get<{ items: { id: string; eventId: string; topic: string }[] }>(
      '/admin/dead-letters?topic=ledger.refund.completed',
    );
    expect(list.status).toBe(200);
    const letter = list.body.items.find((d) => d.eventId === id);
    expect(letter).toBeDefined();
    const replay = await admin.post<{ replayed: string[] }>('/admin/dead-letters/replay', {
      ids: [letter!.id],
    });
    expect(replay.body.replayed).toEqual([letter!.id]);
    expect(
      (
        await risk
          .as({ sub: 'support-1', roles: ['support'], acr: 'aal2' })
          .post('/admin/dead-letters/replay', { ids: [letter!.id] })
      ).status,
    ).toBe(403);
  });
});
