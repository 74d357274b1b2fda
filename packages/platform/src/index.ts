/**
 * @wallet/platform: the platform port and its two transports (embedded, Dapr), plus the messaging
 * building blocks every service uses on its own database (outbox + relay, inbox, dead letters).
 * Subpath exports (`/port`, `/embedded`, `/dapr`, `/messaging`) let a process load only what it uses.
 */
export * from './port.ts';
export { silentLogger } from './logger.ts';
export type { PlatformLogger } from './logger.ts';
export * from './embedded/index.ts';
export * from './dapr/index.ts';
export * from './messaging/index.ts';
export {
  DEADLINE_HEADER,
  MAX_PROPAGATED_BUDGET_MS,
  parseDeadlineHeader,
  remainingBudgetMs,
  runWithDeadline,
} from './resilience/deadline.ts';
/** The active span's W3C `traceparent` (what an outbox row written outside enqueueEvent must store). */
export { activeTraceparent } from './tracing.ts';
export { createInvokePolicy, isDeliberateUnavailable, isFailureAnswer } from './resilience/invoke-policy.ts';
export type { InvokePolicy, InvokePolicyOptions, RawInvoke } from './resilience/invoke-policy.ts';
