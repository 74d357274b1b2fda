/**
 * Proves the books from the entries alone, in one consistent snapshot (REPEATABLE READ, read only):
 * - per currency, all entries sum to zero, and so does every transaction;
 * - every account's stored balance equals the sum of its entries, its version equals its entry count,
 *   and its held amount equals its pending holds;
 * - every entry's hash equals the hash recomputed from the previous entry of its account, each entry's
 *   balance_after follows from the previous one, and the account's chain head is its last entry's hash.
 */
import { sql, type Kysely } from 'kysely';
import type { LedgerDatabase } from '../db/schema.ts';

export interface ReconcileReport {
  ok: boolean;
  checkedAt: string;
  accounts: number;
  entries: number;
  currencies: { currency: string; entriesSum: string; entries: number; balanced: boolean }[];
  unbalancedTransactions: { transactionId: string; currency: string; sum: string }[];
  balanceMismatches: {
    accountId: string;
    storedBalance: string;
    entriesSum: string;
    storedVersion: string;
    entryCount: string;
  }[];
  heldMismatches: { accountId: string; storedHeld: string; pendingHolds: string }[];
  brokenChains: { accountId: string; accountVersion: string; entryId: string; reason: string }[];
  chainHeadMismatches: { accountId: string }[];
}

const LIMIT = 100;

export async function reconcile(db: Kysely<LedgerDatabase>): Promise<ReconcileReport> {
  return db
    .transaction()
    .setIsolationLevel('repeatable read')
    .setAccessMode('read only')
    .execute(async (trx) => {
      const currencies = await sql<{ currency: string; total: string; n: string }>`
        SELECT currency, sum(amount)::text AS total, count(*)::text AS n FROM entries GROUP BY currency ORDER BY currency`.execute(
        trx,
      );
      const unbalanced = await sql<{ transaction_id: string; currency: string; total: string }>`
        SELECT transaction_id, currency, sum(amount)::text AS total FROM entries
        GROUP BY transaction_id, currency HAVING sum(amount) <> 0 LIMIT ${LIMIT}`.execute(trx);
      const balances = await sql<{ id: string; balance: string; total: string; version: string; n: string }>`
        SELECT a.id, a.balance::text AS balance, coalesce(e.total, 0)::text AS total, a.version::text AS version, coalesce(e.n, 0)::text AS n
        FROM accounts a
        LEFT JOIN (SELECT account_id, sum(amount) AS total, count(*) AS n FROM entries GROUP BY account_id) e ON e.account_id = a.id
        WHERE a.balance <> coalesce(e.total, 0) OR a.version <> coalesce(e.n, 0)
        LIMIT ${LIMIT}`.execute(trx);
      const held = await sql<{ id: string; held: string; pending: string }>`
        SELECT a.id, a.held::text AS held, coalesce(h.total, 0)::text AS pending
        FROM accounts a
        LEFT JOIN (SELECT account_id, sum(amount) AS total FROM holds WHERE status = 'pending' GROUP BY account_id) h ON h.account_id = a.id
        WHERE a.held <> coalesce(h.total, 0)
        LIMIT ${LIMIT}`.execute(trx);
      const chains = await sql<{ account_id: string; account_version: string; id: string; reason: string }>`
        SELECT account_id, account_version::text AS account_version, id::text AS id,
          CASE
            WHEN account_version <> position THEN 'version gap'
            WHEN balance_after <> coalesce(previous_balance, 0) + amount THEN 'balance_after does not follow'
            ELSE 'hash mismatch'
          END AS reason
        FROM (
          SELECT e.*, lag(hash) OVER w AS previous_hash, lag(balance_after) OVER w AS previous_balance,
                 row_number() OVER w AS position
          FROM entries e
          WINDOW w AS (PARTITION BY account_id ORDER BY account_version)
        ) chained
        WHERE account_version <> position
           OR balance_after <> coalesce(previous_balance, 0) + amount
           OR hash <> ledger_entry_hash(previous_hash, account_id, account_version, transaction_id, amount, currency, balance_after)
        ORDER BY account_id, account_version
        LIMIT ${LIMIT}`.execute(trx);
      const heads = await sql<{ id: string }>`
        SELECT a.id FROM accounts a
        LEFT JOIN LATERAL (SELECT hash FROM entries e WHERE e.account_id = a.id ORDER BY account_version DESC LIMIT 1) last ON true
        WHERE a.last_hash IS DISTINCT FROM last.hash
        LIMIT ${LIMIT}`.execute(trx);
      const counts = await sql<{ accounts: string; entries: string }>`
        SELECT (SELECT count(*) FROM accounts)::text AS accounts, (SELECT count(*) FROM entries)::text AS entries`.execute(
        trx,
      );

      const report: ReconcileReport = {
        ok: false,
        checkedAt: new Date().toISOString(),
        accounts: Number(counts.rows[0]?.accounts ?? 0),
        entries: Number(counts.rows[0]?.entries ?? 0),
        currencies: currencies.rows.map((r) => ({
          currency: r.currency,
          entriesSum: r.total,
          entries: Number(r.n),
          balanced: BigInt(r.total) === 0n,
        })),
        unbalancedTransactions: unbalanced.rows.map((r) => ({
          transactionId: r.transaction_id,
          currency: r.currency,
          sum: r.total,
        })),
        balanceMismatches: balances.rows.map((r) => ({
          accountId: r.id,
          storedBalance: r.balance,
          entriesSum: r.total,
          storedVersion: r.version,
          entryCount: r.n,
        })),
        heldMismatches: held.rows.map((r) => ({
          accountId: r.id,
          storedHeld: r.held,
          pendingHolds: r.pending,
        })),
        brokenChains: chains.rows.map((r) => ({
          accountId: r.account_id,
          accountVersion: r.account_version,
          entryId: r.id,
          reason: r.reason,
        })),
        chainHeadMismatches: heads.rows.map((r) => ({ accountId: r.id })),
      };
      report.ok =
        report.currencies.every((c) => c.balanced) &&
        report.unbalancedTransactions.length === 0 &&
        report.balanceMismatches.length === 0 &&
        report.heldMismatches.length === 0 &&
        report.brokenChains.length === 0 &&
        report.chainHeadMismatches.length === 0;
      return report;
    });
}
