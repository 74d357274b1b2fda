/** Wallets: opening, reading (now and at a point in time) and history. */
import { randomUUID } from 'node:crypto';
import { sql, type Kysely, type Transaction } from 'kysely';
import { enqueueEvent } from '@wallet/platform';
import type { LedgerDatabase } from '../db/schema.ts';
import { decodeSeqCursor, keysetPage, type Page } from '@wallet/contracts';

export interface WalletView {
  walletId: string;
  ownerId: string;
  currency: string;
  balance: string;
  available: string;
  held: string;
  status: 'active' | 'frozen';
  createdAt: string;
}

type AccountRow = {
  id: string;
  owner_id: string;
  currency: string;
  balance: string;
  held: string;
  status: 'active' | 'frozen';
  created_at: Date;
};

export function walletView(row: AccountRow): WalletView {
  const balance = BigInt(row.balance);
  const held = BigInt(row.held);
  return {
    walletId: row.id,
    ownerId: row.owner_id,
    currency: row.currency,
    balance: balance.toString(),
    available: (balance - held).toString(),
    held: held.toString(),
    status: row.status,
    createdAt: row.created_at.toISOString(),
  };
}

const walletColumns = ['id', 'owner_id', 'currency', 'balance', 'held', 'status', 'created_at'] as const;

/** Opens the owner's wallet in `currency` unless it exists; publishes wallet.opened when it opens one. */
export async function openWallet(
  trx: Transaction<LedgerDatabase>,
  ownerId: string,
  currency: string,
): Promise<{ wallet: WalletView; created: boolean }> {
  const { rows } = await sql<AccountRow>`
    INSERT INTO accounts (id, owner_id, currency, type)
    VALUES (${randomUUID()}::uuid, ${ownerId}, ${currency}, 'user_wallet')
    ON CONFLICT (owner_id, currency) WHERE type = 'user_wallet' DO NOTHING
    RETURNING id, owner_id, currency, balance::text AS balance, held::text AS held, status, created_at`.execute(
    trx,
  );
  const created = rows[0];
  if (created) {
    await enqueueEvent(trx, {
      name: 'walletOpened',
      data: { walletId: created.id, userId: ownerId, currency },
      partitionKey: created.id,
    });
    return { wallet: walletView(created), created: true };
  }
  const existing = await trx
    .selectFrom('accounts')
    .select(walletColumns)
    .where('owner_id', '=', ownerId)
    .where('currency', '=', currency)
    .where('type', '=', 'user_wallet')
    .executeTakeFirstOrThrow();
  return { wallet: walletView(existing), created: false };
}

export async function getWallet(
  db: Kysely<LedgerDatabase>,
  walletId: string,
): Promise<WalletView | undefined> {
  const row = await db
    .selectFrom('accounts')
    .select(walletColumns)
    .where('id', '=', walletId)
    .where('type', '=', 'user_wallet')
    .executeTakeFirst();
  return row ? walletView(row) : undefined;
}

/** Two wallets in one round trip (a transfer's payer and payee); either may be missing. */
export async function getWalletPair(
  db: Kysely<LedgerDatabase>,
  firstId: string,
  secondId: string,
): Promise<[WalletView | undefined, WalletView | undefined]> {
  const rows = await db
    .selectFrom('accounts')
    .select(walletColumns)
    .where('id', 'in', [firstId, secondId])
    .where('type', '=', 'user_wallet')
    .execute();
  const find = (id: string) => {
    const row = rows.find((r) => r.id === id);
    return row ? walletView(row) : undefined;
  };
  return [find(firstId), find(secondId)];
}

export async function listWallets(db: Kysely<LedgerDatabase>, ownerId: string): Promise<WalletView[]> {
  const rows = await db
    .selectFrom('accounts')
    .select(walletColumns)
    .where('owner_id', '=', ownerId)
    .where('type', '=', 'user_wallet')
    .orderBy('created_at')
    .orderBy('id')
    .execute();
  return rows.map(walletView);
}

