#!/usr/bin/env bash
# Verifies charts/wallet-platform offline:
#   - builds the pinned helm and our chart checker from the Go module proxy (cached, tools/helm/build.sh)
#   - unit tests of the checker (go test), and docker/Dockerfile serves every service (docker/check.sh)
#   - for every values combination: helm lint --strict, helm template, then chartcheck:
#       schema  every object against the Kubernetes API (strict: unknown/duplicate fields, types,
#               names) and the Dapr CRDs of the Dapr version pinned in tools/dapr-build/go.mod
#       policy  probes, limits, hardening, PDB, HPA, NetworkPolicy, Dapr app ids, no literal secrets,
#               telemetry (every service: the preload, its app id as service name, a valid sampler)...
#       drift   Dapr Components/ACLs/Resiliency equal to components/kubernetes/<broker> and dapr/*.yaml
#   - negative tests: a deliberately broken values file the policy must reject with the expected
#     findings (charts/tests/policy-broken.*), and values the chart's JSON schema must refuse.
# Prints one line per step and finally "N passed, N failed"; exits 1 on any failure. With CI_CHECKS_FILE
# set (scripts/test-all.sh), also writes the counts there as JSON for the closing line of CI.
#   scripts/verify-chart.sh            VERBOSE=1 shows every finding of passing steps too
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CHART="$ROOT/charts/wallet-platform"
TESTS="$ROOT/charts/tests"
RELEASE=wallet-platform
NAMESPACE=wallet
OUT="$(mktemp -d)"; trap 'rm -rf "$OUT"' EXIT
pass=0 fail=0
# finish: the closing line (and the counts for test-all.sh's summary), then the exit status.
finish() {
  echo "$pass passed, $fail failed"
  if [ -n "${CI_CHECKS_FILE:-}" ]; then
    printf '{"passed": %d, "failed": %d, "skipped": 0}\n' "$pass" "$fail" >"$CI_CHECKS_FILE"
  fi
  [ "$fail" -eq 0 ]
  exit
}

# step <name> <command...>: run, time, count; show the output's tail on failure.
step() {
  local name="$1"; shift
  local t0 log="$OUT/step-$((pass + fail)).log"
  t0=$(date +%s)
  if "$@" >"$log" 2>&1; then
    pass=$((pass + 1)); printf 'ok   %-58s %3ss\n' "$name" "$(( $(date +%s) - t0 ))"
    [ "${VERBOSE:-0}" = 1 ] && sed 's/^/       /' "$log"
  else
    fail=$((fail + 1)); printf 'FAIL %-58s %3ss\n' "$name" "$(( $(date +%s) - t0 ))"
    grep -E '^(FAIL|\[ERROR\]|Error|error)' "$log" | head -n 40 | sed 's/^/       /'
    grep -qE '^(FAIL|\[ERROR\]|Error|error)' "$log" || tail -n 20 "$log" | sed 's/^/       /'
  fi
  [ "$name" != "${name#build}" ] && grep -E '^(built|helm .* cached|chartcheck, tiltcheck cached)' "$log" | sed 's/^/       /'
  return 0
}

# ---------------------------------------------------------------- tools
step "build helm + chartcheck (tools/helm/build.sh)" bash -c "'$ROOT/tools/helm/build.sh' > '$OUT/bindir' 2>'$OUT/build.err'; rc=\$?; cat '$OUT/build.err'; exit \$rc"
BIN="$(tail -n1 "$OUT/bindir" 2>/dev/null)"
HELM="$BIN/helm" CHECK="$BIN/chartcheck"
if [ ! -x "$HELM" ] || [ ! -x "$CHECK" ]; then
  fail=$((fail + 1)); finish
fi
"$HELM" version --short 2>/dev/null | sed 's/^/       helm /'

# The Dapr CRDs (with their openAPIV3Schema) ship in the dapr module: take the version the
# project's daprd is built from, so the schema matches the sidecar we run.
DAPR_VERSION="$(awk '$1=="require" && $2=="github.com/dapr/dapr" {print $3}' "$ROOT/tools/dapr-build/go.mod")"
dapr_crds() {
  local dir
  dir="$(cd "$OUT" && GOFLAGS=-mod=mod go mod download -json "github.com/dapr/dapr@$DAPR_VERSION" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')"
  [ -d "$dir/charts/dapr/crds" ] || { echo "no CRDs in github.com/dapr/dapr@$DAPR_VERSION ($dir)"; return 1; }
  echo "$dir/charts/dapr/crds" >"$OUT/crds"; ls "$dir/charts/dapr/crds"
}
step "Dapr $DAPR_VERSION CRDs from the Go module cache" dapr_crds
CRDS="$(cat "$OUT/crds" 2>/dev/null || echo /nonexistent)"

step "go test ./... (tools/helm: schema + policy rules)" bash -c "cd '$ROOT/tools/helm' && nice -n 10 go test ./..."
step "one Dockerfile for every service (docker/check.sh)" "$ROOT/docker/check.sh"

