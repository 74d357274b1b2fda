/** Rates from a replay: what ordinary people met, and how far each attack got. */
import type { Corpus } from './corpus-model.ts';
import type { MoveOutcome, ReplayResult } from './replay.ts';

export const GOALS = { ordinaryChallengedMaxPct: 2, ordinaryDeniedMax: 0, attacksStoppedMinPct: 95 };

export interface OrdinaryRates {
  movements: number;
  challenged: number;
  challengedPct: number;
  /** Denied when asked, or denied after the step-up the challenge asked for. */
  denied: number;
  deniedAfterStepUp: number;
  /** Which rules fired on the movements that were not allowed at once. */
  rulesOnRefusals: Record<string, number>;
}

export interface AttackGroupRates {
  sequences: number;
  /** Challenged or denied (and not passed by a step-up) within the pattern's allowance. */
  stopped: number;
  stoppedPct: number;
  /** Stopped at the attack's very first movement. */
  stoppedAtFirst: number;
  movedOutMinor: string;
  attemptedMinor: string;
}

export interface AttackRates extends AttackGroupRates {
  byPattern: Record<string, AttackGroupRates>;
}

const pct = (n: number, of: number) => (of === 0 ? 0 : Math.round((n / of) * 10_000) / 100);

export function ordinaryRates(replay: ReplayResult): OrdinaryRates {
  const { outcomes } = replay;
  const challenged = outcomes.filter((o) => o.first === 'challenge').length;
  const deniedAfterStepUp = outcomes.filter((o) => o.afterStepUp === 'deny').length;
  const denied = outcomes.filter((o) => o.first === 'deny').length + deniedAfterStepUp;
  const rulesOnRefusals: Record<string, number> = {};
  for (const o of outcomes) {
    if (o.first === 'allow') continue;
    for (const rule of new Set(o.rules)) rulesOnRefusals[rule] = (rulesOnRefusals[rule] ?? 0) + 1;
  }
  return {
    movements: outcomes.length,
    challenged,
    challengedPct: pct(challenged, outcomes.length),
    denied,
    deniedAfterStepUp,
    rulesOnRefusals,
  };
}

export function attackRates(corpus: Corpus, replay: ReplayResult): AttackRates {
  const attempted = new Map<string, bigint>();
  for (const step of corpus.steps) {
    if (step.kind !== 'move' || !step.move.attack) continue;
    const id = step.move.attack.sequenceId;
    attempted.set(id, (attempted.get(id) ?? 0n) + step.move.amount);
  }
  const bySequence = new Map<string, MoveOutcome[]>();
  for (const o of replay.outcomes) {
    if (!o.move.attack) continue;
    const list = bySequence.get(o.move.attack.sequenceId) ?? [];
    list.push(o);
    bySequence.set(o.move.attack.sequenceId, list);
  }
  const empty = (): AttackGroupRates & { moved: bigint; tried: bigint } => ({
    sequences: 0,
    stopped: 0,
    stoppedPct: 0,
    stoppedAtFirst: 0,
    movedOutMinor: '0',
    attemptedMinor: '0',
    moved: 0n,
    tried: 0n,
  });
  const total = empty();
  const groups = new Map<string, ReturnType<typeof empty>>();
  for (const sequence of corpus.sequences) {
    const moves = bySequence.get(sequence.id) ?? [];
    const stop = moves.find((o) => !o.completed);
    const stopIndex = stop?.move.attack?.index ?? null;
    const moved = moves.filter((o) => o.completed).reduce((s, o) => s + o.move.amount, 0n);
    const key = `${sequence.pattern} (${sequence.variant})`;
    const group = groups.get(key) ?? empty();
    groups.set(key, group);
    for (const g of [total, group]) {
      g.sequences += 1;
      if (stopIndex !== null && stopIndex <= sequence.allowance) g.stopped += 1;
      if (stopIndex === 0) g.stoppedAtFirst += 1;
      g.moved += moved;
      g.tried += attempted.get(sequence.id) ?? 0n;
    }
  }
  const finish = ({ moved, tried, ...g }: ReturnType<typeof empty>): AttackGroupRates => ({
    ...g,
    stoppedPct: pct(g.stopped, g.sequences),
    movedOutMinor: moved.toString(),
    attemptedMinor: tried.toString(),
  });
  return {
    ...finish(total),
    byPattern: Object.fromEntries([...groups.entries()].sort().map(([k, g]) => [k, finish(g)])),
  };
}

export function meetsGoals(ordinary: OrdinaryRates, attacks: AttackRates): boolean {
  return (
    ordinary.challengedPct <= GOALS.ordinaryChallengedMaxPct &&
    ordinary.denied <= GOALS.ordinaryDeniedMax &&
    attacks.stoppedPct >= GOALS.attacksStoppedMinPct
  );
}
