/**
 * Four eyes on money and bounded amounts, through the public API of the real platform (embedded mode):
 * the findings of the outside security test (an admin credited their own wallet with one call; a
 * signed deposit of 92233720368547758070 was applied; an audit entry said "allowed" for a 400),
 * replayed against the gateway.
 *
 * Three admins (identity's create-admin CLI), each with a TOTP-stepped-up session, and a customer.
 * The ledger's ceiling is lowered to 100.00 EUR for admins so the ceiling case is cheap.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProblemType } from '@wallet/contracts';
import { startEmbeddedPlatform, type EmbeddedPlatform } from '@wallet/embedded-host';
import { waitFor } from '@wallet/testing';
import { publicClient, type PublicClient, type SignedIn } from '../src/public-client.ts';

// Below the ephemeral range, apart from the other suites (25490-25492, 28443-28445, 28080-28082).
const ports = { postgresPort: 25493, httpsPort: 28446, httpPort: 28083 };
const LIMITS = '100000/60';

interface RequestView {
  requestId: string;
  status: string;
  decidedBy: string | null;
  adjustmentId: string | null;
  type?: string;
  requestStatus?: string;
}

interface AuditItem {
  actor: string;
  action: string;
  outcome: string;
  status: number;
  target: Record<string, string>;
}

let platform: EmbeddedPlatform | undefined;
let dataDir: string | undefined;
let api: PublicClient;
let maker: SignedIn;
let checker: SignedIn;
let thirdAdmin: SignedIn;
let customer: SignedIn;
let customerWallet = '';
let makerWallet = '';

const idem = () => ({ 'idempotency-key': randomUUID() });
const balance = async () =>
  (await api.call<{ balance: string }>('GET', `/v1/wallets/${customerWallet}`, { token: customer.aal1 })).body
    .balance;
const requestAdjustment = (who: SignedIn, walletId: string, amount: string) =>
  api.call<RequestView>('POST', '/v1/admin/adjustments', {
    token: who.aal2,
    headers: idem(),
    body: { walletId, amount, direction: 'credit', reason: 'goodwill credit' },
  });
const approve = (who: SignedIn, requestId: string, token = who.aal2) =>
  api.call<RequestView>('POST', `/v1/admin/adjustments/${requestId}/approve`, { token, body: {} });

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'wallet-adjustments-'));
  platform = await startEmbeddedPlatform({
    dataDir,
    ...ports,
    logLevel: process.env['TEST_LOG_LEVEL'] ?? 'silent',
    serviceEnv: {
      // X-Upstream-App (off by default) shows which refusals the gateway made itself.
      'api-gateway': {
        RATE_LIMIT_ANONYMOUS: LIMITS,
        RATE_LIMIT_USER: LIMITS,
        RATE_LIMIT_SIGNUP: LIMITS,
        RATE_LIMIT_LOGIN: LIMITS,
        GATEWAY_EXPOSE_UPSTREAM_APP: 'true',
      },
      identity: { ARGON2_MEMORY_KIB: '1024', ARGON2_TIME_COST: '1' },
      'wallet-ledger': { ADJUSTMENT_CEILINGS: 'admin=100' },
    },
  });
  api = publicClient(platform.gatewayUrl, platform.certificate);
  const identityDb = platform.databases['identity']!.appUrl;
  const [a, b, c, d] = await Promise.all([
    api.createAdmin('maker', identityDb),
    api.createAdmin('checker', identityDb),
    api.createAdmin('third', identityDb),
    api.registerVerified('customer'),
  ]);
  [maker, checker, thirdAdmin, customer] = await Promise.all([
    api.signIn(a),
    api.signIn(b),
    api.signIn(c),
    api.signIn(d),
  ]);
  customerWallet = await waitFor(
    async () =>
      (await api.call<{ items?: { walletId: string }[] }>('GET', '/v1/wallets', { token: customer.aal1 }))
        .body.items?.[0]?.walletId,
    { timeoutMs: 15_000, intervalMs: 50, what: 'the customer’s default wallet' },
  );
  const opened = await api.call<{ walletId: string }>('POST', '/v1/wallets', {
    token: maker.aal1,
    body: { currency: 'EUR' },
  });
  expect(opened.status).toBe(201);
  makerWallet = opened.body.walletId;
}, 120_000);

afterAll(async () => {
  await api?.close();
  await platform?.stop();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
}, 60_000);

describe('system (embedded): maker-checker adjustments through the gateway', () => {
  it('refuses self-credit: the finding (own wallet, one call) now moves nothing', async () => {
    const own = await requestAdjustment(maker, makerWallet, '10000');
    expect(own.status).toBe(403);
    expect(own.body.type).toBe(ProblemType.adjustmentOwnWallet);
    const wallet = await api.call<{ balance: string }>('GET', `/v1/wallets/${makerWallet}`, {
      token: maker.aal1,
    });
    expect(wallet.body.balance).toBe('0');
  });

  it('refuses self-approval and amounts above the ceiling; a second admin’s approval posts', async () => {
    expect((await requestAdjustment(maker, customerWallet, '10001')).body.type).toBe(
      ProblemType.adjustmentCeilingExceeded,
    );
    const requested = await requestAdjustment(maker, customerWallet, '2500');
    expect(requested.status).toBe(202);
    expect(requested.body.status).toBe('pending');
    expect(await balance()).toBe('0');
    const self = await approve(maker, requested.body.requestId);
    expect(self.status).toBe(403);
    expect(self.body.type).toBe(ProblemType.fourEyesRequired);
    // Step-up is required for the checker too: refused by the gateway before the ledger sees it.
    const notSteppedUp = await approve(checker, requested.body.requestId, checker.aal1);
    expect(notSteppedUp.status).toBe(403);
    expect(notSteppedUp.body.type).toBe(ProblemType.stepUpRequired);
    expect(notSteppedUp.headers.get('x-upstream-app')).toBeNull();
    expect(await balance()).toBe('0');

    const approved = await approve(checker, requested.body.requestId);
    expect(approved.status).toBe(200);
    expect(approved.body).toMatchObject({ status: 'approved', decidedBy: checker.userId });
    expect(await balance()).toBe('2500');
  });

  it('posts exactly once when two admins approve at the same time, ten times each', async () => {
    const before = BigInt(await balance());
    const requested = await requestAdjustment(maker, customerWallet, '777');
    const answers = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        approve(i % 2 === 0 ? checker : thirdAdmin, requested.body.requestId),
      ),
    );
    const winners = answers.filter((a) => a.status === 200);
    expect(winners).toHaveLength(10);
    expect(new Set(winners.map((a) => a.body.adjustmentId)).size).toBe(1);
    expect(answers.filter((a) => a.status === 409)).toHaveLength(10);
    expect(BigInt(await balance())).toBe(before + 777n);
    const history = await api.call<{ items: { transactionId?: string; id?: string }[] }>(
      'GET',
      `/v1/wallets/${customerWallet}/transactions?limit=200`,
      { token: customer.aal1 },
    );
    const adjustmentId = winners[0]!.body.adjustmentId!;
    expect(JSON.stringify(history.body).split(adjustmentId).length - 1).toBe(1);
  });

  it('a rejected request cannot be approved', async () => {
    const requested = await requestAdjustment(maker, customerWallet, '900');
    const rejected = await api.call<RequestView>(
      'POST',
      `/v1/admin/adjustments/${requested.body.requestId}/reject`,
      {
        token: thirdAdmin.aal2,
        body: { comment: 'no ticket' },
      },
    );
    expect(rejected.status).toBe(200);
    const late = await approve(checker, requested.body.requestId);
    expect(late.status).toBe(409);
    expect(late.body).toMatchObject({
      type: ProblemType.adjustmentRequestNotPending,
      requestStatus: 'rejected',
    });
  });

  it('audits both steps, and records a failed request as failed, not allowed', async () => {
    const requested = await requestAdjustment(maker, customerWallet, '100');
    await approve(checker, requested.body.requestId);
    const invalid = await api.call('POST', '/v1/admin/adjustments', {
      token: maker.aal2,
      headers: idem(),
      body: {},
    });
    expect(invalid.status).toBe(400);
    const audit = await api.call<{ items: AuditItem[] }>('GET', '/v1/admin/audit-log?limit=200', {
      token: thirdAdmin.aal2,
    });
    expect(audit.status).toBe(200);
    const items = audit.body.items;
    expect(
      items.find(
        (i) =>
          i.action === 'POST /v1/admin/adjustments/{requestId}/approve' &&
          i.target['requestId'] === requested.body.requestId,
      ),
    ).toMatchObject({ actor: checker.userId, outcome: 'allowed', status: 200 });
    expect(
      items.find(
        (i) => i.action === 'POST /v1/admin/adjustments' && i.status === 202 && i.actor === maker.userId,
      ),
    ).toBeDefined();
    expect(items.find((i) => i.action === 'POST /v1/admin/adjustments' && i.status === 400)).toMatchObject({
      actor: maker.userId,
      outcome: 'failed',
    });
    // The refused self-approval is on record as denied.
    expect(
      items.find(
        (i) =>
          i.action === 'POST /v1/admin/adjustments/{requestId}/approve' &&
          i.status === 403 &&
          i.actor === maker.userId,
      ),
    ).toMatchObject({ outcome: 'denied' });
  });
});

describe('system (embedded): the merged OpenAPI document', () => {
  it('documents the maker-checker routes with their access rules', async () => {
    const doc = await api.call<{
      paths: Record<string, Record<string, Record<string, unknown>>>;
      'x-undocumented-routes': string[];
    }>('GET', '/v1/openapi.json');
    expect(doc.status).toBe(200);
    for (const [path, method] of [
      ['/v1/admin/adjustments', 'post'],
      ['/v1/admin/adjustments', 'get'],
      ['/v1/admin/adjustments/{requestId}', 'get'],
      ['/v1/admin/adjustments/{requestId}/approve', 'post'],
      ['/v1/admin/adjustments/{requestId}/reject', 'post'],
    ] as const) {
      expect(doc.body.paths[path]?.[method], `${method} ${path}`).toMatchObject({
        'x-access': 'admin',
        'x-step-up': true,
        'x-service': 'wallet-ledger',
      });
    }
    expect(doc.body.paths['/v1/admin/adjustments']?.['post']?.['responses']).toHaveProperty('202');
    expect(doc.body['x-undocumented-routes'].filter((r) => r.includes('/adjustments'))).toEqual([]);
  });
});

describe('system (embedded): amounts are bounded at the edge', () => {
  it('refuses the signed deposit of 92233720368547758070 and a transfer of 2^63 with 400 problem+json', async () => {
    const before = await balance();
    const deposit = await api.deposit(customerWallet, '92233720368547758070');
    expect(deposit.status).toBe(400);
    expect(deposit.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect((deposit.body as { type: string }).type).toBe(ProblemType.validation);
    const transfer = await api.call<{ type: string; errors: { field: string }[] }>('POST', '/v1/transfers', {
      token: customer.aal1,
      headers: idem(),
      body: {
        fromWalletId: customerWallet,
        toWalletId: makerWallet,
        amount: (2n ** 63n).toString(),
        currency: 'EUR',
      },
    });
    expect(transfer.status).toBe(400);
    expect(transfer.body.type).toBe(ProblemType.validation);
    expect(transfer.body.errors.map((e) => e.field)).toContain('body.amount');
    expect(await balance()).toBe(before);
  });
});
