/**
 * One database and two roles per service: the database is owned by `<db>` (which runs migrations)
 * and used at run time by `<db>_app`, which gets DML on what the owner creates and nothing else.
 * PUBLIC may not connect, so no service's role can open another service's database. The embedded
 * host, the test harness and `infra/local.sh` (in SQL) all provision this way.
 */
import pg from 'pg';

function quoteIdent(name: string): string {
  if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`unsafe identifier ${name}`);
  return `"${name}"`;
}

function quoteLiteral(value: string): string {
  return `'${value.replaceAll("'", "''")}'`;
}

export interface ServiceDatabase {
  database: string;
  /** Owner role: runs migrations. */
  ownerRole: string;
  ownerUrl: string;
  /** Runtime role: what the service connects as; gets only the privileges migrations grant. */
  appRole: string;
  appUrl: string;
}

export async function provisionServiceDatabase(
  adminUrl: string,
  database: string,
  passwords: { owner: string; app: string },
): Promise<ServiceDatabase> {
  const ownerRole = database;
  const appRole = `${database}_app`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    for (const [role, password] of [
      [ownerRole, passwords.owner],
      [appRole, passwords.app],
    ] as const) {
      const exists = await admin.query('select 1 from pg_roles where rolname = $1', [role]);
      const verb = exists.rowCount ? 'ALTER' : 'CREATE';
      await admin.query(`${verb} ROLE ${quoteIdent(role)} LOGIN PASSWORD ${quoteLiteral(password)}`);
    }
    const db = await admin.query('select 1 from pg_database where datname = $1', [database]);
    if (!db.rowCount) await admin.query(`CREATE DATABASE ${quoteIdent(database)} OWNER ${quoteIdent(ownerRole)}`);
    await admin.query(`REVOKE ALL ON DATABASE ${quoteIdent(database)} FROM PUBLIC`);
    await admin.query(`GRANT CONNECT, TEMPORARY ON DATABASE ${quoteIdent(database)} TO ${quoteIdent(appRole)}`);
  } finally {
    await admin.end();
  }
  // Inside the database: the runtime role uses the schema and gets DML on what the owner creates.
  const inside = new pg.Client({ connectionString: withDatabase(adminUrl, database) });
  await inside.connect();
  try {
    await inside.query(`REVOKE CREATE ON SCHEMA public FROM PUBLIC`);
    await inside.query(`GRANT USAGE ON SCHEMA public TO ${quoteIdent(appRole)}`);
    await inside.query(
      `ALTER DEFAULT PRIVILEGES FOR ROLE ${quoteIdent(ownerRole)} IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO ${quoteIdent(appRole)}`,
    );
    await inside.query(
      `ALTER DEFAULT PRIVILEGES FOR ROLE ${quoteIdent(ownerRole)} IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO ${quoteIdent(appRole)}`,
    );
  } finally {
    await inside.end();
  }
  const url = (role: string, password: string) => {
    const u = new URL(withDatabase(adminUrl, database));
    u.username = role;
    u.password = password;
    return u.toString();
  };
  return {
    database,
    ownerRole,
    ownerUrl: url(ownerRole, passwords.owner),
    appRole,
    appUrl: url(appRole, passwords.app),
  };
}

export function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

/** Drops a provisioned database and its two roles (tests). */
export async function dropServiceDatabase(adminUrl: string, database: string): Promise<void> {
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    await admin.query(`DROP DATABASE IF EXISTS ${quoteIdent(database)} WITH (FORCE)`);
    for (const role of [`${database}_app`, database]) await admin.query(`DROP ROLE IF EXISTS ${quoteIdent(role)}`);
  } finally {
    await admin.end();
  }
}
