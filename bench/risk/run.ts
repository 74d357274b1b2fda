/**
 * Benchmark: POST /assessments for warm users (profiles seeded, counters live), closed loop over
 * keep-alive loopback connections, the service in its own process. Prints one JSON line and a table.
 *
 *   TEST_PG_ADMIN_URL=postgres://wallet_admin:dev_admin@127.0.0.1:15432/postgres node bench/risk/run.ts [--runs 5 --duration 10 --connections 4]
 */
import { fork, type ChildProcess } from 'node:child_process';
import { Agent, request } from 'node:http';
import { availableParallelism, cpus, loadavg } from 'node:os';
import { createHistogram } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { randomUUID } from 'node:crypto';
import { INTERNAL_TOKEN_HEADER } from '@wallet/contracts';
import { createInternalTokenSigner, type PrivateSigningJwk } from '@wallet/service-kit';

const { values: args } = parseArgs({
  options: {
    runs: { type: 'string', default: '5' },
    duration: { type: 'string', default: '8' },
    warmup: { type: 'string', default: '3' },
    connections: { type: 'string', default: '2' },
    users: { type: 'string', default: '20000' },
  },
});
const RUNS = Number(args.runs);
const DURATION_MS = Number(args.duration) * 1000;
const WARMUP_MS = Number(args.warmup) * 1000;
const CONNECTIONS = Number(args.connections);
const USERS = Number(args.users);
// Tokens live 60 s; each run mints fresh ones, so a run must stay well inside that.
if (DURATION_MS > 45_000) throw new Error('--duration must be at most 45 seconds');

type FromChild =
  | { kind: 'ready'; url: string; internalUrl: string; ledgerKey: PrivateSigningJwk }
  | { kind: 'seeded' }
  | { kind: 'error'; error: string };

function nextMessage(child: ChildProcess, kind: FromChild['kind'], timeoutMs: number): Promise<FromChild> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server: no ${kind} within ${timeoutMs} ms`)), timeoutMs);
    const onMessage = (message: FromChild) => {
      if (message.kind === 'error') reject(new Error(message.error));
      if (message.kind !== kind) return;
      clearTimeout(timer);
      child.off('message', onMessage);
      resolve(message);
    };
    child.on('message', onMessage);
    child.once('exit', (code) => reject(new Error(`server exited with ${code}`)));
  });
}

// BENCH_CPU_PROF=1 writes a V8 CPU profile of the service process (into the working directory).
const child = fork(new URL('./server.ts', import.meta.url), {
  stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  execArgv: process.env['BENCH_CPU_PROF'] ? ['--cpu-prof', '--cpu-prof-dir=.cache/bench-profiles'] : [],
});
const hardStop = setTimeout(
  () => {
    process.stderr.write('benchmark exceeded its time bound; stopping\n');
    child.kill('SIGKILL');
    process.exit(2);
  },
  60_000 + RUNS * (DURATION_MS + 5_000) + WARMUP_MS,
);

const ready = (await nextMessage(child, 'ready', 60_000)) as Extract<FromChild, { kind: 'ready' }>;
const target = new URL(ready.url);
/** `/metrics` is served on the internal listener. */
const internalTarget = new URL(ready.internalUrl);
if (target.hostname !== '127.0.0.1') throw new Error('the benchmark only targets loopback');
const users = Array.from({ length: USERS }, () => randomUUID());
child.send({ kind: 'seed', users });
await nextMessage(child, 'seeded', 120_000);

const signer = await createInternalTokenSigner('wallet-ledger', ready.ledgerKey);
const agent = new Agent({ keepAlive: true, maxSockets: CONNECTIONS });

/** One address per user: a shared address would (rightly) trip the per-IP velocity limits. */
function ipOf(i: number): string {
  return `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
}

async function mintTokens(): Promise<string[]> {
  return Promise.all(
    users.map((u, i) => signer.sign('risk', { sub: u, acr: 'aal1', deviceId: `d-${u}`, ip: ipOf(i) })),
  );
}

