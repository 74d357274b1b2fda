/** Idempotency rules with no I/O: what makes two requests "the same", and which outcomes are kept. */
import { createHash } from 'node:crypto';
import { ProblemType } from '@wallet/contracts';

/** JSON with object keys sorted, so `{a, b}` and `{b, a}` are the same body. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

/** The stored fingerprint of a request: method, path (query included) and canonical body. */
export function requestFingerprint(method: string, path: string, body: unknown): string {
  return createHash('sha256')
    .update(`${method.toUpperCase()}\n${path}\n${canonicalJson(body ?? null)}`)
    .digest('hex');
}

/**
 * Whether an error answer is the request's final outcome (kept and replayed under its key) or a
 * transient one after which the client should retry with the same key (the key is released).
 * Kept: business refusals (insufficient funds, risk denied, not found, forbidden...). Released:
 * step-up-required (the client steps up and retries), conflicts, and every 5xx.
 */
export function isFinalProblem(status: number, type: string): boolean {
  if (status >= 500) return false;
  if (type === ProblemType.stepUpRequired) return false;
  if (status === 409 || status === 429) return false;
  return true;
}
