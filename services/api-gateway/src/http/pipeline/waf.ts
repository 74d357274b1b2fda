/**
 * The WAF stage (rules in domain/waf.ts): before the body, method, header size, path normalisation,
 * content type and declared size; after routing, the payload rules on query and body. Every block is
 * logged with its rule id and where the value was, never the value itself. The JSON parser keeps the
 * raw bytes for the signature checks.
 */
import type { Request, RequestHandler, Response } from 'express';
import express from 'express';
import { ProblemType } from '@wallet/contracts';
import { HttpProblem, problems, sendProblem } from '@wallet/service-kit';
import type { Config } from '../../config.ts';
import { lookupRoute } from '../route-table.ts';
import {
  checkContentType,
  checkHeaderSize,
  checkJsonShape,
  checkMethod,
  normalisePath,
  scanPayload,
  type WafBlock,
  type WafLimits,
} from '../../domain/waf.ts';

const rawBodies = new WeakMap<Request, Buffer>();
const normalisedPaths = new WeakMap<Request, string>();

/** The request body as it arrived (for signatures); empty when there was none. */
export function rawBodyOf(req: Request): Buffer {
  return rawBodies.get(req) ?? Buffer.alloc(0);
}

/** The path after the WAF's normalisation (no trailing slash, no query). */
export function normalisedPathOf(req: Request): string {
  return normalisedPaths.get(req) ?? req.path;
}

export function wafLimits(config: Config): WafLimits {
  return {
    maxBodyBytes: config.WAF_MAX_BODY_BYTES,
    maxJsonDepth: config.WAF_MAX_JSON_DEPTH,
    maxJsonKeys: config.WAF_MAX_JSON_KEYS,
    maxArrayLength: config.WAF_MAX_ARRAY_LENGTH,
    maxStringLength: config.WAF_MAX_STRING_LENGTH,
    maxHeaderBytes: config.WAF_MAX_HEADER_BYTES,
    maxUrlLength: config.WAF_MAX_URL_LENGTH,
  };
}

function wafProblem(block: WafBlock, headers: Record<string, string> = {}): HttpProblem {
  const byStatus: Record<WafBlock['status'], { type: string; title: string }> = {
    400: { type: ProblemType.requestBlocked, title: 'Request blocked' },
    405: { type: ProblemType.methodNotAllowed, title: 'Method not allowed' },
    413: { type: ProblemType.payloadTooLarge, title: 'Payload too large' },
    414: { type: ProblemType.requestBlocked, title: 'URI too long' },
    415: { type: ProblemType.unsupportedMediaType, title: 'Unsupported media type' },
    431: { type: ProblemType.requestBlocked, title: 'Request header fields too large' },
  };
  const { type, title } = byStatus[block.status];
  return new HttpProblem({
    status: block.status,
    type,
    title,
    detail: block.detail,
    headers,
    extensions: { rule: block.ruleId },
  });
}

export function blockRequest(
  req: Request,
  res: Response,
  block: WafBlock,
  headers: Record<string, string> = {},
): void {
  // Logged with the rule id and where the value was, never the value itself.
  req.log.warn(
    { waf: { rule: block.ruleId, location: block.location, status: block.status }, ip: req.ip },
    'request blocked by WAF',
  );
  sendProblem(res, wafProblem(block, headers), req.originalUrl.split('?', 1)[0]);
}

/**
 * A method outside the allow-list (TRACE, PATCH, PROPFIND...): on a path the API serves, 405 with
 * the `Allow` header RFC 9110 requires (the methods the route table has for it); on any other path
 * 404, as for every method there, so the answer reveals nothing the route table would not.
 */
function refuseMethod(req: Request, res: Response, block: WafBlock, limits: WafLimits): void {
  const normalised = normalisePath(req.originalUrl, limits);
  const lookup = 'path' in normalised ? lookupRoute(req.method, normalised.path) : undefined;
  if (lookup?.kind === 'method-not-allowed') {
    blockRequest(req, res, block, { Allow: lookup.allowed.join(', ') });
    return;
  }
  sendProblem(
    res,
    problems.notFound(`No route for ${req.method} ${req.path}.`),
    req.originalUrl.split('?', 1)[0],
  );
}

function hasBody(req: Request): boolean {
  if (req.headers['transfer-encoding'] !== undefined) return true;
  const length = Number(req.headers['content-length'] ?? '0');
  return Number.isFinite(length) && length > 0;
}

/** The checks that need no body: method, header size, path, content type, declared size. */
export function wafBeforeBody(config: Config): RequestHandler {
  const limits = wafLimits(config);
  return (req, res, next) => {
    const methodBlock = checkMethod(req.method);
    if (methodBlock) {
      refuseMethod(req, res, methodBlock, limits);
      return;
    }
    const block =
      checkHeaderSize(req.rawHeaders, limits) ??
      (() => {
        const normalised = normalisePath(req.originalUrl, limits);
        if ('block' in normalised) return normalised.block;
        normalisedPaths.set(req, normalised.path);
        return undefined;
      })();
    if (block) {
      blockRequest(req, res, block);
      return;
    }
    // A method the path does not serve is a 405 with `Allow`, whatever the request carries: the
    // body rules below (no body on GET, JSON only) would otherwise answer 400 or 415 first.
    const lookup = lookupRoute(req.method, normalisedPathOf(req));
    if (lookup.kind === 'method-not-allowed') {
      sendProblem(
        res,
        new HttpProblem({
          status: 405,
          type: ProblemType.methodNotAllowed,
          title: 'Method not allowed',
          detail: `${req.method} is not allowed on ${normalisedPathOf(req)}.`,
          headers: { Allow: lookup.allowed.join(', ') },
        }),
        req.originalUrl.split('?', 1)[0],
      );
      return;
    }
    const bodyBlock = checkContentType(req.method, req.get('content-type'), hasBody(req));
    if (bodyBlock) {
      blockRequest(req, res, bodyBlock);
      return;
    }
    const declared = Number(req.headers['content-length'] ?? '0');
    if (declared > limits.maxBodyBytes) {
      blockRequest(req, res, { status: 413, ruleId: 'body-002', detail: 'The request body is too large.' });
      return;
    }
    next();
  };
}

/** JSON bodies only, within the size limit, keeping the raw bytes. */
export function jsonBodyKeepingRaw(config: Config): RequestHandler {
  return express.json({
    limit: wafLimits(config).maxBodyBytes,
    strict: true,
    type: 'application/json',
    verify: (req, _res, buf) => {
      rawBodies.set(req as Request, Buffer.from(buf));
    },
  });
}

/** The payload rules on the parsed query and body (shape limits, injection rules). */
export function scanRequestPayload(req: Request, limits: WafLimits): WafBlock | undefined {
  const body: unknown = req.body;
  return (
    scanPayload(req.query, 'query') ??
    (body !== undefined ? (checkJsonShape(body, limits) ?? scanPayload(body, 'body')) : undefined)
  );
}
