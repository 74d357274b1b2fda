/**
 * The soak's report: report.md (the verdict, the checks, a table per fault, the numbers) and soak.svg
 * (throughput, p50/p99 latency and error rate over time, fault windows shaded), written by hand.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Bucket, FaultAnalysis } from './analysis.ts';
import type { Check } from './invariants.ts';

export interface ReportInput {
  title: string;
  broker: string;
  startedAtIso: string;
  loadSeconds: number;
  rate: number;
  machine: string;
  people: number;
  startUpMs: number;
  onboardingMs: number;
  bucketMs: number;
  buckets: Bucket[];
  /** When load began (ms since the run began): the plot's zero. */
  loadFrom: number;
  faults: FaultAnalysis[];
  checks: Check[];
  totals: Record<string, number>;
  opsStarted: Record<string, number>;
  latency: { p50: number; p99: number; max: number };
  recoveryBoundMs: number;
}

const s = (ms: number | undefined): string => (ms === undefined ? '-' : `${(ms / 1000).toFixed(1)} s`);
const esc = (text: string): string => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

function panel(
  y: number,
  height: number,
  title: string,
  series: { values: number[]; color: string; label: string }[],
  width: number,
  left: number,
  unit: string,
  fixedMax?: number,
): string {
  const all = series.flatMap((x) => x.values.filter(Number.isFinite));
  const max = fixedMax ?? Math.max(1, ...all) * 1.1;
  const n = Math.max(1, series[0]!.values.length);
  const x = (i: number): number => left + (i / Math.max(1, n - 1)) * (width - left - 20);
  const yOf = (v: number): number => y + height - (v / max) * height;
  const parts: string[] = [
    `<text x="${left}" y="${y - 6}" font-size="13" font-weight="bold">${esc(title)}</text>`,
    `<line x1="${left}" y1="${y + height}" x2="${width - 20}" y2="${y + height}" stroke="#999"/>`,
    `<line x1="${left}" y1="${y}" x2="${left}" y2="${y + height}" stroke="#999"/>`,
    `<text x="${left - 6}" y="${y + 10}" font-size="11" text-anchor="end">${Math.round(max)}${unit}</text>`,
    `<text x="${left - 6}" y="${y + height}" font-size="11" text-anchor="end">0</text>`,
  ];
  series.forEach((line, k) => {
    const points = line.values
      .map((v, i) => (Number.isFinite(v) ? `${x(i).toFixed(1)},${yOf(v).toFixed(1)}` : ''))
      .filter(Boolean)
      .join(' ');
    parts.push(`<polyline fill="none" stroke="${line.color}" stroke-width="1.5" points="${points}"/>`);
    parts.push(
      `<text x="${width - 24 - k * 110}" y="${y - 6}" font-size="11" text-anchor="end" fill="${line.color}">${esc(line.label)}</text>`,
    );
  });
  return parts.join('\n');
}

