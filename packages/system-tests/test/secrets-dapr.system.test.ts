/**
 * Issue 17's proof on the platform as it lives: Dapr mode (each service beside its own daprd, mTLS,
 * access lists) on RabbitMQ, then on Kafka. Registration, e-mail verification, sign-in, recovery and a
 * new sign-in through the gateway; then neither code, neither password and no token may be found in:
 *  - any table of any service database (outbox, inbox, dead letters included), the dev outbox (the
 *    stand-in mailbox) excepted, where the codes must be found;
 *  - the broker: RabbitMQ, every message published to any exchange during the run (a tap queue bound
 *    to every exchange before the flow) and every message still sitting in any queue; Kafka, every
 *    topic read from offset 0 (messages from before the run cannot hold its secrets and are skipped);
 *  - any log line of the five services and their five sidecars (debug level).
 * Each search must also have seen the run's data (the user's id), so an empty search cannot pass.
 *
 * Same harness and rules as dapr.system.test.ts: `PUBSUB=rabbitmq|kafka` runs one broker, unset runs
 * both, one after the other; never at the same time as another Dapr-mode run on this machine (same
 * app ids: mDNS and consumer groups would mix them). Logs: .data/test-logs/secrets-dapr-<broker>/logs/.
 */
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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
import { secretFlow, type SecretFlowResult } from '../src/secret-flow.ts';
import {
  describeFindings,
  searchDatabase,
  searchKafka,
  searchLogs,
  searchRabbitQueues,
  startRabbitTap,
  type RabbitTap,
} from '../src/secret-search.ts';

const brokers: readonly PubsubKind[] = process.env['PUBSUB']
  ? [parsePubsub(process.env['PUBSUB'])]
  : PUBSUB_KINDS;

const START_TIMEOUT_MS = 60_000;
const FLOW_TIMEOUT_MS = 75_000; // see dapr.system.test.ts: the first code e-mail can wait for a sidecar's first call
const STOP_TIMEOUT_MS = 30_000;
/** The service databases of `infra/local.sh` (the Dapr platform uses them), by `PG_<X>_OWNER_URL`. */
const DATABASES = {
  identity: 'IDENTITY',
  'wallet-ledger': 'LEDGER',
  risk: 'RISK',
  notification: 'NOTIFICATION',
  'api-gateway': 'GATEWAY',
} as const;
const DEV_OUTBOX = { 'public.dev_outbox': 'the delivered message: the stand-in for the mailbox' };

function infrastructure(pubsub: PubsubKind): string | undefined {
  const daprdBin = infraEnv('DAPRD_BIN');
  const broker = infraEnv(pubsub === 'kafka' ? 'KAFKA_BROKERS' : 'RABBITMQ_URL');
  const postgres = infraEnv('TEST_PG_ADMIN_URL');
  return daprdBin && broker && postgres ? daprdBin : undefined;
}

