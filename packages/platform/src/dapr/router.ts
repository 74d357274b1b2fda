/**
 * What daprd calls on the app for pub/sub: `GET /dapr/subscribe` (programmatic subscriptions) and one
 * POST route per topic. Served from the service's own Express app instead of the SDK's DaprServer,
 * whose callback wrapper acknowledges SUCCESS when a handler throws (the message would be lost).
 *
 * Answers follow daprd's contract: 200 `{"status": "SUCCESS" | "RETRY" | "DROP"}`. A throwing handler
 * answers RETRY; an envelope that can never be parsed answers DROP, which sends it to the
 * subscription's dead-letter topic where an operator can see it.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import express from 'express';
import type { ErrorRequestHandler, NextFunction, Request, RequestHandler, Response, Router } from 'express';
import { cloudEventSchema, ProblemType } from '@wallet/contracts';
import type { CloudEvent } from '@wallet/contracts';
import { describeError } from '../logger.ts';
import type { SubscriptionStatus } from '../port.ts';
import { traceConsume } from '../tracing.ts';
import { daprPlatformInternals } from './platform.ts';
import type { DaprPlatform } from './platform.ts';

export interface DaprSubscriptionRouterOptions {
  /** APP_API_TOKEN: when set, every request must carry it in `dapr-api-token` or is refused 401. */
  appApiToken?: string;
  /** Largest event body accepted. Default `1mb`. */
  bodyLimit?: string;
}

/** Where daprd posts events of `topic`. */
export const EVENT_ROUTE_PREFIX = '/dapr/events/';

export function eventRouteFor(topic: string): string {
  return `${EVENT_ROUTE_PREFIX}${encodeURIComponent(topic)}`;
}

const STATUSES: ReadonlySet<string> = new Set<SubscriptionStatus>(['SUCCESS', 'RETRY', 'DROP']);

function digest(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}

/**
 * Express middleware refusing requests whose `dapr-api-token` header is not `token` (constant-time
 * comparison of digests, so neither content nor length leaks). Services can put it in front of
 * routes that only daprd may call.
 */
export function requireAppApiToken(token: string): RequestHandler {
  if (token.length === 0) throw new TypeError('requireAppApiToken: token must not be empty');
  const expected = digest(token);
  return (req: Request, res: Response, next: NextFunction): void => {
    const presented = req.get('dapr-api-token');
    if (presented !== undefined && timingSafeEqual(digest(presented), expected)) {
      next();
      return;
    }
    res.status(401).type('application/problem+json').json({
      type: ProblemType.unauthenticated,
      title: 'Unauthenticated',
      status: 401,
      detail: 'missing or wrong dapr-api-token',
    });
  };
}

export function daprSubscriptionRouter(
  platform: DaprPlatform,
  options: DaprSubscriptionRouterOptions = {},
): Router {
  const own = daprPlatformInternals(platform);
  const { logger } = own;
  const router = express.Router();

  // Guard only this router's own routes: it is mounted at the app root, in front of the service's routes.
  const guard: RequestHandler[] =
    options.appApiToken === undefined ? [] : [requireAppApiToken(options.appApiToken)];

  router.get('/dapr/subscribe', ...guard, (_req, res) => {
    own.announced = true;
    res.json(
      platform.subscriptions().map((s) => ({
        pubsubname: platform.pubsubName,
        topic: s.topic,
        route: eventRouteFor(s.topic),
        ...(s.deadLetterTopic === undefined ? {} : { deadLetterTopic: s.deadLetterTopic }),
      })),
    );
  });

  const parseEvent = express.json({
    type: ['application/cloudevents+json', 'application/json', 'application/*+json'],
    limit: options.bodyLimit ?? '1mb',
  });

  const answer = (res: Response, status: SubscriptionStatus): void => {
    res.status(200).json({ status });
  };

  router.post(`${EVENT_ROUTE_PREFIX}:topic`, ...guard, parseEvent, async (req, res) => {
    const topic = req.params['topic'];
    const subscription = typeof topic === 'string' ? own.byTopic.get(topic) : undefined;
    if (!subscription) {
      // Not announced by this app: a 404 tells daprd to drop (dead-letter) rather than retry forever.
      res.status(404).type('application/problem+json').json({
        type: ProblemType.notFound,
        title: 'No subscription for this topic',
        status: 404,
      });
      return;
    }
    const parsed = cloudEventSchema.safeParse(req.body);
    if (!parsed.success) {
      logger.error(
        {
          topic: subscription.topic,
          issues: parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`),
        },
        'delivery is not a CloudEvent; answering DROP',
      );
      answer(res, 'DROP');
      return;
    }
    const event = parsed.data as CloudEvent<unknown>;
    const where = { topic: subscription.topic, eventId: event.id, type: event.type };
    const status = await traceConsume(
      event,
      { topic: subscription.topic, consumer: platform.appId },
      async (span): Promise<SubscriptionStatus> => {
        let outcome: SubscriptionStatus;
        try {
          const result: unknown = await subscription.handler(event);
          if (typeof result === 'string' && STATUSES.has(result)) {
            outcome = result as SubscriptionStatus;
          } else {
            logger.error(
              { ...where, answer: String(result) },
              'handler answered no valid status; answering RETRY',
            );
            outcome = 'RETRY';
          }
        } catch (error) {
          // Never acknowledge a failure: the message comes back (and reaches the dead-letter topic in the end).
          logger.warn({ ...where, err: describeError(error) }, 'handler threw; answering RETRY');
          outcome = 'RETRY';
        }
        span.setAttribute('wallet.delivery.status', outcome);
        return outcome;
      },
    );
    if (status !== 'SUCCESS') logger.debug({ ...where, status }, 'delivery not acknowledged');
    answer(res, status);
  });

  // Body errors on an event route: malformed JSON or an oversized body can never succeed, so DROP
  // (to the dead-letter topic) instead of a 4xx that daprd would retry forever.
  const bodyErrors: ErrorRequestHandler = (error: unknown, req, res, next) => {
    if (!req.path.startsWith(EVENT_ROUTE_PREFIX) || res.headersSent) {
      next(error);
      return;
    }
    logger.error({ path: req.path, err: describeError(error) }, 'unreadable delivery body; answering DROP');
    answer(res, 'DROP');
  };
  router.use(bodyErrors);

  return router;
}
