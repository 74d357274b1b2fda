#!/usr/bin/env bash
# Checks that docker/Dockerfile serves every service (there is no per-service Dockerfile):
# it takes the SERVICE build argument, and every service the chart deploys has the entry points the
# image runs (src/main.ts, src/migrate.ts) and a workspace package @wallet/<service>.
#   docker/check.sh      prints one line per problem; exit 1 on any
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
rc=0
problem() { echo "$*" >&2; rc=1; }
grep -q '^ARG SERVICE$' "$ROOT/docker/Dockerfile" || problem "docker/Dockerfile does not declare ARG SERVICE"
grep -q 'npm ci --omit=dev --workspace "@wallet/${SERVICE}"' "$ROOT/docker/Dockerfile" \
  || problem "docker/Dockerfile does not install the one workspace named by SERVICE"
for extra in "$ROOT"/services/*/Dockerfile; do
  [ -e "$extra" ] && problem "${extra#"$ROOT"/}: one Dockerfile serves every service (docker/Dockerfile --build-arg SERVICE=...)"
done
for svc in api-gateway identity wallet-ledger risk notification; do
  for entry in main migrate; do
    [ -f "$ROOT/services/$svc/src/$entry.ts" ] || problem "services/$svc/src/$entry.ts is missing (the image runs it)"
  done
  grep -q "\"name\": \"@wallet/$svc\"" "$ROOT/services/$svc/package.json" || problem "services/$svc/package.json is not @wallet/$svc"
done
[ $rc -eq 0 ] && echo "docker/Dockerfile serves all five services"
exit $rc
