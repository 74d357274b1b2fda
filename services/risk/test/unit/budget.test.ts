import { describe, expect, it } from 'vitest';
import { BudgetExceededError, withinBudget } from '../../src/application/budget.ts';

describe('the answer budget', () => {
  it('passes a timely answer through', async () => {
    await expect(withinBudget(Promise.resolve('allow'), 50)).resolves.toBe('allow');
  });
  it('gives up on a late answer instead of answering late', async () => {
    const never = new Promise<string>(() => {});
    const started = performance.now();
    await expect(withinBudget(never, 20)).rejects.toBeInstanceOf(BudgetExceededError);
    expect(performance.now() - started).toBeLessThan(500);
  });
  it('passes failures through', async () => {
    await expect(withinBudget(Promise.reject(new Error('db down')), 50)).rejects.toThrow('db down');
  });
});
