/**
 * The risk service under load, in its own process (as in production: the load generator must not
 * share its event loop). Started by `run.ts` over IPC: provisions a throw-away database on the
 * PostgreSQL named by the admin URL, seeds warm profiles, and reports its URL and a ledger signing key.
 */
import { startTestService } from '@wallet/service-testing';
import { service } from '@wallet/risk';

interface SeedMessage {
  kind: 'seed';
  users: string[];
}

const adminUrl = process.env['BENCH_PG_ADMIN_URL'] ?? process.env['TEST_PG_ADMIN_URL'];
if (!adminUrl) throw new Error('set BENCH_PG_ADMIN_URL (or TEST_PG_ADMIN_URL) to a PostgreSQL admin URL');

const risk = await startTestService(service, {
  adminUrl,
  env: { LOG_LEVEL: 'silent', DATABASE_POOL_MAX: '10' },
});

async function seed(users: string[]): Promise<void> {
  const now = new Date();
  for (let i = 0; i < users.length; i += 1000) {
    const chunk = users.slice(i, i + 1000);
    await risk.db
      .insertInto('amount_stats')
      .values(
        chunk.map((u) => ({
          user_id: u,
          currency: 'EUR',
          recent_amounts: JSON.stringify(['1000', '1500', '2000', '2500', '3000']),
          sample_count: 5,
          median: '2000',
          mad: '500',
          updated_at: now,
        })),
      )
      .execute();
    await risk.db
      .insertInto('known_counterparties')
      .values(
        chunk.map((u) => ({
          user_id: u,
          counterparty: `w-${u}-friend`,
          first_seen_at: now,
          last_seen_at: now,
          times: 3,
        })),
      )
      .execute();
    await risk.db
      .insertInto('known_devices')
      .values(chunk.map((u) => ({ user_id: u, device_id: `d-${u}`, first_seen_at: now, last_seen_at: now })))
      .execute();
  }
}

process.on('message', (message: SeedMessage | { kind: 'stop' }) => {
  if (message.kind === 'seed') {
    seed(message.users).then(
      () => process.send?.({ kind: 'seeded' }),
      (error: unknown) => process.send?.({ kind: 'error', error: String(error) }),
    );
  } else {
    risk.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  }
});

process.send?.({
  kind: 'ready',
  url: risk.url,
  internalUrl: risk.internalUrl,
  ledgerKey: risk.keyring['wallet-ledger'].privateJwk,
});
