/**
 * The internal listener: what operators and the orchestrator need but clients must not see.
 * `/metrics` (Prometheus) and the detailed readiness report (each check by name, its error) live on
 * a second Express app bound to `INTERNAL_HOST:INTERNAL_PORT` (loopback and a kernel-chosen port by
 * default; the chart binds the pod address on a fixed port for kubelet probes and Prometheus). The
 * public app keeps `/healthz` and a `/readyz` that says only ready or not ready.
 */
import express, { type Express, type RequestHandler } from 'express';
import { ProblemType } from '@wallet/contracts';
import { HttpProblem, sendProblem } from './errors.ts';
import type { ServiceMetrics } from './metrics.ts';
import { checkReadiness, type ReadinessCheck } from './readiness.ts';

/** Public `/readyz`: 200 `{status: "ready"}` or a 503 problem, with no names of checks or services. */
export function publicReadinessHandler(readiness: ReadinessCheck[]): RequestHandler {
  return async (req, res) => {
    const report = await checkReadiness(readiness);
    if (report.ready) {
      res.json({ status: 'ready' });
      return;
    }
    sendProblem(
      res,
      new HttpProblem({
        status: 503,
        type: ProblemType.notReady,
        title: 'Not ready',
        detail: 'Not ready to serve requests; try again shortly.',
        headers: { 'Retry-After': '5' },
      }),
      req.originalUrl.split('?', 1)[0],
    );
  };
}

export interface InternalAppOptions {
  service: string;
  metrics: ServiceMetrics;
  readiness: ReadinessCheck[];
}

export function createInternalApp(options: InternalAppOptions): Express {
  const app = express();
  app.disable('x-powered-by');
  app.get('/healthz', (_req, res) => {
    res.json({ status: 'alive', service: options.service });
  });
  app.get('/readyz', async (req, res) => {
    const report = await checkReadiness(options.readiness);
    if (report.ready) {
      res.json({ status: 'ready', service: options.service, checks: report.checks });
      return;
    }
    sendProblem(
      res,
      new HttpProblem({
        status: 503,
        type: ProblemType.notReady,
        title: 'Not ready',
        detail: `${options.service} is not ready.`,
        extensions: { service: options.service, checks: report.checks },
      }),
      req.originalUrl,
    );
  });
  app.get('/metrics', async (_req, res) => {
    res.type(options.metrics.registry.contentType).send(await options.metrics.registry.metrics());
  });
  app.use((req, res) => {
    sendProblem(
      res,
      new HttpProblem({
        status: 404,
        type: ProblemType.notFound,
        title: 'Not found',
        detail: 'The internal listener serves /healthz, /readyz and /metrics.',
      }),
      req.originalUrl,
    );
  });
  return app;
}
