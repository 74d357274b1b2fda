/**
 * Upgrades of a live database: each migration must accept the rows the release before it wrote.
 * (0003 once refused flags closed before it, so an upgrade with such a flag failed.)
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Kysely, PostgresDialect, sql } from 'kysely';
import { createPool, migrateToLatest, migrationsThrough } from '@wallet/service-kit';
import { createTestDatabase, type TestDatabase } from '@wallet/testing';
import { migrations } from '../../src/db/migrations/index.ts';
import { adminUrl } from './helpers.ts';

describe.runIf(adminUrl)('risk: upgrades keep existing rows', () => {
  let database: TestDatabase;
  let db: Kysely<unknown>;

  beforeAll(async () => {
    database = await createTestDatabase(adminUrl!, 'risk_upgrade');
    db = new Kysely<unknown>({
      dialect: new PostgresDialect({ pool: createPool(database.url, { max: 2 }) }),
    });
  });
  afterAll(async () => {
    await db?.destroy();
    await database?.drop();
  });

  it('migrates a database holding open and closed flags from before flag reviews', async () => {
    await migrateToLatest(db, migrationsThrough(migrations, '0002_risk_tables'));
    for (const status of ['open', 'closed']) {
      await sql`insert into anomaly_flags (id, user_id, action, score, reasons, status)
        values (${randomUUID()}, 'user-1', 'deny', 90, '[]'::jsonb, ${status})`.execute(db);
    }

    const applied = await migrateToLatest(db, migrations);
    expect(applied.at(-1)).toBe(Object.keys(migrations).at(-1));

    const flags = await sql<{ status: string; closed: boolean }>`
      select status, closed_at is not null as closed from anomaly_flags order by status desc`.execute(db);
    expect(flags.rows).toEqual([
      { status: 'open', closed: false },
      { status: 'closed', closed: true },
    ]);
  });
});
