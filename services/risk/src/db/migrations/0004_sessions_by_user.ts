/** The new-device rule asks whether a user had a session before this one: look sessions up by user. */
import type { Kysely } from 'kysely';
import type { Migration } from 'kysely/migration';

export const sessionsByUser: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema
      .createIndex('sessions_user_created_idx')
      .on('sessions')
      .columns(['user_id', 'created_at'])
      .execute();
  },
};
