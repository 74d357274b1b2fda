import { describe, expect, it } from 'vitest';
import { periodicWorker } from '../../src/workers.ts';

/** A tick that takes `ms` and records how many ticks ran at once at most. */
function slowTicks(ms: number) {
  const seen = { ticks: 0, running: 0, maxRunning: 0 };
  const tick = async () => {
    seen.ticks += 1;
    seen.running += 1;
    seen.maxRunning = Math.max(seen.maxRunning, seen.running);
    await new Promise((resolve) => setTimeout(resolve, ms));
    seen.running -= 1;
  };
  return { seen, tick };
}

async function until(condition: () => boolean, deadlineMs = 5_000): Promise<void> {
  const end = Date.now() + deadlineMs;
  while (!condition()) {
    if (Date.now() > end) throw new Error('condition not met before the deadline');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe('periodicWorker', () => {
  it('never runs two ticks at once when a tick outlasts the interval', async () => {
    const { seen, tick } = slowTicks(40);
    const worker = periodicWorker({ name: 'slow', intervalMs: 5, tick, onError: () => undefined });
    worker.start();
    await until(() => seen.ticks >= 4);
    // Asking for a tick while one runs joins it instead of starting another.
    await Promise.all([worker.runNow(), worker.runNow(), worker.runNow()]);
    await worker.stop();
    expect(seen.maxRunning).toBe(1);
    expect(seen.running).toBe(0);
  });

  it('keeps ticking after a failed tick and reports the failure', async () => {
    const errors: unknown[] = [];
    let ticks = 0;
    const worker = periodicWorker({
      name: 'flaky',
      intervalMs: 5,
      tick: () => {
        ticks += 1;
        return ticks === 1 ? Promise.reject(new Error('first tick fails')) : Promise.resolve();
      },
      onError: (error) => errors.push(error),
    });
    worker.start();
    await until(() => ticks >= 3);
    await worker.stop();
    expect(errors).toHaveLength(1);
    expect(String(errors[0])).toContain('first tick fails');
  });

  it('waits for the tick in flight on stop and starts no other', async () => {
    const { seen, tick } = slowTicks(50);
    const worker = periodicWorker({ name: 'stopping', intervalMs: 1, tick, onError: () => undefined });
    worker.start();
    await until(() => seen.running === 1);
    await worker.stop();
    const ticksAtStop = seen.ticks;
    expect(seen.running).toBe(0);
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(seen.ticks).toBe(ticksAtStop);
  });

  it('does nothing with an interval of 0', async () => {
    const { seen, tick } = slowTicks(1);
    const worker = periodicWorker({ name: 'off', intervalMs: 0, tick, onError: () => undefined });
    worker.start();
    await new Promise((resolve) => setTimeout(resolve, 30));
    await worker.stop();
    expect(seen.ticks).toBe(0);
  });
});