# ---------------------------------------------------------------- every values combination
# name | values files (relative to the chart) | drift check against the local-mode Dapr settings
CASES=(
  "defaults|values.yaml|drift"
  "dev|values-dev.yaml|"
  "dev + kafka|values-dev.yaml values-kafka.yaml|"
  "production|values-production.yaml|drift"
  "production + kafka|values-production.yaml values-kafka.yaml|drift"
  "production + rabbitmq|values-production.yaml values-rabbitmq.yaml|drift"
  "kafka|values-kafka.yaml|drift"
  "rabbitmq|values-rabbitmq.yaml|drift"
  "production + bootstrap admin Job|values-production.yaml ../tests/bootstrap-admin.values.yaml|drift"
)
for c in "${CASES[@]}"; do
  IFS='|' read -r name files drift <<<"$c"
  args=(); for f in $files; do args+=(-f "$CHART/$f"); done
  slug="${name//[^a-z0-9]/_}"
  step "lint [$name]" "$HELM" lint --strict "$CHART" "${args[@]}"
  step "template [$name]" bash -c "'$HELM' template $RELEASE '$CHART' --namespace $NAMESPACE $(printf "'%s' " "${args[@]}") > '$OUT/$slug.yaml'"
  check=("$CHECK" --crds "$CRDS")
  [ -n "$drift" ] && check+=(--dapr-ref "$ROOT")
  step "schema + policy${drift:+ + drift} [$name]" "${check[@]}" "$OUT/$slug.yaml"
done

# Tilt's cluster-mode overlay: rendered and validated like the rest; its one deliberate
# relaxation (a writable root file system, for live update) is reported as waived.
tilt_args=(-f "$CHART/values-dev.yaml" -f "$ROOT/tilt/values-tilt.yaml")
step "lint [dev + tilt overlay]" "$HELM" lint --strict "$CHART" "${tilt_args[@]}"
step "template [dev + tilt overlay]" bash -c "'$HELM' template $RELEASE '$CHART' --namespace $NAMESPACE $(printf "'%s' " "${tilt_args[@]}") > '$OUT/tilt.yaml'"
step "schema + policy [dev + tilt overlay, readOnlyRootFilesystem waived]" "$CHECK" --crds "$CRDS" \
  --waive security-context:readOnlyRootFilesystem "$OUT/tilt.yaml"

# ---------------------------------------------------------------- Tiltfile (tilt itself cannot be built here)
step "Tiltfile loads: local mode, rabbitmq" bash -c "cd '$ROOT' && '$BIN/tiltcheck' --helm '$HELM' -- --mode=local"
step "Tiltfile loads: local mode, kafka" bash -c "cd '$ROOT' && '$BIN/tiltcheck' --helm '$HELM' -- --mode=local --broker=kafka"
step "Tiltfile loads: cluster mode (helm rendered, workloads exist)" bash -c "cd '$ROOT' && '$BIN/tiltcheck' --helm '$HELM' --context kind-wallet"

# ---------------------------------------------------------------- negative tests
broken=(-f "$TESTS/policy-broken.values.yaml")
step "negative: broken values still lint and render" bash -c \
  "'$HELM' lint --strict '$CHART' ${broken[*]} && '$HELM' template $RELEASE '$CHART' --namespace $NAMESPACE ${broken[*]} > '$OUT/broken.yaml'"
step "negative: policy rejects them with the expected findings" "$CHECK" --crds "$CRDS" --expect "$TESTS/policy-broken.expected" "$OUT/broken.yaml"
refuse() { # the values schema must refuse: helm lint fails and names the field
  local field="$1"; shift
  if "$HELM" lint --strict "$CHART" "$@" >"$OUT/refuse.log" 2>&1; then echo "accepted: $*"; return 1; fi
  grep -q "$field" "$OUT/refuse.log" || { cat "$OUT/refuse.log"; echo "refused, but without naming $field"; return 1; }
  echo "refused: $* ($(grep -m1 "$field" "$OUT/refuse.log"))"
}
step "negative: schema refuses an unknown broker" refuse /dapr/pubsub/broker --set dapr.pubsub.broker=nats
step "negative: schema refuses a literal secret in secretEnv" refuse /services/identity/secretEnv/TOTP_ENCRYPTION_KEYS --set services.identity.secretEnv.TOTP_ENCRYPTION_KEYS=abc
step "negative: schema refuses an unknown service" refuse /services --set services.payments.enabled=true
step "negative: schema refuses a bootstrap admin without an e-mail" refuse /bootstrapAdmin --set bootstrapAdmin.enabled=true
step "negative: schema refuses a literal bootstrap admin password" refuse /bootstrapAdmin/passwordSecret --set bootstrapAdmin.passwordSecret=hunter2
step "negative: schema refuses a Dapr token key other than token" refuse /secrets/daprApiToken --set secrets.daprApiToken.key=api-token
step "negative: schema refuses a sampler the SDK does not know" refuse /otel/sampler --set otel.sampler=sometimes

finish
