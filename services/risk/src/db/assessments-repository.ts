/** Assessments with their inputs, rule version and outcome, and the anomaly flags raised from them. */
import { randomUUID } from 'node:crypto';
import { sql, type Kysely, type Transaction } from 'kysely';
import { decodeSeqCursor, keysetPage } from '@wallet/contracts';
import type { Reason } from '../domain/scoring.ts';
import type { RiskDatabase } from './schema.ts';

export interface AssessmentRecord {
  id: string;
  userId: string;
  action: string;
  amount: bigint | null;
  currency: string | null;
  counterparty: string | null;
  sessionId: string | null;
  deviceId: string | null;
  ip: string | null;
  caller: string;
  acr: string;
  decision: 'allow' | 'challenge' | 'deny';
  score: number;
  reasons: Reason[];
  signals: unknown;
  rulesVersion: string;
  createdAt: Date;
}

function assessmentRow(record: AssessmentRecord) {
  return {
    id: record.id,
    user_id: record.userId,
    action: record.action,
    amount: record.amount === null ? null : record.amount.toString(),
    currency: record.currency,
    counterparty: record.counterparty,
    session_id: record.sessionId,
    device_id: record.deviceId,
    ip: record.ip,
    caller: record.caller,
    acr: record.acr,
    decision: record.decision,
    score: record.score,
    reasons: JSON.stringify(record.reasons),
    signals: JSON.stringify(record.signals, (_key, value: unknown) =>
      typeof value === 'bigint' ? value.toString() : value,
    ),
    rules_version: record.rulesVersion,
    created_at: record.createdAt,
  };
}

type AssessmentRow = ReturnType<typeof assessmentRow>;
const GROUP_MAX_ROWS = 200;

/**
 * Group commit for the hot path: an assessment's INSERT that arrives while another is in flight
 * waits for it and then goes with every other waiting row in one multi-row INSERT. Each caller still
 * answers only after its own row is committed (nothing is written behind the answer's back), but
 * under load the database sees one statement and one commit per batch instead of per assessment.
 * At low load a row goes alone, at once. A failed batch is retried row by row, so one bad row fails
 * only its own assessment.
 */
class AssessmentGroupInserter {
  private queue: { row: AssessmentRow; resolve: () => void; reject: (e: unknown) => void }[] = [];
  private flushing = false;
  private readonly db: Kysely<RiskDatabase>;
  constructor(db: Kysely<RiskDatabase>) {
    this.db = db;
  }

  insert(row: AssessmentRow): Promise<void> {
    return new Promise((resolve, reject) => {
      this.queue.push({ row, resolve, reject });
      if (!this.flushing) void this.flush();
    });
  }

  private async flush(): Promise<void> {
    this.flushing = true;
    try {
      while (this.queue.length > 0) {
        const batch = this.queue.splice(0, GROUP_MAX_ROWS);
        try {
          await this.db
            .insertInto('assessments')
            .values(batch.map((p) => p.row))
            .execute();
          for (const p of batch) p.resolve();
        } catch (error) {
          if (batch.length === 1) {
            batch[0]!.reject(error);
            continue;
          }
          await Promise.all(
            batch.map((p) =>
              this.db
                .insertInto('assessments')
                .values(p.row)
                .execute()
                .then(() => p.resolve(), p.reject),
            ),
          );
        }
      }
    } finally {
      this.flushing = false;
    }
  }
}

const groupInserters = new WeakMap<Kysely<RiskDatabase>, AssessmentGroupInserter>();
function groupInserterFor(db: Kysely<RiskDatabase>): AssessmentGroupInserter {
  let inserter = groupInserters.get(db);
  if (!inserter) {
    inserter = new AssessmentGroupInserter(db);
    groupInserters.set(db, inserter);
  }
  return inserter;
}

type Db = Kysely<RiskDatabase> | Transaction<RiskDatabase>;

export async function insertAssessment(db: Db, record: AssessmentRecord): Promise<void> {
  await db.insertInto('assessments').values(assessmentRow(record)).execute();
}

/** The hot path's INSERT: grouped with the assessments arriving while one is in flight (see above). */
export function insertAssessmentGrouped(db: Kysely<RiskDatabase>, record: AssessmentRecord): Promise<void> {
  return groupInserterFor(db).insert(assessmentRow(record));
}

/**
 * Opens a flag for this assessment unless the user already has an open one younger than the
 * cool-down (a burst of denied attempts is one alert, not fifty). Returns the new flag's id, or null.
 * Holds a per-user advisory lock to the end of `trx`, so concurrent denials raise one flag.
 */
