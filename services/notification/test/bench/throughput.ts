/**
 * Measures events -> sent deliveries through the whole service (bus, inbox, rendering, worker, dev
 * outbox provider) on real PostgreSQL. Not a test: run by hand, prints a JSON line and a table.
 *   TEST_PG_ADMIN_URL=... npx node services/notification/test/bench/throughput.ts [events]
 */
import { availableParallelism } from 'node:os';
import { sql } from 'kysely';
import { newUser, startHarness } from '../integration/harness.ts';

const adminUrl = process.env['TEST_PG_ADMIN_URL'];
if (!adminUrl) throw new Error('TEST_PG_ADMIN_URL is required');
const events = Number(process.argv[2] ?? 1000);

const h = await startHarness(adminUrl, {
  EMAIL_RATE_PER_SECOND: '100000',
  DELIVERY_BATCH_SIZE: '50',
  DELIVERY_POLL_INTERVAL_MS: '50',
});
try {
  const started = performance.now();
  // e-mail verified: one e-mail per event without a one-time code (a code message also waits for
  // identity to mint the code, which this bench does not measure).
  await Promise.all(Array.from({ length: events }, () => h.publish('emailVerified', newUser())));
  for (;;) {
    const row = await h.svc.db
      .selectFrom('deliveries')
      .select(sql<string>`count(*)`.as('n'))
      .where('status', '=', 'sent')
      .executeTakeFirstOrThrow();
    if (Number(row.n) >= events) break;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  const seconds = (performance.now() - started) / 1000;
  const latency = await sql<{ p50: number; p95: number; p99: number }>`
    select percentile_cont(0.5) within group (order by ms) as p50,
           percentile_cont(0.95) within group (order by ms) as p95,
           percentile_cont(0.99) within group (order by ms) as p99
    from (select extract(epoch from (sent_at - created_at)) * 1000 as ms from deliveries) t`.execute(
    h.svc.db,
  );
  const l = latency.rows[0]!;
  const result = {
    bench: 'notification.events-to-sent',
    events,
    seconds: Number(seconds.toFixed(2)),
    perSecond: Math.round(events / seconds),
    queuedToSentMs: { p50: Math.round(l.p50), p95: Math.round(l.p95), p99: Math.round(l.p99) },
    machine: { cores: availableParallelism(), node: process.version },
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
  process.stdout.write(
    `events ${events} | ${result.perSecond}/s | queued->sent p50 ${result.queuedToSentMs.p50} ms p95 ${result.queuedToSentMs.p95} ms p99 ${result.queuedToSentMs.p99} ms | ${result.machine.cores} cores, Node ${result.machine.node}\n`,
  );
} finally {
  await h.stop();
}
