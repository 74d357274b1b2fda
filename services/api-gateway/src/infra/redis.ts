/** The gateway's Redis connection (rate limits, nonces) when REDIS_URL is set. */
import { Redis } from 'ioredis';
import type { Logger } from '@wallet/service-kit';

export function connectRedis(url: string, logger: Logger): Redis {
  const redis = new Redis(url, {
    // Fail fast instead of queueing commands while Redis is away: a request waits for no one.
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 2_000,
    lazyConnect: false,
  });
  redis.on('error', (err: Error) => logger.warn({ err: err.message }, 'redis error'));
  return redis;
}
