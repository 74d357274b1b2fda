/**
 * System accounts (funding, payout clearing, suspense) exist per currency in several shards. Every
 * deposit debits the funding account; with one row it would serialise every deposit of the platform
 * on that row's lock and hash chain. Each posting picks a shard at random, so concurrent postings
 * rarely meet, and the account's balance is the sum of its shards (reconcile checks each shard).
 */
import { randomInt } from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import type { AccountType, LedgerDatabase } from './schema.ts';

export type SystemAccountType = Exclude<AccountType, 'user_wallet'>;

export interface SystemAccounts {
  /** Id of one shard of the system account, created on first use. */
  pick(type: SystemAccountType, currency: string): Promise<string>;
}

export function createSystemAccounts(db: Kysely<LedgerDatabase>, shards: number): SystemAccounts {
  const cache = new Map<string, Promise<string[]>>();
  const load = async (type: SystemAccountType, currency: string): Promise<string[]> => {
    // Own statement, outside any money transaction: creating shards never waits inside a posting.
    await sql`
      INSERT INTO accounts (id, owner_id, currency, type, shard, allow_negative)
      SELECT gen_random_uuid(), 'system', ${currency}, ${type}, s, true FROM generate_series(0, ${shards - 1}::int) AS s
      ON CONFLICT (type, currency, shard) WHERE type <> 'user_wallet' DO NOTHING`.execute(db);
    const rows = await db
      .selectFrom('accounts')
      .select('id')
      .where('type', '=', type)
      .where('currency', '=', currency)
      .where('shard', '<', shards)
      .orderBy('shard')
      .execute();
    return rows.map((r) => r.id);
  };
  return {
    async pick(type, currency) {
      const key = `${type}:${currency}`;
      let ids = cache.get(key);
      if (!ids) {
        ids = load(type, currency);
        cache.set(key, ids);
        ids.catch(() => cache.delete(key));
      }
      const list = await ids;
      const id = list[randomInt(list.length)];
      if (!id) throw new Error(`no ${type} account for ${currency}`);
      return id;
    },
  };
}
