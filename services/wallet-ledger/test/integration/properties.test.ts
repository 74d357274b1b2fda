/**
 * Property-based: random interleavings of concurrent deposits, transfers, withdrawals (holds),
 * payout outcomes and refunds over a few wallets. After each run: reconcile proves conservation per
 * currency, stored balance = sum of entries, held = pending holds and intact hash chains; no wallet
 * is overdrawn; money in the wallets equals deposits minus settled payouts; every replay is identical.
 */
import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { infraEnv } from '@wallet/testing';
import { createSystemAccounts } from '../../src/db/system-accounts.ts';
import { transferFunds } from '../../src/operations/movements.ts';
import { reconcile } from '../../src/operations/reconcile.ts';
import { startLedger, type Ledger } from './helpers.ts';

const adminUrl = infraEnv('TEST_PG_ADMIN_URL');

type Op =
  | { kind: 'deposit'; to: number; amount: number }
  | { kind: 'transfer'; from: number; to: number; amount: number }
  | { kind: 'withdraw'; from: number; amount: number };

const WALLETS = 3;
const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({
    kind: fc.constant('deposit' as const),
    to: fc.nat(WALLETS - 1),
    amount: fc.integer({ min: 1, max: 5_000 }),
  }),
  fc.record({
    kind: fc.constant('transfer' as const),
    from: fc.nat(WALLETS - 1),
    to: fc.nat(WALLETS - 1),
    amount: fc.integer({ min: 1, max: 3_000 }),
  }),
  fc.record({
    kind: fc.constant('withdraw' as const),
    from: fc.nat(WALLETS - 1),
    amount: fc.integer({ min: 1, max: 2_000 }),
  }),
);

describe.skipIf(!adminUrl)('ledger invariants under random concurrent interleavings', () => {
  let ledger: Ledger;
  beforeAll(async () => {
    ledger = await startLedger(adminUrl!);
  });
  afterAll(async () => {
    await ledger?.stop();
  });

  it('conserves money, never overdraws, keeps chains intact and replays identically', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(opArb, { minLength: 5, maxLength: 25 }),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 3_000 }), fc.boolean()), { maxLength: 10 }),
        async (ops, followUps) => {
          const run = randomUUID().slice(0, 8);
          const users = Array.from({ length: WALLETS }, (_, i) => `p-${run}-${i}`);
          const wallets = await Promise.all(users.map((u) => ledger.openWallet(u)));
          let deposited = 0n;
          const sent: {
            client: ReturnType<Ledger['user']>;
            path: string;
            body: unknown;
            key: string;
            text: string;
          }[] = [];
          const post = async (userIndex: number, path: string, body: unknown, aal2 = false) => {
            const client = ledger.user(users[userIndex]!, aal2 ? { acr: 'aal2' } : {});
            const key = randomUUID();
            const res = await client.post<Record<string, string>>(path, body, {
              headers: { 'Idempotency-Key': key },
            });
            sent.push({ client, path, body, key, text: res.text });
            return res;
          };
          // Phase 1: everything at once.
          const phase1 = await Promise.all(
            ops.map(async (op) => {
              if (op.kind === 'deposit') {
                await ledger.deposit(wallets[op.to]!, op.amount);
                deposited += BigInt(op.amount);
                return undefined;
              }
              if (op.kind === 'transfer') {
                const res = await post(op.from, '/transfers', {
                  fromWalletId: wallets[op.from],
                  toWalletId: wallets[op.to],
                  amount: String(op.amount),
                  currency: 'EUR',
                });
                expect([201, 422]).toContain(res.status);
                return res.status === 201 ? { transferId: res.body['transferId']!, payee: op.to } : undefined;
              }
              const res = await post(
                op.from,
                '/withdrawals',
                {
                  walletId: wallets[op.from],
                  amount: String(op.amount),
                  currency: 'EUR',
                  destination: 'iban:X',
                },
                true,
              );
              expect([202, 422]).toContain(res.status);
              return res.status === 202 ? { withdrawalId: res.body['withdrawalId']! } : undefined;
            }),
          );
          const transfers = phase1.filter(
            (x): x is { transferId: string; payee: number } => !!x && 'transferId' in x,
          );
          const withdrawals = phase1.filter((x): x is { withdrawalId: string } => !!x && 'withdrawalId' in x);
          // Phase 2: refunds (possibly of the same transfer at once) and payout outcomes, concurrently.
          let settled = 0n;
          await Promise.all([
            ...followUps.map(async ([pick, amount]) => {
              const t = transfers[pick % Math.max(transfers.length, 1)];
              if (!t) return;
              const res = await post(t.payee, `/transfers/${t.transferId}/refunds`, {
                amount: String(amount),
              });
              expect([201, 422]).toContain(res.status);
            }),
            ...withdrawals.map(async (w, i) => {
              const succeed = followUps[i]?.[2] ?? i % 2 === 0;
              const res = await ledger.provider.post<{ transactionId: string }>('/webhooks/payments', {
                id: `evt_${randomUUID()}`,
                type: succeed ? 'payout.succeeded' : 'payout.failed',
                data: { withdrawalId: w.withdrawalId },
              });
              expect(res.status).toBe(200);
              if (succeed) {
                const hold = await ledger.svc.db
                  .selectFrom('holds')
                  .select('amount')
                  .where('id', '=', w.withdrawalId)
                  .executeTakeFirstOrThrow();
                settled += BigInt(hold.amount);
              }
            }),
          ]);
          const report = await reconcile(ledger.svc.db);
          expect(report, JSON.stringify(report)).toMatchObject({ ok: true });
          const views = await Promise.all(
            users.map((u, i) =>
              ledger.user(u).get<{ balance: string; available: string }>(`/wallets/${wallets[i]}`),
            ),
          );
          for (const v of views) {
            expect(BigInt(v.body.available)).toBeGreaterThanOrEqual(0n);
          }
          const total = views.reduce((sum, v) => sum + BigInt(v.body.balance), 0n);
          expect(total).toBe(deposited - settled);
          // Every request replays byte for byte under its key.
          for (const s of sent) {
            const again = await s.client.post(s.path, s.body, { headers: { 'Idempotency-Key': s.key } });
            expect(again.text).toBe(s.text);
          }
        },
      ),
      { numRuns: 8 },
    );
  });

  it('the guarantee is inside the transaction: 50 concurrent postings bypassing every pre-check never overdraw', async () => {
    const sub = `raw-${randomUUID()}`;
    const from = await ledger.openWallet(sub);
    const to = await ledger.openWallet(`to-${sub}`);
    await ledger.deposit(from, 1_000);
    const deps = {
      db: ledger.svc.db,
      reader: () => ledger.svc.db,
      systemAccounts: createSystemAccounts(ledger.svc.db, 4),
      config: {
        PLATFORM_CURRENCY: 'EUR' as const,
        WITHDRAWAL_HOLD_TTL_SECONDS: 60,
        BALANCE_LOW_THRESHOLD: 1_000n,
      },
    };
    const risk = { assessmentId: null, decision: null, score: null, failOpen: false, steppedUp: false };
    const outcomes = await Promise.allSettled(
      Array.from({ length: 50 }, () =>
        transferFunds(
          deps,
          {
            transferId: randomUUID(),
            fromWalletId: from,
            toWalletId: to,
            amount: 70n,
            currency: 'EUR',
            description: null,
            initiatedBy: sub,
            risk,
          },
          null,
        ),
      ),
    );
    expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(14);
    expect((await ledger.user(sub).get<{ balance: string }>(`/wallets/${from}`)).body.balance).toBe('20');
  });
});
