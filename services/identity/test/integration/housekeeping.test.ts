/**
 * Housekeeping runs on a timer, and a tick that outlasts the interval must not let the next one start:
 * two ticks at once would double the deletes' load exactly when the database is slow. Proven on the
 * real database by holding a lock that makes a tick wait, then counting the ticks waiting for it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { infraEnv, waitFor } from '@wallet/testing';
import type { PeriodicWorker } from '@wallet/service-kit';
import { startIdentity, type IdentityTestService } from './helpers.ts';

const adminUrl = infraEnv('TEST_PG_ADMIN_URL');

describe.skipIf(!adminUrl)('identity: housekeeping worker', () => {
  let svc: IdentityTestService;
  beforeAll(async () => {
    svc = await startIdentity(adminUrl!, { HOUSEKEEPING_INTERVAL_SECONDS: '1' });
  });
  afterAll(async () => {
    await svc?.stop();
  });

  /** Lock requests on mfa_challenges that are still waiting: one per housekeeping tick stuck behind our lock. */
  const waitingTicks = async (): Promise<number> => {
    const { rows } = await sql<{ waiting: number }>`
      select count(*)::int as waiting from pg_locks
      where relation = 'mfa_challenges'::regclass and not granted`.execute(svc.ownerDb);
    return rows[0]?.waiting ?? 0;
  };

  it('never starts a tick while the last one still runs', async () => {
    const worker = svc.running.parts.workers?.find((w) => w.name === 'housekeeping') as PeriodicWorker;
    expect(worker).toBeDefined();
    await svc.ownerDb.transaction().execute(async (trx) => {
      await sql`lock table mfa_challenges in access exclusive mode`.execute(trx);
      await waitFor(async () => (await waitingTicks()) >= 1, { timeoutMs: 5_000, what: 'a tick to block' });
      // Three more intervals pass while that tick is stuck: a timer that does not wait for it would
      // have started three more ticks by now, each waiting on the same lock.
      await new Promise((resolve) => setTimeout(resolve, 3_200));
      expect(await waitingTicks()).toBe(1);
    });
    // Released, the stuck tick finishes and the next ones run again one by one.
    await waitFor(async () => (await waitingTicks()) === 0, { timeoutMs: 5_000, what: 'the tick to finish' });
    await worker.runNow();
  });
});
