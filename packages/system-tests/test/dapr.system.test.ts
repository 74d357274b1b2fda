/**
 * The money flow, and issue 13's resilience scenarios (src/resilience.ts), against the dapr mode:
 * each service its own process beside its own daprd (mTLS via sentry, access policies, API tokens both ways), started by the code `npm run start:dapr` runs, once
 * per broker: `PUBSUB=rabbitmq|kafka` runs one, unset runs both, one after the other (the platforms
 * share app ids, and mDNS and the consumer groups would mix two at once).
 *
 * Free ports, so a developer's running `start:dapr` (3100-3104, 3500-3504) is no obstacle; with the
 * same app ids the two then act as replicas of one platform, on the databases of `infra/local.sh` and
 * `.data/dapr/dev-secrets.json`, which is why both are shared (see startDaprPlatform). The scenario uses
 * fresh users, event ids and idempotency keys, so it leaves those databases fit for the next run.
 * Logs of the last run: .data/test-logs/system-dapr-<broker>/logs/.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, it } from 'vitest';
import {
  PUBSUB_KINDS,
  REPO_ROOT,
  describeExit,
  parsePubsub,
  readInfraEnv,
  startDaprPlatform,
} from '@wallet/dapr-harness';
import type { DaprPlatform, PubsubKind } from '@wallet/dapr-harness';
import { generateDaprDevSecrets } from '@wallet/embedded-host/secrets';
import { infraEnv } from '@wallet/testing';
import { startOtlpReceiver } from '@wallet/testing/otlp-receiver';
import type { OtlpReceiver } from '@wallet/testing/otlp-receiver';
import { moneyFlow } from '../src/money-flow.ts';
import {
  burstOfSmallTransfers,
  floodIsShed,
  refusalsDoNotStopOthers,
  riskFrozenMidRun,
} from '../src/resilience.ts';
import { oneTraceAcrossThePlatform } from '../src/trace-flow.ts';

const brokers: readonly PubsubKind[] = process.env['PUBSUB']
  ? [parsePubsub(process.env['PUBSUB'])]
  : PUBSUB_KINDS;

/** Bounds of one broker's run (2 cores): start-up, the scenario, the stop. Well under 3 minutes together. */
const START_TIMEOUT_MS = 60_000;
// The first code e-mail after a start waits for the notification sidecar's first call to identity:
// seen to take up to 16 s on a loaded machine (a first-invocation stall, written down in the README).
const FLOW_TIMEOUT_MS = 75_000;
const STOP_TIMEOUT_MS = 30_000;
/** Onboarding two users, a deposit, the transfer, and the spans' arrival (exported every 500 ms). */
const TRACE_TIMEOUT_MS = 60_000;
/** Issue 13's scenarios (src/resilience.ts): onboarding included. */
const REFUSALS_TIMEOUT_MS = 45_000;
const FLOOD_TIMEOUT_MS = 45_000;
const FROZEN_RISK_TIMEOUT_MS = 60_000;
const BURST_TIMEOUT_MS = 90_000;

function infrastructure(pubsub: PubsubKind): string | undefined {
  const daprdBin = infraEnv('DAPRD_BIN');
  const broker = infraEnv(pubsub === 'kafka' ? 'KAFKA_BROKERS' : 'RABBITMQ_URL');
  const postgres = infraEnv('TEST_PG_ADMIN_URL');
  return daprdBin && broker && postgres ? daprdBin : undefined;
}

