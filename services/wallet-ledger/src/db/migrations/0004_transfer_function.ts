/**
 * A transfer in ONE round trip: `ledger_transfer(...)` does, inside the statement's own transaction,
 * what the service used to send as seven statements (BEGIN, the transaction row, the stored answer,
 * two legs, the outbox row, COMMIT): on a 2-core machine each round trip costs the service, the
 * driver and a PostgreSQL backend a wake-up, and the hot rows stayed locked across them.
 *
 * The rules are the ones of `postEntries` and the idempotency store, unchanged:
 * - legs in account-id order (no deadlocks), each ONE conditional UPDATE that checks status,
 *   currency and available balance, bumps the version and extends the hash chain; under READ
 *   COMMITTED a waiting UPDATE re-reads the committed row, so concurrent debits cannot overdraw;
 * - both accounts must be user wallets;
 * - the stored answer (`idempotency_keys`) is completed only under the caller's lease, in the same
 *   transaction as the movement; a lost lease rolls everything back;
 * - `transfer.completed` (and `balance.low` when the payer's available balance crosses the
 *   threshold) go to the outbox in the same transaction; entries still balance (the deferred trigger).
 * A refusal raises a dedicated SQLSTATE (class `WL`) and rolls the whole statement back; the service
 * maps it to its typed error.
 */
import { sql, type Kysely } from 'kysely';
import type { Migration } from 'kysely/migration';

