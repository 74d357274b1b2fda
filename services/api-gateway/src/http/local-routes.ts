/** Routes the gateway answers itself: browser login/logout, the audit log, dead-letter aggregation, the merged OpenAPI document. */
import { ProblemType, type AppId } from '@wallet/contracts';
import { listDeadLetters, replayDeadLetters, type Platform } from '@wallet/platform';
import { HttpProblem, parseOrThrow } from '@wallet/service-kit';
import type { Kysely } from 'kysely';
import { z } from 'zod';
import { auditQuerySchema, listAudit } from '../audit/audit-log.ts';
import type { GatewayDatabase } from '../db/schema.ts';
import { SESSION_COOKIE } from '../web/sessions.ts';
import type { LocalContext, LocalHandler } from './pipeline/types.ts';
import { clearBrowserCookies, sessionCookieOptions } from './pipeline/browser-session.ts';
import { internalSubjectFor } from './pipeline/subject.ts';
import { relayResponse } from './forward.ts';
import type { OpenApiAggregator } from './openapi.ts';
import { ANONYMOUS } from '../auth/principal.ts';

export const webLoginSchema = z.union([
  z
    .object({
      // The limits identity applies (its login schema), so the gateway never passes on what identity refuses.
      email: z.string().max(254).regex(z.regexes.email, 'must be an e-mail address'),
      password: z.string().min(1).max(1024),
      deviceName: z.string().min(1).max(100).optional(),
    })
    .strict(),
  z.object({ mfaToken: z.string().min(1).max(256), code: z.string().min(6).max(32) }).strict(),
  // A passkey's answer to `POST /v1/auth/passkey/options` (passwordless, or with the password step's
  // mfaToken); identity checks its shape and verifies it.
  z
    .object({
      challengeId: z.string().min(1).max(64),
      credential: z.record(z.string(), z.unknown()),
      mfaToken: z.string().min(1).max(256).optional(),
      deviceName: z.string().min(1).max(100).optional(),
    })
    .strict(),
]);

/** The identity route a browser's sign-in body goes to: password, second-factor code, or passkey. */
function identityLoginPath(body: z.infer<typeof webLoginSchema>): string {
  if ('credential' in body) return '/auth/passkey/login';
  return 'mfaToken' in body ? '/auth/login/mfa' : '/auth/login';
}

export const webLoginAnswerSchema = z.object({
  csrfToken: z.string(),
  expiresIn: z.number().int(),
  sessionId: z.string(),
});

const tokenAnswerSchema = z.object({
  accessToken: z.string().min(1),
  refreshToken: z.string().min(1),
  expiresIn: z.number().int().positive(),
  sessionId: z.string().min(1),
});

export const DEAD_LETTER_SERVICES = [
  'identity',
  'wallet-ledger',
  'risk',
  'notification',
  'api-gateway',
] as const;
type DeadLetterService = (typeof DEAD_LETTER_SERVICES)[number];

export const deadLetterQuerySchema = z.object({
  service: z.enum(DEAD_LETTER_SERVICES).optional(),
  topic: z.string().min(1).max(200).optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
});

export const replayBodySchema = z.union([
  z
    .object({
      // What every service's dead-letter store takes (service-kit's replay schema): a decimal row id.
      ids: z
        .array(z.string().regex(/^[1-9][0-9]{0,18}$/, 'dead-letter ids are decimal integers'))
        .min(1)
        // The WAF refuses longer JSON arrays (WAF_MAX_ARRAY_LENGTH, 500), so the document says 500.
        .max(500),
      // Dead-letter ids are per service: ids without their service would replay unrelated messages elsewhere.
      service: z.enum(DEAD_LETTER_SERVICES),
    })
    .strict(),
  z.object({ service: z.enum(DEAD_LETTER_SERVICES), topic: z.string().min(1).max(200).optional() }).strict(),
]);

async function webLogin(ctx: LocalContext): Promise<number> {
  const { req, res, deps, csrf } = ctx;
  const body = parseOrThrow(webLoginSchema, req.body, 'body');
  const answer = await deps.forwarder.call(req, {
    appId: 'identity',
    method: 'POST',
    path: identityLoginPath(body),
    subject: internalSubjectFor(req, ANONYMOUS),
    body,
  });
  const tokens = tokenAnswerSchema.safeParse(answer.body);
  if (answer.status !== 200 || !tokens.success) {
    // Problems and the `{mfaRequired, mfaToken}` answer go back unchanged; a browser then posts `{mfaToken, code}` here.
    relayResponse(res, 'identity', answer);
    return answer.status;
  }
  const claims = await deps.accessTokens.verify(tokens.data.accessToken);
  const { cookieValue, session } = await deps.webSessions.create({ userId: claims.sub, tokens: tokens.data });
  res.cookie(SESSION_COOKIE, cookieValue, sessionCookieOptions(deps.config.WEB_SESSION_TTL_SECONDS));
  const csrfToken = csrf.issue(req, res, session.idHash);
  res.setHeader('Cache-Control', 'no-store');
  res
    .status(200)
    .json({ csrfToken, expiresIn: deps.config.WEB_SESSION_TTL_SECONDS, sessionId: tokens.data.sessionId });
  return 200;
}

