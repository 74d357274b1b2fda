/**
 * A seeded pseudo-random generator (mulberry32), so a corpus is the same on every machine and every
 * run: the numbers in the README can be reproduced. Written here because it is five lines and the
 * corpora need nothing more than uniform draws.
 */
export interface Random {
  /** Uniform in [0, 1). */
  next(): number;
  /** Integer in [min, max], both included. */
  int(min: number, max: number): number;
  chance(p: number): boolean;
  pick<T>(items: readonly T[]): T;
  /** `count` distinct items (fewer when there are not enough). */
  sample<T>(items: readonly T[], count: number): T[];
  /** An amount in minor units between two amounts in major units (whole cents). */
  euros(min: number, max: number): bigint;
}

export function createRandom(seed: number): Random {
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
  const int = (min: number, max: number) => min + Math.floor(next() * (max - min + 1));
  return {
    next,
    int,
    chance: (p) => next() < p,
    pick: (items) => items[int(0, items.length - 1)]!,
    sample(items, count) {
      const pool = [...items];
      const out = [];
      while (out.length < count && pool.length > 0) out.push(pool.splice(int(0, pool.length - 1), 1)[0]!);
      return out;
    },
    euros: (min, max) => BigInt(int(Math.round(min * 100), Math.round(max * 100))),
  };
}
