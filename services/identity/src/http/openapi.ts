/** identity's OpenAPI 3.1 document (public paths, with `/v1`), built from the zod schemas it parses with. */
import type { z } from 'zod';
import * as s from './schemas.ts';
import { jsonSchemaOf, problemJsonSchema, queryParameters } from '@wallet/service-kit';
import { passkeyPaths } from './passkey-openapi.ts';
import { REAUTHENTICATION_NOTE, accountSecurityPaths } from './account-security-routes.ts';

type Schema = z.ZodType;

const json = jsonSchemaOf;

const problem = { $ref: '#/components/responses/Problem' };

interface Operation {
  summary: string;
  tags: string[];
  body?: Schema;
  /** The body may be left out altogether (an empty body means the schema's defaults). */
  bodyOptional?: boolean;
  query?: Schema;
  ok: { status: number; schema?: Schema; description: string };
  errors: number[];
  security?: boolean;
  stepUp?: boolean;
  description?: string;
}

export function operation(op: Operation) {
  const responses: Record<string, unknown> = {
    [op.ok.status]: op.ok.schema
      ? {
          description: op.ok.description,
          content: { 'application/json': { schema: json(op.ok.schema, 'output') } },
        }
      : { description: op.ok.description },
  };
  for (const status of op.errors) responses[status] = problem;
  const parameters: unknown[] = [];
  if (op.query) {
    parameters.push(...queryParameters(op.query));
  }
  return {
    summary: op.summary,
    ...(op.description ? { description: op.description } : {}),
    tags: op.tags,
    ...(parameters.length ? { parameters } : {}),
    ...(op.body
      ? {
          requestBody: {
            required: !op.bodyOptional,
            content: { 'application/json': { schema: json(op.body, 'input') } },
          },
        }
      : {}),
    responses,
    ...(op.security === false ? { security: [] } : {}),
    ...(op.stepUp ? { 'x-step-up-required': true } : {}),
  };
}

const idParam = { name: 'id', in: 'path', required: true, schema: { type: 'string', format: 'uuid' } };

let cached: Record<string, unknown> | undefined;

