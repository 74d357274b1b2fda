/** Consumes identity's user.registered: opens the user's default wallet, once per event. */
import { consumeOnce, subscribeToEvent, type Platform } from '@wallet/platform';
import type { Kysely } from 'kysely';
import type { Logger } from '@wallet/service-kit';
import type { LedgerDatabase } from '../db/schema.ts';
import { openWallet } from '../operations/wallets.ts';

export const OPEN_DEFAULT_WALLET_CONSUMER = 'wallet-ledger.open-default-wallet';

export function subscribeUserRegistered(deps: {
  platform: Platform;
  db: Kysely<LedgerDatabase>;
  logger: Logger;
  platformCurrency: string;
}): void {
  const { platform, db, logger } = deps;
  subscribeToEvent(
    { platform, db, logger, consumerAppId: 'wallet-ledger' },
    'userRegistered',
    async (data, event) => {
      const outcome = await consumeOnce(db, OPEN_DEFAULT_WALLET_CONSUMER, event, async (trx) => {
        await openWallet(trx, data.userId, deps.platformCurrency);
      });
      logger.info({ eventId: event.id, outcome }, 'default wallet');
      return 'SUCCESS';
    },
  );
}
