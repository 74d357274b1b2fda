/** Partner API clients that sign requests: key id -> owner and HMAC secret (encrypted at rest). */
import { randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { GatewayDatabase } from '../db/schema.ts';
import type { CryptoBox } from '../infra/crypto-box.ts';

export interface ApiClient {
  keyId: string;
  ownerUserId: string;
  secret: string;
}

export interface ApiClientStore {
  find(keyId: string): Promise<ApiClient | undefined>;
  create(input: { ownerUserId: string; description?: string }): Promise<ApiClient>;
  revoke(keyId: string): Promise<void>;
}

export function createApiClientStore(db: Kysely<GatewayDatabase>, box: CryptoBox): ApiClientStore {
  return {
    async find(keyId) {
      if (!/^[A-Za-z0-9_-]{8,64}$/.test(keyId)) return undefined;
      const row = await db
        .selectFrom('api_clients')
        .select(['key_id', 'owner_user_id', 'secret_enc'])
        .where('key_id', '=', keyId)
        .where('active', '=', true)
        .executeTakeFirst();
      return row
        ? { keyId: row.key_id, ownerUserId: row.owner_user_id, secret: box.open(row.secret_enc) }
        : undefined;
    },
    async create({ ownerUserId, description = '' }) {
      const client: ApiClient = {
        keyId: `pk_${randomBytes(9).toString('base64url')}`,
        ownerUserId,
        secret: `psk_${randomBytes(32).toString('base64url')}`,
      };
      await db
        .insertInto('api_clients')
        .values({
          key_id: client.keyId,
          owner_user_id: ownerUserId,
          secret_enc: box.seal(client.secret),
          description,
        })
        .execute();
      return client;
    },
    async revoke(keyId) {
      await db
        .updateTable('api_clients')
        .set({ active: false, revoked_at: new Date() })
        .where('key_id', '=', keyId)
        .execute();
    },
  };
}
