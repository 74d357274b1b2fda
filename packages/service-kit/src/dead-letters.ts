/**
 * The dead-letter admin endpoints every service with an outbox or subscriptions serves, so the
 * gateway can list and replay across services: `GET /admin/dead-letters` (support or admin) and
 * `POST /admin/dead-letters/replay` (admin), both on a stepped-up session. Answers never carry the
 * message payload: events such as identity's carry one-time codes.
 */
import type { Express } from 'express';
import type { Kysely } from 'kysely';
import { z } from 'zod';
import { cursorParamSchema, type AppId } from '@wallet/contracts';
import {
  listDeadLetters,
  replayDeadLetters,
  type DeadLetter,
  type MessagingTables,
  type Platform,
  type ReplayResult,
  type ReplaySelector,
} from '@wallet/platform';
import { parseOrThrow } from './errors.ts';
import { requireRole, requireStepUp } from './internal-auth.ts';

const deadLetterId = z.string().regex(/^[1-9][0-9]{0,18}$/, 'dead-letter ids are decimal integers');

export const deadLetterQuerySchema = z.object({
  /** The gateway asks every service; a service answers an empty page for another's name. */
  service: z.string().max(64).optional(),
  topic: z.string().min(1).max(200).optional(),
  consumer: z.string().min(1).max(64).optional(),
  origin: z.enum(['outbox', 'subscription']).optional(),
  state: z.enum(['pending', 'replayed', 'all']).default('pending'),
  limit: z.coerce.number().int().min(1).max(500).default(50),
  cursor: cursorParamSchema.optional(),
});

export const deadLetterReplaySchema = z.union([
  z.strictObject({ ids: z.array(deadLetterId).min(1).max(1000), service: z.string().max(64).optional() }),
  z.strictObject({
    service: z.string().max(64).optional(),
    topic: z.string().min(1).max(200).optional(),
    limit: z.coerce.number().int().min(1).max(1000).optional(),
  }),
]);

export interface DeadLetterView {
  id: string;
  service: string;
  origin: string;
  consumer: string;
  topic: string;
  eventId: string;
  eventType: string;
  lastError: string | null;
  attempts: number;
  createdAt: string;
  updatedAt: string;
  replayedAt: string | null;
  replayCount: number;
}

export function deadLetterView(service: string, letter: DeadLetter): DeadLetterView {
  return {
    id: String(letter.id),
    service,
    origin: letter.origin,
    consumer: letter.consumer,
    topic: letter.topic,
    eventId: letter.eventId,
    eventType: letter.event.type,
    lastError: letter.lastError,
    attempts: letter.attempts,
    createdAt: letter.createdAt.toISOString(),
    updatedAt: letter.updatedAt.toISOString(),
    replayedAt: letter.replayedAt?.toISOString() ?? null,
    replayCount: letter.replayCount,
  };
}

export interface DeadLetterRoutesOptions<DB extends MessagingTables> {
  appId: AppId;
  db: Kysely<DB>;
  platform: Platform;
  /** A service whose own dead letters need more than a republish (notification's deliveries). */
  replay?: (selector: ReplaySelector) => Promise<ReplayResult>;
}

export function mountDeadLetterRoutes<DB extends MessagingTables>(
  app: Express,
  options: DeadLetterRoutesOptions<DB>,
): void {
  const { appId, db, platform } = options;
  const replay = options.replay ?? ((selector: ReplaySelector) => replayDeadLetters(db, platform, selector));

  app.get('/admin/dead-letters', async (req, res) => {
    requireRole(res, 'support');
    requireStepUp(res);
    const query = parseOrThrow(deadLetterQuerySchema, req.query, 'query');
    if (query.service !== undefined && query.service !== appId) {
      res.json({ items: [], nextCursor: null });
      return;
    }
    const page = await listDeadLetters(db, {
      state: query.state,
      limit: query.limit,
      ...(query.topic !== undefined ? { topic: query.topic } : {}),
      ...(query.consumer !== undefined ? { consumer: query.consumer } : {}),
      ...(query.origin !== undefined ? { origin: query.origin } : {}),
      ...(query.cursor !== undefined ? { cursor: query.cursor } : {}),
    });
    res.json({
      items: page.items.map((letter) => deadLetterView(appId, letter)),
      nextCursor: page.nextCursor,
    });
  });

  app.post('/admin/dead-letters/replay', async (req, res) => {
    const caller = requireRole(res, 'admin');
    requireStepUp(res);
    const body = parseOrThrow(deadLetterReplaySchema, req.body, 'body');
    if (body.service !== undefined && body.service !== appId) {
      res.json({ replayed: [], failed: [] });
      return;
    }
    const result = await replay(
      'ids' in body
        ? { ids: body.ids }
        : {
            ...(body.topic !== undefined ? { topic: body.topic } : {}),
            ...(body.limit !== undefined ? { limit: body.limit } : {}),
          },
    );
    req.log.info(
      { by: caller.sub, replayed: result.replayed.length, failed: result.failed.length },
      'dead letters replayed',
    );
    res.json(result);
  });
}
