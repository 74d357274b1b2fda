import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  readCiResults,
  summarize,
  type StepRecord,
  type VitestReport,
  type WorkspaceReport,
} from '../src/ci-summary.ts';

const report = (passed: number, failed = 0, failedFiles = 0, skipped = 0): VitestReport => ({
  numPassedTests: passed,
  numFailedTests: failed,
  numFailedTestSuites: failedFiles,
  numPendingTests: skipped,
  numTodoTests: 0,
});
const green: WorkspaceReport[] = [
  { workspace: 'packages/contracts', variant: '', report: report(40) },
  { workspace: 'services/risk', variant: '', report: report(60, 0, 0, 2) },
  { workspace: 'services/risk', variant: 'pgbouncer', report: report(58) },
];
const step = (id: string, name: string, status: StepRecord['status'], detail?: string): StepRecord => ({
  id,
  name,
  status,
  exitCode: status === 'failed' ? 1 : 0,
  seconds: 3,
  ...(detail ? { detail } : {}),
});
const greenSteps = (): StepRecord[] => [
  step('01-infrastructure', 'infrastructure', 'passed'),
  step('02-port-check', 'port check', 'passed'),
  step('03-eslint', 'ESLint', 'passed'),
  step('04-typecheck', 'typecheck', 'passed'),
  step('05-helm-chart', 'Helm chart', 'passed', 'checks'),
  step('06-tests', 'tests', 'passed', 'vitest:'),
  step('07-pgbouncer', 'through PgBouncer', 'passed', 'vitest:pgbouncer'),
  step('08-tilt', 'Tilt smoke', 'passed', 'checks'),
];
const toolChecks = {
  '05-helm-chart': { passed: 30, failed: 0, skipped: 0 },
  '08-tilt': { passed: 8, failed: 0, skipped: 0 },
};

describe('summarize', () => {
  it('counts every step of a green run with the tests, and the tools by their own checks', () => {
    const s = summarize({ steps: greenSteps(), checks: toolChecks, reports: green });
    // 158 tests + 4 plain steps + 30 chart checks + 8 smoke checks
    expect(s.closingLine).toBe('200 passed, 0 failed, 2 skipped');
    expect(s.ok).toBe(true);
  });

  it('counts a failed step that is not vitest (ESLint) as a failure although every test passed', () => {
    const steps = greenSteps().map((s) =>
      s.name === 'ESLint' ? { ...s, status: 'failed' as const, exitCode: 1 } : s,
    );
    const s = summarize({ steps, checks: toolChecks, reports: green });
    expect(s.closingLine).toBe('199 passed, 1 failed, 2 skipped');
    expect(s.ok).toBe(false);
    expect(s.lines.find((l) => l.includes('ESLint'))).toMatch(/FAILED \(exit 1\)/);
  });

  it("counts a tool's failed checks, and the tool itself when it failed without a failing check", () => {
    const chartRed = summarize({
      steps: greenSteps().map((s) =>
        s.name === 'Helm chart' ? { ...s, status: 'failed' as const, exitCode: 1 } : s,
      ),
      checks: { ...toolChecks, '05-helm-chart': { passed: 28, failed: 2, skipped: 0 } },
      reports: green,
    });
    expect(chartRed.totals).toEqual({ passed: 198, failed: 2, skipped: 2 });

    const smokeCrashed = summarize({
      steps: greenSteps().map((s) =>
        s.name === 'Tilt smoke' ? { ...s, status: 'failed' as const, exitCode: 1 } : s,
      ),
      checks: { ...toolChecks, '08-tilt': { passed: 3, failed: 0, skipped: 0 } },
      reports: green,
    });
    expect(smokeCrashed.totals.failed).toBe(1);

    const noCounts = summarize({
      steps: greenSteps().map((s) =>
        s.name === 'Tilt smoke' ? { ...s, status: 'failed' as const, exitCode: 1 } : s,
      ),
      checks: { '05-helm-chart': toolChecks['05-helm-chart'] },
      reports: green,
    });
    expect(noCounts.totals.failed).toBe(1);
  });

  it('counts a failed test pass whose reports show no failure (a workspace that never wrote one) once', () => {
    const steps = greenSteps().map((s) =>
      s.name === 'tests' ? { ...s, status: 'failed' as const, exitCode: 1 } : s,
    );
    expect(summarize({ steps, checks: toolChecks, reports: green }).totals.failed).toBe(1);

    const reports = [...green, { workspace: 'services/identity', variant: '', report: report(10, 3) }];
    expect(summarize({ steps, checks: toolChecks, reports }).totals.failed).toBe(3);
  });

  it('counts a test file that crashed before its tests as a failure', () => {
    const reports = [...green, { workspace: 'packages/embedded-host', variant: '', report: report(0, 0, 1) }];
    expect(summarize({ steps: [], checks: {}, reports }).closingLine).toBe('158 passed, 1 failed, 2 skipped');
  });

  it('names each failed test and each file that failed outside its tests, with the first line of its error', () => {
    const failing: VitestReport = {
      ...report(5, 1, 2),
      testResults: [
        {
          name: '/ci/work/packages/system-tests/test/embedded.system.test.ts',
          status: 'failed',
          assertionResults: [
            {
              fullName: 'office > 25 newcomers',
              status: 'failed',
              failureMessages: ['\u001b[31mAssertionError\u001b[39m: expected 503 to be 201\n    at x.ts:1'],
            },
            { fullName: 'office > passes', status: 'passed' },
          ],
        },
        {
          name: '/ci/work/packages/system-tests/test/dapr.system.test.ts',
          status: 'failed',
          message: 'Error: migrate identity exited with code 1\nstack',
          assertionResults: [{ fullName: 'dapr > money', status: 'skipped' }],
        },
        { name: '/ci/work/packages/system-tests/test/green.test.ts', status: 'passed', assertionResults: [] },
      ],
    };
    const summary = summarize({
      steps: [],
      checks: {},
      reports: [...green, { workspace: 'packages/system-tests', variant: '', report: failing }],
    });
    expect(summary.failures).toEqual([
      'packages/system-tests: test/embedded.system.test.ts > office > 25 newcomers: AssertionError: expected 503 to be 201',
      'packages/system-tests: test/dapr.system.test.ts: Error: migrate identity exited with code 1',
    ]);
    expect(summarize({ steps: [], checks: {}, reports: green }).failures).toEqual([]);
  });

  it('counts a step that never finished (the run was killed) as failed, and a skipped one as skipped', () => {
    const steps = [
      ...greenSteps(),
      step('09-extra', 'extra', 'running'),
      step('10-later', 'later', 'skipped'),
    ];
    const s = summarize({ steps, checks: toolChecks, reports: green });
    expect(s.totals).toEqual({ passed: 200, failed: 1, skipped: 3 });
    expect(s.lines.find((l) => l.includes('extra'))).toMatch(/did not finish/);
  });

  it('is red when nothing ran', () => {
    expect(summarize({ steps: [], checks: {}, reports: [] })).toMatchObject({
      closingLine: '0 passed, 0 failed, 0 skipped',
      ok: false,
    });
  });
});

