/**
 * "Answer within the budget or not at all": the ledger waits for risk before money moves, so a late
 * answer is worse than none (the ledger applies its own fail-open/closed policy to a 503 at once).
 * The budget is the smaller of risk's own (RISK_ASSESSMENT_BUDGET_MS) and what is left of the time
 * the caller handed down in `x-deadline-ms`, less a margin to send the answer back.
 */
import { remainingBudgetMs } from '@wallet/platform';

/** Kept back from the caller's remaining time for the answer's way back through the sidecars. */
export const ANSWER_MARGIN_MS = 20;
/** The shortest assessment worth starting; with less left, answer 503 at once. */
export const MIN_ASSESSMENT_MS = 5;

/** Risk's budget for the assessment being served: its own, capped by the caller's deadline. */
export function assessmentBudgetMs(ownBudgetMs: number): number {
  const remaining = remainingBudgetMs();
  if (remaining === undefined) return ownBudgetMs;
  return Math.max(0, Math.min(ownBudgetMs, Math.floor(remaining - ANSWER_MARGIN_MS)));
}

export class BudgetExceededError extends Error {
  override name = 'BudgetExceededError';
}

/** Resolves with `work`, or rejects with BudgetExceededError once `budgetMs` has passed. */
export function withinBudget<T>(work: Promise<T>, budgetMs: number): Promise<T> {
  if (budgetMs < MIN_ASSESSMENT_MS) {
    // The work has started; its late result is dropped like any other over budget.
    work.catch(() => undefined);
    return Promise.reject(new BudgetExceededError(`no time left (${budgetMs} ms)`));
  }
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new BudgetExceededError(`no answer within ${budgetMs} ms`)), budgetMs);
  });
  return Promise.race([work, deadline]).finally(() => clearTimeout(timer));
}
