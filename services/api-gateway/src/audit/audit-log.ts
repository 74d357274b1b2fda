/** The append-only audit log: every admin and high-risk call, allowed or refused. */
import type { Kysely } from 'kysely';
import { cursorParamSchema, decodeSeqCursor, keysetPage } from '@wallet/contracts';
import { z } from 'zod';
import type { GatewayDatabase } from '../db/schema.ts';

export interface AuditRecord {
  actor: string;
  actorRoles: readonly string[];
  sessionId: string | null;
  action: string;
  target: Record<string, unknown>;
  outcome: 'allowed' | 'denied' | 'failed';
  status: number;
  ip: string | null;
  userAgent: string | null;
  requestId: string;
  upstreamApp: string | null;
}

export const auditEntrySchema = z.object({
  id: z.string(),
  occurredAt: z.string(),
  actor: z.string(),
  actorRoles: z.array(z.string()),
  sessionId: z.string().nullable(),
  action: z.string(),
  target: z.record(z.string(), z.unknown()),
  outcome: z.enum(['allowed', 'denied', 'failed']),
  status: z.number().int(),
  ip: z.string().nullable(),
  userAgent: z.string().nullable(),
  requestId: z.string(),
  upstreamApp: z.string().nullable(),
});
export type AuditEntry = z.infer<typeof auditEntrySchema>;

export const auditQuerySchema = z.object({
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: cursorParamSchema.optional(),
  actor: z.string().min(1).max(200).optional(),
  action: z.string().min(1).max(300).optional(),
  outcome: z.enum(['allowed', 'denied', 'failed']).optional(),
});
export type AuditQuery = z.infer<typeof auditQuerySchema>;

export type AuditOutcome = AuditRecord['outcome'];

/**
 * The outcome to record, from the FINAL status: the gateway calls a request that passed its own
 * checks "allowed", but what the caller got decides. A 2xx/3xx answer is allowed; a 401/403 from the
 * service behind (ownership, four eyes) is denied; any other 4xx/5xx failed. The gateway's own
 * refusals ("denied") and failures ("failed") stay as they are.
 */
export function auditOutcome(claimed: AuditOutcome, status: number): AuditOutcome {
  if (claimed !== 'allowed' || status < 400) return claimed;
  return status === 401 || status === 403 ? 'denied' : 'failed';
}

export async function appendAudit(db: Kysely<GatewayDatabase>, record: AuditRecord): Promise<void> {
  await db
    .insertInto('audit_log')
    .values({
      actor: record.actor,
      actor_roles: JSON.stringify(record.actorRoles),
      session_id: record.sessionId,
      action: record.action,
      target: JSON.stringify(record.target),
      outcome: auditOutcome(record.outcome, record.status),
      status: record.status,
      ip: record.ip,
      user_agent: record.userAgent?.slice(0, 512) ?? null,
      request_id: record.requestId,
      upstream_app: record.upstreamApp,
    })
    .execute();
}

/** Newest first; the cursor carries the last id of the page. */
export async function listAudit(
  db: Kysely<GatewayDatabase>,
  query: AuditQuery,
): Promise<{ items: AuditEntry[]; nextCursor: string | null }> {
  let q = db
    .selectFrom('audit_log')
    .selectAll()
    .orderBy('id', 'desc')
    .limit(query.limit + 1);
  const before = decodeSeqCursor(query.cursor);
  if (before !== undefined) q = q.where('id', '<', before.toString());
  if (query.actor) q = q.where('actor', '=', query.actor);
  if (query.action) q = q.where('action', '=', query.action);
  if (query.outcome) q = q.where('outcome', '=', query.outcome);
  const rows = await q.execute();
  return keysetPage(
    rows,
    query.limit,
    (r) => [r.id],
    (r): AuditEntry => ({
      id: String(r.id),
      occurredAt: r.occurred_at.toISOString(),
      actor: r.actor,
      actorRoles: r.actor_roles as string[],
      sessionId: r.session_id,
      action: r.action,
      target: r.target as Record<string, unknown>,
      outcome: r.outcome as AuditEntry['outcome'],
      status: r.status,
      ip: r.ip,
      userAgent: r.user_agent,
      requestId: r.request_id,
      upstreamApp: r.upstream_app,
    }),
  );
}