export function svgPlot(input: ReportInput): string {
  const width = 1000;
  const left = 60;
  const panelHeight = 140;
  const tops = [55, 245, 435];
  const height = 640;
  const b = input.buckets;
  const perSecond = (v: number): number => v / (input.bucketMs / 1000);
  const span = Math.max(1, b.length - 1) * input.bucketMs;
  const xAt = (ms: number): number => left + Math.min(1, Math.max(0, ms / span)) * (width - left - 20);
  const shades = input.faults
    .map((f, i) => {
      const from = xAt(f.startedAt - input.loadFrom);
      const to = xAt(f.startedAt - input.loadFrom + Math.max(f.repairMs, f.recoverMs));
      const label = `<text x="${from + 2}" y="${height - 8 - (i % 3) * 11}" font-size="9" fill="#a33">${esc(f.name)}</text>`;
      return `<rect x="${from.toFixed(1)}" y="30" width="${Math.max(2, to - from).toFixed(1)}" height="${height - 80}" fill="#f4b6b6" opacity="0.45"/>${label}`;
    })
    .join('\n');
  const seconds = Math.round(span / 1000);
  const ticks = Array.from({ length: 11 }, (_, i) => {
    const ms = (span * i) / 10;
    return `<text x="${xAt(ms).toFixed(1)}" y="${tops[2]! + panelHeight + 14}" font-size="10" text-anchor="middle">${Math.round(ms / 1000)}s</text>`;
  }).join('\n');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif">
<rect width="100%" height="100%" fill="white"/>
<text x="${left}" y="18" font-size="14" font-weight="bold">${esc(input.title)}: ${seconds} s of load, faults shaded (injection to full service)</text>
${shades}
${panel(
  tops[0]!,
  panelHeight,
  'throughput (requests/s)',
  [
    { values: b.map((x) => perSecond(x.ok)), color: '#1f77b4', label: '2xx' },
    { values: b.map((x) => perSecond(x.refused)), color: '#ff7f0e', label: '4xx refusals' },
    { values: b.map((x) => perSecond(x.errors)), color: '#d62728', label: '5xx + no answer' },
  ],
  width,
  left,
  '',
)}
${panel(
  tops[1]!,
  panelHeight,
  'latency (ms)',
  [
    { values: b.map((x) => x.p50), color: '#2ca02c', label: 'p50' },
    { values: b.map((x) => x.p99), color: '#9467bd', label: 'p99' },
  ],
  width,
  left,
  '',
)}
${panel(
  tops[2]!,
  panelHeight,
  'error rate (% of attempts: 5xx or no answer)',
  [
    {
      values: b.map((x) => {
        const all = x.ok + x.refused + x.errors;
        return all === 0 ? 0 : (100 * x.errors) / all;
      }),
      color: '#d62728',
      label: 'errors %',
    },
  ],
  width,
  left,
  '%',
  100,
)}
${ticks}
</svg>
`;
}

export function markdown(input: ReportInput, svgName: string): string {
  const passed = input.checks.every((c) => c.ok);
  const lines = [
    `# ${input.title}`,
    '',
    `**${passed ? 'PASSED' : 'FAILED'}**: ${input.checks.filter((c) => c.ok).length} of ${input.checks.length} checks hold.`,
    '',
    `- started ${input.startedAtIso}; broker **${input.broker}**; ${input.loadSeconds} s of load at ${input.rate} operations/s (Poisson), ${input.people} people (each from a loopback address of its own)`,
    `- platform start-up ${s(input.startUpMs)} (five services beside five daprd, mTLS); onboarding ${s(input.onboardingMs)}`,
    `- machine: ${input.machine}`,
    `- attempts: ${Object.entries(input.totals)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}`,
    `- latency of answered attempts: p50 ${Math.round(input.latency.p50)} ms, p99 ${Math.round(input.latency.p99)} ms, max ${Math.round(input.latency.max)} ms`,
    `- operations started: ${Object.entries(input.opsStarted)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}`,
    '',
    `![throughput, latency and errors over time](${svgName})`,
    '',
    '## Checks',
    '',
    '| check | result | detail |',
    '|---|---|---|',
    ...input.checks.map(
      (c) =>
        `| ${c.name} | ${c.ok ? 'ok' : '**FAILED**'} | ${c.detail.replace(/\|/g, '\\|').replace(/\n/g, ' ')} |`,
    ),
    '',
    '## Faults',
    '',
    `One at a time, each repaired by the harness (a killed process started again as Kubernetes would, a server`,
    `restarted) before the next. Detect = injection to the first error a client saw (5xx or no answer; "-" when`,
    `no client noticed); repair = injection to the part ready again; recover = injection to the last error a`,
    `client saw; bound: the last error at most ${s(input.recoveryBoundMs)} after the repair. Retried = attempts sent again`,
    'with the same Idempotency-Key or event id; in doubt = operations without a definite answer (lost).',
    '',
    '| fault | at | detect | repair | recover | errors | retried | in doubt | within bound | how |',
    '|---|---|---|---|---|---|---|---|---|---|',
    ...input.faults.map(
      (f) =>
        `| ${f.name} | ${s(f.startedAt - input.loadFrom)} | ${s(f.detectMs)} | ${s(f.repairMs)} | ${s(f.recoverMs)} | ${f.errors} | ${f.retried} | ${f.inDoubt} | ${f.withinBound ? 'yes' : '**no**'} | ${esc(f.error ?? f.note ?? '')} |`,
    ),
    '',
  ];
  return lines.join('\n');
}

export function writeReport(dir: string, input: ReportInput): { markdownFile: string; svgFile: string } {
  const svgFile = join(dir, 'soak.svg');
  const markdownFile = join(dir, 'report.md');
  writeFileSync(svgFile, svgPlot(input));
  writeFileSync(markdownFile, markdown(input, 'soak.svg'));
  return { markdownFile, svgFile };
}
