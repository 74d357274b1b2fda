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
import { ROUTES, type RouteSpec } from './route-table.ts';
import { deadLetterQuerySchema, replayBodySchema, webLoginAnswerSchema, webLoginSchema } from './schemas.ts';

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

/** Query parameters from a zod object: each with the JSON Schema its validator enforces. */
function queryParameters(schema: z.ZodObject): JsonObject[] {
  const document = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as {
    properties?: Record<string, JsonObject>;
    required?: string[];
  };
  return Object.entries(document.properties ?? {}).map(([name, property]) => ({
    name,
    in: 'query',
    required: document.required?.includes(name) ?? false,
    schema: property,
  }));
}

/** The routes the gateway answers itself. */
export function gatewayOpenApi(): JsonObject {
  return {
    openapi: '3.1.0',
    info: { title: 'api-gateway', version: '1.0.0' },
    paths: {
      '/v1/web/login': {
        post: {
          summary: 'Browser login: sets the __Host-session cookie and answers a CSRF token',
          description:
            'Body: `{email, password}`, then if identity answers `{mfaRequired, mfaToken}` either `{mfaToken, code}` or a passkey `{mfaToken, challengeId, credential}`; or a passwordless passkey `{challengeId, credential}` (options from `POST /v1/auth/passkey/options`).',
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
          parameters: queryParameters(auditQuerySchema),
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
          parameters: queryParameters(deadLetterQuerySchema),
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

/** `/v1/x/{id}` and `/v1/x/{flagId}` are the same route: parameter names differ between documents. */
const pathShape = (path: string): string => path.replace(/\{[^}]+\}/g, '{}');

function routeSpecFor(path: string, method: string): RouteSpec | undefined {
  const shape = pathShape(path);
  return ROUTES.find((r) => pathShape(r.path) === shape && r.method === method.toUpperCase());
}

/**
 * What the gateway itself may answer on an operation, whatever the service documents: its WAF's
 * refusals (400, 413, 414, 415, 431), authentication (401: a bad or expired credential is refused on
 * every route, anonymous ones included), authorisation and CSRF (403), rate limits (429), load
 * shedding (503) and, for a route it forwards, a service that did not answer in time (503, 504).
 * Added where the service's document has no answer of that status.
 */
function gatewayResponses(spec: RouteSpec | undefined, hasBody: boolean): JsonObject {
  const responses: JsonObject = {
    '400': problemResponse('Invalid request, or blocked by the WAF'),
    '401': problemResponse('Unauthenticated: a credential is missing, invalid or expired'),
    '403': problemResponse('Forbidden, step-up required, or CSRF token invalid'),
    '414': problemResponse('URI too long (WAF)'),
    '429': problemResponse('Rate limited (Retry-After and RateLimit headers)'),
    '431': problemResponse('Request header fields too large (WAF)'),
    '503': problemResponse('Overloaded or a dependency is unavailable (Retry-After)'),
  };
  if (hasBody) {
    responses['413'] = problemResponse('Payload too large (WAF)');
    responses['415'] = problemResponse('Unsupported media type: JSON only (WAF)');
  }
  if (spec?.target.kind === 'service') responses['504'] = problemResponse('The time budget ran out upstream');
  return responses;
}

function routeExtensions(path: string, method: string): JsonObject {
  const spec = routeSpecFor(path, method);
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
        const isOperation =
          typeof operation === 'object' &&
          operation !== null &&
          ['get', 'post', 'put', 'delete', 'patch'].includes(method);
        if (!isOperation) {
          merged[method] = operation;
          continue;
        }
        const spec = routeSpecFor(path, method);
        // A route the gateway answers itself is documented by the gateway, not by a service that
        // serves a path of the same name behind it (the dead-letter listing of each service).
        if (spec?.target.kind === 'gateway' && service !== 'api-gateway') continue;
        const op = operation as JsonObject;
        merged[method] = {
          ...op,
          responses: {
            ...gatewayResponses(spec, op['requestBody'] !== undefined),
            ...(op['responses'] as JsonObject | undefined),
          },
          ...routeExtensions(path, method),
          'x-service': service,
        };
      }
      paths[path] = merged;
    }
    const components = (doc['components'] ?? {}) as JsonObject;
    Object.assign(schemas, components['schemas'] ?? {});
    Object.assign(responses, components['responses'] ?? {});
    Object.assign(parameters, components['parameters'] ?? {});
  }
  const documented = new Set(
    Object.entries(paths).flatMap(([p, item]) =>
      Object.keys(item).map((m) => `${m.toUpperCase()} ${pathShape(p)}`),
    ),
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
    'x-undocumented-routes': ROUTES.filter((r) => !documented.has(`${r.method} ${pathShape(r.path)}`)).map(
      (r) => `${r.method} ${r.path}`,
    ),
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
