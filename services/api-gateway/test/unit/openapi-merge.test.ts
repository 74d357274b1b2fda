/**
 * What the merged public document promises, as schemathesis checks it (tools/api-fuzz): every answer
 * the gateway itself may give is documented on each operation, the gateway's own routes are described
 * by the gateway, route rules find their operation whatever a service calls its path parameters, and
 * the gateway's query parameters carry the constraints its validators enforce.
 */
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { currencySchema } from '@wallet/contracts';
import { gatewayOpenApi, mergeOpenApi } from '../../src/http/openapi.ts';
import { replayBodySchema, webLoginSchema } from '../../src/http/schemas.ts';
import { configSchema } from '../../src/config.ts';

type JsonObject = Record<string, unknown>;
interface Operation {
  responses: Record<string, { description?: string }>;
  parameters?: { name: string; schema: JsonObject }[];
  'x-access'?: string;
  'x-service'?: string;
}

const serviceDocs = [
  {
    service: 'wallet-ledger',
    doc: {
      paths: {
        '/v1/wallets': {
          post: {
            requestBody: { content: { 'application/json': { schema: { type: 'object' } } } },
            responses: { '201': { description: 'Opened' }, '400': { description: 'the ledger says why' } },
          },
        },
      },
    },
  },
  {
    service: 'risk',
    doc: {
      paths: {
        '/v1/admin/risk/flags/{flagId}/close': { post: { responses: { '200': { description: 'Closed' } } } },
      },
    },
  },
  {
    service: 'identity',
    doc: { paths: { '/.well-known/jwks.json': { get: { responses: { '200': { description: 'Keys' } } } } } },
  },
  {
    // A service serving a path of the same name as a gateway route, behind the gateway.
    service: 'notification',
    doc: {
      paths: {
        '/v1/admin/dead-letters': {
          get: { responses: { '200': { description: 'only notification', content: {} } } },
        },
      },
    },
  },
];

function merged(): { paths: Record<string, Record<string, Operation>>; undocumented: string[] } {
  const doc = mergeOpenApi([{ service: 'api-gateway', doc: gatewayOpenApi() }, ...serviceDocs], []);
  return {
    paths: doc['paths'] as Record<string, Record<string, Operation>>,
    undocumented: doc['x-undocumented-routes'] as string[],
  };
}

describe('merged OpenAPI document', () => {
  it("documents the gateway's own answers on every operation, keeping the service's descriptions", () => {
    const { paths } = merged();
    const openWallet = paths['/v1/wallets']!['post']!;
    for (const status of ['401', '403', '413', '414', '415', '429', '431', '503', '504'])
      expect(Object.keys(openWallet.responses)).toContain(status);
    expect(openWallet.responses['400']?.description).toBe('the ledger says why');
    expect(openWallet.responses['201']?.description).toBe('Opened');

    // An anonymous route without a body: a bad credential is still a 401; no body, no 413/415.
    const jwks = paths['/.well-known/jwks.json']!['get']!;
    expect(Object.keys(jwks.responses)).toEqual(expect.arrayContaining(['200', '401', '414', '429']));
    expect(Object.keys(jwks.responses)).not.toContain('415');
  });

  it('applies route rules whatever the service calls the path parameter', () => {
    const { paths, undocumented } = merged();
    expect(paths['/v1/admin/risk/flags/{flagId}/close']!['post']!['x-access']).toBe('support');
    expect(undocumented).not.toContain('POST /v1/admin/risk/flags/{id}/close');
  });

  it('describes the routes the gateway answers itself with its own document', () => {
    const { paths } = merged();
    const deadLetters = paths['/v1/admin/dead-letters']!['get']!;
    expect(deadLetters['x-service']).toBe('api-gateway');
    expect(deadLetters.responses['200']?.description).not.toBe('only notification');
  });

  it("gives the gateway's query parameters the constraints of their validators", () => {
    const gateway = gatewayOpenApi()['paths'] as Record<string, Record<string, Operation>>;
    const audit = Object.fromEntries(
      gateway['/v1/admin/audit-log']!['get']!.parameters!.map((p) => [p.name, p.schema]),
    );
    expect(audit['limit']).toMatchObject({ type: 'integer', minimum: 1, maximum: 200 });
    // The one cursor format of every list (contracts' pagination): opaque, bounded.
    expect(audit['cursor']).toMatchObject({ type: 'string', minLength: 1, maxLength: 512 });
    expect(audit['outcome']).toMatchObject({ enum: ['allowed', 'denied', 'failed'] });
    const letters = Object.fromEntries(
      gateway['/v1/admin/dead-letters']!['get']!.parameters!.map((p) => [p.name, p.schema]),
    );
    const services = (letters['service'] as { enum?: string[] }).enum ?? [];
    expect(services).toContain('identity');
    expect(services).toContain('api-gateway');
    expect(letters['topic']).toMatchObject({ minLength: 1, maxLength: 200 });
  });

  it("refuses at the browser login what identity would refuse, so the document's limits are identity's", () => {
    expect(webLoginSchema.safeParse({ mfaToken: 't', code: '12345' }).success).toBe(false);
    expect(webLoginSchema.safeParse({ mfaToken: 't'.repeat(257), code: '123456' }).success).toBe(false);
    expect(webLoginSchema.safeParse({ email: 'not an address', password: 'x' }).success).toBe(false);
    expect(webLoginSchema.safeParse({ email: 'a@example.com', password: 'x' }).success).toBe(true);
  });

  it('documents no more dead-letter ids than the WAF lets through in one array', () => {
    const wafMaxArray = configSchema.parse({ DATABASE_URL: 'postgres://x@localhost/x' }).WAF_MAX_ARRAY_LENGTH;
    const ids = (n: number) => Array.from({ length: n }, (_, i) => String(i + 1));
    expect(replayBodySchema.safeParse({ ids: ids(wafMaxArray), service: 'identity' }).success).toBe(true);
    expect(replayBodySchema.safeParse({ ids: ids(wafMaxArray + 1), service: 'identity' }).success).toBe(
      false,
    );
    expect(replayBodySchema.safeParse({ ids: ['12ab'], service: 'identity' }).success).toBe(false);
  });

  it('lists the accepted currency codes in every document built from the shared currency schema', () => {
    const doc = z.toJSONSchema(z.object({ currency: currencySchema }), { io: 'input' });
    const currency = doc.properties?.['currency'] as { enum?: string[] } | undefined;
    expect(currency?.enum).toContain('EUR');
    expect(currency?.enum).not.toContain('XXX');
  });
});
