/**
 * The whole-system soak (issue 16): the platform in Dapr mode (five services beside five real daprd,
 * mTLS, RabbitMQ or Kafka, Redis, PostgreSQL), driven only through the public gateway by people doing
 * what people do, while parts of it fail one at a time; then the invariants, and a report.
 *
 *   npm run soak -- --broker rabbitmq|kafka [--minutes N | --seconds N] [--rate 6] [--people 16]
 *                   [--faults a,b,c] [--out .data/soak/<broker>]
 *
 * Needs the infrastructure up (`infra/local.sh up postgres redis <broker> sentry`). Exits 0 when every
 * check holds, 1 otherwise; with CI_CHECKS_FILE set (scripts/test-all.sh) writes the counts there.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { REPO_ROOT, describeExit, parsePubsub, readInfraEnv, startDaprPlatform } from '@wallet/dapr-harness';
import type { DaprPlatform } from '@wallet/dapr-harness';
import { generateDaprDevSecrets } from '@wallet/embedded-host/secrets';
import { analyseFaults, buckets, isError } from './analysis.ts';
import { ALL_FAULTS, estimatedSeconds, injectFault, parseFault } from './faults.ts';
import { replayDeadLetters } from './dead-letters.ts';
import {
  checkBrokerDeadLetters,
  checkDeliveries,
  checkMoney,
  checkNotifications,
  rabbitDeadLetterQueues,
  reconcile,
  type Check,
} from './invariants.ts';
import { settleWithdrawal, type World } from './people.ts';
import { Recorder, percentile } from './recorder.ts';
import { writeReport } from './report.ts';
import { onboard, workload } from './workload.ts';

const { values } = parseArgs({
  options: {
    broker: { type: 'string', default: process.env['PUBSUB'] ?? 'rabbitmq' },
    minutes: { type: 'string' },
    seconds: { type: 'string' },
    rate: { type: 'string', default: '6' },
    people: { type: 'string', default: '16' },
    'mfa-people': { type: 'string', default: '4' },
    faults: { type: 'string' },
    'recovery-bound': { type: 'string', default: '15' },
    out: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  },
});
if (values.help) {
  process.stdout.write(
    'npm run soak -- --broker rabbitmq|kafka [--minutes N | --seconds N] [--rate 6] [--people 16] [--mfa-people 4]\n' +
      `                [--faults ${ALL_FAULTS.slice(0, 3).join(',')},...] [--recovery-bound 15] [--out dir]\n`,
  );
  process.exit(0);
}

const pubsub = parsePubsub(values.broker);
const loadSeconds = values.seconds ? Number(values.seconds) : Number(values.minutes ?? '10') * 60;
const rate = Number(values.rate);
const peopleCount = Number(values.people);
const mfaPeople = Number(values['mfa-people']);
const recoveryBoundMs = Number(values['recovery-bound']) * 1000;
for (const [name, v] of Object.entries({ loadSeconds, rate, peopleCount, mfaPeople, recoveryBoundMs })) {
  if (!Number.isFinite(v) || v < 0) throw new Error(`--${name}: not a number`);
}
const outDir = values.out ?? join(REPO_ROOT, '.data', 'soak', pubsub);
mkdirSync(outDir, { recursive: true });
const WARMUP_MS = 10_000;
const TAIL_MS = 15_000;

const log = (line: string): void => void process.stdout.write(`[soak ${pubsub}] ${line}\n`);
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** The faults of this run: those named, or as many of ALL_FAULTS as fit, spread over the load. */
function faultPlan(): { faults: string[]; gapMs: number } {
  const budget = loadSeconds * 1000 - WARMUP_MS - TAIL_MS;
  const wanted = values.faults ? values.faults.split(',').map((f) => parseFault(f.trim())) : [...ALL_FAULTS];
  const chosen: string[] = [];
  let used = 0;
  for (const f of wanted) {
    const cost = (estimatedSeconds(f, pubsub) + 5) * 1000;
    if (!values.faults && used + cost > budget) break;
    chosen.push(f);
    used += cost;
  }
  const gapMs = chosen.length === 0 ? 0 : Math.max(5_000, 5_000 + (budget - used) / chosen.length);
  return { faults: chosen, gapMs };
}

