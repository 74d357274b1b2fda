#!/usr/bin/env bash
# Fuzzes the public API: starts the platform in embedded mode (`npm start`'s host) on free ports with
# a throw-away data folder, then runs schemathesis against the merged document at /v1/openapi.json
# with every check, the auth hook of hooks.py (three principals signed in through the API, signed in
# again whenever a fuzzed call ends their session) and the settings of schemathesis.toml. Fails on
# any failure or error schemathesis reports (a 5xx, a conformance failure, a hook that cannot sign in).
#
#   bash tools/api-fuzz/run.sh                # FUZZ_MAX_EXAMPLES=5 cases per operation in the fuzzing phase, seed 1
#   FUZZ_MAX_EXAMPLES=100 FUZZ_SEED=7 bash tools/api-fuzz/run.sh
#   FUZZ_PHASES=stateful bash tools/api-fuzz/run.sh   # one phase (examples,coverage,fuzzing,stateful)
#
# Installs schemathesis (requirements.txt, pinned) into a venv cached under ~/.cache/wallet-platform.
# With CI_CHECKS_FILE set (scripts/test-all.sh) writes its counts there: one check per operation
# schemathesis tested and one for the stateful phase (from its JUnit report), plus the start of the
# platform; with no report at all, one failure. Reports: .data/api-fuzz/ (JUnit, NDJSON, the log).
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
HERE="$ROOT/tools/api-fuzz"
CACHE="${WALLET_CACHE:-$HOME/.cache/wallet-platform}"
OUT="$ROOT/.data/api-fuzz"
MAX_EXAMPLES="${FUZZ_MAX_EXAMPLES:-5}"
SEED="${FUZZ_SEED:-1}"
PHASES="${FUZZ_PHASES:-examples,coverage,fuzzing,stateful}"
export PATH="$ROOT/node_modules/.bin:$PATH"

rm -rf "$OUT"
mkdir -p "$OUT"
write_checks() { # passed failed
  [ -n "${CI_CHECKS_FILE:-}" ] && printf '{"passed": %d, "failed": %d, "skipped": 0}\n' "$1" "$2" >"$CI_CHECKS_FILE"
  return 0
}
fail_setup() {
  echo "api-fuzz: $*" >&2
  write_checks 0 1
  exit 1
}

# ---- schemathesis in a cached venv, keyed by the pinned requirements
command -v python3 >/dev/null || fail_setup "python3 is missing (needed for schemathesis)"
req_hash="$(sha256sum "$HERE/requirements.txt" | cut -c1-12)"
VENV="$CACHE/api-fuzz-venv-$req_hash"
# A venv is complete only once its marker exists (an install cut short is redone, not trusted).
if [ ! -f "$VENV/.installed" ]; then
  echo "api-fuzz: installing $(grep -v '^#' "$HERE/requirements.txt" | tr '\n' ' ')into $VENV"
  rm -rf "$VENV"
  python3 -m venv "$VENV" &&
    "$VENV/bin/pip" install --quiet --disable-pip-version-check -r "$HERE/requirements.txt" &&
    touch "$VENV/.installed" ||
    fail_setup "could not install schemathesis from PyPI into $VENV"
fi
"$VENV/bin/schemathesis" --version >/dev/null 2>&1 || fail_setup "schemathesis in $VENV does not run"

# ---- free ports below the ephemeral range (32768-60999), chosen now
free_port() {
  python3 - <<'EOF'
import random, socket
for _ in range(200):
    port = random.randint(20000, 32000)
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            continue
        print(port)
        break
EOF
}
PG_PORT="$(free_port)"
HTTPS_PORT="$(free_port)"
HTTP_PORT="$(free_port)"
[ -n "$PG_PORT" ] && [ -n "$HTTPS_PORT" ] && [ -n "$HTTP_PORT" ] || fail_setup "no free port found"
[ "$PG_PORT" != "$HTTPS_PORT" ] && [ "$HTTPS_PORT" != "$HTTP_PORT" ] && [ "$PG_PORT" != "$HTTP_PORT" ] ||
  fail_setup "port clash, run again"

# ---- the platform, embedded mode, on a data folder of its own
DATA_DIR="$(mktemp -d /tmp/wallet-fuzz.XXXXXX)"
platform_pid=""
stop_platform() {
  if [ -n "$platform_pid" ] && kill -0 "$platform_pid" 2>/dev/null; then
    kill -TERM "$platform_pid" 2>/dev/null
    for _ in $(seq 1 60); do kill -0 "$platform_pid" 2>/dev/null || break; sleep 0.5; done
    kill -KILL "$platform_pid" 2>/dev/null || true
  fi
  rm -rf "$DATA_DIR"
}
trap stop_platform EXIT