export function openApiDocument(): Record<string, unknown> {
  cached ??= {
    openapi: '3.1.0',
    info: {
      title: 'Wallet identity',
      version: '1.0.0',
      description: 'Accounts, sign-in, MFA, sessions, recovery and user administration.',
    },
    servers: [{ url: '/' }],
    security: [{ bearer: [] }],
    tags: [{ name: 'auth' }, { name: 'me' }, { name: 'admin' }, { name: 'keys' }],
    paths: {
      '/v1/auth/register': {
        post: operation({
          summary: 'Sign up; a verification code is e-mailed (always 202)',
          description:
            'The same answer, after the same work, whether or not the address has an account (no enumeration): a new address gets an account and a verification code; the owner of a known address is e-mailed instead (with a recovery code in case they forgot their password). 400 only for a malformed request or a password that breaks the rules or is in the breached-password list.',
          tags: ['auth'],
          body: s.registerBody,
          ok: { status: 202, description: 'Accepted: check your mailbox' },
          errors: [400, 429],
          security: false,
        }),
      },
      '/v1/auth/verify-email': {
        post: operation({
          summary: 'Confirm the e-mail address with the code',
          tags: ['auth'],
          body: s.verifyEmailBody,
          ok: { status: 204, description: 'Verified' },
          errors: [400, 429],
          security: false,
        }),
      },
      '/v1/auth/login': {
        post: {
          ...operation({
            summary: 'Sign in with e-mail and password',
            description:
              'Failed attempts (wrong password, second-factor or recovery code) are throttled per account and client address: 3 free, then delays doubling from 1 s to 15 min; beyond 100 failures an hour per account or 20 per 15 minutes per address, only addresses and devices the account has signed in from are admitted. Refused: 429 `rate-limited` with Retry-After.',
            tags: ['auth'],
            body: s.loginBody,
            ok: { status: 200, description: 'Tokens, or a second factor is needed' },
            errors: [400, 401, 403, 429],
            security: false,
          }),
          responses: {
            200: {
              description: 'Tokens, or a second factor is needed',
              content: {
                'application/json': {
                  schema: { oneOf: [json(s.tokenResponse, 'output'), json(s.mfaRequiredResponse, 'output')] },
                },
              },
            },
            400: problem,
            401: problem,
            403: problem,
            429: problem,
          },
        },
      },
      '/v1/auth/login/mfa': {
        post: operation({
          summary: 'Finish sign-in with a TOTP or recovery code',
          description:
            'Failed attempts (wrong password, second-factor or recovery code) are throttled per account and client address: 3 free, then delays doubling from 1 s to 15 min; beyond 100 failures an hour per account or 20 per 15 minutes per address, only addresses and devices the account has signed in from are admitted. Refused: 429 `rate-limited` with Retry-After.',
          tags: ['auth'],
          body: s.loginMfaBody,
          ok: { status: 200, schema: s.tokenResponse, description: 'Tokens' },
          errors: [400, 401, 403, 429],
          security: false,
        }),
      },
      '/v1/auth/refresh': {
        post: operation({
          summary: 'Rotate the refresh token; a reused one revokes the session',
          tags: ['auth'],
          body: s.refreshBody,
          ok: { status: 200, schema: s.tokenResponse, description: 'A new token pair' },
          errors: [400, 401],
          security: false,
        }),
      },
      '/v1/auth/logout': {
        post: operation({
          summary: 'Revoke the current session',
          tags: ['auth'],
          ok: { status: 204, description: 'Revoked' },
          errors: [401],
        }),
      },
      '/v1/auth/step-up': {
        post: operation({
          summary: 'Raise the session to aal2 for a few minutes',
          description:
            'Failed attempts (wrong password, second-factor or recovery code) are throttled per account and client address: 3 free, then delays doubling from 1 s to 15 min; beyond 100 failures an hour per account or 20 per 15 minutes per address, only addresses and devices the account has signed in from are admitted. Refused: 429 `rate-limited` with Retry-After.',
          tags: ['auth'],
          body: s.stepUpBody,
          ok: { status: 200, schema: s.stepUpResponse, description: 'An aal2 access token' },
          errors: [400, 401, 403, 429],
        }),
      },
      '/v1/auth/recovery': {
        post: operation({
          summary: 'E-mail a recovery code (always 202)',
          description:
            'Answered at once, whether or not the address has an account; the lookup, the code and the e-mail happen after the answer, so the timing reveals nothing.',
          tags: ['auth'],
          body: s.recoveryBody,
          ok: { status: 202, description: 'Accepted' },
          errors: [400, 429],
          security: false,
        }),
      },
      '/v1/auth/recovery/complete': {
        post: operation({
          summary: 'Set a new password with the code; every session is revoked',
          description:
            'Failed attempts (wrong password, second-factor or recovery code) are throttled per account and client address: 3 free, then delays doubling from 1 s to 15 min; beyond 100 failures an hour per account or 20 per 15 minutes per address, only addresses and devices the account has signed in from are admitted. Refused: 429 `rate-limited` with Retry-After.',
          tags: ['auth'],
          body: s.recoveryCompleteBody,
          ok: { status: 204, description: 'Password changed' },
          errors: [400, 429],
          security: false,
        }),
      },
      '/v1/me': {
        get: operation({
          summary: 'The signed-in user',
          tags: ['me'],
          ok: { status: 200, schema: s.meResponse, description: 'Profile' },
          errors: [401],
        }),
      },
      '/v1/me/mfa/totp': {
        post: operation({
          summary: 'Start authenticator-app enrolment',
          description: REAUTHENTICATION_NOTE,
          tags: ['me'],
          ok: { status: 200, schema: s.totpEnrolmentResponse, description: 'Secret and otpauth URL' },
          errors: [401, 403, 409],
        }),
        delete: {
          ...operation({
            summary: 'Remove the authenticator app (step-up required)',
            description: `${REAUTHENTICATION_NOTE} \`signOutOtherSessions=true\` also ends every other session.`,
            tags: ['me'],
            ok: { status: 204, description: 'Removed' },
            errors: [400, 401, 403],
            stepUp: true,
          }),
          parameters: [
            {
              name: 'signOutOtherSessions',
              in: 'query',
              required: false,
              schema: { type: 'string', enum: ['true', 'false'] },
            },
          ],
        },
      },
      '/v1/me/mfa/totp/confirm': {
        post: operation({
          summary: 'Confirm enrolment; recovery codes are shown once',
          description: REAUTHENTICATION_NOTE,
          tags: ['me'],
          body: s.totpConfirmBody,
          ok: { status: 200, schema: s.recoveryCodesResponse, description: 'Recovery codes' },
          errors: [400, 401, 403, 409],
        }),
      },
      '/v1/me/sessions': {
        get: operation({
          summary: 'Sessions and devices',
          tags: ['me'],
          query: s.adminUsersQuery.pick({ limit: true, cursor: true }),
          ok: { status: 200, schema: s.sessionsResponse, description: 'Sessions' },
          errors: [400, 401],
        }),
        delete: operation({
          summary: 'Revoke every other session',
          tags: ['me'],
          ok: { status: 200, schema: s.revokedResponse, description: 'How many were revoked' },
          errors: [401],
        }),
      },
      '/v1/me/sessions/{id}': {
        delete: {
          ...operation({
            summary: 'Revoke one session',
            tags: ['me'],
            ok: { status: 204, description: 'Revoked' },
            errors: [400, 401, 404],
          }),
          parameters: [idParam],
        },
      },
      '/v1/admin/users': {
        get: operation({
          summary: 'Find users by e-mail prefix (support, admin; step-up)',
          tags: ['admin'],
          query: s.adminUsersQuery,
          ok: { status: 200, schema: s.adminUsersResponse, description: 'Users' },
          errors: [400, 401, 403],
          stepUp: true,
        }),
      },
      '/v1/admin/users/{id}/lock': {
        post: {
          ...operation({
            summary: 'Lock a user; their sessions are revoked (support, admin; step-up)',
            tags: ['admin'],
            ok: { status: 204, description: 'Locked' },
            errors: [400, 401, 403, 404, 409],
            stepUp: true,
          }),
          parameters: [idParam],
        },
      },
      '/v1/admin/users/{id}/unlock': {
        post: {
          ...operation({
            summary: 'Unlock a user (support, admin; step-up)',
            description: "Also lifts the account's ceiling of failed sign-ins.",
            tags: ['admin'],
            ok: { status: 204, description: 'Unlocked' },
            errors: [400, 401, 403, 404],
            stepUp: true,
          }),
          parameters: [idParam],
        },
      },
      '/v1/admin/users/{id}/roles': {
        put: {
          ...operation({
            summary: "Set a user's roles (admin; step-up)",
            tags: ['admin'],
            body: s.rolesBody,
            ok: { status: 200, schema: s.rolesResponse, description: 'Roles now' },
            errors: [400, 401, 403, 404, 409],
            stepUp: true,
          }),
          parameters: [idParam],
        },
      },
      ...accountSecurityPaths(operation),
      '/.well-known/jwks.json': {
        get: operation({
          summary: 'Public keys that verify access tokens',
          tags: ['keys'],
          ok: { status: 200, schema: s.jwksResponse, description: 'JWKS' },
          errors: [],
          security: false,
        }),
      },
      ...passkeyPaths(operation, idParam),
    },
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } },
      schemas: {
        Problem: problemJsonSchema,
      },
      responses: {
        Problem: {
          description: 'RFC 9457 problem',
          content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } },
        },
      },
    },
  };
  return cached;
}
