/**
 * People as the corpora see them: a wallet, one or two devices, the address they come from, friends,
 * and the sessions and payments that follow from those. Shared by the ordinary corpus and by the
 * attack corpus (whose victims live an ordinary life before the attack).
 */
import type { Random } from './random.ts';
import type { Acr, CorpusStep, Move } from './corpus-model.ts';

export interface Person {
  id: string;
  wallet: string;
  /** The address this person is seen from (shared by an office, a campus, a carrier NAT, or their own). */
  ip: string;
  devices: string[];
  friends: string[];
  /** Wallets and destinations this person has paid (so a generator can choose a known or a new payee). */
  paid: Set<string>;
  usedDevices: Set<string>;
  sessionCount: number;
}

export function person(id: string, ip: string, secondDevice: boolean): Person {
  const devices = [`d-${id}-1`];
  if (secondDevice) devices.push(`d-${id}-2`);
  return {
    id,
    wallet: walletOf(id),
    ip,
    devices,
    friends: [],
    paid: new Set(),
    usedDevices: new Set(),
    sessionCount: 0,
  };
}

export function walletOf(userId: string): string {
  return `w-${userId}`;
}

/** A sign-in: identity reports the session and whether the device is new to it (every first one is). */
export function signIn(
  steps: CorpusStep[],
  who: Person,
  at: number,
  device: string,
  ip: string = who.ip,
): { sessionId: string; device: string; ip: string } {
  who.sessionCount += 1;
  const sessionId = `s-${who.id}-${who.sessionCount}`;
  const newDevice = !who.usedDevices.has(device);
  who.usedDevices.add(device);
  steps.push({ kind: 'session', at, userId: who.id, sessionId, ip, newDevice });
  return { sessionId, device, ip };
}

export function pay(
  steps: CorpusStep[],
  who: Person,
  at: number,
  session: { sessionId: string; device: string; ip: string },
  payee: { wallet: string; userId: string | null; action?: Move['action'] },
  amount: bigint,
  acr: Acr = 'aal1',
): void {
  who.paid.add(payee.wallet);
  steps.push({
    kind: 'move',
    at,
    userId: who.id,
    move: {
      action: payee.action ?? 'transfer',
      amount,
      counterparty: payee.wallet,
      counterpartyUserId: payee.userId,
      sessionId: session.sessionId,
      deviceId: session.device,
      ip: session.ip,
      acr,
      canStepUp: true,
    },
  });
}

/**
 * Payments of 1,000.00 or more are made after a step-up (the app asks for the second factor first):
 * the corpus says so with acr aal2, and the rules promise to allow them.
 */
export function acrFor(amount: bigint): Acr {
  return amount >= 100_000n ? 'aal2' : 'aal1';
}

/** A few payments to friends, spaced like a person tapping through an app. */
export function payFriends(
  steps: CorpusStep[],
  rand: Random,
  who: Person,
  from: number,
  session: { sessionId: string; device: string; ip: string },
  count: number,
  amounts: [number, number],
): number {
  let at = from;
  for (const friend of rand.sample(who.friends, count)) {
    at += rand.int(15, 180) * 1000;
    pay(steps, who, at, session, { wallet: walletOf(friend), userId: friend }, rand.euros(...amounts));
  }
  return at;
}
