/**
 * Which domain event becomes which messages: template, category, channels, recipients (payer and
 * payee for a transfer) and the template variables. Pure: no I/O, no clock.
 */
import { formatForDisplay, type CurrencyCode, type EventData, type EventName } from '@wallet/contracts';
import type { Category, Channel } from './preferences.ts';

export const TEMPLATES = [
  'email-verification',
  'email-verified',
  /** The code SMS that proves a phone number (from the user's request, not an event). */
  'phone-verification',
  'recovery-code',
  /** To the owner of an address someone tried to sign up with (identity answers both alike). */
  'account-exists',
  'new-device-login',
  'password-changed',
  'mfa-changed',
  'account-locked',
  'security-alert',
  'transfer-sent',
  'transfer-received',
  'refund-received',
  'refund-issued',
  'deposit-completed',
  'withdrawal-settled',
  'withdrawal-failed',
  'balance-low',
] as const;
export type TemplateName = (typeof TEMPLATES)[number];

export type TemplateVars = Record<string, string | number | boolean | null>;

export interface PlannedMessage {
  userId: string;
  template: TemplateName;
  category: Category;
  /** Channels this message may use (preferences and known addresses narrow it further). */
  channels: readonly Channel[];
  vars: TemplateVars;
  /** The address the event itself names (identity events); used before the recipients table. */
  email?: string;
  /** Carries a one-time code: never resent, body scrubbed once final. */
  sensitive: boolean;
  /**
   * The message carries the one-time code identity holds under this reference: the code is fetched
   * and filled into `vars.code` at send time, never before (issue 17).
   */
  codeRef?: string;
}

/** Stands for the code in the copy kept before sending (validates the template, shows support the shape). */
export const CODE_MASK = '\u2022\u2022\u2022\u2022\u2022\u2022';

/** Identity facts an event teaches us about a recipient. */
export interface RecipientFacts {
  userId: string;
  email?: string;
  emailVerified?: boolean;
  locale?: string;
  displayName?: string | null;
}

export const CONSUMED_EVENTS = [
  'userRegistered',
  'emailVerified',
  'sessionCreated',
  'recoveryRequested',
  'signUpAttempted',
  'emailVerificationRequested',
  'passwordChanged',
  'mfaChanged',
  'userLocked',
  'transferCompleted',
  'refundCompleted',
  'depositCompleted',
  'withdrawalSettled',
  'withdrawalFailed',
  'balanceLow',
  'anomalyFlagged',
] as const satisfies readonly EventName[];
export type ConsumedEvent = (typeof CONSUMED_EVENTS)[number];

const ALL: readonly Channel[] = ['email', 'sms', 'push'];
const EMAIL_ONLY: readonly Channel[] = ['email'];
const EMAIL_PUSH_SMS: readonly Channel[] = ['email', 'push', 'sms'];

/** Subjects that are not people (system wallets, the payment provider): nobody to notify. */
export function isPersonSubject(userId: string): boolean {
  return !userId.startsWith('system:') && userId !== 'anonymous';
}

function money(amount: string, currency: string): string {
  // Amounts arrive as validated minor-unit strings; display only, never arithmetic.
  return formatForDisplay(BigInt(amount), currency as CurrencyCode);
}

type FactsOf<N extends ConsumedEvent> = (d: EventData<N>) => RecipientFacts | undefined;
const accountFacts = (d: { userId: string; email: string }): RecipientFacts => ({
  userId: d.userId,
  email: d.email,
});
const noFacts = (): undefined => undefined;

/** What an event tells about its user's address and locale (identity's events only). */
const FACTS: { [N in ConsumedEvent]: FactsOf<N> } = {
  userRegistered: (d) => ({
    userId: d.userId,
    email: d.email,
    locale: d.locale,
    displayName: d.displayName,
    emailVerified: false,
  }),
  emailVerified: (d) => ({ userId: d.userId, email: d.email, emailVerified: true }),
  sessionCreated: accountFacts,
  recoveryRequested: accountFacts,
  signUpAttempted: accountFacts,
  emailVerificationRequested: accountFacts,
  passwordChanged: accountFacts,
  mfaChanged: accountFacts,
  userLocked: accountFacts,
  transferCompleted: noFacts,
  refundCompleted: noFacts,
  depositCompleted: noFacts,
  withdrawalSettled: noFacts,
  withdrawalFailed: noFacts,
  balanceLow: noFacts,
  anomalyFlagged: noFacts,
};

export function recipientFactsOf<N extends ConsumedEvent>(
  name: N,
  data: EventData<N>,
): RecipientFacts | undefined {
  const facts: FactsOf<N> = FACTS[name];
  return facts(data);
}

