// Longer than 400 lines: one benchmark script: set-up, the workloads, the raw-SQL baseline run in the same process and the report, read top to bottom.
/**
 * Ledger benchmark (not a test): transfers per second and latency at wallet-ledger's HTTP API, over
 * many wallets and with one hot wallet, then the raw-SQL floor: pgbench running the statements the
 * service runs per transfer, on the same PostgreSQL, same database, same runtime role. Prints one
 * JSON line and a table, with the ratio service/SQL.
 *
 * Three processes, as in production: wallet-ledger and the REAL risk service each in their own Node
 * process (`node --import @wallet/service-kit/telemetry-preload bench/ledger/service-process.ts`, the
 * embedded transport: the ledger's risk call is loopback HTTP), and this process, which only
 * generates load (undici, keep-alive, internal tokens minted before the clock starts).
 *
 *   eval "$(bash infra/local.sh env)"; TEST_PG_ADMIN_URL=$PG_ADMIN_URL npx node bench/ledger/run.ts
 *   env: BENCH_SECONDS (10), BENCH_WALLETS (1000), BENCH_CONCURRENCY (32), BENCH_DB_CONNECTIONS (4: pool of the ledger and pgbench clients),
 *        BENCH_CPU_PROF=1 (V8 CPU profiles of both services into .cache/bench-profiles),
 *        BENCH_STATEMENTS=1 (pgbench's per-statement latencies on stderr),
 *        BENCH_LEDGER_SERVICE=/abs/path/to/service.ts (another build of the ledger, for before/after), PGBENCH
 *
 * The floor runs with `-M extended` (unnamed statements, parsed and planned every time), which is
 * what node-postgres sends; `-M prepared` would give the floor an advantage the service cannot have
 * through PgBouncer in transaction mode. Besides throughput and latency, it prints the CPU each
 * process spent per transfer (from /proc): on 2 cores the whole system is CPU-bound, so that is
 * where the time goes. Both services log as in production (LOG_LEVEL info, to /dev/null).
 */
