/**
 * Request signatures, verified with node:crypto (HMAC-SHA256, constant-time comparison).
 *
 * - Payment-provider webhooks (Stripe style, API.md): `Webhook-Signature: t=<unix s>,v1=<hex>[,v1=<hex>...]`,
 *   HMAC over `"<t>.<raw body>"`, any active secret (rotation), 5-minute tolerance, and a nonce store so
 *   the same signed message is accepted once.
 * - Partner API clients: key id + HMAC over method, path (with query), timestamp, nonce and the body's
 *   RFC 9530 `Content-Digest`. Headers: `X-Api-Key-Id`, `X-Api-Timestamp`, `X-Api-Nonce`,
 *   `Content-Digest: sha-256=:<base64>:`, `X-Api-Signature: v1=<hex>`.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

export type SignatureFailure =
  'missing' | 'malformed' | 'expired' | 'mismatch' | 'replayed' | 'unknown-key' | 'digest-mismatch';

export type SignatureResult<T = object> = ({ ok: true } & T) | { ok: false; reason: SignatureFailure };

function hexEqual(expectedHex: string, presentedHex: string): boolean {
  if (!/^[0-9a-f]+$/i.test(presentedHex) || presentedHex.length !== expectedHex.length) return false;
  return timingSafeEqual(Buffer.from(expectedHex, 'hex'), Buffer.from(presentedHex.toLowerCase(), 'hex'));
}

export function hmacHex(secret: string, message: string | Buffer): string {
  return createHmac('sha256', secret).update(message).digest('hex');
}

export interface ParsedWebhookSignature {
  timestamp: number;
  signatures: string[];
}

export function parseWebhookSignature(header: string | undefined): ParsedWebhookSignature | undefined {
  if (!header || header.length > 2048) return undefined;
  let timestamp: number | undefined;
  const signatures: string[] = [];
  for (const part of header.split(',')) {
    const eq = part.indexOf('=');
    if (eq <= 0) return undefined;
    const key = part.slice(0, eq).trim();
    const value = part.slice(eq + 1).trim();
    if (key === 't') {
      if (!/^\d{1,12}$/.test(value) || timestamp !== undefined) return undefined;
      timestamp = Number(value);
    } else if (key === 'v1') {
      if (!/^[0-9a-f]{64}$/i.test(value)) return undefined;
      signatures.push(value.toLowerCase());
    }
    // Other schemes (v0, future versions) are ignored, as Stripe does.
  }
  if (timestamp === undefined || signatures.length === 0 || signatures.length > 8) return undefined;
  return { timestamp, signatures };
}

/** Signs a webhook the way the provider does (tests and the local provider simulator use it). */
export function signWebhook(secret: string, rawBody: string | Buffer, timestamp: number): string {
  const payload = Buffer.concat([
    Buffer.from(`${timestamp}.`),
    Buffer.isBuffer(rawBody) ? rawBody : Buffer.from(rawBody),
  ]);
  return `t=${timestamp},v1=${hmacHex(secret, payload)}`;
}

/**
 * Checks timestamp and HMAC only; the caller then claims the nonce (the matched signature), so a
 * replay inside the tolerance window is refused too.
 */
export function verifyWebhookSignature(input: {
  header: string | undefined;
  rawBody: Buffer;
  secrets: readonly string[];
  toleranceSeconds: number;
  nowSeconds: number;
}): SignatureResult<{ nonce: string }> {
  if (!input.header) return { ok: false, reason: 'missing' };
  const parsed = parseWebhookSignature(input.header);
  if (!parsed) return { ok: false, reason: 'malformed' };
  if (Math.abs(input.nowSeconds - parsed.timestamp) > input.toleranceSeconds)
    return { ok: false, reason: 'expired' };
  const payload = Buffer.concat([Buffer.from(`${parsed.timestamp}.`), input.rawBody]);
  for (const secret of input.secrets) {
    const expected = hmacHex(secret, payload);
    for (const presented of parsed.signatures) {
      if (hexEqual(expected, presented))
        return { ok: true, nonce: `webhook:${parsed.timestamp}:${expected}` };
    }
  }
  return { ok: false, reason: 'mismatch' };
}

/** RFC 9530 `Content-Digest` value for a body. */
export function contentDigest(body: Buffer): string {
  return `sha-256=:${createHash('sha256').update(body).digest('base64')}:`;
}

export function partnerSigningBase(parts: {
  method: string;
  pathWithQuery: string;
  timestamp: string;
  nonce: string;
  contentDigest: string;
}): string {
  return [
    parts.method.toUpperCase(),
    parts.pathWithQuery,
    parts.timestamp,
    parts.nonce,
    parts.contentDigest,
  ].join('\n');
}

export interface PartnerSignatureHeaders {
  keyId: string | undefined;
  timestamp: string | undefined;
  nonce: string | undefined;
  digest: string | undefined;
  signature: string | undefined;
}

/** Signs a partner request (for partners' reference and the tests). */
export function signPartnerRequest(input: {
  keyId: string;
  secret: string;
  method: string;
  pathWithQuery: string;
  body: Buffer;
  timestamp: number;
  nonce: string;
}): Record<string, string> {
  const digest = contentDigest(input.body);
  const base = partnerSigningBase({
    method: input.method,
    pathWithQuery: input.pathWithQuery,
    timestamp: String(input.timestamp),
    nonce: input.nonce,
    contentDigest: digest,
  });
  return {
    'x-api-key-id': input.keyId,
    'x-api-timestamp': String(input.timestamp),
    'x-api-nonce': input.nonce,
    'content-digest': digest,
    'x-api-signature': `v1=${hmacHex(input.secret, base)}`,
  };
}

export function verifyPartnerSignature(input: {
  headers: PartnerSignatureHeaders;
  method: string;
  pathWithQuery: string;
  body: Buffer;
  secret: string | undefined;
  toleranceSeconds: number;
  nowSeconds: number;
}): SignatureResult<{ nonce: string }> {
  const h = input.headers;
  if (!h.keyId || !h.timestamp || !h.nonce || !h.digest || !h.signature)
    return { ok: false, reason: 'missing' };
  if (
    !/^\d{1,12}$/.test(h.timestamp) ||
    !/^[A-Za-z0-9_-]{16,128}$/.test(h.nonce) ||
    !h.signature.startsWith('v1=')
  ) {
    return { ok: false, reason: 'malformed' };
  }
  if (Math.abs(input.nowSeconds - Number(h.timestamp)) > input.toleranceSeconds)
    return { ok: false, reason: 'expired' };
  if (input.secret === undefined) return { ok: false, reason: 'unknown-key' };
  const digest = contentDigest(input.body);
  if (h.digest !== digest) return { ok: false, reason: 'digest-mismatch' };
  const base = partnerSigningBase({
    method: input.method,
    pathWithQuery: input.pathWithQuery,
    timestamp: h.timestamp,
    nonce: h.nonce,
    contentDigest: digest,
  });
  if (!hexEqual(hmacHex(input.secret, base), h.signature.slice(3))) return { ok: false, reason: 'mismatch' };
  return { ok: true, nonce: `partner:${h.keyId}:${h.nonce}` };
}
