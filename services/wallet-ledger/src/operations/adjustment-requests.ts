/**
 * Maker-checker admin adjustments. A request is a row in `adjustment_requests` (pending, with an
 * expiry); approval claims the row with ONE conditional UPDATE (pending, unexpired, checker != maker)
 * and books the ordinary adjustment posting in the same transaction, so concurrent approvals queue on
 * the row lock and exactly one posts: the others find it approved and are answered without posting.
 */
import { randomUUID } from 'node:crypto';
import { sql, type Kysely, type Selectable } from 'kysely';
import { decodeSeqCursor, keysetPage, type CurrencyCode, type Role } from '@wallet/contracts';
import type { AdjustmentRequestStatus, AdjustmentRequestsTable, LedgerDatabase } from '../db/schema.ts';
import {
  checkApproval,
  type AdjustmentCeilings,
  type AdjustmentRefusal,
} from '../domain/adjustment-policy.ts';
import { ledgerProblems } from '../domain/problems.ts';
import type { Finish, LedgerDeps } from './deps.ts';
import { bookAdjustment } from './movements.ts';

export interface AdjustmentRequestView {
  requestId: string;
  status: AdjustmentRequestStatus;
  walletId: string;
  currency: string;
  amount: string;
  direction: 'credit' | 'debit';
  reason: string;
  requestedBy: string;
  requestedAt: string;
  expiresAt: string;
  decidedBy: string | null;
  decidedAt: string | null;
  decisionReason: string | null;
  /** The posting (a transaction of kind `adjustment`) once approved. */
  adjustmentId: string | null;
}

type RequestRow = Omit<Selectable<AdjustmentRequestsTable>, 'seq'> & { expired: boolean };

function view(row: RequestRow): AdjustmentRequestView {
  return {
    requestId: row.id,
    // A pending request past its expiry is expired, whether or not the sweeper has marked it yet.
    status: row.status === 'pending' && row.expired ? 'expired' : row.status,
    walletId: row.wallet_id,
    currency: row.currency,
    amount: row.amount,
    direction: row.direction,
    reason: row.reason,
    requestedBy: row.requested_by,
    requestedAt: row.requested_at.toISOString(),
    expiresAt: row.expires_at.toISOString(),
    decidedBy: row.decided_by,
    decidedAt: row.decided_at?.toISOString() ?? null,
    decisionReason: row.decision_reason,
    adjustmentId: row.transaction_id,
  };
}

const requestColumns = [
  'id',
  'wallet_id',
  'currency',
  sql<string>`amount::text`.as('amount'),
  'direction',
  'reason',
  'status',
  'requested_by',
  'requested_at',
  'expires_at',
  'decided_by',
  'decided_at',
  'decision_reason',
  'transaction_id',
  sql<boolean>`expires_at <= clock_timestamp()`.as('expired'),
] as const;

export interface NewAdjustmentRequest {
  walletId: string;
  currency: string;
  amount: bigint;
  direction: 'credit' | 'debit';
  reason: string;
  requestedBy: string;
  /** How long it waits for a second admin (ADJUSTMENT_REQUEST_TTL_SECONDS). */
  ttlSeconds: number;
}

/** Records a pending request (nothing moves); its answer is stored under the Idempotency-Key with it. */
export async function requestAdjustment(
  deps: LedgerDeps,
  input: NewAdjustmentRequest,
  finish: Finish,
): Promise<string> {
  return deps.db.transaction().execute(async (trx) => {
    const row = await trx
      .insertInto('adjustment_requests')
      .values({
        id: randomUUID(),
        wallet_id: input.walletId,
        currency: input.currency,
        amount: input.amount.toString(),
        direction: input.direction,
        reason: input.reason,
        requested_by: input.requestedBy,
        expires_at: sql<Date>`clock_timestamp() + ${input.ttlSeconds} * interval '1 second'`,
      })
      .returning(requestColumns)
      .executeTakeFirstOrThrow();
    return finish(trx, view(row));
  });
}

export async function getAdjustmentRequest(
  db: Kysely<LedgerDatabase>,
  requestId: string,
): Promise<AdjustmentRequestView | undefined> {
  const row = await db
    .selectFrom('adjustment_requests')
    .select(requestColumns)
    .where('id', '=', requestId)
    .executeTakeFirst();
  return row ? view(row) : undefined;
}

/** Newest first; `status` filters on the effective status (a pending request past expiry is expired). */
export async function listAdjustmentRequests(
  db: Kysely<LedgerDatabase>,
  query: { status?: AdjustmentRequestStatus | undefined; limit: number; cursor?: string | undefined },
): Promise<{ items: AdjustmentRequestView[]; nextCursor: string | null }> {
  let q = db
    .selectFrom('adjustment_requests')
    .select([...requestColumns, 'seq'])
    .orderBy('seq', 'desc')
    .limit(query.limit + 1);
  const before = decodeSeqCursor(query.cursor);
  if (before !== undefined) q = q.where('seq', '<', before);
  switch (query.status) {
    case undefined:
      break;
    case 'pending':
      q = q.where('status', '=', 'pending').where(sql<boolean>`expires_at > clock_timestamp()`);
      break;
    case 'expired':
      q = q.where((eb) =>
        eb.or([
          eb('status', '=', 'expired'),
          eb.and([eb('status', '=', 'pending'), sql<boolean>`expires_at <= clock_timestamp()`]),
        ]),
      );
      break;
    default:
      q = q.where('status', '=', query.status);
  }
  const rows = await q.execute();
  return keysetPage(rows, query.limit, (r) => [r.seq], view);
}

