/** Shared HTTP plumbing of the SMS and push providers: deadline, status classification, Retry-After. */
import { classifyHttpStatus, parseRetryAfter } from '../domain/retry.ts';
import { ProviderError } from './types.ts';

const MAX_RETRY_AFTER_MS = 15 * 60_000;
const MAX_ERROR_BODY = 300;

export async function postToProvider(
  url: string,
  init: { headers: Record<string, string>; body: string; signal: AbortSignal },
  describe: (status: number, body: string) => { message: string; addressGone?: boolean; permanent?: boolean },
): Promise<unknown> {
  let response: Response;
  try {
    response = await fetch(url, {
      method: 'POST',
      headers: init.headers,
      body: init.body,
      signal: init.signal,
      redirect: 'error',
    });
  } catch (error) {
    const reason = init.signal.aborted ? 'timed out' : 'unreachable';
    throw new ProviderError(`provider ${reason}`, 'transient', { cause: error });
  }
  const text = await response.text().catch(() => '');
  if (response.ok) {
    try {
      return JSON.parse(text) as unknown;
    } catch {
      throw new ProviderError(`provider answered ${response.status} without JSON`, 'transient');
    }
  }
  const detail = describe(response.status, text.slice(0, MAX_ERROR_BODY));
  const kind = detail.permanent === true ? 'permanent' : classifyHttpStatus(response.status);
  const retryAfterMs = parseRetryAfter(response.headers.get('retry-after'), Date.now(), MAX_RETRY_AFTER_MS);
  throw new ProviderError(`HTTP ${response.status}: ${detail.message}`, kind, {
    ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
    ...(detail.addressGone ? { addressGone: true } : {}),
  });
}

export function safeJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

export function trimSlash(url: string): string {
  return url.replace(/\/+$/, '');
}
