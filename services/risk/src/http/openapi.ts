/**
 * risk's OpenAPI 3.1 document, built from the zod schemas the routes parse with. Paths are the PUBLIC
 * ones (with `/v1`) that the gateway routes here; `POST /assessments` is internal (Dapr invocation
 * from the ledger and the gateway), so it is described under `x-internal-paths`, not `paths`.
 */
import { jsonSchemaOf, problemJsonSchema, problemResponse, queryParameters } from '@wallet/service-kit';
import {
  assessmentRequestSchema,
  assessmentResponseSchema,
  closeFlagRequestSchema,
  flagSchema,
  deadLettersQuerySchema,
  flagPageSchema,
  flagsQuerySchema,
  replayRequestSchema,
  ruleChangeRequestSchema,
  ruleChangesQuerySchema,
  rulesViewSchema,
} from './schemas.ts';

type JsonSchema = Record<string, unknown>;

const schemaOf = jsonSchemaOf;
const problem = problemResponse;

const adminErrors = {
  '400': problem('Invalid request (type .../validation).'),
  '401': problem('No valid internal token.'),
  '403': problem('Missing role (.../forbidden) or the session has not stepped up (.../step-up-required).'),
};

const json = (ref: string, description = 'OK') => ({
  description,
  content: { 'application/json': { schema: { $ref: `#/components/schemas/${ref}` } } },
});

let cached: JsonSchema | undefined;

export function buildOpenApiDocument(): JsonSchema {
  cached ??= {
    openapi: '3.1.0',
    info: {
      title: 'risk',
      version: '1.0.0',
      description: 'Real-time risk scoring, velocity checks, anomaly flags and step-up decisions.',
    },
    paths: {
      '/v1/admin/risk/flags': {
        get: {
          summary: 'Anomaly flags with their reasons, newest first (support, admin; stepped-up session).',
          parameters: queryParameters(flagsQuerySchema),
          responses: { '200': json('FlagPage'), ...adminErrors },
        },
      },
      '/v1/admin/risk/flags/{flagId}/close': {
        post: {
          summary: 'Close an open flag after review (support, admin; stepped-up session). Idempotent.',
          parameters: [
            { name: 'flagId', in: 'path', required: true, schema: { type: 'string', format: 'uuid' } },
          ],
          requestBody: {
            required: false,
            content: { 'application/json': { schema: schemaOf(closeFlagRequestSchema, 'input') } },
          },
          responses: { '200': json('Flag'), ...adminErrors, '404': problem('No such flag.') },
        },
      },
      '/v1/admin/risk/assessments/{assessmentId}': {
        get: {
          summary:
            'One stored assessment: inputs, signals, reasons, rule version (support, admin; stepped-up session).',
          parameters: [
            { name: 'assessmentId', in: 'path', required: true, schema: { type: 'string', format: 'uuid' } },
          ],
          responses: { '200': { description: 'OK' }, ...adminErrors, '404': problem('No such assessment.') },
        },
      },
      '/v1/admin/risk/rules': {
        get: {
          summary: 'The rules in force: defaults version, override version, overrides, effective rule set.',
          responses: { '200': json('RulesView'), ...adminErrors },
        },
        put: {
          summary: 'Replace the rule overrides (admin; stepped-up session). Audited; versioned.',
          requestBody: {
            required: true,
            content: { 'application/json': { schema: { $ref: '#/components/schemas/RuleChangeRequest' } } },
          },
          responses: {
            '200': json('RulesView'),
            ...adminErrors,
            '409': problem('The overrides changed since expectedVersion (.../conflict).'),
          },
        },
      },
      '/v1/admin/risk/rules/changes': {
        get: {
          summary: 'The audit trail of rule changes, newest first.',
          parameters: queryParameters(ruleChangesQuerySchema),
          responses: { '200': { description: 'OK' }, ...adminErrors },
        },
      },
      '/v1/admin/dead-letters': {
        get: {
          summary: "risk's dead-lettered events with their last error.",
          parameters: queryParameters(deadLettersQuerySchema),
          responses: { '200': { description: 'OK' }, ...adminErrors },
        },
      },
      '/v1/admin/dead-letters/replay': {
        post: {
          summary: 'Publish dead-lettered events again (admin); consumers stay idempotent.',
          requestBody: {
            required: true,
            content: { 'application/json': { schema: schemaOf(replayRequestSchema, 'input') } },
          },
          responses: { '200': { description: '{replayed, failed}' }, ...adminErrors },
        },
      },
    },
    'x-internal-paths': {
      '/assessments': {
        post: {
          summary: 'Assess an action before it happens (wallet-ledger, api-gateway only).',
          requestBody: {
            required: true,
            content: { 'application/json': { schema: { $ref: '#/components/schemas/AssessmentRequest' } } },
          },
          responses: {
            '200': json('AssessmentResponse'),
            '400': problem('Invalid request.'),
            '403': problem('Asked on behalf of another user.'),
            '503': problem('Not answered within the budget; the caller applies its failure policy.'),
          },
        },
      },
    },
    components: {
      schemas: {
        Problem: problemJsonSchema,
        AssessmentRequest: schemaOf(assessmentRequestSchema, 'input'),
        AssessmentResponse: schemaOf(assessmentResponseSchema),
        FlagPage: schemaOf(flagPageSchema),
        Flag: schemaOf(flagSchema),
        RuleChangeRequest: schemaOf(ruleChangeRequestSchema, 'input'),
        RulesView: schemaOf(rulesViewSchema),
      },
    },
  };
  return cached;
}
