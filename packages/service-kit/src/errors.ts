/**
 * RFC 9457 problem+json errors. Routes throw `HttpProblem`; the error handler renders it. Anything
 * else becomes a 500 without internals, logged with the request id so support can find it.
 */
import type { ErrorRequestHandler, RequestHandler } from 'express';
import { InvalidCursorError, ProblemType, type FieldError, type ProblemDocument } from '@wallet/contracts';
import { z } from 'zod';
import { InvocationError, PlatformUnavailableError } from '@wallet/platform';
import { WorkOverloadedError } from './work-limiter.ts';

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

export class HttpProblem extends Error {
  override name = 'HttpProblem';
  readonly status: number;
  readonly type: string;
  readonly title: string;
  readonly detail: string | undefined;
  readonly errors: FieldError[] | undefined;
  readonly extensions: Record<string, unknown>;
  readonly headers: Record<string, string>;

  constructor(init: {
    status: number;
    type: string;
    title: string;
    detail?: string;
    errors?: FieldError[];
    extensions?: Record<string, unknown>;
    headers?: Record<string, string>;
  }) {
    super(init.detail ?? init.title);
    this.status = init.status;
    this.type = init.type;
    this.title = init.title;
    this.detail = init.detail;
    this.errors = init.errors;
    this.extensions = init.extensions ?? {};
    this.headers = init.headers ?? {};
  }

  toDocument(instance?: string): ProblemDocument {
    return {
      ...this.extensions,
      type: this.type,
      title: this.title,
      status: this.status,
      ...(this.detail !== undefined ? { detail: this.detail } : {}),
      ...(instance !== undefined ? { instance } : {}),
      ...(this.errors !== undefined ? { errors: this.errors } : {}),
    };
  }
}

/** Shorthands for the problems every service answers. */
export const problems = {
  validation: (errors: FieldError[], detail = 'The request is not valid.') =>
    new HttpProblem({ status: 400, type: ProblemType.validation, title: 'Invalid request', detail, errors }),
  notFound: (detail = 'No such resource.') =>
    new HttpProblem({ status: 404, type: ProblemType.notFound, title: 'Not found', detail }),
  unauthenticated: (detail = 'Authentication is required.') =>
    new HttpProblem({ status: 401, type: ProblemType.unauthenticated, title: 'Unauthenticated', detail }),
  forbidden: (detail = 'You may not do this.') =>
    new HttpProblem({ status: 403, type: ProblemType.forbidden, title: 'Forbidden', detail }),
  conflict: (detail: string) =>
    new HttpProblem({ status: 409, type: ProblemType.conflict, title: 'Conflict', detail }),
  stepUpRequired: (detail = 'This action needs a recent second-factor confirmation.') =>
    new HttpProblem({
      status: 403,
      type: ProblemType.stepUpRequired,
      title: 'Step-up required',
      detail,
      extensions: { requiredAcr: 'aal2' },
    }),
  dependencyUnavailable: (detail: string) =>
    new HttpProblem({
      status: 503,
      type: ProblemType.dependencyUnavailable,
      title: 'Dependency unavailable',
      detail,
    }),
};

/** Converts zod issues to field errors under a location prefix (`body`, `query`, `params`). */
export function zodFieldErrors(error: z.ZodError, location: string): FieldError[] {
  return error.issues.map((issue) => ({
    field: [location, ...issue.path.map(String)].join('.'),
    message: issue.message,
  }));
}

/** Parses `value` with `schema`, or throws a 400 validation problem naming each bad field. */
export function parseOrThrow<S extends z.ZodType>(schema: S, value: unknown, location: string): z.infer<S> {
  const result = schema.safeParse(value);
  if (!result.success) throw problems.validation(zodFieldErrors(result.error, location));
  return result.data;
}

export function sendProblem(
  res: Parameters<RequestHandler>[1],
  problem: HttpProblem,
  instance?: string,
): void {
  for (const [name, value] of Object.entries(problem.headers)) res.setHeader(name, value);
  res
    .status(problem.status)
    .type(PROBLEM_CONTENT_TYPE)
    .send(JSON.stringify(problem.toDocument(instance)));
}

export const notFoundHandler: RequestHandler = (req, res) => {
  sendProblem(res, problems.notFound(`No route for ${req.method} ${req.path}.`), req.originalUrl);
};

