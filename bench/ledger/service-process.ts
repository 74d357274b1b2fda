/**
 * One service in its own process, for the ledger benchmark: what `src/main.ts` does
 * (`runServiceMain`: config from the environment, `startService`, graceful shutdown on SIGTERM),
 * started the same way (`node --import @wallet/service-kit/telemetry-preload ...`), except that the
 * embedded transport needs a bus, which `runServiceMain` does not create. So this entry creates the
 * process's bus and registers the peers it may invoke (BENCH_PEERS = {"risk": "http://127.0.0.1:port"}).
 * Invocation on the embedded transport is loopback HTTP (fetch), as through a sidecar minus the sidecar.
 * Reports its URL to the parent over IPC.
 *
 *   BENCH_SERVICE=wallet-ledger|risk, plus the service's usual environment (DATABASE_URL, PORT=0, keys...).
 */
import { EmbeddedBus } from '@wallet/platform';
import {
  createLogger,
  installGracefulShutdown,
  startService,
  type RuntimeEnv,
  type ServiceModule,
} from '@wallet/service-kit';

const which = process.env['BENCH_SERVICE'];
const module = (
  which === 'risk'
    ? (await import('@wallet/risk')).service
    : which === 'wallet-ledger'
      ? // BENCH_LEDGER_SERVICE: another build of the ledger's service.ts (a before/after comparison).
        (
          (await import(
            process.env['BENCH_LEDGER_SERVICE'] ?? '../../services/wallet-ledger/src/service.ts'
          )) as { service: unknown }
        ).service
      : undefined
) as ServiceModule<unknown, RuntimeEnv> | undefined;
if (!module) throw new Error('BENCH_SERVICE must be wallet-ledger or risk');

const logger = createLogger(module.appId, { level: process.env['LOG_LEVEL'] ?? 'warn' });
const bus = new EmbeddedBus({ logger });
for (const [appId, url] of Object.entries(
  JSON.parse(process.env['BENCH_PEERS'] ?? '{}') as Record<string, string>,
)) {
  bus.registerApp(appId, url);
}
const running = await startService(module, { bus, logger });
installGracefulShutdown({
  logger,
  servers: [],
  closers: [() => running.stop(), () => bus.close()],
  timeoutMs: 10_000,
});
process.send?.({ kind: 'ready', url: running.url, internalUrl: running.internalUrl });
