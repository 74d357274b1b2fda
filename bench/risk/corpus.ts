/**
 * Risk rules measured on traffic (not a test): generates the ordinary and the attack corpus (seeded),
 * replays each through the real engine once per rule version, and prints one JSON line and readable
 * tables: how many ordinary movements were challenged or denied, how many attack sequences were
 * stopped before money left. Then, unless --no-http, one check against the running service over HTTP.
 *
 *   eval "$(bash infra/local.sh env)"; TEST_PG_ADMIN_URL=$PG_ADMIN_URL npm run bench:risk
 *   options: --seed 14 --scale 0.5 (ordinary population) --attacks 100 --versions all|current --no-http
 */
import { availableParallelism, cpus, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { attackCorpus } from './corpus-attacks.ts';
import { ordinaryCorpus } from './corpus-ordinary.ts';
import {
  attackRates,
  GOALS,
  meetsGoals,
  ordinaryRates,
  type AttackRates,
  type OrdinaryRates,
} from './corpus-report.ts';
import { runHttpCheck, type HttpCheck } from './http-check.ts';
import { replayCorpus } from './replay.ts';
import { RULE_VERSIONS } from './rule-versions.ts';

const { values: args } = parseArgs({
  options: {
    seed: { type: 'string', default: '14' },
    scale: { type: 'string', default: '0.5' },
    attacks: { type: 'string', default: '100' },
    versions: { type: 'string', default: 'all' },
    http: { type: 'boolean', default: true },
  },
  allowNegative: true,
});
const adminUrl = process.env['BENCH_PG_ADMIN_URL'] ?? process.env['TEST_PG_ADMIN_URL'];
if (!adminUrl) throw new Error('set BENCH_PG_ADMIN_URL (or TEST_PG_ADMIN_URL) to a PostgreSQL admin URL');
const seed = Number(args.seed);
const versions = args.versions === 'current' ? RULE_VERSIONS.slice(-1) : RULE_VERSIONS;

// Bounded: a replay that hangs (a database gone away) must not hold the machine.
const hardStop = setTimeout(() => {
  process.stderr.write('risk corpus bench exceeded its time bound (10 min); stopping\n');
  process.exit(2);
}, 600_000);
hardStop.unref();

const started = performance.now();
const ordinary = ordinaryCorpus(seed, Number(args.scale));
const attacks = attackCorpus(seed + 1, Number(args.attacks));

interface VersionResult {
  rulesVersion: string;
  ordinary: OrdinaryRates;
  attacks: AttackRates;
  meetsGoals: boolean;
  assessments: number;
  replaySeconds: number;
}
const results: VersionResult[] = [];
for (const rules of versions) {
  const o = await replayCorpus(adminUrl, ordinary, rules);
  const a = await replayCorpus(adminUrl, attacks, rules);
  const ordinaryResult = ordinaryRates(o);
  const attackResult = attackRates(attacks, a);
  results.push({
    rulesVersion: rules.version,
    ordinary: ordinaryResult,
    attacks: attackResult,
    meetsGoals: meetsGoals(ordinaryResult, attackResult),
    assessments: o.assessments + a.assessments,
    replaySeconds: Math.round((o.seconds + a.seconds) * 10) / 10,
  });
}
const http: HttpCheck | null = args.http ? await runHttpCheck(adminUrl) : null;

const summary = {
  benchmark: 'risk.corpus',
  seed,
  corpora: {
    ordinary: {
      users: ordinary.users,
      movements: ordinary.steps.filter((s) => s.kind === 'move').length,
      steps: ordinary.steps.length,
    },
    attacks: { sequences: attacks.sequences.length, steps: attacks.steps.length },
  },
  goals: GOALS,
  versions: results,
  http,
  node: process.version,
  cores: availableParallelism(),
  cpu: cpus()[0]?.model ?? 'unknown',
  loadAverage1m: Math.round((loadavg()[0] ?? 0) * 10) / 10,
  seconds: Math.round((performance.now() - started) / 100) / 10,
};
process.stdout.write(`${JSON.stringify(summary)}\n\n`);

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((cell, c) => cell.padEnd(widths[c]!))
      .join('  ')
      .trimEnd();
  return `${line(header)}\n${rows.map(line).join('\n')}\n`;
}
const euros = (minor: string) => (Number(BigInt(minor)) / 100).toFixed(2);

process.stdout.write(
  `ordinary corpus: ${summary.corpora.ordinary.users} people, ${summary.corpora.ordinary.movements} movements over 3 days (seed ${seed})\n`,
);
process.stdout.write(
  table(
    ['rules', 'challenged', 'denied', 'denied after step-up', 'rules on the refusals'],
    results.map((r) => [
      r.rulesVersion,
      `${r.ordinary.challenged} (${r.ordinary.challengedPct} %)`,
      String(r.ordinary.denied),
      String(r.ordinary.deniedAfterStepUp),
      Object.entries(r.ordinary.rulesOnRefusals)
        .sort((a, b) => b[1] - a[1])
        .map(([rule, n]) => `${rule}:${n}`)
        .join(' '),
    ]),
  ),
);
process.stdout.write(
  `\nattack corpus: ${attacks.sequences.length} sequences (seed ${seed + 1}); stopped = challenged or denied before money left (within the allowance)\n`,
);
const attackRows: string[][] = [];
for (const r of results) {
  for (const [pattern, g] of [...Object.entries(r.attacks.byPattern), ['all', r.attacks] as const]) {
    attackRows.push([
      r.rulesVersion,
      pattern,
      String(g.sequences),
      `${g.stopped} (${g.stoppedPct} %)`,
      String(g.stoppedAtFirst),
      `${euros(g.movedOutMinor)} / ${euros(g.attemptedMinor)}`,
    ]);
  }
}
process.stdout.write(
  table(
    ['rules', 'pattern', 'sequences', 'stopped', 'at first move', 'EUR moved out / attempted'],
    attackRows,
  ),
);
process.stdout.write(
  `\n${results
    .map(
      (r) =>
        `${r.rulesVersion}: ordinary ${r.ordinary.challengedPct} % challenged, ${r.ordinary.denied} denied; attacks ${r.attacks.stoppedPct} % stopped -> goals (<= ${GOALS.ordinaryChallengedMaxPct} %, 0, >= ${GOALS.attacksStoppedMinPct} %) ${r.meetsGoals ? 'MET' : 'NOT met'} (${r.assessments} assessments in ${r.replaySeconds} s)`,
    )
    .join('\n')}\n`,
);
if (http) {
  process.stdout.write(
    `over HTTP (${http.rulesVersion}, wall clock): ${http.office.people} people behind one address x ${http.office.perPerson} transfers right after signing up: ${http.office.refused} refused; ` +
      `20,000.00 to a new payee: ${http.stepUp.first} then ${http.stepUp.afterStepUp} after step-up; ` +
      `${http.takeover.sequences} takeovers: ${http.takeover.stopped} stopped\n`,
  );
}
process.stdout.write(
  `${summary.cores} cores · load ${summary.loadAverage1m} · Node ${summary.node} · ${summary.seconds} s\n`,
);
clearTimeout(hardStop);
