/** wallet-ledger's migrations, numbered and forward-only. Applied by `npm run migrate`, never by web start-up. */
import type { Migration } from 'kysely/migration';
import { messagingMigrations } from '@wallet/platform';
import { ledgerCore } from './0002_ledger_core.ts';
import { adjustmentRequests } from './0003_adjustment_requests.ts';
import { transferFunction } from './0004_transfer_function.ts';

export const migrations: Record<string, Migration> = {
  ...messagingMigrations,
  '0002_ledger_core': ledgerCore,
  '0003_adjustment_requests': adjustmentRequests,
  '0004_transfer_function': transferFunction,
};
