/** Throw-away databases on a real PostgreSQL server, one per suite, dropped afterwards. */
import { randomBytes } from 'node:crypto';
import pg from 'pg';

export interface TestDatabase {
  /** Connection URL of the new database (as the admin role). */
  url: string;
  name: string;
  /** Admin URL of the server (for superuser-only checks such as tampering with entries). */
  adminUrl: string;
  drop(): Promise<void>;
}

function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

export async function createTestDatabase(adminUrl: string, prefix: string): Promise<TestDatabase> {
  const safePrefix = prefix.toLowerCase().replace(/[^a-z0-9_]/g, '_').slice(0, 30);
  const name = `t_${safePrefix}_${randomBytes(5).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE "${name}"`);
  } finally {
    await admin.end();
  }
  return {
    name,
    url: withDatabase(adminUrl, name),
    adminUrl,
    async drop() {
      const c = new pg.Client({ connectionString: adminUrl });
      await c.connect();
      try {
        await c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      } finally {
        await c.end();
      }
    },
  };
}

/** Creates a login role that owns nothing, for privilege tests (e.g. "the service role cannot UPDATE entries"). */
export async function createTestRole(adminUrl: string, prefix: string): Promise<{ role: string; password: string }> {
  const role = `r_${prefix.toLowerCase().replace(/[^a-z0-9_]/g, '_').slice(0, 20)}_${randomBytes(4).toString('hex')}`;
  const password = randomBytes(12).toString('hex');
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE ROLE "${role}" LOGIN PASSWORD '${password}'`);
  } finally {
    await admin.end();
  }
  return { role, password };
}

export function urlForRole(url: string, role: string, password: string): string {
  const u = new URL(url);
  u.username = role;
  u.password = password;
  return u.toString();
}
