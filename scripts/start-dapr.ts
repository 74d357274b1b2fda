/**
 * `npm run start:dapr` (PUBSUB=rabbitmq|kafka, default rabbitmq): the platform in "dapr (local)" mode,
 * started by `startDaprPlatform` of @wallet/dapr-harness (what it does is described there and in
 * docs/dapr-mode.md) on the fixed ports 3100-3104 / 3500-3504, the infrastructure brought up first.
 *
 * Ctrl-C (or SIGTERM) stops the services first, then their sidecars; a second Ctrl-C kills them.
 * The infrastructure keeps running (`infra/local.sh down` stops it). Logs: .data/dapr/logs/.
 * START_DAPR_LOGS=1 also echoes every process's output here, prefixed with its name.
 * While it runs, .data/dapr/runtime.json tells operator commands (`npm run identity`, `npm run ledger`)
 * where the databases are; it is removed on stop, and a copy left by a killed run is named as stale.
 */
import { join } from 'node:path';
import { REPO_ROOT, describeExit, parsePubsub, startDaprPlatform } from '@wallet/dapr-harness';
import type { DaprPlatform, StoppedProcess } from '@wallet/dapr-harness';
import { generateDaprDevSecrets } from '@wallet/embedded-host/secrets';
import { configKeys, daprModeOverrides, loadSettings, settingsForOperators } from '@wallet/embedded-host/settings';
import { service as apiGateway } from '@wallet/api-gateway';
import { service as identity } from '@wallet/identity';
import { service as notification } from '@wallet/notification';
import { service as risk } from '@wallet/risk';
import { service as walletLedger } from '@wallet/wallet-ledger';
import { removeRuntimeFile, writeRuntimeFile } from '@wallet/service-kit';

const READY_TIMEOUT_MS = Number(process.env['START_DAPR_READY_TIMEOUT_MS'] ?? 90_000);
const ECHO_LOGS = process.env['START_DAPR_LOGS'] === '1';

const DATA_DIR = join(REPO_ROOT, '.data', 'dapr');
const SERVICES = [identity, walletLedger, risk, notification, apiGateway].map((m) => ({
  appId: m.appId,
  keys: configKeys(m.configSchema),
}));
const say = (line: string): void => void process.stdout.write(`${line}\n`);

/** `.data/dapr/runtime.json`: the databases and identity's settings, for operator commands. */
async function writeDaprRuntimeFile(platform: DaprPlatform): Promise<void> {
  const identityKeys = SERVICES.find((s) => s.appId === 'identity')!.keys;
  await writeRuntimeFile(DATA_DIR, {
    mode: 'dapr',
    pid: process.pid,
    startedAt: new Date().toISOString(),
    gatewayUrl: platform.gatewayUrl,
    services: Object.fromEntries(
      platform.services.map((s) => [
        s.appId,
        {
          databaseUrl: s.env['DATABASE_URL']!,
          settings: s.appId === 'identity' ? settingsForOperators(s.env, identityKeys) : {},
        },
      ]),
    ),
  });
}

const describeStopped = (stopped: StoppedProcess[]): string =>
  stopped.map((p) => `  ${p.name}: ${describeExit(p.exit)}`).join('\n');

async function main(): Promise<void> {
  const started = Date.now();
  // The same settings as npm start (README, "Settings"): this environment over .env, <APP>_<NAME> per service.
  const { settings, dotEnvLoaded } = loadSettings({ processEnv: process.env, dotEnvFile: join(REPO_ROOT, '.env') });
  const pubsub = parsePubsub(settings['PUBSUB']);
  const aborter = new AbortController();
  let platform: DaprPlatform | undefined;
  let stopping = false;

  let firstSignalAt = 0;
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(signal, () => {
      if (stopping) {
        // npm forwards the terminal's Ctrl-C to us, which the terminal also sent: one press, two signals.
        if (Date.now() - firstSignalAt < 1_000) return;
        say('\nstopping now (SIGKILL)');
        platform?.kill();
        process.exit(130); // the harness's exit hook SIGKILLs whatever is still running
      }
      stopping = true;
      firstSignalAt = Date.now();
      say(`\n${signal}: stopping services, then sidecars...`);
      if (!platform) {
        aborter.abort(); // start-up stops what it started, then main() ends
        return;
      }
      Promise.all([platform.stop(), removeRuntimeFile(DATA_DIR)]).then(
        ([stopped]) => {
          say(describeStopped(stopped));
          process.exit(0);
        },
        (error: unknown) => {
          process.stderr.write(`error while stopping: ${String(error)}\n`);
          process.exit(1);
        },
      );
    });
  }

  try {
    platform = await startDaprPlatform({
      pubsub,
      generateSecrets: generateDaprDevSecrets,
      ports: 'fixed',
      startInfrastructure: true,
      readyTimeoutMs: READY_TIMEOUT_MS,
      env: settings,
      serviceEnv: daprModeOverrides(SERVICES, settings),
      log: say,
      ...(ECHO_LOGS ? { onOutput: (name: string, line: string) => say(`[${name}] ${line}`) } : {}),
      signal: aborter.signal,
    });
  } catch (error) {
    if (aborter.signal.aborted) {
      say('stopped during start-up');
      process.exit(0);
    }
    throw error;
  }

  await writeDaprRuntimeFile(platform);
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  const row = (s: DaprPlatform['services'][number]): string =>
    `  ${s.appId.padEnd(14)}${s.url.padEnd(26)}sidecar ${s.sidecarUrl}`;
  say(
    [
      '',
      `wallet platform ready in ${seconds} s (dapr mode: ${pubsub} + redis, mTLS, development only)`,
      `  gateway       ${platform.gatewayUrl.padEnd(25)}(self-signed certificate: ${platform.certificateFile})`,
      ...platform.services.map(row),
      `  logs          ${platform.logDir}`,
      `  settings      environment${dotEnvLoaded ? ' over .env' : ' (no .env file)'}`,
      '  Ctrl-C stops the services and their sidecars (infrastructure keeps running: infra/local.sh down).',
      '',
    ].join('\n'),
  );

  // A process that dies on its own takes the platform down: a half-running platform misleads.
  const first = await platform.unexpectedExit;
  stopping = true;
  process.stderr.write(`\n${first.name} ${describeExit(first.exit)}; last output:\n${first.tail}\n`);
  await Promise.all([platform.stop(), removeRuntimeFile(DATA_DIR)]);
  process.exit(1);
}

main().catch((error: unknown) => {
  process.stderr.write(`start:dapr failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
