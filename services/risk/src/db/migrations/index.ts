/** risk's migrations, numbered and forward-only. Applied by `npm run migrate`, never by web start-up. */
import type { Migration } from 'kysely/migration';
import { messagingMigrations } from '@wallet/platform';
import { riskTables } from './0002_risk_tables.ts';
import { flagReview } from './0003_flag_review.ts';
import { sessionsByUser } from './0004_sessions_by_user.ts';

export const migrations: Record<string, Migration> = {
  '0001_messaging_tables': messagingMigrations['0001_messaging_tables']!,
  '0002_risk_tables': riskTables,
  '0003_flag_review': flagReview,
  '0004_sessions_by_user': sessionsByUser,
};
