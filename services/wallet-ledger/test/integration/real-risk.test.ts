/**
 * The ledger and the REAL risk service on one bus, each on its own database: the default policy that
 * clients rely on (1,000.00 EUR or more is challenged; a stepped-up session may proceed) decided by risk
 * and enforced by the ledger. (risk.test.ts covers the timeout and error paths, which the real service
 * cannot be made to produce on demand, with a local server speaking the same contract.)
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PAYMENT_PROVIDER_SUBJECT, ProblemType } from '@wallet/contracts';
import { service as riskService } from '@wallet/risk';
import type { EmbeddedBus } from '@wallet/platform';
import { startTestService } from '@wallet/service-testing';
import { infraEnv } from '@wallet/testing';
import { service as ledgerService } from '../../src/service.ts';

const adminUrl = infraEnv('TEST_PG_ADMIN_URL');

const startLedger = () => startTestService(ledgerService, { adminUrl: adminUrl! });
const startRisk = (bus: EmbeddedBus) => startTestService(riskService, { adminUrl: adminUrl!, bus });

describe.skipIf(!adminUrl)('wallet-ledger with the real risk service', () => {
  let ledger: Awaited<ReturnType<typeof startLedger>>;
  let risk: Awaited<ReturnType<typeof startRisk>>;

  beforeAll(async () => {
    ledger = await startLedger();
    risk = await startRisk(ledger.bus);
  }, 60_000);

  afterAll(async () => {
    await risk?.stop();
    await ledger?.stop();
  });

  async function fundedPair(): Promise<{ sub: string; from: string; to: string }> {
    const sub = `u-${randomUUID()}`;
    const open = async (owner: string) => {
      const res = await ledger
        .as({ sub: owner, roles: ['user'], sid: `s-${owner}` })
        .post<{ walletId: string }>('/wallets', {
          currency: 'EUR',
        });
      expect(res.status).toBe(201);
      return res.body.walletId;
    };
    const from = await open(sub);
    const to = await open(`payee-${sub}`);
    const deposit = await ledger.as({ sub: PAYMENT_PROVIDER_SUBJECT }).post('/webhooks/payments', {
      id: `evt_${randomUUID()}`,
      type: 'payment.succeeded',
      data: { walletId: from, amount: '500000', currency: 'EUR' },
    });
    expect(deposit.status).toBe(200);
    return { sub, from, to };
  }

  it('lets a small transfer through and records risk’s assessment on it', async () => {
    const { sub, from, to } = await fundedPair();
    const res = await ledger
      .as({ sub, roles: ['user'], sid: `s-${sub}`, ip: '198.51.100.7', deviceId: 'd-1' })
      .post<{ transferId: string }>(
        '/transfers',
        { fromWalletId: from, toWalletId: to, amount: '2500', currency: 'EUR' },
        { headers: { 'Idempotency-Key': randomUUID() } },
      );
    expect(res.status).toBe(201);
    const row = await ledger.ownerDb
      .selectFrom('transactions')
      .select(['risk_assessment_id'])
      .where('id', '=', res.body.transferId)
      .executeTakeFirstOrThrow();
    expect(row.risk_assessment_id).toEqual(expect.any(String));
    const stored = await risk.ownerDb
      .selectFrom('assessments')
      .select(['decision'])
      .where('id', '=', row.risk_assessment_id!)
      .executeTakeFirst();
    expect(stored).toMatchObject({ decision: 'allow' });
  });

  it('asks for step-up at 1,000.00 EUR and lets the same transfer through once stepped up', async () => {
    const { sub, from, to } = await fundedPair();
    const body = { fromWalletId: from, toWalletId: to, amount: '100000', currency: 'EUR' };
    const key = randomUUID();
    const aal1 = await ledger
      .as({ sub, roles: ['user'], sid: `s-${sub}`, ip: '198.51.100.7', deviceId: 'd-1', acr: 'aal1' })
      .post<{ type: string }>('/transfers', body, { headers: { 'Idempotency-Key': key } });
    expect(aal1.status).toBe(403);
    expect(aal1.body.type).toBe(ProblemType.stepUpRequired);
    const aal2 = await ledger
      .as({ sub, roles: ['user'], sid: `s-${sub}`, ip: '198.51.100.7', deviceId: 'd-1', acr: 'aal2' })
      .post<{ status: string }>('/transfers', body, { headers: { 'Idempotency-Key': key } });
    expect(aal2.status).toBe(201);
    expect(aal2.body.status).toBe('completed');
  });
});
