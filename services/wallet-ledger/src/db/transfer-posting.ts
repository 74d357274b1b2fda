/**
 * A transfer's posting in one round trip: the `ledger_transfer` function (migration 0004) inserts the
 * transaction, completes the idempotency record under its lease, applies both legs (balance check,
 * version, hash chain, entries) and writes the outbox rows, all in the statement's own transaction.
 * Its refusals come back as SQLSTATEs of class `WL`, turned here into typed errors.
 */
import { sql, type Kysely } from 'kysely';
import { Events } from '@wallet/contracts';
import { activeTraceparent, parseEventData } from '@wallet/platform';
import { MovementRefused, type MovementRefusalReason } from '../domain/movement-refusal.ts';
import { IdempotencyLeaseLost, type Claim } from './idempotency-store.ts';
import type { LedgerDatabase } from './schema.ts';

export type IdempotencyLease = Extract<Claim, { kind: 'new' }>;

export interface TransferPosting {
  transferId: string;
  fromWalletId: string;
  toWalletId: string;
  amount: bigint;
  currency: string;
  description: string | null;
  initiatedBy: string;
  riskAssessmentId: string | null;
  /** JSON of the risk record, stored on the transaction. */
  risk: string | null;
  deviceId: string | null;
  ip: string | null;
  traceparent: string | null;
  /** `balance.low` threshold for this currency, or null when none applies. */
  balanceLowThreshold: bigint | null;
}

const REFUSALS: Record<string, MovementRefusalReason> = {
  WLSAM: 'same-wallet',
  WLNOW: 'wallet-not-found',
  WLCUR: 'currency-mismatch',
  WLFRZ: 'account-frozen',
  WLNSF: 'insufficient-funds',
};

function sqlState(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null || !('code' in error)) return undefined;
  const { code } = error;
  return typeof code === 'string' ? code : undefined;
}

/** Posts the transfer; returns the answer's exact JSON text (also stored under the lease, if any). */
export async function postTransfer(
  db: Kysely<LedgerDatabase>,
  posting: TransferPosting,
  lease: IdempotencyLease | null,
): Promise<{ answer: string; createdAt: Date }> {
  const amount = posting.amount.toString();
  // The answer without its last field (createdAt, which only the database knows): the function
  // appends it, so the bytes stored under the key are the bytes sent.
  const answerHead = JSON.stringify({
    transferId: posting.transferId,
    status: 'completed',
    fromWalletId: posting.fromWalletId,
    toWalletId: posting.toWalletId,
    amount,
    currency: posting.currency,
    description: posting.description,
  }).slice(0, -1);
  const eventData = {
    transferId: posting.transferId,
    fromWalletId: posting.fromWalletId,
    toWalletId: posting.toWalletId,
    amount,
    currency: posting.currency,
    deviceId: posting.deviceId,
    ip: posting.ip,
  };
  // The contract is checked here, with stand-ins for what the database adds (owners, occurredAt).
  parseEventData('transferCompleted', {
    ...eventData,
    fromUserId: 'owner',
    toUserId: 'owner',
    occurredAt: new Date(0).toISOString(),
  });
  const completed = Events.transferCompleted;
  const low = Events.balanceLow;
  try {
    // Like enqueueEvent: the outbox rows carry the span of the request that wrote them (the relay
    // publishes in its trace), else what the caller handed down.
    const { rows } = await sql<{ answer: string; created_at: Date }>`
      SELECT answer, created_at FROM ledger_transfer(
        ${posting.transferId}::uuid, ${posting.fromWalletId}::uuid, ${posting.toWalletId}::uuid,
        ${posting.currency}, ${amount}::numeric, ${posting.description}, ${posting.initiatedBy},
        ${posting.riskAssessmentId}, ${posting.risk}::jsonb,
        ${lease?.scope ?? null}, ${lease?.key ?? null}, ${lease?.leaseToken ?? null}::uuid,
        ${answerHead},
        ${completed.topic}, ${completed.type}, ${completed.source}, ${JSON.stringify(eventData)}::jsonb,
        ${activeTraceparent() ?? posting.traceparent},
        ${posting.balanceLowThreshold?.toString() ?? null}::numeric, ${low.topic}, ${low.type}, ${low.source}
      )`.execute(db);
    const row = rows[0];
    if (!row) throw new Error('ledger_transfer returned no row');
    return { answer: row.answer, createdAt: row.created_at };
  } catch (error) {
    const state = sqlState(error);
    if (state === 'WLLSE') throw new IdempotencyLeaseLost('idempotency key lease lost');
    const reason = state ? REFUSALS[state] : undefined;
    if (reason) throw new MovementRefused(reason);
    throw error;
  }
}
