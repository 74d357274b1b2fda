/**
 * Revoked sessions: identity publishes `identity.session.revoked`; the gateway remembers each revoked
 * session id in the platform state store (Dapr state / memory) for longer than any access token lives,
 * so a revoked session's tokens are refused as soon as the event arrives (seconds), and drops the
 * browser sessions built on it.
 */
import { subscribeToEvent, type Platform } from '@wallet/platform';
import type { Kysely } from 'kysely';
import type { Logger } from '@wallet/service-kit';
import type { GatewayDatabase } from '../db/schema.ts';

export interface RevocationList {
  isRevoked(sessionId: string): Promise<boolean>;
  revoke(sessionIds: readonly string[]): Promise<void>;
}

const keyFor = (sessionId: string) => `revoked-session:${sessionId}`;

export function createRevocationList(platform: Platform, ttlSeconds: number): RevocationList {
  return {
    async isRevoked(sessionId) {
      return (await platform.state.get(keyFor(sessionId))) !== undefined;
    },
    async revoke(sessionIds) {
      await Promise.all(
        sessionIds.map((sid) =>
          platform.state.set(keyFor(sid), { revokedAt: new Date().toISOString() }, { ttlSeconds }),
        ),
      );
    },
  };
}

export function subscribeToRevocations(options: {
  platform: Platform;
  db: Kysely<GatewayDatabase>;
  revocations: RevocationList;
  logger: Logger;
}): void {
  const { platform, db, revocations, logger } = options;
  subscribeToEvent({ platform, db, logger, consumerAppId: 'api-gateway' }, 'sessionRevoked', async (data) => {
    // Idempotent by nature (set with TTL, delete), so no inbox row is needed.
    await revocations.revoke(data.sessionIds);
    if (data.sessionIds.length > 0) {
      await db.deleteFrom('web_sessions').where('identity_session_id', 'in', data.sessionIds).execute();
    }
    logger.info(
      { userId: data.userId, sessions: data.sessionIds.length, reason: data.reason },
      'sessions revoked',
    );
    return 'SUCCESS';
  });
}
