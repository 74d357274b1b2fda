/**
 * `balance.low`: published (through the outbox, in the movement's transaction) when a user wallet's
 * available balance falls from at or above the threshold to below it. Once per crossing: further
 * debits while it stays below publish nothing until it has been back above. Only the platform
 * currency has a threshold (there is no exchange rate here to compare others).
 */
import type { Transaction } from 'kysely';
import { enqueueEvent } from '@wallet/platform';
import type { LedgerDatabase } from '../db/schema.ts';
import type { LedgerDeps } from './deps.ts';

export interface AvailableChange {
  walletId: string;
  userId: string;
  currency: string;
  availableBefore: bigint;
  availableAfter: bigint;
}

/** The domain rule, without I/O. */
export function crossedBelow(
  change: Pick<AvailableChange, 'availableBefore' | 'availableAfter'>,
  threshold: bigint,
): boolean {
  return threshold > 0n && change.availableBefore >= threshold && change.availableAfter < threshold;
}

export async function enqueueBalanceLowIfCrossed(
  trx: Transaction<LedgerDatabase>,
  config: LedgerDeps['config'],
  change: AvailableChange,
): Promise<void> {
  if (change.currency !== config.PLATFORM_CURRENCY) return;
  if (!crossedBelow(change, config.BALANCE_LOW_THRESHOLD)) return;
  await enqueueEvent(trx, {
    name: 'balanceLow',
    data: {
      walletId: change.walletId,
      userId: change.userId,
      available: change.availableAfter.toString(),
      currency: config.PLATFORM_CURRENCY,
      threshold: config.BALANCE_LOW_THRESHOLD.toString(),
    },
    partitionKey: change.walletId,
  });
}
