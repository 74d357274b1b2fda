/**
 * OpenAPI 3.1 building blocks every service uses for its `/openapi.json`: the RFC 9457 problem
 * schema, problem responses, and JSON Schemas derived from the zod schemas that validate requests.
 */
import { z } from 'zod';

export type JsonSchema = Record<string, unknown>;

/** `components.schemas.Problem`: the problem+json document of `HttpProblem`. */
export const problemJsonSchema: JsonSchema = {
  type: 'object',
  required: ['type', 'title', 'status'],
  properties: {
    type: { type: 'string', format: 'uri' },
    title: { type: 'string' },
    status: { type: 'integer' },
    detail: { type: 'string' },
    instance: { type: 'string' },
    errors: {
      type: 'array',
      items: { type: 'object', properties: { field: { type: 'string' }, message: { type: 'string' } } },
    },
  },
};

/** A response whose body is the shared Problem schema. */
export function problemResponse(description: string): JsonSchema {
  return {
    description,
    content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } },
  };
}

/** JSON Schema (2020-12) of a zod schema, without the `$schema` key OpenAPI does not want inline. */
export function jsonSchemaOf(schema: z.ZodType, io: 'input' | 'output' = 'output'): JsonSchema {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: 'any' }) as JsonSchema;
  return rest;
}

/** `content` of a JSON request body or response described by a zod schema. */
export function jsonContent(schema: z.ZodType, io: 'input' | 'output' = 'output'): JsonSchema {
  return { 'application/json': { schema: jsonSchemaOf(schema, io) } };
}

/** One `in: query` parameter per property of the zod object that parses the query string. */
export function queryParameters(schema: z.ZodType): JsonSchema[] {
  const json = jsonSchemaOf(schema, 'input') as {
    properties?: Record<string, JsonSchema>;
    required?: string[];
  };
  return Object.entries(json.properties ?? {}).map(([name, property]) => ({
    name,
    in: 'query',
    required: json.required?.includes(name) ?? false,
    schema: property,
  }));
}
