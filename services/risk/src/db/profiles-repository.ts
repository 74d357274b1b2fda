/** Profile updates applied by the event consumers, always inside the consumer's inbox transaction. */
import type { Transaction } from 'kysely';
import { z } from 'zod';
import { addAmountSample } from '../domain/amount-stats.ts';
import type { RiskDatabase } from './schema.ts';

type Trx = Transaction<RiskDatabase>;

const storedAmounts = z.array(z.string().regex(/^(0|[1-9][0-9]*)$/));

/** Adds an outgoing amount to the user's robust statistic (row-locked: concurrent events serialise). */
export async function recordOutgoingAmount(
  trx: Trx,
  userId: string,
  currency: string,
  amount: bigint,
  at: Date,
): Promise<void> {
  await trx
    .insertInto('amount_stats')
    .values({
      user_id: userId,
      currency,
      recent_amounts: '[]',
      sample_count: 0,
      median: '0',
      mad: '0',
      updated_at: at,
    })
    .onConflict((oc) => oc.columns(['user_id', 'currency']).doNothing())
    .execute();
  const row = await trx
    .selectFrom('amount_stats')
    .select('recent_amounts')
    .where('user_id', '=', userId)
    .where('currency', '=', currency)
    .forUpdate()
    .executeTakeFirstOrThrow();
  const previous = storedAmounts.parse(row.recent_amounts).map((s) => BigInt(s));
  const stats = addAmountSample(previous, amount);
  await trx
    .updateTable('amount_stats')
    .set({
      recent_amounts: JSON.stringify(stats.samples.map((s) => s.toString())),
      sample_count: stats.samples.length,
      median: stats.median.toString(),
      mad: stats.mad.toString(),
      updated_at: at,
    })
    .where('user_id', '=', userId)
    .where('currency', '=', currency)
    .execute();
}

export async function rememberCounterparty(
  trx: Trx,
  userId: string,
  counterparty: string,
  at: Date,
): Promise<void> {
  await trx
    .insertInto('known_counterparties')
    .values({ user_id: userId, counterparty, first_seen_at: at, last_seen_at: at, times: 1 })
    .onConflict((oc) =>
      oc.columns(['user_id', 'counterparty']).doUpdateSet((eb) => ({
        times: eb('known_counterparties.times', '+', 1),
        last_seen_at: eb.ref('excluded.last_seen_at'),
      })),
    )
    .execute();
}

export async function rememberDevice(trx: Trx, userId: string, deviceId: string, at: Date): Promise<void> {
  await trx
    .insertInto('known_devices')
    .values({ user_id: userId, device_id: deviceId, first_seen_at: at, last_seen_at: at })
    .onConflict((oc) =>
      oc
        .columns(['user_id', 'device_id'])
        .doUpdateSet((eb) => ({ last_seen_at: eb.ref('excluded.last_seen_at') })),
    )
    .execute();
}

export async function recordSession(
  trx: Trx,
  session: { sessionId: string; userId: string; newDevice: boolean; ip: string | null; createdAt: Date },
): Promise<void> {
  await trx
    .insertInto('sessions')
    .values({
      session_id: session.sessionId,
      user_id: session.userId,
      new_device: session.newDevice,
      ip: session.ip,
      created_at: session.createdAt,
    })
    .onConflict((oc) => oc.column('session_id').doNothing())
    .execute();
}

export async function recordLoginFailure(
  trx: Trx,
  failure: { eventId: string; userId: string; ip: string | null; failedAttempts: number; occurredAt: Date },
): Promise<void> {
  await trx
    .insertInto('login_failures')
    .values({
      event_id: failure.eventId,
      user_id: failure.userId,
      ip: failure.ip,
      failed_attempts: failure.failedAttempts,
      occurred_at: failure.occurredAt,
    })
    .onConflict((oc) => oc.column('event_id').doNothing())
    .execute();
}

export async function recordRefund(
  trx: Trx,
  refund: {
    refundId: string;
    transferId: string;
    payerUserId: string;
    payeeUserId: string;
    amount: string;
    currency: string;
    occurredAt: Date;
  },
): Promise<void> {
  await trx
    .insertInto('refunds')
    .values({
      refund_id: refund.refundId,
      transfer_id: refund.transferId,
      payer_user_id: refund.payerUserId,
      payee_user_id: refund.payeeUserId,
      amount: refund.amount,
      currency: refund.currency,
      occurred_at: refund.occurredAt,
    })
    .onConflict((oc) => oc.column('refund_id').doNothing())
    .execute();
}

export async function recordDeposit(
  trx: Trx,
  deposit: { depositId: string; userId: string; amount: string; currency: string; occurredAt: Date },
): Promise<void> {
  await trx
    .insertInto('deposits')
    .values({
      deposit_id: deposit.depositId,
      user_id: deposit.userId,
      amount: deposit.amount,
      currency: deposit.currency,
      occurred_at: deposit.occurredAt,
    })
    .onConflict((oc) => oc.column('deposit_id').doNothing())
    .execute();
}