import { execFile, fork, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { Pool } from 'undici';
import { INTERNAL_TOKEN_HEADER, PAYMENT_PROVIDER_SUBJECT, type AppId } from '@wallet/contracts';
import {
  createDatabase,
  createInternalTokenSigner,
  createLogger,
  dropServiceDatabase,
  provisionServiceDatabase,
  runMigrationsFor,
  withDatabase,
  type ServiceDatabase,
} from '@wallet/service-kit';
import { internalKeysFor, testKeyring } from '@wallet/service-testing';
import { service as riskService } from '@wallet/risk';
import { service as ledgerService } from '../../services/wallet-ledger/src/service.ts';
import type { LedgerDatabase } from '../../services/wallet-ledger/src/db/schema.ts';
import { reconcile } from '../../services/wallet-ledger/src/operations/reconcile.ts';

const run = promisify(execFile);
const adminUrl = process.env['TEST_PG_ADMIN_URL'];
if (!adminUrl) {
  process.stderr.write('set TEST_PG_ADMIN_URL (a PostgreSQL superuser URL on loopback)\n');
  process.exit(64);
}
if (!['127.0.0.1', 'localhost', '[::1]'].includes(new URL(adminUrl).hostname))
  throw new Error('the benchmark only runs on loopback');
const SECONDS = Number(process.env['BENCH_SECONDS'] ?? 10);
const WALLETS = Number(process.env['BENCH_WALLETS'] ?? 1000);
const CONCURRENCY = Number(process.env['BENCH_CONCURRENCY'] ?? 32);
const DB_CONNECTIONS = Number(process.env['BENCH_DB_CONNECTIONS'] ?? 4);
const PGBENCH = process.env['PGBENCH'] ?? '/usr/lib/postgresql/15/bin/pgbench';
const CPU_PROF = process.env['BENCH_CPU_PROF'] === '1';
const loadBefore = loadavg();

// Bounded in time: whatever happens, the run ends (and takes its children with it).
const children: ChildProcess[] = [];
const hardStop = setTimeout(
  () => {
    process.stderr.write('benchmark exceeded its time bound; stopping\n');
    for (const child of children) child.kill('SIGKILL');
    process.exit(2);
  },
  (4 * SECONDS + 240) * 1000,
);
hardStop.unref();

interface Result {
  name: string;
  requests: number;
  errors: number;
  tps: number;
  p50: number;
  p95: number;
  p99: number;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

// ---- databases: one per service, owner runs migrations, the service runs as the runtime role
const keyring = await testKeyring();
const silent = createLogger('bench', { level: 'silent' });
async function provision(
  appId: AppId,
  migrations: typeof ledgerService,
): Promise<{ name: string; db: ServiceDatabase }> {
  const name = `bench_${appId.replace(/-/g, '_')}_${randomBytes(4).toString('hex')}`;
  const db = await provisionServiceDatabase(adminUrl!, name, {
    owner: randomBytes(12).toString('hex'),
    app: randomBytes(12).toString('hex'),
  });
  await runMigrationsFor(migrations, db.ownerUrl, silent);
  return { name, db };
}
const ledgerProvisioned = await provision('wallet-ledger', ledgerService);
const riskProvisioned = await provision('risk', riskService as unknown as typeof ledgerService);
const ledgerDb = ledgerProvisioned.db;

// ---- the two services, each in its own process
function startServiceProcess(
  appId: 'wallet-ledger' | 'risk',
  env: Record<string, string>,
): Promise<{ child: ChildProcess; url: string; internalUrl: string }> {
  const keys = internalKeysFor(keyring, appId);
  const child = fork(new URL('./service-process.ts', import.meta.url), {
    // Logs as production writes them (LOG_LEVEL info: one line per request), to nowhere.
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    execArgv: [
      '--import',
      '@wallet/service-kit/telemetry-preload',
      ...(CPU_PROF ? ['--cpu-prof', '--cpu-prof-dir=.cache/bench-profiles'] : []),
    ],
    env: {
      PATH: process.env['PATH'] ?? '',
      NODE_ENV: 'production',
      OTEL_SERVICE_NAME: appId,
      BENCH_SERVICE: appId,
      APP_ENV: 'development',
      LOG_LEVEL: 'info',
      HOST: '127.0.0.1',
      PORT: '0',
      PLATFORM_TRANSPORT: 'embedded',
      INTERNAL_JWT_JWKS: JSON.stringify(keys.jwks),
      INTERNAL_JWT_PRIVATE_JWK: JSON.stringify(keys.privateJwk),
      ...(process.env['BENCH_LEDGER_SERVICE']
        ? { BENCH_LEDGER_SERVICE: process.env['BENCH_LEDGER_SERVICE'] }
        : {}),
      ...env,
    },
  });
  children.push(child);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${appId}: not ready within 60 s`)), 60_000);
    child.once('message', (message: { kind: string; url: string; internalUrl: string }) => {
      clearTimeout(timer);
      resolve({ child, url: message.url, internalUrl: message.internalUrl });
    });
    child.once('exit', (code) => reject(new Error(`${appId} exited with ${code}`)));
  });
}
async function stopServiceProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}

const risk = await startServiceProcess('risk', {
  DATABASE_URL: riskProvisioned.db.appUrl,
  DATABASE_POOL_MAX: '10',
});
const ledger = await startServiceProcess('wallet-ledger', {
  DATABASE_URL: ledgerDb.appUrl,
  DATABASE_POOL_MAX: String(DB_CONNECTIONS),
  SYSTEM_ACCOUNT_SHARDS: '16',
  BENCH_PEERS: JSON.stringify({ risk: risk.url }),
});
for (const { url } of [risk, ledger])
  if (new URL(url).hostname !== '127.0.0.1') throw new Error('the benchmark only targets loopback');

const gateway = await createInternalTokenSigner('api-gateway', keyring['api-gateway'].privateJwk);

// The bench sends thousands of transfers per user within seconds: risk's velocity rules would (rightly)
// challenge them. An admin override raises the velocity limits, through risk's own audited API; every
// rule still runs, and the counters are still read and written per assessment.
{
  const huge = { maxCount: 1_000_000_000, maxSum: { EUR: '1000000000000000000' } };
  const limits = { '10m': huge, '1h': huge, '24h': huge };
  const res = await fetch(`${risk.url}/admin/risk/rules`, {
    method: 'PUT',
    headers: {
      'content-type': 'application/json',
      [INTERNAL_TOKEN_HEADER]: await gateway.sign('risk', {
        sub: 'bench-admin',
        roles: ['admin'],
        acr: 'aal2',
      }),
    },
    body: JSON.stringify({
      overrides: { velocity: { limits: { user: limits, device: limits, ip: limits } } },
      reason: 'ledger benchmark: synthetic bursts',
      expectedVersion: null,
    }),
  });
  if (res.status !== 200) throw new Error(`risk rules override: ${res.status} ${await res.text()}`);
}

const http = new Pool(ledger.url, { connections: CONCURRENCY, pipelining: 1 });

async function call(
  method: 'GET' | 'POST',
  path: string,
  sub: string,
  body?: unknown,
  token?: string,
): Promise<{ status: number; json: Record<string, string> }> {
  const headers: Record<string, string> = {
    [INTERNAL_TOKEN_HEADER]: token ?? (await gateway.sign('wallet-ledger', { sub, roles: ['user'] })),
    'content-type': 'application/json',
    'idempotency-key': randomUUID(),
  };
  const res = await http.request({
    method,
    path,
    headers,
    body: body === undefined ? null : JSON.stringify(body),
  });
  const text = await res.body.text();
  return { status: res.statusCode, json: text ? (JSON.parse(text) as Record<string, string>) : {} };
}

async function metric(name: string): Promise<number> {
  // /metrics is on the internal listener, not the service's API port.
  const text = await (await fetch(`${ledger.internalUrl}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line ? Number(line.slice(name.length + 1)) : 0;
}

async function inBatches<T>(count: number, width: number, fn: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = new Array<T>(count);
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < count) {
        const i = next++;
        out[i] = await fn(i);
      }
    }),
  );
  return out;
}

