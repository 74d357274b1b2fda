/**
 * Operator commands. `reconcile` proves the books (exit code 0 when they balance, 2 when not) and
 * prints the report as JSON. It connects to DATABASE_URL, or to the running embedded platform's
 * ledger database (from `.data/embedded/runtime.json`).
 *
 *   npm run ledger -- reconcile
 */
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { createDatabase } from '@wallet/service-kit';
import type { LedgerDatabase } from './db/schema.ts';
import { reconcile } from './operations/reconcile.ts';

const USAGE = 'usage: ledger reconcile [--database-url <url>]\n';

async function databaseUrl(explicit: string | undefined): Promise<string> {
  if (explicit) return explicit;
  const fromEnv = process.env['DATABASE_URL'];
  if (fromEnv) return fromEnv;
  const runtimeFile = resolve(import.meta.dirname, '../../../.data/embedded/runtime.json');
  const runtime = JSON.parse(await readFile(runtimeFile, 'utf8')) as {
    databases?: Record<string, { appUrl?: string }>;
  };
  const url = runtime.databases?.['wallet-ledger']?.appUrl;
  if (!url) throw new Error(`no wallet-ledger database in ${runtimeFile}; set DATABASE_URL`);
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
  const database = createDatabase<LedgerDatabase>({
    url: await databaseUrl(values['database-url']),
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
