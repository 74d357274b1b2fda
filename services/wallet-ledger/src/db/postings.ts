/**
 * The posting engine: applies a balanced set of legs to account balances and appends their entries.
 *
 * Concurrency: each leg is ONE conditional UPDATE that checks the available balance, bumps the
 * version and extends the hash chain atomically. Under READ COMMITTED a waiting UPDATE re-reads the
 * row after the holder commits, so the check always sees the latest committed balance (no check read
 * outside the transaction, no lost update). Legs are applied in account-id order, so two transactions
 * touching the same accounts lock them in the same order and cannot deadlock.
 */
import { sql, type Transaction } from 'kysely';
import type { AccountType, LedgerDatabase } from './schema.ts';
import { ledgerProblems } from '../domain/problems.ts';

export interface Leg {
  accountId: string;
  /** Signed minor units: negative debits the account, positive credits it. */
  amount: bigint;
  /** Part of the account's held amount this leg consumes (capturing a hold). */
  releaseHeld?: bigint;
}

export interface PostedLeg {
  accountId: string;
  ownerId: string;
  type: AccountType;
  amount: bigint;
  balanceAfter: bigint;
  heldAfter: bigint;
  version: bigint;
}

function byAccountId(a: { accountId: string }, b: { accountId: string }): number {
  return a.accountId < b.accountId ? -1 : a.accountId > b.accountId ? 1 : 0;
}

/** Why a conditional update touched no row, as the problem the caller should see. */
async function refusalFor(
  trx: Transaction<LedgerDatabase>,
  accountId: string,
  currency: string,
): Promise<Error> {
  const account = await trx
    .selectFrom('accounts')
    .select(['currency', 'status'])
    .where('id', '=', accountId)
    .executeTakeFirst();
  if (!account) return ledgerProblems.walletNotFound();
  if (account.currency !== currency) return ledgerProblems.currencyMismatch();
  if (account.status !== 'active') return ledgerProblems.accountFrozen();
  return ledgerProblems.insufficientFunds();
}

export async function postEntries(
  trx: Transaction<LedgerDatabase>,
  transactionId: string,
  currency: string,
  legs: readonly Leg[],
): Promise<PostedLeg[]> {
  const total = legs.reduce((sum, leg) => sum + leg.amount, 0n);
  if (total !== 0n)
    throw new Error(`postEntries: legs of ${transactionId} sum to ${total.toString()}, not zero`);
  if (new Set(legs.map((l) => l.accountId)).size !== legs.length) {
    throw new Error(`postEntries: ${transactionId} posts twice to one account`);
  }
  const posted: PostedLeg[] = [];
  for (const leg of [...legs].sort(byAccountId)) {
    const amount = leg.amount.toString();
    const release = (leg.releaseHeld ?? 0n).toString();
    // One round trip per leg: the conditional UPDATE and the leg's entry, whose balance, version and
    // hash are the ones the UPDATE just wrote onto the account (same function, same inputs). Fewer
    // round trips while the account row is locked.
    const { rows } = await sql<{
      owner_id: string;
      type: AccountType;
      balance: string;
      held: string;
      version: bigint;
    }>`
      WITH leg AS (
        UPDATE accounts SET
          balance = balance + ${amount}::numeric,
          held = held - ${release}::numeric,
          version = version + 1,
          last_hash = ledger_entry_hash(last_hash, id, version + 1, ${transactionId}::uuid, ${amount}::numeric, currency, balance + ${amount}::numeric)
        WHERE id = ${leg.accountId}::uuid
          AND currency = ${currency}
          AND status = 'active'
          AND held >= ${release}::numeric
          AND (allow_negative OR balance + ${amount}::numeric - (held - ${release}::numeric) >= 0)
        RETURNING id, currency, owner_id, type, balance, held, version, last_hash
      ), entry AS (
        INSERT INTO entries (transaction_id, account_id, currency, amount, balance_after, account_version, hash)
        SELECT ${transactionId}::uuid, id, currency, ${amount}::numeric, balance, version, last_hash FROM leg
      )
      SELECT owner_id, type, balance::text AS balance, held::text AS held, version FROM leg`.execute(trx);
    const row = rows[0];
    if (!row) throw await refusalFor(trx, leg.accountId, currency);
    posted.push({
      accountId: leg.accountId,
      ownerId: row.owner_id,
      type: row.type,
      amount: leg.amount,
      balanceAfter: BigInt(row.balance),
      heldAfter: BigInt(row.held),
      version: row.version,
    });
  }
  return posted;
}

/** Reserves `amount` of the account's available balance (a withdrawal's hold). */
export async function placeHold(
  trx: Transaction<LedgerDatabase>,
  accountId: string,
  currency: string,
  amount: bigint,
): Promise<{ ownerId: string; balance: bigint; held: bigint }> {
  const value = amount.toString();
  const { rows } = await sql<{ owner_id: string; balance: string; held: string }>`
    UPDATE accounts SET held = held + ${value}::numeric
    WHERE id = ${accountId}::uuid AND currency = ${currency} AND status = 'active'
      AND (allow_negative OR balance - held >= ${value}::numeric)
    RETURNING owner_id, balance::text AS balance, held::text AS held`.execute(trx);
  const row = rows[0];
  if (!row) throw await refusalFor(trx, accountId, currency);
  return { ownerId: row.owner_id, balance: BigInt(row.balance), held: BigInt(row.held) };
}

/** Gives a hold's amount back to the available balance (payout failed, hold expired). */
export async function releaseHold(
  trx: Transaction<LedgerDatabase>,
  accountId: string,
  amount: bigint,
): Promise<{ ownerId: string }> {
  const value = amount.toString();
  const { rows } = await sql<{ owner_id: string }>`
    UPDATE accounts SET held = held - ${value}::numeric
    WHERE id = ${accountId}::uuid AND held >= ${value}::numeric
    RETURNING owner_id`.execute(trx);
  const row = rows[0];
  if (!row) throw new Error(`releaseHold: account ${accountId} holds less than ${value}`);
  return { ownerId: row.owner_id };
}
