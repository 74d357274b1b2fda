/** Risk decisions and the fail-open/fail-closed policy, against a fake risk service on the bus. */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ProblemType } from '@wallet/contracts';
import { infraEnv } from '@wallet/testing';
import { idem, startLedger, type Ledger } from './helpers.ts';

const adminUrl = infraEnv('TEST_PG_ADMIN_URL');

describe.skipIf(!adminUrl)('risk before a transfer', () => {
  let ledger: Ledger;
  let sub: string;
  let from: string;
  let to: string;
  const send = (amount: string, extra: { acr?: 'aal1' | 'aal2' } = {}, headers = idem()) =>
    ledger
      .user(sub, { deviceId: 'dev-1', ip: '203.0.113.9', ...extra })
      .post<{ type?: string; transferId?: string }>(
        '/transfers',
        { fromWalletId: from, toWalletId: to, amount, currency: 'EUR' },
        { headers },
      );
  const riskOf = async (transferId: string) =>
    await ledger.svc.ownerDb
      .selectFrom('transactions')
      .select(['risk', 'risk_assessment_id'])
      .where('id', '=', transferId)
      .executeTakeFirstOrThrow();

  beforeAll(async () => {
    ledger = await startLedger(adminUrl!, { RISK_FAIL_OPEN_BELOW: '5000', RISK_TIMEOUT_MS: '250' });
  });
  afterAll(async () => {
    await ledger?.stop();
  });
  beforeEach(async () => {
    sub = `risk-${randomUUID()}`;
    from = await ledger.openWallet(sub);
    to = await ledger.openWallet(`to-${sub}`);
    await ledger.deposit(from, 100_000);
    ledger.risk.mode = 'allow';
    ledger.risk.requests.length = 0;
  });

  it('allow: proceeds, sends the agreed request with a ledger-minted token, records the assessment', async () => {
    const res = await send('1000');
    expect(res.status).toBe(201);
    const request = ledger.risk.requests[0]!;
    expect(request.headers['x-internal-token']).toEqual(expect.any(String));
    expect(request.body).toEqual({
      userId: sub,
      action: 'transfer',
      amount: '1000',
      currency: 'EUR',
      counterparty: to,
      sessionId: `sid-${sub}`,
      deviceId: 'dev-1',
      ip: '203.0.113.9',
    });
    const row = await riskOf(res.body.transferId!);
    expect(row.risk_assessment_id).toEqual(expect.any(String));
    expect(row.risk).toMatchObject({ decision: 'allow', failOpen: false });
  });

  it('challenge: 403 step-up-required at aal1 (key released so the retry after step-up works), proceeds at aal2', async () => {
    ledger.risk.mode = 'challenge';
    const headers = idem();
    const first = await send('1000', {}, headers);
    expect(first.status).toBe(403);
    expect(first.body.type).toBe(ProblemType.stepUpRequired);
    const stepped = await send('1000', { acr: 'aal2' }, headers);
    expect(stepped.status).toBe(201);
    expect((await riskOf(stepped.body.transferId!)).risk).toMatchObject({
      decision: 'challenge',
      steppedUp: true,
    });
  });

  it('deny: 403 risk-denied, no money moves, and the refusal replays under its key', async () => {
    ledger.risk.mode = 'deny';
    const headers = idem();
    const res = await send('1000', { acr: 'aal2' }, headers);
    expect(res.status).toBe(403);
    expect(res.body.type).toBe(ProblemType.riskDenied);
    ledger.risk.mode = 'allow';
    const again = await send('1000', { acr: 'aal2' }, headers);
    expect(again.text).toBe(res.text);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect((await ledger.user(sub).get<{ balance: string }>(`/wallets/${from}`)).body.balance).toBe('100000');
  });

  it('timeout below the fail-open amount: proceeds and records that risk was skipped', async () => {
    ledger.risk.mode = 'hang';
    const res = await send('4999');
    expect(res.status).toBe(201);
    expect((await riskOf(res.body.transferId!)).risk).toMatchObject({
      failOpen: true,
      decision: null,
      unavailableReason: 'risk timeout',
    });
  });

  it('timeout or error at or above the fail-open amount: fails closed with 503 and releases the key', async () => {
    ledger.risk.mode = 'hang';
    const headers = idem();
    const res = await send('5000', {}, headers);
    expect(res.status).toBe(503);
    expect(res.body.type).toBe(ProblemType.riskUnavailable);
    ledger.risk.mode = 'error';
    expect((await send('5000', {}, headers)).status).toBe(503);
    ledger.risk.mode = 'allow';
    expect((await send('5000', {}, headers)).status).toBe(201);
    expect((await ledger.user(sub).get<{ balance: string }>(`/wallets/${from}`)).body.balance).toBe('95000');
  });
});
