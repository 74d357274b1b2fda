/** Request and response schemas of the HTTP API (also the source of the OpenAPI document). */
import { cursorParamSchema } from '@wallet/contracts';
import { z } from 'zod';
import { CATEGORIES, CHANNELS } from '../domain/preferences.ts';
import { TEMPLATES } from '../domain/catalog.ts';

export const historyQuerySchema = z.object({
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: cursorParamSchema.optional(),
});

export const deliveryStatusSchema = z.enum(['pending', 'sending', 'sent', 'failed', 'dead', 'skipped']);

export const deliveryViewSchema = z.object({
  deliveryId: z.string().uuid(),
  channel: z.enum(CHANNELS),
  template: z.enum(TEMPLATES),
  category: z.enum(CATEGORIES),
  status: deliveryStatusSchema,
  attempts: z.number().int(),
  createdAt: z.string(),
  sentAt: z.string().nullable(),
  resendOf: z.string().uuid().nullable(),
  /** Why a `skipped` delivery was never sent (an SMS to a phone number not verified). */
  skippedReason: z.string().nullable(),
});

export const historyPageSchema = z.object({
  items: z.array(deliveryViewSchema),
  nextCursor: z.string().nullable(),
});

const switchesViewSchema = z.object({
  email: z.boolean(),
  sms: z.boolean(),
  push: z.boolean(),
  mandatory: z.boolean(),
});
export const preferencesViewSchema = z.object(
  Object.fromEntries(CATEGORIES.map((c) => [c, switchesViewSchema])) as Record<
    (typeof CATEGORIES)[number],
    typeof switchesViewSchema
  >,
);

/** E.164: a plus and up to 15 digits. */
export const channelsUpdateSchema = z.strictObject({
  phone: z
    .string()
    .regex(/^\+[1-9][0-9]{6,14}$/, 'phone must be E.164, e.g. +4915112345678')
    .nullable()
    .optional(),
  pushTokens: z
    .array(
      z
        .string()
        .min(16)
        .max(4096)
        .regex(/^[\x21-\x7e]+$/, 'printable ASCII'),
    )
    .max(10)
    .optional(),
});
export const channelsViewSchema = z.object({
  phone: z.string().nullable(),
  /** SMS go only to a verified number (proved with the code sent to it). */
  phoneVerified: z.boolean(),
  pushTokens: z.array(z.string()),
});
export const channelsUpdateAnswerSchema = channelsViewSchema.extend({
  /** A new number was stored unverified and a verification code SMS queued to it. */
  codeSent: z.boolean(),
});
export const emptyBodySchema = z.strictObject({});
export const phoneCodeSentSchema = z.object({ codeSent: z.literal(true) });
export const phoneCodeConfirmSchema = z.strictObject({
  code: z.string().regex(/^[0-9]{6}$/, 'the 6-digit code from the SMS'),
});

export const deliveryIdParamsSchema = z.object({ deliveryId: z.string().uuid() });
export const resendAnswerSchema = z.object({
  deliveryId: z.string().uuid(),
  resendOf: z.string().uuid(),
  status: z.literal('pending'),
});

export const deadLetterViewSchema = z.object({
  id: z.string(),
  service: z.literal('notification'),
  origin: z.string(),
  topic: z.string(),
  eventId: z.string(),
  type: z.string(),
  lastError: z.string().nullable(),
  attempts: z.number().int(),
  createdAt: z.string(),
  updatedAt: z.string(),
  replayedAt: z.string().nullable(),
  replayCount: z.number().int(),
});
export const deadLetterPageSchema = z.object({
  items: z.array(deadLetterViewSchema),
  nextCursor: z.string().nullable(),
});

export const replayAnswerSchema = z.object({
  replayed: z.array(z.string()),
  failed: z.array(z.object({ id: z.string(), error: z.string() })),
});

export const devOutboxQuerySchema = z.object({
  to: z.string().min(1).max(320).optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
});
export const devOutboxItemSchema = z.object({
  to: z.string(),
  channel: z.enum(CHANNELS),
  subject: z.string().nullable(),
  body: z.string(),
  createdAt: z.string(),
});
export const devOutboxAnswerSchema = z.object({ items: z.array(devOutboxItemSchema) });

// The dead-letter admin endpoints are the service kit's, shared by every service.
export {
  deadLetterQuerySchema as deadLettersQuerySchema,
  deadLetterReplaySchema as replayBodySchema,
} from '@wallet/service-kit';