# The fuzzer sends thousands of requests from one address and fails sign-ins by the hundred (random
# codes and passwords): the gateway's per-address limits and identity's sign-in throttle would soon
# answer everything with 429, the hook's own sign-ins included. Both are tested elsewhere
# (rate-limits.test.ts, abuse-limits.system.test.ts); here they are set out of the way.
env \
  WALLET_DATA_DIR="$DATA_DIR" \
  EMBEDDED_PG_PORT="$PG_PORT" GATEWAY_HTTPS_PORT="$HTTPS_PORT" GATEWAY_HTTP_PORT="$HTTP_PORT" \
  RATE_LIMIT_ANONYMOUS=1000000/60 RATE_LIMIT_USER=1000000/60 RATE_LIMIT_SIGNUP=1000000/60 \
  RATE_LIMIT_LOGIN=1000000/60 RATE_LIMIT_WEBHOOK=1000000/60 \
  LOGIN_DELAY_BASE_MS=0 LOGIN_ACCOUNT_MAX_FAILURES=100000 LOGIN_IP_MAX_FAILURES=100000 \
  node "$ROOT/packages/embedded-host/src/main.ts" >"$OUT/platform.log" 2>&1 &
platform_pid=$!
BASE_URL="https://localhost:$HTTPS_PORT"
ready=""
for _ in $(seq 1 240); do
  if curl -sk --max-time 2 "$BASE_URL/readyz" 2>/dev/null | grep -q '"ready"'; then ready=1; break; fi
  kill -0 "$platform_pid" 2>/dev/null || break
  sleep 0.5
done
if [ -z "$ready" ]; then
  tail -30 "$OUT/platform.log" >&2
  fail_setup "the platform did not become ready at $BASE_URL"
fi
echo "api-fuzz: platform ready at $BASE_URL (data $DATA_DIR)"

# ---- schemathesis
started=$(date +%s)
# From the reports' folder: schemathesis's and Hypothesis's caches land there and go with it, so
# every run starts from the seed alone.
(
  cd "$OUT" &&
    env PYTHONPATH="$HERE" SCHEMATHESIS_HOOKS=hooks \
      FUZZ_BASE_URL="$BASE_URL" FUZZ_REPO_ROOT="$ROOT" FUZZ_DATA_DIR="$DATA_DIR" \
      FUZZ_SIGN_IN_FILE="$OUT/sign-ins.json" NO_COLOR=1 \
      "$VENV/bin/schemathesis" --config-file "$HERE/schemathesis.toml" run "$BASE_URL/v1/openapi.json" \
      --tls-verify false --checks all --phases "$PHASES" --max-examples "$MAX_EXAMPLES" --seed "$SEED" --workers 2 \
      --no-shrink --report junit,ndjson --report-dir "$OUT" --report-junit-path "$OUT/junit.xml"
) 2>&1 | tee "$OUT/schemathesis.log"
st_status=${PIPESTATUS[0]}
echo "api-fuzz: schemathesis exited $st_status after $(( $(date +%s) - started )) s; sign-ins per principal: $(cat "$OUT/sign-ins.json" 2>/dev/null || echo '?')"

# ---- counts for the closing line of CI: one per operation tested (and the stateful phase)
if [ ! -s "$OUT/junit.xml" ]; then
  write_checks 1 1 # the platform started; schemathesis left no report
  exit 1
fi
read -r passed failed < <(python3 - "$OUT/junit.xml" <<'EOF'
import sys, xml.etree.ElementTree as ET
cases = ET.parse(sys.argv[1]).getroot().iter("testcase")
passed = failed = 0
for case in cases:
    if case.find("failure") is not None or case.find("error") is not None:
        failed += 1
    else:
        passed += 1
print(passed, failed)
EOF
)
# The platform's start is a check of its own; schemathesis failing without a failed case is one more.
passed=$((passed + 1))
if [ "$st_status" -ne 0 ] && [ "$failed" -eq 0 ]; then failed=1; fi
write_checks "$passed" "$failed"
echo "api-fuzz: $passed passed, $failed failed"
[ "$st_status" -eq 0 ] && [ "$failed" -eq 0 ]
