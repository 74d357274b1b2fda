/**
 * Browser sessions kept server-side: the access and refresh tokens stay in the gateway's database
 * (encrypted), the browser gets only an opaque `__Host-session` cookie. The cookie value is 256 random
 * bits; the table holds its SHA-256, so a database leak does not yield usable cookies.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { GatewayDatabase } from '../db/schema.ts';
import type { CryptoBox } from '../infra/crypto-box.ts';

export const SESSION_COOKIE = '__Host-session';
export const CSRF_COOKIE = '__Host-csrf';

export interface WebSession {
  idHash: string;
  userId: string;
  identitySessionId: string;
  accessToken: string;
  refreshToken: string;
  accessExpiresAt: Date;
  expiresAt: Date;
}

export interface TokenPair {
  accessToken: string;
  refreshToken: string;
  /** Seconds. */
  expiresIn: number;
  sessionId: string;
}

export function hashSessionCookie(value: string): string {
  return createHash('sha256').update(value).digest('hex');
}

export interface WebSessionStore {
  create(input: { userId: string; tokens: TokenPair }): Promise<{ cookieValue: string; session: WebSession }>;
  find(cookieValue: string): Promise<WebSession | undefined>;
  updateTokens(
    idHash: string,
    tokens: { accessToken: string; refreshToken?: string; expiresIn: number },
  ): Promise<void>;
  destroy(idHash: string): Promise<void>;
  pruneExpired(): Promise<number>;
}

export function createWebSessionStore(options: {
  db: Kysely<GatewayDatabase>;
  box: CryptoBox;
  ttlSeconds: number;
}): WebSessionStore {
  const { db, box, ttlSeconds } = options;
  const expiryFromNow = (seconds: number) => new Date(Date.now() + seconds * 1000);
  return {
    async create({ userId, tokens }) {
      const cookieValue = randomBytes(32).toString('base64url');
      const session: WebSession = {
        idHash: hashSessionCookie(cookieValue),
        userId,
        identitySessionId: tokens.sessionId,
        accessToken: tokens.accessToken,
        refreshToken: tokens.refreshToken,
        accessExpiresAt: expiryFromNow(tokens.expiresIn),
        expiresAt: expiryFromNow(ttlSeconds),
      };
      await db
        .insertInto('web_sessions')
        .values({
          id_hash: session.idHash,
          user_id: userId,
          identity_session_id: tokens.sessionId,
          access_token_enc: box.seal(tokens.accessToken),
          refresh_token_enc: box.seal(tokens.refreshToken),
          access_expires_at: session.accessExpiresAt,
          expires_at: session.expiresAt,
        })
        .execute();
      return { cookieValue, session };
    },
    async find(cookieValue) {
      if (!/^[A-Za-z0-9_-]{43}$/.test(cookieValue)) return undefined;
      const idHash = hashSessionCookie(cookieValue);
      const row = await db
        .updateTable('web_sessions')
        .set({ last_seen_at: new Date(), expires_at: expiryFromNow(ttlSeconds) })
        .where('id_hash', '=', idHash)
        .where('expires_at', '>', new Date())
        .returningAll()
        .executeTakeFirst();
      if (!row) return undefined;
      return {
        idHash,
        userId: row.user_id,
        identitySessionId: row.identity_session_id,
        accessToken: box.open(row.access_token_enc),
        refreshToken: box.open(row.refresh_token_enc),
        accessExpiresAt: row.access_expires_at,
        expiresAt: row.expires_at,
      };
    },
    async updateTokens(idHash, tokens) {
      await db
        .updateTable('web_sessions')
        .set({
          access_token_enc: box.seal(tokens.accessToken),
          ...(tokens.refreshToken ? { refresh_token_enc: box.seal(tokens.refreshToken) } : {}),
          access_expires_at: expiryFromNow(tokens.expiresIn),
        })
        .where('id_hash', '=', idHash)
        .execute();
    },
    async destroy(idHash) {
      await db.deleteFrom('web_sessions').where('id_hash', '=', idHash).execute();
    },
    async pruneExpired() {
      const result = await db
        .deleteFrom('web_sessions')
        .where('expires_at', '<=', new Date())
        .executeTakeFirst();
      return Number(result.numDeletedRows);
    },
  };
}
