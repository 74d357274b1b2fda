/** The ledger's own RFC 9457 answers (types from the shared contracts). */
import { ProblemType } from '@wallet/contracts';
import { HttpProblem } from '@wallet/service-kit';

export const ledgerProblems = {
  walletNotFound: () =>
    new HttpProblem({
      status: 404,
      type: ProblemType.notFound,
      title: 'Not found',
      detail: 'No such wallet.',
    }),
  transferNotFound: () =>
    new HttpProblem({
      status: 404,
      type: ProblemType.notFound,
      title: 'Not found',
      detail: 'No such transfer.',
    }),
  withdrawalNotFound: () =>
    new HttpProblem({
      status: 404,
      type: ProblemType.notFound,
      title: 'Not found',
      detail: 'No such withdrawal.',
    }),
  insufficientFunds: () =>
    new HttpProblem({
      status: 422,
      type: ProblemType.insufficientFunds,
      title: 'Insufficient funds',
      detail: 'The available balance does not cover this amount.',
    }),
  currencyMismatch: (detail = 'The amount currency does not match the wallet currency.') =>
    new HttpProblem({ status: 422, type: ProblemType.currencyMismatch, title: 'Currency mismatch', detail }),
  accountFrozen: () =>
    new HttpProblem({
      status: 422,
      type: ProblemType.accountFrozen,
      title: 'Account frozen',
      detail: 'This wallet is frozen.',
    }),
  refundExceedsRemaining: (remaining: bigint) =>
    new HttpProblem({
      status: 422,
      type: ProblemType.refundExceedsRemaining,
      title: 'Refund exceeds what remains',
      detail: `At most ${remaining.toString()} minor units of this transfer remain refundable.`,
      extensions: { remaining: remaining.toString() },
    }),
  sameWallet: () =>
    new HttpProblem({
      status: 422,
      type: ProblemType.validation,
      title: 'Invalid transfer',
      detail: 'A transfer needs two different wallets.',
    }),
  riskDenied: (assessmentId: string) =>
    new HttpProblem({
      status: 403,
      type: ProblemType.riskDenied,
      title: 'Refused by risk assessment',
      detail: 'This operation was refused.',
      extensions: { assessmentId },
    }),
  riskUnavailable: () =>
    new HttpProblem({
      status: 503,
      type: ProblemType.dependencyUnavailable,
      title: 'Dependency unavailable',
      detail:
        'The risk assessment did not answer in time; this amount cannot proceed without it. Retry later.',
      headers: { 'Retry-After': '5' },
    }),
  idempotencyKeyMissing: () =>
    new HttpProblem({
      status: 400,
      type: ProblemType.idempotencyKeyMissing,
      title: 'Idempotency-Key required',
      detail: 'Money-moving requests need an Idempotency-Key header (1-255 printable characters).',
    }),
  idempotencyKeyReused: () =>
    new HttpProblem({
      status: 422,
      type: ProblemType.idempotencyKeyReused,
      title: 'Idempotency-Key reused',
      detail: 'This Idempotency-Key was used with a different request.',
    }),
  idempotencyInFlight: () =>
    new HttpProblem({
      status: 409,
      type: ProblemType.idempotencyInFlight,
      title: 'Request in progress',
      detail: 'A request with this Idempotency-Key is still being processed.',
      headers: { 'Retry-After': '1' },
    }),
  holdNotPending: (status: string) =>
    new HttpProblem({
      status: 409,
      type: ProblemType.conflict,
      title: 'Conflict',
      detail: `The withdrawal is already ${status}.`,
    }),
  adjustmentRequestNotFound: () =>
    new HttpProblem({
      status: 404,
      type: ProblemType.notFound,
      title: 'Not found',
      detail: 'No such adjustment request.',
    }),
  fourEyesRequired: (detail: string) =>
    new HttpProblem({
      status: 403,
      type: ProblemType.fourEyesRequired,
      title: 'Second approver required',
      detail,
    }),
  adjustmentOwnWallet: (detail: string) =>
    new HttpProblem({ status: 403, type: ProblemType.adjustmentOwnWallet, title: 'Own wallet', detail }),
  adjustmentCeilingExceeded: (detail: string, ceiling: bigint) =>
    new HttpProblem({
      status: 403,
      type: ProblemType.adjustmentCeilingExceeded,
      title: 'Above your adjustment ceiling',
      detail,
      extensions: { ceiling: ceiling.toString() },
    }),
  adjustmentRequestNotPending: (status: string, decidedBy: string | null) =>
    new HttpProblem({
      status: 409,
      type: ProblemType.adjustmentRequestNotPending,
      title: 'Adjustment request no longer pending',
      detail:
        status === 'expired'
          ? 'The adjustment request expired before it was approved; request it again.'
          : `The adjustment request is already ${status}.`,
      extensions: { requestStatus: status, decidedBy },
    }),
  amountAboveMaximum: (field: string, message: string) =>
    new HttpProblem({
      status: 400,
      type: ProblemType.validation,
      title: 'Invalid request',
      detail: 'The request is not valid.',
      errors: [{ field, message }],
    }),
};
