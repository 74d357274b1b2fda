/**
 * "Answer within the budget or not at all": the ledger waits for risk before money moves, so a late
 * answer is worse than none (the ledger applies its own fail-open/closed policy to a 503 at once).
 */
export class BudgetExceededError extends Error {
  override name = 'BudgetExceededError';
}

/** Resolves with `work`, or rejects with BudgetExceededError once `budgetMs` has passed. */
export function withinBudget<T>(work: Promise<T>, budgetMs: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new BudgetExceededError(`no answer within ${budgetMs} ms`)), budgetMs);
  });
  return Promise.race([work, deadline]).finally(() => clearTimeout(timer));
}
