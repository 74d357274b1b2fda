/**
 * OpenAPI 3.1: the gateway's own document (the routes it answers itself) and the merged public
 * document at `GET /v1/openapi.json`: every service's `/openapi.json` (fetched through the platform,
 * cached), merged path by path, with the gateway's security schemes and the route table's access
 * rules (`x-access`, `x-step-up`, `x-idempotency-key`) on each operation.
 */
import type { Request } from 'express';
import { ANONYMOUS_SUBJECT, INTERNAL_TOKEN_HEADER, type AppId } from '@wallet/contracts';
import type { Platform } from '@wallet/platform';
import type { InternalTokenSigner, Logger } from '@wallet/service-kit';
import { jsonContent, problemJsonSchema, problemResponse } from '@wallet/service-kit';
import { z } from 'zod';
import { auditEntrySchema, auditQuerySchema } from '../audit/audit-log.ts';
import { ROUTES } from './route-table.ts';
import { replayBodySchema, webLoginAnswerSchema, webLoginSchema } from './schemas.ts';

type JsonObject = Record<string, unknown>;

const problem = problemResponse;
const json = jsonContent;

const commonProblems = {
  '400': problem('Invalid request or blocked by the WAF'),
  '401': problem('Unauthenticated'),
  '403': problem('Forbidden, step-up required or CSRF token invalid'),
  '429': problem('Rate limited (Retry-After and RateLimit headers)'),
};

const deadLetterPageSchema = z.object({
  items: z.array(z.record(z.string(), z.unknown())),
  nextCursor: z.string().nullable(),
  sources: z.array(
    z.object({ service: z.string(), status: z.number().int(), nextCursor: z.string().nullable() }),
  ),
});

/** The routes the gateway answers itself. */
export function gatewayOpenApi(): JsonObject {
  return {
    openapi: '3.1.0',
    info: { title: 'api-gateway', version: '1.0.0' },
    paths: {
      '/v1/web/login': {
        post: {
          summary: 'Browser login: sets the __Host-session cookie and answers a CSRF token',
          requestBody: { required: true, content: json(webLoginSchema, 'input') },
          responses: {
            '200': {
              description: 'Signed in (or `{mfaRequired, mfaToken}` from identity)',
              content: json(webLoginAnswerSchema),
            },
            ...commonProblems,
          },
        },
      },
      '/v1/web/logout': {
        post: {
          summary: 'Ends the browser session',
          responses: { '204': { description: 'Signed out' }, ...commonProblems },
        },
      },
      '/v1/admin/audit-log': {
        get: {
          summary: 'Audit log, newest first',
          parameters: Object.keys(auditQuerySchema.shape).map((name) => ({
            name,
            in: 'query',
            required: false,
            schema: { type: 'string' },
          })),
          responses: {
            '200': {
              description: 'A page of audit entries',
              content: json(
                z.object({ items: z.array(auditEntrySchema), nextCursor: z.string().nullable() }),
              ),
            },
            ...commonProblems,
          },
        },
      },
      '/v1/admin/dead-letters': {
        get: {
          summary: 'Dead-lettered events of every service (or one)',
          parameters: ['service', 'topic', 'limit'].map((name) => ({
            name,
            in: 'query',
            required: false,
            schema: { type: 'string' },
          })),
          responses: {
            '200': { description: 'Dead letters with their service', content: json(deadLetterPageSchema) },
            ...commonProblems,
          },
        },
      },
      '/v1/admin/dead-letters/replay': {
        post: {
          summary: 'Publishes dead-lettered events again',
          requestBody: { required: true, content: json(replayBodySchema, 'input') },
          responses: { '200': { description: 'Replay results per service' }, ...commonProblems },
        },
      },
      '/v1/openapi.json': {
        get: { summary: 'This document', responses: { '200': { description: 'OpenAPI 3.1' } } },
      },
    },
    components: { schemas: { Problem: problemJsonSchema } },
  };
}

export interface OpenApiAggregator {
  document(req: Request): Promise<JsonObject>;
}

const SERVICES: Exclude<AppId, 'api-gateway'>[] = ['identity', 'wallet-ledger', 'risk', 'notification'];

function routeExtensions(path: string, method: string): JsonObject {
  const spec = ROUTES.find((r) => r.path === path && r.method === method.toUpperCase());
  if (!spec) return {};
  const security =
    spec.auth === 'webhook-signature'
      ? [{ webhookSignature: [] }]
      : spec.access === 'anonymous'
        ? [{}, { bearer: [] }, { session: [] }]
        : [{ bearer: [] }, { session: [] }, { partnerSignature: [] }];
  return {
    'x-access': spec.access,
    'x-step-up': spec.stepUp,
    'x-idempotency-key': spec.movesMoney,
    'x-rate-limit': spec.rateLimit,
    security,
  };
}

