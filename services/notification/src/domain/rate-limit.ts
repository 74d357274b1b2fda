/**
 * A token bucket per provider: at most `ratePerSecond` sends per second on average, bursts up to one
 * second's worth. Per process (per replica); the provider's own 429s remain the global backstop.
 */
export class TokenBucket {
  readonly #ratePerSecond: number;
  readonly #capacity: number;
  readonly #now: () => number;
  #tokens: number;
  #updatedAt: number;

  constructor(ratePerSecond: number, now: () => number = () => performance.now()) {
    if (!(ratePerSecond > 0)) throw new RangeError('ratePerSecond must be > 0');
    this.#ratePerSecond = ratePerSecond;
    this.#capacity = Math.max(1, ratePerSecond);
    this.#now = now;
    this.#tokens = this.#capacity;
    this.#updatedAt = now();
  }

  #refill(): void {
    const now = this.#now();
    const elapsed = Math.max(0, now - this.#updatedAt) / 1000;
    this.#tokens = Math.min(this.#capacity, this.#tokens + elapsed * this.#ratePerSecond);
    this.#updatedAt = now;
  }

  /** Whole tokens available now. */
  available(): number {
    this.#refill();
    return Math.floor(this.#tokens);
  }

  /** Takes up to `wanted` tokens; returns how many were granted. */
  take(wanted: number): number {
    this.#refill();
    const granted = Math.max(0, Math.min(Math.floor(this.#tokens), Math.floor(wanted)));
    this.#tokens -= granted;
    return granted;
  }

  /** Gives back tokens taken for sends that did not happen. */
  refund(count: number): void {
    this.#tokens = Math.min(this.#capacity, this.#tokens + Math.max(0, count));
  }
}