for (const pubsub of brokers) {
  const daprdBin = infrastructure(pubsub);

  describe.skipIf(!daprdBin)(`system (dapr + ${pubsub}): money moves through the gateway`, () => {
    const aborter = new AbortController();
    let starting: Promise<DaprPlatform> | undefined;
    let platform: DaprPlatform | undefined;
    let receiver: OtlpReceiver | undefined;

    beforeAll(async () => {
      // Telemetry as the chart configures it, exported to a receiver of this run: only requests that
      // arrive sampled are recorded (parent-based, ratio 0), so the trace scenario's is the only trace.
      receiver = await startOtlpReceiver();
      const telemetry = {
        OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint,
        OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
        OTEL_TRACES_SAMPLER_ARG: '0',
        OTEL_BSP_SCHEDULE_DELAY: '500',
      };
      starting = startDaprPlatform({
        pubsub,
        generateSecrets: generateDaprDevSecrets,
        ports: 'free',
        infra: { ...readInfraEnv(), DAPRD_BIN: daprdBin! },
        dataDir: join(REPO_ROOT, '.data', 'test-logs', `system-dapr-${pubsub}`),
        readyTimeoutMs: START_TIMEOUT_MS - 10_000,
        logLevel: process.env['TEST_LOG_LEVEL'] ?? 'info',
        serviceEnv: {
          identity: telemetry,
          'wallet-ledger': telemetry,
          risk: telemetry,
          notification: telemetry,
          // Rate-limit windows of this run only: the per-address classes (signup, login, anonymous) would
          // otherwise count the previous broker's run, and a developer's, from the same 127.0.0.1.
          'api-gateway': {
            ...telemetry,
            REDIS_KEY_PREFIX: `gw:system-test-${randomBytes(4).toString('hex')}:`,
          },
        },
        signal: aborter.signal,
      });
      platform = await starting;
    }, START_TIMEOUT_MS);

    // Runs even when start-up or the test failed or timed out: stops every child process.
    afterAll(async () => {
      aborter.abort();
      await starting?.catch(() => undefined);
      await platform?.stop();
      await receiver?.close();
    }, STOP_TIMEOUT_MS);

    it(
      'registers, funds, transfers idempotently, asks for step-up and notifies the payee',
      async () => {
        const running = platform!;
        // A service or sidecar dying mid-test fails at once, quoting its last output.
        const died = running.unexpectedExit.then((dead) => {
          throw new Error(
            `${dead.name} ${describeExit(dead.exit)} during the test; last output:\n${dead.tail}`,
          );
        });
        await Promise.race([moneyFlow(running.gatewayUrl, running.certificate, { timeoutMs: 40_000 }), died]);
      },
      FLOW_TIMEOUT_MS,
    );

    /** Runs a scenario, failing at once if a service or sidecar dies meanwhile. */
    const watched = async <T>(scenario: (running: DaprPlatform) => Promise<T>): Promise<T> => {
      const running = platform!;
      const died = running.unexpectedExit.then((dead): never => {
        throw new Error(
          `${dead.name} ${describeExit(dead.exit)} during the test; last output:\n${dead.tail}`,
        );
      });
      return Promise.race([scenario(running), died]);
    };
    const log = (line: string): void => console.info(`[${pubsub}] ${line}`);

    it(
      'one trace id from the gateway through wallet-ledger and risk, the outbox relay and the broker to notification',
      () =>
        watched(async (running) => {
          const report = await oneTraceAcrossThePlatform(running.gatewayUrl, running.certificate, receiver!);
          log(
            `trace ${report.traceId}: spans ${JSON.stringify(report.perService)}; ${report.hops.join('; ')}`,
          );
        }),
      TRACE_TIMEOUT_MS,
    );

    it(
      "one user's 20 refused transfers (422, 403, 404) leave another user's transfer 201 at once",
      () => watched((running) => refusalsDoNotStopOthers(running.gatewayUrl, running.certificate)),
      REFUSALS_TIMEOUT_MS,
    );

    it(
      '200 reads at once: served or shed early with 503 overloaded + Retry-After, none past the budget, normal right after',
      () => watched((running) => floodIsShed(running.gatewayUrl, running.certificate, { log })),
      FLOOD_TIMEOUT_MS,
    );

    it(
      'risk stopped (SIGSTOP) for 10 s: small transfers go through, larger ones are refused, the rest answers; normal within 5 s of SIGCONT',
      () =>
        watched((running) => {
          const risk = running.services.find((s) => s.appId === 'risk')!;
          return riskFrozenMidRun(
            running.gatewayUrl,
            running.certificate,
            {
              freeze: () => void process.kill(risk.pid, 'SIGSTOP'),
              thaw: () => void process.kill(risk.pid, 'SIGCONT'),
            },
            { log },
          );
        }),
      FROZEN_RISK_TIMEOUT_MS,
    );

    it(
      '40 users x 8 transfers of 1.00 to a friend, 8 in flight: no 5xx, at least 95 % accepted',
      () => watched((running) => burstOfSmallTransfers(running.gatewayUrl, running.certificate, { log })),
      BURST_TIMEOUT_MS,
    );
  });
}
