// Longer than 400 lines: the ledger's whole public document, with its links (wallets -> transfers -> refunds) next to the paths they join.
/** wallet-ledger's OpenAPI 3.1 document: public paths (with `/v1`), schemas generated from the zod schemas. */
import {
  deadLetterReplaySchema,
  jsonSchemaOf,
  problemJsonSchema,
  problemResponse,
} from '@wallet/service-kit';
import type { z } from 'zod';
import {
  adjustmentBody,
  adjustmentDecisionBody,
  adjustmentListQuery,
  historyQuery,
  openWalletBody,
  refundBody,
  transferBody,
  withdrawalBody,
} from './schemas.ts';

type JsonObject = Record<string, unknown>;

const schema = (s: z.ZodType): JsonObject => jsonSchemaOf(s, 'input');

const amount = { type: 'string', pattern: '^(0|[1-9][0-9]*)$', description: 'integer minor units' };

/**
 * What a request's `amount` may be, documented: a positive integer of minor units, at most 12 digits.
 * The ledger accepts up to 12 digits of MAJOR units (14 digits of EUR cents, 15 of KWD fils: see
 * `maxAmount` in @wallet/contracts); a schema without the currency cannot say that, so the document
 * promises the bound every currency accepts.
 */
const requestAmount = {
  type: 'string',
  pattern: '^[1-9][0-9]{0,11}$',
  description: 'integer minor units, greater than zero',
};

/** Request bodies: their `amount` as documented above. */
const requestSchema = (s: z.ZodType): JsonObject => {
  const document = schema(s);
  const properties = document['properties'] as JsonObject | undefined;
  if (properties?.['amount'] !== undefined) properties['amount'] = requestAmount;
  return document;
};

/** Query parameters with the JSON Schema of the validator that parses them. */
const queryParameters = (s: z.ZodType): JsonObject[] => {
  const document = schema(s) as { properties?: Record<string, JsonObject>; required?: string[] };
  return Object.entries(document.properties ?? {}).map(([name, property]) => ({
    name,
    in: 'query',
    required: document.required?.includes(name) ?? false,
    schema: property,
  }));
};
const requestIdParam = {
  name: 'requestId',
  in: 'path',
  required: true,
  schema: { type: 'string', format: 'uuid' },
};
const adjustmentRequest = {
  type: 'object',
  required: [
    'requestId',
    'status',
    'walletId',
    'currency',
    'amount',
    'direction',
    'requestedBy',
    'expiresAt',
  ],
  properties: {
    requestId: { type: 'string', format: 'uuid' },
    status: { type: 'string', enum: ['pending', 'approved', 'rejected', 'expired'] },
    walletId: { type: 'string', format: 'uuid' },
    currency: { type: 'string' },
    amount,
    direction: { type: 'string', enum: ['credit', 'debit'] },
    reason: { type: 'string' },
    requestedBy: { type: 'string' },
    requestedAt: { type: 'string', format: 'date-time' },
    expiresAt: { type: 'string', format: 'date-time' },
    decidedBy: { type: ['string', 'null'] },
    decidedAt: { type: ['string', 'null'], format: 'date-time' },
    decisionReason: { type: ['string', 'null'] },
    adjustmentId: {
      type: ['string', 'null'],
      format: 'uuid',
      description: 'The posted adjustment transaction, once approved',
    },
  },
};
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

const problem = problemResponse;
const problems = {
  '400': problem('Invalid request'),
  '401': problem('Unauthenticated'),
  '403': problem('Forbidden'),
  '404': problem('Not found'),
};
const notPending = problem(
  'adjustment-request-not-pending: approved by another admin, rejected or expired (`requestStatus`)',
);
const idempotencyKey = { $ref: '#/components/parameters/IdempotencyKey' };
const idempotent = {
  '409': problem('A request with this Idempotency-Key is still in flight'),
  '422': problem('Business refusal, or Idempotency-Key reused with another body'),
};
const json = (s: JsonObject) => ({ content: { 'application/json': { schema: s } } });
const ok = (description: string, s: JsonObject) => ({ description, ...json(s) });

/**
 * OpenAPI links: how one answer feeds the next call, so a stateful client (schemathesis's stateful
 * phase, a generated SDK) chains wallets -> transfers -> refunds with real ids.
 */
const op = (path: string, method: string): string =>
  `#/paths/${path.replaceAll('~', '~0').replaceAll('/', '~1')}/${method}`;