/**
 * Balance and holds as they stood at `at`: the balance after the last entry written at or before
 * it, and the holds placed by then and not yet resolved by then.
 */
export async function walletAt(
  db: Kysely<LedgerDatabase>,
  wallet: WalletView,
  at: Date,
): Promise<WalletView & { at: string }> {
  const entry = await db
    .selectFrom('entries')
    .select(sql<string>`balance_after::text`.as('balance'))
    .where('account_id', '=', wallet.walletId)
    .where('created_at', '<=', at)
    .orderBy('account_version', 'desc')
    .limit(1)
    .executeTakeFirst();
  const holds = await db
    .selectFrom('holds')
    .select(sql<string>`coalesce(sum(amount), 0)::text`.as('held'))
    .where('account_id', '=', wallet.walletId)
    .where('created_at', '<=', at)
    .where((eb) => eb.or([eb('resolved_at', 'is', null), eb('resolved_at', '>', at)]))
    .executeTakeFirstOrThrow();
  const balance = BigInt(entry?.balance ?? '0');
  const held = BigInt(holds.held);
  return {
    ...wallet,
    balance: balance.toString(),
    held: held.toString(),
    available: (balance - held).toString(),
    at: at.toISOString(),
  };
}

export interface HistoryItem {
  transactionId: string;
  kind: 'transfer' | 'refund' | 'deposit' | 'withdrawal' | 'adjustment';
  amount: string;
  currency: string;
  direction: 'debit' | 'credit';
  counterparty: string | null;
  balanceAfter: string;
  description: string | null;
  createdAt: string;
}

const PUBLIC_KIND: Record<string, HistoryItem['kind']> = {
  transfer: 'transfer',
  refund: 'refund',
  deposit: 'deposit',
  withdrawal_settle: 'withdrawal',
  adjustment: 'adjustment',
};

const SYSTEM_COUNTERPARTY: Record<string, string> = {
  system_funding: 'payment-provider',
  payout_clearing: 'payout',
  suspense: 'adjustment',
  fees: 'fees',
};

/** Entries of the wallet, newest first; the cursor is the account version of the last item. */
export async function walletHistory(
  db: Kysely<LedgerDatabase>,
  walletId: string,
  limit: number,
  cursor: string | undefined,
): Promise<Page<HistoryItem>> {
  const before = decodeSeqCursor(cursor);
  let query = db
    .selectFrom('entries as e')
    .innerJoin('transactions as t', 't.id', 'e.transaction_id')
    .leftJoin('accounts as other', (join) =>
      join.on(
        'other.id',
        '=',
        sql<string>`CASE WHEN t.from_account_id = e.account_id THEN t.to_account_id ELSE t.from_account_id END`,
      ),
    )
    .select([
      'e.transaction_id',
      't.kind',
      sql<string>`e.amount::text`.as('amount'),
      'e.currency',
      sql<string>`e.balance_after::text`.as('balance_after'),
      'e.account_version',
      'e.created_at',
      't.description',
      'other.id as other_id',
      'other.type as other_type',
    ])
    .where('e.account_id', '=', walletId);
  if (before !== undefined) query = query.where('e.account_version', '<', before);
  const rows = await query
    .orderBy('e.account_version', 'desc')
    .limit(limit + 1)
    .execute();
  return keysetPage(
    rows,
    limit,
    (r) => [r.account_version],
    (r): HistoryItem => {
      const amount = BigInt(r.amount);
      let counterparty: string | null = null;
      if (r.other_type === 'user_wallet') counterparty = r.other_id;
      else if (r.other_type) counterparty = SYSTEM_COUNTERPARTY[r.other_type] ?? r.other_type;
      return {
        transactionId: r.transaction_id,
        kind: PUBLIC_KIND[r.kind] ?? 'adjustment',
        amount: (amount < 0n ? -amount : amount).toString(),
        currency: r.currency,
        direction: amount < 0n ? 'debit' : 'credit',
        counterparty,
        balanceAfter: r.balance_after,
        description: r.description,
        createdAt: r.created_at.toISOString(),
      };
    },
  );
}
