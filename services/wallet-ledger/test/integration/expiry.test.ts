/** A withdrawal hold that the payout provider never confirms expires and frees the money. */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Events } from '@wallet/contracts';
import { infraEnv, waitFor } from '@wallet/testing';
import { idem, startLedger, type Ledger } from './helpers.ts';

const adminUrl = infraEnv('TEST_PG_ADMIN_URL');

describe.skipIf(!adminUrl)('hold expiry', () => {
  let ledger: Ledger;
  beforeAll(async () => {
    ledger = await startLedger(adminUrl!, {
      WITHDRAWAL_HOLD_TTL_SECONDS: '1',
      HOLD_EXPIRY_INTERVAL_MS: '100',
    });
  });
  afterAll(async () => {
    await ledger?.stop();
  });

  it('releases the held amount, publishes withdrawal.failed, and a late payout is refused', async () => {
    const sub = `exp-${randomUUID()}`;
    const walletId = await ledger.openWallet(sub);
    await ledger.deposit(walletId, 1_000);
    const w = await ledger
      .user(sub, { acr: 'aal2' })
      .post<{ withdrawalId: string }>(
        '/withdrawals',
        { walletId, amount: '600', currency: 'EUR', destination: 'iban:X' },
        { headers: idem() },
      );
    expect(w.status).toBe(202);
    await waitFor(
      async () => (await ledger.user(sub).get<{ held: string }>(`/wallets/${walletId}`)).body.held === '0',
      { what: 'hold expired', timeoutMs: 5_000 },
    );
    const event = await ledger.svc.ownerDb
      .selectFrom('outbox')
      .select('payload')
      .where('event_type', '=', Events.withdrawalFailed.type)
      .executeTakeFirstOrThrow();
    expect(event.payload).toMatchObject({ withdrawalId: w.body.withdrawalId, reason: 'expired' });
    const late = await ledger.provider.post('/webhooks/payments', {
      id: `evt_${randomUUID()}`,
      type: 'payout.succeeded',
      data: { withdrawalId: w.body.withdrawalId },
    });
    expect(late.status).toBe(409);
    expect((await ledger.user(sub).get<{ balance: string }>(`/wallets/${walletId}`)).body.balance).toBe(
      '1000',
    );
  });
});
