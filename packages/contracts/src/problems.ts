/**
 * Stable RFC 9457 problem `type` URIs. Clients branch on these; never rename one.
 */
export const PROBLEM_BASE = 'https://wallet.dev/problems/';

export const ProblemType = {
  validation: `${PROBLEM_BASE}validation`,
  malformedJson: `${PROBLEM_BASE}malformed-json`,
  notFound: `${PROBLEM_BASE}not-found`,
  methodNotAllowed: `${PROBLEM_BASE}method-not-allowed`,
  unauthenticated: `${PROBLEM_BASE}unauthenticated`,
  forbidden: `${PROBLEM_BASE}forbidden`,
  stepUpRequired: `${PROBLEM_BASE}step-up-required`,
  riskDenied: `${PROBLEM_BASE}risk-denied`,
  insufficientFunds: `${PROBLEM_BASE}insufficient-funds`,
  currencyMismatch: `${PROBLEM_BASE}currency-mismatch`,
  accountFrozen: `${PROBLEM_BASE}account-frozen`,
  refundExceedsRemaining: `${PROBLEM_BASE}refund-exceeds-remaining`,
  /** Maker-checker admin adjustments (four eyes on money). */
  fourEyesRequired: `${PROBLEM_BASE}four-eyes-required`,
  adjustmentOwnWallet: `${PROBLEM_BASE}adjustment-own-wallet`,
  adjustmentCeilingExceeded: `${PROBLEM_BASE}adjustment-ceiling-exceeded`,
  adjustmentRequestNotPending: `${PROBLEM_BASE}adjustment-request-not-pending`,
  idempotencyKeyMissing: `${PROBLEM_BASE}idempotency-key-missing`,
  idempotencyKeyReused: `${PROBLEM_BASE}idempotency-key-reused`,
  idempotencyInFlight: `${PROBLEM_BASE}idempotency-in-flight`,
  conflict: `${PROBLEM_BASE}conflict`,
  rateLimited: `${PROBLEM_BASE}rate-limited`,
  payloadTooLarge: `${PROBLEM_BASE}payload-too-large`,
  unsupportedMediaType: `${PROBLEM_BASE}unsupported-media-type`,
  requestBlocked: `${PROBLEM_BASE}request-blocked`,
  invalidSignature: `${PROBLEM_BASE}invalid-signature`,
  csrf: `${PROBLEM_BASE}csrf`,
  invalidCredentials: `${PROBLEM_BASE}invalid-credentials`,
  accountLocked: `${PROBLEM_BASE}account-locked`,
  mfaRequired: `${PROBLEM_BASE}mfa-required`,
  invalidCode: `${PROBLEM_BASE}invalid-code`,
  /** A pending one-time code that can no longer be issued (expired, used, replaced, or issued too often). */
  codeUnavailable: `${PROBLEM_BASE}code-unavailable`,
  tokenReused: `${PROBLEM_BASE}token-reused`,
  /** A passkey ceremony that failed: spent or expired challenge, unknown credential, or a response that does not verify (401). */
  passkeyRejected: `${PROBLEM_BASE}passkey-rejected`,
  /** Changing an authentication factor needs a recent full re-authentication (403; POST /v1/auth/reauthenticate). */
  reauthenticationRequired: `${PROBLEM_BASE}reauthentication-required`,
  dependencyUnavailable: `${PROBLEM_BASE}dependency-unavailable`,
  /** The service is at its limit of work in flight and refused this request early (503, Retry-After). */
  overloaded: `${PROBLEM_BASE}overloaded`,
  /** Risk did not answer and the amount is at or above what may proceed without it (503, Retry-After). */
  riskUnavailable: `${PROBLEM_BASE}risk-unavailable`,
  notReady: `${PROBLEM_BASE}not-ready`,
  internal: `${PROBLEM_BASE}internal`,
} as const;

export type ProblemTypeUri = (typeof ProblemType)[keyof typeof ProblemType];

export interface FieldError {
  /** JSON pointer-ish dotted path of the offending field, e.g. `body.amount`. */
  field: string;
  message: string;
}

/** The RFC 9457 document we answer with. Extra members are allowed by the RFC. */
export interface ProblemDocument {
  type: string;
  title: string;
  status: number;
  detail?: string;
  instance?: string;
  errors?: FieldError[];
  [extension: string]: unknown;
}
