/**
 * The bound on amounts (12 digits of major units per currency, see @wallet/contracts `maxAmount`)
 * wherever money enters the ledger: deposits (signed provider webhooks), transfers, refunds,
 * withdrawals, adjustment requests. Above it: 400 problem+json naming `body.amount`, nothing booked.
 */
import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { maxAmount, ProblemType } from '@wallet/contracts';
import { infraEnv } from '@wallet/testing';
import { idem, startLedger, type Ledger } from './helpers.ts';

const adminUrl = infraEnv('TEST_PG_ADMIN_URL');
const MAX_EUR = maxAmount('EUR');
const MAX_JPY = maxAmount('JPY');

interface Problem {
  type: string;
  errors?: { field: string; message: string }[];
}

function expectAmountRefused(res: { status: number; body: unknown; headers: Headers }): void {
  expect(res.status).toBe(400);
  expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  const problem = res.body as Problem;
  expect(problem.type).toBe(ProblemType.validation);
  // `body.amount`, or `body.data.amount` for a provider event.
  expect(
    problem.errors?.some((e) => /^body\.(data\.)?amount$/.test(e.field) && /must not exceed/.test(e.message)),
  ).toBe(true);
}

describe.skipIf(!adminUrl)('amount bounds', () => {
  let ledger: Ledger;
  const deposit = (walletId: string, amount: string, currency = 'EUR') =>
    ledger.provider.post('/webhooks/payments', {
      id: `evt_${randomUUID()}`,
      type: 'payment.succeeded',
      data: { walletId, amount, currency },
    });
  const balance = async (sub: string, walletId: string) =>
    (await ledger.user(sub).get<{ balance: string }>(`/wallets/${walletId}`)).body.balance;

  beforeAll(async () => {
    ledger = await startLedger(adminUrl!);
  });
  afterAll(async () => {
    await ledger?.stop();
  });

  it('refuses the deposit of 92233720368547758070 the outside test got applied, and 2^63', async () => {
    const sub = `big-${randomUUID()}`;
    const walletId = await ledger.openWallet(sub);
    for (const amount of ['92233720368547758070', (2n ** 63n).toString(), (MAX_EUR + 1n).toString()])
      expectAmountRefused(await deposit(walletId, amount));
    expect(await balance(sub, walletId)).toBe('0');
  });

  it('accepts deposits up to the currency maximum and refuses every one above it (property, real database)', async () => {
    const sub = `prop-${randomUUID()}`;
    const walletId = await ledger.openWallet(sub, 'JPY');
    let expected = 0n;
    await fc.assert(
      fc.asyncProperty(fc.bigInt({ min: -3n, max: 3n }), async (offset) => {
        const amount = MAX_JPY + offset;
        const res = await deposit(walletId, amount.toString(), 'JPY');
        if (amount <= MAX_JPY) {
          expect(res.status).toBe(200);
          expected += amount;
        } else {
          expectAmountRefused(res);
        }
        expect(await balance(sub, walletId)).toBe(expected.toString());
      }),
      { numRuns: 25 },
    );
    // A balance may exceed one maximal amount (numeric(38,0)); only single amounts are bounded.
    expect(expected).toBeGreaterThan(MAX_JPY);
  });

  it('refuses transfers, refunds, withdrawals and adjustment requests above the maximum', async () => {
    const payer = `payer-${randomUUID()}`;
    const payee = `payee-${randomUUID()}`;
    const from = await ledger.openWallet(payer);
    const to = await ledger.openWallet(payee);
    expect((await deposit(from, MAX_EUR.toString())).status).toBe(200);
    const over = (MAX_EUR + 1n).toString();

    expectAmountRefused(
      await ledger
        .user(payer)
        .post(
          '/transfers',
          { fromWalletId: from, toWalletId: to, amount: over, currency: 'EUR' },
          { headers: idem() },
        ),
    );
    // 2^63 passed validation before and was refused only as insufficient funds.
    expectAmountRefused(
      await ledger
        .user(payer)
        .post(
          '/transfers',
          { fromWalletId: from, toWalletId: to, amount: (2n ** 63n).toString(), currency: 'EUR' },
          { headers: idem() },
        ),
    );
    const all = await ledger
      .user(payer)
      .post<{ transferId: string }>(
        '/transfers',
        { fromWalletId: from, toWalletId: to, amount: MAX_EUR.toString(), currency: 'EUR' },
        { headers: idem() },
      );
    // At the maximum a transfer passes validation (risk may still challenge it; the fake allows).
    expect(all.status).toBe(201);
    expectAmountRefused(
      await ledger
        .user(payee)
        .post(`/transfers/${all.body.transferId}/refunds`, { amount: over }, { headers: idem() }),
    );
    expectAmountRefused(
      await ledger
        .user(payee, { acr: 'aal2' })
        .post(
          '/withdrawals',
          { walletId: to, amount: over, currency: 'EUR', destination: 'iban:X' },
          { headers: idem() },
        ),
    );
    expectAmountRefused(
      await ledger.svc
        .as({ sub: `adm-${randomUUID()}`, roles: ['admin'], acr: 'aal2' })
        .post(
          '/admin/adjustments',
          { walletId: to, amount: over, direction: 'credit', reason: 'too much' },
          { headers: idem() },
        ),
    );
    expect(await balance(payee, to)).toBe(MAX_EUR.toString());
  });
});
