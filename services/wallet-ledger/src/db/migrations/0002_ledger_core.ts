/**
 * The ledger's tables. The database enforces what it can, so a bug in the service (or a hand-written
 * statement) cannot break the books silently:
 * - entries are append-only: a trigger refuses UPDATE/DELETE/TRUNCATE for everyone, and the runtime
 *   role (`<owner>_app`) additionally loses those privileges;
 * - every transaction's entries sum to zero per currency (deferred constraint trigger, checked at COMMIT);
 * - an entry's currency is its account's currency (composite foreign key);
 * - available = balance - held never goes negative unless the account allows overdraft (CHECK);
 * - each entry carries the account's balance after it, the account version and a SHA-256 hash chained
 *   to the account's previous entry (`ledger_entry_hash`), so `reconcile` can detect edits.
 */
import { sql, type Kysely } from 'kysely';
import type { Migration } from 'kysely/migration';

export const ledgerCore: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await sql`
      CREATE TABLE accounts (
        id uuid PRIMARY KEY,
        owner_id text NOT NULL,
        currency text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
        type text NOT NULL CHECK (type IN ('user_wallet', 'system_funding', 'payout_clearing', 'fees', 'suspense')),
        shard smallint NOT NULL DEFAULT 0 CHECK (shard >= 0),
        allow_negative boolean NOT NULL DEFAULT false,
        status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'frozen')),
        balance numeric(38, 0) NOT NULL DEFAULT 0,
        held numeric(38, 0) NOT NULL DEFAULT 0 CHECK (held >= 0),
        version bigint NOT NULL DEFAULT 0 CHECK (version >= 0),
        last_hash bytea,
        created_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT accounts_id_currency_key UNIQUE (id, currency),
        CONSTRAINT accounts_available_not_negative CHECK (allow_negative OR balance - held >= 0),
        CONSTRAINT accounts_user_wallet_no_overdraft CHECK (type <> 'user_wallet' OR NOT allow_negative)
      )`.execute(db);
    await sql`CREATE UNIQUE INDEX accounts_user_wallet_per_currency ON accounts (owner_id, currency) WHERE type = 'user_wallet'`.execute(
      db,
    );
    await sql`CREATE UNIQUE INDEX accounts_system_shard ON accounts (type, currency, shard) WHERE type <> 'user_wallet'`.execute(
      db,
    );

    await sql`
      CREATE TABLE transactions (
        id uuid PRIMARY KEY,
        kind text NOT NULL CHECK (kind IN ('transfer', 'refund', 'deposit', 'withdrawal_hold', 'withdrawal_settle', 'withdrawal_release', 'adjustment')),
        status text NOT NULL DEFAULT 'completed' CHECK (status IN ('completed')),
        currency text NOT NULL,
        amount numeric(38, 0) NOT NULL CHECK (amount > 0),
        from_account_id uuid REFERENCES accounts (id),
        to_account_id uuid REFERENCES accounts (id),
        original_transaction_id uuid REFERENCES transactions (id),
        refunded_amount numeric(38, 0) NOT NULL DEFAULT 0,
        initiated_by text NOT NULL,
        description text,
        metadata jsonb NOT NULL DEFAULT '{}'::jsonb,
        risk_assessment_id text,
        risk jsonb,
        created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
        CONSTRAINT transactions_refund_within_amount CHECK (refunded_amount >= 0 AND refunded_amount <= amount),
        CONSTRAINT transactions_refund_links_original CHECK ((kind = 'refund') = (original_transaction_id IS NOT NULL))
      )`.execute(db);
    await sql`CREATE INDEX transactions_original ON transactions (original_transaction_id) WHERE original_transaction_id IS NOT NULL`.execute(
      db,
    );

    await sql`
      CREATE FUNCTION ledger_entry_hash(prev bytea, account_id uuid, account_version bigint, transaction_id uuid,
                                        amount numeric, currency text, balance_after numeric)
      RETURNS bytea LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
        SELECT sha256(coalesce(prev, ''::bytea) || convert_to(concat_ws('|', account_id::text, account_version::text,
          transaction_id::text, amount::text, currency, balance_after::text), 'UTF8'))
      $$`.execute(db);

    await sql`
      CREATE TABLE entries (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        transaction_id uuid NOT NULL REFERENCES transactions (id),
        account_id uuid NOT NULL,
        currency text NOT NULL,
        amount numeric(38, 0) NOT NULL CHECK (amount <> 0),
        balance_after numeric(38, 0) NOT NULL,
        account_version bigint NOT NULL CHECK (account_version > 0),
        hash bytea NOT NULL,
        created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
        CONSTRAINT entries_account_currency_fkey FOREIGN KEY (account_id, currency) REFERENCES accounts (id, currency),
        CONSTRAINT entries_account_version_key UNIQUE (account_id, account_version)
      )`.execute(db);
    await sql`CREATE INDEX entries_transaction ON entries (transaction_id)`.execute(db);
    await sql`CREATE INDEX entries_account_created ON entries (account_id, created_at)`.execute(db);

    await sql`
      CREATE FUNCTION entries_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        RAISE EXCEPTION 'ledger entries are append-only: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
      END $$`.execute(db);
    await sql`CREATE TRIGGER entries_append_only BEFORE UPDATE OR DELETE ON entries FOR EACH ROW EXECUTE FUNCTION entries_refuse_change()`.execute(
      db,
    );
    await sql`CREATE TRIGGER entries_no_truncate BEFORE TRUNCATE ON entries FOR EACH STATEMENT EXECUTE FUNCTION entries_refuse_change()`.execute(
      db,
    );

    await sql`
      CREATE FUNCTION entries_assert_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
      DECLARE
        offender record;
      BEGIN
        SELECT currency, sum(amount) AS total INTO offender
          FROM entries WHERE transaction_id = NEW.transaction_id
          GROUP BY currency HAVING sum(amount) <> 0 LIMIT 1;
        IF FOUND THEN
          RAISE EXCEPTION 'transaction % does not balance in %: %', NEW.transaction_id, offender.currency, offender.total
            USING ERRCODE = 'check_violation';
        END IF;
        RETURN NULL;
      END $$`.execute(db);
    await sql`
      CREATE CONSTRAINT TRIGGER entries_balanced AFTER INSERT ON entries
      DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION entries_assert_balanced()`.execute(db);

    await sql`
      CREATE TABLE holds (
        id uuid PRIMARY KEY,
        account_id uuid NOT NULL REFERENCES accounts (id),
        currency text NOT NULL,
        amount numeric(38, 0) NOT NULL CHECK (amount > 0),
        purpose text NOT NULL DEFAULT 'withdrawal' CHECK (purpose IN ('withdrawal')),
        status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'captured', 'voided', 'expired')),
        destination text NOT NULL,
        expires_at timestamptz NOT NULL,
        hold_transaction_id uuid NOT NULL REFERENCES transactions (id),
        final_transaction_id uuid REFERENCES transactions (id),
        failure_reason text,
        initiated_by text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
        resolved_at timestamptz,
        CONSTRAINT holds_resolution CHECK ((status = 'pending') = (resolved_at IS NULL))
      )`.execute(db);
    await sql`CREATE INDEX holds_pending_expiry ON holds (expires_at) WHERE status = 'pending'`.execute(db);
    await sql`CREATE INDEX holds_account ON holds (account_id, created_at)`.execute(db);

    await sql`
      CREATE TABLE provider_events (
        event_id text PRIMARY KEY,
        type text NOT NULL,
        transaction_id uuid REFERENCES transactions (id),
        received_at timestamptz NOT NULL DEFAULT now()
      )`.execute(db);

    await sql`
      CREATE TABLE idempotency_keys (
        scope text NOT NULL,
        key text NOT NULL,
        request_hash text NOT NULL,
        status text NOT NULL CHECK (status IN ('in_flight', 'completed')),
        lease_token uuid NOT NULL,
        locked_until timestamptz NOT NULL,
        response_status integer,
        response_body text,
        created_at timestamptz NOT NULL DEFAULT now(),
        completed_at timestamptz,
        PRIMARY KEY (scope, key),
        CONSTRAINT idempotency_completed_has_response CHECK (status <> 'completed' OR (response_status IS NOT NULL AND response_body IS NOT NULL))
      )`.execute(db);

    // The runtime role gets DML by default privileges; take back what would let it rewrite history.
    // It is `<owner>_app` by the provisioning convention; skip silently where no such role exists.
    await sql`
      DO $$
      DECLARE
        runtime_role text := current_user || '_app';
      BEGIN
        IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = runtime_role) THEN
          EXECUTE format('REVOKE UPDATE, DELETE, TRUNCATE ON entries FROM %I', runtime_role);
          EXECUTE format('REVOKE DELETE, TRUNCATE ON transactions, accounts, provider_events FROM %I', runtime_role);
        END IF;
      END $$`.execute(db);
  },
};
