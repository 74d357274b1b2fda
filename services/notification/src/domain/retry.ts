/** Retry rules of the delivery worker: backoff with full jitter, and what a provider's answer means. */

/** Delay before attempt `attempt + 1`, uniformly random in [0, min(max, base * 2^(attempt-1))]. */
export function retryDelayMs(
  attempt: number,
  baseMs: number,
  maxMs: number,
  random: () => number = Math.random,
): number {
  const exponent = Math.min(Math.max(attempt - 1, 0), 30);
  const ceiling = Math.min(maxMs, baseMs * 2 ** exponent);
  return Math.floor(random() * (ceiling + 1));
}

/** How a failed send must be treated. */
export type FailureKind = 'transient' | 'permanent';

/**
 * HTTP status of an SMS/push provider -> failure kind. Bad input (a wrong number, an unregistered
 * token) is permanent and never retried; throttling, auth trouble on our side and server errors are
 * transient: they say nothing about the message itself.
 */
export function classifyHttpStatus(status: number): FailureKind {
  if (status === 408 || status === 425 || status === 429) return 'transient';
  if (status === 401 || status === 403) return 'transient';
  if (status >= 400 && status < 500) return 'permanent';
  return 'transient';
}

/**
 * SMTP reply code -> failure kind (RFC 5321: 5yz permanent negative, 4yz transient negative; 503
 * "bad sequence" is about the session, not the message). No code at all (a connection failure) is transient.
 */
export function classifySmtpResponse(responseCode: number | undefined): FailureKind {
  if (responseCode !== undefined && responseCode >= 500 && responseCode < 600 && responseCode !== 503)
    return 'permanent';
  return 'transient';
}

/** `Retry-After` (seconds or an HTTP date) -> milliseconds from `now`, capped; undefined when absent or bad. */
export function parseRetryAfter(
  value: string | null | undefined,
  now: number,
  capMs: number,
): number | undefined {
  if (!value) return undefined;
  const trimmed = value.trim();
  let ms: number;
  if (/^[0-9]+$/.test(trimmed)) ms = Number(trimmed) * 1000;
  else {
    const at = Date.parse(trimmed);
    if (Number.isNaN(at)) return undefined;
    ms = at - now;
  }
  return Math.min(Math.max(ms, 0), capMs);
}
