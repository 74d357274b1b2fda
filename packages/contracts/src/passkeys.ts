/**
 * The public shape of a passkey sign-in (`POST /v1/auth/passkey/login`, and the passkey form of
 * `POST /v1/web/login`): the WebAuthn JSON a browser produces (`PublicKeyCredential.toJSON()`),
 * checked for shape and size only; identity verifies what it says. One definition, so the gateway
 * refuses exactly what identity would.
 */
import { z } from 'zod';

export const base64urlString = (max: number) =>
  z
    .string()
    .min(1)
    .max(max)
    .regex(/^[A-Za-z0-9_-]+$/, 'base64url');

export const passkeyCredentialCommon = {
  id: base64urlString(1366),
  rawId: base64urlString(1366),
  type: z.literal('public-key'),
  authenticatorAttachment: z.enum(['platform', 'cross-platform']).optional(),
  // No extension is requested, so none is read.
  clientExtensionResults: z.object({}).default({}),
};

export const passkeyAuthenticationCredential = z.object({
  ...passkeyCredentialCommon,
  response: z.object({
    clientDataJSON: base64urlString(4096),
    authenticatorData: base64urlString(4096),
    // ML-DSA (post-quantum) signatures are kilobytes: ML-DSA-87's is 4,627 bytes.
    signature: base64urlString(8192),
    userHandle: base64urlString(128).optional(),
  }),
});

export const passkeySignInBody = z
  .object({
    challengeId: z.uuid(),
    credential: passkeyAuthenticationCredential,
    mfaToken: z.string().min(1).max(256).optional(),
    deviceName: z.string().trim().min(1).max(100).optional(),
  })
  .strict();
