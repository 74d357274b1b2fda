/** identity's migrations, numbered and forward-only. Applied by `npm run migrate`, never by web start-up. */
import type { Migration } from 'kysely/migration';
import { messagingMigrations } from '@wallet/platform';
import { identityTables } from './0002_identity_tables.ts';
import { signInThrottle } from './0003_sign_in_throttle.ts';

export const migrations: Record<string, Migration> = {
  ...messagingMigrations,
  '0002_identity_tables': identityTables,
  '0003_sign_in_throttle': signInThrottle,
};
