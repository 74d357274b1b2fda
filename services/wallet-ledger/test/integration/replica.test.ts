/**
 * Read-only queries (history, balance at a time) on a real PostgreSQL streaming replica, with its lag
 * handled: while the replica is fresh they are served there; when its replay falls behind (paused
 * here) they move to the primary, so a client never reads history older than the lag budget; and a
 * movement's own answer always comes from the primary.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { infraEnv, waitFor } from '@wallet/testing';
import { idem, startLedger, type Ledger } from './helpers.ts';

const adminUrl = infraEnv('TEST_PG_ADMIN_URL');
const replicaAdminUrl = infraEnv('TEST_PG_REPLICA_URL');

async function onReplica<T extends pg.QueryResultRow>(sql: string, params: unknown[] = []): Promise<T[]> {
  const client = new pg.Client({ connectionString: replicaAdminUrl });
  await client.connect();
  try {
    return (await client.query<T>(sql, params)).rows;
  } finally {
    await client.end();
  }
}

describe.skipIf(!adminUrl || !replicaAdminUrl)('wallet-ledger on a read replica', () => {
  let ledger: Ledger;
  let database: string;

  beforeAll(async () => {
    const replica = new URL(replicaAdminUrl!);
    ledger = await startLedger(
      adminUrl!,
      { DATABASE_READ_LAG_CHECK_MS: '100', DATABASE_READ_MAX_LAG_MS: '1500' },
      { readReplica: replica.host },
    );
    database = ledger.svc.database.database;
    const handles = ledger.svc.running.context.database;
    // The new database and its migrations reach the replica asynchronously; reads wait for it.
    await waitFor(() => handles.reader() === handles.readDb, {
      timeoutMs: 20_000,
      what: 'the replica to be usable',
    });
  }, 60_000);

  afterAll(async () => {
    await onReplica('select pg_wal_replay_resume()').catch(() => undefined);
    await ledger?.stop();
  });

  it('serves history from the replica while it keeps up', async () => {
    const alice = await ledger.openWallet('alice');
    const bob = await ledger.openWallet('bob');
    await ledger.deposit(alice, 10_000);
    const sent = await ledger
      .user('alice')
      .post<{ transferId: string }>(
        '/transfers',
        { fromWalletId: alice, toWalletId: bob, amount: '1500', currency: 'EUR' },
        { headers: idem() },
      );
    expect(sent.status).toBe(201);
    await waitFor(
      async () => {
        const history = await ledger
          .user('bob')
          .get<{ items: { transactionId: string }[] }>(`/wallets/${bob}/transactions`);
        return history.body.items.some((t) => t.transactionId === sent.body.transferId);
      },
      { what: 'the transfer in the payee history' },
    );
    const sessions = await onReplica<{ n: string }>(
      "select count(*) as n from pg_stat_activity where datname = $1 and application_name = 'wallet-ledger'",
      [database],
    );
    expect(Number(sessions[0]?.n)).toBeGreaterThan(0);
  });

  it('moves reads to the primary when the replica falls behind, and answers movements from the primary', async () => {
    const alice = await ledger.openWallet('carol');
    const bob = await ledger.openWallet('dave');
    await ledger.deposit(alice, 10_000);
    const handles = ledger.svc.running.context.database;
    await waitFor(() => handles.reader() === handles.readDb, { what: 'the replica to be in use' });

    await onReplica('select pg_wal_replay_pause()');
    try {
      const sent = await ledger
        .user('carol')
        .post<{ transferId: string; status: string }>(
          '/transfers',
          { fromWalletId: alice, toWalletId: bob, amount: '2500', currency: 'EUR' },
          { headers: idem() },
        );
      // The movement's own answer never depends on the replica.
      expect(sent.status).toBe(201);
      expect(sent.body.status).toBe('completed');
      const own = await ledger
        .user('carol')
        .get<{ transferId: string }>(`/transfers/${sent.body.transferId}`);
      expect(own.status).toBe(200);

      // The paused replica cannot have the transfer; once its lag passes the budget, reads leave it.
      await waitFor(() => handles.reader() === handles.db, {
        timeoutMs: 10_000,
        what: 'reads to move to the primary',
      });
      const history = await ledger
        .user('dave')
        .get<{ items: { transactionId: string }[] }>(`/wallets/${bob}/transactions`);
      expect(history.body.items.map((t) => t.transactionId)).toContain(sent.body.transferId);
    } finally {
      await onReplica('select pg_wal_replay_resume()');
    }
    await waitFor(() => handles.reader() === handles.readDb, {
      timeoutMs: 20_000,
      what: 'the replica to be used again',
    });
  }, 60_000);
});
