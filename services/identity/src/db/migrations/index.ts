/** identity's migrations, numbered and forward-only. Applied by `npm run migrate`, never by web start-up. */
import type { Migration } from 'kysely/migration';
import { messagingMigrations } from '@wallet/platform';
import { identityTables } from './0002_identity_tables.ts';
import { codeDeliveryByReference } from './0003_code_delivery_by_reference.ts';
import { signInThrottle } from './0004_sign_in_throttle.ts';
import { accountSecurity } from './0005_account_security.ts';
import { passkeys } from './0006_passkeys.ts';

export const migrations: Record<string, Migration> = {
  ...messagingMigrations,
  '0002_identity_tables': identityTables,
  '0003_code_delivery_by_reference': codeDeliveryByReference,
  '0004_sign_in_throttle': signInThrottle,
  '0005_account_security': accountSecurity,
  '0006_passkeys': passkeys,
};
