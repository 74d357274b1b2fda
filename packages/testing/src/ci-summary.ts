/**
 * The closing line of CI, `N passed, N failed, N skipped`, over every check a run made: each vitest
 * test (the `.test-results*.json` reports the workspaces write) and each other step of
 * scripts/test-all.sh (infrastructure, port check, ESLint, typecheck, chart verification, the Tilt
 * smoke...), which records itself in a results folder. A step whose own checks are counted elsewhere
 * (a vitest pass, or a tool that wrote `<step>.checks.json`) adds one failure only when it failed
 * without any of its checks failing (a crash, a workspace that never wrote its report), so a red run
 * can never end with `0 failed`. `scripts/test-summary.ts` reads the files and prints this.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

export interface CheckCounts {
  passed: number;
  failed: number;
  skipped: number;
}

/** What the `.test-results*.json` files of vitest's JSON reporter hold (the part we read). */
export interface VitestReport {
  numPassedTests: number;
  numFailedTests: number;
  /** Test files that failed, including those that could not run at all (their tests count as skipped). */
  numFailedTestSuites: number;
  numPendingTests: number;
  numTodoTests: number;
  /** Per test file: what failed and why (absent in hand-made reports). */
  testResults?: VitestFileResult[];
}

export interface VitestFileResult {
  /** Absolute path of the test file. */
  name: string;
  status: string;
  /** Why the file failed outside its tests (a hook, an import). */
  message?: string;
  assertionResults?: { fullName: string; status: string; failureMessages?: string[] }[];
}

export interface WorkspaceReport {
  /** `packages/testing` */
  workspace: string;
  /** '' for `.test-results.json`, `pgbouncer` for `.test-results.pgbouncer.json`. */
  variant: string;
  report: VitestReport;
}

/**
 * One step of test-all.sh, as it records itself: `running` when it starts, then its outcome. A step
 * still `running` at the summary never finished (the run was killed): it counts as failed.
 */
export interface StepRecord {
  /** File name without `.step.json` (`05-helm-chart`): the order of the run. */
  id: string;
  name: string;
  status: 'running' | 'passed' | 'failed' | 'skipped';
  exitCode?: number;
  seconds?: number;
  /**
   * Where the step's own checks are counted: `vitest:<variant>` (the workspaces' reports of that
   * variant), `checks` (`<id>.checks.json`, written by the tool), or absent: the step is one check.
   */
  detail?: string;
}

export interface CiResults {
  steps: StepRecord[];
  /** `<id>.checks.json` of the steps whose tool wrote one. */
  checks: Record<string, CheckCounts>;
  reports: WorkspaceReport[];
}

export interface CiSummary {
  totals: CheckCounts;
  /** One line per step and per report, for the log above the closing line. */
  lines: string[];
  /**
   * One line per failed test or test file (`workspace: file > test: first line of the error`), printed
   * next to the closing line so the end of a red log says what failed, not only how many.
   */
  failures: string[];
  /** `N passed, N failed, N skipped` */
  closingLine: string;
  /** CI is green: nothing failed and something passed. */
  ok: boolean;
}

const add = (a: CheckCounts, b: CheckCounts): CheckCounts => ({
  passed: a.passed + b.passed,
  failed: a.failed + b.failed,
  skipped: a.skipped + b.skipped,
});
const ZERO: CheckCounts = { passed: 0, failed: 0, skipped: 0 };

/** A report's counts; a file that crashed before its tests ran fails no test, so it counts as one failure at least. */
export function reportCounts(report: VitestReport): CheckCounts {
  return {
    passed: report.numPassedTests,
    failed: Math.max(report.numFailedTests, report.numFailedTestSuites),
    skipped: report.numPendingTests + report.numTodoTests,
  };
}

const FAILURE_DETAIL_CHARS = 240;

