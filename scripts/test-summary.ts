/**
 * The closing line of CI: `N passed, N failed, N skipped` over every check of the run, the vitest
 * reports each workspace wrote (`.test-results*.json`) and every other step scripts/test-all.sh
 * recorded in `.data/ci-results/` (CI_RESULTS_DIR): infrastructure, port check, ESLint, typecheck,
 * chart verification, the Tilt smoke. How steps count: @wallet/testing/ci-summary.
 * Exits 1 if anything failed or nothing passed.
 */
import { join } from 'node:path';
import { readCiResults, summarize } from '@wallet/testing/ci-summary';

const root = join(import.meta.dirname, '..');
const resultsDir = process.env['CI_RESULTS_DIR'] ?? join(root, '.data', 'ci-results');
const summary = summarize(readCiResults(root, resultsDir));
const failures =
  summary.failures.length > 0 ? `\nfailed:\n${summary.failures.map((f) => `  ${f}`).join('\n')}\n` : '';
process.stdout.write(`\n${summary.lines.join('\n')}\n${failures}\n${summary.closingLine}\n`);
process.exit(summary.ok ? 0 : 1);
