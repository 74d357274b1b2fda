/**
 * Forwarding to a service through the platform port (Dapr service invocation in the dapr modes): a
 * freshly minted internal token per call, the request headers the services need, and the callee's
 * answer relayed intact (status, problem+json, Idempotent-Replayed, Retry-After of a service shedding
 * load), plus X-Upstream-App. Each call's timeout is capped by the request's time budget and that
 * budget travels on in `x-deadline-ms` (the platform's invoke policy, see packages/platform).
 */
import type { Request, Response } from 'express';
import { INTERNAL_TOKEN_HEADER, ProblemType, type AppId } from '@wallet/contracts';
import { InvocationError, type HttpMethod, type InvokeResponse, type Platform } from '@wallet/platform';
import { HttpProblem, type InternalSubject, type InternalTokenSigner } from '@wallet/service-kit';
import { withPublicInstance } from './public-face.ts';

/** Request headers a service may need; everything else (cookies, Authorization, signatures) stays at the door. */
const FORWARDED_REQUEST_HEADERS = [
  'idempotency-key',
  'traceparent',
  'tracestate',
  'user-agent',
  'accept-language',
] as const;

/** Response headers relayed to the client; hop-by-hop, cookies and anything internal are dropped. */
const RELAYED_RESPONSE_HEADERS = new Set([
  'content-type',
  'idempotent-replayed',
  'location',
  'retry-after',
  'cache-control',
  'etag',
  'last-modified',
  'content-language',
  'link',
  'deprecation',
  'sunset',
  'vary',
]);

export const UPSTREAM_HEADER = 'X-Upstream-App';

/** The request id pino-http assigned (the inbound X-Request-Id when well-formed, else a UUID). */
export function requestIdOf(req: Request): string {
  return typeof req.id === 'string' || typeof req.id === 'number' ? String(req.id) : '';
}

/**
 * What the client gets when a service gave no answer: 504 when the request's time budget ran out
 * waiting, 503 when the service could not be reached or its circuit breaker is open (then
 * `Retry-After` says when it will be tried again). Never 429: that is for rate limits only.
 */
export function upstreamProblem(appId: string, error: InvocationError): HttpProblem {
  const retryAfterSeconds =
    error.retryAfterMs !== undefined ? Math.max(1, Math.ceil(error.retryAfterMs / 1000)) : 2;
  const detail =
    error.reason === 'circuit-open'
      ? 'A service behind the gateway is failing and is not being called for a few seconds. Try again after Retry-After.'
      : error.reason === 'timeout'
        ? "A service behind the gateway did not answer within this request's time budget. Try again shortly."
        : 'A service behind the gateway did not answer. Try again shortly.';
  return new HttpProblem({
    status: error.reason === 'timeout' ? 504 : 503,
    type: ProblemType.dependencyUnavailable,
    title: 'Dependency unavailable',
    detail,
    headers: { [UPSTREAM_HEADER]: appId, 'Retry-After': String(retryAfterSeconds) },
  });
}

export interface ForwardRequest {
  appId: Exclude<AppId, 'api-gateway'>;
  method: HttpMethod;
  /** Target path, query string included. */
  path: string;
  subject: InternalSubject;
  body?: unknown;
  headers?: Record<string, string>;
}

export interface Forwarder {
  call(req: Request, forward: ForwardRequest): Promise<InvokeResponse>;
}

export function createForwarder(options: {
  platform: Platform;
  signer: InternalTokenSigner;
  timeoutMs: number;
}): Forwarder {
  return {
    async call(req, forward) {
      const headers: Record<string, string> = { ...forward.headers };
      for (const name of FORWARDED_REQUEST_HEADERS) {
        const value = req.get(name);
        if (value !== undefined) headers[name] = value;
      }
      headers['x-request-id'] = requestIdOf(req);
      headers[INTERNAL_TOKEN_HEADER] = await options.signer.sign(forward.appId, forward.subject);
      try {
        return await options.platform.invoke({
          appId: forward.appId,
          method: forward.method,
          path: forward.path,
          headers,
          timeoutMs: options.timeoutMs,
          ...(forward.body !== undefined && forward.method !== 'GET' ? { body: forward.body } : {}),
        });
      } catch (error) {
        if (error instanceof InvocationError) {
          req.log.warn({ upstream: forward.appId, reason: error.reason }, 'upstream unavailable');
          throw upstreamProblem(forward.appId, error);
        }
        throw error;
      }
    },
  };
}

/** Writes the callee's answer to the client as it was given. */
export function relayResponse(
  res: Response,
  appId: string,
  answer: InvokeResponse,
  bodyOverride?: unknown,
): void {
  for (const [name, value] of Object.entries(answer.headers)) {
    if (RELAYED_RESPONSE_HEADERS.has(name.toLowerCase())) res.setHeader(name, value);
  }
  res.setHeader(UPSTREAM_HEADER, appId);
  res.status(answer.status);
  const body = bodyOverride !== undefined ? bodyOverride : withPublicInstance(answer, res);
  if (body === undefined || answer.status === 204 || answer.status === 304) {
    res.end();
    return;
  }
  if (typeof body === 'string') {
    res.send(body);
    return;
  }
  if (!res.getHeader('content-type')) res.setHeader('content-type', 'application/json');
  res.send(JSON.stringify(body));
}
