/** Starts risk on a throw-away database for a suite, with a second platform on its bus to publish events. */
import { randomUUID } from 'node:crypto';
import { Events, type EventInput, type EventName } from '@wallet/contracts';
import { createEmbeddedPlatform, type Platform } from '@wallet/platform';
import { startTestService, type TestService } from '@wallet/service-testing';
import { createLogger } from '@wallet/service-kit';
import { infraEnv } from '@wallet/testing';
import type { Config } from '../../src/config.ts';
import type { RiskDatabase } from '../../src/db/schema.ts';
import { service } from '../../src/service.ts';

export const adminUrl = infraEnv('TEST_PG_ADMIN_URL');

export type RiskTestService = TestService<RiskDatabase, Config>;

export async function startRisk(env: Record<string, string> = {}): Promise<RiskTestService> {
  // These suites check behaviour, not speed (the machine may be busy): a generous answer budget.
  return startTestService(service, {
    adminUrl: adminUrl!,
    env: { RISK_RULES_CACHE_MS: '0', RISK_ASSESSMENT_BUDGET_MS: '5000', ...env },
  });
}

/** A platform speaking for another app on the same bus (the ledger or identity publishing). */
export function peer(risk: RiskTestService, appId: string): Platform {
  return createEmbeddedPlatform({ appId, bus: risk.bus, logger: createLogger(appId, { level: 'silent' }) });
}

export async function publishEvent<N extends EventName>(
  from: Platform,
  name: N,
  data: EventInput<N>,
  id: string = randomUUID(),
): Promise<string> {
  const def = Events[name];
  await from.publish(def.topic, { type: def.type, source: def.source, data }, { id });
  return id;
}

export const stepUpAdmin = (sub = 'admin-1') => ({ sub, roles: ['admin' as const], acr: 'aal2' as const });
export const stepUpSupport = (sub = 'support-1') => ({
  sub,
  roles: ['support' as const],
  acr: 'aal2' as const,
});

export interface AssessmentAnswer {
  assessmentId: string;
  decision: 'allow' | 'challenge' | 'deny';
  score: number;
  reasons: { rule: string; detail: string }[];
  requiredAcr?: 'aal2';
  rulesVersion: string;
}

/** The ledger asking on behalf of `userId` (it forwards the user's claims in the token it mints). */
export function ledgerFor(
  risk: RiskTestService,
  userId: string,
  claims: { acr?: 'aal1' | 'aal2'; deviceId?: string; ip?: string } = {},
) {
  const client = risk.as(
    { sub: userId, acr: claims.acr ?? 'aal1', deviceId: claims.deviceId ?? null, ip: claims.ip ?? null },
    'wallet-ledger',
  );
  return {
    assess: (body: Record<string, unknown>) =>
      client.post<AssessmentAnswer>('/assessments', { userId, ...body }),
  };
}
