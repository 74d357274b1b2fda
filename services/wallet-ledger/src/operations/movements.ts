/**
 * Money movements started by a user or an operator: transfers, refunds, withdrawals (holds) and
 * adjustments. Each runs in ONE database transaction with its entries, its outbox event and its
 * idempotency record (through `finish`).
 */
import { sql, type Kysely, type Transaction } from 'kysely';
import { enqueueEvent } from '@wallet/platform';
import { enqueueBalanceLowIfCrossed } from './balance-low.ts';
import type { LedgerDatabase } from '../db/schema.ts';
import { placeHold, postEntries } from '../db/postings.ts';
import { ledgerProblems } from '../domain/problems.ts';
import type { RiskRecord } from '../domain/risk-policy.ts';
import type { Finish, LedgerDeps } from './deps.ts';
import { MovementRefused } from '../domain/movement-refusal.ts';
import { postTransfer, type IdempotencyLease } from '../db/transfer-posting.ts';

function riskColumns(risk: RiskRecord | null): { risk_assessment_id: string | null; risk: string | null } {
  return { risk_assessment_id: risk?.assessmentId ?? null, risk: risk ? JSON.stringify(risk) : null };
}

export interface TransferInput {
  transferId: string;
  fromWalletId: string;
  toWalletId: string;
  amount: bigint;
  currency: string;
  description: string | null;
  initiatedBy: string;
  risk: RiskRecord;
  deviceId?: string | null | undefined;
  ip?: string | null | undefined;
  traceparent?: string | undefined;
}

/**
 * Posts a transfer in one round trip (`postTransfer`, the `ledger_transfer` function): balance check,
 * entries, hash chain, outbox, and the stored answer under `lease` when the request has an
 * Idempotency-Key. Refusals are `MovementRefused`; returns the answer's exact JSON text.
 */
export async function transferFunds(
  deps: LedgerDeps,
  input: TransferInput,
  lease: IdempotencyLease | null = null,
): Promise<string> {
  if (input.fromWalletId === input.toWalletId) throw new MovementRefused('same-wallet');
  const threshold = deps.config.BALANCE_LOW_THRESHOLD;
  const { answer } = await postTransfer(
    deps.db,
    {
      transferId: input.transferId,
      fromWalletId: input.fromWalletId,
      toWalletId: input.toWalletId,
      amount: input.amount,
      currency: input.currency,
      description: input.description,
      initiatedBy: input.initiatedBy,
      riskAssessmentId: input.risk.assessmentId,
      risk: JSON.stringify(input.risk),
      deviceId: input.deviceId ?? null,
      ip: input.ip ?? null,
      traceparent: input.traceparent ?? null,
      balanceLowThreshold:
        input.currency === deps.config.PLATFORM_CURRENCY && threshold > 0n ? threshold : null,
    },
    lease,
  );
  return answer;
}

export interface TransferView {
  transferId: string;
  status: 'completed';
  fromWalletId: string;
  toWalletId: string;
  fromUserId: string;
  toUserId: string;
  amount: string;
  currency: string;
  description: string | null;
  refundedAmount: string;
  refundableAmount: string;
  createdAt: string;
  refunds: { refundId: string; amount: string; reason: string | null; createdAt: string }[];
}

export async function getTransfer(
  db: Kysely<LedgerDatabase>,
  transferId: string,
): Promise<TransferView | undefined> {
  const row = await db
    .selectFrom('transactions as t')
    .innerJoin('accounts as f', 'f.id', 't.from_account_id')
    .innerJoin('accounts as to', 'to.id', 't.to_account_id')
    .select([
      't.id',
      't.status',
      't.from_account_id',
      't.to_account_id',
      'f.owner_id as from_owner',
      'to.owner_id as to_owner',
      sql<string>`t.amount::text`.as('amount'),
      sql<string>`t.refunded_amount::text`.as('refunded'),
      't.currency',
      't.description',
      't.created_at',
    ])
    .where('t.id', '=', transferId)
    .where('t.kind', '=', 'transfer')
    .executeTakeFirst();
  if (!row) return undefined;
  const refunds = await db
    .selectFrom('transactions')
    .select(['id', sql<string>`amount::text`.as('amount'), 'description', 'created_at'])
    .where('original_transaction_id', '=', transferId)
    .orderBy('created_at')
    .execute();
  return {
    transferId: row.id,
    status: row.status,
    fromWalletId: row.from_account_id!,
    toWalletId: row.to_account_id!,
    fromUserId: row.from_owner,
    toUserId: row.to_owner,
    amount: row.amount,
    currency: row.currency,
    description: row.description,
    refundedAmount: row.refunded,
    refundableAmount: (BigInt(row.amount) - BigInt(row.refunded)).toString(),
    createdAt: row.created_at.toISOString(),
    refunds: refunds.map((r) => ({
      refundId: r.id,
      amount: r.amount,
      reason: r.description,
      createdAt: r.created_at.toISOString(),
    })),
  };
}

