/** notification's OpenAPI 3.1 document (public `/v1` paths), built from the zod schemas; the gateway merges it. */
import { jsonContent, problemJsonSchema, problemResponse } from '@wallet/service-kit';
import { ProblemType } from '@wallet/contracts';
import { preferencesUpdateSchema } from '../domain/preferences.ts';
import {
  channelsUpdateAnswerSchema,
  channelsUpdateSchema,
  channelsViewSchema,
  emptyBodySchema,
  phoneCodeConfirmSchema,
  phoneCodeSentSchema,
  deadLetterPageSchema,
  devOutboxAnswerSchema,
  historyPageSchema,
  preferencesViewSchema,
  replayAnswerSchema,
  replayBodySchema,
  resendAnswerSchema,
} from './schemas.ts';

const json = jsonContent;
const problem = problemResponse;
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
        description:
          'A new phone number is stored **unverified** and a 6-digit code is sent to it by SMS (`codeSent: true`); ' +
          'that code SMS is the only message an unverified number ever gets. SMS notifications go only to a ' +
          'verified number: until the code is confirmed they are recorded as `skipped` and never sent. Setting ' +
          'the same number again changes nothing; `null` removes it. Code SMS are limited per user and per number ' +
          '(429 `rate-limited` with `Retry-After`, and then nothing is saved).',
        security,
        requestBody: { required: true, content: json(channelsUpdateSchema, 'input') },
        responses: {
          '200': { description: 'Saved', content: json(channelsUpdateAnswerSchema) },
          ...userErrors,
          '409': problem('SMS is not offered on this platform, so a number cannot be verified'),
          '429': problem(
            'Too many verification codes for this account or number (`rate-limited`, Retry-After)',
          ),
        },
      },
    },
    '/v1/me/notification-channels/phone/verification': {
      post: {
        operationId: 'resendMyPhoneVerificationCode',
        tags: ['notifications'],
        summary: 'Send a new verification code to the unverified phone number (replaces the previous code)',
        security,
        requestBody: { required: false, content: json(emptyBodySchema, 'input') },
        responses: {
          '202': { description: 'A code SMS was queued', content: json(phoneCodeSentSchema) },
          ...userErrors,
          '409': problem('No phone number set, already verified, or SMS not offered'),
          '429': problem(
            'Too many verification codes for this account or number (`rate-limited`, Retry-After)',
          ),
        },
      },
    },
    '/v1/me/notification-channels/phone/verification/confirm': {
      post: {
        operationId: 'confirmMyPhoneNumber',
        tags: ['notifications'],
        summary: 'Prove the phone number with the code sent to it; SMS may then go to it',
        description:
          'The code works for `PHONE_CODE_TTL_SECONDS` (10 min) after it was sent; `PHONE_CODE_MAX_GUESSES` (5) wrong ' +
          'guesses burn it (request a new one).',
        security,
        requestBody: { required: true, content: json(phoneCodeConfirmSchema, 'input') },
        responses: {
          '200': { description: 'The number is verified', content: json(channelsViewSchema) },
          '400': problem('Invalid request, or `invalid-code` (wrong, expired, burnt or replaced)'),
          '401': problem('Not signed in'),
        },
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
        parameters: [{ name: 'to', in: 'query', schema: { type: 'string', minLength: 1, maxLength: 320 } }],
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