function post(body: string, token: string): Promise<{ status: number; decision: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        agent,
        host: target.hostname,
        port: target.port,
        path: '/assessments',
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
          [INTERNAL_TOKEN_HEADER]: token,
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          let decision = 'error';
          if (res.statusCode === 200)
            decision = (JSON.parse(Buffer.concat(chunks).toString()) as { decision: string }).decision;
          resolve({ status: res.statusCode ?? 0, decision });
        });
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** Cumulative histogram buckets (le -> count) of one metric series, scraped from the service's /metrics. */
async function scrapeBuckets(metric: string, match: string): Promise<Map<number, number>> {
  const text = await new Promise<string>((resolve, reject) => {
    request({ host: internalTarget.hostname, port: internalTarget.port, path: '/metrics' }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve(Buffer.concat(chunks).toString()));
    })
      .on('error', reject)
      .end();
  });
  const buckets = new Map<number, number>();
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${metric}_bucket{`) || !line.includes(match)) continue;
    const le = /le="([^"]+)"/.exec(line)?.[1];
    const value = Number(line.slice(line.lastIndexOf(' ') + 1));
    if (le === undefined) continue;
    const bound = le === '+Inf' ? Infinity : Number(le);
    buckets.set(bound, (buckets.get(bound) ?? 0) + value);
  }
  return buckets;
}

/** Upper bound (ms) of the bucket holding the 99th percentile of what was observed between two scrapes. */
function p99UpperBoundMs(before: Map<number, number>, after: Map<number, number>): number {
  const bounds = [...after.keys()].sort((a, b) => a - b);
  const total = (after.get(Infinity) ?? 0) - (before.get(Infinity) ?? 0);
  for (const bound of bounds) {
    if ((after.get(bound) ?? 0) - (before.get(bound) ?? 0) >= 0.99 * total) return bound * 1000;
  }
  return Infinity;
}

const HTTP_SERIES = ['http_request_duration_seconds', 'route="/assessments"'] as const;
const SCORING_SERIES = ['risk_assessment_duration_seconds', 'action="transfer"'] as const;

interface RunResult {
  requests: number;
  errors: number;
  throughputPerSec: number;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
  maxMs: number;
  /** Inside the service (its own histograms): the whole HTTP exchange, and the assessment alone. */
  serviceHttpP99LeMs: number;
  serviceAssessP99LeMs: number;
  decisions: Record<string, number>;
}

async function runFor(durationMs: number, tokens: string[]): Promise<RunResult> {
  const histogram = createHistogram();
  const decisions: Record<string, number> = {};
  let requests = 0;
  let errors = 0;
  let next = 0;
  const httpBefore = await scrapeBuckets(...HTTP_SERIES);
  const scoringBefore = await scrapeBuckets(...SCORING_SERIES);
  const started = performance.now();
  const deadline = started + durationMs;
  const loop = async () => {
    while (performance.now() < deadline) {
      const i = next++ % users.length;
      const u = users[i]!;
      const body = JSON.stringify({
        userId: u,
        action: 'transfer',
        amount: String(1000 + (i % 2000)),
        currency: 'EUR',
        counterparty: `w-${u}-friend`,
        sessionId: null,
        deviceId: `d-${u}`,
        ip: ipOf(i),
      });
      const t0 = process.hrtime.bigint();
      try {
        const res = await post(body, tokens[i]!);
        histogram.record(process.hrtime.bigint() - t0);
        if (res.status !== 200) errors += 1;
        decisions[res.decision] = (decisions[res.decision] ?? 0) + 1;
      } catch {
        errors += 1;
      }
      requests += 1;
    }
  };
  await Promise.all(Array.from({ length: CONNECTIONS }, loop));
  const seconds = (performance.now() - started) / 1000;
  const httpAfter = await scrapeBuckets(...HTTP_SERIES);
  const scoringAfter = await scrapeBuckets(...SCORING_SERIES);
  const ms = (ns: number) => Math.round((ns / 1e6) * 1000) / 1000;
  return {
    requests,
    errors,
    throughputPerSec: Math.round(requests / seconds),
    p50Ms: ms(histogram.percentile(50)),
    p95Ms: ms(histogram.percentile(95)),
    p99Ms: ms(histogram.percentile(99)),
    maxMs: ms(histogram.max),
    serviceHttpP99LeMs: p99UpperBoundMs(httpBefore, httpAfter),
    serviceAssessP99LeMs: p99UpperBoundMs(scoringBefore, scoringAfter),
    decisions,
  };
}

await runFor(WARMUP_MS, await mintTokens());
const results: RunResult[] = [];
for (let r = 0; r < RUNS; r += 1) results.push(await runFor(DURATION_MS, await mintTokens()));

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}
const sortedP99 = results.map((r) => r.p99Ms).sort((a, b) => a - b);
const summary = {
  benchmark: 'risk.assessments',
  node: process.version,
  cores: availableParallelism(),
  cpu: cpus()[0]?.model ?? 'unknown',
  connections: CONNECTIONS,
  users: USERS,
  durationSec: DURATION_MS / 1000,
  runs: results,
  medianP99Ms: sortedP99[Math.floor(sortedP99.length / 2)],
  medianServiceHttpP99LeMs: median(results.map((r) => r.serviceHttpP99LeMs)),
  loadAverage1m: loadavg()[0] ?? 0,
  targetP99Ms: 10,
};
process.stdout.write(`${JSON.stringify(summary)}\n\n`);
const header = [
  'run',
  'req/s',
  'p50 ms',
  'p95 ms',
  'p99 ms',
  'max ms',
  'svc http p99 <=',
  'svc assess p99 <=',
  'errors',
  'decisions',
];
const rows = results.map((r, i) => [
  String(i + 1),
  String(r.throughputPerSec),
  r.p50Ms.toFixed(2),
  r.p95Ms.toFixed(2),
  r.p99Ms.toFixed(2),
  r.maxMs.toFixed(2),
  `${r.serviceHttpP99LeMs} ms`,
  `${r.serviceAssessP99LeMs} ms`,
  String(r.errors),
  Object.entries(r.decisions)
    .map(([k, v]) => `${k}:${v}`)
    .join(' '),
]);
const widths = header.map((h, c) => Math.max(h.length, ...rows.map((row) => row[c]!.length)));
const line = (cells: string[]) => cells.map((cell, c) => cell.padEnd(widths[c]!)).join('  ');
process.stdout.write(`${line(header)}\n${rows.map(line).join('\n')}\n`);
process.stdout.write(
  `median p99 ${summary.medianP99Ms} ms at the client, <= ${summary.medianServiceHttpP99LeMs} ms inside the service (target < 10 ms) · ` +
    `${summary.cores} cores · load ${summary.loadAverage1m.toFixed(1)} · Node ${summary.node} · ${CONNECTIONS} connections\n`,
);

agent.destroy();
child.send({ kind: 'stop' });
await new Promise((resolve) => child.once('exit', resolve));
clearTimeout(hardStop);
