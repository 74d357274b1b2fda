#!/usr/bin/env bash
# Without a Docker engine, check what docker/Dockerfile's build does for each SERVICE: copy what the
# build context and COPY lines take, run the same `npm ci --omit=dev --workspace ...`, link
# `service` -> services/$SERVICE, make the tree read-only, then start service/src/main.ts and
# migrate.ts (the image's entry points) as an unprivileged user with production settings. They must
# get as far as configuration / the database (ConfigError, connection refused): a missing module,
# a dev-only import or a write to the tree fails the check.
#   docker/simulate-build.sh [service...]     default: all five
# Prints one line per service and "N passed, N failed"; exit 1 on any failure.
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
NODE="${NODE:-$ROOT/node_modules/.bin/node}"
[ -x "$NODE" ] || NODE="$(command -v node)"
services=("$@"); [ ${#services[@]} -gt 0 ] || services=(api-gateway identity wallet-ledger risk notification)
work="$(mktemp -d)"; trap 'rm -rf "$work"' EXIT
chmod 755 "$work"
pass=0 fail=0
for svc in "${services[@]}"; do
  dir="$work/$svc/app"; mkdir -p "$dir"
  ( cd "$ROOT" && tar --exclude=node_modules --exclude=test --exclude=tests --exclude='*.test.ts' -cf - \
      package.json package-lock.json .npmrc packages "services/$svc" ) | tar -xf - -C "$dir"
  t0=$(date +%s)
  if ! (cd "$dir" && PATH="$(dirname "$NODE"):$PATH" npm ci --omit=dev --workspace "@wallet/$svc" --include-workspace-root=false \
        --prefer-offline --no-audit --no-fund --loglevel=error >"$work/$svc.npm.log" 2>&1); then
    echo "FAIL $svc: npm ci failed"; sed -n '1,20p' "$work/$svc.npm.log"; fail=$((fail+1)); continue
  fi
  size="$(du -sh "$dir/node_modules" | cut -f1)"
  ln -s "services/$svc" "$dir/service"
  chmod -R a-w "$dir"
  ok=1
  for entry in main migrate; do
    # main as the image's CMD starts it: with the telemetry preload (resolved from /app like in the image).
    preload=(); [ "$entry" = main ] && preload=(--import @wallet/service-kit/telemetry-preload)
    out="$(cd "$dir" && timeout 60 runuser -u nobody -- env -i PATH=/usr/bin:/bin HOME=/nonexistent NODE_ENV=production \
        APP_ENV=production HOST=127.0.0.1 PORT=0 PLATFORM_TRANSPORT=dapr OTEL_SERVICE_NAME="$svc" \
        OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:9 \
        DATABASE_URL=postgres://nobody:x@127.0.0.1:9/none DATABASE_MIGRATION_URL=postgres://nobody:x@127.0.0.1:9/none \
        "$NODE" "${preload[@]}" "service/src/$entry.ts" 2>&1)"
    if grep -qE 'ERR_MODULE_NOT_FOUND|Cannot find (module|package)|ERR_UNSUPPORTED|SyntaxError|EACCES|EROFS' <<<"$out"; then
      echo "FAIL $svc: $entry.ts does not load from the pruned tree:"; grep -m3 -E 'Error|Cannot' <<<"$out"; ok=0
    elif ! grep -qE 'ConfigError|invalid configuration|ECONNREFUSED|MigrationError|connect' <<<"$out"; then
      echo "FAIL $svc: $entry.ts ended without reaching configuration or the database:"; tail -n5 <<<"$out"; ok=0
    fi
  done
  chmod -R u+w "$dir"
  if [ $ok = 1 ]; then
    echo "ok   $svc: npm ci --workspace @wallet/$svc ($size node_modules, $(( $(date +%s) - t0 ))s); main.ts (with the telemetry preload) and migrate.ts load read-only as nobody"
    pass=$((pass+1))
  else
    fail=$((fail+1))
  fi
done
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