async function main(): Promise<number> {
  const infra = readInfraEnv();
  for (const name of [
    'DAPRD_BIN',
    'SENTRY_ADDRESS',
    pubsub === 'kafka' ? 'KAFKA_BROKERS' : 'RABBITMQ_URL',
    'PG_LEDGER_URL',
  ]) {
    if (!infra[name]) throw new Error(`infra/local.sh env printed no ${name}: is the infrastructure up?`);
  }
  const recorder = new Recorder();
  const plan = faultPlan();
  const dlqBefore = pubsub === 'rabbitmq' ? await rabbitDeadLetterQueues() : undefined;
  log(
    `${loadSeconds} s of load at ${rate}/s, ${peopleCount} people (${mfaPeople} with TOTP); faults: ${plan.faults.join(', ') || 'none'}`,
  );

  const aborter = new AbortController();
  const stopOnSignal = (): void => aborter.abort();
  process.once('SIGINT', stopOnSignal);
  process.once('SIGTERM', stopOnSignal);

  const tStart = recorder.now();
  let platform: DaprPlatform;
  try {
    platform = await startDaprPlatform({
      pubsub,
      generateSecrets: generateDaprDevSecrets,
      ports: 'free',
      infra,
      dataDir: join(outDir, 'platform'),
      readyTimeoutMs: 90_000,
      logLevel: process.env['SOAK_LOG_LEVEL'] ?? 'warn',
      serviceEnv: {
        // Rate-limit windows of this run only (earlier runs used the same Redis).
        'api-gateway': { REDIS_KEY_PREFIX: `gw:soak-${randomBytes(4).toString('hex')}:` },
        // The longest lifetimes identity allows, so the people's sessions (and step-ups) outlive most runs;
        // a 401 or a step-up demand later is answered by signing in again, as an app does.
        identity: { ACCESS_TOKEN_TTL_SECONDS: '900', STEP_UP_WINDOW_SECONDS: '900' },
      },
      signal: aborter.signal,
      log: (line) => log(line),
    });
  } catch (error) {
    log(`the platform did not start: ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  }
  const startUpMs = recorder.now() - tStart;
  log(`platform ready in ${(startUpMs / 1000).toFixed(1)} s at ${platform.gatewayUrl}`);
  let died: string | undefined;
  void platform.unexpectedExit.then((dead) => {
    died = `${dead.name} ${describeExit(dead.exit)} on its own; last output:\n${dead.tail}`;
    log(died);
  });

  const world: World = {
    gatewayUrl: platform.gatewayUrl,
    certificate: platform.certificate,
    recorder,
    people: [],
    stranded: [],
    inDoubt: [],
    retryDeadlineMs: 90_000,
  };
  const checks: Check[] = [];
  try {
    const tOnboard = recorder.now();
    await onboard(world, peopleCount, mfaPeople, 4);
    const onboardingMs = recorder.now() - tOnboard;
    log(
      `${world.people.length} people signed up, verified, signed in and funded in ${(onboardingMs / 1000).toFixed(1)} s`,
    );

    const load = workload(world, rate);
    const loadFrom = recorder.now();
    const loadUntil = loadFrom + loadSeconds * 1000;
    let faultsOver = false;
    let lastRepairedAt = loadFrom;
    const faults = (async () => {
      await sleep(WARMUP_MS);
      for (const name of plan.faults) {
        if (aborter.signal.aborted || died) break;
        log(`fault: ${name}`);
        const fault = await injectFault(name, platform, recorder, load);
        lastRepairedAt = fault.repairedAt ?? recorder.now();
        log(
          `  repaired after ${((lastRepairedAt - fault.startedAt) / 1000).toFixed(1)} s: ${fault.error ?? fault.note ?? ''}`,
        );
        await sleep(plan.gapMs);
      }
      faultsOver = true;
    })();
    // Load until the planned end, and at least the recovery bound past the last repair.
    await load.run(
      () =>
        aborter.signal.aborted ||
        died !== undefined ||
        (recorder.now() >= loadUntil && faultsOver && recorder.now() >= lastRepairedAt + recoveryBoundMs),
    );
    await faults;
    const loadEnd = recorder.now();
    log(
      `load over after ${((loadEnd - loadFrom) / 1000).toFixed(1)} s; ${load.skipped} operations found nobody free; ` +
        `${load.abandonedSignUps} sign-ups still under way (not checked)`,
    );

    // A late sign-up's first deposit may still be under way: the checks read every person at rest.
    for (let i = 0; i < 60 && world.people.some((p) => p.busy); i++) await sleep(1_000);
    // Withdrawals whose provider answer was in doubt get it now (a provider retries its webhooks too).
    for (const p of world.people) {
      for (const w of p.withdrawals.filter((x) => x.state === 'pending'))
        await settleWithdrawal(world, p, w, false);
    }

    const dbs = {
      identity: infra['PG_IDENTITY_URL']!,
      'wallet-ledger': infra['PG_LEDGER_URL']!,
      risk: infra['PG_RISK_URL']!,
      notification: infra['PG_NOTIFICATION_URL']!,
      'api-gateway': infra['PG_GATEWAY_URL']!,
    };
    log('checking the invariants');
    checks.push(await reconcile(dbs['wallet-ledger']));
    checks.push(await replayDeadLetters(world, dbs.identity, recorder.startedAtIso));
    checks.push(...(await checkMoney(world)));
    checks.push(...(await checkNotifications(world, dbs.notification, 90_000)));
    checks.push(await checkDeliveries(dbs.notification, recorder.startedAtIso));
    if (dlqBefore) checks.push(checkBrokerDeadLetters(dlqBefore, await rabbitDeadLetterQueues()));
    checks.push({
      name: 'every money operation got a definite answer (nothing in doubt)',
      ok: world.inDoubt.length === 0,
      detail:
        world.inDoubt.length === 0
          ? 'all definite'
          : world.inDoubt.map((d) => `${d.op} by ${d.person} (last ${d.lastStatus})`).join('; '),
    });
    const analysis = analyseFaults(
      recorder.requests,
      recorder.faults,
      world.inDoubt.map((d) => d.at),
      loadEnd,
      recoveryBoundMs,
    );
    const outside = analysis.errorsOutside;
    checks.push({
      name: 'no 5xx or lost answer outside a fault window',
      ok: outside.length === 0,
      detail:
        outside.length === 0
          ? 'none'
          : outside
              .slice(0, 10)
              .map((r) => `${r.op} ${r.status} ${r.type ?? ''} at ${(r.at / 1000).toFixed(1)} s`)
              .join('; '),
    });
    for (const f of analysis.faults) {
      checks.push({
        name: `${f.name}: repaired, full service within ${recoveryBoundMs / 1000} s of the repair`,
        ok: f.withinBound,
        detail:
          f.error ??
          `repair ${(f.repairMs / 1000).toFixed(1)} s, last error ${(f.afterRepairMs / 1000).toFixed(1)} s after it (${f.errors} errors)`,
      });
    }
    const accepted = world.people.reduce((n, p) => n + p.sent.length, 0);
    checks.push({
      name: 'money moved (the soak is not vacuous)',
      ok: accepted >= Math.max(5, loadSeconds / 10),
      detail: `${accepted} transfers accepted`,
    });
    checks.push({
      name: 'no service or sidecar died on its own',
      ok: died === undefined,
      detail: died ?? 'none',
    });

    const answered = recorder.requests
      .filter((r) => r.outcome !== 'lost' && r.at >= loadFrom)
      .map((r) => r.ms);
    const bucketMs = loadSeconds > 180 ? 5_000 : 1_000;
    const totals: Record<string, number> = {};
    for (const r of recorder.requests) totals[r.outcome] = (totals[r.outcome] ?? 0) + 1;
    totals['retries'] = recorder.requests.filter((r) => r.attempt > 1).length;
    totals['sign-ups abandoned at the end'] = load.abandonedSignUps;
    const written = writeReport(outDir, {
      title: `Soak on ${pubsub}`,
      broker: pubsub,
      startedAtIso: recorder.startedAtIso,
      loadSeconds: Math.round((load.stoppedAt - loadFrom) / 1000),
      rate,
      machine: `${cpus().length} cores (${cpus()[0]?.model ?? '?'}), Node ${process.version}, load average at the end ${loadavg()
        .map((x) => x.toFixed(1))
        .join(' ')}`,
      people: world.people.length,
      startUpMs,
      onboardingMs,
      bucketMs,
      buckets: buckets(recorder.requests, loadFrom, load.stoppedAt, bucketMs),
      loadFrom,
      faults: analysis.faults,
      checks,
      totals,
      opsStarted: load.started,
      latency: {
        p50: percentile(answered, 50),
        p99: percentile(answered, 99),
        max: Math.max(0, ...answered),
      },
      recoveryBoundMs,
    });
    writeFileSync(
      join(outDir, 'requests.json'),
      JSON.stringify({ requests: recorder.requests, faults: recorder.faults }),
    );
    for (const c of checks) log(`${c.ok ? 'ok  ' : 'FAIL'} ${c.name}: ${c.detail.slice(0, 400)}`);
    const errors = recorder.requests.filter(isError).length;
    log(
      `${recorder.requests.length} attempts, ${errors} errors; report ${written.markdownFile}, plot ${written.svgFile}`,
    );
  } catch (error) {
    checks.push({
      name: 'the soak ran to the end',
      ok: false,
      detail: error instanceof Error ? (error.stack ?? error.message) : String(error),
    });
    log(`the soak broke off: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  } finally {
    await Promise.all(world.people.map((p) => p.client.close().catch(() => undefined)));
    await platform.stop();
  }
  const failed = checks.filter((c) => !c.ok).length;
  const passed = checks.length - failed;
  const checksFile = process.env['CI_CHECKS_FILE'];
  if (checksFile) writeFileSync(checksFile, `${JSON.stringify({ passed, failed, skipped: 0 })}\n`);
  log(`${passed} passed, ${failed} failed`);
  return failed === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(
      `soak: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    const checksFile = process.env['CI_CHECKS_FILE'];
    if (checksFile) writeFileSync(checksFile, `${JSON.stringify({ passed: 0, failed: 1, skipped: 0 })}\n`);
    process.exit(1);
  },
);
