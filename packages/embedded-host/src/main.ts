/**
 * `npm start`: the whole platform on one machine in one process, no Docker, no cluster.
 * Embedded PostgreSQL (one database and two roles per service), migrations, the five services on the
 * in-process transport, and the gateway on HTTPS (self-signed) with plain HTTP redirecting to it.
 * Settings: the process environment over `.env` at the repository root (README, "Settings").
 */
import { join, resolve } from 'node:path';
import { assertDataFolderFree, DataFolderInUseError } from './lock.ts';
import { loadSettings } from './settings.ts';

const started = Date.now();
const REPO_ROOT = resolve(import.meta.dirname, '../../..');
const dotEnvFile = join(REPO_ROOT, '.env');
const { settings, dotEnvLoaded } = loadSettings({ processEnv: process.env, dotEnvFile });
const dataDir = resolve(settings['WALLET_DATA_DIR'] ?? join(REPO_ROOT, '.data/embedded'));
const refuseInUse = (error: unknown): void => {
  if (!(error instanceof DataFolderInUseError)) return;
  process.stderr.write(`wallet platform not started: ${error.message}\n`);
  process.exit(1);
};
// Before loading the five services (seconds): a second `npm start` on this folder stops at once.
await assertDataFolderFree(dataDir).catch(refuseInUse);
// Telemetry the way every mode starts it (the preload), before the services' modules load so that
// http, express and pg can be instrumented. OTEL_* may come from .env too; the five services share
// this process, hence one service name (`wallet-platform` unless set).
for (const [name, value] of Object.entries(settings)) {
  if (name.startsWith('OTEL_') && process.env[name] === undefined) process.env[name] = value;
}
process.env['OTEL_SERVICE_NAME'] ??= 'wallet-platform';
await import('@wallet/service-kit/telemetry-preload');
const { shutdownTelemetry } = await import('@wallet/service-kit/telemetry-shutdown');
const { startEmbeddedPlatform } = await import('./platform.ts');
const platform = await startEmbeddedPlatform({ env: settings, dataDir }).catch((error: unknown) => {
  refuseInUse(error);
  const detail = error instanceof Error ? `${error.message}${'stderr' in error ? `\n${String(error.stderr)}` : ''}` : String(error);
  process.stderr.write(`wallet platform failed to start: ${detail}\n`);
  process.exit(1);
});
const seconds = ((Date.now() - started) / 1000).toFixed(1);
process.stdout.write(
  [
    '',
    `wallet platform ready in ${seconds} s (embedded mode, development only)`,
    `  gateway       ${platform.gatewayUrl}   (self-signed certificate: ${platform.certificateFile})`,
    `  redirect      ${platform.redirectUrl} -> ${platform.gatewayUrl}`,
    ...Object.entries(platform.serviceUrls).map(([id, url]) => `  ${id.padEnd(14)}${url}`),
    `  internal      /metrics and the detailed /readyz (loopback):`,
    ...Object.entries(platform.internalUrls).map(([id, url]) => `    ${id.padEnd(14)}${url}`),
    `  data          ${platform.dataDir}`,
    `  settings      environment${dotEnvLoaded ? ` over ${dotEnvFile}` : ' (no .env file)'}`,
    '  Ctrl-C stops everything.',
    '',
  ].join('\n'),
);

let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    process.stdout.write(`\n${signal}: stopping...\n`);
    platform
      .stop()
      .then(() => shutdownTelemetry())
      .then(
        () => process.exit(0),
        (error: unknown) => {
          process.stderr.write(`error while stopping: ${String(error)}\n`);
          process.exit(1);
        },
      );
  });
}
