#!/usr/bin/env bash
# Start one self-hosted daprd the way this project runs it: loopback only, mTLS through our sentry,
# no placement/scheduler (no actors, workflows or jobs), components from one folder.
#
#   infra/run-daprd.sh <app-id> <app-port|0> <components-folder> [extra daprd flags...]
#
#   app-port 0 (or "-") = no app behind the sidecar (publish/state only).
#   components-folder   = components/local/rabbitmq or components/local/kafka (switching broker = this argument).
#
# Environment (all optional):
#   DAPR_HTTP_PORT, DAPR_GRPC_PORT, DAPR_INTERNAL_GRPC_PORT   default: free loopback ports the kernel
#                            picks (bind port 0, released for daprd; see infra/ports.md)
#   DAPR_METRICS_PORT        set to expose Prometheus metrics on 127.0.0.1 (default: metrics off)
#   DAPR_API_TOKEN           daprd then demands header dapr-api-token on its API (health endpoints excepted)
#   APP_API_TOKEN            daprd then sends dapr-api-token to the app (the app must check it)
#   DAPR_APP_PROTOCOL        default http
#   DAPR_CONFIG              Configuration file; default dapr/config.<app-id>.yaml if present,
#                            dapr/config.contract.yaml for platform-contract-*, else dapr/config.yaml
#   DAPR_MTLS                1 (default) = --enable-mtls with sentry; 0 = plain (ACLs then deny all invocation)
#   SENTRY_ADDRESS           default 127.0.0.1:<SENTRY_PORT of infra/ports.env> (infra/local.sh up sentry)
#   DAPR_TRUST_ANCHORS_FILE  default .data/infra/sentry/creds/ca.crt (its PEM goes into DAPR_TRUST_ANCHORS)
#   DAPR_CONTROL_PLANE_TRUST_DOMAIN  default localhost (= sentry --trust-domain)
#   DAPR_TRACING_SAMPLING_RATE default 1; DAPR_OTLP_ENDPOINT default empty (no export)
#   DAPR_LOG_LEVEL           default info; DAPR_LOG_JSON=1 for JSON logs
#   DAPRD_BIN                default: the binary tools/dapr-build/build.sh put in the cache
#   DAPRD_PORTS_FILE         if set, "http grpc internal" ports are written there before daprd starts
#
# daprd runs in the foreground (exec): the caller owns the process; SIGTERM stops it gracefully.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="${WALLET_CACHE:-$HOME/.cache/wallet-platform}"
HOST=127.0.0.1