describe('readCiResults', () => {
  let root: string | undefined;
  afterEach(() => {
    if (root) rmSync(root, { recursive: true, force: true });
  });

  it('reads step records, tool counts and every workspace report with its variant', () => {
    root = mkdtempSync(join(tmpdir(), 'ci-summary-'));
    const results = join(root, '.data', 'ci-results');
    mkdirSync(results, { recursive: true });
    mkdirSync(join(root, 'packages', 'contracts'), { recursive: true });
    mkdirSync(join(root, 'services', 'risk'), { recursive: true });
    writeFileSync(join(root, 'packages', 'README.md'), 'not a workspace');
    writeFileSync(
      join(results, '03-eslint.step.json'),
      JSON.stringify({ name: 'ESLint', status: 'failed', exitCode: 1, seconds: 9 }),
    );
    writeFileSync(
      join(results, '05-helm-chart.step.json'),
      JSON.stringify({ name: 'Helm chart', status: 'passed', exitCode: 0, seconds: 40, detail: 'checks' }),
    );
    writeFileSync(join(results, '05-helm-chart.checks.json'), JSON.stringify({ passed: 30, failed: 0 }));
    writeFileSync(join(root, 'packages', 'contracts', '.test-results.json'), JSON.stringify(report(40)));
    writeFileSync(
      join(root, 'services', 'risk', '.test-results.pgbouncer.json'),
      JSON.stringify(report(58, 1)),
    );
    writeFileSync(join(root, 'services', 'risk', 'test-results.json'), '{}'); // not a report

    const read = readCiResults(root, results);
    expect(read.steps.map((s) => [s.id, s.status])).toEqual([
      ['03-eslint', 'failed'],
      ['05-helm-chart', 'passed'],
    ]);
    expect(read.checks).toEqual({ '05-helm-chart': { passed: 30, failed: 0, skipped: 0 } });
    expect(read.reports.map((r) => [r.workspace, r.variant])).toEqual([
      ['packages/contracts', ''],
      ['services/risk', 'pgbouncer'],
    ]);
    expect(summarize(read).closingLine).toBe('128 passed, 2 failed, 0 skipped');
  });
});
