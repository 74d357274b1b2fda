/** Request and response schemas of risk's HTTP API (also the source of its OpenAPI document). */
import { z } from 'zod';
import {
  currencySchema,
  cursorParamSchema,
  positiveAmountSchema,
  refineAmountForCurrency,
} from '@wallet/contracts';
import { ACTIONS, type RiskAction } from '../domain/rules.ts';

const MONEY_ACTIONS: ReadonlySet<RiskAction> = new Set(['transfer', 'withdrawal', 'refund']);

const optionalText = (max: number) => z.string().min(1).max(max).nullish();

export const assessmentRequestSchema = z
  .object({
    userId: z.string().min(1).max(128),
    action: z.enum(ACTIONS),
    /** Decimal string of integer minor units; required for money-moving actions. */
    amount: positiveAmountSchema.optional(),
    currency: currencySchema.optional(),
    /** Wallet id, user id or payout destination the money goes to. */
    counterparty: optionalText(256),
    sessionId: optionalText(128),
    deviceId: optionalText(256),
    ip: z.union([z.ipv4(), z.ipv6()]).nullish(),
  })
  .superRefine((body, ctx) => {
    if (MONEY_ACTIONS.has(body.action) && body.amount === undefined) {
      ctx.addIssue({ code: 'custom', path: ['amount'], message: `amount is required for ${body.action}` });
    }
    if ((body.amount === undefined) !== (body.currency === undefined)) {
      ctx.addIssue({ code: 'custom', path: ['currency'], message: 'amount and currency go together' });
    }
    refineAmountForCurrency(body, ctx);
  });
export type AssessmentRequest = z.infer<typeof assessmentRequestSchema>;

export const reasonSchema = z.object({ rule: z.string(), detail: z.string() });

export const assessmentResponseSchema = z.object({
  assessmentId: z.string().uuid(),
  decision: z.enum(['allow', 'challenge', 'deny']),
  score: z.number().int().min(0).max(100),
  reasons: z.array(reasonSchema),
  requiredAcr: z.literal('aal2').optional(),
  rulesVersion: z.string(),
});

export const flagsQuerySchema = z.object({
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: cursorParamSchema.optional(),
  userId: z.string().min(1).max(128).optional(),
  status: z.enum(['open', 'closed']).optional(),
});

export const flagSchema = z.object({
  flagId: z.string().uuid(),
  userId: z.string(),
  assessmentId: z.string().uuid().nullable(),
  action: z.string(),
  score: z.number().int(),
  reasons: z.array(reasonSchema),
  status: z.enum(['open', 'closed']),
  createdAt: z.string(),
  closedBy: z.string().nullable(),
  closedAt: z.string().nullable(),
  closeNote: z.string().nullable(),
});

export const uuidParamSchema = z.object({ id: z.string().uuid() });
export const closeFlagRequestSchema = z.object({ note: z.string().trim().min(1).max(1000).optional() });

export const flagPageSchema = z.object({ items: z.array(flagSchema), nextCursor: z.string().nullable() });

export const ruleChangeRequestSchema = z.object({
  /** Any subset of the rule set; objects merge into the defaults, scalars and arrays replace. */
  overrides: z.record(z.string(), z.unknown()),
  reason: z.string().trim().min(1).max(500),
  /** Optimistic concurrency: the override version this change builds on (null: none yet). */
  expectedVersion: z
    .string()
    .regex(/^[1-9][0-9]{0,18}$/)
    .nullable()
    .optional(),
});

export const rulesViewSchema = z.object({
  version: z.string(),
  defaultsVersion: z.string(),
  overrideVersion: z.string().nullable(),
  overridesApplied: z.boolean(),
  overrides: z.record(z.string(), z.unknown()),
  changedBy: z.string().nullable(),
  changedAt: z.string().nullable(),
  reason: z.string().nullable(),
  rules: z.record(z.string(), z.unknown()),
});

export const ruleChangesQuerySchema = z.object({
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: cursorParamSchema.optional(),
});

// The dead-letter admin endpoints are the service kit's, shared by every service.
export {
  deadLetterQuerySchema as deadLettersQuerySchema,
  deadLetterReplaySchema as replayRequestSchema,
} from '@wallet/service-kit';
