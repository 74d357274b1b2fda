/**
 * Authorisation decided at use, not at sign-in. An access token's `roles` claim is what the user
 * held when identity issued it (up to ten minutes ago). For a token that claims more than the base
 * `user` role, the gateway asks identity (`GET /internal/sessions/:sid`) whether the session is still
 * live and which roles the user holds NOW, keeps the answer for a short time (`ROLE_CHECK_CACHE_MS`,
 * 1 s by default), and uses only the claimed roles identity still grants. Everything downstream sees
 * those roles: the route table, the gateway's own admin handlers, and the internal token the gateway
 * mints for the ledger, risk and notification. A demotion therefore bites within the cache time plus
 * one identity round trip on every replica, before the session.revoked event even arrives.
 *
 * Ordinary users' tokens (`roles: ['user']`) are not looked up: they have nothing to lose but the
 * session itself, which the revocation list handles.
 */
import { ANONYMOUS_SUBJECT, INTERNAL_TOKEN_HEADER, roleSchema, type Role } from '@wallet/contracts';
import type { Platform } from '@wallet/platform';
import type { InternalTokenSigner } from '@wallet/service-kit';
import { z } from 'zod';
import { AccessTokenError, type AccessTokenVerifier } from './access-tokens.ts';

const sessionStatusSchema = z.object({
  active: z.boolean(),
  userId: z.string().nullable(),
  roles: z.array(roleSchema),
});
export type SessionStatus = z.infer<typeof sessionStatusSchema>;

export interface SessionStatusSource {
  /** Identity's answer for this session now; throws when identity cannot be asked. */
  fetch(sessionId: string): Promise<SessionStatus>;
}

export function createIdentitySessionStatusSource(options: {
  platform: Platform;
  signer: InternalTokenSigner;
  timeoutMs: number;
}): SessionStatusSource {
  return {
    async fetch(sessionId) {
      const token = await options.signer.sign('identity', { sub: ANONYMOUS_SUBJECT });
      const answer = await options.platform.invoke({
        appId: 'identity',
        method: 'GET',
        path: `/internal/sessions/${encodeURIComponent(sessionId)}`,
        headers: { [INTERNAL_TOKEN_HEADER]: token },
        timeoutMs: options.timeoutMs,
      });
      const parsed = sessionStatusSchema.safeParse(answer.body);
      if (answer.status !== 200 || !parsed.success)
        throw new Error(`identity answered ${answer.status} for a session status`);
      return parsed.data;
    },
  };
}

/** A per-process cache of session statuses, `ttlMs` long, with concurrent look-ups of one session shared. */
export function cachedSessionStatuses(
  source: SessionStatusSource,
  options: { ttlMs: number; maxEntries?: number; now?: () => number },
): SessionStatusSource {
  const now = options.now ?? Date.now;
  const maxEntries = options.maxEntries ?? 10_000;
  const cache = new Map<string, { status: SessionStatus; fetchedAt: number }>();
  const inFlight = new Map<string, Promise<SessionStatus>>();
  return {
    async fetch(sessionId) {
      const hit = cache.get(sessionId);
      if (hit && now() - hit.fetchedAt < options.ttlMs) return hit.status;
      let pending = inFlight.get(sessionId);
      if (!pending) {
        const startedAt = now();
        pending = source
          .fetch(sessionId)
          .then((status) => {
            // Stamped with the time the question was asked: the answer is at least that fresh.
            if (cache.size >= maxEntries) cache.clear();
            cache.set(sessionId, { status, fetchedAt: startedAt });
            return status;
          })
          .finally(() => inFlight.delete(sessionId));
        inFlight.set(sessionId, pending);
      }
      return pending;
    },
  };
}

const isPrivileged = (roles: readonly Role[]) => roles.some((role) => role !== 'user');

/**
 * Wraps the token verifier: a privileged token comes back with only the roles identity still grants;
 * a token whose session identity no longer considers live is refused as revoked. When identity cannot
 * be asked, a privileged token is refused with `keys-unavailable` (503): never fall back to the claim.
 */
export function withCurrentRoles(
  inner: AccessTokenVerifier,
  statuses: SessionStatusSource,
): AccessTokenVerifier {
  return {
    async verify(token) {
      const claims = await inner.verify(token);
      if (!isPrivileged(claims.roles)) return claims;
      let status: SessionStatus;
      try {
        status = await statuses.fetch(claims.sid);
      } catch (error) {
        throw new AccessTokenError('keys-unavailable', 'current roles unavailable', { cause: error });
      }
      if (!status.active || status.userId !== claims.sub)
        throw new AccessTokenError('invalid', 'session no longer active');
      const roles = claims.roles.filter((role) => status.roles.includes(role));
      return { ...claims, roles };
    },
  };
}
