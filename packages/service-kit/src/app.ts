/**
 * Builds a service's Express app (no listening, no globals) so tests can mount it: helmet, request
 * ids, pino-http, RED metrics, `/healthz`, a terse `/readyz` (details and `/metrics` are on the internal
 * listener), the sidecar's app-token check, the sidecar's delivery routes, load shedding (bounded work in
 * flight), JSON parsing, the request's time budget, the service's routes, then problem+json for 404s and errors.
 */
import { randomUUID, timingSafeEqual } from 'node:crypto';
import express, { type Express, type RequestHandler, type Router } from 'express';
import helmet from 'helmet';
import { pinoHttp } from 'pino-http';
import { ProblemType } from '@wallet/contracts';
import { HttpProblem, notFoundHandler, problemErrorHandler, sendProblem } from './errors.ts';
import type { Logger } from './logger.ts';
import { metricsMiddleware, type ServiceMetrics } from './metrics.ts';
import type { ReadinessCheck } from './readiness.ts';
import { publicReadinessHandler } from './internal-app.ts';
import { createLoadShedder } from './load-shed.ts';
import {
  remainingRequestBudgetMs,
  requestDeadline,
  stampArrival,
  type RequestBudgetOptions,
} from './request-budget.ts';

export interface ServiceAppOptions {
  service: string;
  logger: Logger;
  metrics: ServiceMetrics;
  readiness: ReadinessCheck[];
  /** Mounts the service's own routes. */
  routes: (app: Express) => void;
  /** Routers mounted before JSON parsing of the service routes, e.g. Dapr's subscription routes. */
  sidecarRouters?: Router[];
  /** When set, every call except health and metrics must carry it in `dapr-api-token`. */
  appApiToken?: string | undefined;
  /** Largest JSON body accepted. */
  bodyLimit?: string;
  /**
   * Replaces the default JSON parser: handlers that run before the routes and parse the body
   * themselves (the gateway screens requests and keeps raw bytes for signature checks).
   */
  bodyParsers?: RequestHandler[];
  /** Express `trust proxy` (only the gateway behind an ingress sets it). */
  trustProxy?: boolean | string | string[];
  /** Each request's time budget (see request-budget.ts). Default 5 s, caller's deadline trusted. */
  requestBudget?: RequestBudgetOptions;
  /** Bounded work in flight (see load-shed.ts). Default 32 in flight, 64 queued, 1 s wait at most. */
  loadShed?: { maxInFlight: number; maxQueued: number; maxQueueWaitMs: number };
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;
const UNAUTHENTICATED_PATHS = new Set(['/healthz', '/readyz']);

function constantTimeEqual(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

function appTokenCheck(expected: string): RequestHandler {
  return (req, res, next) => {
    if (UNAUTHENTICATED_PATHS.has(req.path)) {
      next();
      return;
    }
    const presented = req.get('dapr-api-token');
    if (presented && constantTimeEqual(presented, expected)) {
      next();
      return;
    }
    sendProblem(
      res,
      new HttpProblem({
        status: 401,
        type: ProblemType.unauthenticated,
        title: 'Unauthenticated',
        detail: 'Calls into this app must come through its sidecar.',
      }),
      req.originalUrl,
    );
  };
}

export function createServiceApp(options: ServiceAppOptions): Express {
  const app = express();
  const budget = options.requestBudget ?? { budgetMs: 5_000, trustCallerDeadline: true };
  const limits = options.loadShed ?? { maxInFlight: 32, maxQueued: 64, maxQueueWaitMs: 1_000 };
  const shedder = createLoadShedder({
    ...limits,
    remainingBudgetMs: (req) => remainingRequestBudgetMs(req, budget),
    metrics: {
      shed: options.metrics.httpShed,
      inFlight: options.metrics.httpInFlight,
      queued: options.metrics.httpQueued,
    },
  });
  app.use(stampArrival);
  app.disable('x-powered-by');
  app.set('trust proxy', options.trustProxy ?? false);
  app.use(helmet());
  app.use(
    pinoHttp({
      logger: options.logger,
      genReqId(req, res) {
        const inbound = req.headers['x-request-id'];
        const id = typeof inbound === 'string' && REQUEST_ID.test(inbound) ? inbound : randomUUID();
        res.setHeader('X-Request-Id', id);
        return id;
      },
      customProps: (req) => ({ request_id: req.id }),
      autoLogging: { ignore: (req) => UNAUTHENTICATED_PATHS.has(req.url ?? '') },
      customLogLevel: (_req, res, err) => (err || res.statusCode >= 500 ? 'error' : 'info'),
      serializers: {
        req: (req: { id: unknown; method: string; url: string }) => ({
          id: req.id,
          method: req.method,
          url: req.url,
        }),
        res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
      },
    }),
  );
  app.use(metricsMiddleware(options.metrics));

  // The public face says alive / ready or not, nothing more: the detailed report and /metrics are
  // on the internal listener (internal-app.ts).
  app.get('/healthz', (_req, res) => {
    res.json({ status: 'alive' });
  });
  app.get('/readyz', publicReadinessHandler(options.readiness));

  if (options.appApiToken) app.use(appTokenCheck(options.appApiToken));
  // Deliveries from the sidecar are not shed: the broker bounds them, and a 503 would dead-letter them.
  for (const router of options.sidecarRouters ?? []) app.use(router);
  // Shed before parsing a body: a refused request should cost next to nothing.
  app.use(shedder.middleware);
  if (options.bodyParsers) app.use(...options.bodyParsers);
  else app.use(express.json({ limit: options.bodyLimit ?? '64kb', strict: true }));
  app.use(requestDeadline(budget));
  options.routes(app);
  app.use(notFoundHandler);
  app.use(problemErrorHandler);
  return app;
}
