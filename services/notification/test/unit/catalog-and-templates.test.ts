import { Events, type EventData } from '@wallet/contracts';
import { describe, expect, it } from 'vitest';
import { CODE_MASK, CONSUMED_EVENTS, planMessages, type ConsumedEvent } from '../../src/domain/catalog.ts';
import { createTemplateRenderer, localeChain } from '../../src/templates/renderer.ts';

const at = '2026-03-01T12:00:00.000Z';
const samples: { [N in ConsumedEvent]: unknown } = {
  userRegistered: {
    userId: 'u1',
    email: 'a@example.test',
    displayName: 'Ada',
    locale: 'en',
    verificationCodeRef: '6f1d2c1e-0a4b-4d7e-9a57-3c1f1b2a9e10',
    verificationExpiresAt: at,
  },
  emailVerified: { userId: 'u1', email: 'a@example.test' },
  sessionCreated: {
    userId: 'u1',
    sessionId: 's',
    email: 'a@example.test',
    deviceName: null,
    userAgent: 'UA',
    ip: '198.51.100.1',
    newDevice: true,
  },
  recoveryRequested: {
    userId: 'u1',
    email: 'a@example.test',
    codeRef: '0b5e7a9c-3d2f-4e1a-8b6c-9d0e1f2a3b4c',
    expiresAt: at,
  },
  signUpAttempted: {
    userId: 'u1',
    email: 'a@example.test',
    codeRef: '1c2d3e4f-5a6b-4c7d-8e9f-0a1b2c3d4e5f',
    expiresAt: at,
  },
  emailVerificationRequested: {
    userId: 'u1',
    email: 'a@example.test',
    codeRef: '2d3e4f5a-6b7c-4d8e-9f0a-1b2c3d4e5f6a',
    expiresAt: at,
  },
  passwordChanged: { userId: 'u1', email: 'a@example.test', via: 'recovery' },
  mfaChanged: { userId: 'u1', email: 'a@example.test', enabled: true },
  userLocked: { userId: 'u1', email: 'a@example.test', reason: 'failed-logins', lockedUntil: at },
  transferCompleted: {
    transferId: 't',
    fromWalletId: 'w1',
    toWalletId: 'w2',
    fromUserId: 'u1',
    toUserId: 'u2',
    amount: '1050',
    currency: 'EUR',
    occurredAt: at,
  },
  refundCompleted: {
    refundId: 'r',
    transferId: 't',
    payerUserId: 'u1',
    payeeUserId: 'u2',
    amount: '5',
    currency: 'JPY',
    occurredAt: at,
  },
  depositCompleted: {
    depositId: 'd',
    walletId: 'w',
    userId: 'u1',
    amount: '100000',
    currency: 'KWD',
    providerEventId: 'p',
    occurredAt: at,
  },
  withdrawalSettled: {
    withdrawalId: 'x',
    walletId: 'w',
    userId: 'u1',
    amount: '1',
    currency: 'EUR',
    occurredAt: at,
  },
  withdrawalFailed: {
    withdrawalId: 'x',
    walletId: 'w',
    userId: 'u1',
    amount: '1',
    currency: 'EUR',
    reason: 'closed',
    occurredAt: at,
  },
  balanceLow: { walletId: 'w', userId: 'u1', available: '99', currency: 'EUR', threshold: '1000' },
  anomalyFlagged: {
    flagId: 'f',
    userId: 'u1',
    assessmentId: null,
    action: 'deny',
    score: 90,
    reasons: [],
    occurredAt: at,
  },
};

function plan<N extends ConsumedEvent>(name: N, data: unknown) {
  return planMessages(name, Events[name].schema.parse(data) as EventData<N>);
}

