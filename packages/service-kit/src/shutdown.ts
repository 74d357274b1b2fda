/**
 * Graceful shutdown on SIGTERM/SIGINT: stop accepting connections, let in-flight requests finish
 * (bounded by a timeout), stop background workers, close pools, then exit.
 */
import type { Server } from 'node:http';
import type { Logger } from './logger.ts';
import { shutdownTelemetry } from './telemetry-shutdown.ts';

export type Closer = () => Promise<void>;

export async function closeServer(server: Server, timeoutMs: number): Promise<void> {
  await new Promise<void>((resolve) => {
    const timer = setTimeout(() => {
      server.closeAllConnections();
      resolve();
    }, timeoutMs);
    timer.unref();
    server.close(() => {
      clearTimeout(timer);
      resolve();
    });
    server.closeIdleConnections();
  });
}

export function installGracefulShutdown(options: {
  logger: Logger;
  servers: Server[];
  /** Run in order after the servers stop accepting and drain: workers first, pools last. */
  closers: Closer[];
  timeoutMs: number;
  exit?: (code: number) => void;
}): () => Promise<void> {
  let shuttingDown: Promise<void> | undefined;
  const exit = options.exit ?? ((code: number) => process.exit(code));
  const shutdown = (): Promise<void> => {
    shuttingDown ??= (async () => {
      options.logger.info('shutting down: draining connections');
      await Promise.all(options.servers.map((s) => closeServer(s, options.timeoutMs)));
      for (const close of options.closers) {
        try {
          await close();
        } catch (error) {
          options.logger.error({ err: error }, 'error while shutting down');
        }
      }
      // Last: the spans of the drained requests and workers are still in the exporter's buffer.
      await shutdownTelemetry();
      options.logger.info('shut down');
    })();
    return shuttingDown;
  };
  const onSignal = (signal: NodeJS.Signals) => {
    options.logger.info({ signal }, 'signal received');
    shutdown().then(
      () => exit(0),
      () => exit(1),
    );
  };
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
  return shutdown;
}
