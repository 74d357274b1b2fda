/** wallet-ledger's HTTP routes (API.md paths without `/v1`). Every route demands a verified internal token. */
import { randomUUID } from 'node:crypto';
import type { Express, Request, Response } from 'express';
import {
  amountBoundViolation,
  hasRoleAtLeast,
  PAYMENT_PROVIDER_SUBJECT,
  type CurrencyCode,
  type InternalClaims,
} from '@wallet/contracts';
import type { Platform } from '@wallet/platform';
import {
  getCaller,
  parseOrThrow,
  problems,
  requireInternalCaller,
  requireRole,
  requireStepUp,
  type InternalTokenVerifier,
  type Logger,
  mountDeadLetterRoutes,
} from '@wallet/service-kit';
import type { IdempotencyStore } from '../db/idempotency-store.ts';
import { checkRequest, type AdjustmentCeilings } from '../domain/adjustment-policy.ts';
import { ledgerProblems } from '../domain/problems.ts';
import type { LedgerDeps } from '../operations/deps.ts';
import {
  approveAdjustmentRequest,
  getAdjustmentRequest,
  listAdjustmentRequests,
  rejectAdjustmentRequest,
  requestAdjustment,
} from '../operations/adjustment-requests.ts';
import { getTransfer, refundTransfer, requestWithdrawal } from '../operations/movements.ts';
import { clearWithRisk, type RiskGateDeps } from '../use-cases/risk-gate.ts';
import { transfer } from '../use-cases/transfer.ts';
import { withMovementProblems } from './movement-problems.ts';
import { applyProviderEvent, providerEventSchema } from '../operations/provider-events.ts';
import { reconcile } from '../operations/reconcile.ts';
import {
  getWallet,
  listWallets,
  openWallet,
  walletAt,
  walletHistory,
  type WalletView,
} from '../operations/wallets.ts';
import type { RiskClient } from '../risk-client.ts';
import { respondIdempotently } from './idempotent.ts';
import { buildOpenApiDocument } from './openapi.ts';
import {
  adjustmentBody,
  adjustmentDecisionBody,
  adjustmentListQuery,
  adjustmentRequestIdParams,
  historyQuery,
  openWalletBody,
  refundBody,
  transferBody,
  transferIdParams,
  walletIdParams,
  walletQuery,
  withdrawalBody,
} from './schemas.ts';

export interface RouteDeps {
  verifier: InternalTokenVerifier;
  ledger: LedgerDeps;
  idempotency: IdempotencyStore;
  risk: RiskClient;
  platform: Platform;
  logger: Logger;
  riskPolicy: { platformCurrency: string; failOpenBelow: bigint };
  /** Maker-checker: ceilings per role and how long a request waits for its approver. */
  adjustments: { ceilings: AdjustmentCeilings; requestTtlSeconds: number };
  onRiskFailOpen?: () => void;
}

const isStaff = (caller: InternalClaims): boolean => hasRoleAtLeast(caller.roles, 'support');

/** The per-currency maximum where the body does not name its currency (refunds, adjustments). */
function assertAmountWithinBound(amount: bigint, currency: string): void {
  const violation = amountBoundViolation(amount, currency);
  if (violation) throw ledgerProblems.amountAboveMaximum('body.amount', violation);
}

function publicWallet(wallet: WalletView): Omit<WalletView, 'ownerId'> {
  const { ownerId: _ownerId, ...rest } = wallet;
  return rest;
}

/** An admin's decision on an adjustment request: stepped-up admin, the request id, the comment. */
function adjustmentDecision(req: Request, res: Response) {
  requireRole(res, 'admin');
  const caller = requireStepUp(res);
  const { requestId } = parseOrThrow(adjustmentRequestIdParams, req.params, 'params');
  const body = parseOrThrow(adjustmentDecisionBody, req.body ?? {}, 'body');
  return { caller, requestId, body };
}

