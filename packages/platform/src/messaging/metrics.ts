/**
 * Prometheus metrics of the outbox relay. Several relays may share one registry (the embedded host
 * runs five services in one process), so the metric objects are created once per registry and every
 * series carries the publishing app's id.
 */
import { Counter, Gauge } from 'prom-client';
import type { Registry } from 'prom-client';

export interface OutboxMetrics {
  published: Counter<'app'>;
  failed: Counter<'app'>;
  dead: Counter<'app'>;
  lag: Gauge<'app'>;
  /** app id -> reads the age in seconds of its oldest pending row (0 when none). */
  lagReaders: Map<string, () => Promise<number>>;
}

const byRegistry = new WeakMap<Registry, OutboxMetrics>();

export function outboxMetrics(registry: Registry): OutboxMetrics {
  const existing = byRegistry.get(registry);
  if (existing) return existing;
  const lagReaders = new Map<string, () => Promise<number>>();
  const metrics: OutboxMetrics = {
    lagReaders,
    published: new Counter({
      name: 'outbox_published_total',
      help: 'Outbox rows published to the broker (committed as published).',
      labelNames: ['app'],
      registers: [registry],
    }),
    failed: new Counter({
      name: 'outbox_publish_failures_total',
      help: 'Failed publish attempts of outbox rows (each one scheduled for a retry or dead-lettered).',
      labelNames: ['app'],
      registers: [registry],
    }),
    dead: new Counter({
      name: 'outbox_dead_total',
      help: 'Outbox rows marked dead after exhausting their publish attempts.',
      labelNames: ['app'],
      registers: [registry],
    }),
    lag: new Gauge({
      name: 'outbox_lag_seconds',
      help: 'Age of the oldest pending outbox row (0 when nothing is pending).',
      labelNames: ['app'],
      registers: [registry],
      // Read at scrape time, so a stalled relay shows a growing lag instead of a frozen value.
      async collect() {
        for (const [app, read] of lagReaders) {
          try {
            this.set({ app }, await read());
          } catch {
            // Database unreachable during a scrape: keep the last value rather than fail the scrape.
          }
        }
      },
    }),
  };
  byRegistry.set(registry, metrics);
  return metrics;
}
