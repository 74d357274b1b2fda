/**
 * Single-use nonces (webhook and partner signatures): `claim` succeeds once per key within its TTL.
 * Redis (`SET NX EX`, shared by every gateway replica) in the dapr and cluster modes, memory in the
 * embedded mode (one process).
 */
import type { Redis } from 'ioredis';

export interface NonceStore {
  /** True the first time `key` is claimed within `ttlSeconds`; false for a replay. */
  claim(key: string, ttlSeconds: number): Promise<boolean>;
  close(): void;
}

export function createRedisNonceStore(redis: Redis, prefix: string): NonceStore {
  return {
    async claim(key, ttlSeconds) {
      const answer = await redis.set(`${prefix}nonce:${key}`, '1', 'EX', ttlSeconds, 'NX');
      return answer === 'OK';
    },
    close() {},
  };
}

export function createMemoryNonceStore(maxEntries = 100_000): NonceStore {
  const seen = new Map<string, number>();
  const sweep = setInterval(() => {
    const now = Date.now();
    for (const [key, expiresAt] of seen) if (expiresAt <= now) seen.delete(key);
  }, 30_000);
  sweep.unref();
  return {
    claim(key, ttlSeconds) {
      const now = Date.now();
      const expiresAt = seen.get(key);
      if (expiresAt !== undefined && expiresAt > now) return Promise.resolve(false);
      if (seen.size >= maxEntries) {
        // Refuse rather than forget: dropping old nonces would reopen the replay window.
        return Promise.reject(new Error('nonce store is full'));
      }
      seen.set(key, now + ttlSeconds * 1000);
      return Promise.resolve(true);
    },
    close() {
      clearInterval(sweep);
    },
  };
}
