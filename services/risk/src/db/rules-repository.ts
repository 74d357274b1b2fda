/** Rule overrides: an append-only, versioned table that is also the audit log of every change. */
import { sql, type Kysely } from 'kysely';
import { z } from 'zod';
import { decodeSeqCursor, keysetPage } from '@wallet/contracts';
import type { RiskDatabase } from './schema.ts';

export interface StoredOverrides {
  version: string;
  overrides: Record<string, unknown>;
  reason: string;
  changedBy: string;
  createdAt: Date;
}

const overridesJson = z.record(z.string(), z.unknown());

export async function loadLatestOverrides(db: Kysely<RiskDatabase>): Promise<StoredOverrides | null> {
  const row = await db
    .selectFrom('rule_changes')
    .select(['version', 'overrides', 'reason', 'changed_by', 'created_at'])
    .orderBy('version', 'desc')
    .limit(1)
    .executeTakeFirst();
  if (!row) return null;
  return {
    version: row.version.toString(),
    overrides: overridesJson.parse(row.overrides),
    reason: row.reason,
    changedBy: row.changed_by,
    createdAt: row.created_at,
  };
}

export class StaleRuleVersionError extends Error {
  override name = 'StaleRuleVersionError';
  readonly currentVersion: string | null;
  constructor(currentVersion: string | null) {
    super('the rule overrides changed since they were read');
    this.currentVersion = currentVersion;
  }
}

export interface RuleChangeInput {
  overrides: Record<string, unknown>;
  reason: string;
  changedBy: string;
  roles: readonly string[];
  ip: string | null;
  requestId: string | null;
  /** When given, the change applies only if the current version is still this one (null: no overrides yet). */
  expectedVersion?: string | null;
  /** Checks the merged rule set before anything is written (throws to refuse). */
  validate(overrides: Record<string, unknown>): void;
}

/** Writes a new override version; serialised so two admins never both build on the same version. */
export async function saveOverrides(
  db: Kysely<RiskDatabase>,
  input: RuleChangeInput,
): Promise<StoredOverrides> {
  input.validate(input.overrides);
  return db.transaction().execute(async (trx) => {
    await sql`select pg_advisory_xact_lock(hashtext('risk.rule_changes'))`.execute(trx);
    const current = await loadLatestOverrides(trx);
    if (input.expectedVersion !== undefined && (current?.version ?? null) !== input.expectedVersion) {
      throw new StaleRuleVersionError(current?.version ?? null);
    }
    const row = await trx
      .insertInto('rule_changes')
      .values({
        overrides: JSON.stringify(input.overrides),
        previous_overrides: JSON.stringify(current?.overrides ?? {}),
        reason: input.reason,
        changed_by: input.changedBy,
        changed_by_roles: JSON.stringify(input.roles),
        ip: input.ip,
        request_id: input.requestId,
      })
      .returning(['version', 'created_at'])
      .executeTakeFirstOrThrow();
    return {
      version: row.version.toString(),
      overrides: input.overrides,
      reason: input.reason,
      changedBy: input.changedBy,
      createdAt: row.created_at,
    };
  });
}

export interface RuleChangeEntry {
  version: string;
  overrides: unknown;
  previousOverrides: unknown;
  reason: string;
  changedBy: string;
  roles: unknown;
  ip: string | null;
  requestId: string | null;
  createdAt: string;
}

export async function listRuleChanges(
  db: Kysely<RiskDatabase>,
  options: { limit: number; cursor?: string | undefined },
): Promise<{ items: RuleChangeEntry[]; nextCursor: string | null }> {
  let query = db.selectFrom('rule_changes').selectAll();
  const before = decodeSeqCursor(options.cursor);
  if (before !== undefined) query = query.where('version', '<', before);
  const rows = await query
    .orderBy('version', 'desc')
    .limit(options.limit + 1)
    .execute();
  return keysetPage(
    rows,
    options.limit,
    (r) => [r.version],
    (r): RuleChangeEntry => ({
      version: r.version.toString(),
      overrides: r.overrides,
      previousOverrides: r.previous_overrides,
      reason: r.reason,
      changedBy: r.changed_by,
      roles: r.changed_by_roles,
      ip: r.ip,
      requestId: r.request_id,
      createdAt: r.created_at.toISOString(),
    }),
  );
}
