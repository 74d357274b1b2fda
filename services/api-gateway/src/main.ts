/**
 * Starts api-gateway as its own process (beside its Dapr sidecar). Migrations are a separate step:
 * `npm run migrate`. With GATEWAY_TLS_CERT_FILE/KEY_FILE it serves HTTPS itself (dapr local mode) and,
 * with GATEWAY_HTTP_REDIRECT_PORT, redirects plain HTTP to it; behind an ingress it serves HTTP to the
 * ingress only, trusting X-Forwarded-* from TRUSTED_PROXIES.
 */
import { readFileSync } from 'node:fs';
import { closeServer, installGracefulShutdown, loadConfig, startService } from '@wallet/service-kit';
import { configSchema } from './config.ts';
import { createHttpsRedirectServer } from './http/redirect.ts';
import { service } from './service.ts';

const config = loadConfig(configSchema);
const tls =
  config.GATEWAY_TLS_CERT_FILE && config.GATEWAY_TLS_KEY_FILE
    ? { cert: readFileSync(config.GATEWAY_TLS_CERT_FILE), key: readFileSync(config.GATEWAY_TLS_KEY_FILE) }
    : undefined;
const running = await startService(service, tls ? { tls } : {});
// Telemetry is started by the preload and flushed by the graceful shutdown, as in every service.
const closers: (() => Promise<void>)[] = [() => running.stop()];
if (tls && config.GATEWAY_HTTP_REDIRECT_PORT > 0) {
  const redirect = createHttpsRedirectServer(config.PUBLIC_BASE_URL ?? running.url);
  await new Promise<void>((resolve, reject) => {
    redirect.once('error', reject).listen(config.GATEWAY_HTTP_REDIRECT_PORT, config.HOST, resolve);
  });
  closers.unshift(() => closeServer(redirect, 2_000));
}
installGracefulShutdown({
  logger: running.context.logger,
  servers: [],
  closers,
  timeoutMs: config.SHUTDOWN_TIMEOUT_MS,
});
