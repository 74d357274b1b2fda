/**
 * The mix of what people do, at a steady rate (operations started per second, each by a person not
 * busy with another one): many small transfers, reads of balances and history, deposits, refunds, a
 * few large transfers and withdrawals by people who step up, sign-ins, and a trickle of sign-ups.
 */
import {
  deposit,
  read,
  refund,
  settleWithdrawal,
  signIn,
  signUp,
  transfer,
  withdraw,
  type Person,
  type World,
} from './people.ts';

/** Below the ledger's fail-open amount (50.00) and risk's step-up threshold (1,000.00). */
const SMALL = { min: 100n, max: 900n };
/** At or above risk's step-up threshold: only a stepped-up session may send it. */
const LARGE = { min: 100_000n, max: 120_000n };

type OpName =
  | 'transfer-small'
  | 'read-balance'
  | 'read-history'
  | 'deposit'
  | 'refund'
  | 'transfer-large'
  | 'withdrawal'
  | 'login'
  | 'sign-up';

/** Weights of the mix (they need not add up to anything). */
const MIX: readonly [OpName, number][] = [
  ['transfer-small', 50],
  ['read-balance', 14],
  ['read-history', 8],
  ['deposit', 6],
  ['refund', 6],
  ['transfer-large', 4],
  ['withdrawal', 4],
  ['login', 4],
  ['sign-up', 2],
];
const TOTAL_WEIGHT = MIX.reduce((sum, [, w]) => sum + w, 0);

const pick = <T>(items: readonly T[]): T | undefined => items[Math.floor(Math.random() * items.length)];
const between = (min: bigint, max: bigint): bigint =>
  min + BigInt(Math.floor(Math.random() * Number(max - min + 1n)));
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export interface Workload {
  /** Operations started per second now (the burst fault raises it). */
  rate: number;
  /** Operations that found nobody free to do them (the clients were all busy). */
  skipped: number;
  started: Record<string, number>;
  /** When the last operation was started (ms on the recorder's clock); the drain follows. */
  stoppedAt: number;
  /** Runs until `until()` is true; resolves when every operation it started has ended. */
  run(until: () => boolean): Promise<void>;
  /** Waits for every operation started so far (withdrawals' webhooks included), sign-ups excepted. */
  drain(): Promise<void>;
  /** Sign-ups still under way when the load stopped (abandoned: those people are not checked). */
  abandonedSignUps: number;
}

