/**
 * Ledger benchmark (not a test): transfers per second and latency at wallet-ledger's HTTP API, over
 * many wallets and with one hot wallet, then the raw-SQL floor: pgbench running the statements the
 * service runs per transfer, on the same PostgreSQL, same database, same runtime role. Prints one
 * JSON line and a table, with the ratio service/SQL.
 *
 *   TEST_PG_ADMIN_URL=postgres://postgres@127.0.0.1:54329/postgres node bench/ledger/run.ts
 *   env: BENCH_SECONDS (10), BENCH_WALLETS (1000), BENCH_CONCURRENCY (32), BENCH_DB_CONNECTIONS (16), PGBENCH
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { availableParallelism, cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { Pool } from 'undici';
import { INTERNAL_TOKEN_HEADER, PAYMENT_PROVIDER_SUBJECT } from '@wallet/contracts';
import { createInternalTokenSigner, withDatabase } from '@wallet/service-kit';
import { startTestService } from '@wallet/service-testing';
import { service } from '../../services/wallet-ledger/src/service.ts';
import { reconcile } from '../../services/wallet-ledger/src/operations/reconcile.ts';

const run = promisify(execFile);
const adminUrl = process.env['TEST_PG_ADMIN_URL'];
if (!adminUrl) {
  process.stderr.write('set TEST_PG_ADMIN_URL (a PostgreSQL superuser URL on loopback)\n');
  process.exit(64);
}
const SECONDS = Number(process.env['BENCH_SECONDS'] ?? 10);
const WALLETS = Number(process.env['BENCH_WALLETS'] ?? 1000);
const CONCURRENCY = Number(process.env['BENCH_CONCURRENCY'] ?? 32);
const DB_CONNECTIONS = Number(process.env['BENCH_DB_CONNECTIONS'] ?? 16);
const PGBENCH = process.env['PGBENCH'] ?? '/usr/lib/postgresql/15/bin/pgbench';

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

// A risk service that always allows, answering at once: the HTTP figures include the risk round trip.
const risk = createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ assessmentId: randomUUID(), decision: 'allow', score: 1, reasons: [] }));
  });
});
await new Promise<void>((resolve) => risk.listen(0, '127.0.0.1', resolve));

const svc = await startTestService(service, {
  adminUrl,
  env: { DATABASE_POOL_MAX: String(DB_CONNECTIONS), LOG_LEVEL: 'silent', SYSTEM_ACCOUNT_SHARDS: '16', OUTBOX_POLL_INTERVAL_MS: '100' },
});
svc.bus.registerApp('risk', `http://127.0.0.1:${(risk.address() as AddressInfo).port}`);
const http = new Pool(svc.url, { connections: CONCURRENCY, pipelining: 1 });
const gateway = await createInternalTokenSigner('api-gateway', svc.keyring['api-gateway'].privateJwk);

async function call(method: 'GET' | 'POST', path: string, sub: string, body?: unknown, token?: string): Promise<{ status: number; json: Record<string, string> }> {
  const headers: Record<string, string> = {
    [INTERNAL_TOKEN_HEADER]: token ?? (await gateway.sign('wallet-ledger', { sub, roles: ['user'] })),
    'content-type': 'application/json',
    'idempotency-key': randomUUID(),
  };
  const res = await http.request({ method, path, headers, body: body === undefined ? null : JSON.stringify(body) });
  const text = await res.body.text();
  return { status: res.statusCode, json: text ? (JSON.parse(text) as Record<string, string>) : {} };
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
    data: { walletId: res.json['walletId'], amount: i === 0 ? '1000000000000' : '1000000000', currency: 'EUR' },
  });
  if (funded.status !== 200) throw new Error(`seed deposit ${funded.status}`);
  return res.json['walletId']!;
});

async function httpScenario(name: string, pickFrom: () => number): Promise<Result> {
  const tokens = await Promise.all(users.map((sub) => gateway.sign('wallet-ledger', { sub, roles: ['user'] })));
  const latencies: number[] = [];
  let errors = 0;
  const deadline = performance.now() + SECONDS * 1000;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (performance.now() < deadline) {
        const from = pickFrom();
        let to = 1 + Math.floor(Math.random() * WALLETS);
        if (to === from) to = to === WALLETS ? 1 : to + 1;
        const t0 = performance.now();
        const res = await call('POST', '/transfers', users[from]!, { fromWalletId: wallets[from], toWalletId: wallets[to], amount: '1', currency: 'EUR' }, tokens[from]);
        latencies.push(performance.now() - t0);
        if (res.status !== 201) errors += 1;
      }
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  return { name, requests: latencies.length, errors, tps: latencies.length / elapsed, p50: percentile(latencies, 50), p95: percentile(latencies, 95), p99: percentile(latencies, 99) };
}

const manyHttp = await httpScenario('http: many wallets', () => 1 + Math.floor(Math.random() * WALLETS));
const hotHttp = await httpScenario('http: one hot wallet', () => 0);

// The raw-SQL floor: the same statements, in the same order, on the same database and role.
const su = new pg.Client({ connectionString: withDatabase(adminUrl, svc.database.database) });
await su.connect();
await su.query('CREATE TABLE bench_wallets (n int PRIMARY KEY, id uuid NOT NULL)');
await su.query('INSERT INTO bench_wallets SELECT n - 1, id FROM unnest($1::uuid[]) WITH ORDINALITY AS w (id, n)', [wallets]);
await su.query(`GRANT SELECT ON bench_wallets TO "${svc.database.appRole}"`);
await su.end();

function pgbenchScript(fromExpr: string): string {
  return `
\\set f ${fromExpr}
\\set t random(1, ${WALLETS})
SELECT (SELECT id FROM bench_wallets WHERE n = :f) AS fid, (SELECT id FROM bench_wallets WHERE n = CASE WHEN :t = :f THEN (:t % ${WALLETS}) + 1 ELSE :t END) AS tid, gen_random_uuid() AS k, gen_random_uuid() AS lease, gen_random_uuid() AS tx \\gset
INSERT INTO idempotency_keys (scope, key, request_hash, status, lease_token, locked_until) VALUES ('bench', :k::text, 'fingerprint', 'in_flight', :lease::uuid, now() + 60 * interval '1 second') ON CONFLICT (scope, key) DO NOTHING RETURNING lease_token;
SELECT id, owner_id, currency, balance, held, status, created_at FROM accounts WHERE id = :fid::uuid AND type = 'user_wallet';
SELECT id, owner_id, currency, balance, held, status, created_at FROM accounts WHERE id = :tid::uuid AND type = 'user_wallet';
SELECT least(:fid::uuid, :tid::uuid) AS a1, greatest(:fid::uuid, :tid::uuid) AS a2, CASE WHEN :fid::uuid < :tid::uuid THEN '-1' ELSE '1' END AS m1, CASE WHEN :fid::uuid < :tid::uuid THEN '1' ELSE '-1' END AS m2 \\gset
BEGIN;
INSERT INTO transactions (id, kind, currency, amount, from_account_id, to_account_id, initiated_by, description, risk_assessment_id, risk) VALUES (:tx::uuid, 'transfer', 'EUR', '1', :fid::uuid, :tid::uuid, 'bench', NULL, 'a', jsonb_build_object('assessmentId', 'a', 'decision', 'allow', 'score', 1, 'failOpen', false, 'steppedUp', false)) RETURNING created_at;
UPDATE accounts SET balance = balance + :m1::numeric, held = held - '0'::numeric, version = version + 1, last_hash = ledger_entry_hash(last_hash, id, version + 1, :tx::uuid, :m1::numeric, currency, balance + :m1::numeric) WHERE id = :a1::uuid AND currency = 'EUR' AND status = 'active' AND held >= '0'::numeric AND (allow_negative OR balance + :m1::numeric - (held - '0'::numeric) >= 0) RETURNING owner_id, type, balance::text AS b1, held::text AS held, version AS v1, encode(last_hash, 'hex') AS h1 \\gset
UPDATE accounts SET balance = balance + :m2::numeric, held = held - '0'::numeric, version = version + 1, last_hash = ledger_entry_hash(last_hash, id, version + 1, :tx::uuid, :m2::numeric, currency, balance + :m2::numeric) WHERE id = :a2::uuid AND currency = 'EUR' AND status = 'active' AND held >= '0'::numeric AND (allow_negative OR balance + :m2::numeric - (held - '0'::numeric) >= 0) RETURNING owner_id, type, balance::text AS b2, held::text AS held, version AS v2, encode(last_hash, 'hex') AS h2 \\gset
INSERT INTO entries (transaction_id, account_id, currency, amount, balance_after, account_version, hash) VALUES (:tx::uuid, :a1::uuid, 'EUR', :m1::numeric, :b1::numeric, :v1::bigint, decode(:h1::text, 'hex')), (:tx::uuid, :a2::uuid, 'EUR', :m2::numeric, :b2::numeric, :v2::bigint, decode(:h2::text, 'hex'));
INSERT INTO outbox (id, topic, event_type, source, payload, partition_key, traceparent) VALUES (gen_random_uuid(), 'ledger.transfer.completed', 'wallet.ledger.transfer.completed.v1', 'wallet-ledger', jsonb_build_object('transferId', :tx::text, 'fromWalletId', :fid::text, 'toWalletId', :tid::text, 'amount', '1', 'currency', 'EUR'), :fid::text, NULL);
UPDATE idempotency_keys SET status = 'completed', response_status = 201, response_body = '{"transferId":"' || :tx::text || '","status":"completed"}', completed_at = now() WHERE scope = 'bench' AND key = :k::text AND status = 'in_flight' AND lease_token = :lease::uuid;
COMMIT;
`;
}

const dir = await mkdtemp(join(tmpdir(), 'ledger-bench-'));
async function pgbenchScenario(name: string, fromExpr: string): Promise<Result> {
  const file = join(dir, `${name.replace(/\W+/g, '_')}.sql`);
  await writeFile(file, pgbenchScript(fromExpr));
  const logPrefix = join(dir, name.replace(/\W+/g, '_'));
  const { stdout } = await run(
    PGBENCH,
    ['-n', '-M', 'prepared', '-c', String(DB_CONNECTIONS), '-j', String(Math.min(2, DB_CONNECTIONS)), '-T', String(SECONDS), '-f', file, '-l', '--log-prefix', logPrefix, svc.database.appUrl],
    { maxBuffer: 64 * 1024 * 1024, timeout: (SECONDS + 60) * 1000 },
  );
  const processed = Number(/number of transactions actually processed: (\d+)/.exec(stdout)?.[1] ?? 0);
  const failed = Number(/number of failed transactions: (\d+)/.exec(stdout)?.[1] ?? 0);
  const tps = Number(/tps = ([\d.]+)/.exec(stdout)?.[1] ?? 0);
  const { stdout: logs } = await run('sh', ['-c', `cat ${logPrefix}.* | awk '{print $3}'`], { maxBuffer: 256 * 1024 * 1024 });
  const latencies = logs.split('\n').filter(Boolean).map((us) => Number(us) / 1000).filter((ms) => Number.isFinite(ms)).sort((a, b) => a - b);
  return { name, requests: processed, errors: failed, tps, p50: percentile(latencies, 50), p95: percentile(latencies, 95), p99: percentile(latencies, 99) };
}

const manySql = await pgbenchScenario('pgbench: many wallets', `random(1, ${WALLETS})`);
const hotSql = await pgbenchScenario('pgbench: one hot wallet', '0');

const books = await reconcile(svc.db);
await http.close();
await svc.stop();
await new Promise<void>((resolve) => risk.close(() => resolve()));
await rm(dir, { recursive: true, force: true });

const results = [manyHttp, hotHttp, manySql, hotSql];
const summary = {
  bench: 'ledger-transfers',
  seconds: SECONDS,
  wallets: WALLETS,
  httpConcurrency: CONCURRENCY,
  dbConnections: DB_CONNECTIONS,
  cores: availableParallelism(),
  cpu: cpus()[0]?.model ?? 'unknown',
  node: process.version,
  results: results.map((r) => ({ ...r, tps: Math.round(r.tps), p50: +r.p50.toFixed(2), p95: +r.p95.toFixed(2), p99: +r.p99.toFixed(2) })),
  ratioManyWallets: +(manyHttp.tps / manySql.tps).toFixed(3),
  ratioHotWallet: +(hotHttp.tps / hotSql.tps).toFixed(3),
  reconcileOk: books.ok,
};
process.stdout.write(`${JSON.stringify(summary)}\n\n`);
const pad = (s: string, n: number) => s.padEnd(n);
process.stdout.write(`${pad('scenario', 26)}${pad('requests', 10)}${pad('errors', 8)}${pad('tps', 8)}${pad('p50 ms', 9)}${pad('p95 ms', 9)}p99 ms\n`);
for (const r of summary.results) {
  process.stdout.write(`${pad(r.name, 26)}${pad(String(r.requests), 10)}${pad(String(r.errors), 8)}${pad(String(r.tps), 8)}${pad(String(r.p50), 9)}${pad(String(r.p95), 9)}${r.p99}\n`);
}
process.stdout.write(
  `\nservice/SQL throughput: many wallets ${summary.ratioManyWallets}, hot wallet ${summary.ratioHotWallet}; reconcile after the run: ${books.ok ? 'ok' : 'FAILED'}; ${summary.cores} cores, Node ${summary.node}\n`,
);