const walletLinks = (pointer: string): JsonObject => ({
  GetWallet: {
    operationRef: op('/v1/wallets/{walletId}', 'get'),
    parameters: { walletId: `$response.body#${pointer}/walletId` },
  },
  ListWalletTransactions: {
    operationRef: op('/v1/wallets/{walletId}/transactions', 'get'),
    parameters: { walletId: `$response.body#${pointer}/walletId` },
  },
  TransferFromWallet: {
    operationRef: op('/v1/transfers', 'post'),
    requestBody: {
      fromWalletId: `$response.body#${pointer}/walletId`,
      currency: `$response.body#${pointer}/currency`,
    },
  },
});
const transferLinks = (transferId: string): JsonObject => ({
  GetTransfer: { operationRef: op('/v1/transfers/{transferId}', 'get'), parameters: { transferId } },
  RefundTransfer: {
    operationRef: op('/v1/transfers/{transferId}/refunds', 'post'),
    parameters: { transferId },
  },
});
const adjustmentLinks: JsonObject = {
  GetAdjustmentRequest: {
    operationRef: op('/v1/admin/adjustments/{requestId}', 'get'),
    parameters: { requestId: '$response.body#/requestId' },
  },
  ApproveAdjustmentRequest: {
    operationRef: op('/v1/admin/adjustments/{requestId}/approve', 'post'),
    parameters: { requestId: '$response.body#/requestId' },
  },
  RejectAdjustmentRequest: {
    operationRef: op('/v1/admin/adjustments/{requestId}/reject', 'post'),
    parameters: { requestId: '$response.body#/requestId' },
  },
};
const withLinks = (response: JsonObject, links: JsonObject): JsonObject => ({ ...response, links });
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
            '200': withLinks(
              ok('Wallets', { type: 'object', properties: { items: { type: 'array', items: wallet } } }),
              walletLinks('/items/0'),
            ),
            ...problems,
          },
        },
        post: {
          summary: 'Open a wallet',
          requestBody: { required: true, ...json(schema(openWalletBody)) },
          responses: {
            '201': withLinks(ok('Opened', wallet), walletLinks('')),
            '409': problem('Already open'),
            ...problems,
          },
        },
      },
      '/v1/wallets/{walletId}': {
        get: {
          summary: 'A wallet, now or at a point in time',
          parameters: [
            walletIdParam,
            { name: 'at', in: 'query', schema: { type: 'string', format: 'date-time' } },
          ],
          responses: { '200': withLinks(ok('Wallet', wallet), walletLinks('')), ...problems },
        },
      },
      '/v1/wallets/{walletId}/transactions': {
        get: {
          summary: 'History, newest first',
          parameters: [walletIdParam, ...queryParameters(historyQuery)],
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
          requestBody: { required: true, ...json(requestSchema(transferBody)) },
          responses: {
            '201': withLinks(
              ok('Completed', {
                type: 'object',
                required: ['transferId', 'status'],
                properties: { transferId: { type: 'string' }, status: { const: 'completed' } },
              }),
              transferLinks('$response.body#/transferId'),
            ),
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
          responses: {
            '200': withLinks(ok('Transfer', { type: 'object' }), {
              RefundTransfer: transferLinks('$request.path.transferId')['RefundTransfer'],
            }),
            ...problems,
          },
        },
      },
      '/v1/transfers/{transferId}/refunds': {
        post: {
          summary: 'Refund (part of) a transfer',
          parameters: [transferIdParam, idempotencyKey],
          requestBody: { required: true, ...json(requestSchema(refundBody)) },
          responses: {
            '201': withLinks(
              ok('Refunded', {
                type: 'object',
                required: ['refundId'],
                properties: { refundId: { type: 'string' } },
              }),
              transferLinks('$request.path.transferId'),
            ),
            ...problems,
            ...idempotent,
          },
        },
      },
      '/v1/withdrawals': {
        post: {
          summary: 'Withdraw to a payout destination (step-up required)',
          parameters: [idempotencyKey],
          requestBody: { required: true, ...json(requestSchema(withdrawalBody)) },
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
          summary:
            'Request an adjustment (maker; admin, step-up). Nothing moves until a second admin approves.',
          description:
            'Refused on your own wallet (403 adjustment-own-wallet) and above the ceiling of your roles ' +
            '(403 adjustment-ceiling-exceeded, `ceiling` in minor units). The request expires after ' +
            'ADJUSTMENT_REQUEST_TTL_SECONDS.',
          parameters: [idempotencyKey],
          requestBody: { required: true, ...json(requestSchema(adjustmentBody)) },
          responses: {
            '202': withLinks(ok('Pending request', adjustmentRequest), adjustmentLinks),
            ...problems,
            ...idempotent,
          },
        },
        get: {
          summary: 'Adjustment requests, newest first (admin, step-up)',
          parameters: queryParameters(adjustmentListQuery),
          responses: {
            '200': ok('Page of requests', {
              type: 'object',
              properties: {
                items: { type: 'array', items: adjustmentRequest },
                nextCursor: { type: ['string', 'null'] },
              },
            }),
            ...problems,
          },
        },
      },
      '/v1/admin/adjustments/{requestId}': {
        get: {
          summary: 'One adjustment request (admin, step-up)',
          parameters: [requestIdParam],
          responses: { '200': ok('Request', adjustmentRequest), ...problems },
        },
      },
      '/v1/admin/adjustments/{requestId}/approve': {
        post: {
          summary: 'Approve and post an adjustment (checker: an admin other than the maker, step-up)',
          description:
            'Books the adjustment once, even under concurrent approvals; approving again as the same admin ' +
            'answers the same request (idempotent on the request id, no Idempotency-Key). 403 ' +
            'four-eyes-required for the maker, adjustment-own-wallet when the wallet is yours or the ' +
            "maker's, adjustment-ceiling-exceeded above your ceiling; 422 when a debit would overdraw.",
          parameters: [requestIdParam],
          requestBody: { required: false, ...json(schema(adjustmentDecisionBody)) },
          responses: {
            '200': ok('Approved and posted', adjustmentRequest),
            ...problems,
            '409': notPending,
            '422': problem('A debit would overdraw the wallet (the request stays pending)'),
          },
        },
      },
      '/v1/admin/adjustments/{requestId}/reject': {
        post: {
          summary: 'Reject (or, as its maker, withdraw) a pending adjustment request (admin, step-up)',
          parameters: [requestIdParam],
          requestBody: { required: false, ...json(schema(adjustmentDecisionBody)) },
          responses: { '200': ok('Rejected', adjustmentRequest), ...problems, '409': notPending },
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
          schema: { type: 'string', minLength: 1, maxLength: 255, pattern: '^[\x21-\x7e]+$' },
        },
      },
      schemas: {
        Problem: problemJsonSchema,
      },
    },
  };
  return cached;
}
