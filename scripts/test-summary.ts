/**
 * Adds up the vitest JSON reports each workspace wrote (`.test-results*.json`) and prints one line
 * `N passed, N failed, N skipped` so that CI can read how many ran. Exits 1 if any failed or none ran.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

interface VitestJsonReport {
  numPassedTests: number;
  numFailedTests: number;
  /** Test files that failed, including those that could not run at all (their tests count as skipped). */
  numFailedTestSuites: number;
  numPendingTests: number;
  numTodoTests: number;
}

const root = join(import.meta.dirname, '..');
let passed = 0;
let failed = 0;
let skipped = 0;
const perWorkspace: string[] = [];
for (const group of ['packages', 'services']) {
  for (const name of readdirSync(join(root, group))) {
    const dir = join(root, group, name);
    if (!existsSync(dir)) continue;
    // `.test-results.json` from `npm test`; `.test-results.<variant>.json` from re-runs (e.g. through PgBouncer).
    for (const file of readdirSync(dir).filter((f) => /^\.test-results(\.[a-z0-9-]+)?\.json$/.test(f)).sort()) {
      const report = JSON.parse(readFileSync(join(dir, file), 'utf8')) as VitestJsonReport;
      // A file that crashed before its tests ran fails no test: count it as one failure at least.
      const failures = Math.max(report.numFailedTests, report.numFailedTestSuites);
      passed += report.numPassedTests;
      failed += failures;
      skipped += report.numPendingTests + report.numTodoTests;
      const variant = file.slice('.test-results'.length, -'.json'.length).replace(/^\./, '');
      const label = `${group}/${name}${variant ? ` (${variant})` : ''}`;
      perWorkspace.push(`  ${label.padEnd(40)} ${report.numPassedTests} passed, ${failures} failed`);
    }
  }
}
process.stdout.write(`\n${perWorkspace.join('\n')}\n\n${passed} passed, ${failed} failed, ${skipped} skipped\n`);
process.exit(failed > 0 || passed === 0 ? 1 : 0);
