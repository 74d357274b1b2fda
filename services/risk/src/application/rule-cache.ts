/**
 * The rules in force, cached in memory for a few seconds so scoring never waits on a query. A change
 * through this process invalidates at once; other replicas pick it up within `ttlMs`.
 */
import type { Kysely } from 'kysely';
import type { Logger } from '@wallet/service-kit';
import { applyOverrides, type RuleSet } from '../domain/rules.ts';
import { loadLatestOverrides, type StoredOverrides } from '../db/rules-repository.ts';
import type { RiskDatabase } from '../db/schema.ts';

export interface ActiveRules {
  rules: RuleSet;
  defaults: RuleSet;
  stored: StoredOverrides | null;
  /** False when the stored overrides no longer fit the defaults and were set aside. */
  overridesApplied: boolean;
}

export interface RuleCache {
  current(): Promise<ActiveRules>;
  invalidate(): void;
}

export function createRuleCache(options: {
  db: Kysely<RiskDatabase>;
  defaults: RuleSet;
  ttlMs: number;
  logger: Logger;
  now?: () => number;
}): RuleCache {
  const now = options.now ?? Date.now;
  let cached: { value: ActiveRules; loadedAt: number } | undefined;
  let loading: Promise<ActiveRules> | undefined;

  const load = async (): Promise<ActiveRules> => {
    const stored = await loadLatestOverrides(options.db);
    let value: ActiveRules;
    if (!stored) {
      value = { rules: options.defaults, defaults: options.defaults, stored: null, overridesApplied: true };
    } else {
      try {
        value = {
          rules: applyOverrides(options.defaults, stored.overrides, stored.version),
          defaults: options.defaults,
          stored,
          overridesApplied: true,
        };
      } catch (error) {
        // A defaults file shipped since the override was written may no longer accept it: the reviewed
        // defaults are the safe fallback, and operators are told loudly.
        options.logger.error(
          { err: error, overrideVersion: stored.version },
          'stored rule overrides are invalid; using the defaults',
        );
        value = { rules: options.defaults, defaults: options.defaults, stored, overridesApplied: false };
      }
    }
    cached = { value, loadedAt: now() };
    return value;
  };

  return {
    async current() {
      if (cached && now() - cached.loadedAt < options.ttlMs) return cached.value;
      loading ??= load().finally(() => {
        loading = undefined;
      });
      try {
        return await loading;
      } catch (error) {
        if (!cached) throw error;
        options.logger.warn({ err: error }, 'could not refresh the rules; keeping the last ones loaded');
        return cached.value;
      }
    },
    invalidate() {
      cached = undefined;
    },
  };
}