interface BodyParserError {
  type?: string;
  status?: number;
  expose?: boolean;
}

function isBodyParserError(err: unknown): err is BodyParserError & Error {
  return err instanceof Error && typeof (err as BodyParserError).type === 'string';
}

/** PostgreSQL SQLSTATEs of a server that is going away or not yet there (class 08, and 57P01-57P03). */
const DATABASE_OUTAGE_STATES = /^(08[0-9A-Z]{3}|57P0[123])$/;
/** What node-postgres and the socket say when the connection is gone or cannot be made. */
const DATABASE_OUTAGE_MESSAGES =
  /Connection terminated|timeout exceeded when trying to connect|ECONNREFUSED|ECONNRESET|EPIPE|the database system is (starting up|shutting down)/;

/**
 * A dependency that is down for a moment rather than a bug: the database restarting or unreachable,
 * the app's sidecar restarting, a call whose target gave no answer. Answered 503 with Retry-After.
 */
export function isDependencyOutage(err: unknown): boolean {
  if (err instanceof PlatformUnavailableError || err instanceof InvocationError) return true;
  if (!(err instanceof Error)) return false;
  const code = (err as { code?: unknown }).code;
  if (
    typeof code === 'string' &&
    (DATABASE_OUTAGE_STATES.test(code) || /^E(CONNREFUSED|CONNRESET|PIPE)$/.test(code))
  )
    return true;
  return DATABASE_OUTAGE_MESSAGES.test(err.message);
}

/** The last middleware of every app. */
export const problemErrorHandler: ErrorRequestHandler = (err: unknown, req, res, next) => {
  if (res.headersSent) {
    next(err);
    return;
  }
  if (err instanceof HttpProblem) {
    sendProblem(res, err, req.originalUrl);
    return;
  }
  if (err instanceof WorkOverloadedError) {
    sendProblem(
      res,
      new HttpProblem({
        status: 503,
        type: ProblemType.overloaded,
        title: 'Overloaded',
        detail:
          'The service has too much work waiting to start this request. Retry after the time in Retry-After.',
        headers: { 'Retry-After': String(err.retryAfterSeconds) },
      }),
      req.originalUrl,
    );
    return;
  }
  if (err instanceof z.ZodError) {
    sendProblem(res, problems.validation(zodFieldErrors(err, 'request')), req.originalUrl);
    return;
  }
  if (err instanceof InvalidCursorError) {
    sendProblem(
      res,
      problems.validation([{ field: 'query.cursor', message: 'unknown cursor' }], err.message),
      req.originalUrl,
    );
    return;
  }
  if (isBodyParserError(err)) {
    if (err.type === 'entity.parse.failed') {
      sendProblem(
        res,
        new HttpProblem({
          status: 400,
          type: ProblemType.malformedJson,
          title: 'Malformed JSON',
          detail: 'The request body is not valid JSON.',
        }),
        req.originalUrl,
      );
      return;
    }
    if (err.type === 'entity.too.large') {
      sendProblem(
        res,
        new HttpProblem({ status: 413, type: ProblemType.payloadTooLarge, title: 'Payload too large' }),
        req.originalUrl,
      );
      return;
    }
    if (err.type === 'encoding.unsupported' || err.type === 'charset.unsupported') {
      sendProblem(
        res,
        new HttpProblem({
          status: 415,
          type: ProblemType.unsupportedMediaType,
          title: 'Unsupported media type',
        }),
        req.originalUrl,
      );
      return;
    }
  }
  if (isDependencyOutage(err)) {
    req.log.warn({ err }, 'a dependency is unavailable; answering 503');
    sendProblem(
      res,
      new HttpProblem({
        status: 503,
        type: ProblemType.dependencyUnavailable,
        title: 'Dependency unavailable',
        detail:
          'A dependency of this service is unavailable for a moment. Retry after the time in Retry-After.',
        headers: { 'Retry-After': '1' },
      }),
      req.originalUrl,
    );
    return;
  }
  req.log.error({ err }, 'unhandled error');
  sendProblem(
    res,
    new HttpProblem({
      status: 500,
      type: ProblemType.internal,
      title: 'Internal error',
      detail: `Something went wrong on our side. Quote request id ${typeof req.id === 'string' ? req.id : 'unknown'} to support.`,
    }),
    req.originalUrl,
  );
};
