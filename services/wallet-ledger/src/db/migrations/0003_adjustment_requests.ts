/**
 * Maker-checker for admin adjustments: one admin requests, another approves (or anyone rejects).
 * The database holds the four-eyes rule itself, so no code path (nor a hand-written statement by the
 * runtime role) can approve a request with the same person on both sides:
 * - an approved request names its checker, who differs from its maker, and the posting it made;
 * - a posting belongs to at most one request (UNIQUE transaction_id);
 * - pending <=> undecided; the runtime role cannot DELETE or TRUNCATE requests.
 */
import { sql, type Kysely } from 'kysely';
import type { Migration } from 'kysely/migration';

export const adjustmentRequests: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await sql`
      CREATE TABLE adjustment_requests (
        id uuid PRIMARY KEY,
        -- Listing order and cursor (timestamps have ties and more precision than JSON carries).
        seq bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
        wallet_id uuid NOT NULL REFERENCES accounts (id),
        currency text NOT NULL,
        amount numeric(38, 0) NOT NULL CHECK (amount > 0),
        direction text NOT NULL CHECK (direction IN ('credit', 'debit')),
        reason text NOT NULL,
        status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'approved', 'rejected', 'expired')),
        requested_by text NOT NULL,
        requested_at timestamptz NOT NULL DEFAULT clock_timestamp(),
        expires_at timestamptz NOT NULL,
        decided_by text,
        decided_at timestamptz,
        decision_reason text,
        -- Deferred: the approval claims the request first (row lock), then books the posting it names.
        transaction_id uuid UNIQUE REFERENCES transactions (id) DEFERRABLE INITIALLY DEFERRED,
        CONSTRAINT adjustment_requests_wallet_currency_fkey FOREIGN KEY (wallet_id, currency) REFERENCES accounts (id, currency),
        CONSTRAINT adjustment_requests_expiry_after_request CHECK (expires_at > requested_at),
        CONSTRAINT adjustment_requests_pending_undecided CHECK ((status = 'pending') = (decided_at IS NULL)),
        CONSTRAINT adjustment_requests_four_eyes CHECK (
          status <> 'approved' OR (decided_by IS NOT NULL AND decided_by <> requested_by AND transaction_id IS NOT NULL)),
        CONSTRAINT adjustment_requests_posting_only_when_approved CHECK ((transaction_id IS NOT NULL) = (status = 'approved')),
        CONSTRAINT adjustment_requests_decider CHECK (status NOT IN ('approved', 'rejected') OR decided_by IS NOT NULL)
      )`.execute(db);
    await sql`CREATE INDEX adjustment_requests_pending_expiry ON adjustment_requests (expires_at) WHERE status = 'pending'`.execute(
      db,
    );
    await sql`
      DO $$
      DECLARE
        runtime_role text := current_user || '_app';
      BEGIN
        IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = runtime_role) THEN
          EXECUTE format('REVOKE DELETE, TRUNCATE ON adjustment_requests FROM %I', runtime_role);
        END IF;
      END $$`.execute(db);
  },
};
