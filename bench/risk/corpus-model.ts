/**
 * What a corpus is: a time-ordered list of steps, each something the risk service sees in production.
 * Facts arrive as the events the service consumes (a session from identity, a failed login, a deposit,
 * a refund); a money movement is an assessment, and when it is allowed, the ledger's completion event.
 */
export const MINUTE = 60_000;
export const HOUR = 60 * MINUTE;
export const DAY = 24 * HOUR;
/** Tuesday 1 December 2026, 00:00 UTC: rent and salaries are due on the first. */
export const CORPUS_START = Date.UTC(2026, 11, 1);

export type Acr = 'aal1' | 'aal2';

export interface Move {
  action: 'transfer' | 'withdrawal';
  amount: bigint;
  /** The payee's wallet, or the payout destination of a withdrawal. */
  counterparty: string;
  /** The payee's user (transfers), for the ledger's completion event. */
  counterpartyUserId: string | null;
  sessionId: string | null;
  deviceId: string | null;
  ip: string;
  acr: Acr;
  /** Whether whoever moves can pass a step-up: the owner can, a thief without the second factor cannot. */
  canStepUp: boolean;
  /** Set on the moves of an attack: which sequence, and the number of this move within the attack. */
  attack?: { sequenceId: string; index: number };
}

interface StepBase {
  at: number;
  userId: string;
}

export type CorpusStep =
  | (StepBase & { kind: 'session'; sessionId: string; ip: string; newDevice: boolean })
  | (StepBase & { kind: 'login-failed'; ip: string; failedAttempts: number })
  | (StepBase & { kind: 'deposit'; amount: bigint })
  /** A refund of one of `userId`'s payments, paid back by `payeeUserId`. */
  | (StepBase & { kind: 'refund'; payeeUserId: string; amount: bigint })
  | (StepBase & { kind: 'move'; move: Move });

export const ATTACK_PATTERNS = [
  'account-takeover',
  'velocity-burst',
  'card-testing',
  'refund-abuse',
  'recovery-withdrawal',
] as const;
export type AttackPattern = (typeof ATTACK_PATTERNS)[number];

export interface AttackSequence {
  id: string;
  pattern: AttackPattern;
  variant: string;
  /**
   * How many of the attack's moves may pass before it counts as missed. 0 for every pattern whose
   * first move carries a signal; for a burst through the owner's own session and device the first
   * moves are a person paying a few people, which no rule can tell apart (see README).
   */
  allowance: number;
}

export interface Corpus {
  name: 'ordinary' | 'attacks';
  seed: number;
  users: number;
  steps: CorpusStep[];
  sequences: AttackSequence[];
}

/** Steps in time order; steps at the same instant keep the order they were generated in. */
export function inTimeOrder(steps: CorpusStep[]): CorpusStep[] {
  return steps
    .map((step, i) => ({ step, i }))
    .sort((a, b) => a.step.at - b.step.at || a.i - b.i)
    .map(({ step }) => step);
}
