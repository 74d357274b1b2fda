/**
 * Four eyes on money: admin adjustments are requested by one admin and approved by another, against
 * real PostgreSQL. Self-credit, self-approval, ceilings, concurrent approvals, rejected and expired
 * requests.
 */
import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProblemType, type Role } from '@wallet/contracts';
import { infraEnv, waitFor } from '@wallet/testing';
import { idem, startLedger, type Ledger } from './helpers.ts';

const adminUrl = infraEnv('TEST_PG_ADMIN_URL');

interface RequestView {
  requestId: string;
  status: string;
  amount: string;
  requestedBy: string;
  decidedBy: string | null;
  adjustmentId: string | null;
  type?: string;
}

describe.skipIf(!adminUrl)('maker-checker admin adjustments', () => {
  let ledger: Ledger;
  // admin: 100.00 EUR; support+admin together: 1,000.00 EUR (the higher ceiling of one's roles counts).
  const CEILINGS = 'admin=100,support=1000';
  const staff = (sub: string, roles: Role[] = ['user', 'admin'], acr: 'aal1' | 'aal2' = 'aal2') =>
    ledger.svc.as({ sub, roles, acr, sid: `sid-${sub}` });
  const balance = async (sub: string, walletId: string) =>
    (await ledger.user(sub).get<{ balance: string }>(`/wallets/${walletId}`)).body.balance;
  const request = (maker: string, walletId: string, amount: string, direction = 'credit', roles?: Role[]) =>
    staff(maker, roles).post<RequestView>(
      '/admin/adjustments',
      { walletId, amount, direction, reason: 'goodwill credit' },
      { headers: idem() },
    );
  const approve = (checker: string, requestId: string, roles?: Role[]) =>
    staff(checker, roles).post<RequestView>(`/admin/adjustments/${requestId}/approve`, {});
  const postingsOf = async (requestId: string) =>
    ledger.svc.ownerDb
      .selectFrom('transactions')
      .select(['id', 'kind', sql<string>`amount::text`.as('amount'), 'initiated_by', 'metadata'])
      .where(sql<string>`metadata->>'adjustmentRequestId'`, '=', requestId)
      .execute();
  const ids = () => {
    const tag = randomUUID().slice(0, 8);
    return {
      maker: `maker-${tag}`,
      checker: `checker-${tag}`,
      other: `other-${tag}`,
      customer: `cust-${tag}`,
    };
  };

  beforeAll(async () => {
    ledger = await startLedger(adminUrl!, { ADJUSTMENT_CEILINGS: CEILINGS, HOLD_EXPIRY_INTERVAL_MS: '100' });
  });
  afterAll(async () => {
    await ledger?.stop();
  });

  it('a request moves nothing; a second admin’s approval posts it once, and approving again answers the same', async () => {
    const { maker, checker, customer } = ids();
    const walletId = await ledger.openWallet(customer);
    const requested = await request(maker, walletId, '2500');
    expect(requested.status).toBe(202);
    expect(requested.body).toMatchObject({
      status: 'pending',
      amount: '2500',
      requestedBy: maker,
      adjustmentId: null,
    });
    expect(await balance(customer, walletId)).toBe('0');
    const listed = await staff(checker).get<{ items: RequestView[] }>('/admin/adjustments?status=pending');
    expect(listed.body.items.map((r) => r.requestId)).toContain(requested.body.requestId);

    const approved = await approve(checker, requested.body.requestId);
    expect(approved.status).toBe(200);
    expect(approved.body).toMatchObject({ status: 'approved', decidedBy: checker });
    expect(await balance(customer, walletId)).toBe('2500');
    const again = await approve(checker, requested.body.requestId);
    expect(again.status).toBe(200);
    expect(again.body.adjustmentId).toBe(approved.body.adjustmentId);
    expect(await balance(customer, walletId)).toBe('2500');
    const postings = await postingsOf(requested.body.requestId);
    expect(postings).toHaveLength(1);
    expect(postings[0]).toMatchObject({
      id: approved.body.adjustmentId,
      kind: 'adjustment',
      amount: '2500',
      initiated_by: maker,
      metadata: { requestedBy: maker, approvedBy: checker },
    });
  });

  it('a retried request (same Idempotency-Key and body) answers the same request, not a second one', async () => {
    const { maker, customer } = ids();
    const walletId = await ledger.openWallet(customer);
    const headers = idem();
    const body = { walletId, amount: '150', direction: 'credit', reason: 'goodwill credit' };
    const first = await staff(maker).post<RequestView>('/admin/adjustments', body, { headers });
    const retry = await staff(maker).post<RequestView>('/admin/adjustments', body, { headers });
    expect(first.status).toBe(202);
    expect(retry.status).toBe(202);
    expect(retry.headers.get('idempotent-replayed')).toBe('true');
    expect(retry.body.requestId).toBe(first.body.requestId);
    const rows = await ledger.svc.ownerDb
      .selectFrom('adjustment_requests')
      .select('id')
      .where('wallet_id', '=', walletId)
      .execute();
    expect(rows).toHaveLength(1);
  });

  it('refuses self-credit: no request on the maker’s own wallet, no approval on the checker’s', async () => {
    const { maker, checker, other } = ids();
    const makerWallet = await ledger.openWallet(maker);
    const own = await request(maker, makerWallet, '100');
    expect(own.status).toBe(403);
    expect(own.body.type).toBe(ProblemType.adjustmentOwnWallet);

    // Someone else asks to credit the checker's wallet: the checker may not approve it, a third admin may.
    const checkerWallet = await ledger.openWallet(checker);
    const forChecker = await request(maker, checkerWallet, '100');
    expect(forChecker.status).toBe(202);
    const selfServed = await approve(checker, forChecker.body.requestId);
    expect(selfServed.status).toBe(403);
    expect(selfServed.body.type).toBe(ProblemType.adjustmentOwnWallet);
    expect(await balance(checker, checkerWallet)).toBe('0');
    expect((await approve(other, forChecker.body.requestId)).status).toBe(200);
    expect(await balance(checker, checkerWallet)).toBe('100');
    expect(await balance(maker, makerWallet)).toBe('0');
  });

  it('refuses self-approval, in the route and in the database', async () => {
    const { maker, customer } = ids();
    const walletId = await ledger.openWallet(customer);
    const requested = await request(maker, walletId, '700');
    const self = await approve(maker, requested.body.requestId);
    expect(self.status).toBe(403);
    expect(self.body.type).toBe(ProblemType.fourEyesRequired);
    const stored = await staff(`x-${maker}`).get<RequestView>(
      `/admin/adjustments/${requested.body.requestId}`,
    );
    expect(stored.body).toMatchObject({ status: 'pending', decidedBy: null, adjustmentId: null });
    expect(await balance(customer, walletId)).toBe('0');
    // Even the service's own database role cannot record an approval by the maker.
    const forged = ledger.svc.db
      .updateTable('adjustment_requests')
      .set({ status: 'approved', decided_by: maker, decided_at: new Date(), transaction_id: randomUUID() })
      .where('id', '=', requested.body.requestId)
      .execute();
    await expect(forged).rejects.toThrow(/adjustment_requests_four_eyes/);
  });

  it('enforces the ceiling of each role, for the maker and for the checker', async () => {
    const { maker, checker, other, customer } = ids();
    const walletId = await ledger.openWallet(customer);
    // admin = 100.00 EUR = 10000 minor units.
    const above = await request(maker, walletId, '10001');
    expect(above.status).toBe(403);
    expect(above.body.type).toBe(ProblemType.adjustmentCeilingExceeded);
    expect((above.body as { ceiling?: string }).ceiling).toBe('10000');
    const atCeiling = await request(maker, walletId, '10000');
    expect(atCeiling.status).toBe(202);

    // A support+admin maker may ask for 500.00; a plain admin may not approve it, another support+admin may.
    const senior: Role[] = ['user', 'admin', 'support'];
    const big = await request(maker, walletId, '50000', 'credit', senior);
    expect(big.status).toBe(202);
    const tooSmall = await approve(checker, big.body.requestId);
    expect(tooSmall.status).toBe(403);
    expect(tooSmall.body.type).toBe(ProblemType.adjustmentCeilingExceeded);
    expect((await approve(other, big.body.requestId, senior)).status).toBe(200);
    expect(await balance(customer, walletId)).toBe('50000');
    // Support alone reaches neither route.
    const support = await staff(other, ['user', 'support']).post(
      `/admin/adjustments/${atCeiling.body.requestId}/approve`,
      {},
    );
    expect(support.status).toBe(403);
  });

  it('needs a stepped-up session for both steps', async () => {
    const { maker, checker, customer } = ids();
    const walletId = await ledger.openWallet(customer);
    const aal1 = await staff(maker, ['user', 'admin'], 'aal1').post(
      '/admin/adjustments',
      { walletId, amount: '100', direction: 'credit', reason: 'goodwill credit' },
      { headers: idem() },
    );
    expect(aal1.status).toBe(403);
    expect((aal1.body as { type: string }).type).toBe(ProblemType.stepUpRequired);
    const requested = await request(maker, walletId, '100');
    const approveAal1 = await staff(checker, ['user', 'admin'], 'aal1').post(
      `/admin/adjustments/${requested.body.requestId}/approve`,
      {},
    );
    expect(approveAal1.status).toBe(403);
    expect((approveAal1.body as { type: string }).type).toBe(ProblemType.stepUpRequired);
    expect(await balance(customer, walletId)).toBe('0');
  });

  it('posts exactly once when many approvals race (two admins, ten requests each)', async () => {
    const { maker, checker, other, customer } = ids();
    const walletId = await ledger.openWallet(customer);
    const requested = await request(maker, walletId, '3333');
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => approve(i % 2 === 0 ? checker : other, requested.body.requestId)),
    );
    const winners = results.filter((r) => r.status === 200);
    const losers = results.filter((r) => r.status !== 200);
    // One checker wins; their repeats answer the same approval; the other checker gets 409 every time.
    expect(new Set(winners.map((r) => r.body.decidedBy)).size).toBe(1);
    expect(new Set(winners.map((r) => r.body.adjustmentId)).size).toBe(1);
    expect(winners).toHaveLength(10);
    expect(losers.map((r) => r.status)).toEqual(Array(10).fill(409));
    for (const r of losers) expect(r.body.type).toBe(ProblemType.adjustmentRequestNotPending);
    expect(await postingsOf(requested.body.requestId)).toHaveLength(1);
    expect(await balance(customer, walletId)).toBe('3333');
    const report = await staff(checker).get<{ ok: boolean }>('/admin/ledger/reconcile');
    expect(report.body.ok).toBe(true);
  });

  it('a rejected request cannot be approved; the maker may withdraw their own', async () => {
    const { maker, checker, other, customer } = ids();
    const walletId = await ledger.openWallet(customer);
    const requested = await request(maker, walletId, '900');
    const rejected = await staff(other).post<RequestView>(
      `/admin/adjustments/${requested.body.requestId}/reject`,
      {
        comment: 'no ticket',
      },
    );
    expect(rejected.status).toBe(200);
    expect(rejected.body).toMatchObject({ status: 'rejected', decidedBy: other });
    const late = await approve(checker, requested.body.requestId);
    expect(late.status).toBe(409);
    expect(late.body).toMatchObject({
      type: ProblemType.adjustmentRequestNotPending,
      requestStatus: 'rejected',
    });
    const withdrawn = await request(maker, walletId, '901');
    expect(
      (await staff(maker).post(`/admin/adjustments/${withdrawn.body.requestId}/reject`, {})).status,
    ).toBe(200);
    expect((await approve(checker, withdrawn.body.requestId)).status).toBe(409);
    expect(await balance(customer, walletId)).toBe('0');
    expect(await postingsOf(requested.body.requestId)).toHaveLength(0);
  });

  it('an expired request cannot be approved, and the worker marks it expired', async () => {
    const { maker, checker, customer } = ids();
    const walletId = await ledger.openWallet(customer);
    const requested = await request(maker, walletId, '400');
    // Age the request past its expiry (ADJUSTMENT_REQUEST_TTL_SECONDS is a day here).
    await ledger.svc.ownerDb
      .updateTable('adjustment_requests')
      .set({
        requested_at: sql<Date>`now() - interval '2 days'`,
        expires_at: sql<Date>`now() - interval '1 day'`,
      })
      .where('id', '=', requested.body.requestId)
      .execute();
    const late = await approve(checker, requested.body.requestId);
    expect(late.status).toBe(409);
    expect(late.body).toMatchObject({
      type: ProblemType.adjustmentRequestNotPending,
      requestStatus: 'expired',
    });
    await waitFor(
      async () =>
        (
          await ledger.svc.ownerDb
            .selectFrom('adjustment_requests')
            .select('status')
            .where('id', '=', requested.body.requestId)
            .executeTakeFirstOrThrow()
        ).status === 'expired',
      { what: 'the sweeper to mark the request expired', timeoutMs: 5_000 },
    );
    expect((await approve(checker, requested.body.requestId)).status).toBe(409);
    expect(await balance(customer, walletId)).toBe('0');
  });

  it('a debit approval that would overdraw is refused and leaves the request pending', async () => {
    const { maker, checker, customer } = ids();
    const walletId = await ledger.openWallet(customer);
    await ledger.deposit(walletId, 500);
    const requested = await request(maker, walletId, '501', 'debit');
    const refused = await approve(checker, requested.body.requestId);
    expect(refused.status).toBe(422);
    expect(refused.body.type).toBe(ProblemType.insufficientFunds);
    const stored = await staff(checker).get<RequestView>(`/admin/adjustments/${requested.body.requestId}`);
    expect(stored.body.status).toBe('pending');
    expect(await balance(customer, walletId)).toBe('500');
  });
});