/** Per consumed event, the messages it asks for: one typed function per event, no casts. */
const PLANS: { [N in ConsumedEvent]: (d: EventData<N>) => PlannedMessage[] } = {
  userRegistered(d) {
    return [
      {
        userId: d.userId,
        template: 'email-verification',
        category: 'account',
        channels: EMAIL_ONLY,
        email: d.email,
        sensitive: true,
        codeRef: d.verificationCodeRef,
        vars: { expiresAt: d.verificationExpiresAt, displayName: d.displayName },
      },
    ];
  },
  emailVerified(d) {
    return [
      {
        userId: d.userId,
        template: 'email-verified',
        category: 'account',
        channels: EMAIL_ONLY,
        email: d.email,
        sensitive: false,
        vars: {},
      },
    ];
  },
  recoveryRequested(d) {
    // A recovery code goes to the mailbox only: SMS and push reach a possibly stolen phone.
    return [
      {
        userId: d.userId,
        template: 'recovery-code',
        category: 'security',
        channels: EMAIL_ONLY,
        email: d.email,
        sensitive: true,
        codeRef: d.codeRef,
        vars: { expiresAt: d.expiresAt },
      },
    ];
  },
  emailVerificationRequested(d) {
    return [
      {
        userId: d.userId,
        template: 'email-verification',
        category: 'account',
        channels: EMAIL_ONLY,
        email: d.email,
        sensitive: true,
        codeRef: d.codeRef,
        vars: { expiresAt: d.expiresAt, displayName: null },
      },
    ];
  },
  signUpAttempted(d) {
    // Carries a recovery code: the mailbox only, like a recovery request.
    return [
      {
        userId: d.userId,
        template: 'account-exists',
        category: 'security',
        channels: EMAIL_ONLY,
        email: d.email,
        sensitive: true,
        codeRef: d.codeRef,
        vars: { expiresAt: d.expiresAt },
      },
    ];
  },
  sessionCreated(d) {
    if (!d.newDevice) return [];
    return [
      {
        userId: d.userId,
        template: 'new-device-login',
        category: 'security',
        channels: ALL,
        email: d.email,
        sensitive: false,
        vars: { deviceName: d.deviceName ?? 'an unknown device', userAgent: d.userAgent, ip: d.ip },
      },
    ];
  },
  passwordChanged(d) {
    return [
      {
        userId: d.userId,
        template: 'password-changed',
        category: 'security',
        channels: ALL,
        email: d.email,
        sensitive: false,
        vars: { viaRecovery: d.via === 'recovery' },
      },
    ];
  },
  mfaChanged(d) {
    return [
      {
        userId: d.userId,
        template: 'mfa-changed',
        category: 'security',
        channels: ALL,
        email: d.email,
        sensitive: false,
        vars: { enabled: d.enabled },
      },
    ];
  },
  userLocked(d) {
    return [
      {
        userId: d.userId,
        template: 'account-locked',
        category: 'security',
        channels: ['email', 'sms'],
        email: d.email,
        sensitive: false,
        vars: { byAdmin: d.reason === 'admin', lockedUntil: d.lockedUntil },
      },
    ];
  },
  anomalyFlagged(d) {
    return [
      {
        userId: d.userId,
        template: 'security-alert',
        category: 'security',
        channels: ALL,
        sensitive: false,
        vars: { action: d.action, occurredAt: d.occurredAt },
      },
    ];
  },
  transferCompleted(d) {
    const amount = money(d.amount, d.currency);
    const messages: PlannedMessage[] = [];
    if (isPersonSubject(d.fromUserId)) {
      messages.push({
        userId: d.fromUserId,
        template: 'transfer-sent',
        category: 'payments',
        channels: EMAIL_PUSH_SMS,
        sensitive: false,
        vars: { amount, transferId: d.transferId, occurredAt: d.occurredAt },
      });
    }
    // A transfer between two wallets of one user is one message, not two.
    if (isPersonSubject(d.toUserId) && d.toUserId !== d.fromUserId) {
      messages.push({
        userId: d.toUserId,
        template: 'transfer-received',
        category: 'payments',
        channels: EMAIL_PUSH_SMS,
        sensitive: false,
        vars: { amount, transferId: d.transferId, occurredAt: d.occurredAt },
      });
    }
    return messages;
  },
  refundCompleted(d) {
    const amount = money(d.amount, d.currency);
    const messages: PlannedMessage[] = [];
    if (isPersonSubject(d.payerUserId)) {
      messages.push({
        userId: d.payerUserId,
        template: 'refund-received',
        category: 'payments',
        channels: EMAIL_PUSH_SMS,
        sensitive: false,
        vars: { amount, transferId: d.transferId, refundId: d.refundId },
      });
    }
    if (isPersonSubject(d.payeeUserId) && d.payeeUserId !== d.payerUserId) {
      messages.push({
        userId: d.payeeUserId,
        template: 'refund-issued',
        category: 'payments',
        channels: EMAIL_PUSH_SMS,
        sensitive: false,
        vars: { amount, transferId: d.transferId, refundId: d.refundId },
      });
    }
    return messages;
  },
  depositCompleted(d) {
    return [
      {
        userId: d.userId,
        template: 'deposit-completed',
        category: 'payments',
        channels: EMAIL_PUSH_SMS,
        sensitive: false,
        vars: { amount: money(d.amount, d.currency), depositId: d.depositId },
      },
    ];
  },
  withdrawalSettled(d) {
    return [
      {
        userId: d.userId,
        template: 'withdrawal-settled',
        category: 'payments',
        channels: EMAIL_PUSH_SMS,
        sensitive: false,
        vars: { amount: money(d.amount, d.currency), withdrawalId: d.withdrawalId },
      },
    ];
  },
  withdrawalFailed(d) {
    return [
      {
        userId: d.userId,
        template: 'withdrawal-failed',
        category: 'payments',
        channels: EMAIL_PUSH_SMS,
        sensitive: false,
        vars: { amount: money(d.amount, d.currency), withdrawalId: d.withdrawalId, reason: d.reason },
      },
    ];
  },
  balanceLow(d) {
    return [
      {
        userId: d.userId,
        template: 'balance-low',
        category: 'balance',
        channels: ['email', 'push'],
        sensitive: false,
        vars: {
          available: money(d.available, d.currency),
          threshold: money(d.threshold, d.currency),
          walletId: d.walletId,
        },
      },
    ];
  },
};

export function planMessages<N extends ConsumedEvent>(name: N, data: EventData<N>): PlannedMessage[] {
  const plan: (d: EventData<N>) => PlannedMessage[] = PLANS[name];
  return plan(data);
}
