/** Prometheus metrics: one registry per service, with the HTTP RED metrics every service exposes. */
import type { RequestHandler } from 'express';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export interface ServiceMetrics {
  registry: Registry;
  httpRequests: Counter<'method' | 'route' | 'status'>;
  httpDuration: Histogram<'method' | 'route' | 'status'>;
  /** Requests refused by load shedding (503 overloaded), by why. */
  httpShed: Counter<'reason'>;
  httpInFlight: Gauge;
  httpQueued: Gauge;
}

export function createMetrics(service: string, { defaultMetrics = true } = {}): ServiceMetrics {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  if (defaultMetrics) collectDefaultMetrics({ register: registry });
  const httpRequests = new Counter({
    name: 'http_requests_total',
    help: 'HTTP requests answered, by route template and status.',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [registry],
  });
  const httpDuration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP request latency, by route template and status.',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  const httpShed = new Counter({
    name: 'http_requests_shed_total',
    help: 'Requests answered 503 overloaded at once (queue full) or after waiting (queue wait).',
    labelNames: ['reason'] as const,
    registers: [registry],
  });
  const httpInFlight = new Gauge({
    name: 'http_requests_in_flight',
    help: 'Requests being served now (bounded by MAX_IN_FLIGHT).',
    registers: [registry],
  });
  const httpQueued = new Gauge({
    name: 'http_requests_queued',
    help: 'Requests waiting for a place (bounded by MAX_QUEUED).',
    registers: [registry],
  });
  return { registry, httpRequests, httpDuration, httpShed, httpInFlight, httpQueued };
}

/** Records every request under its route template (never the raw path: ids would explode cardinality). */
export function metricsMiddleware(metrics: ServiceMetrics): RequestHandler {
  return (req, res, next) => {
    const end = metrics.httpDuration.startTimer();
    res.on('finish', () => {
      const routePath: unknown = (req.route as { path?: unknown } | undefined)?.path;
      const route = typeof routePath === 'string' ? `${req.baseUrl}${routePath}` : 'unmatched';
      const labels = { method: req.method, route, status: String(res.statusCode) };
      metrics.httpRequests.inc(labels);
      end(labels);
    });
    next();
  };
}