/** Renames a service's component schemas that clash with another service's, rewriting its $refs. */
function namespaceClashes(doc: JsonObject, taken: JsonObject, service: string): JsonObject {
  const schemas = ((doc['components'] as JsonObject | undefined)?.['schemas'] ?? {}) as JsonObject;
  let text = JSON.stringify(doc);
  for (const [name, schema] of Object.entries(schemas)) {
    if (name in taken && JSON.stringify(taken[name]) !== JSON.stringify(schema)) {
      const renamed = `${service.replace(/[^A-Za-z0-9]/g, '_')}_${name}`;
      text = text.split(`"#/components/schemas/${name}"`).join(`"#/components/schemas/${renamed}"`);
      const parsed = JSON.parse(text) as JsonObject;
      const parsedSchemas = (parsed['components'] as JsonObject)['schemas'] as JsonObject;
      parsedSchemas[renamed] = parsedSchemas[name];
      delete parsedSchemas[name];
      text = JSON.stringify(parsed);
    }
  }
  return JSON.parse(text) as JsonObject;
}

export function mergeOpenApi(
  documents: { service: string; doc: JsonObject }[],
  unavailable: string[],
): JsonObject {
  const paths: Record<string, JsonObject> = {};
  const schemas: JsonObject = {};
  const responses: JsonObject = {};
  const parameters: JsonObject = {};
  for (const { service, doc: original } of documents) {
    const doc = namespaceClashes(original, schemas, service);
    for (const [path, item] of Object.entries((doc['paths'] ?? {}) as Record<string, JsonObject>)) {
      if (!path.startsWith('/v1/') && !path.startsWith('/.well-known/')) continue;
      const merged: JsonObject = { ...paths[path] };
      for (const [method, operation] of Object.entries(item)) {
        merged[method] =
          typeof operation === 'object' &&
          operation !== null &&
          ['get', 'post', 'put', 'delete', 'patch'].includes(method)
            ? { ...(operation as JsonObject), ...routeExtensions(path, method), 'x-service': service }
            : operation;
      }
      paths[path] = merged;
    }
    const components = (doc['components'] ?? {}) as JsonObject;
    Object.assign(schemas, components['schemas'] ?? {});
    Object.assign(responses, components['responses'] ?? {});
    Object.assign(parameters, components['parameters'] ?? {});
  }
  const documented = new Set(
    Object.entries(paths).flatMap(([p, item]) => Object.keys(item).map((m) => `${m.toUpperCase()} ${p}`)),
  );
  return {
    openapi: '3.1.0',
    info: {
      title: 'Wallet public API',
      version: '1.0.0',
      description: 'Merged from every service behind api-gateway. Errors are RFC 9457 problem+json.',
    },
    servers: [{ url: '/' }],
    paths,
    components: {
      schemas: { Problem: problemJsonSchema, ...schemas },
      responses,
      parameters,
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' },
        session: {
          type: 'apiKey',
          in: 'cookie',
          name: '__Host-session',
          description: 'Browser session; unsafe methods also need X-CSRF-Token.',
        },
        partnerSignature: {
          type: 'apiKey',
          in: 'header',
          name: 'X-Api-Signature',
          description:
            'HMAC over method, path, timestamp, nonce and Content-Digest (see the gateway README).',
        },
        webhookSignature: {
          type: 'apiKey',
          in: 'header',
          name: 'Webhook-Signature',
          description: 't=<unix>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">',
        },
      },
    },
    'x-unavailable-services': unavailable,
    'x-undocumented-routes': ROUTES.map((r) => `${r.method} ${r.path}`).filter((r) => !documented.has(r)),
  };
}

export function createOpenApiAggregator(options: {
  platform: Platform;
  signer: InternalTokenSigner;
  logger: Logger;
  cacheMs?: number;
}): OpenApiAggregator {
  const cacheMs = options.cacheMs ?? 60_000;
  let cached: { at: number; doc: JsonObject } | undefined;
  return {
    async document() {
      if (cached && Date.now() - cached.at < cacheMs) return cached.doc;
      const unavailable: string[] = [];
      const fetched = await Promise.all(
        SERVICES.map(async (service) => {
          try {
            const token = await options.signer.sign(service, { sub: ANONYMOUS_SUBJECT });
            const answer = await options.platform.invoke({
              appId: service,
              method: 'GET',
              path: '/openapi.json',
              headers: { [INTERNAL_TOKEN_HEADER]: token },
              timeoutMs: 3_000,
            });
            if (answer.status === 200 && typeof answer.body === 'object' && answer.body !== null)
              return { service, doc: answer.body as JsonObject };
          } catch (error) {
            options.logger.warn(
              { service, err: error instanceof Error ? error.message : String(error) },
              'openapi document unavailable',
            );
          }
          unavailable.push(service);
          return undefined;
        }),
      );
      const documents = [
        { service: 'api-gateway', doc: gatewayOpenApi() },
        ...fetched.filter((d) => d !== undefined),
      ];
      const doc = mergeOpenApi(documents, unavailable);
      // A partial document is served but not kept, so it heals as soon as the service is back.
      if (unavailable.length === 0) cached = { at: Date.now(), doc };
      return doc;
    },
  };
}
