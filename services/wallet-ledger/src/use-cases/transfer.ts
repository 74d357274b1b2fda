/**
 * The transfer use case: everything between a parsed request and its answer. Checks the wallets
 * (one read: ownership, currency, an early balance check), clears the movement with risk, then posts
 * it in one round trip (`transferFunds`: the database re-checks the balance under the row lock and
 * stores the answer under the request's idempotency lease). Refusals are `MovementRefused`; the HTTP
 * edge maps them to problems once.
 */
import { randomUUID } from 'node:crypto';
import type { InternalClaims } from '@wallet/contracts';
import type { IdempotencyLease } from '../db/transfer-posting.ts';
import { MovementRefused } from '../domain/movement-refusal.ts';
import { transferFunds } from '../operations/movements.ts';
import type { LedgerDeps } from '../operations/deps.ts';
import { getWalletPair } from '../operations/wallets.ts';
import { clearWithRisk, type RiskGateDeps } from './risk-gate.ts';

export interface TransferCommand {
  caller: InternalClaims;
  fromWalletId: string;
  toWalletId: string;
  amount: bigint;
  currency: string;
  description: string | null;
  traceparent?: string | undefined;
  requestId?: string | undefined;
}

export interface TransferUseCaseDeps {
  ledger: LedgerDeps;
  riskGate: RiskGateDeps;
}

/** Returns the answer's exact JSON text (201), stored under `lease` in the movement's transaction. */
export async function transfer(
  deps: TransferUseCaseDeps,
  command: TransferCommand,
  lease: IdempotencyLease | null,
): Promise<string> {
  const { caller } = command;
  if (command.fromWalletId === command.toWalletId) throw new MovementRefused('same-wallet');
  const [from, to] = await getWalletPair(deps.ledger.db, command.fromWalletId, command.toWalletId);
  if (!from || from.ownerId !== caller.sub || !to) throw new MovementRefused('wallet-not-found');
  if (from.currency !== command.currency || to.currency !== command.currency)
    throw new MovementRefused('currency-mismatch');
  // Cheap early refusal (before risk is asked); the conditional UPDATE under the lock is what guarantees it.
  if (BigInt(from.available) < command.amount) throw new MovementRefused('insufficient-funds');
  const risk = await clearWithRisk(deps.riskGate, caller, {
    action: 'transfer',
    amount: command.amount,
    currency: command.currency,
    counterparty: command.toWalletId,
    requestId: command.requestId,
  });
  return transferFunds(
    deps.ledger,
    {
      transferId: randomUUID(),
      fromWalletId: command.fromWalletId,
      toWalletId: command.toWalletId,
      amount: command.amount,
      currency: command.currency,
      description: command.description,
      initiatedBy: caller.sub,
      risk,
      deviceId: caller.deviceId,
      ip: caller.ip,
      traceparent: command.traceparent,
    },
    lease,
  );
}
