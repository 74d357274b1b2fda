// Longer than 400 lines: the money paths in one suite over one ledger instance; the scenarios share its wallets and database.
/**
 * The ledger's money behaviour against real PostgreSQL, including the failure modes reported
 * against other ledgers (each named in its test).
 */
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Events, ProblemType } from '@wallet/contracts';
import { createEmbeddedPlatform, silentLogger } from '@wallet/platform';
import { sql } from 'kysely';
import { withDatabase } from '@wallet/service-kit';
import { infraEnv, waitFor } from '@wallet/testing';
import { idem, startLedger, type Ledger } from './helpers.ts';

const adminUrl = infraEnv('TEST_PG_ADMIN_URL');

interface Wallet {
  walletId: string;
  balance: string;
  available: string;
  held: string;
}

describe.skipIf(!adminUrl)('wallet-ledger money movements', () => {
  let ledger: Ledger;
  const admin = () => ledger.svc.as({ sub: 'op-1', roles: ['admin'], acr: 'aal2' });
  const wallet = async (sub: string, id: string) =>
    (await ledger.user(sub).get<Wallet>(`/wallets/${id}`)).body;
  const reconcile = async () => (await admin().get<{ ok: boolean }>('/admin/ledger/reconcile')).body;
  const transfer = (sub: string, from: string, to: string, amount: string, headers = idem()) =>
    ledger
      .user(sub)
      .post<{ transferId: string; type?: string }>(
        '/transfers',
        { fromWalletId: from, toWalletId: to, amount, currency: 'EUR' },
        { headers },
      );

  beforeAll(async () => {
    // Room for the 200-request race below to reach the database all at once: this file proves the
    // ledger's invariants under concurrency, not its load shedding (packages/service-kit tests that).
    ledger = await startLedger(adminUrl!, { MAX_IN_FLIGHT: '256', MAX_QUEUED: '0' });
  });
  afterAll(async () => {
    await ledger?.stop();
  });

  it('200 concurrent 10.00 transfers from a wallet holding 1,000.00: exactly 100 succeed, the rest 422, balance 0', async () => {
    const payer = `payer-${randomUUID()}`;
    const from = await ledger.openWallet(payer);
    const payees = await Promise.all([1, 2, 3, 4].map((i) => ledger.openWallet(`payee-${i}-${payer}`)));
    await ledger.deposit(from, 100_000);
    const results = await Promise.all(
      Array.from({ length: 200 }, (_, i) => transfer(payer, from, payees[i % 4]!, '1000')),
    );
    const statuses = results.map((r) => r.status);
    expect(statuses.filter((s) => s === 201)).toHaveLength(100);
    expect(statuses.filter((s) => s === 422)).toHaveLength(100);
    for (const r of results.filter((x) => x.status === 422))
      expect(r.body.type).toBe(ProblemType.insufficientFunds);
    expect(await wallet(payer, from)).toMatchObject({ balance: '0', available: '0' });
    expect(await reconcile()).toMatchObject({ ok: true });
  });

  it('anchor "inflight debits ignored by a balance check": a pending withdrawal hold is not spendable', async () => {
    const sub = `holder-${randomUUID()}`;
    const from = await ledger.openWallet(sub);
    const to = await ledger.openWallet(`other-${sub}`);
    await ledger.deposit(from, 1_000);
    const stepped = ledger.user(sub, { acr: 'aal2' });
    const w = await stepped.post(
      '/withdrawals',
      { walletId: from, amount: '800', currency: 'EUR', destination: 'iban:DE89' },
      { headers: idem() },
    );
    expect(w.status, w.text).toBe(202);
    expect(await wallet(sub, from)).toMatchObject({ balance: '1000', held: '800', available: '200' });
    const t = await transfer(sub, from, to, '300');
    expect(t.status).toBe(422);
    // Concurrently: a hold and a transfer that together exceed the balance cannot both win.
    await ledger.deposit(from, 800); // balance 1800, available 1000
    const [hold, spend] = await Promise.all([
      stepped.post(
        '/withdrawals',
        { walletId: from, amount: '700', currency: 'EUR', destination: 'iban:DE89' },
        { headers: idem() },
      ),
      transfer(sub, from, to, '700'),
    ]);
    expect([202, 422]).toContain(hold.status);
    expect([201, 422]).toContain(spend.status);
    expect([hold.status === 202, spend.status === 201].filter(Boolean)).toHaveLength(1);
    const after = await wallet(sub, from);
    expect(BigInt(after.available)).toBe(300n);
    expect(await reconcile()).toMatchObject({ ok: true });
  });

  it('anchor "idempotency key reused with another body answering 500": 422, and the same body replays byte for byte', async () => {
    const sub = `idem-${randomUUID()}`;
    const from = await ledger.openWallet(sub);
    const to = await ledger.openWallet(`to-${sub}`);
    await ledger.deposit(from, 5_000);
    const headers = idem();
    const first = await transfer(sub, from, to, '100', headers);
    expect(first.status).toBe(201);
    const again = await transfer(sub, from, to, '100', headers);
    expect(again.status).toBe(201);
    expect(again.text).toBe(first.text);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    const other = await transfer(sub, from, to, '200', headers);
    expect(other.status).toBe(422);
    expect(other.body.type).toBe(ProblemType.idempotencyKeyReused);
    // Another caller may use the same key string: keys are scoped per caller.
    const otherCaller = `c2-${sub}`;
    const w2 = await ledger.openWallet(otherCaller);
    await ledger.deposit(w2, 100);
    const scoped = await transfer(otherCaller, w2, to, '100', headers);
    expect(scoped.status).toBe(201);
    expect(await wallet(sub, from)).toMatchObject({ balance: '4900' });
  });

  it('concurrent duplicates of one key move money once; the others replay or answer 409', async () => {
    const sub = `dup-${randomUUID()}`;
    const from = await ledger.openWallet(sub);
    const to = await ledger.openWallet(`to-${sub}`);
    await ledger.deposit(from, 5_000);
    const headers = idem();
    const results = await Promise.all(
      Array.from({ length: 20 }, () => transfer(sub, from, to, '100', headers)),
    );
    const created = results.filter((r) => r.status === 201);
    expect(created.length).toBeGreaterThanOrEqual(1);
    expect(results.every((r) => r.status === 201 || r.status === 409)).toBe(true);
    expect(new Set(created.map((r) => r.text)).size).toBe(1);
    expect(await wallet(sub, from)).toMatchObject({ balance: '4900' });
  });

  it('refunds: anchor "non-idempotent refunds", and two concurrent refunds over the remainder -> one fails', async () => {
    const payer = `rp-${randomUUID()}`;
    const payee = `rq-${payer}`;
    const from = await ledger.openWallet(payer);
    const to = await ledger.openWallet(payee);
    await ledger.deposit(from, 10_000);
    const t = await transfer(payer, from, to, '1000');
    const transferId = t.body.transferId;
    // The payer may not refund (only the payee or support/admin).
    const byPayer = await ledger
      .user(payer)
      .post(`/transfers/${transferId}/refunds`, { amount: '100' }, { headers: idem() });
    expect(byPayer.status).toBe(404);
    const headers = idem();
    const r1 = await ledger
      .user(payee)
      .post(`/transfers/${transferId}/refunds`, { amount: '300' }, { headers });
    const r1again = await ledger
      .user(payee)
      .post(`/transfers/${transferId}/refunds`, { amount: '300' }, { headers });
    expect(r1.status).toBe(201);
    expect(r1again.text).toBe(r1.text);
    const [a, b] = await Promise.all([
      ledger
        .user(payee)
        .post<{ type?: string }>(`/transfers/${transferId}/refunds`, { amount: '500' }, { headers: idem() }),
      ledger
        .user(payee)
        .post<{ type?: string }>(`/transfers/${transferId}/refunds`, { amount: '500' }, { headers: idem() }),
    ]);
    expect([a.status, b.status].sort()).toEqual([201, 422]);
    expect([a, b].find((r) => r.status === 422)!.body.type).toBe(ProblemType.refundExceedsRemaining);
    const view = await ledger
      .user(payer)
      .get<{ refundedAmount: string; refunds: unknown[] }>(`/transfers/${transferId}`);
    expect(view.body).toMatchObject({ refundedAmount: '800' });
    expect(view.body.refunds).toHaveLength(2);
    expect(await wallet(payer, from)).toMatchObject({ balance: '9800' });
    expect(await reconcile()).toMatchObject({ ok: true });
  });

  it('anchor "two deposits for one provider event": concurrent duplicates credit once', async () => {
    const sub = `dep-${randomUUID()}`;
    const walletId = await ledger.openWallet(sub);
    const event = {
      id: `evt_${randomUUID()}`,
      type: 'payment.succeeded',
      data: { walletId, amount: '2500', currency: 'EUR' },
    };
    const results = await Promise.all(
      Array.from({ length: 10 }, () =>
        ledger.provider.post<{ status: string; transactionId: string }>('/webhooks/payments', event),
      ),
    );
    expect(results.every((r) => r.status === 200)).toBe(true);
    expect(results.filter((r) => r.body.status === 'applied')).toHaveLength(1);
    expect(new Set(results.map((r) => r.body.transactionId)).size).toBe(1);
    expect(await wallet(sub, walletId)).toMatchObject({ balance: '2500' });
    const forged = await ledger.user(sub).post('/webhooks/payments', { ...event, id: `evt_${randomUUID()}` });
    expect(forged.status).toBe(403);
  });

  it('withdrawals: step-up required, then settled or released by the payout webhook', async () => {
    const sub = `wd-${randomUUID()}`;
    const walletId = await ledger.openWallet(sub);
    await ledger.deposit(walletId, 3_000);
    const body = { walletId, amount: '1000', currency: 'EUR', destination: 'iban:FR76' };
    const plain = await ledger.user(sub).post<{ type: string }>('/withdrawals', body, { headers: idem() });
    expect(plain.status).toBe(403);
    expect(plain.body.type).toBe(ProblemType.stepUpRequired);
    const stepped = ledger.user(sub, { acr: 'aal2' });
    const ok = await stepped.post<{ withdrawalId: string; status: string }>('/withdrawals', body, {
      headers: idem(),
    });
    const ko = await stepped.post<{ withdrawalId: string; status: string }>('/withdrawals', body, {
      headers: idem(),
    });
    expect(ok.body.status).toBe('pending');
    expect(await wallet(sub, walletId)).toMatchObject({ balance: '3000', held: '2000', available: '1000' });
    const settle = await ledger.provider.post('/webhooks/payments', {
      id: `evt_${randomUUID()}`,
      type: 'payout.succeeded',
      data: { withdrawalId: ok.body.withdrawalId },
    });
    expect(settle.status, settle.text).toBe(200);
    const fail = await ledger.provider.post('/webhooks/payments', {
      id: `evt_${randomUUID()}`,
      type: 'payout.failed',
      data: { withdrawalId: ko.body.withdrawalId, reason: 'account closed' },
    });
    expect(fail.status).toBe(200);
    expect(await wallet(sub, walletId)).toMatchObject({ balance: '2000', held: '0', available: '2000' });
    const late = await ledger.provider.post('/webhooks/payments', {
      id: `evt_${randomUUID()}`,
      type: 'payout.failed',
      data: { withdrawalId: ok.body.withdrawalId },
    });
    expect(late.status).toBe(409);
    const history = await ledger
      .user(sub)
      .get<{ items: { kind: string; direction: string; amount: string }[] }>(
        `/wallets/${walletId}/transactions`,
      );
    expect(history.body.items[0]).toMatchObject({ kind: 'withdrawal', direction: 'debit', amount: '1000' });
    expect(await reconcile()).toMatchObject({ ok: true });
  });

  it('history is newest first with a cursor, and ?at= answers the balance of that moment', async () => {
    const sub = `hist-${randomUUID()}`;
    const walletId = await ledger.openWallet(sub);
    const before = new Date();
    for (const amount of [100, 200, 300]) await ledger.deposit(walletId, amount);
    const page1 = await ledger
      .user(sub)
      .get<{ items: { amount: string }[]; nextCursor: string | null }>(
        `/wallets/${walletId}/transactions?limit=2`,
      );
    expect(page1.body.items.map((i) => i.amount)).toEqual(['300', '200']);
    const page2 = await ledger
      .user(sub)
      .get<{ items: { amount: string }[]; nextCursor: string | null }>(
        `/wallets/${walletId}/transactions?limit=2&cursor=${page1.body.nextCursor}`,
      );
    expect(page2.body.items.map((i) => i.amount)).toEqual(['100']);
    expect(page2.body.nextCursor).toBeNull();
    const then = await ledger
      .user(sub)
      .get<Wallet>(`/wallets/${walletId}?at=${encodeURIComponent(before.toISOString())}`);
    expect(then.body.balance).toBe('0');
    const now = await ledger
      .user(sub)
      .get<Wallet>(`/wallets/${walletId}?at=${encodeURIComponent(new Date().toISOString())}`);
    expect(now.body.balance).toBe('600');
    const bad = await ledger.user(sub).get(`/wallets/${walletId}/transactions?cursor=nope`);
    expect(bad.status).toBe(400);
    // A cursor of the history's former format is refused the same way (clients start again).
    const former = Buffer.from('v1:2').toString('base64url');
    const old = await ledger.user(sub).get(`/wallets/${walletId}/transactions?cursor=${former}`);
    expect(old.status).toBe(400);
    expect(old.body).toMatchObject({ type: ProblemType.validation, errors: [{ field: 'query.cursor' }] });
  });

  it("a user cannot see or spend another user's wallet", async () => {
    const alice = `alice-${randomUUID()}`;
    const a = await ledger.openWallet(alice);
    const m = await ledger.openWallet(`mallory-${alice}`);
    await ledger.deposit(a, 1_000);
    expect((await ledger.user(`mallory-${alice}`).get(`/wallets/${a}`)).status).toBe(404);
    expect((await transfer(`mallory-${alice}`, a, m, '100')).status).toBe(404);
    expect((await ledger.svc.as(null).get('/wallets')).status).toBe(401);
  });

  it('admin adjustments need the admin role, a stepped-up session and a second admin', async () => {
    const sub = `adj-${randomUUID()}`;
    const walletId = await ledger.openWallet(sub);
    const body = { walletId, amount: '500', direction: 'credit', reason: 'goodwill credit' };
    expect(
      (
        await ledger.svc
          .as({ sub: 'sup', roles: ['support'], acr: 'aal2' })
          .post('/admin/adjustments', body, { headers: idem() })
      ).status,
    ).toBe(403);
    expect(
      (
        await ledger.svc
          .as({ sub: 'adm', roles: ['admin'], acr: 'aal1' })
          .post('/admin/adjustments', body, { headers: idem() })
      ).status,
    ).toBe(403);
    const checker = ledger.svc.as({ sub: 'op-2', roles: ['admin'], acr: 'aal2' });
    const credit = await admin().post<{ requestId: string }>('/admin/adjustments', body, { headers: idem() });
    expect(credit.status).toBe(202);
    expect((await checker.post(`/admin/adjustments/${credit.body.requestId}/approve`, {})).status).toBe(200);
    const overdraw = await admin().post<{ requestId: string }>(
      '/admin/adjustments',
      { ...body, amount: '501', direction: 'debit' },
      { headers: idem() },
    );
    expect(overdraw.status).toBe(202);
    expect((await checker.post(`/admin/adjustments/${overdraw.body.requestId}/approve`, {})).status).toBe(
      422,
    );
    expect(await wallet(sub, walletId)).toMatchObject({ balance: '500' });
  });

  it('publishes transfer.completed through the outbox', async () => {
    const sub = `evt-${randomUUID()}`;
    const from = await ledger.openWallet(sub);
    const to = await ledger.openWallet(`to-${sub}`);
    await ledger.deposit(from, 1_000);
    const t = await transfer(sub, from, to, '250');
    const row = await waitFor(
      async () =>
        (await ledger.svc.ownerDb
          .selectFrom('outbox')
          .select(['payload', 'status'])
          .where('event_type', '=', Events.transferCompleted.type)
          .where(sql<string>`payload->>'transferId'`, '=', t.body.transferId)
          .where('status', '=', 'published')
          .executeTakeFirst()) ?? false,
      { what: 'transfer.completed published' },
    );
    expect(row.payload).toMatchObject({ fromWalletId: from, toWalletId: to, amount: '250', fromUserId: sub });
  });

  it('opens the default wallet once for user.registered, even when the event is delivered twice', async () => {
    const identity = createEmbeddedPlatform({ appId: 'identity', bus: ledger.svc.bus, logger: silentLogger });
    const userId = `reg-${randomUUID()}`;
    const data = {
      userId,
      email: `${userId}@example.test`,
      displayName: null,
      verificationCodeRef: randomUUID(),
      verificationExpiresAt: new Date().toISOString(),
    };
    const id = randomUUID();
    for (let i = 0; i < 2; i += 1) {
      await identity.publish(
        Events.userRegistered.topic,
        { type: Events.userRegistered.type, source: 'identity', data },
        { id },
      );
    }
    const wallets = await waitFor(
      async () => {
        const res = await ledger.user(userId).get<{ items: { currency: string }[] }>('/wallets');
        return res.body.items.length > 0 ? res.body.items : false;
      },
      { what: 'default wallet' },
    );
    await ledger.svc.bus.drain();
    expect(wallets).toEqual([expect.objectContaining({ currency: 'EUR', balance: '0' })]);
    expect((await ledger.user(userId).get<{ items: unknown[] }>('/wallets')).body.items).toHaveLength(1);
    await identity.close();
  });

  it('entries are append-only for the runtime role, and a superuser edit is detected by reconcile', async () => {
    const sub = `tamper-${randomUUID()}`;
    const walletId = await ledger.openWallet(sub);
    await ledger.deposit(walletId, 700);
    // The service's own role: privilege refused (and the trigger would refuse it too).
    await expect(
      ledger.svc.db.updateTable('entries').set({ amount: '1' }).where('account_id', '=', walletId).execute(),
    ).rejects.toThrow(/permission denied|append-only/);
    await expect(
      ledger.svc.db.deleteFrom('entries').where('account_id', '=', walletId).execute(),
    ).rejects.toThrow(/permission denied|append-only/);
    // The owner has the privilege but the trigger refuses.
    await expect(
      ledger.svc.ownerDb
        .updateTable('entries')
        .set({ amount: '1' })
        .where('account_id', '=', walletId)
        .execute(),
    ).rejects.toThrow(/append-only/);
    expect(await reconcile()).toMatchObject({ ok: true });
    // A superuser bypassing triggers rewrites an amount.
    const su = new pg.Client({ connectionString: withDatabase(adminUrl!, ledger.svc.database.database) });
    await su.connect();
    try {
      await su.query('SET session_replication_role = replica');
      await su.query(
        `UPDATE entries SET amount = amount + 100, balance_after = balance_after + 100 WHERE account_id = $1`,
        [walletId],
      );
    } finally {
      await su.end();
    }
    const report = (
      await admin().get<{
        ok: boolean;
        brokenChains: { accountId: string }[];
        balanceMismatches: { accountId: string }[];
        currencies: { balanced: boolean }[];
      }>('/admin/ledger/reconcile')
    ).body;
    expect(report.ok).toBe(false);
    expect(report.brokenChains.map((c) => c.accountId)).toContain(walletId);
    expect(report.balanceMismatches.map((c) => c.accountId)).toContain(walletId);
    expect(report.currencies.some((c) => !c.balanced)).toBe(true);
  });
  it('publishes balance.low once when a debit takes the available balance below the threshold', async () => {
    const sub = `low-${randomUUID()}`;
    const from = await ledger.openWallet(sub);
    const to = await ledger.openWallet(`low-payee-${sub}`);
    await ledger.deposit(from, 1_500);
    const lowEvents = async () =>
      (
        await ledger.svc.ownerDb
          .selectFrom('outbox')
          .select(['payload'])
          .where('event_type', '=', Events.balanceLow.type)
          .where('partition_key', '=', from)
          .execute()
      ).map((row) => row.payload as { available: string; threshold: string; walletId: string });
    expect((await transfer(sub, from, to, '400')).status).toBe(201); // available 1100: above 1000
    expect(await lowEvents()).toEqual([]);
    expect((await transfer(sub, from, to, '200')).status).toBe(201); // 900: crossed
    expect((await transfer(sub, from, to, '100')).status).toBe(201); // 800: still below, no second event
    expect(await lowEvents()).toEqual([
      expect.objectContaining({ walletId: from, available: '900', threshold: '1000' }),
    ]);
  });
});