for (const pubsub of brokers) {
  const daprdBin = infrastructure(pubsub);

  describe.skipIf(!daprdBin)(
    `system (dapr + ${pubsub}): no secret on the broker, in a database or a log`,
    () => {
      const aborter = new AbortController();
      let starting: Promise<DaprPlatform> | undefined;
      let platform: DaprPlatform | undefined;
      let tap: RabbitTap | undefined;
      let infra: Record<string, string>;
      let run: SecretFlowResult | undefined;
      let runStart: Date;

      beforeAll(async () => {
        infra = { ...readInfraEnv(), DAPRD_BIN: daprdBin! };
        starting = startDaprPlatform({
          pubsub,
          generateSecrets: generateDaprDevSecrets,
          ports: 'free',
          infra,
          dataDir: join(REPO_ROOT, '.data', 'test-logs', `secrets-dapr-${pubsub}`),
          readyTimeoutMs: START_TIMEOUT_MS - 10_000,
          // Everything the services would ever log.
          logLevel: 'debug',
          serviceEnv: {
            'api-gateway': { REDIS_KEY_PREFIX: `gw:secrets-test-${randomBytes(4).toString('hex')}:` },
          },
          signal: aborter.signal,
        });
        platform = await starting;
        // The subscriptions have declared their exchanges: from now on every message is copied to us.
        if (pubsub === 'rabbitmq') tap = await startRabbitTap(infra['RABBITMQ_URL']!, REPO_ROOT);
      }, START_TIMEOUT_MS + 30_000);

      afterAll(async () => {
        aborter.abort();
        await tap?.close().catch(() => undefined);
        await starting?.catch(() => undefined);
        await platform?.stop();
      }, STOP_TIMEOUT_MS);

      it(
        'registers, verifies, signs in, recovers and signs in again through the gateway',
        async () => {
          const running = platform!;
          const died = running.unexpectedExit.then((dead) => {
            throw new Error(
              `${dead.name} ${describeExit(dead.exit)} during the test; last output:\n${dead.tail}`,
            );
          });
          runStart = new Date(Date.now() - 5_000);
          run = await Promise.race([secretFlow(running.gatewayUrl, running.certificate), died]);
          expect(run.secrets.verificationCode).toMatch(/^[0-9]{6}$/);
          expect(run.secrets.recoveryCode).toMatch(/^[0-9]{8}$/);
        },
        FLOW_TIMEOUT_MS,
      );

      it('finds no secret in any table of any service database; the codes only in the delivered mail', async () => {
        expect(run, 'the flow ran').toBeDefined();
        const delivered = new Set<string>();
        const marked: string[] = [];
        for (const [app, db] of Object.entries(DATABASES)) {
          const url = infra[`PG_${db}_OWNER_URL`];
          expect(url, `infra/local.sh env prints PG_${db}_OWNER_URL`).toBeDefined();
          const report = await searchDatabase(app, url!, run!.secrets, run!.userId, { excluded: DEV_OUTBOX });
          expect(report.findings, describeFindings(report.findings)).toEqual([]);
          if (report.markerHits > 0) marked.push(app);
          for (const f of report.excludedFindings) delivered.add(f.secret);
        }
        expect(marked).toEqual(expect.arrayContaining(['identity', 'notification', 'wallet-ledger']));
        expect([...delivered].sort()).toEqual(['recoveryCode', 'verificationCode']);
      }, 60_000);

      if (pubsub === 'rabbitmq') {
        it('finds no secret in any message that crossed RabbitMQ, nor in any queue', async () => {
          expect(run, 'the flow ran').toBeDefined();
          const crossed = await tap!.collect(run!.secrets, run!.userId);
          expect(crossed.findings, describeFindings(crossed.findings)).toEqual([]);
          // The tap did see the run: the user's events (user.registered.v2 and the others) went through it.
          expect(tap!.exchanges).toContain('identity.user.registered.v2');
          expect(crossed.markerHits).toBeGreaterThan(0);
          const queued = await searchRabbitQueues(
            infra['RABBITMQ_URL']!,
            REPO_ROOT,
            run!.secrets,
            run!.userId,
          );
          expect(queued.findings, describeFindings(queued.findings)).toEqual([]);
          expect(queued.queues).toBeGreaterThan(0);
        }, 120_000);
      } else {
        it('finds no secret in any Kafka topic read from offset 0', async () => {
          expect(run, 'the flow ran').toBeDefined();
          const brokersList = infra['KAFKA_BROKERS']!.split(',');
          const report = await searchKafka(brokersList, run!.secrets, run!.userId, {
            since: runStart,
            timeoutMs: 90_000,
          });
          expect(report.findings, describeFindings(report.findings)).toEqual([]);
          expect(report.topics).toBeGreaterThan(0);
          // The search read the run's own messages (user.registered.v2 and the others name the user).
          expect(report.markerHits).toBeGreaterThan(0);
        }, 120_000);
      }

      it(
        'finds no secret in any log line of the services and their sidecars',
        async () => {
          expect(run, 'the flow ran').toBeDefined();
          const running = platform!;
          // Stopping flushes every log line.
          await running.stop();
          const report = await searchLogs([running.logDir], run!.secrets, run!.userId);
          expect(report.findings, describeFindings(report.findings)).toEqual([]);
          // The invocation notification -> identity happened (through both sidecars) and was logged by reference only.
          const identityLog = await readFile(join(running.logDir, 'identity.log'), 'utf8');
          const ref = /\/internal\/one-time-codes\/([0-9a-f-]{36})\/issue/.exec(identityLog)?.[1];
          expect(ref).toBeDefined();
          expect(
            (await searchLogs([running.logDir], { codeRef: ref! }, run!.userId)).findings.length,
          ).toBeGreaterThan(0);
        },
        STOP_TIMEOUT_MS + 30_000,
      );
    },
  );
}
