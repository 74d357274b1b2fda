#!/usr/bin/env bash
# Writes services/<name>/Dockerfile from docker/Dockerfile.template for every service.
#   docker/generate.sh           write them
#   docker/generate.sh --check   exit 1 if any differs from what the template gives
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
declare -A PORTS=([api-gateway]=3100 [identity]=3101 [wallet-ledger]=3102 [risk]=3103 [notification]=3104)
rc=0
for svc in api-gateway identity wallet-ledger risk notification; do
  out="$ROOT/services/$svc/Dockerfile"
  want="$(sed -e "s/@SERVICE@/$svc/g" -e "s/@PORT@/${PORTS[$svc]}/g" "$ROOT/docker/Dockerfile.template")"
  if [ "${1:-}" = --check ]; then
    if [ "$(cat "$out" 2>/dev/null)" != "$want" ]; then echo "services/$svc/Dockerfile differs from docker/Dockerfile.template (run docker/generate.sh)" >&2; rc=1; fi
  else
    printf '%s\n' "$want" >"$out"
  fi
done
exit $rc
