/**
 * Payment-provider events (already signature-checked by the gateway): deposits credit a wallet, and
 * payout outcomes settle or release a withdrawal's hold. Each event id is recorded in
 * `provider_events` in the same transaction as its effect, so a redelivered (or concurrently
 * duplicated) event changes nothing and answers with the first outcome's transaction id.
 */
import { randomUUID } from 'node:crypto';
import { sql, type Transaction } from 'kysely';
import { enqueueEvent } from '@wallet/platform';
import { currencySchema, positiveAmountSchema, refineAmountForCurrency } from '@wallet/contracts';
import { z } from 'zod';
import type { LedgerDatabase } from '../db/schema.ts';
import { postEntries, releaseHold } from '../db/postings.ts';
import { ledgerProblems } from '../domain/problems.ts';
import type { LedgerDeps } from './deps.ts';

export const providerEventSchema = z.discriminatedUnion('type', [
  z.object({
    id: z.string().min(1).max(255),
    type: z.literal('payment.succeeded'),
    data: z
      .object({ walletId: z.uuid(), amount: positiveAmountSchema, currency: currencySchema })
      .superRefine(refineAmountForCurrency),
  }),
  z.object({
    id: z.string().min(1).max(255),
    type: z.literal('payout.succeeded'),
    data: z.object({ withdrawalId: z.uuid() }),
  }),
  z.object({
    id: z.string().min(1).max(255),
    type: z.literal('payout.failed'),
    data: z.object({ withdrawalId: z.uuid(), reason: z.string().max(500).optional() }),
  }),
]);
export type ProviderEvent = z.infer<typeof providerEventSchema>;

export interface ProviderEventResult {
  eventId: string;
  status: 'applied' | 'duplicate';
  transactionId: string | null;
}

export async function applyProviderEvent(
  deps: LedgerDeps,
  event: ProviderEvent,
): Promise<ProviderEventResult> {
  const funding =
    event.type === 'payment.succeeded'
      ? await deps.systemAccounts.pick('system_funding', event.data.currency)
      : undefined;
  return deps.db.transaction().execute(async (trx) => {
    const fresh = await trx
      .insertInto('provider_events')
      .values({ event_id: event.id, type: event.type })
      .onConflict((oc) => oc.column('event_id').doNothing())
      .returning('event_id')
      .executeTakeFirst();
    if (!fresh) {
      const seen = await trx
        .selectFrom('provider_events')
        .select('transaction_id')
        .where('event_id', '=', event.id)
        .executeTakeFirstOrThrow();
      return { eventId: event.id, status: 'duplicate', transactionId: seen.transaction_id };
    }
    let transactionId: string;
    switch (event.type) {
      case 'payment.succeeded':
        transactionId = await creditDeposit(trx, event, funding!);
        break;
      case 'payout.succeeded':
        transactionId = await settleWithdrawal(deps, trx, event.data.withdrawalId);
        break;
      case 'payout.failed':
        transactionId = await releaseWithdrawal(
          trx,
          event.data.withdrawalId,
          'voided',
          event.data.reason ?? 'payout failed',
        );
        break;
    }
    await trx
      .updateTable('provider_events')
      .set({ transaction_id: transactionId })
      .where('event_id', '=', event.id)
      .execute();
    return { eventId: event.id, status: 'applied', transactionId };
  });
}

async function creditDeposit(
  trx: Transaction<LedgerDatabase>,
  event: Extract<ProviderEvent, { type: 'payment.succeeded' }>,
  fundingAccountId: string,
): Promise<string> {
  const { walletId, amount, currency } = event.data;
  const wallet = await trx
    .selectFrom('accounts')
    .select(['currency'])
    .where('id', '=', walletId)
    .where('type', '=', 'user_wallet')
    .executeTakeFirst();
  if (!wallet) throw ledgerProblems.walletNotFound();
  if (wallet.currency !== currency) throw ledgerProblems.currencyMismatch();
  const depositId = randomUUID();
  const { created_at } = await trx
    .insertInto('transactions')
    .values({
      id: depositId,
      kind: 'deposit',
      currency,
      amount: amount.toString(),
      from_account_id: fundingAccountId,
      to_account_id: walletId,
      initiated_by: 'system:payment-provider',
      metadata: JSON.stringify({ providerEventId: event.id }),
    })
    .returning('created_at')
    .executeTakeFirstOrThrow();
  const posted = await postEntries(trx, depositId, currency, [
    { accountId: fundingAccountId, amount: -amount },
    { accountId: walletId, amount },
  ]);
  const owner = posted.find((p) => p.accountId === walletId)!;
  await enqueueEvent(trx, {
    name: 'depositCompleted',
    data: {
      depositId,
      walletId,
      userId: owner.ownerId,
      amount: amount.toString(),
      currency,
      providerEventId: event.id,
      occurredAt: created_at.toISOString(),
    },
    partitionKey: walletId,
  });
  return depositId;
}

