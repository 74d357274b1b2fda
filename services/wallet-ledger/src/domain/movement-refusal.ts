/**
 * Why a money movement was refused, as the use cases say it (no HTTP here): the HTTP edge maps each
 * reason to its problem document once (`http/movement-problems.ts`).
 */
export type MovementRefusalReason =
  | 'same-wallet'
  | 'wallet-not-found'
  | 'currency-mismatch'
  | 'insufficient-funds'
  | 'account-frozen'
  | 'risk-denied'
  | 'step-up-required'
  | 'risk-unavailable';

export class MovementRefused extends Error {
  override name = 'MovementRefused';
  readonly reason: MovementRefusalReason;
  /** The risk assessment behind a `risk-denied`. */
  readonly assessmentId: string | undefined;
  constructor(reason: MovementRefusalReason, assessmentId?: string) {
    super(`movement refused: ${reason}`);
    this.reason = reason;
    this.assessmentId = assessmentId;
  }
}
