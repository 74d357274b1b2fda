/**
 * Flushing telemetry at shutdown without importing the SDK: the preload registers how to stop it,
 * and graceful shutdown (or the embedded host) calls `shutdownTelemetry` last, before process.exit.
 * Kept on a global symbol so that one registration is seen by every copy of this module.
 */
type Stop = () => Promise<void>;

const KEY = Symbol.for('@wallet/service-kit/telemetry-shutdown');
const slot = globalThis as { [KEY]?: Stop };

export function registerTelemetryShutdown(stop: Stop): void {
  slot[KEY] = stop;
}

/** Exports the spans still buffered and stops the SDK; waits at most `timeoutMs`. A no-op without telemetry. */
export async function shutdownTelemetry(timeoutMs = 3_000): Promise<void> {
  const stop = slot[KEY];
  delete slot[KEY];
  if (!stop) return;
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    stop().catch(() => undefined),
    new Promise<void>((resolve) => {
      timer = setTimeout(resolve, timeoutMs);
      timer.unref();
    }),
  ]);
  clearTimeout(timer);
}
