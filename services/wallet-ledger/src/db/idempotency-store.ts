/**
 * Idempotency records, scoped per caller. A request first claims its key in its own short statement
 * (so a concurrent duplicate sees it at once and answers 409 instead of queueing), then does its work,
 * and completes the record INSIDE the money transaction: the movement and the stored answer commit
 * together or not at all. The claim carries a lease token: if a crashed request's lease ran out and
 * another request took the key over, the first one's completion matches no row and its transaction
 * rolls back, so one key never moves money twice.
 */
import { randomUUID } from 'node:crypto';
import { sql, type Kysely, type Transaction } from 'kysely';
import type { LedgerDatabase } from './schema.ts';

export type Claim =
  | { kind: 'new'; scope: string; key: string; leaseToken: string }
  | { kind: 'replay'; status: number; body: string }
  | { kind: 'mismatch' }
  | { kind: 'in_flight' };

export class IdempotencyLeaseLost extends Error {
  override name = 'IdempotencyLeaseLost';
}

export interface IdempotencyStore {
  /** The primary, for completing a key outside a money transaction (a stored refusal). */
  db: Kysely<LedgerDatabase>;
  claim(scope: string, key: string, requestHash: string): Promise<Claim>;
  complete(
    db: Kysely<LedgerDatabase> | Transaction<LedgerDatabase>,
    claim: Extract<Claim, { kind: 'new' }>,
    status: number,
    body: string,
  ): Promise<void>;
  release(claim: Extract<Claim, { kind: 'new' }>): Promise<void>;
}

export function createIdempotencyStore(db: Kysely<LedgerDatabase>, leaseSeconds: number): IdempotencyStore {
  return {
    db,
    async claim(scope, key, requestHash) {
      for (let attempt = 0; attempt < 3; attempt += 1) {
        const leaseToken = randomUUID();
        const inserted = await db
          .insertInto('idempotency_keys')
          .values({
            scope,
            key,
            request_hash: requestHash,
            status: 'in_flight',
            lease_token: leaseToken,
            locked_until: sql<Date>`now() + ${leaseSeconds} * interval '1 second'`,
          })
          .onConflict((oc) => oc.columns(['scope', 'key']).doNothing())
          .returning('lease_token')
          .executeTakeFirst();
        if (inserted) return { kind: 'new', scope, key, leaseToken };
        const existing = await db
          .selectFrom('idempotency_keys')
          .select(['request_hash', 'status', 'response_status', 'response_body', 'locked_until'])
          .where('scope', '=', scope)
          .where('key', '=', key)
          .executeTakeFirst();
        if (!existing) continue; // released between our insert and our read: try again
        if (existing.request_hash !== requestHash) return { kind: 'mismatch' };
        if (existing.status === 'completed') {
          return {
            kind: 'replay',
            status: existing.response_status ?? 500,
            body: existing.response_body ?? '',
          };
        }
        // In flight. Take it over only when its lease ran out (its request died without answering).
        const takenOver = await db
          .updateTable('idempotency_keys')
          .set({
            lease_token: leaseToken,
            locked_until: sql<Date>`now() + ${leaseSeconds} * interval '1 second'`,
          })
          .where('scope', '=', scope)
          .where('key', '=', key)
          .where('status', '=', 'in_flight')
          .where('locked_until', '<', sql<Date>`now()`)
          .returning('lease_token')
          .executeTakeFirst();
        if (takenOver) return { kind: 'new', scope, key, leaseToken };
        return { kind: 'in_flight' };
      }
      return { kind: 'in_flight' };
    },

    async complete(executor, claim, status, body) {
      const result = await executor
        .updateTable('idempotency_keys')
        .set({
          status: 'completed',
          response_status: status,
          response_body: body,
          completed_at: sql<Date>`now()`,
        })
        .where('scope', '=', claim.scope)
        .where('key', '=', claim.key)
        .where('status', '=', 'in_flight')
        .where('lease_token', '=', claim.leaseToken)
        .executeTakeFirst();
      if (result.numUpdatedRows !== 1n) throw new IdempotencyLeaseLost(`idempotency key lease lost`);
    },

    async release(claim) {
      await db
        .deleteFrom('idempotency_keys')
        .where('scope', '=', claim.scope)
        .where('key', '=', claim.key)
        .where('status', '=', 'in_flight')
        .where('lease_token', '=', claim.leaseToken)
        .execute();
    },
  };
}
