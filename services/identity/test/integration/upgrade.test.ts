/**
 * Upgrades of a live database: each migration must accept the rows the release before it wrote.
 * (0003 once refused every existing one-time code, so an upgrade with data failed.)
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Kysely, PostgresDialect, sql } from 'kysely';
import { createPool, migrateToLatest, migrationsThrough } from '@wallet/service-kit';
import { createTestDatabase, infraEnv, type TestDatabase } from '@wallet/testing';
import { migrations } from '../../src/db/migrations/index.ts';

const adminUrl = infraEnv('TEST_PG_ADMIN_URL');

describe.runIf(adminUrl)('identity: upgrades keep existing rows', () => {
  let database: TestDatabase;
  let db: Kysely<unknown>;

  beforeAll(async () => {
    database = await createTestDatabase(adminUrl!, 'identity_upgrade');
    db = new Kysely<unknown>({
      dialect: new PostgresDialect({ pool: createPool(database.url, { max: 2 }) }),
    });
  });
  afterAll(async () => {
    await db?.destroy();
    await database?.drop();
  });

  it('migrates a database holding codes issued before delivery by reference', async () => {
    await migrateToLatest(db, migrationsThrough(migrations, '0002_identity_tables'));
    const user = await sql<{ id: string }>`insert into users (email, password_hash)
      values ('old@example.com', '$argon2id$v=19$m=1024,t=1,p=1$c2FsdA$aGFzaA') returning id`.execute(db);
    const userId = user.rows[0]!.id;
    await sql`insert into one_time_codes (user_id, purpose, code_hash, expires_at)
      values (${userId}, 'email-verification', 'old-hash', now() + interval '1 hour'),
             (${userId}, 'recovery', 'used-hash', now() - interval '1 hour')`.execute(db);
    await sql`update one_time_codes set consumed_at = now() where purpose = 'recovery'`.execute(db);

    const applied = await migrateToLatest(db, migrations);
    expect(applied).toContain('0003_code_delivery_by_reference');
    expect(applied.at(-1)).toBe(Object.keys(migrations).at(-1));

    const codes = await sql<{ purpose: string; code_hash: string; issued_count: number; issued: boolean }>`
      select purpose, code_hash, issued_count, issued_at is not null as issued from one_time_codes order by purpose`.execute(
      db,
    );
    expect(codes.rows).toEqual([
      { purpose: 'email-verification', code_hash: 'old-hash', issued_count: 1, issued: true },
      { purpose: 'recovery', code_hash: 'used-hash', issued_count: 1, issued: true },
    ]);
  });
});
