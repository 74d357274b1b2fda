/** wallet-ledger's OpenAPI 3.1 document: public paths (with `/v1`), schemas generated from the zod schemas. */
import { deadLetterReplaySchema, problemJsonSchema } from '@wallet/service-kit';
import { z } from 'zod';
import { adjustmentBody, openWalletBody, refundBody, transferBody, withdrawalBody } from './schemas.ts';

type JsonObject = Record<string, unknown>;

const schema = (s: z.ZodType): JsonObject => {
  const { $schema: _ignored, ...rest } = z.toJSONSchema(s, {
    io: 'input',
    unrepresentable: 'any',
  }) as JsonObject;
  return rest;
};

const amount = { type: 'string', pattern: '^(0|[1-9][0-9]*)$', description: 'integer minor units' };
const wallet = {
  type: 'object',
  required: ['walletId', 'currency', 'balance', 'available'],
  properties: {
    walletId: { type: 'string', format: 'uuid' },
    currency: { type: 'string' },
    balance: amount,
    available: amount,
    held: amount,
    status: { type: 'string', enum: ['active', 'frozen'] },
    createdAt: { type: 'string', format: 'date-time' },
    at: { type: 'string', format: 'date-time' },
  },
};

const problem = (description: string) => ({
  description,
  content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } },
});
const problems = {
  '400': problem('Invalid request'),
  '401': problem('Unauthenticated'),
  '403': problem('Forbidden'),
  '404': problem('Not found'),
};
const idempotencyKey = { $ref: '#/components/parameters/IdempotencyKey' };
const idempotent = {
  '409': problem('A request with this Idempotency-Key is still in flight'),
  '422': problem('Business refusal, or Idempotency-Key reused with another body'),
};
const json = (s: JsonObject) => ({ content: { 'application/json': { schema: s } } });
const ok = (description: string, s: JsonObject) => ({ description, ...json(s) });
const walletIdParam = {
  name: 'walletId',
  in: 'path',
  required: true,
  schema: { type: 'string', format: 'uuid' },
};
const transferIdParam = {
  name: 'transferId',
  in: 'path',
  required: true,
  schema: { type: 'string', format: 'uuid' },
};

let cached: JsonObject | undefined;

export function buildOpenApiDocument(): JsonObject {
  cached ??= {
    openapi: '3.1.0',
    info: {
      title: 'wallet-ledger',
      version: '1.0.0',
      description: 'Wallets, transfers, refunds, withdrawals, deposits.',
    },
    paths: {
      '/v1/wallets': {
        get: {
          summary: "The caller's wallets",
          responses: {
            '200': ok('Wallets', { type: 'object', properties: { items: { type: 'array', items: wallet } } }),
            ...problems,
          },
        },
        post: {
          summary: 'Open a wallet',
          requestBody: { required: true, ...json(schema(openWalletBody)) },
          responses: { '201': ok('Opened', wallet), '409': problem('Already open'), ...problems },
        },
      },
      '/v1/wallets/{walletId}': {
        get: {
          summary: 'A wallet, now or at a point in time',
          parameters: [
            walletIdParam,
            { name: 'at', in: 'query', schema: { type: 'string', format: 'date-time' } },
          ],
          responses: { '200': ok('Wallet', wallet), ...problems },
        },
      },
      '/v1/wallets/{walletId}/transactions': {
        get: {
          summary: 'History, newest first',
          parameters: [
            walletIdParam,
            { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 200 } },
            { name: 'cursor', in: 'query', schema: { type: 'string' } },
          ],
          responses: {
            '200': ok('Page of history', {
              type: 'object',
              properties: { items: { type: 'array' }, nextCursor: { type: ['string', 'null'] } },
            }),
            ...problems,
          },
        },
      },
      '/v1/transfers': {
        post: {
          summary: 'Transfer between wallets',
          parameters: [idempotencyKey],
          requestBody: { required: true, ...json(schema(transferBody)) },
          responses: {
            '201': ok('Completed', {
              type: 'object',
              required: ['transferId', 'status'],
              properties: { transferId: { type: 'string' }, status: { const: 'completed' } },
            }),
            ...problems,
            ...idempotent,
            '503': problem('Risk unavailable above the fail-open amount'),
          },
        },
      },
      '/v1/transfers/{transferId}': {
        get: {
          summary: 'A transfer with its refunds',
          parameters: [transferIdParam],
          responses: { '200': ok('Transfer', { type: 'object' }), ...problems },
        },
      },
      '/v1/transfers/{transferId}/refunds': {
        post: {
          summary: 'Refund (part of) a transfer',
          parameters: [transferIdParam, idempotencyKey],
          requestBody: { required: true, ...json(schema(refundBody)) },
          responses: {
            '201': ok('Refunded', {
              type: 'object',
              required: ['refundId'],
              properties: { refundId: { type: 'string' } },
            }),
            ...problems,
            ...idempotent,
          },
        },
      },
      '/v1/withdrawals': {
        post: {
          summary: 'Withdraw to a payout destination (step-up required)',
          parameters: [idempotencyKey],
          requestBody: { required: true, ...json(schema(withdrawalBody)) },
          responses: {
            '202': ok('Held, pending payout', {
              type: 'object',
              required: ['withdrawalId', 'status'],
              properties: { withdrawalId: { type: 'string' }, status: { const: 'pending' } },
            }),
            ...problems,
            ...idempotent,
          },
        },
      },
      '/v1/webhooks/payments': {
        post: {
          summary: 'Payment-provider events (signature checked by the gateway)',
          responses: { '200': ok('Applied or duplicate', { type: 'object' }), ...problems },
        },
      },
      '/v1/admin/adjustments': {
        post: {
          summary: 'Admin adjustment (admin, step-up)',
          parameters: [idempotencyKey],
          requestBody: { required: true, ...json(schema(adjustmentBody)) },
          responses: { '201': ok('Posted', { type: 'object' }), ...problems, ...idempotent },
        },
      },
      '/v1/admin/ledger/reconcile': {
        get: {
          summary: 'Prove the books (support/admin, step-up)',
          responses: {
            '200': ok('Report', { type: 'object', properties: { ok: { type: 'boolean' } } }),
            ...problems,
          },
        },
      },
      '/v1/admin/dead-letters': {
        get: {
          summary: "The ledger's dead letters",
          responses: { '200': ok('Page', { type: 'object' }), ...problems },
        },
      },
      '/v1/admin/dead-letters/replay': {
        post: {
          summary: 'Replay dead letters',
          requestBody: { required: true, ...json(schema(deadLetterReplaySchema)) },
          responses: { '200': ok('Result', { type: 'object' }), ...problems },
        },
      },
    },
    components: {
      parameters: {
        IdempotencyKey: {
          name: 'Idempotency-Key',
          in: 'header',
          required: true,
          schema: { type: 'string', minLength: 1, maxLength: 255 },
        },
      },
      schemas: {
        Problem: problemJsonSchema,
      },
    },
  };
  return cached;
}
