/** Consumes identity's user.registered: opens the user's default wallet, once per event. */
import { Events, type CloudEvent } from '@wallet/contracts';
import { consumeOnce, subscribeWithDeadLetters, type Platform } from '@wallet/platform';
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
  subscribeWithDeadLetters(
    deps.platform,
    deps.db,
    'wallet-ledger',
    Events.userRegistered.topic,
    async (event: CloudEvent<unknown>) => {
      const parsed = Events.userRegistered.schema.safeParse(event.data);
      if (event.type !== Events.userRegistered.type || !parsed.success) {
        deps.logger.error(
          { eventId: event.id, type: event.type },
          'user.registered event off contract; dropped',
        );
        return 'DROP';
      }
      const outcome = await consumeOnce(deps.db, OPEN_DEFAULT_WALLET_CONSUMER, event, async (trx) => {
        await openWallet(trx, parsed.data.userId, deps.platformCurrency);
      });
      deps.logger.info({ eventId: event.id, outcome }, 'default wallet');
      return 'SUCCESS';
    },
    { logger: deps.logger },
  );
}