export function mountRoutes(app: Express, deps: RouteDeps): void {
  const { ledger } = deps;
  const idempotencyDeps = { store: deps.idempotency, logger: deps.logger };
  app.use(requireInternalCaller(deps.verifier));

  /** A wallet the caller may see (its owner, or support/admin); 404 otherwise so ids do not leak. */
  async function visibleWallet(res: Response, walletId: string): Promise<WalletView> {
    const caller = getCaller(res);
    const wallet = await getWallet(ledger.db, walletId);
    if (!wallet || (wallet.ownerId !== caller.sub && !isStaff(caller))) throw ledgerProblems.walletNotFound();
    return wallet;
  }

  const riskGate: RiskGateDeps = {
    risk: deps.risk,
    policy: deps.riskPolicy,
    logger: deps.logger,
    ...(deps.onRiskFailOpen ? { onFailOpen: deps.onRiskFailOpen } : {}),
  };
  const requestIdOf = (req: Request): string | undefined => {
    const id: unknown = req.id;
    return typeof id === 'string' ? id : undefined;
  };

  const traceparentOf = (req: Request): string | undefined => req.get('traceparent') ?? undefined;

  app.get('/openapi.json', (_req, res) => {
    res.json(buildOpenApiDocument());
  });

  app.get('/wallets', async (_req, res) => {
    const caller = getCaller(res);
    const wallets = await listWallets(ledger.db, caller.sub);
    res.json({ items: wallets.map(publicWallet), nextCursor: null });
  });

  app.post('/wallets', async (req, res) => {
    const caller = getCaller(res);
    if (caller.sub.startsWith('system:') || caller.sub === 'anonymous') throw problems.forbidden();
    const body = parseOrThrow(openWalletBody, req.body, 'body');
    const { wallet, created } = await ledger.db
      .transaction()
      .execute((trx) => openWallet(trx, caller.sub, body.currency));
    if (!created) throw problems.conflict(`You already have a ${body.currency} wallet (${wallet.walletId}).`);
    res.status(201).json(publicWallet(wallet));
  });

  app.get('/wallets/:walletId', async (req, res) => {
    const { walletId } = parseOrThrow(walletIdParams, req.params, 'params');
    const query = parseOrThrow(walletQuery, req.query, 'query');
    const wallet = await visibleWallet(res, walletId);
    if (query.at === undefined) {
      res.json(publicWallet(wallet));
      return;
    }
    res.json(publicWallet(await walletAt(ledger.reader(), wallet, new Date(query.at))));
  });

  app.get('/wallets/:walletId/transactions', async (req, res) => {
    const { walletId } = parseOrThrow(walletIdParams, req.params, 'params');
    const query = parseOrThrow(historyQuery, req.query, 'query');
    await visibleWallet(res, walletId);
    res.json(await walletHistory(ledger.reader(), walletId, query.limit, query.cursor));
  });

  app.post('/transfers', async (req, res) => {
    const caller = getCaller(res);
    const body = parseOrThrow(transferBody, req.body, 'body');
    await respondIdempotently(req, res, idempotencyDeps, caller.sub, 201, (_finish, lease) =>
      withMovementProblems(() =>
        transfer(
          { ledger, riskGate },
          {
            caller,
            fromWalletId: body.fromWalletId,
            toWalletId: body.toWalletId,
            amount: body.amount,
            currency: body.currency,
            description: body.description ?? null,
            traceparent: traceparentOf(req),
            requestId: requestIdOf(req),
          },
          lease,
        ),
      ),
    );
  });

  app.get('/transfers/:transferId', async (req, res) => {
    const caller = getCaller(res);
    const { transferId } = parseOrThrow(transferIdParams, req.params, 'params');
    const transfer = await getTransfer(ledger.db, transferId);
    if (
      !transfer ||
      (transfer.fromUserId !== caller.sub && transfer.toUserId !== caller.sub && !isStaff(caller))
    ) {
      throw ledgerProblems.transferNotFound();
    }
    const { fromUserId: _f, toUserId: _t, ...view } = transfer;
    res.json(view);
  });

  app.post('/transfers/:transferId/refunds', async (req, res) => {
    const caller = getCaller(res);
    const { transferId } = parseOrThrow(transferIdParams, req.params, 'params');
    const body = parseOrThrow(refundBody, req.body, 'body');
    await respondIdempotently(req, res, idempotencyDeps, caller.sub, 201, async (finish) => {
      const transfer = await getTransfer(ledger.db, transferId);
      const mayRefund = transfer && (transfer.toUserId === caller.sub || isStaff(caller));
      if (!transfer || !mayRefund) throw ledgerProblems.transferNotFound();
      assertAmountWithinBound(body.amount, transfer.currency);
      return refundTransfer(
        ledger,
        {
          refundId: randomUUID(),
          transfer,
          amount: body.amount,
          reason: body.reason ?? null,
          initiatedBy: caller.sub,
          traceparent: traceparentOf(req),
        },
        finish,
      );
    });
  });

  app.post('/withdrawals', async (req, res) => {
    const caller = requireStepUp(res);
    const body = parseOrThrow(withdrawalBody, req.body, 'body');
    await respondIdempotently(req, res, idempotencyDeps, caller.sub, 202, async (finish) => {
      const wallet = await getWallet(ledger.db, body.walletId);
      if (!wallet || wallet.ownerId !== caller.sub) throw ledgerProblems.walletNotFound();
      if (wallet.currency !== body.currency) throw ledgerProblems.currencyMismatch();
      if (BigInt(wallet.available) < body.amount) throw ledgerProblems.insufficientFunds();
      const risk = await withMovementProblems(() =>
        clearWithRisk(riskGate, caller, {
          action: 'withdrawal',
          amount: body.amount,
          currency: body.currency,
          counterparty: body.destination,
          requestId: requestIdOf(req),
        }),
      );
      return requestWithdrawal(
        ledger,
        {
          withdrawalId: randomUUID(),
          holdTransactionId: randomUUID(),
          walletId: body.walletId,
          amount: body.amount,
          currency: body.currency,
          destination: body.destination,
          initiatedBy: caller.sub,
          risk,
          traceparent: traceparentOf(req),
        },
        finish,
      );
    });
  });

  app.post('/webhooks/payments', async (req, res) => {
    const caller = getCaller(res);
    if (caller.sub !== PAYMENT_PROVIDER_SUBJECT)
      throw problems.forbidden('Only the payment provider may call this.');
    const event = parseOrThrow(providerEventSchema, req.body, 'body');
    const result = await applyProviderEvent(ledger, event);
    res.status(200).json(result);
  });

  // Maker-checker: a request moves nothing; a second admin's approval books the adjustment.
  app.post('/admin/adjustments', async (req, res) => {
    requireRole(res, 'admin');
    const caller = requireStepUp(res);
    const body = parseOrThrow(adjustmentBody, req.body, 'body');
    await respondIdempotently(req, res, idempotencyDeps, caller.sub, 202, async (finish) => {
      const wallet = await getWallet(ledger.db, body.walletId);
      if (!wallet) throw ledgerProblems.walletNotFound();
      assertAmountWithinBound(body.amount, wallet.currency);
      const refusal = checkRequest(deps.adjustments.ceilings, caller, {
        walletOwnerId: wallet.ownerId,
        currency: wallet.currency as CurrencyCode,
        amount: body.amount,
      });
      if (refusal?.reason === 'own-wallet') throw ledgerProblems.adjustmentOwnWallet(refusal.detail);
      if (refusal?.reason === 'ceiling')
        throw ledgerProblems.adjustmentCeilingExceeded(refusal.detail, refusal.ceiling);
      const answer = await requestAdjustment(
        ledger,
        {
          walletId: body.walletId,
          currency: wallet.currency,
          amount: body.amount,
          direction: body.direction,
          reason: body.reason,
          requestedBy: caller.sub,
          ttlSeconds: deps.adjustments.requestTtlSeconds,
        },
        finish,
      );
      deps.logger.info({ by: caller.sub, walletId: body.walletId }, 'adjustment requested');
      return answer;
    });
  });

  app.get('/admin/adjustments', async (req, res) => {
    requireRole(res, 'admin');
    requireStepUp(res);
    const query = parseOrThrow(adjustmentListQuery, req.query, 'query');
    res.json(await listAdjustmentRequests(ledger.db, query));
  });

  app.get('/admin/adjustments/:requestId', async (req, res) => {
    requireRole(res, 'admin');
    requireStepUp(res);
    const { requestId } = parseOrThrow(adjustmentRequestIdParams, req.params, 'params');
    const request = await getAdjustmentRequest(ledger.db, requestId);
    if (!request) throw ledgerProblems.adjustmentRequestNotFound();
    res.json(request);
  });

  // Idempotent on the request id (no Idempotency-Key): the same admin approving again gets the same answer.
  app.post('/admin/adjustments/:requestId/approve', async (req, res) => {
    const { caller, requestId, body } = adjustmentDecision(req, res);
    const approved = await approveAdjustmentRequest(ledger, {
      requestId,
      checker: caller,
      ceilings: deps.adjustments.ceilings,
      comment: body.comment ?? null,
    });
    deps.logger.info(
      { by: caller.sub, requestId, adjustmentId: approved.adjustmentId },
      'adjustment approved',
    );
    res.json(approved);
  });

  app.post('/admin/adjustments/:requestId/reject', async (req, res) => {
    const { caller, requestId, body } = adjustmentDecision(req, res);
    const rejected = await rejectAdjustmentRequest(ledger.db, {
      requestId,
      decider: caller,
      comment: body.comment ?? null,
    });
    deps.logger.info({ by: caller.sub, requestId }, 'adjustment rejected');
    res.json(rejected);
  });

  app.get('/admin/ledger/reconcile', async (_req, res) => {
    requireRole(res, 'support');
    requireStepUp(res);
    const report = await reconcile(ledger.db);
    if (!report.ok) deps.logger.error({ report }, 'reconcile found discrepancies');
    res.json(report);
  });

  mountDeadLetterRoutes(app, { appId: 'wallet-ledger', db: ledger.db, platform: deps.platform });
}
