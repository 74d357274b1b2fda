/**
 * The ordinary corpus: three days of people using the wallet as people do. Most of them share an
 * address (two offices, a campus, a mobile carrier's NAT), they pay friends right after signing in on
 * their first and only device, salaries arrive and rent leaves on the first of the month, they pay the
 * same people again, cafés and shops, a few move money to their bank, a few use a second device, and a
 * few make a larger payment after a step-up. Seeded: the same seed gives the same corpus.
 */
import { createRandom, type Random } from './random.ts';
import {
  CORPUS_START,
  DAY,
  HOUR,
  MINUTE,
  inTimeOrder,
  type Corpus,
  type CorpusStep,
} from './corpus-model.ts';
import { acrFor, pay, payFriends, person, signIn, walletOf, type Person } from './corpus-people.ts';

interface Population {
  name: string;
  size: number;
  /** The address of everyone in it, or each person's own. */
  ip: (i: number) => string;
  /** Hours of the day its people are active, UTC. */
  hours: [number, number];
  /** Everyone signs up at one event on the first day (a campus welcome day), within these minutes. */
  signUpWindow?: [number, number];
}

const POPULATIONS: Population[] = [
  { name: 'office-a', size: 120, ip: () => '198.51.100.10', hours: [8, 18] },
  { name: 'office-b', size: 120, ip: () => '198.51.100.11', hours: [8, 18] },
  // A welcome day: everyone signs up between 10:00 and 10:40 behind the campus address.
  {
    name: 'campus',
    size: 80,
    ip: () => '203.0.113.50',
    hours: [9, 23],
    signUpWindow: [10 * 60, 10 * 60 + 40],
  },
  { name: 'carrier-nat', size: 150, ip: () => '100.64.0.1', hours: [7, 23] },
  { name: 'home', size: 80, ip: (i) => `192.0.2.${i + 1}`, hours: [7, 23] },
];

const MERCHANTS = Array.from({ length: 30 }, (_, i) => `m-${i}`);
const LANDLORDS = Array.from({ length: 40 }, (_, i) => `l-${i}`);

function atHour(rand: Random, day: number, [from, to]: [number, number]): number {
  return (
    CORPUS_START +
    day * DAY +
    from * HOUR +
    rand.int(0, (to - from) * 60 - 1) * MINUTE +
    rand.int(0, 59) * 1000
  );
}

export function ordinaryCorpus(seed: number, scale = 1): Corpus {
  const rand = createRandom(seed);
  const steps: CorpusStep[] = [];
  const people: { who: Person; population: Population }[] = [];
  for (const population of POPULATIONS) {
    const size = Math.max(1, Math.round(population.size * scale));
    const members: Person[] = [];
    for (let i = 0; i < size; i += 1) {
      members.push(person(`${population.name}-${i}`, population.ip(i), rand.chance(0.15)));
    }
    for (const who of members) {
      // Friends are mostly people around them (colleagues, classmates), sometimes elsewhere.
      who.friends = rand.sample(
        members.filter((m) => m !== who).map((m) => m.id),
        rand.int(3, 8),
      );
      people.push({ who, population });
    }
  }
  const everyone = people.map((p) => p.who.id);
  for (const { who } of people) {
    if (rand.chance(0.3)) who.friends.push(rand.pick(everyone.filter((id) => id !== who.id)));
  }

  for (const { who, population } of people) {
    const salaried = rand.chance(0.6);
    if (salaried) {
      steps.push({
        kind: 'deposit',
        at: CORPUS_START + 6 * HOUR + rand.int(0, 120) * MINUTE,
        userId: who.id,
        amount: rand.euros(1_800, 4_500),
      });
    }
    const rentDay = rand.chance(0.5) ? 0 : 1;
    const rent = rand.euros(450, 1_400);
    const landlord = rand.pick(LANDLORDS);
    const largeDay = rand.chance(0.04) ? rand.int(1, 2) : -1;
    const secondDeviceDay = who.devices.length > 1 ? rand.int(1, 2) : -1;

    for (let day = 0; day < 3; day += 1) {
      const sessions = day === 0 ? 1 : rand.chance(0.7) ? rand.int(1, 2) : 0;
      for (let s = 0; s < sessions; s += 1) {
        const first = day === 0;
        const start =
          first && population.signUpWindow
            ? CORPUS_START +
              population.signUpWindow[0] * MINUTE +
              rand.int(0, (population.signUpWindow[1] - population.signUpWindow[0]) * 60) * 1000
            : atHour(
                rand,
                day,
                population.name.startsWith('office') && rand.chance(0.5) ? [12, 14] : population.hours,
              );
        const device = day === secondDeviceDay && s === 0 ? who.devices[1]! : who.devices[0]!;
        const session = signIn(steps, who, start, device);
        let at = start;
        if (first) {
          // Right after signing up: paying back friends for last night's dinner, the concert tickets.
          at = payFriends(steps, rand, who, at, session, rand.int(1, 4), [1, 80]);
        } else {
          for (let m = rand.int(0, 3); m > 0; m -= 1) {
            at += rand.int(20, 300) * 1000;
            const roll = rand.next();
            if (roll < 0.55) {
              const friend = rand.pick(who.friends);
              pay(steps, who, at, session, { wallet: walletOf(friend), userId: friend }, rand.euros(2, 120));
            } else if (roll < 0.8) {
              const shop = rand.pick(MERCHANTS);
              pay(steps, who, at, session, { wallet: walletOf(shop), userId: shop }, rand.euros(3, 60));
            } else if (roll < 0.93) {
              // Someone new: a flatmate, the plumber, a marketplace seller.
              const stranger = rand.pick(everyone.filter((id) => id !== who.id && !who.friends.includes(id)));
              pay(
                steps,
                who,
                at,
                session,
                { wallet: walletOf(stranger), userId: stranger },
                rand.euros(5, 400),
              );
            } else if (salaried) {
              // Adding a payout destination needs a step-up (DESIGN.md): the first withdrawal to the
              // own bank account comes from a stepped-up session.
              const bank = `iban-${who.id}`;
              const acr = who.paid.has(bank) ? 'aal1' : 'aal2';
              pay(
                steps,
                who,
                at,
                session,
                { wallet: bank, userId: null, action: 'withdrawal' },
                rand.euros(100, 900),
                acr,
              );
            }
          }
        }
        if (s === 0 && day === rentDay) {
          at += rand.int(30, 600) * 1000;
          pay(steps, who, at, session, { wallet: walletOf(landlord), userId: landlord }, rent, acrFor(rent));
        }
        if (s === 0 && day === largeDay) {
          // A used car, a deposit, a holiday: after a step-up.
          at += rand.int(60, 900) * 1000;
          const seller = `seller-${who.id}`;
          const amount = rand.euros(1_000, 20_000);
          pay(steps, who, at, session, { wallet: walletOf(seller), userId: seller }, amount, acrFor(amount));
        }
      }
    }
    if (rand.chance(0.03)) {
      // A shop refunds a return (the payment itself may or may not be in the corpus: the refund is a fact).
      steps.push({
        kind: 'refund',
        at: atHour(rand, 2, [9, 18]),
        userId: who.id,
        payeeUserId: rand.pick(MERCHANTS),
        amount: rand.euros(5, 60),
      });
    }
  }
  return { name: 'ordinary', seed, users: people.length, steps: inTimeOrder(steps), sequences: [] };
}
