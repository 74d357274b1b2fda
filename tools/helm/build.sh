#!/usr/bin/env bash
# Build the pinned helm (go.mod) and our checkers (chartcheck, tiltcheck) into the wallet cache dir.
#   tools/helm/build.sh            build what is missing or stale, print the bin dir on the last line
#   HELM_BUILD_FORCE=1 ...         rebuild both
# helm is keyed by its pinned version (helm-<version>); the checker by a hash of its sources and
# go.mod/go.sum (chartcheck-<hash>), so editing the checker rebuilds it and nothing else.
# Go builds run under `nice -n 10`: these machines are small and busy. The Go module and build
# caches are the usual ones (go env GOMODCACHE / GOCACHE) and persist between runs.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$HERE"

CACHE="${WALLET_CACHE:-$HOME/.cache/wallet-platform}"
BIN="$CACHE/bin"
mkdir -p "$BIN"

command -v go >/dev/null || { echo "go is not installed" >&2; exit 1; }
export CGO_ENABLED="${CGO_ENABLED:-0}"
export GOFLAGS="${GOFLAGS:+$GOFLAGS }-mod=readonly"

HELM_VERSION="$(awk '$1=="helm.sh/helm/v4" {print $2}' go.mod)"
[ -n "$HELM_VERSION" ] || { echo "cannot read the pinned helm version from go.mod" >&2; exit 1; }
HELM_OUT="$BIN/helm-$HELM_VERSION"

CHECK_HASH="$(cat go.mod go.sum $(find cmd internal -name '*.go' | LC_ALL=C sort) | sha256sum | cut -c1-16)"
CHECK_OUT="$BIN/chartcheck-$CHECK_HASH"
TILTCHECK_OUT="$BIN/tiltcheck-$CHECK_HASH"

# build <output> <ldflags> <package>: into a temporary name, then rename, so an
# interrupted build never leaves a half-written binary that the warm check would trust.
build() {
  local out="$1" ldflags="$2" pkg="$3" t0
  t0=$(date +%s)
  echo "building $pkg -> $out ($(go version))" >&2
  nice -n 10 go build -trimpath -ldflags "$ldflags" -o "$out.tmp" "$pkg"
  mv -f "$out.tmp" "$out"
  echo "built $(basename "$out") in $(( $(date +%s) - t0 ))s" >&2
}

if [ "${HELM_BUILD_FORCE:-0}" = 1 ] || [ ! -x "$HELM_OUT" ]; then
  build "$HELM_OUT" "-s -w -X helm.sh/helm/v4/internal/version.version=$HELM_VERSION -X helm.sh/helm/v4/internal/version.gitTreeState=clean" \
    helm.sh/helm/v4/cmd/helm
else
  echo "helm $HELM_VERSION cached: $HELM_OUT" >&2
fi
if [ "${HELM_BUILD_FORCE:-0}" = 1 ] || [ ! -x "$CHECK_OUT" ] || [ ! -x "$TILTCHECK_OUT" ]; then
  rm -f "$BIN"/chartcheck-* "$BIN"/tiltcheck-*
  build "$CHECK_OUT" "-s -w" ./cmd/chartcheck
  build "$TILTCHECK_OUT" "-s -w" ./cmd/tiltcheck
else
  echo "chartcheck, tiltcheck cached: $CHECK_OUT" >&2
fi
# Stable names for scripts and people.
ln -sfn "$(basename "$HELM_OUT")" "$BIN/helm"
ln -sfn "$(basename "$CHECK_OUT")" "$BIN/chartcheck"
ln -sfn "$(basename "$TILTCHECK_OUT")" "$BIN/tiltcheck"
echo "$BIN"