async function webLogout(ctx: LocalContext): Promise<number> {
  const { req, res, deps, principal, subject } = ctx;
  if (principal.kind === 'user') {
    const answer = await deps.forwarder.call(req, {
      appId: 'identity',
      method: 'POST',
      path: '/auth/logout',
      subject,
    });
    if (answer.status >= 500)
      req.log.warn({ status: answer.status }, 'identity logout failed; browser session ended anyway');
    if (principal.webSession) await deps.webSessions.destroy(principal.webSession.idHash);
  }
  clearBrowserCookies(res);
  res.status(204).end();
  return 204;
}

async function auditLog(ctx: LocalContext): Promise<number> {
  const query = parseOrThrow(auditQuerySchema, ctx.req.query, 'query');
  ctx.res.json(await listAudit(ctx.deps.db, query));
  return 200;
}

interface ServiceAnswer {
  service: DeadLetterService;
  status: number;
  body: unknown;
}

function createDeadLetterHandlers(
  db: Kysely<GatewayDatabase>,
  platform: Platform,
): { list: LocalHandler; replay: LocalHandler } {
  const services = (only: DeadLetterService | undefined): DeadLetterService[] =>
    only ? [only] : [...DEAD_LETTER_SERVICES];

  const callEach = async (
    ctx: LocalContext,
    targets: DeadLetterService[],
    local: () => Promise<unknown>,
    remote: (appId: Exclude<AppId, 'api-gateway'>) => Promise<{ status: number; body: unknown }>,
  ): Promise<ServiceAnswer[]> =>
    Promise.all(
      targets.map(async (service): Promise<ServiceAnswer> => {
        try {
          if (service === 'api-gateway') return { service, status: 200, body: await local() };
          const answer = await remote(service);
          return { service, status: answer.status, body: answer.body };
        } catch (error) {
          ctx.req.log.warn(
            { service, err: error instanceof Error ? error.message : String(error) },
            'dead-letter call failed',
          );
          return { service, status: error instanceof HttpProblem ? error.status : 503, body: undefined };
        }
      }),
    );

  return {
    async list(ctx) {
      const query = parseOrThrow(deadLetterQuerySchema, ctx.req.query, 'query');
      const search = new URLSearchParams({
        limit: String(query.limit),
        ...(query.topic ? { topic: query.topic } : {}),
      });
      const answers = await callEach(
        ctx,
        services(query.service),
        () => listDeadLetters(db, { limit: query.limit, ...(query.topic ? { topic: query.topic } : {}) }),
        (appId) =>
          ctx.deps.forwarder.call(ctx.req, {
            appId,
            method: 'GET',
            path: `/admin/dead-letters?${search.toString()}`,
            subject: ctx.subject,
          }),
      );
      const items: unknown[] = [];
      const sources = answers.map(({ service, status, body }) => {
        const page = body as { items?: unknown[]; nextCursor?: string | null } | undefined;
        if (status === 200 && Array.isArray(page?.items)) {
          for (const item of page.items) items.push({ ...(item as Record<string, unknown>), service });
        }
        return { service, status, nextCursor: page?.nextCursor ?? null };
      });
      ctx.res.json({ items, nextCursor: null, sources });
      return 200;
    },
    async replay(ctx) {
      const body = parseOrThrow(replayBodySchema, ctx.req.body, 'body');
      const answers = await callEach(
        ctx,
        services(body.service),
        () =>
          replayDeadLetters(
            db,
            platform,
            'ids' in body ? { ids: body.ids } : { ...(body.topic ? { topic: body.topic } : {}) },
          ),
        (appId) => {
          const forwarded =
            'ids' in body ? { ids: body.ids } : { ...(body.topic ? { topic: body.topic } : {}) };
          return ctx.deps.forwarder.call(ctx.req, {
            appId,
            method: 'POST',
            path: '/admin/dead-letters/replay',
            subject: ctx.subject,
            body: forwarded,
          });
        },
      );
      const results = answers.map(({ service, status, body: answer }) => ({
        service,
        status,
        result: status < 300 ? answer : null,
      }));
      const failedAll = results.every((r) => r.status >= 500);
      if (failedAll) {
        throw new HttpProblem({
          status: 503,
          type: ProblemType.dependencyUnavailable,
          title: 'Dependency unavailable',
          detail: 'No service could replay.',
        });
      }
      ctx.res.json({ results });
      return 200;
    },
  };
}

export function createLocalHandlers(options: {
  db: Kysely<GatewayDatabase>;
  platform: Platform;
  openapi: OpenApiAggregator;
}): Record<string, LocalHandler> {
  const deadLetters = createDeadLetterHandlers(options.db, options.platform);
  return {
    'POST /v1/web/login': webLogin,
    'POST /v1/web/logout': webLogout,
    'GET /v1/admin/audit-log': auditLog,
    'GET /v1/admin/dead-letters': deadLetters.list,
    'POST /v1/admin/dead-letters/replay': deadLetters.replay,
    'GET /v1/openapi.json': async ({ req, res }) => {
      res.setHeader('Cache-Control', 'public, max-age=60');
      res.json(await options.openapi.document(req));
      return 200;
    },
  };
}
