/**
 * Replays a corpus through the REAL risk engine: the service is started on a throw-away PostgreSQL
 * database (migrations, runtime role) with its embedded platform, and every step goes through the
 * service's own code: facts through its event consumers (inbox, profile tables), money movements
 * through `runAssessment` (velocity counters in the platform state store, signals from the database,
 * scoring, the stored assessment and flag). Only the clock is the corpus's: the service is told what
 * time it is, so three days of traffic replay in seconds with every window intact.
 *
 * An allowed movement is completed as the ledger would (its completion event). A challenge is passed by
 * whoever has the second factor (the same movement again at aal2) and stops whoever has not.
 */
import { randomUUID } from 'node:crypto';
import { Registry } from 'prom-client';
import { Events, type EventName } from '@wallet/contracts';
import { createLogger } from '@wallet/service-kit';
import { startTestService } from '@wallet/service-testing';
import { service } from '@wallet/risk';
import {
  createAssessmentMetrics,
  createRuleCache,
  profileEffects,
  profileHandler,
  runAssessment,
  type AssessmentDeps,
  type Decision,
  type RuleSet,
} from '@wallet/risk/engine';
import type { Corpus, Move } from './corpus-model.ts';

export interface MoveOutcome {
  userId: string;
  move: Move;
  /** The decision on the movement as asked. */
  first: Decision;
  /** When the first was a challenge and the mover could step up: the decision at aal2. */
  afterStepUp: Decision | null;
  /** Whether money left (the final decision was allow). */
  completed: boolean;
  rules: string[];
}

export interface ReplayResult {
  rulesVersion: string;
  outcomes: MoveOutcome[];
  assessments: number;
  seconds: number;
}

export async function replayCorpus(adminUrl: string, corpus: Corpus, rules: RuleSet): Promise<ReplayResult> {
  const started = performance.now();
  const risk = await startTestService(service, {
    adminUrl,
    env: { LOG_LEVEL: 'silent', DATABASE_POOL_MAX: '4' },
  });
  try {
    const logger = createLogger('risk-corpus', { level: 'silent' });
    const { db } = risk;
    let now = corpus.steps[0]?.at ?? 0;
    const deps: AssessmentDeps = {
      db,
      state: risk.running.context.platform.state,
      rules: createRuleCache({ db, defaults: rules, ttlMs: 24 * 3_600_000, logger }),
      logger,
      metrics: createAssessmentMetrics(new Registry()),
      now: () => new Date(now),
    };
    const consumerDeps = { platform: risk.running.context.platform, db, logger };
    const deliver = async <N extends EventName>(name: N, data: unknown, at: number) => {
      const effect = profileEffects[name];
      if (!effect) throw new Error(`risk does not consume ${name}`);
      const status = await profileHandler(
        consumerDeps,
        name,
        effect,
      )({
        specversion: '1.0',
        id: randomUUID(),
        source: Events[name].source,
        type: Events[name].type,
        time: new Date(at).toISOString(),
        data,
      });
      if (status !== 'SUCCESS') throw new Error(`${name} was not consumed: ${status}`);
    };

    const outcomes: MoveOutcome[] = [];
    const stopped = new Set<string>();
    let assessments = 0;
    const assess = async (userId: string, move: Move, acr: Move['acr']) => {
      assessments += 1;
      return runAssessment(
        deps,
        {
          userId,
          action: move.action,
          amount: move.amount,
          currency: 'EUR',
          counterparty: move.counterparty,
          sessionId: move.sessionId,
          deviceId: move.deviceId,
          ip: move.ip,
          acr,
        },
        { issuer: 'wallet-ledger' },
      );
    };

    for (const step of corpus.steps) {
      now = step.at;
      const occurredAt = new Date(step.at).toISOString();
      switch (step.kind) {
        case 'session':
          await deliver(
            'sessionCreated',
            {
              userId: step.userId,
              sessionId: step.sessionId,
              email: `${step.userId}@example.com`,
              deviceName: null,
              userAgent: null,
              ip: step.ip,
              newDevice: step.newDevice,
            },
            step.at,
          );
          break;
        case 'login-failed':
          await deliver(
            'loginFailed',
            { userId: step.userId, ip: step.ip, failedAttempts: step.failedAttempts },
            step.at,
          );
          break;
        case 'deposit':
          await deliver(
            'depositCompleted',
            {
              depositId: randomUUID(),
              walletId: `w-${step.userId}`,
              userId: step.userId,
              amount: step.amount.toString(),
              currency: 'EUR',
              providerEventId: randomUUID(),
              occurredAt,
            },
            step.at,
          );
          break;
        case 'refund':
          await deliver(
            'refundCompleted',
            {
              refundId: randomUUID(),
              transferId: randomUUID(),
              payerUserId: step.userId,
              payeeUserId: step.payeeUserId,
              amount: step.amount.toString(),
              currency: 'EUR',
              occurredAt,
            },
            step.at,
          );
          break;
        case 'move': {
          const { move } = step;
          if (move.attack && stopped.has(move.attack.sequenceId)) break;
          const first = await assess(step.userId, move, move.acr);
          let afterStepUp: Decision | null = null;
          if (first.decision === 'challenge' && move.canStepUp) {
            afterStepUp = (await assess(step.userId, move, 'aal2')).decision;
          }
          const completed = (afterStepUp ?? first.decision) === 'allow';
          outcomes.push({
            userId: step.userId,
            move,
            first: first.decision,
            afterStepUp,
            completed,
            rules: first.reasons.map((r) => r.rule),
          });
          if (!completed && move.attack) stopped.add(move.attack.sequenceId);
          if (completed && move.action === 'transfer') {
            await deliver(
              'transferCompleted',
              {
                transferId: randomUUID(),
                fromWalletId: `w-${step.userId}`,
                toWalletId: move.counterparty,
                fromUserId: step.userId,
                toUserId: move.counterpartyUserId ?? move.counterparty,
                amount: move.amount.toString(),
                currency: 'EUR',
                deviceId: move.deviceId,
                ip: move.ip,
                occurredAt,
              },
              step.at,
            );
          } else if (completed) {
            await deliver(
              'withdrawalRequested',
              {
                withdrawalId: randomUUID(),
                walletId: `w-${step.userId}`,
                userId: step.userId,
                amount: move.amount.toString(),
                currency: 'EUR',
                destination: move.counterparty,
                occurredAt,
              },
              step.at,
            );
          }
          break;
        }
      }
    }
    return {
      rulesVersion: rules.version,
      outcomes,
      assessments,
      seconds: (performance.now() - started) / 1000,
    };
  } finally {
    await risk.stop();
  }
}
