/**
 * One check against the running service over HTTP (loopback, internal tokens, its own routes), in real
 * time, with the current default rules: the cases of issue 14. Facts reach it as events on its bus,
 * as identity and the ledger publish them.
 */
import { randomUUID } from 'node:crypto';
import { Events, type EventInput, type EventName } from '@wallet/contracts';
import { createEmbeddedPlatform, type Platform } from '@wallet/platform';
import { createLogger } from '@wallet/service-kit';
import { startTestService } from '@wallet/service-testing';
import { service } from '@wallet/risk';

export interface HttpCheck {
  rulesVersion: string;
  office: { people: number; perPerson: number; transfers: number; refused: number };
  stepUp: { first: string; afterStepUp: string };
  takeover: { sequences: number; stopped: number };
}

interface Answer {
  decision: string;
  rulesVersion: string;
}

export async function runHttpCheck(adminUrl: string): Promise<HttpCheck> {
  const risk = await startTestService(service, {
    adminUrl,
    env: { LOG_LEVEL: 'silent', RISK_ASSESSMENT_BUDGET_MS: '2000' },
  });
  const logger = createLogger('risk-corpus', { level: 'silent' });
  const identity = createEmbeddedPlatform({ appId: 'identity', bus: risk.bus, logger });
  const ledger = createEmbeddedPlatform({ appId: 'wallet-ledger', bus: risk.bus, logger });
  const publish = async <N extends EventName>(from: Platform, name: N, data: EventInput<N>) => {
    const def = Events[name];
    await from.publish(def.topic, { type: def.type, source: def.source, data }, { id: randomUUID() });
  };
  const signIn = (userId: string, sessionId: string, ip: string) =>
    publish(identity, 'sessionCreated', {
      userId,
      sessionId,
      email: 'p@example.com',
      deviceName: null,
      userAgent: null,
      ip,
      newDevice: true,
    });
  const completed = (userId: string, toWalletId: string, amount: string, deviceId: string) =>
    publish(ledger, 'transferCompleted', {
      transferId: randomUUID(),
      fromWalletId: `w-${userId}`,
      toWalletId,
      fromUserId: userId,
      toUserId: toWalletId.slice(2),
      amount,
      currency: 'EUR',
      deviceId,
      ip: null,
      occurredAt: new Date().toISOString(),
    });
  const assess = async (userId: string, acr: 'aal1' | 'aal2', body: Record<string, unknown>) => {
    const res = await risk
      .as({ sub: userId, acr }, 'wallet-ledger')
      .post<Answer>('/assessments', { userId, action: 'transfer', currency: 'EUR', ...body });
    if (res.status !== 200) throw new Error(`POST /assessments answered ${res.status}: ${res.text}`);
    return res.body;
  };

  try {
    // Issue 14: 40 new people behind one address, each paying a friend 1.00 eight times right after signing up.
    const people = Array.from({ length: 40 }, () => randomUUID());
    const office = '198.51.100.99';
    for (const [i, p] of people.entries()) await signIn(p, `s-${i}-${p}`, office);
    await risk.bus.drain();
    let refused = 0;
    let rulesVersion = '';
    const payFriend = async (i: number) => {
      const p = people[i]!;
      const friend = `w-${people[(i + 1) % people.length]!}`;
      for (let n = 0; n < 8; n += 1) {
        const answer = await assess(p, 'aal1', {
          amount: '100',
          counterparty: friend,
          sessionId: `s-${i}-${p}`,
          deviceId: `d-${p}`,
          ip: office,
        });
        rulesVersion = answer.rulesVersion;
        if (answer.decision === 'allow') {
          // The ledger's completion event reaches risk before the person's next tap.
          await completed(p, friend, '100', `d-${p}`);
          await risk.bus.drain();
        } else refused += 1;
      }
    };
    for (let batch = 0; batch < people.length; batch += 8) {
      await Promise.all(Array.from({ length: 8 }, (_, k) => payFriend(batch + k)));
    }

    // Issue 14: 20,000.00 to a new payee by a new user: a challenge, then allowed after the step-up.
    const buyer = randomUUID();
    await signIn(buyer, `s-${buyer}`, '203.0.113.9');
    await risk.bus.drain();
    const car = {
      amount: '2000000',
      counterparty: `w-${randomUUID()}`,
      sessionId: `s-${buyer}`,
      deviceId: `d-${buyer}`,
      ip: '203.0.113.9',
    };
    const first = await assess(buyer, 'aal1', car);
    const afterStepUp = await assess(buyer, 'aal2', car);

    // Takeovers: owners who moved money from their phone; a thief signs in elsewhere and pays a mule 300.00.
    let stopped = 0;
    const owners = Array.from({ length: 10 }, () => randomUUID());
    for (const owner of owners) {
      await signIn(owner, `s-own-${owner}`, '192.0.2.44');
      await completed(owner, `w-friend-${owner}`, '2500', `d-${owner}`);
    }
    await risk.bus.drain();
    for (const owner of owners) {
      await signIn(owner, `s-thief-${owner}`, '198.18.0.99');
    }
    await risk.bus.drain();
    for (const owner of owners) {
      const answer = await assess(owner, 'aal1', {
        amount: '30000',
        counterparty: 'w-mule',
        sessionId: `s-thief-${owner}`,
        deviceId: 'd-thief',
        ip: '198.18.0.99',
      });
      if (answer.decision !== 'allow') stopped += 1;
    }
    return {
      rulesVersion,
      office: { people: people.length, perPerson: 8, transfers: people.length * 8, refused },
      stepUp: { first: first.decision, afterStepUp: afterStepUp.decision },
      takeover: { sequences: owners.length, stopped },
    };
  } finally {
    await identity.close();
    await ledger.close();
    await risk.stop();
  }
}