// Seed: WALLETS funded wallets plus one hot wallet, through the API.
const users = Array.from({ length: WALLETS + 1 }, (_, i) => `bench-user-${i}`);
const wallets = await inBatches(users.length, 16, async (i) => {
  const res = await call('POST', '/wallets', users[i]!, { currency: 'EUR' });
  if (res.status !== 201) throw new Error(`open wallet ${res.status}`);
  const funded = await call('POST', '/webhooks/payments', PAYMENT_PROVIDER_SUBJECT, {
    id: `seed-${i}`,
    type: 'payment.succeeded',
    data: {
      walletId: res.json['walletId'],
      amount: i === 0 ? '1000000000000' : '1000000000',
      currency: 'EUR',
    },
  });
  if (funded.status !== 200) throw new Error(`seed deposit ${funded.status}`);
  return res.json['walletId']!;
});

/** CPU seconds (user + system) used so far by a process, from /proc (Linux); 0 elsewhere. */
function cpuSeconds(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (USER_HZ = 100)
  } catch {
    return 0;
  }
}
/**
 * CPU seconds of the PostgreSQL processes on this machine: those serving `database` (a backend's
 * process title names its database), or all of them (walwriter, checkpointer, ... included).
 */
function postgresCpuSeconds(database?: string): number {
  let total = 0;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/comm`, 'utf8').trim() !== 'postgres') continue;
      if (database && !readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(` ${database} `)) continue;
      total += cpuSeconds(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return total;
}
/** CPU seconds the whole machine spent busy (all processes, including ones that exited meanwhile). */
function machineCpuSeconds(): number {
  const [, user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0] = readFileSync('/proc/stat', 'utf8')
    .split('\n')[0]!
    .trim()
    .split(/\s+/)
    .map(Number);
  return (user + nice + system + irq + softirq) / 100;
}
function cpuSnapshot(): Record<string, number> {
  return {
    machine: machineCpuSeconds(),
    ledger: cpuSeconds(ledger.child.pid!),
    risk: cpuSeconds(risk.child.pid!),
    loadGenerator: cpuSeconds(process.pid),
    postgresLedgerDb: postgresCpuSeconds(ledgerDb.database),
    postgresRiskDb: postgresCpuSeconds(riskProvisioned.db.database),
    postgres: postgresCpuSeconds(),
  };
}
/** Per scenario: CPU milliseconds per request, by process (where the 2 cores went). */
const cpuPerRequest: Record<string, Record<string, number>> = {};

const statuses: Record<string, Record<number, number>> = {};
const failOpen: Record<string, number> = {};

async function httpScenario(name: string, pickFrom: () => number): Promise<Result> {
  const tokens = await Promise.all(
    users.map((sub) => gateway.sign('wallet-ledger', { sub, roles: ['user'] })),
  );
  const failOpenBefore = await metric('ledger_risk_fail_open_total');
  const latencies: number[] = [];
  const seen: Record<number, number> = {};
  let errors = 0;
  const cpuBefore = cpuSnapshot();
  const deadline = performance.now() + SECONDS * 1000;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (performance.now() < deadline) {
        const from = pickFrom();
        let to = 1 + Math.floor(Math.random() * WALLETS);
        if (to === from) to = to === WALLETS ? 1 : to + 1;
        const t0 = performance.now();
        const res = await call(
          'POST',
          '/transfers',
          users[from]!,
          { fromWalletId: wallets[from], toWalletId: wallets[to], amount: '1', currency: 'EUR' },
          tokens[from],
        );
        latencies.push(performance.now() - t0);
        seen[res.status] = (seen[res.status] ?? 0) + 1;
        if (res.status !== 201) errors += 1;
      }
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  const cpuAfter = cpuSnapshot();
  cpuPerRequest[name] = Object.fromEntries(
    Object.entries(cpuAfter).map(([k, v]) => [
      k,
      +(((v - (cpuBefore[k] ?? 0)) * 1000) / Math.max(1, latencies.length)).toFixed(2),
    ]),
  );
  statuses[name] = seen;
  failOpen[name] = (await metric('ledger_risk_fail_open_total')) - failOpenBefore;
  latencies.sort((a, b) => a - b);
  return {
    name,
    requests: latencies.length,
    errors,
    tps: latencies.length / elapsed,
    p50: percentile(latencies, 50),
    p95: percentile(latencies, 95),
    p99: percentile(latencies, 99),
  };
}

const manyHttp = await httpScenario('http: many wallets', () => 1 + Math.floor(Math.random() * WALLETS));
const hotHttp = await httpScenario('http: one hot wallet', () => 0);
await http.close();
await stopServiceProcess(ledger.child);
await stopServiceProcess(risk.child);

// The raw-SQL floor: the same statements, in the same order, on the same database and role.
const su = new pg.Client({ connectionString: withDatabase(adminUrl, ledgerDb.database) });
await su.connect();
await su.query('CREATE TABLE bench_wallets (n int PRIMARY KEY, id uuid NOT NULL)');
await su.query(
  'INSERT INTO bench_wallets SELECT n - 1, id FROM unnest($1::uuid[]) WITH ORDINALITY AS w (id, n)',
  [wallets],
);
await su.query(`GRANT SELECT ON bench_wallets TO "${ledgerDb.appRole}"`);
await su.end();

function pgbenchScript(fromExpr: string): string {
  // Per transfer, what the service sends (three round trips): claim the key; read both wallets (one
  // query); post the transfer with `ledger_transfer` (migration 0004: the transaction row, the stored
  // answer, both legs with their entries and hash chain, the outbox row, in the statement's own
  // transaction). One `\gset` helper query picks the wallet ids. pgbench reads `:name` anywhere as a
  // variable, so no literal below may hold a colon before a letter (such JSON is built, not written).
  return `
\\set f ${fromExpr}
\\set t random(1, ${WALLETS})
SELECT fid, tid, gen_random_uuid() AS k, gen_random_uuid() AS lease, gen_random_uuid() AS tx FROM (SELECT (SELECT id FROM bench_wallets WHERE n = :f) AS fid, (SELECT id FROM bench_wallets WHERE n = CASE WHEN :t = :f THEN (:t % ${WALLETS}) + 1 ELSE :t END) AS tid) AS w \\gset
INSERT INTO idempotency_keys (scope, key, request_hash, status, lease_token, locked_until) VALUES ('bench', :k::text, 'fingerprint', 'in_flight', :lease::uuid, now() + 60 * interval '1 second') ON CONFLICT (scope, key) DO NOTHING RETURNING lease_token;
SELECT id, owner_id, currency, balance, held, status, created_at FROM accounts WHERE id IN (:fid::uuid, :tid::uuid) AND type = 'user_wallet';
SELECT answer, created_at FROM ledger_transfer(:tx::uuid, :fid::uuid, :tid::uuid, 'EUR', '1'::numeric, NULL, 'bench', 'a', jsonb_build_object('assessmentId', 'a', 'decision', 'allow', 'score', 1, 'failOpen', false, 'steppedUp', false), 'bench', :k::text, :lease::uuid, '{"transferId":"' || :tx::text || '","status":"completed","fromWalletId":"' || :fid::text || '","toWalletId":"' || :tid::text || '","amount":"1","currency":"EUR","description":' || 'null', 'ledger.transfer.completed', 'wallet.ledger.transfer.completed.v1', 'wallet-ledger', jsonb_build_object('transferId', :tx::text, 'fromWalletId', :fid::text, 'toWalletId', :tid::text, 'amount', '1', 'currency', 'EUR', 'deviceId', NULL, 'ip', NULL), NULL, '1000'::numeric, 'ledger.balance.low', 'wallet.ledger.balance.low.v1', 'wallet-ledger');
`;
}

const dir = await mkdtemp(join(tmpdir(), 'ledger-bench-'));
async function pgbenchScenario(name: string, fromExpr: string): Promise<Result> {
  const file = join(dir, `${name.replace(/\W+/g, '_')}.sql`);
  await writeFile(file, pgbenchScript(fromExpr));
  const logPrefix = join(dir, name.replace(/\W+/g, '_'));
  const machineBefore = machineCpuSeconds();
  const { stdout } = await run(
    PGBENCH,
    [
      '-n',
      '-M',
      'extended',
      '-c',
      String(DB_CONNECTIONS),
      '-j',
      String(Math.min(2, DB_CONNECTIONS)),
      '-T',
      String(SECONDS),
      ...(process.env['BENCH_STATEMENTS'] === '1' ? ['-r'] : []),
      '-f',
      file,
      '-l',
      '--log-prefix',
      logPrefix,
      ledgerDb.appUrl,
    ],
    { maxBuffer: 64 * 1024 * 1024, timeout: (SECONDS + 60) * 1000 },
  );
  const processed = Number(/number of transactions actually processed: (\d+)/.exec(stdout)?.[1] ?? 0);
  const failed = Number(/number of failed transactions: (\d+)/.exec(stdout)?.[1] ?? 0);
  const tps = Number(/tps = ([\d.]+)/.exec(stdout)?.[1] ?? 0);
  const { stdout: logs } = await run('sh', ['-c', `cat ${logPrefix}.* | awk '{print $3}'`], {
    maxBuffer: 256 * 1024 * 1024,
  });
  const latencies = logs
    .split('\n')
    .filter(Boolean)
    .map((us) => Number(us) / 1000)
    .filter((ms) => Number.isFinite(ms))
    .sort((a, b) => a - b);
  // PostgreSQL backends exit with pgbench (their CPU leaves /proc): machine-wide CPU, pgbench included.
  cpuPerRequest[name] = {
    machine: +(((machineCpuSeconds() - machineBefore) * 1000) / Math.max(1, processed)).toFixed(2),
  };
  if (process.env['BENCH_STATEMENTS'] === '1')
    process.stderr.write(
      `${name}: per-statement latency\n${stdout.slice(stdout.indexOf('statement latencies'))}\n`,
    );
  return {
    name,
    requests: processed,
    errors: failed,
    tps,
    p50: percentile(latencies, 50),
    p95: percentile(latencies, 95),
    p99: percentile(latencies, 99),
  };
}

const manySql = await pgbenchScenario('pgbench: many wallets', `random(1, ${WALLETS})`);
const hotSql = await pgbenchScenario('pgbench: one hot wallet', '0');

const books = createDatabase<LedgerDatabase>({ url: ledgerDb.appUrl, poolMax: 2 });
const reconciled = await reconcile(books.db);
await books.close();
await rm(dir, { recursive: true, force: true });
await dropServiceDatabase(adminUrl, ledgerProvisioned.name);
await dropServiceDatabase(adminUrl, riskProvisioned.name);

const results = [manyHttp, hotHttp, manySql, hotSql];
const summary = {
  bench: 'ledger-transfers',
  processes:
    'wallet-ledger + risk each in its own Node process (embedded transport, loopback HTTP); load generator here',
  seconds: SECONDS,
  wallets: WALLETS,
  httpConcurrency: CONCURRENCY,
  dbConnections: DB_CONNECTIONS,
  cores: availableParallelism(),
  cpu: cpus()[0]?.model ?? 'unknown',
  node: process.version,
  loadAverageBefore: +(loadBefore[0] ?? 0).toFixed(2),
  loadAverageAfter: +(loadavg()[0] ?? 0).toFixed(2),
  results: results.map((r) => ({
    ...r,
    tps: Math.round(r.tps),
    p50: +r.p50.toFixed(2),
    p95: +r.p95.toFixed(2),
    p99: +r.p99.toFixed(2),
  })),
  httpStatuses: statuses,
  riskFailOpen: failOpen,
  cpuMsPerTransfer: cpuPerRequest,
  ratioManyWallets: +(manyHttp.tps / manySql.tps).toFixed(3),
  ratioHotWallet: +(hotHttp.tps / hotSql.tps).toFixed(3),
  reconcileOk: reconciled.ok,
};
process.stdout.write(`${JSON.stringify(summary)}\n\n`);
const pad = (s: string, n: number) => s.padEnd(n);
process.stdout.write(
  `${pad('scenario', 26)}${pad('requests', 10)}${pad('errors', 8)}${pad('tps', 8)}${pad('p50 ms', 9)}${pad('p95 ms', 9)}p99 ms\n`,
);
for (const r of summary.results) {
  process.stdout.write(
    `${pad(r.name, 26)}${pad(String(r.requests), 10)}${pad(String(r.errors), 8)}${pad(String(r.tps), 8)}${pad(String(r.p50), 9)}${pad(String(r.p95), 9)}${r.p99}\n`,
  );
}
for (const [name, cpu] of Object.entries(cpuPerRequest)) {
  process.stdout.write(
    `CPU ms per transfer, ${name}: ${Object.entries(cpu)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}\n`,
  );
}
process.stdout.write(
  `\nservice/SQL throughput: many wallets ${summary.ratioManyWallets}, hot wallet ${summary.ratioHotWallet}; risk fail-open: ${JSON.stringify(failOpen)}; ` +
    `reconcile after the run: ${reconciled.ok ? 'ok' : 'FAILED'}; ${summary.cores} cores, load ${summary.loadAverageBefore} -> ${summary.loadAverageAfter}, Node ${summary.node}\n`,
);
clearTimeout(hardStop);
