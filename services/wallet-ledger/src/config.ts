/** wallet-ledger configuration: the runtime keys every service has, plus its own. */
import { currencySchema } from '@wallet/contracts';
import { runtimeEnvSchema } from '@wallet/service-kit';
import { z } from 'zod';
import { parseAdjustmentCeilings } from './domain/adjustment-policy.ts';

const minorUnits = z
  .string()
  .regex(/^(0|[1-9][0-9]{0,29})$/, 'integer minor units')
  .transform((s) => BigInt(s));

export const configSchema = runtimeEnvSchema.extend({
  PORT: z.coerce.number().int().min(0).max(65535).default(3102),
  /** Currency of the default wallet opened on registration, and of RISK_FAIL_OPEN_BELOW. */
  PLATFORM_CURRENCY: currencySchema.default('EUR'),
  /** How long a transfer or withdrawal waits for the risk service. */
  RISK_TIMEOUT_MS: z.coerce.number().int().min(50).max(30_000).default(1_500),
  /**
   * When risk does not answer: amounts strictly below this (minor units of PLATFORM_CURRENCY) proceed
   * and the transaction records that risk was skipped (fail open); anything else is refused (fail closed).
   * Other currencies always fail closed (no FX rate here to compare).
   */
  RISK_FAIL_OPEN_BELOW: minorUnits.default(5_000n),
  /**
   * `balance.low` is published when a wallet's available balance in PLATFORM_CURRENCY falls below this
   * (minor units; 0 turns it off).
   */
  BALANCE_LOW_THRESHOLD: minorUnits.default(1_000n),
  /** Shards of each hot system account (funding, payout clearing, suspense) per currency. */
  SYSTEM_ACCOUNT_SHARDS: z.coerce.number().int().min(1).max(256).default(16),
  /** How long a withdrawal's hold waits for the payout provider before it expires. */
  WITHDRAWAL_HOLD_TTL_SECONDS: z.coerce
    .number()
    .int()
    .min(1)
    .default(7 * 24 * 3600),
  /** How often the hold-expiry worker looks for expired holds. */
  HOLD_EXPIRY_INTERVAL_MS: z.coerce.number().int().min(10).default(30_000),
  /** How long a claimed Idempotency-Key stays in flight before another request may take it over. */
  IDEMPOTENCY_LEASE_SECONDS: z.coerce.number().int().min(5).max(3600).default(60),
  OUTBOX_POLL_INTERVAL_MS: z.coerce.number().int().min(10).default(250),
  /**
   * Maker-checker ceilings per role, in MAJOR units of the wallet's currency: `role=units[,...]`.
   * Both the requesting and the approving admin must be within their own ceiling; a role not listed
   * may neither request nor approve.
   */
  ADJUSTMENT_CEILINGS: z
    .string()
    .default('admin=10000')
    .transform((text, ctx) => {
      try {
        return parseAdjustmentCeilings(text);
      } catch (error) {
        ctx.addIssue({ code: 'custom', message: error instanceof Error ? error.message : String(error) });
        return z.NEVER;
      }
    }),
  /** How long an adjustment request waits for a second admin before it expires. */
  ADJUSTMENT_REQUEST_TTL_SECONDS: z.coerce
    .number()
    .int()
    .min(1)
    .max(30 * 24 * 3600)
    .default(24 * 3600),
});

export type Config = z.infer<typeof configSchema>;
