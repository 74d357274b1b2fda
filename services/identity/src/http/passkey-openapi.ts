/** The passkey paths of identity's OpenAPI document (merged into it by openapi.ts). */
import * as s from './passkey-schemas.ts';
import { tokenResponse } from './schemas.ts';
import type { operation as Operation } from './openapi.ts';

const CEREMONY =
  'Two calls per ceremony: the options call stores a one-time challenge (WEBAUTHN_CHALLENGE_TTL_SECONDS, default 5 min) and answers `{challengeId, options}`; pass `options` to `PublicKeyCredential.parse…OptionsFromJSON` and `navigator.credentials`, then send `{challengeId, credential: credential.toJSON()}`. A challenge is answered once, right or wrong; a failed ceremony is 401 `passkey-rejected`.';

export function passkeyPaths(operation: typeof Operation, idParam: Record<string, unknown>) {
  return {
    '/v1/auth/passkey/options': {
      post: operation({
        summary:
          'Options for a passkey sign-in: passwordless, or with `mfaToken` the second step after a password',
        description: `${CEREMONY} Without \`mfaToken\` any discoverable passkey may answer, with user verification. With the \`mfaToken\` of \`POST /v1/auth/login\`, one of that account's passkeys (409 when it has none).`,
        tags: ['auth'],
        body: s.passkeySignInOptionsBody,
        // No body at all asks for a passwordless sign-in.
        bodyOptional: true,
        ok: {
          status: 200,
          schema: s.passkeyOptionsResponse,
          description: 'Challenge id and WebAuthn request options',
        },
        errors: [400, 401, 409, 429],
        security: false,
      }),
    },
    '/v1/auth/passkey/login': {
      post: operation({
        summary: 'Sign in with a passkey (session at aal2 for the step-up window)',
        description: `${CEREMONY} A passwordless sign-in (user verified) or a password plus passkey sign-in opens a session at aal2 for the step-up window, amr \`pop\`, \`user\`/\`pwd\`, \`mfa\`.`,
        tags: ['auth'],
        body: s.passkeySignInBody,
        ok: { status: 200, schema: tokenResponse, description: 'Tokens' },
        errors: [400, 401, 403, 429],
        security: false,
      }),
    },
    '/v1/auth/step-up/passkey/options': {
      post: operation({
        summary: "Options for a step-up with one of the user's passkeys",
        description: `${CEREMONY} 409 when the account has no passkey.`,
        tags: ['auth'],
        ok: {
          status: 200,
          schema: s.passkeyOptionsResponse,
          description: 'Challenge id and WebAuthn request options',
        },
        errors: [401, 409],
      }),
    },
    '/v1/auth/step-up/passkey': {
      post: operation({
        summary: 'Raise the session to aal2 for a few minutes with a passkey',
        description: CEREMONY,
        tags: ['auth'],
        body: s.passkeyStepUpBody,
        ok: {
          status: 200,
          description:
            'An aal2 access token `{accessToken, expiresIn}` (a browser session: `{expiresIn, acr}`)',
        },
        errors: [400, 401, 403],
      }),
    },
    '/v1/me/passkeys': {
      get: operation({
        summary: "The user's passkeys",
        tags: ['me'],
        ok: { status: 200, schema: s.passkeysResponse, description: 'Passkeys' },
        errors: [401],
      }),
      post: operation({
        summary: 'Register a passkey (answer to the registration options)',
        description: `${CEREMONY} 409 when the passkey is already registered.`,
        tags: ['me'],
        body: s.passkeyRegistrationBody,
        ok: { status: 201, schema: s.passkeyView, description: 'The new passkey' },
        errors: [400, 401, 403, 409],
      }),
    },
    '/v1/me/passkeys/registration/options': {
      post: operation({
        summary: 'Options for registering a passkey',
        description: `${CEREMONY} An account that already has a second factor (authenticator app or passkey) needs a recent step-up (403 \`step-up-required\`); at most 20 passkeys (409).`,
        tags: ['me'],
        ok: {
          status: 200,
          schema: s.passkeyOptionsResponse,
          description: 'Challenge id and WebAuthn creation options',
        },
        errors: [401, 403, 409],
      }),
    },
    '/v1/me/passkeys/{id}': {
      delete: {
        ...operation({
          summary: 'Remove a passkey (step-up required)',
          tags: ['me'],
          ok: { status: 204, description: 'Removed' },
          errors: [400, 401, 403, 404],
          stepUp: true,
        }),
        parameters: [idParam],
      },
    },
  };
}
