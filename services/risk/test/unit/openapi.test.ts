import { describe, expect, it } from 'vitest';
import { buildOpenApiDocument } from '../../src/http/openapi.ts';

describe('OpenAPI document', () => {
  it('describes the public admin paths with /v1 and the internal assessment contract', () => {
    const doc = buildOpenApiDocument() as {
      openapi: string;
      paths: Record<string, unknown>;
      components: { schemas: Record<string, { properties?: Record<string, unknown> }> };
    };
    expect(doc.openapi).toBe('3.1.0');
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining([
        '/v1/admin/risk/flags',
        '/v1/admin/risk/rules',
        '/v1/admin/dead-letters',
        '/v1/admin/dead-letters/replay',
      ]),
    );
    expect(Object.keys(doc.paths).every((p) => p.startsWith('/v1/'))).toBe(true);
    expect(Object.keys(doc.components.schemas.AssessmentRequest!.properties ?? {})).toEqual(
      expect.arrayContaining([
        'userId',
        'action',
        'amount',
        'currency',
        'counterparty',
        'sessionId',
        'deviceId',
        'ip',
      ]),
    );
    expect(JSON.stringify(doc)).not.toContain('"$schema"');
  });
});
