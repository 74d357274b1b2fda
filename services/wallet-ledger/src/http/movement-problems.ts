/** The one place where a refused movement becomes its RFC 9457 answer. */
import { problems, type HttpProblem } from '@wallet/service-kit';
import { MovementRefused } from '../domain/movement-refusal.ts';
import { ledgerProblems } from '../domain/problems.ts';

export function movementProblem(refusal: MovementRefused): HttpProblem {
  switch (refusal.reason) {
    case 'same-wallet':
      return ledgerProblems.sameWallet();
    case 'wallet-not-found':
      return ledgerProblems.walletNotFound();
    case 'currency-mismatch':
      return ledgerProblems.currencyMismatch();
    case 'insufficient-funds':
      return ledgerProblems.insufficientFunds();
    case 'account-frozen':
      return ledgerProblems.accountFrozen();
    case 'risk-denied':
      return ledgerProblems.riskDenied(refusal.assessmentId ?? '');
    case 'step-up-required':
      return problems.stepUpRequired('The risk assessment asks for a recent second-factor confirmation.');
    case 'risk-unavailable':
      return ledgerProblems.riskUnavailable();
  }
}

/** Runs a use case and turns its typed refusal into the HTTP problem (other errors pass untouched). */
export async function withMovementProblems<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof MovementRefused) throw movementProblem(error);
    throw error;
  }
}
