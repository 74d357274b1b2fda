import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { runWithDeadline } from '@wallet/platform';
import { createWorkLimiter, WorkOverloadedError } from '../../src/work-limiter.ts';

/** A job that takes `ms` and records how many jobs ran beside it. */
function jobs() {
  let running = 0;
  let most = 0;
  const order: number[] = [];
  return {
    job: (id: number, ms: number) => async () => {
      running += 1;
      most = Math.max(most, running);
      await sleep(ms);
      running -= 1;
      order.push(id);
      return id;
    },
    most: () => most,
    order,
  };
}

describe('work limiter', () => {
  it('runs at most `concurrency` jobs at once, the others in arrival order', async () => {
    const limiter = createWorkLimiter({ what: 'hashing', concurrency: 2 });
    const probe = jobs();
    const results = await Promise.all([1, 2, 3, 4, 5, 6].map((id) => limiter.run(probe.job(id, 20))));
    expect(results).toEqual([1, 2, 3, 4, 5, 6]);
    expect(probe.most()).toBe(2);
    expect(probe.order.slice(2)).toEqual([3, 4, 5, 6]);
    expect(limiter.load()).toEqual({ running: 0, queued: 0 });
  });

  it('refuses a job that could not start while its request can still use the answer, and starts nothing for it', async () => {
    const limiter = createWorkLimiter({ what: 'hashing', concurrency: 1, retryAfterSeconds: 2 });
    const probe = jobs();
    await limiter.run(probe.job(0, 40)); // teaches the limiter that a job takes about 40 ms
    const long = limiter.run(probe.job(1, 600));
    // 400 ms of budget, a job takes ~40 ms, 100 ms kept for the rest: it may wait ~260 ms, but the slot frees after 600 ms.
    const started = performance.now();
    const refused = runWithDeadline(400, () => limiter.run(probe.job(2, 40)));
    await expect(refused).rejects.toBeInstanceOf(WorkOverloadedError);
    await expect(refused).rejects.toMatchObject({ retryAfterSeconds: 2 });
    // Refused after waiting what the budget allowed, before the running job freed the slot.
    expect(performance.now() - started).toBeGreaterThan(200);
    expect(probe.order).toEqual([0]);
    // A job with enough budget waits its turn and runs.
    await expect(runWithDeadline(2_000, () => limiter.run(probe.job(3, 10)))).resolves.toBe(3);
    await long;
    expect(probe.order).toEqual([0, 1, 3]);
  });

  it('refuses at once when the queue is full or the budget is already spent', async () => {
    const limiter = createWorkLimiter({ what: 'hashing', concurrency: 1, maxQueued: 1 });
    const probe = jobs();
    const first = limiter.run(probe.job(1, 50));
    const second = limiter.run(probe.job(2, 10));
    await expect(limiter.run(probe.job(3, 10))).rejects.toBeInstanceOf(WorkOverloadedError);
    await expect(runWithDeadline(0, () => limiter.run(probe.job(4, 10)))).rejects.toBeInstanceOf(
      WorkOverloadedError,
    );
    await expect(Promise.all([first, second])).resolves.toEqual([1, 2]);
    expect(probe.order).toEqual([1, 2]);
  });

  it('refuses at once a job whose place in the queue says it cannot start in time', async () => {
    const limiter = createWorkLimiter({ what: 'hashing', concurrency: 1 });
    const probe = jobs();
    await limiter.run(probe.job(0, 60)); // a job takes about 60 ms
    const running = limiter.run(probe.job(1, 60));
    const queued = [2, 3, 4].map((id) => limiter.run(probe.job(id, 60)));
    // 400 ms of budget less ~60 ms for the job and ~100 ms for the rest: ~240 ms to start; four jobs ahead need ~240 ms.
    const started = performance.now();
    await expect(runWithDeadline(400, () => limiter.run(probe.job(5, 60)))).rejects.toBeInstanceOf(
      WorkOverloadedError,
    );
    expect(performance.now() - started).toBeLessThan(50);
    await Promise.all([running, ...queued]);
    expect(probe.order).toEqual([0, 1, 2, 3, 4]);
  });

  it('frees its slot when a job fails', async () => {
    const limiter = createWorkLimiter({ what: 'hashing', concurrency: 1 });
    await expect(limiter.run(() => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    await expect(limiter.run(() => Promise.resolve('next'))).resolves.toBe('next');
  });
});
