/** What every ledger operation needs. */
import type { Kysely, Transaction } from 'kysely';
import type { Config } from '../config.ts';
import type { LedgerDatabase } from '../db/schema.ts';
import type { SystemAccounts } from '../db/system-accounts.ts';

export interface LedgerDeps {
  db: Kysely<LedgerDatabase>;
  /**
   * History and point-in-time reads only: the replica while it is fresh enough, the primary
   * otherwise (the service kit measures the replica's lag). Never for a movement's own answer.
   */
  reader: () => Kysely<LedgerDatabase>;
  systemAccounts: SystemAccounts;
  config: Pick<Config, 'PLATFORM_CURRENCY' | 'WITHDRAWAL_HOLD_TTL_SECONDS' | 'BALANCE_LOW_THRESHOLD'>;
}

/**
 * Called inside the money transaction with the answer's body: stores it under the request's
 * Idempotency-Key (so movement and answer commit together) and returns the exact bytes to send.
 */
export type Finish = (trx: Transaction<LedgerDatabase>, body: object) => Promise<string>;

/** For callers without an Idempotency-Key (provider webhooks, workers, tests). */
export const plainFinish: Finish = (_trx, body) => Promise.resolve(JSON.stringify(body));