if [ $# -lt 3 ]; then sed -n '2,30p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2; exit 2; fi
APP_ID="$1" APP_PORT="$2" COMPONENTS="$3"; shift 3

abspath() { case "$1" in /*) echo "$1" ;; *) echo "$(pwd)/$1" ;; esac; }
COMPONENTS="$(abspath "$COMPONENTS")"
[ -d "$COMPONENTS" ] || { echo "run-daprd: components folder $COMPONENTS not found" >&2; exit 2; }

DAPR_VERSION="$(awk '$1=="require" && $2=="github.com/dapr/dapr" {sub(/^v/,"",$3); print $3}' "$ROOT/tools/dapr-build/go.mod")"
DAPRD_BIN="${DAPRD_BIN:-$CACHE/dapr/$DAPR_VERSION/daprd}"
[ -x "$DAPRD_BIN" ] || { echo "run-daprd: $DAPRD_BIN missing; run tools/dapr-build/build.sh (or infra/local.sh up sentry)" >&2; exit 1; }

if [ -z "${DAPR_CONFIG:-}" ]; then
  case "$APP_ID" in
    platform-contract-*) DAPR_CONFIG="$ROOT/dapr/config.contract.yaml" ;;
    *) if [ -f "$ROOT/dapr/config.$APP_ID.yaml" ]; then DAPR_CONFIG="$ROOT/dapr/config.$APP_ID.yaml"; else DAPR_CONFIG="$ROOT/dapr/config.yaml"; fi ;;
  esac
fi

# A free loopback TCP port, picked by the kernel (bind port 0) and released for daprd to bind: never a
# number of our own in the ephemeral range (infra/ports.md). Callers that can should pass fixed ports.
free_port() {
  if command -v python3 >/dev/null; then
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
  elif command -v node >/dev/null; then
    node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
  else
    echo "run-daprd: need python3 or node to ask the kernel for a free port (or set DAPR_HTTP_PORT and DAPR_INTERNAL_GRPC_PORT)" >&2
    return 1
  fi
}
# daprd cannot be left to choose: it refuses gRPC port 0 for a sidecar without an app ("conflicts with
# app-port"), and for internal gRPC port 0 it picks a "stable" port in 47300-49347 (inside the
# ephemeral range) that mDNS then advertises.
DAPR_HTTP_PORT="${DAPR_HTTP_PORT:-$(free_port)}"
DAPR_GRPC_PORT="${DAPR_GRPC_PORT:-$(free_port)}"
DAPR_INTERNAL_GRPC_PORT="${DAPR_INTERNAL_GRPC_PORT:-$(free_port)}"
[ -n "${DAPRD_PORTS_FILE:-}" ] && echo "$DAPR_HTTP_PORT $DAPR_GRPC_PORT $DAPR_INTERNAL_GRPC_PORT" >"$DAPRD_PORTS_FILE"

# dapr/resiliency*.yaml are loaded from a resources path (each scoped to its apps). Passing dapr/ itself
# would also make daprd scan the Configuration files and warn about README.md, so link the two files
# into a folder of their own.
RES_DIR="$ROOT/.data/dapr-resources"
mkdir -p "$RES_DIR" && ln -sfn "$ROOT/dapr/resiliency.yaml" "$RES_DIR/resiliency.yaml" \
  && ln -sfn "$ROOT/dapr/resiliency.contract.yaml" "$RES_DIR/resiliency.contract.yaml"

args=(
  --mode standalone
  --app-id "$APP_ID"
  --dapr-listen-addresses "$HOST"
  --dapr-http-port "$DAPR_HTTP_PORT"
  --dapr-grpc-port "$DAPR_GRPC_PORT"
  --dapr-internal-grpc-port "$DAPR_INTERNAL_GRPC_PORT"
  --dapr-internal-grpc-listen-address "$HOST"
  --dapr-public-listen-address "$HOST"
  --resources-path "$COMPONENTS"
  --resources-path "$RES_DIR"            # -> dapr/resiliency.yaml, dapr/resiliency.contract.yaml
  --config "$DAPR_CONFIG"
  --placement-host-address ""            # no actors
  --scheduler-host-address ""            # no jobs/workflow scheduler
  --log-level "${DAPR_LOG_LEVEL:-info}"
)
[ "${DAPR_LOG_JSON:-0}" = 1 ] && args+=(--log-as-json)
if [ -n "${DAPR_METRICS_PORT:-}" ]; then
  args+=(--enable-metrics=true --metrics-port "$DAPR_METRICS_PORT" --metrics-listen-address "$HOST")
else
  args+=(--enable-metrics=false)
fi
if [ "$APP_PORT" != 0 ] && [ "$APP_PORT" != - ]; then
  args+=(--app-port "$APP_PORT" --app-protocol "${DAPR_APP_PROTOCOL:-http}" --app-channel-address "$HOST")
fi

export NAMESPACE="${NAMESPACE:-default}"   # namespace in this app's SPIFFE id (ACL policies say "default")
export DAPR_HOST_IP="$HOST"                 # address mDNS advertises for invocation: stay on loopback
if [ "${DAPR_MTLS:-1}" = 1 ]; then
  TA_FILE="${DAPR_TRUST_ANCHORS_FILE:-$ROOT/.data/infra/sentry/creds/ca.crt}"
  [ -s "$TA_FILE" ] || { echo "run-daprd: trust anchors $TA_FILE missing; run infra/local.sh up sentry" >&2; exit 1; }
  # daprd takes the CA certificate's PEM itself in DAPR_TRUST_ANCHORS (there is no file flag).
  DAPR_TRUST_ANCHORS="$(cat "$TA_FILE")"; export DAPR_TRUST_ANCHORS
  if [ -z "${SENTRY_ADDRESS:-}" ]; then
    SENTRY_ADDRESS="$HOST:$(awk -F= '$1=="SENTRY_PORT" {print $2}' "$ROOT/infra/ports.env")"
  fi
  args+=(--enable-mtls --sentry-address "$SENTRY_ADDRESS"
    --control-plane-trust-domain "${DAPR_CONTROL_PLANE_TRUST_DOMAIN:-localhost}"
    --control-plane-namespace default)
fi
export DAPR_TRACING_SAMPLING_RATE="${DAPR_TRACING_SAMPLING_RATE:-1}"
export DAPR_OTLP_ENDPOINT="${DAPR_OTLP_ENDPOINT:-}"

echo "run-daprd: $APP_ID http=$HOST:$DAPR_HTTP_PORT grpc=$HOST:$DAPR_GRPC_PORT internal=$HOST:$DAPR_INTERNAL_GRPC_PORT components=$COMPONENTS config=$DAPR_CONFIG" >&2
exec "$DAPRD_BIN" "${args[@]}" "$@"
