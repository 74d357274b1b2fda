/** risk configuration: the runtime keys every service has, plus its own. */
import { runtimeEnvSchema } from '@wallet/service-kit';
import { z } from 'zod';

export const configSchema = runtimeEnvSchema.extend({
  PORT: z.coerce.number().int().min(0).max(65535).default(3103),
  /**
   * An assessment not answered within this budget answers 503 (with Retry-After); the caller applies its
   * failure policy. The caller's own deadline (`x-deadline-ms`, less 20 ms) caps it: the ledger waits
   * RISK_TIMEOUT_MS (1.5 s), so risk answers "no" deliberately before the ledger would time out.
   */
  RISK_ASSESSMENT_BUDGET_MS: z.coerce.number().int().min(5).max(10_000).default(1_000),
  /** How long a replica keeps the rules in force before re-reading the overrides. */
  RISK_RULES_CACHE_MS: z.coerce.number().int().min(0).max(300_000).default(5_000),
});

export type Config = z.infer<typeof configSchema>;
