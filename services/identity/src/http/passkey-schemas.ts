/**
 * Request and response shapes of the passkey routes. The WebAuthn JSON a browser produces
 * (`PublicKeyCredential.toJSON()`) is checked here for shape and size only; @simplewebauthn/server
 * verifies what it says.
 */
import { z } from 'zod';
import {
  base64urlString,
  passkeyAuthenticationCredential,
  passkeyCredentialCommon,
  passkeySignInBody,
} from '@wallet/contracts';
import { isTransport } from '../domain/passkey-transports.ts';

const b64url = base64urlString;
const credentialCommon = passkeyCredentialCommon;

export const registrationCredential = z.object({
  ...credentialCommon,
  response: z.object({
    clientDataJSON: b64url(4096),
    attestationObject: b64url(8192),
    authenticatorData: b64url(8192).optional(),
    publicKey: b64url(8192).optional(),
    publicKeyAlgorithm: z.number().int().optional(),
    // Unknown transports (a newer browser's) are dropped, not refused.
    transports: z
      .array(z.string().max(32))
      .max(10)
      .optional()
      .transform((list) => list?.filter(isTransport)),
  }),
});

const authenticationCredential = passkeyAuthenticationCredential;

const challengeId = z.uuid();

export const passkeySignInOptionsBody = z
  .object({ mfaToken: z.string().min(1).max(256).optional() })
  .strict()
  .default({});
export { passkeySignInBody };
export const passkeyStepUpBody = z.object({ challengeId, credential: authenticationCredential }).strict();
export const passkeyRegistrationBody = z
  .object({
    challengeId,
    credential: registrationCredential,
    name: z.string().trim().min(1).max(100).optional(),
  })
  .strict();
export const passkeyIdParam = z.object({ id: z.uuid() });

/** The browser's options, passed as they are to `PublicKeyCredential.parse…OptionsFromJSON`. */
const webauthnOptions = z.record(z.string(), z.unknown());
export const passkeyOptionsResponse = z.object({ challengeId: z.uuid(), options: webauthnOptions });
export const passkeyView = z.object({
  passkeyId: z.uuid(),
  name: z.string(),
  deviceType: z.enum(['singleDevice', 'multiDevice']),
  backedUp: z.boolean(),
  createdAt: z.iso.datetime(),
  lastUsedAt: z.iso.datetime().nullable(),
});
export const passkeysResponse = z.object({ items: z.array(passkeyView) });