export function workload(world: World, baseRate: number): Workload {
  const inFlight = new Set<Promise<void>>();
  /** Sign-ups under way: not waited for at the end (one may wait long for a delayed code e-mail). */
  const signingUp = new Set<Promise<void>>();
  let signUps = 0;
  const state: Workload = {
    rate: baseRate,
    skipped: 0,
    started: {},
    stoppedAt: 0,
    abandonedSignUps: 0,
    run,
    drain,
  };

  const free = (filter: (p: Person) => boolean = () => true): Person | undefined =>
    pick(world.people.filter((p) => !p.busy && filter(p)));

  /** Runs `work` as `person` (busy meanwhile); never throws: a failure is already in the records. */
  const as = (person: Person, work: () => Promise<void>): void => {
    person.busy = true;
    const done = work()
      .catch((error: unknown) => {
        process.stderr.write(
          `soak: ${person.label}: ${error instanceof Error ? error.message : String(error)}\n`,
        );
      })
      .finally(() => {
        person.busy = false;
        inFlight.delete(done);
      });
    inFlight.add(done);
  };

  function start(op: OpName): boolean {
    switch (op) {
      case 'transfer-small': {
        const from = free((p) => p.expected >= SMALL.max);
        const to = from && pick(world.people.filter((p) => p !== from));
        if (!from || !to) return false;
        as(from, () => transfer(world, op, from, to, between(SMALL.min, SMALL.max)));
        return true;
      }
      case 'transfer-large': {
        const from = free((p) => p.totpSecret !== undefined && p.expected >= LARGE.max);
        const to = from && pick(world.people.filter((p) => p !== from));
        if (!from || !to) return false;
        as(from, () => transfer(world, op, from, to, between(LARGE.min, LARGE.max)));
        return true;
      }
      case 'read-balance': {
        const p = free();
        if (!p) return false;
        as(p, async () => void (await read(world, op, p, `/v1/wallets/${p.walletId}`)));
        return true;
      }
      case 'read-history': {
        const p = free();
        if (!p) return false;
        as(p, async () => void (await read(world, op, p, `/v1/wallets/${p.walletId}/transactions?limit=20`)));
        return true;
      }
      case 'deposit': {
        const p = free();
        if (!p) return false;
        as(p, () => deposit(world, p, between(2_000n, 10_000n)));
        return true;
      }
      case 'refund': {
        const p = free((q) => q.received.some((t) => t.refunded === 0n));
        if (!p) return false;
        const t = pick(p.received.filter((r) => r.refunded === 0n))!;
        // Partial refunds up to what is left; the payee needs the money.
        const amount = t.amount / 2n > 0n ? t.amount / 2n : t.amount;
        if (p.expected < amount) return false;
        as(p, () => refund(world, p, t, amount));
        return true;
      }
      case 'withdrawal': {
        const p = free((q) => q.totpSecret !== undefined && q.expected >= 5_000n);
        if (!p) return false;
        as(p, async () => {
          const w = await withdraw(world, p, between(1_000n, 3_000n));
          if (!w) return;
          // The payout provider answers a few seconds later; 2 in 3 are paid out.
          await sleep(2_000 + Math.random() * 3_000);
          await settleWithdrawal(world, p, w, Math.random() < 2 / 3);
        });
        return true;
      }
      case 'login': {
        const p = free();
        if (!p) return false;
        as(p, () => signIn(world, p, p.totpSecret !== undefined));
        return true;
      }
      case 'sign-up': {
        const n = signUps++;
        const done = signUp(world, `soak-late${n}`, false)
          .then(async (person) => {
            // Abandoned at the end of the load: the checks may already be reading the people.
            if (state.stoppedAt > 0) return;
            world.people.push(person);
            person.busy = true;
            await deposit(world, person, 20_000n);
            person.busy = false;
          })
          .catch((error: unknown) => {
            process.stderr.write(
              `soak: sign-up ${n}: ${error instanceof Error ? error.message : String(error)}\n`,
            );
          })
          .finally(() => signingUp.delete(done));
        signingUp.add(done);
        return true;
      }
    }
  }

  function chooseOp(): OpName {
    let r = Math.random() * TOTAL_WEIGHT;
    for (const [name, weight] of MIX) {
      r -= weight;
      if (r < 0) return name;
    }
    return 'transfer-small';
  }

  async function run(until: () => boolean): Promise<void> {
    let next = performance.now();
    while (!until()) {
      const op = chooseOp();
      if (start(op)) state.started[op] = (state.started[op] ?? 0) + 1;
      else state.skipped++;
      // Poisson arrivals at the current rate.
      next += (-Math.log(1 - Math.random()) * 1000) / state.rate;
      const wait = next - performance.now();
      if (wait > 0) await sleep(wait);
      else next = performance.now();
    }
    state.stoppedAt = world.recorder.now();
    await drain();
    state.abandonedSignUps = signingUp.size;
  }

  async function drain(): Promise<void> {
    while (inFlight.size > 0) await Promise.allSettled([...inFlight]);
  }

  return state;
}

/** The people the soak starts with: sign-ups at a few at a time, then funded by deposits. */
export async function onboard(
  world: World,
  count: number,
  withTotp: number,
  concurrency: number,
): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) {
      const i = next++;
      const stepsUp = i < withTotp;
      const person = await signUp(world, stepsUp ? `soak-mfa${i}` : `soak${i}`, stepsUp);
      person.busy = true;
      await deposit(world, person, stepsUp ? 500_000n : 30_000n);
      person.busy = false;
      world.people.push(person);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
}
