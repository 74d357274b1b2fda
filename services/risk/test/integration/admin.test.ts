import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Events, ProblemType, type CloudEvent } from '@wallet/contracts';
import type { Platform } from '@wallet/platform';
import { waitFor } from '@wallet/testing';
import {
  adminUrl,
  ledgerFor,
  type AssessmentAnswer,
  peer,
  startRisk,
  stepUpAdmin,
  stepUpSupport,
  type RiskTestService,
} from './helpers.ts';

describe.skipIf(!adminUrl)('flags and rules administration', () => {
  let risk: RiskTestService;
  let notification: Platform;
  const flagged: CloudEvent<unknown>[] = [];
  beforeAll(async () => {
    risk = await startRisk();
    notification = peer(risk, 'notification');
    notification.subscribe(Events.anomalyFlagged.topic, (event) => {
      flagged.push(event);
      return Promise.resolve('SUCCESS');
    });
  });
  afterAll(async () => {
    await notification?.close();
    await risk?.stop();
  });

  async function denyOnce(user: string) {
    // An established user (the owner moved money from another device), then a burst from a new one.
    await risk.db
      .insertInto('known_devices')
      .values({ user_id: user, device_id: 'd-owner', first_seen_at: new Date(), last_seen_at: new Date() })
      .execute();
    const ledger = ledgerFor(risk, user);
    const answers: AssessmentAnswer[] = [];
    for (let i = 0; i < 21; i += 1) {
      answers.push(
        (
          await ledger.assess({
            action: 'transfer',
            amount: '100',
            currency: 'EUR',
            counterparty: `w-${i}`,
            deviceId: 'fresh',
          })
        ).body,
      );
    }
    return answers[answers.length - 1]!;
  }

  it('a deny raises a flag, published as anomaly.flagged and listed for support', async () => {
    const user = randomUUID();
    const answer = await denyOnce(user);
    expect(answer.decision).toBe('deny');
    const event = await waitFor(() => flagged.find((e) => (e.data as { userId: string }).userId === user), {
      what: 'anomaly.flagged',
    });
    expect(event.type).toBe(Events.anomalyFlagged.type);
    const data = Events.anomalyFlagged.schema.parse(event.data);
    expect(data).toMatchObject({ userId: user, action: 'transfer' });
    expect(data.reasons.map((r) => r.rule)).toContain('velocity-user');
    // The flag points at the stored assessment that raised it.
    const flaggedAssessment = await risk.db
      .selectFrom('assessments')
      .select(['user_id', 'score'])
      .where('id', '=', data.assessmentId!)
      .executeTakeFirstOrThrow();
    expect(flaggedAssessment).toEqual({ user_id: user, score: data.score });

    const list = await risk
      .as(stepUpSupport())
      .get<{ items: { userId: string; reasons: unknown[] }[] }>(`/admin/risk/flags?userId=${user}`);
    expect(list.status).toBe(200);
    // A burst of denied attempts is one alert, not one per attempt (cool-down).
    expect(list.body.items).toHaveLength(1);
    expect(list.body.items[0]!.reasons.length).toBeGreaterThan(0);
  });

  it('flags are paginated newest first', async () => {
    await denyOnce(randomUUID());
    await denyOnce(randomUUID());
    const support = risk.as(stepUpSupport());
    const first = await support.get<{ items: { flagId: string }[]; nextCursor: string | null }>(
      '/admin/risk/flags?limit=1',
    );
    expect(first.body.items).toHaveLength(1);
    expect(first.body.nextCursor).not.toBeNull();
    const second = await support.get<{ items: { flagId: string }[] }>(
      `/admin/risk/flags?limit=1&cursor=${first.body.nextCursor}`,
    );
    expect(second.body.items[0]!.flagId).not.toBe(first.body.items[0]!.flagId);
  });

  it('admin routes demand the role and a stepped-up session', async () => {
    expect((await risk.as({ sub: 'u', roles: ['user'], acr: 'aal2' }).get('/admin/risk/flags')).status).toBe(
      403,
    );
    const notStepped = await risk.as({ sub: 's', roles: ['support'], acr: 'aal1' }).get('/admin/risk/flags');
    expect(notStepped.status).toBe(403);
    expect(notStepped.body).toMatchObject({ type: ProblemType.stepUpRequired });
    expect(
      (await risk.as(stepUpSupport()).put('/admin/risk/rules', { overrides: {}, reason: 'x' })).status,
    ).toBe(403);
  });

  it('an admin changes a threshold: audited, versioned, applied to the next assessment', async () => {
    const admin = risk.as({ ...stepUpAdmin('admin-7'), ip: '192.0.2.44' });
    const before = await admin.get<{ overrideVersion: string | null; version: string }>('/admin/risk/rules');
    expect(before.status).toBe(200);
    const user = randomUUID();
    const body = { action: 'transfer', amount: '20000', currency: 'EUR', counterparty: 'w', deviceId: 'd' };
    expect((await ledgerFor(risk, user).assess(body)).body.decision).not.toBe('challenge');

    const put = await admin.put<{
      overrideVersion: string;
      version: string;
      rules: { amount: { currencies: { EUR: { largeAmount: string } } } };
    }>('/admin/risk/rules', {
      overrides: { amount: { currencies: { EUR: { largeAmount: '20000' } } } },
      reason: 'card-testing wave',
      expectedVersion: before.body.overrideVersion,
    });
    expect(put.status).toBe(200);
    expect(put.body.rules.amount.currencies.EUR.largeAmount).toBe('20000');
    const after = await ledgerFor(risk, user).assess(body);
    expect(after.body).toMatchObject({ decision: 'challenge', rulesVersion: put.body.version });

    const audit = await risk.db
      .selectFrom('rule_changes')
      .selectAll()
      .where('version', '=', BigInt(put.body.overrideVersion))
      .executeTakeFirstOrThrow();
    expect(audit).toMatchObject({ changed_by: 'admin-7', reason: 'card-testing wave', ip: '192.0.2.44' });
    const changes = await admin.get<{ items: { version: string }[] }>('/admin/risk/rules/changes');
    expect(changes.body.items[0]!.version).toBe(put.body.overrideVersion);

    // A change built on a stale version is refused; so is one that breaks the rule set.
    const stale = await admin.put('/admin/risk/rules', {
      overrides: {},
      reason: 'reset',
      expectedVersion: before.body.overrideVersion,
    });
    expect(stale.status).toBe(409);
    const bad = await admin.put<{ errors: { field: string }[] }>('/admin/risk/rules', {
      overrides: { decision: { denyAt: 500 } },
      reason: 'oops',
    });
    expect(bad.status).toBe(400);
    expect(bad.body.errors[0]!.field).toBe('body.overrides.decision.denyAt');
    // The audit trail cannot be rewritten, even by the service itself.
    await expect(risk.db.deleteFrom('rule_changes').execute()).rejects.toThrow(/append-only/);

    const reset = await admin.put('/admin/risk/rules', {
      overrides: {},
      reason: 'wave over',
      expectedVersion: put.body.overrideVersion,
    });
    expect(reset.status).toBe(200);
    expect((await ledgerFor(risk, user).assess(body)).body.decision).not.toBe('challenge');
  });

  it('falls back to the reviewed defaults when stored overrides no longer fit them', async () => {
    // As if a newer defaults file had removed a key an old override still sets.
    await risk.ownerDb
      .insertInto('rule_changes')
      .values({
        overrides: JSON.stringify({ amount: { retiredKnob: true } }),
        previous_overrides: '{}',
        reason: 'written under older defaults',
        changed_by: 'admin-old',
        changed_by_roles: '["admin"]',
        ip: null,
        request_id: null,
      })
      .execute();
    const view = await risk
      .as(stepUpSupport())
      .get<{ overridesApplied: boolean; version: string; defaultsVersion: string }>('/admin/risk/rules');
    expect(view.body.overridesApplied).toBe(false);
    expect(view.body.version).toBe(view.body.defaultsVersion);
    const answer = await ledgerFor(risk, randomUUID()).assess({
      action: 'transfer',
      amount: '100000',
      currency: 'EUR',
    });
    expect(answer.body).toMatchObject({ decision: 'challenge', rulesVersion: view.body.defaultsVersion });
  });

  it('support reads the assessment behind a flag and closes the flag; a new burst flags again', async () => {
    const user = randomUUID();
    await denyOnce(user);
    const support = risk.as(stepUpSupport('support-9'));
    const list = await support.get<{ items: { flagId: string; assessmentId: string }[] }>(
      `/admin/risk/flags?userId=${user}`,
    );
    const flag = list.body.items[0]!;
    const assessment = await support.get<{
      userId: string;
      reasons: unknown[];
      signals: unknown;
      rulesVersion: string;
    }>(`/admin/risk/assessments/${flag.assessmentId}`);
    expect(assessment.status).toBe(200);
    expect(assessment.body).toMatchObject({ userId: user, rulesVersion: expect.any(String) as string });
    expect(assessment.body.reasons.length).toBeGreaterThan(0);
    expect((await support.get(`/admin/risk/assessments/${randomUUID()}`)).status).toBe(404);
    expect((await support.get('/admin/risk/assessments/not-a-uuid')).status).toBe(400);

    const closed = await support.post<{ status: string; closedBy: string; closeNote: string }>(
      `/admin/risk/flags/${flag.flagId}/close`,
      { note: 'customer confirmed by phone' },
    );
    expect(closed.body).toMatchObject({
      status: 'closed',
      closedBy: 'support-9',
      closeNote: 'customer confirmed by phone',
    });
    // Closing again changes nothing.
    const again = await support.post<{ closedBy: string }>(`/admin/risk/flags/${flag.flagId}/close`, {});
    expect(again.body.closedBy).toBe('support-9');
    expect((await support.post(`/admin/risk/flags/${randomUUID()}/close`, {})).status).toBe(404);

    // The cool-down counts open flags only: the next denied attempt raises a new one.
    await ledgerFor(risk, user).assess({
      action: 'transfer',
      amount: '100',
      currency: 'EUR',
      counterparty: 'w-z',
      deviceId: 'fresh',
    });
    const open = await support.get<{ items: unknown[] }>(`/admin/risk/flags?userId=${user}&status=open`);
    expect(open.body.items).toHaveLength(1);
  });
});
