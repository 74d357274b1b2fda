/**
 * Runs a money-moving request under its Idempotency-Key (API.md): the same key and body replays the
 * first answer byte for byte (`Idempotent-Replayed: true`), another body answers 422, a request still
 * in flight answers 409. Keys are scoped to the caller (internal token subject).
 */
import type { Request, Response } from 'express';
import { idempotencyKeySchema, IDEMPOTENCY_KEY_HEADER } from '@wallet/contracts';
import { HttpProblem, PROBLEM_CONTENT_TYPE, type Logger } from '@wallet/service-kit';
import type { Claim, IdempotencyStore } from '../db/idempotency-store.ts';
import { isFinalProblem, requestFingerprint } from '../domain/idempotency.ts';
import { ledgerProblems } from '../domain/problems.ts';
import type { Finish } from '../operations/deps.ts';

function send(res: Response, status: number, body: string, replayed: boolean): void {
  if (replayed) res.setHeader('Idempotent-Replayed', 'true');
  res
    .status(status)
    .type(status >= 400 ? PROBLEM_CONTENT_TYPE : 'application/json')
    .send(body);
}

export async function respondIdempotently(
  req: Request,
  res: Response,
  deps: { store: IdempotencyStore; logger: Logger },
  scope: string,
  successStatus: number,
  work: (finish: Finish, lease: Extract<Claim, { kind: 'new' }>) => Promise<string>,
): Promise<void> {
  const parsedKey = idempotencyKeySchema.safeParse(req.get(IDEMPOTENCY_KEY_HEADER));
  if (!parsedKey.success) throw ledgerProblems.idempotencyKeyMissing();
  const fingerprint = requestFingerprint(req.method, req.originalUrl, req.body);
  const claim = await deps.store.claim(scope, parsedKey.data, fingerprint);
  if (claim.kind === 'replay') return send(res, claim.status, claim.body, true);
  if (claim.kind === 'mismatch') throw ledgerProblems.idempotencyKeyReused();
  if (claim.kind === 'in_flight') throw ledgerProblems.idempotencyInFlight();

  try {
    const body = await work(async (trx, answer) => {
      const text = JSON.stringify(answer);
      await deps.store.complete(trx, claim, successStatus, text);
      return text;
    }, claim);
    send(res, successStatus, body, false);
  } catch (error) {
    if (error instanceof HttpProblem && isFinalProblem(error.status, error.type)) {
      // A business refusal is this key's answer for good: store it so a retry sees the same.
      const text = JSON.stringify(error.toDocument(req.originalUrl));
      try {
        await deps.store.complete(deps.store.db, claim, error.status, text);
      } catch (storeError) {
        deps.logger.warn({ err: storeError }, 'could not store the refusal under its idempotency key');
        await deps.store.release(claim).catch(() => undefined);
      }
      for (const [name, value] of Object.entries(error.headers)) res.setHeader(name, value);
      return send(res, error.status, text, false);
    }
    await deps.store
      .release(claim)
      .catch((releaseError: unknown) =>
        deps.logger.warn({ err: releaseError }, 'could not release an idempotency key'),
      );
    throw error;
  }
}
