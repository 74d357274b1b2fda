/** notification's OpenAPI 3.1 document (public `/v1` paths), built from the zod schemas; the gateway merges it. */
import { problemJsonSchema } from '@wallet/service-kit';
import { ProblemType } from '@wallet/contracts';
import { z } from 'zod';
import { preferencesUpdateSchema } from '../domain/preferences.ts';
import {
  channelsUpdateSchema,
  channelsViewSchema,
  deadLetterPageSchema,
  devOutboxAnswerSchema,
  historyPageSchema,
  preferencesViewSchema,
  replayAnswerSchema,
  replayBodySchema,
  resendAnswerSchema,
} from './schemas.ts';

function schema(s: z.ZodType, io: 'input' | 'output' = 'output'): Record<string, unknown> {
  const { $schema: _ignored, ...rest } = z.toJSONSchema(s, { io, unrepresentable: 'any' }) as Record<
    string,
    unknown
  >;
  return rest;
}

const json = (s: z.ZodType, io: 'input' | 'output' = 'output') => ({
  'application/json': { schema: schema(s, io) },
});
const problem = (description: string) => ({
  description,
  content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } },
});
const userErrors = { '400': problem('Invalid request'), '401': problem('Not signed in') };
const adminErrors = { ...userErrors, '403': problem('Missing role or step-up (`step-up-required`)') };
const security = [{ bearer: [] }, { session: [] }];

export function buildOpenApiDocument(options: { devOutbox: boolean }): Record<string, unknown> {
  const paths: Record<string, unknown> = {
    '/v1/me/notifications': {
      get: {
        operationId: 'listMyNotifications',
        tags: ['notifications'],
        summary: 'Delivery history of the caller: channel, template, status, attempts (newest first)',
        security,
        parameters: [
          { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 200, default: 50 } },
          { name: 'cursor', in: 'query', schema: { type: 'string' } },
        ],
        responses: {
          '200': { description: 'A page of deliveries', content: json(historyPageSchema) },
          ...userErrors,
        },
      },
    },
    '/v1/me/notification-preferences': {
      get: {
        operationId: 'getMyNotificationPreferences',
        tags: ['notifications'],
        security,
        responses: {
          '200': { description: 'Channels per category', content: json(preferencesViewSchema) },
          ...userErrors,
        },
      },
      put: {
        operationId: 'setMyNotificationPreferences',
        tags: ['notifications'],
        summary:
          '`{email, sms, push}` for every category that can be switched off, or per category; security alerts cannot be switched off',
        security,
        requestBody: { required: true, content: json(preferencesUpdateSchema, 'input') },
        responses: {
          '200': { description: 'The preferences now in force', content: json(preferencesViewSchema) },
          ...userErrors,
        },
      },
    },
    '/v1/me/notification-channels': {
      get: {
        operationId: 'getMyNotificationChannels',
        tags: ['notifications'],
        security,
        responses: {
          '200': { description: 'Phone and push tokens', content: json(channelsViewSchema) },
          ...userErrors,
        },
      },
      put: {
        operationId: 'setMyNotificationChannels',
        tags: ['notifications'],
        summary: 'Phone number (E.164) for SMS and push registration tokens',
        security,
        requestBody: { required: true, content: json(channelsUpdateSchema, 'input') },
        responses: { '200': { description: 'Saved', content: json(channelsViewSchema) }, ...userErrors },
      },
    },
    '/v1/admin/notifications/{deliveryId}/resend': {
      post: {
        operationId: 'resendNotification',
        tags: ['admin'],
        summary: 'Send a delivery again (support/admin, step-up); never for messages carrying one-time codes',
        security,
        parameters: [
          { name: 'deliveryId', in: 'path', required: true, schema: { type: 'string', format: 'uuid' } },
        ],
        responses: {
          '202': { description: 'A new delivery was queued', content: json(resendAnswerSchema) },
          ...adminErrors,
          '404': problem('No such delivery'),
          '409': problem('Still in progress, or a one-time code'),
        },
      },
    },
    '/v1/admin/dead-letters': {
      get: {
        operationId: 'listDeadLetters',
        tags: ['admin'],
        security,
        parameters: ['service', 'topic', 'state', 'limit', 'cursor'].map((name) => ({
          name,
          in: 'query',
          schema: { type: 'string' },
        })),
        responses: {
          '200': { description: 'Dead letters with their last error', content: json(deadLetterPageSchema) },
          ...adminErrors,
        },
      },
    },
    '/v1/admin/dead-letters/replay': {
      post: {
        operationId: 'replayDeadLetters',
        tags: ['admin'],
        security,
        requestBody: { required: true, content: json(replayBodySchema, 'input') },
        responses: {
          '200': { description: 'What was replayed', content: json(replayAnswerSchema) },
          ...adminErrors,
        },
      },
    },
  };
  if (options.devOutbox) {
    paths['/v1/dev/outbox'] = {
      get: {
        operationId: 'readDevOutbox',
        tags: ['development'],
        summary: 'Non-production only: the messages that would have been sent, newest first',
        parameters: [{ name: 'to', in: 'query', schema: { type: 'string' } }],
        responses: {
          '200': { description: 'Messages', content: json(devOutboxAnswerSchema) },
          '400': problem('Invalid request'),
        },
      },
    };
  }
  return {
    openapi: '3.1.0',
    info: { title: 'wallet notification', version: '1.0.0' },
    paths,
    components: {
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' },
        session: { type: 'apiKey', in: 'cookie', name: '__Host-session' },
      },
      schemas: {
        Problem: {
          ...problemJsonSchema,
          description: `RFC 9457 problem details; \`type\` is a stable URI such as ${ProblemType.validation}`,
        },
      },
    },
  };
}
