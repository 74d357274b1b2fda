/** notification's migrations, numbered and forward-only. Applied by `npm run migrate`, never by web start-up. */
import type { Migration } from 'kysely/migration';
import { messagingMigrations } from '@wallet/platform';
import { notificationTables } from './0002_notification_tables.ts';
import { codeByReference } from './0003_code_by_reference.ts';
import { phoneVerification } from './0004_phone_verification.ts';

export const migrations: Record<string, Migration> = {
  ...messagingMigrations,
  '0002_notification_tables': notificationTables,
  '0003_code_by_reference': codeByReference,
  '0004_phone_verification': phoneVerification,
};