export interface RefundInput {
  refundId: string;
  transfer: TransferView;
  amount: bigint;
  reason: string | null;
  initiatedBy: string;
  traceparent?: string | undefined;
}

/**
 * Moves money back from the payee to the payer. The original transfer's `refunded_amount` is raised
 * by a conditional UPDATE in the same transaction, so concurrent refunds queue on that row and the
 * sum of refunds can never exceed the transfer (also a CHECK constraint).
 */
export async function refundTransfer(deps: LedgerDeps, input: RefundInput, finish: Finish): Promise<string> {
  const { transfer } = input;
  return deps.db.transaction().execute(async (trx) => {
    const { created_at } = await trx
      .insertInto('transactions')
      .values({
        id: input.refundId,
        kind: 'refund',
        currency: transfer.currency,
        amount: input.amount.toString(),
        from_account_id: transfer.toWalletId,
        to_account_id: transfer.fromWalletId,
        original_transaction_id: transfer.transferId,
        initiated_by: input.initiatedBy,
        description: input.reason,
      })
      .returning('created_at')
      .executeTakeFirstOrThrow();
    const amount = input.amount.toString();
    const { rows } = await sql<{ remaining: string }>`
      UPDATE transactions SET refunded_amount = refunded_amount + ${amount}::numeric
      WHERE id = ${transfer.transferId}::uuid AND kind = 'transfer' AND amount - refunded_amount >= ${amount}::numeric
      RETURNING (amount - refunded_amount)::text AS remaining`.execute(trx);
    const updated = rows[0];
    if (!updated) {
      const current = await trx
        .selectFrom('transactions')
        .select(sql<string>`(amount - refunded_amount)::text`.as('remaining'))
        .where('id', '=', transfer.transferId)
        .executeTakeFirstOrThrow();
      throw ledgerProblems.refundExceedsRemaining(BigInt(current.remaining));
    }
    const refundLegs = await postEntries(trx, input.refundId, transfer.currency, [
      { accountId: transfer.toWalletId, amount: -input.amount },
      { accountId: transfer.fromWalletId, amount: input.amount },
    ]);
    const refunder = refundLegs.find((leg) => leg.accountId === transfer.toWalletId)!;
    await enqueueBalanceLowIfCrossed(trx, deps.config, {
      walletId: transfer.toWalletId,
      userId: refunder.ownerId,
      currency: transfer.currency,
      availableBefore: refunder.balanceAfter - refunder.amount - refunder.heldAfter,
      availableAfter: refunder.balanceAfter - refunder.heldAfter,
    });
    await enqueueEvent(trx, {
      name: 'refundCompleted',
      data: {
        refundId: input.refundId,
        transferId: transfer.transferId,
        payerUserId: transfer.fromUserId,
        payeeUserId: transfer.toUserId,
        amount,
        currency: transfer.currency,
        occurredAt: created_at.toISOString(),
      },
      partitionKey: transfer.toWalletId,
      ...(input.traceparent ? { traceparent: input.traceparent } : {}),
    });
    return finish(trx, {
      refundId: input.refundId,
      transferId: transfer.transferId,
      status: 'completed',
      amount,
      currency: transfer.currency,
      reason: input.reason,
      remainingRefundable: updated.remaining,
      createdAt: created_at.toISOString(),
    });
  });
}

