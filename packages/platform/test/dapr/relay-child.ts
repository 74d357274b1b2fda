/**
 * A relay process for the crash test: the outbox relay of `platform-contract-a`, publishing through
 * its real sidecar, until it is killed. Run by relay.ts with plain `node` (type stripping):
 *   DATABASE_URL, DAPR_HTTP_PORT, DAPR_API_TOKEN, RELAY_APP_ID, RELAY_BATCH_SIZE
 * SIGTERM stops it gracefully; the test SIGKILLs it mid-batch.
 */
import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import { createDaprPlatform } from '../../src/dapr/index.ts';
import type { PlatformLogger } from '../../src/logger.ts';
import { createOutboxRelay } from '../../src/messaging/index.ts';
import type { MessagingTables } from '../../src/messaging/index.ts';

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is required`);
  return value;
}

const line =
  (level: string) =>
  (obj: object, msg?: string): void => {
    process.stderr.write(`${JSON.stringify({ level, msg, ...obj })}\n`);
  };
const logger: PlatformLogger = {
  debug: () => {},
  info: line('info'),
  warn: line('warn'),
  error: line('error'),
};

const pool = new pg.Pool({
  connectionString: required('DATABASE_URL'),
  max: 2,
  application_name: 'relay-child',
});
pool.on('error', (error) => logger.warn({ err: error.message }, 'pool error'));
pool.on('connect', (client) => client.on('error', () => {}));
const db = new Kysely<MessagingTables>({ dialect: new PostgresDialect({ pool }) });
const platform = createDaprPlatform({
  appId: required('RELAY_APP_ID'),
  daprHttpPort: Number(required('DAPR_HTTP_PORT')),
  daprApiToken: required('DAPR_API_TOKEN'),
  logger,
});
const relay = createOutboxRelay({
  db,
  platform,
  logger,
  batchSize: Number(process.env['RELAY_BATCH_SIZE'] ?? 100),
  pollIntervalMs: 50,
  baseBackoffMs: 100,
  maxBackoffMs: 1_000,
});
relay.start();
process.stdout.write('relay started\n');

process.once('SIGTERM', () => {
  void (async () => {
    await relay.stop();
    await platform.close();
    await db.destroy();
    process.exit(0);
  })();
});