/** The hold a withdrawal placed (its id is the withdrawal's); 404 problem when there is none. */
async function withdrawalHold(trx: Transaction<LedgerDatabase>, withdrawalId: string) {
  const hold = await trx
    .selectFrom('holds')
    .select(['account_id', 'currency', sql<string>`amount::text`.as('amount'), 'status'])
    .where('id', '=', withdrawalId)
    .executeTakeFirst();
  if (!hold) throw ledgerProblems.withdrawalNotFound();
  return hold;
}

async function settleWithdrawal(
  deps: LedgerDeps,
  trx: Transaction<LedgerDatabase>,
  withdrawalId: string,
): Promise<string> {
  const hold = await withdrawalHold(trx, withdrawalId);
  const clearing = await deps.systemAccounts.pick('payout_clearing', hold.currency);
  const amount = BigInt(hold.amount);
  const settleId = randomUUID();
  const { created_at } = await trx
    .insertInto('transactions')
    .values({
      id: settleId,
      kind: 'withdrawal_settle',
      currency: hold.currency,
      amount: hold.amount,
      from_account_id: hold.account_id,
      to_account_id: clearing,
      initiated_by: 'system:payment-provider',
      metadata: JSON.stringify({ withdrawalId }),
    })
    .returning('created_at')
    .executeTakeFirstOrThrow();
  const captured = await trx
    .updateTable('holds')
    .set({ status: 'captured', resolved_at: sql<Date>`clock_timestamp()`, final_transaction_id: settleId })
    .where('id', '=', withdrawalId)
    .where('status', '=', 'pending')
    .returning('id')
    .executeTakeFirst();
  if (!captured) throw ledgerProblems.holdNotPending(hold.status);
  const posted = await postEntries(trx, settleId, hold.currency, [
    { accountId: hold.account_id, amount: -amount, releaseHeld: amount },
    { accountId: clearing, amount },
  ]);
  const owner = posted.find((p) => p.accountId === hold.account_id)!;
  await enqueueEvent(trx, {
    name: 'withdrawalSettled',
    data: {
      withdrawalId,
      walletId: hold.account_id,
      userId: owner.ownerId,
      amount: hold.amount,
      currency: hold.currency,
      occurredAt: created_at.toISOString(),
    },
    partitionKey: hold.account_id,
  });
  return settleId;
}

/** Payout failed (`voided`) or nobody confirmed in time (`expired`): the held amount is available again. */
export async function releaseWithdrawal(
  trx: Transaction<LedgerDatabase>,
  withdrawalId: string,
  outcome: 'voided' | 'expired',
  reason: string,
): Promise<string> {
  const hold = await withdrawalHold(trx, withdrawalId);
  const releaseId = randomUUID();
  const { created_at } = await trx
    .insertInto('transactions')
    .values({
      id: releaseId,
      kind: 'withdrawal_release',
      currency: hold.currency,
      amount: hold.amount,
      to_account_id: hold.account_id,
      initiated_by: outcome === 'expired' ? 'system:hold-expiry' : 'system:payment-provider',
      description: reason,
      metadata: JSON.stringify({ withdrawalId }),
    })
    .returning('created_at')
    .executeTakeFirstOrThrow();
  const released = await trx
    .updateTable('holds')
    .set({
      status: outcome,
      resolved_at: sql<Date>`clock_timestamp()`,
      final_transaction_id: releaseId,
      failure_reason: reason,
    })
    .where('id', '=', withdrawalId)
    .where('status', '=', 'pending')
    .returning('id')
    .executeTakeFirst();
  if (!released) throw ledgerProblems.holdNotPending(hold.status);
  const { ownerId } = await releaseHold(trx, hold.account_id, BigInt(hold.amount));
  await enqueueEvent(trx, {
    name: 'withdrawalFailed',
    data: {
      withdrawalId,
      walletId: hold.account_id,
      userId: ownerId,
      amount: hold.amount,
      currency: hold.currency,
      reason,
      occurredAt: created_at.toISOString(),
    },
    partitionKey: hold.account_id,
  });
  return releaseId;
}

/** Expires pending holds past their deadline; each in its own transaction. Returns how many. */
export async function expireHolds(deps: LedgerDeps, batchSize = 100): Promise<number> {
  const due = await deps.db
    .selectFrom('holds')
    .select('id')
    .where('status', '=', 'pending')
    .where('expires_at', '<=', sql<Date>`now()`)
    .orderBy('expires_at')
    .limit(batchSize)
    .execute();
  let expired = 0;
  for (const { id } of due) {
    try {
      await deps.db.transaction().execute((trx) => releaseWithdrawal(trx, id, 'expired', 'expired'));
      expired += 1;
    } catch (error) {
      // Settled or released concurrently by a webhook: nothing to expire.
      if (!(error instanceof Error && error.name === 'HttpProblem')) throw error;
    }
  }
  return expired;
}
