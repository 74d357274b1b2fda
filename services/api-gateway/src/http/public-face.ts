/**
 * What the public port shows of the inside: nothing it does not need. Two rules live here:
 *
 * - `X-Upstream-App` (which internal app answered) is a diagnostic for tests and development; it
 *   leaves the gateway only when `GATEWAY_EXPOSE_UPSTREAM_APP=true`, and never in production. The
 *   filter sits at the start of the pipeline and drops the header wherever it is set later (relayed
 *   answers, the gateway's own handlers, dependency problems), so no call site can forget it.
 * - A problem document relayed from a service names the path the SERVICE saw (`/auth/login`); its
 *   `instance` is rewritten to the public path the client asked for (`/v1/auth/login`).
 */
import type { Request, RequestHandler, Response } from 'express';

const UPSTREAM_HEADER_NAME = 'x-upstream-app';

export function upstreamHeaderFilter(options: { expose: boolean; appEnv: string }): RequestHandler {
  const expose = options.expose && options.appEnv !== 'production';
  return (_req, res, next) => {
    if (!expose) {
      const setHeader = res.setHeader.bind(res);
      res.setHeader = (name: string, value: number | string | readonly string[]) =>
        name.toLowerCase() === UPSTREAM_HEADER_NAME ? res : setHeader(name, value);
    }
    next();
  };
}

function isProblemDocument(body: unknown): body is Record<string, unknown> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return false;
  const doc = body as Record<string, unknown>;
  return typeof doc['type'] === 'string' && typeof doc['status'] === 'number';
}

/** The public path of a request (no query string): what the client sent, not what a service saw. */
export function publicPathOf(req: Request): string {
  return req.originalUrl.split('?', 1)[0] ?? '/';
}

/** A relayed error body with a problem document's `instance` set to the public path; others as they are. */
export function withPublicInstance(answer: { status: number; body: unknown }, res: Response): unknown {
  if (answer.status < 400 || !isProblemDocument(answer.body)) return answer.body;
  return { ...answer.body, instance: publicPathOf(res.req) };
}
