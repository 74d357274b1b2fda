/**
 * Background workers a service runs beside its HTTP app: the interface the runtime starts and stops,
 * a periodic worker whose ticks never overlap, and the outbox relay as a worker.
 */
import type { Kysely } from 'kysely';
import type { Registry } from 'prom-client';
import { createOutboxRelay, type MessagingTables, type Platform } from '@wallet/platform';
import type { Logger } from './logger.ts';

export interface BackgroundWorker {
  name: string;
  start(): void | Promise<void>;
  stop(): Promise<void>;
}

export interface PeriodicWorkerOptions {
  name: string;
  /** Pause between the end of one tick and the start of the next; 0 turns the worker off. */
  intervalMs: number;
  tick: () => Promise<unknown>;
  /** A failing tick is reported here and tried again after the next pause. */
  onError: (error: unknown) => void;
}

export interface PeriodicWorker extends BackgroundWorker {
  start(): void;
  /** Ticks now, unless a tick is already running (then waits for that one instead). */
  runNow(): Promise<void>;
}

/**
 * Runs `tick` every `intervalMs` until stopped. The next tick is scheduled only when the last one has
 * ended, and `runNow` joins a tick in flight, so two ticks never run at once however slow one is.
 * `stop` cancels the next tick and waits for the one in flight.
 */
export function periodicWorker(options: PeriodicWorkerOptions): PeriodicWorker {
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let started = false;

  const runTick = (): Promise<void> => {
    running ??= options
      .tick()
      .then(
        () => undefined,
        (error: unknown) => options.onError(error),
      )
      .finally(() => {
        running = undefined;
        schedule();
      });
    return running;
  };

  function schedule(): void {
    clearTimeout(timer);
    if (!started || options.intervalMs <= 0) return;
    timer = setTimeout(() => void runTick(), options.intervalMs);
    timer.unref();
  }

  return {
    name: options.name,
    start() {
      if (started) return;
      started = true;
      schedule();
    },
    async stop() {
      started = false;
      clearTimeout(timer);
      await running;
    },
    runNow: runTick,
  };
}

/** The outbox relay (`@wallet/platform`) as a worker of the service that owns the outbox. */
export function outboxRelayWorker<DB extends MessagingTables>(options: {
  db: Kysely<DB>;
  platform: Platform;
  logger: Logger;
  metrics: Registry;
  pollIntervalMs?: number;
}): BackgroundWorker {
  const relay = createOutboxRelay({
    db: options.db,
    platform: options.platform,
    logger: options.logger.child({ component: 'outbox-relay' }),
    metrics: options.metrics,
    ...(options.pollIntervalMs !== undefined ? { pollIntervalMs: options.pollIntervalMs } : {}),
  });
  return { name: 'outbox-relay', start: () => relay.start(), stop: () => relay.stop() };
}
