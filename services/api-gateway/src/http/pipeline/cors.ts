/** CORS: only the configured browser origins (and the public origin itself), with credentials. */
import type { RequestHandler } from 'express';
import cors from 'cors';
import type { Config } from '../../config.ts';
import { UPSTREAM_HEADER } from '../forward.ts';

export function isAllowedOrigin(origin: string, config: Config): boolean {
  if (config.CORS_ALLOWED_ORIGINS.includes(origin)) return true;
  if (config.PUBLIC_BASE_URL && new URL(config.PUBLIC_BASE_URL).origin === origin) return true;
  return false;
}

export function corsPolicy(config: Config): RequestHandler {
  return cors({
    origin: (origin, callback) => callback(null, origin !== undefined && isAllowedOrigin(origin, config)),
    credentials: true,
    methods: ['GET', 'POST', 'PUT', 'DELETE'],
    allowedHeaders: [
      'Authorization',
      'Content-Type',
      'Idempotency-Key',
      'X-CSRF-Token',
      'X-Request-Id',
      'X-Device-Id',
    ],
    exposedHeaders: [
      'RateLimit',
      'RateLimit-Policy',
      'Retry-After',
      'Idempotent-Replayed',
      'X-Request-Id',
      'Location',
      UPSTREAM_HEADER,
    ],
    maxAge: 600,
  });
}