describe('event catalog', () => {
  const renderer = createTemplateRenderer();

  it('every consumed event renders on every channel it plans, in strict mode (no missing variable)', () => {
    for (const name of CONSUMED_EVENTS) {
      const messages = plan(name, samples[name]);
      expect(messages.length, name).toBeGreaterThan(0);
      for (const m of messages) {
        expect(renderer.supports(m.template, 'email'), `${m.template} has an e-mail`).toBe(true);
        for (const channel of m.channels) {
          if (!renderer.supports(m.template, channel)) continue;
          // A code message gets its code at send time; until then it renders with the mask.
          const r = renderer.render(
            m.template,
            channel,
            'en',
            m.codeRef ? { ...m.vars, code: CODE_MASK } : m.vars,
          );
          expect(r.text.length, `${m.template}/${channel}`).toBeGreaterThan(0);
        }
      }
    }
  });

  it('a transfer notifies payer and payee, with the amount in major units', () => {
    const messages = plan('transferCompleted', samples.transferCompleted);
    expect(messages.map((m) => [m.userId, m.template])).toEqual([
      ['u1', 'transfer-sent'],
      ['u2', 'transfer-received'],
    ]);
    expect(messages[0]!.vars['amount']).toBe('10.50 EUR');
    expect(plan('refundCompleted', samples.refundCompleted)[0]!.vars['amount']).toBe('5 JPY');
    expect(plan('depositCompleted', samples.depositCompleted)[0]!.vars['amount']).toBe('100.000 KWD');
  });

  it("a transfer between one user's wallets is one message; system subjects get none", () => {
    const self = plan('transferCompleted', { ...(samples.transferCompleted as object), toUserId: 'u1' });
    expect(self).toHaveLength(1);
    const fromSystem = plan('transferCompleted', {
      ...(samples.transferCompleted as object),
      fromUserId: 'system:payment-provider',
    });
    expect(fromSystem.map((m) => m.userId)).toEqual(['u2']);
  });

  it('only a new-device session is an alert; codes are marked sensitive and go by e-mail only', () => {
    expect(plan('sessionCreated', { ...(samples.sessionCreated as object), newDevice: false })).toEqual([]);
    const [recovery] = plan('recoveryRequested', samples.recoveryRequested);
    expect(recovery).toMatchObject({
      sensitive: true,
      channels: ['email'],
      category: 'security',
      codeRef: '0b5e7a9c-3d2f-4e1a-8b6c-9d0e1f2a3b4c',
    });
    const [verification] = plan('userRegistered', samples.userRegistered);
    expect(verification).toMatchObject({
      sensitive: true,
      category: 'account',
      codeRef: '6f1d2c1e-0a4b-4d7e-9a57-3c1f1b2a9e10',
    });
    // The plan (kept in the delivery row) has no code: it is fetched when the message is sent.
    expect(verification!.vars).not.toHaveProperty('code');
    expect(recovery!.vars).not.toHaveProperty('code');
  });
});

describe('templates', () => {
  const renderer = createTemplateRenderer();

  it('escapes HTML in the HTML part only', () => {
    const r = renderer.render('email-verification', 'email', 'en', {
      code: '1',
      expiresAt: at,
      displayName: '<img src=x onerror=alert(1)> & Co',
    });
    expect(r.html).toContain('&lt;img src&#x3D;x onerror&#x3D;alert(1)&gt; &amp; Co');
    expect(r.html).not.toContain('<img');
    expect(r.text).toContain('<img src=x onerror=alert(1)> & Co');
  });

  it('keeps single-line parts on one line (no header injection through a variable)', () => {
    const r = renderer.render('transfer-sent', 'email', 'en', {
      amount: '1 EUR\r\nBcc: evil@example.test',
      transferId: 't',
      occurredAt: at,
    });
    expect(r.subject).toBe('You sent 1 EUR Bcc: evil@example.test');
    expect(r.subject).not.toMatch(/[\r\n]/);
  });

  it('falls back de-AT -> de -> en, and an unknown or malformed locale to en', () => {
    expect(localeChain('de-AT')).toEqual(['de-at', 'de', 'en']);
    expect(localeChain('../../etc')).toEqual(['en']);
    const de = renderer.render('email-verification', 'email', 'de-AT', {
      code: '1',
      expiresAt: at,
      displayName: null,
    });
    expect(de.locale).toBe('de');
    expect(de.subject).toBe('Ihr Bestätigungscode');
    const fallback = renderer.render('password-changed', 'email', 'de', { viaRecovery: false });
    expect(fallback.locale).toBe('en');
  });

  it('a variable the template needs but the event lacks is an error, not an empty string', () => {
    expect(() => renderer.render('transfer-sent', 'sms', 'en', {})).toThrow(/amount/);
  });
});
