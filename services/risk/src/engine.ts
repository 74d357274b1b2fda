/**
 * The rule engine as a library, for harnesses that must drive the real code rather than a copy of it
 * (`bench/risk/corpus.ts` replays generated traffic through it): the assessment with its velocity
 * counters and database signals, the rule cache, the profile consumers, and the rule sets.
 */
export { createAssessmentMetrics, runAssessment } from './application/assess.ts';
export type { AssessmentDeps, AssessmentResult } from './application/assess.ts';
export { createRuleCache } from './application/rule-cache.ts';
export type { RiskDatabase } from './db/schema.ts';
export { DEFAULT_RULES } from './domain/rules.default.ts';
export { ruleSetSchema, stepUpPromiseViolations, type RuleSet } from './domain/rules.ts';
export type { AssessmentFacts, Decision } from './domain/scoring.ts';
export { CONSUMED_EVENTS, profileEffects, profileHandler } from './events/profile-consumers.ts';
