/**
 * Records an assessment, and raises its anomaly flag when it calls for one. One INSERT when nothing
 * is flagged (the hot path, grouped with concurrent ones: see the repository); with a flag, the assessment, the flag and its `anomaly.flagged` outbox
 * row commit together, and the event is emitted here, not by the repository. The assessment is
 * stored whether or not a flag is raised (see `openFlagUnlessRecent` for the cool-down).
 */
import type { Kysely } from 'kysely';
import { enqueueEvent } from '@wallet/platform';
import {
  insertAssessment,
  insertAssessmentGrouped,
  openFlagUnlessRecent,
  type AssessmentRecord,
} from '../db/assessments-repository.ts';
import type { RiskDatabase } from '../db/schema.ts';

/** Returns the flag id when one was raised. */
export async function storeAssessment(
  db: Kysely<RiskDatabase>,
  record: AssessmentRecord,
  options: { flag: boolean; flagCooldownMinutes: number; traceparent?: string | undefined },
): Promise<string | null> {
  if (!options.flag) {
    await insertAssessmentGrouped(db, record);
    return null;
  }
  return db.transaction().execute(async (trx) => {
    await insertAssessment(trx, record);
    const flagId = await openFlagUnlessRecent(trx, record, options.flagCooldownMinutes);
    if (flagId === null) return null;
    await enqueueEvent(trx, {
      name: 'anomalyFlagged',
      data: {
        flagId,
        userId: record.userId,
        assessmentId: record.id,
        action: record.action,
        score: record.score,
        reasons: record.reasons,
        occurredAt: record.createdAt.toISOString(),
      },
      partitionKey: record.userId,
      ...(options.traceparent ? { traceparent: options.traceparent } : {}),
    });
    return flagId;
  });
}
