#!/usr/bin/env bash
# Build daprd + sentry at the version pinned in go.mod into the wallet cache dir.
# Warm run (both binaries present) = no rebuild. Force with DAPR_BUILD_FORCE=1.
# Prints the directory holding the binaries on its last line.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$HERE"

DAPR_VERSION="$(awk '$1=="require" && $2=="github.com/dapr/dapr" {print $3}' go.mod)"
DAPR_VERSION="${DAPR_VERSION#v}"
[ -n "$DAPR_VERSION" ] || { echo "cannot read the pinned dapr version from go.mod" >&2; exit 1; }

CACHE="${WALLET_CACHE:-$HOME/.cache/wallet-platform}"
OUT="$CACHE/dapr/$DAPR_VERSION"
# Dapr v1.15/v1.16 register components by these build tags (no underscore).
TAGS="${DAPR_BUILD_TAGS:-stablecomponents}"

if [ "${DAPR_BUILD_FORCE:-0}" != 1 ] && [ -x "$OUT/daprd" ] && [ -x "$OUT/sentry" ]; then
  echo "dapr $DAPR_VERSION already built in $OUT (set DAPR_BUILD_FORCE=1 to rebuild)" >&2
  echo "$OUT"
  exit 0
fi

command -v go >/dev/null || { echo "go is not installed" >&2; exit 1; }
export GOFLAGS="${GOFLAGS:+$GOFLAGS }-mod=mod"
export CGO_ENABLED="${CGO_ENABLED:-0}"
mkdir -p "$OUT"
# buildinfo.version is what `daprd --version` prints; logger.DaprVersion is the "ver" field of every log line.
LDFLAGS="-s -w -X github.com/dapr/dapr/pkg/buildinfo.version=$DAPR_VERSION -X github.com/dapr/kit/logger.DaprVersion=$DAPR_VERSION"

start=$(date +%s)
echo "building dapr $DAPR_VERSION (tags: $TAGS) with $(go version) into $OUT" >&2
# Build into temporary names, then rename: an interrupted build never leaves a
# half-written binary that the warm check would trust.
go build -trimpath -tags "$TAGS" -ldflags "$LDFLAGS" -o "$OUT/.daprd.tmp" github.com/dapr/dapr/cmd/daprd
go build -trimpath -ldflags "$LDFLAGS" -o "$OUT/.sentry.tmp" github.com/dapr/dapr/cmd/sentry
mv -f "$OUT/.daprd.tmp" "$OUT/daprd"
mv -f "$OUT/.sentry.tmp" "$OUT/sentry"
echo "built in $(( $(date +%s) - start ))s" >&2
"$OUT/daprd" --version >&2 || true
echo "$OUT"
