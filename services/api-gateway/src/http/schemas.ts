/**
 * Request and answer schemas of the routes the gateway answers itself (local-routes.ts parses with
 * them, openapi.ts describes them), in their own module so neither of the two imports the other.
 */
import { z } from 'zod';

export const webLoginSchema = z.union([
  z
    .object({
      email: z.string().min(3).max(320),
      password: z.string().min(1).max(1024),
      deviceName: z.string().max(100).optional(),
    })
    .strict(),
  z.object({ mfaToken: z.string().min(1).max(4096), code: z.string().min(1).max(64) }).strict(),
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
      ids: z.array(z.string().min(1).max(40)).min(1).max(1000),
      // Dead-letter ids are per service: ids without their service would replay unrelated messages elsewhere.
      service: z.enum(DEAD_LETTER_SERVICES),
    })
    .strict(),
  z.object({ service: z.enum(DEAD_LETTER_SERVICES), topic: z.string().min(1).max(200).optional() }).strict(),
]);
