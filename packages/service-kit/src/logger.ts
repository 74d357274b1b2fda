/**
 * pino JSON logs with the service name and the active trace and span ids. Secrets are redacted by
 * path so that a careless `log.info({ body })` cannot leak a password, token or one-time code.
 */
import { trace } from '@opentelemetry/api';
import { pino, type DestinationStream, type Logger, type LoggerOptions } from 'pino';

export type { Logger } from 'pino';

export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-csrf-token"]',
  'req.headers["x-internal-token"]',
  'req.headers["dapr-api-token"]',
  'req.headers["webhook-signature"]',
  'res.headers["set-cookie"]',
  '*.password',
  '*.newPassword',
  '*.code',
  '*.token',
  '*.accessToken',
  '*.refreshToken',
  '*.mfaToken',
  '*.secret',
  '*.recoveryCodes',
  '*.verificationCode',
  // One level deeper (an invocation's answer, `{ response: { body: { code } } }`): one-time codes
  // are handed between services in such bodies (identity -> notification, issue 17).
  '*.*.code',
  '*.*.password',
  '*.*.newPassword',
  '*.*.token',
  '*.*.secret',
  'password',
  'code',
  'token',
  'secret',
];

export function createLogger(
  service: string,
  options: LoggerOptions = {},
  destination?: DestinationStream,
): Logger {
  const settings: LoggerOptions = {
    level: process.env['LOG_LEVEL'] ?? 'info',
    base: { service },
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
    mixin() {
      const span = trace.getActiveSpan();
      if (!span) return {};
      const ctx = span.spanContext();
      return { trace_id: ctx.traceId, span_id: ctx.spanId };
    },
    ...options,
  };
  return destination ? pino(settings, destination) : pino(settings);
}