export const transferFunction: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await sql`
      CREATE FUNCTION ledger_transfer(
        p_transfer_id uuid,
        p_from uuid,
        p_to uuid,
        p_currency text,
        p_amount numeric,
        p_description text,
        p_initiated_by text,
        p_risk_assessment_id text,
        p_risk jsonb,
        -- idempotency: all three NULL for callers without a key
        p_idem_scope text,
        p_idem_key text,
        p_idem_lease uuid,
        -- the answer's JSON text up to (not including) its last field; the function appends createdAt
        p_answer_head text,
        -- transfer.completed: topic, type, source, data without the owners and occurredAt
        p_event_topic text,
        p_event_type text,
        p_event_source text,
        p_event_data jsonb,
        p_traceparent text,
        -- balance.low: NULL threshold = off (another currency, or threshold 0)
        p_low_threshold numeric,
        p_low_topic text,
        p_low_type text,
        p_low_source text
      ) RETURNS TABLE (answer text, created_at timestamptz)
      LANGUAGE plpgsql AS $$
      #variable_conflict use_column
      DECLARE
        v_created timestamptz;
        v_stamp text;
        v_answer text;
        v_first uuid := least(p_from, p_to);
        v_second uuid := greatest(p_from, p_to);
        v_first_amount numeric := CASE WHEN p_from < p_to THEN -p_amount ELSE p_amount END;
        v_second_amount numeric := -v_first_amount;
        r1 record;
        r2 record;
        v_payer record;
        v_payee record;
        v_refused record;
      BEGIN
        IF p_from = p_to OR p_amount <= 0 THEN
          RAISE EXCEPTION 'a transfer needs two wallets and a positive amount' USING ERRCODE = 'WLSAM';
        END IF;

        INSERT INTO transactions AS t (id, kind, currency, amount, from_account_id, to_account_id, initiated_by,
                                       description, risk_assessment_id, risk)
        VALUES (p_transfer_id, 'transfer', p_currency, p_amount, p_from, p_to, p_initiated_by,
                p_description, p_risk_assessment_id, p_risk)
        RETURNING t.created_at INTO v_created;
        v_stamp := to_char(v_created AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"');
        v_answer := p_answer_head || ',"createdAt":' || to_json(v_stamp)::text || '}';

        -- The stored answer first: it needs nothing the legs return, so the account rows stay
        -- locked for the legs, the outbox rows and the commit only.
        IF p_idem_scope IS NOT NULL THEN
          UPDATE idempotency_keys SET status = 'completed', response_status = 201, response_body = v_answer,
                                      completed_at = now()
          WHERE scope = p_idem_scope AND key = p_idem_key AND status = 'in_flight' AND lease_token = p_idem_lease;
          IF NOT FOUND THEN
            RAISE EXCEPTION 'idempotency key lease lost' USING ERRCODE = 'WLLSE';
          END IF;
        END IF;

        UPDATE accounts a SET
          balance = a.balance + v_first_amount,
          version = a.version + 1,
          last_hash = ledger_entry_hash(a.last_hash, a.id, a.version + 1, p_transfer_id, v_first_amount, a.currency,
                                        a.balance + v_first_amount)
        WHERE a.id = v_first AND a.currency = p_currency AND a.status = 'active' AND a.type = 'user_wallet'
          AND (a.allow_negative OR a.balance + v_first_amount - a.held >= 0)
        RETURNING a.id, a.owner_id, a.balance, a.held, a.version, a.last_hash INTO r1;
        IF NOT FOUND THEN
          SELECT a.currency, a.status, a.type INTO v_refused FROM accounts a WHERE a.id = v_first;
          IF NOT FOUND OR v_refused.type <> 'user_wallet' THEN
            RAISE EXCEPTION 'no such wallet' USING ERRCODE = 'WLNOW';
          ELSIF v_refused.currency <> p_currency THEN
            RAISE EXCEPTION 'currency mismatch' USING ERRCODE = 'WLCUR';
          ELSIF v_refused.status <> 'active' THEN
            RAISE EXCEPTION 'account frozen' USING ERRCODE = 'WLFRZ';
          END IF;
          RAISE EXCEPTION 'insufficient funds' USING ERRCODE = 'WLNSF';
        END IF;

        UPDATE accounts a SET
          balance = a.balance + v_second_amount,
          version = a.version + 1,
          last_hash = ledger_entry_hash(a.last_hash, a.id, a.version + 1, p_transfer_id, v_second_amount, a.currency,
                                        a.balance + v_second_amount)
        WHERE a.id = v_second AND a.currency = p_currency AND a.status = 'active' AND a.type = 'user_wallet'
          AND (a.allow_negative OR a.balance + v_second_amount - a.held >= 0)
        RETURNING a.id, a.owner_id, a.balance, a.held, a.version, a.last_hash INTO r2;
        IF NOT FOUND THEN
          SELECT a.currency, a.status, a.type INTO v_refused FROM accounts a WHERE a.id = v_second;
          IF NOT FOUND OR v_refused.type <> 'user_wallet' THEN
            RAISE EXCEPTION 'no such wallet' USING ERRCODE = 'WLNOW';
          ELSIF v_refused.currency <> p_currency THEN
            RAISE EXCEPTION 'currency mismatch' USING ERRCODE = 'WLCUR';
          ELSIF v_refused.status <> 'active' THEN
            RAISE EXCEPTION 'account frozen' USING ERRCODE = 'WLFRZ';
          END IF;
          RAISE EXCEPTION 'insufficient funds' USING ERRCODE = 'WLNSF';
        END IF;

        INSERT INTO entries (transaction_id, account_id, currency, amount, balance_after, account_version, hash)
        VALUES (p_transfer_id, r1.id, p_currency, v_first_amount, r1.balance, r1.version, r1.last_hash),
               (p_transfer_id, r2.id, p_currency, v_second_amount, r2.balance, r2.version, r2.last_hash);

        IF r1.id = p_from THEN v_payer := r1; v_payee := r2; ELSE v_payer := r2; v_payee := r1; END IF;

        -- balance.low before transfer.completed, as the service always wrote them.
        IF p_low_threshold IS NOT NULL AND p_low_threshold > 0
           AND v_payer.balance + p_amount - v_payer.held >= p_low_threshold
           AND v_payer.balance - v_payer.held < p_low_threshold THEN
          INSERT INTO outbox (id, topic, event_type, source, payload, partition_key, traceparent)
          VALUES (gen_random_uuid(), p_low_topic, p_low_type, p_low_source,
                  jsonb_build_object('walletId', p_from::text, 'userId', v_payer.owner_id,
                                     'available', (v_payer.balance - v_payer.held)::text, 'currency', p_currency,
                                     'threshold', p_low_threshold::text),
                  p_from::text, NULL);
        END IF;

        -- After the legs, so outbox order per payer wallet (the partition key) follows the row lock order.
        INSERT INTO outbox (id, topic, event_type, source, payload, partition_key, traceparent)
        VALUES (gen_random_uuid(), p_event_topic, p_event_type, p_event_source,
                p_event_data || jsonb_build_object('fromUserId', v_payer.owner_id, 'toUserId', v_payee.owner_id,
                                                   'occurredAt', v_stamp),
                p_from::text, p_traceparent);

        answer := v_answer;
        created_at := v_created;
        RETURN NEXT;
      END $$`.execute(db);
  },
};
