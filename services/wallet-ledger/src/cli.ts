/**
 * Operator commands. `reconcile` proves the books (exit code 0 when they balance, 2 when not) and
 * prints the report as JSON. It connects to --database-url, DATABASE_URL, or the ledger database of
 * the platform running on this machine (`npm start` or `npm run start:dapr`, found through the runtime
 * file it wrote; a file left by a stopped platform is named as stale).
 *
 *   npm run ledger -- reconcile
 */
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { createDatabase, findRunningPlatform } from '@wallet/service-kit';
import type { LedgerDatabase } from './db/schema.ts';
import { reconcile } from './operations/reconcile.ts';

const USAGE = 'usage: ledger reconcile [--database-url <url>]\n';

function databaseUrl(explicit: string | undefined): string {
  if (explicit) return explicit;
  const fromEnv = process.env['DATABASE_URL'];
  if (fromEnv) return fromEnv;
  const running = findRunningPlatform({ repoRoot: resolve(import.meta.dirname, '../../..') });
  const url = running.services['wallet-ledger']?.databaseUrl;
  if (!url) throw new Error(`no wallet-ledger database in ${running.file}; set DATABASE_URL`);
  return url;
}

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: { 'database-url': { type: 'string' }, help: { type: 'boolean', short: 'h' } },
});

if (values.help || positionals[0] !== 'reconcile') {
  process.stderr.write(USAGE);
  process.exitCode = values.help ? 0 : 64;
} else {
  let url: string;
  try {
    url = databaseUrl(values['database-url']);
  } catch (error) {
    process.stderr.write(`ledger: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  }
  const database = createDatabase<LedgerDatabase>({
    url,
    poolMax: 1,
    applicationName: 'wallet-ledger-cli',
  });
  try {
    const report = await reconcile(database.db);
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    process.exitCode = report.ok ? 0 : 2;
  } finally {
    await database.close();
  }
}
