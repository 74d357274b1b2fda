/**
 * HTTP plumbing shared by both transports' `invoke`: how a request body is encoded, which headers may
 * travel, and how an answer is turned into an `InvokeResponse` without losing anything the callee said.
 */
import { InvocationError } from '../port.ts';
import { injectTraceHeaders } from '../tracing.ts';
import type { InvokeRequest, InvokeResponse } from '../port.ts';

/** Connection-level headers (RFC 9110 §7.6.1) plus ones fetch computes itself; never forwarded. */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'host',
  'content-length',
]);

/**
 * Response headers that describe the wire representation, not the body we hand back: fetch has
 * already de-chunked and decompressed it, so passing these on would make a proxying caller lie.
 */
const REPRESENTATION_HEADERS = new Set([
  'content-length',
  'content-encoding',
  'transfer-encoding',
  'connection',
  'keep-alive',
]);

export interface EncodedRequest {
  headers: Headers;
  body: string | Uint8Array | undefined;
}

export function isJsonContentType(contentType: string | null | undefined): boolean {
  if (!contentType) return false;
  const mediaType = contentType.split(';', 1)[0]!.trim().toLowerCase();
  return mediaType === 'application/json' || mediaType.endsWith('+json');
}

/**
 * Body rules: a string or bytes with an explicit `content-type` header are sent as they are; anything
 * else is JSON-encoded (content-type `application/json` unless the caller named a JSON type).
 * `dropHeaders` lets a transport strip headers it owns (the Dapr API token).
 */
export function encodeInvokeRequest(
  request: InvokeRequest,
  dropHeaders: readonly string[] = [],
): EncodedRequest {
  const headers = new Headers();
  const dropped = new Set(dropHeaders.map((h) => h.toLowerCase()));
  for (const [name, value] of Object.entries(request.headers ?? {})) {
    const lower = name.toLowerCase();
    if (HOP_BY_HOP.has(lower) || dropped.has(lower)) continue;
    headers.set(lower, value);
  }
  // The callee continues the caller's trace (the invoke span active around this call).
  injectTraceHeaders(headers);
  if (request.body === undefined) return { headers, body: undefined };
  if (request.method === 'GET') {
    throw new TypeError(`invoke ${request.appId} ${request.path}: a GET request cannot carry a body`);
  }
  const explicitType = headers.get('content-type');
  if (explicitType && (typeof request.body === 'string' || request.body instanceof Uint8Array)) {
    return { headers, body: request.body };
  }
  if (explicitType && !isJsonContentType(explicitType)) {
    throw new TypeError(
      `invoke ${request.appId} ${request.path}: content-type ${explicitType} needs a string or Uint8Array body`,
    );
  }
  const json = JSON.stringify(request.body);
  if (json === undefined)
    throw new TypeError(`invoke ${request.appId} ${request.path}: body is not JSON-serialisable`);
  if (!explicitType) headers.set('content-type', 'application/json');
  return { headers, body: json };
}

export function assertInvokePath(request: InvokeRequest): void {
  if (!request.path.startsWith('/')) {
    throw new TypeError(`invoke ${request.appId}: path must start with "/", got "${request.path}"`);
  }
  if (request.path.startsWith('//')) {
    // `new URL('//evil', base)` would change the host: refuse protocol-relative paths outright.
    throw new TypeError(`invoke ${request.appId}: path must not start with "//"`);
  }
}

export function headersToRecord(
  headers: Headers,
  omit: ReadonlySet<string> = new Set(),
): Record<string, string> {
  const out: Record<string, string> = {};
  headers.forEach((value, name) => {
    if (!omit.has(name)) out[name] = value;
  });
  // Headers joins repeated set-cookie values with ", " which is ambiguous for cookies; keep them apart.
  const cookies = headers.getSetCookie();
  if (cookies.length > 1 && !omit.has('set-cookie')) out['set-cookie'] = cookies.join('\n');
  return out;
}

/** Reads the whole answer: status and headers as sent, JSON bodies parsed, empty bodies undefined. */
export async function readInvokeResponse(response: Response): Promise<InvokeResponse> {
  const text = await response.text();
  const headers = headersToRecord(response.headers, REPRESENTATION_HEADERS);
  let body: unknown;
  if (text.length === 0) {
    body = undefined;
  } else if (isJsonContentType(response.headers.get('content-type'))) {
    try {
      body = JSON.parse(text) as unknown;
    } catch {
      body = text;
    }
  } else {
    body = text;
  }
  return { status: response.status, headers, body };
}

/** Maps a fetch failure (no answer at all) to the port's InvocationError: timeout or unreachable. */
export function toInvocationError(error: unknown, appId: string, timeoutMs: number): InvocationError {
  if (error instanceof InvocationError) return error;
  if (error instanceof DOMException && (error.name === 'TimeoutError' || error.name === 'AbortError')) {
    return new InvocationError(`invoke ${appId}: no answer within ${timeoutMs} ms`, appId, 'timeout', {
      cause: error,
    });
  }
  const message = error instanceof Error ? error.message : String(error);
  return new InvocationError(`invoke ${appId}: unreachable (${message})`, appId, 'unreachable', {
    cause: error,
  });
}