export interface WithdrawalInput {
  withdrawalId: string;
  holdTransactionId: string;
  walletId: string;
  amount: bigint;
  currency: string;
  destination: string;
  initiatedBy: string;
  risk: RiskRecord;
  traceparent?: string | undefined;
}

/** Places a hold for the payout provider; the provider's webhook settles or releases it later. */
export async function requestWithdrawal(
  deps: LedgerDeps,
  input: WithdrawalInput,
  finish: Finish,
): Promise<string> {
  return deps.db.transaction().execute(async (trx) => {
    const { created_at } = await trx
      .insertInto('transactions')
      .values({
        id: input.holdTransactionId,
        kind: 'withdrawal_hold',
        currency: input.currency,
        amount: input.amount.toString(),
        from_account_id: input.walletId,
        initiated_by: input.initiatedBy,
        metadata: JSON.stringify({ withdrawalId: input.withdrawalId, destination: input.destination }),
        ...riskColumns(input.risk),
      })
      .returning('created_at')
      .executeTakeFirstOrThrow();
    const account = await placeHold(trx, input.walletId, input.currency, input.amount);
    await enqueueBalanceLowIfCrossed(trx, deps.config, {
      walletId: input.walletId,
      userId: account.ownerId,
      currency: input.currency,
      availableBefore: account.balance - (account.held - input.amount),
      availableAfter: account.balance - account.held,
    });
    const { expires_at } = await trx
      .insertInto('holds')
      .values({
        id: input.withdrawalId,
        account_id: input.walletId,
        currency: input.currency,
        amount: input.amount.toString(),
        destination: input.destination,
        expires_at: sql<Date>`now() + ${deps.config.WITHDRAWAL_HOLD_TTL_SECONDS} * interval '1 second'`,
        hold_transaction_id: input.holdTransactionId,
        initiated_by: input.initiatedBy,
      })
      .returning('expires_at')
      .executeTakeFirstOrThrow();
    await enqueueEvent(trx, {
      name: 'withdrawalRequested',
      data: {
        withdrawalId: input.withdrawalId,
        walletId: input.walletId,
        userId: account.ownerId,
        amount: input.amount.toString(),
        currency: input.currency,
        destination: input.destination,
        occurredAt: created_at.toISOString(),
      },
      partitionKey: input.walletId,
      ...(input.traceparent ? { traceparent: input.traceparent } : {}),
    });
    return finish(trx, {
      withdrawalId: input.withdrawalId,
      status: 'pending',
      walletId: input.walletId,
      amount: input.amount.toString(),
      currency: input.currency,
      destination: input.destination,
      expiresAt: expires_at.toISOString(),
      createdAt: created_at.toISOString(),
    });
  });
}

export interface AdjustmentInput {
  adjustmentId: string;
  walletId: string;
  currency: string;
  amount: bigint;
  direction: 'credit' | 'debit';
  reason: string;
  initiatedBy: string;
  /** Who asked and who approved (maker-checker), recorded on the transaction. */
  metadata?: Record<string, string>;
}

/**
 * Books an operator's correction inside the caller's transaction, against a suspense account shard
 * (`suspense`, picked before the transaction); a debit still cannot overdraw the wallet.
 */
export async function bookAdjustment(
  trx: Transaction<LedgerDatabase>,
  suspense: string,
  input: AdjustmentInput,
): Promise<{ createdAt: Date }> {
  const signed = input.direction === 'credit' ? input.amount : -input.amount;
  const { created_at } = await trx
    .insertInto('transactions')
    .values({
      id: input.adjustmentId,
      kind: 'adjustment',
      currency: input.currency,
      amount: input.amount.toString(),
      from_account_id: input.direction === 'credit' ? suspense : input.walletId,
      to_account_id: input.direction === 'credit' ? input.walletId : suspense,
      initiated_by: input.initiatedBy,
      description: input.reason,
      ...(input.metadata ? { metadata: JSON.stringify(input.metadata) } : {}),
    })
    .returning('created_at')
    .executeTakeFirstOrThrow();
  await postEntries(trx, input.adjustmentId, input.currency, [
    { accountId: input.walletId, amount: signed },
    { accountId: suspense, amount: -signed },
  ]);
  return { createdAt: created_at };
}
