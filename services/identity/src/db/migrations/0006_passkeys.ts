/**
 * Passkeys (WebAuthn): the credentials users registered, and the one-time challenges of the
 * ceremonies in flight. Numbered 0006: 0005 belongs to the ASVS work on identity.
 */
import { sql, type Kysely } from 'kysely';
import type { Migration } from 'kysely/migration';

export const passkeys: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable('passkeys')
      .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
      .addColumn('user_id', 'uuid', (c) => c.notNull().references('users.id').onDelete('cascade'))
      // The authenticator's credential id (base64url), unique across the relying party.
      .addColumn('credential_id', 'text', (c) =>
        c
          .notNull()
          .unique()
          .check(sql`length(credential_id) between 16 and 1366`),
      )
      .addColumn('public_key', 'bytea', (c) => c.notNull())
      .addColumn('sign_count', 'bigint', (c) =>
        c
          .notNull()
          .defaultTo(0)
          .check(sql`sign_count >= 0`),
      )
      .addColumn('transports', sql`text[]`, (c) => c.notNull().defaultTo(sql`'{}'`))
      .addColumn('device_type', 'text', (c) =>
        c.notNull().check(sql`device_type in ('singleDevice', 'multiDevice')`),
      )
      .addColumn('backed_up', 'boolean', (c) => c.notNull())
      .addColumn('aaguid', 'text', (c) => c.notNull())
      .addColumn('name', 'text', (c) => c.notNull().check(sql`length(name) between 1 and 100`))
      .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
      .addColumn('last_used_at', 'timestamptz')
      .execute();
    await db.schema.createIndex('passkeys_user_idx').on('passkeys').column('user_id').execute();

    await db.schema
      .createTable('webauthn_challenges')
      .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
      .addColumn('purpose', 'text', (c) =>
        c.notNull().check(sql`purpose in ('registration', 'passwordless', 'second-factor', 'step-up')`),
      )
      .addColumn('challenge', 'text', (c) => c.notNull())
      .addColumn('user_id', 'uuid', (c) => c.references('users.id').onDelete('cascade'))
      // step-up and registration: the session that asked; second-factor: the password step's challenge.
      .addColumn('session_id', 'uuid')
      .addColumn('mfa_challenge_id', 'uuid')
      .addColumn('expires_at', 'timestamptz', (c) => c.notNull())
      .addColumn('consumed_at', 'timestamptz')
      .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
      .addCheckConstraint(
        'webauthn_challenges_owner',
        sql`(purpose = 'passwordless') = (user_id is null)
            and (purpose in ('registration', 'step-up')) = (session_id is not null)
            and (purpose = 'second-factor') = (mfa_challenge_id is not null)`,
      )
      .execute();
    await db.schema
      .createIndex('webauthn_challenges_expiry_idx')
      .on('webauthn_challenges')
      .column('expires_at')
      .execute();
  },
};
