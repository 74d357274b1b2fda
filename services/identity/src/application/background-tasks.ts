/**
 * Work done after the answer has left (p-limit): what must not show in an answer's timing, such as
 * whether a recovery address has an account. Bounded: at most `concurrency` tasks run and at most
 * `maxPending` wait; beyond that a task is dropped and logged (a flood cannot grow memory without
 * bound, and the requester may simply ask again). Lost on a crash for the same reason.
 */
import pLimit from 'p-limit';
import type { BackgroundWorker, Logger } from '@wallet/service-kit';

export interface BackgroundTasks {
  /** Queues `task`; false when the queue is full (the task is dropped). */
  run(name: string, task: () => Promise<void>): boolean;
  /** Waits for every queued and running task (shutdown, tests). */
  drain(): Promise<void>;
  worker: BackgroundWorker;
}

export function createBackgroundTasks(options: {
  concurrency: number;
  maxPending: number;
  logger: Logger;
}): BackgroundTasks {
  const limit = pLimit(options.concurrency);
  const inFlight = new Set<Promise<void>>();
  const drain = async () => {
    while (inFlight.size > 0) await Promise.allSettled([...inFlight]);
  };
  return {
    run(name, task) {
      if (limit.pendingCount >= options.maxPending) {
        options.logger.warn({ task: name }, 'background queue full: task dropped');
        return false;
      }
      const done = limit(async () => {
        try {
          await task();
        } catch (error) {
          options.logger.error({ err: error, task: name }, 'background task failed');
        }
      });
      inFlight.add(done);
      void done.finally(() => inFlight.delete(done));
      return true;
    },
    drain,
    worker: { name: 'background-tasks', start() {}, stop: drain },
  };
}