/** Marks pending requests past their expiry as expired (the hold-expiry worker's tick). */
export async function expireAdjustmentRequests(db: Kysely<LedgerDatabase>): Promise<number> {
  const result = await db
    .updateTable('adjustment_requests')
    .set({ status: 'expired', decided_at: sql<Date>`clock_timestamp()` })
    .where('status', '=', 'pending')
    .where('expires_at', '<=', sql<Date>`clock_timestamp()`)
    .executeTakeFirst();
  return Number(result.numUpdatedRows);
}

export interface Decider {
  sub: string;
  roles: readonly Role[];
}

function refusalProblem(refusal: AdjustmentRefusal): Error {
  switch (refusal.reason) {
    case 'four-eyes':
      return ledgerProblems.fourEyesRequired(refusal.detail);
    case 'own-wallet':
      return ledgerProblems.adjustmentOwnWallet(refusal.detail);
    case 'ceiling':
      return ledgerProblems.adjustmentCeilingExceeded(refusal.detail, refusal.ceiling);
  }
}

/**
 * The answer when the conditional UPDATE did not claim the request: the same decider repeating the
 * same decision gets the decided request again (idempotent); anyone else a 409 with its status.
 */
function alreadyDecided(
  request: AdjustmentRequestView,
  decider: Decider,
  decision: 'approved' | 'rejected',
): AdjustmentRequestView {
  if (request.status === decision && request.decidedBy === decider.sub) return request;
  throw ledgerProblems.adjustmentRequestNotPending(request.status, request.decidedBy);
}

async function walletOwner(db: Kysely<LedgerDatabase>, walletId: string): Promise<string> {
  const row = await db
    .selectFrom('accounts')
    .select('owner_id')
    .where('id', '=', walletId)
    .executeTakeFirstOrThrow();
  return row.owner_id;
}

export async function approveAdjustmentRequest(
  deps: LedgerDeps,
  input: { requestId: string; checker: Decider; ceilings: AdjustmentCeilings; comment: string | null },
): Promise<AdjustmentRequestView> {
  const { checker } = input;
  const request = await getAdjustmentRequest(deps.db, input.requestId);
  if (!request) throw ledgerProblems.adjustmentRequestNotFound();
  const refusal = checkApproval(input.ceilings, checker, request.requestedBy, {
    walletOwnerId: await walletOwner(deps.db, request.walletId),
    currency: request.currency as CurrencyCode,
    amount: BigInt(request.amount),
  });
  // Four eyes first: the maker learns nothing else about their own request from this route.
  if (refusal?.reason === 'four-eyes') throw refusalProblem(refusal);
  if (request.status !== 'pending') return alreadyDecided(request, checker, 'approved');
  if (refusal) throw refusalProblem(refusal);

  const suspense = await deps.systemAccounts.pick('suspense', request.currency);
  const adjustmentId = randomUUID();
  const approved = await deps.db.transaction().execute(async (trx) => {
    const claimed = await trx
      .updateTable('adjustment_requests')
      .set({
        status: 'approved',
        decided_by: checker.sub,
        decided_at: sql<Date>`clock_timestamp()`,
        decision_reason: input.comment,
        transaction_id: adjustmentId,
      })
      .where('id', '=', input.requestId)
      .where('status', '=', 'pending')
      .where('expires_at', '>', sql<Date>`clock_timestamp()`)
      .where('requested_by', '<>', checker.sub)
      .returning(requestColumns)
      .executeTakeFirst();
    // Another approval (or a rejection, or the clock) got there first: nothing is booked here.
    if (!claimed) return undefined;
    await bookAdjustment(trx, suspense, {
      adjustmentId,
      walletId: claimed.wallet_id,
      currency: claimed.currency,
      amount: BigInt(claimed.amount),
      direction: claimed.direction,
      reason: claimed.reason,
      initiatedBy: claimed.requested_by,
      metadata: {
        adjustmentRequestId: claimed.id,
        requestedBy: claimed.requested_by,
        approvedBy: checker.sub,
      },
    });
    return view(claimed);
  });
  if (approved) return approved;
  const now = await getAdjustmentRequest(deps.db, input.requestId);
  return alreadyDecided(now!, checker, 'approved');
}

/** Any admin may reject a pending request, its maker included (withdrawing it moves nothing). */
export async function rejectAdjustmentRequest(
  db: Kysely<LedgerDatabase>,
  input: { requestId: string; decider: Decider; comment: string | null },
): Promise<AdjustmentRequestView> {
  const request = await getAdjustmentRequest(db, input.requestId);
  if (!request) throw ledgerProblems.adjustmentRequestNotFound();
  if (request.status !== 'pending') return alreadyDecided(request, input.decider, 'rejected');
  const rejected = await db
    .updateTable('adjustment_requests')
    .set({
      status: 'rejected',
      decided_by: input.decider.sub,
      decided_at: sql<Date>`clock_timestamp()`,
      decision_reason: input.comment,
    })
    .where('id', '=', input.requestId)
    .where('status', '=', 'pending')
    .where('expires_at', '>', sql<Date>`clock_timestamp()`)
    .returning(requestColumns)
    .executeTakeFirst();
  if (rejected) return view(rejected);
  const now = await getAdjustmentRequest(db, input.requestId);
  return alreadyDecided(now!, input.decider, 'rejected');
}
