/** The delivery worker's metrics: attempts by outcome, provider latency, and the backlog read at scrape time. */
import type { ServiceMetrics } from '@wallet/service-kit';
import { sql, type Kysely } from 'kysely';
import { Counter, Gauge, Histogram } from 'prom-client';
import type { NotificationDatabase } from '../db/schema.ts';

export interface WorkerMetrics {
  attempts: Counter<'channel' | 'provider' | 'outcome'>;
  duration: Histogram<'channel' | 'provider'>;
  backlog: Gauge<'channel' | 'status'>;
}

export function workerMetrics(metrics: ServiceMetrics, db: Kysely<NotificationDatabase>): WorkerMetrics {
  const registers = [metrics.registry];
  return {
    attempts: new Counter({
      name: 'notification_delivery_attempts_total',
      help: 'Provider send attempts by outcome (sent, transient, permanent).',
      labelNames: ['channel', 'provider', 'outcome'],
      registers,
    }),
    duration: new Histogram({
      name: 'notification_provider_duration_seconds',
      help: 'Duration of provider send calls.',
      labelNames: ['channel', 'provider'],
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    }),
    backlog: new Gauge({
      name: 'notification_deliveries',
      help: 'Deliveries waiting (pending, sending) or given up (dead), read at scrape time.',
      labelNames: ['channel', 'status'],
      registers,
      async collect() {
        try {
          const rows = await db
            .selectFrom('deliveries')
            .select(['channel', 'status', sql<string>`count(*)`.as('n')])
            .where('status', 'in', ['pending', 'sending', 'dead'])
            .groupBy(['channel', 'status'])
            .execute();
          this.reset();
          for (const row of rows) this.set({ channel: row.channel, status: row.status }, Number(row.n));
        } catch {
          // Database unreachable during a scrape: keep the last values.
        }
      },
    }),
  };
}