export async function openFlagUnlessRecent(
  trx: Transaction<RiskDatabase>,
  record: AssessmentRecord,
  cooldownMinutes: number,
): Promise<string | null> {
  await sql`select pg_advisory_xact_lock(hashtext(${`risk.flag:${record.userId}`}))`.execute(trx);
  const since = new Date(record.createdAt.getTime() - cooldownMinutes * 60_000);
  const recent = await trx
    .selectFrom('anomaly_flags')
    .select('id')
    .where('user_id', '=', record.userId)
    .where('status', '=', 'open')
    .where('created_at', '>', since)
    .limit(1)
    .executeTakeFirst();
  if (recent) return null;
  const flagId = randomUUID();
  await trx
    .insertInto('anomaly_flags')
    .values({
      id: flagId,
      user_id: record.userId,
      assessment_id: record.id,
      action: record.action,
      score: record.score,
      reasons: JSON.stringify(record.reasons),
      created_at: record.createdAt,
    })
    .execute();
  return flagId;
}

export interface FlagView {
  flagId: string;
  userId: string;
  assessmentId: string | null;
  action: string;
  score: number;
  reasons: unknown;
  status: 'open' | 'closed';
  createdAt: string;
  closedBy: string | null;
  closedAt: string | null;
  closeNote: string | null;
}

type FlagRow = {
  id: string;
  user_id: string;
  assessment_id: string | null;
  action: string;
  score: number;
  reasons: unknown;
  status: 'open' | 'closed';
  created_at: Date;
  closed_by: string | null;
  closed_at: Date | null;
  close_note: string | null;
};

function flagView(r: FlagRow): FlagView {
  return {
    flagId: r.id,
    userId: r.user_id,
    assessmentId: r.assessment_id,
    action: r.action,
    score: r.score,
    reasons: r.reasons,
    status: r.status,
    createdAt: r.created_at.toISOString(),
    closedBy: r.closed_by,
    closedAt: r.closed_at?.toISOString() ?? null,
    closeNote: r.close_note,
  };
}

/** Closes an open flag (support reviewed it); returns undefined when there is no such flag. */
export async function closeFlag(
  db: Kysely<RiskDatabase>,
  input: { flagId: string; closedBy: string; note: string | null },
): Promise<FlagView | undefined> {
  const updated = await db
    .updateTable('anomaly_flags')
    .set({ status: 'closed', closed_by: input.closedBy, closed_at: sql<Date>`now()`, close_note: input.note })
    .where('id', '=', input.flagId)
    .where('status', '=', 'open')
    .returningAll()
    .executeTakeFirst();
  if (updated) return flagView(updated);
  const existing = await db
    .selectFrom('anomaly_flags')
    .selectAll()
    .where('id', '=', input.flagId)
    .executeTakeFirst();
  return existing ? flagView(existing) : undefined;
}

export async function listFlags(
  db: Kysely<RiskDatabase>,
  options: {
    limit: number;
    cursor?: string | undefined;
    userId?: string | undefined;
    status?: 'open' | 'closed' | undefined;
  },
): Promise<{ items: FlagView[]; nextCursor: string | null }> {
  let query = db.selectFrom('anomaly_flags').selectAll();
  if (options.userId !== undefined) query = query.where('user_id', '=', options.userId);
  if (options.status !== undefined) query = query.where('status', '=', options.status);
  const before = decodeSeqCursor(options.cursor);
  if (before !== undefined) query = query.where('seq', '<', before);
  const rows = await query
    .orderBy('seq', 'desc')
    .limit(options.limit + 1)
    .execute();
  return keysetPage(rows, options.limit, (r) => [r.seq], flagView);
}

/** One stored assessment, as support reads it to understand a decision. */
export async function findAssessment(db: Kysely<RiskDatabase>, id: string) {
  const row = await db.selectFrom('assessments').selectAll().where('id', '=', id).executeTakeFirst();
  if (!row) return undefined;
  return {
    assessmentId: row.id,
    userId: row.user_id,
    action: row.action,
    amount: row.amount,
    currency: row.currency,
    counterparty: row.counterparty,
    sessionId: row.session_id,
    deviceId: row.device_id,
    ip: row.ip,
    caller: row.caller,
    acr: row.acr,
    decision: row.decision,
    score: row.score,
    reasons: row.reasons,
    signals: row.signals,
    rulesVersion: row.rules_version,
    createdAt: row.created_at.toISOString(),
  };
}
