/**
 * Request and answer schemas of the routes the gateway answers itself (local-routes.ts parses with
 * them, openapi.ts describes them), in their own module so neither of the two imports the other.
 */
import { z } from 'zod';
import { passkeySignInBody } from '@wallet/contracts';

export const webLoginSchema = z.union([
  z
    .object({
      // The limits identity applies (its login schema), so the gateway never passes on what identity refuses.
      email: z.string().max(254).regex(z.regexes.email, 'must be an e-mail address'),
      password: z.string().min(1).max(1024),
      deviceName: z.string().min(1).max(100).optional(),
    })
    .strict(),
  z.object({ mfaToken: z.string().min(1).max(256), code: z.string().min(6).max(32) }).strict(),
  // A passkey's answer to `POST /v1/auth/passkey/options` (passwordless, or with the password step's
  // mfaToken): the same shape identity checks before it verifies it.
  passkeySignInBody,
]);

export const webLoginAnswerSchema = z.object({
  csrfToken: z.string(),
  expiresIn: z.number().int(),
  sessionId: z.string(),
});

export const tokenAnswerSchema = z.object({
  accessToken: z.string().min(1),
  refreshToken: z.string().min(1),
  expiresIn: z.number().int().positive(),
  sessionId: z.string().min(1),
});

export const DEAD_LETTER_SERVICES = [
  'identity',
  'wallet-ledger',
  'risk',
  'notification',
  'api-gateway',
] as const;
export type DeadLetterService = (typeof DEAD_LETTER_SERVICES)[number];

export const deadLetterQuerySchema = z.object({
  service: z.enum(DEAD_LETTER_SERVICES).optional(),
  topic: z.string().min(1).max(200).optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
});

export const replayBodySchema = z.union([
  z
    .object({
      // What every service's dead-letter store takes (service-kit's replay schema): a decimal row id.
      ids: z
        .array(z.string().regex(/^[1-9][0-9]{0,18}$/, 'dead-letter ids are decimal integers'))
        .min(1)
        // The WAF refuses longer JSON arrays (WAF_MAX_ARRAY_LENGTH, 500), so the document says 500.
        .max(500),
      // Dead-letter ids are per service: ids without their service would replay unrelated messages elsewhere.
      service: z.enum(DEAD_LETTER_SERVICES),
    })
    .strict(),
  z.object({ service: z.enum(DEAD_LETTER_SERVICES), topic: z.string().min(1).max(200).optional() }).strict(),
]);