function firstLine(text: string | undefined): string {
  const line = (text ?? '').split('\n').find((l) => l.trim().length > 0) ?? '';
  // Terminal colours from the reporter would only clutter a log.
  // eslint-disable-next-line no-control-regex
  const plain = line.replace(/\u001b\[[0-9;]*m/g, '').trim();
  return plain.length > FAILURE_DETAIL_CHARS ? `${plain.slice(0, FAILURE_DETAIL_CHARS)}…` : plain;
}

/** `workspace (variant): file > test: error` for each failed test, and each file that failed outside its tests. */
export function failedTests(r: WorkspaceReport): string[] {
  const label = `${r.workspace}${r.variant ? ` (${r.variant})` : ''}`;
  const out: string[] = [];
  for (const file of r.report.testResults ?? []) {
    const at = file.name.indexOf(`${r.workspace}/`);
    const path = at >= 0 ? file.name.slice(at + r.workspace.length + 1) : file.name;
    const failed = (file.assertionResults ?? []).filter((a) => a.status === 'failed');
    for (const a of failed)
      out.push(`${label}: ${path} > ${a.fullName}: ${firstLine(a.failureMessages?.[0])}`);
    if (file.status === 'failed' && failed.length === 0)
      out.push(`${label}: ${path}: ${firstLine(file.message)}`);
  }
  return out;
}

const describe = (c: CheckCounts): string =>
  `${c.passed} passed, ${c.failed} failed${c.skipped > 0 ? `, ${c.skipped} skipped` : ''}`;

export function summarize(results: CiResults): CiSummary {
  let totals = ZERO;
  const lines: string[] = [];
  const steps = [...results.steps].sort((a, b) => a.id.localeCompare(b.id));

  for (const step of steps) {
    const failedStep = step.status === 'failed' || step.status === 'running';
    const outcome =
      step.status === 'running'
        ? 'did not finish'
        : step.status === 'failed'
          ? `FAILED (exit ${step.exitCode ?? '?'})`
          : step.status;
    const head = `  ${step.name.padEnd(52)} ${outcome}${step.seconds === undefined ? '' : `, ${step.seconds} s`}`;
    const vitestVariant = step.detail?.startsWith('vitest:')
      ? step.detail.slice('vitest:'.length)
      : undefined;
    const toolChecks = step.detail === 'checks' ? results.checks[step.id] : undefined;

    if (vitestVariant !== undefined) {
      // Its tests are counted with the reports below; the step adds a failure only when it failed
      // without a failing test (a workspace that crashed or never wrote its report).
      const own = results.reports
        .filter((r) => r.variant === vitestVariant)
        .reduce((sum, r) => add(sum, reportCounts(r.report)), ZERO);
      const extra = failedStep && own.failed === 0 ? 1 : 0;
      totals = add(totals, { ...ZERO, failed: extra });
      lines.push(`${head}: ${describe(own)}${extra ? ' + 1 failed (the step itself)' : ''} [reports below]`);
    } else if (toolChecks !== undefined) {
      const extra = failedStep && toolChecks.failed === 0 ? 1 : 0;
      const counts = { ...toolChecks, failed: toolChecks.failed + extra };
      totals = add(totals, counts);
      lines.push(`${head}: ${describe(counts)}`);
    } else {
      // One check; also a tool that crashed before writing its counts.
      const counts =
        step.status === 'skipped'
          ? { ...ZERO, skipped: 1 }
          : failedStep
            ? { ...ZERO, failed: 1 }
            : { ...ZERO, passed: 1 };
      totals = add(totals, counts);
      lines.push(head);
    }
  }

  if (results.reports.length > 0 && steps.length > 0) lines.push('');
  for (const r of results.reports) {
    const counts = reportCounts(r.report);
    totals = add(totals, counts);
    const label = `${r.workspace}${r.variant ? ` (${r.variant})` : ''}`;
    lines.push(`  ${label.padEnd(52)} ${describe(counts)}`);
  }
  const failures = results.reports.flatMap(failedTests);
  const closingLine = `${totals.passed} passed, ${totals.failed} failed, ${totals.skipped} skipped`;
  return { totals, lines, failures, closingLine, ok: totals.failed === 0 && totals.passed > 0 };
}

const REPORT_FILE = /^\.test-results(?:\.([a-z0-9-]+))?\.json$/;

function readJson<T>(file: string): T {
  return JSON.parse(readFileSync(file, 'utf8')) as T;
}

/**
 * Reads a run's results: the step records and tool counts in `resultsDir` (absent when only
 * `npm test` ran), and the vitest reports in `<root>/packages/*` and `<root>/services/*`.
 */
export function readCiResults(root: string, resultsDir: string): CiResults {
  const steps: StepRecord[] = [];
  const checks: Record<string, CheckCounts> = {};
  if (existsSync(resultsDir)) {
    for (const file of readdirSync(resultsDir).sort()) {
      if (file.endsWith('.step.json')) {
        const id = file.slice(0, -'.step.json'.length);
        steps.push({ ...readJson<Omit<StepRecord, 'id'>>(join(resultsDir, file)), id });
      } else if (file.endsWith('.checks.json')) {
        const c = readJson<Partial<CheckCounts>>(join(resultsDir, file));
        checks[file.slice(0, -'.checks.json'.length)] = {
          passed: c.passed ?? 0,
          failed: c.failed ?? 0,
          skipped: c.skipped ?? 0,
        };
      }
    }
  }
  const reports: WorkspaceReport[] = [];
  for (const group of ['packages', 'services']) {
    if (!existsSync(join(root, group))) continue;
    for (const name of readdirSync(join(root, group)).sort()) {
      const dir = join(root, group, name);
      let files: string[];
      try {
        files = readdirSync(dir);
      } catch {
        continue; // not a folder
      }
      for (const file of files.filter((f) => REPORT_FILE.test(f)).sort()) {
        reports.push({
          workspace: `${group}/${name}`,
          variant: REPORT_FILE.exec(file)![1] ?? '',
          report: readJson<VitestReport>(join(dir, file)),
        });
      }
    }
  }
  return { steps, checks, reports };
}
