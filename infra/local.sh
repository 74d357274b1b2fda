#!/usr/bin/env bash
# Local infrastructure for the "dapr (local)" runtime mode, without Docker.
#
#   infra/local.sh up [part...]      start (and on first use install/initialise) parts; default: all
#   infra/local.sh down [part...]    stop parts; default: all
#   infra/local.sh status [part...]  what is up
#   infra/local.sh restart <part...> stop and start those parts only (the soak's faults: the PostgreSQL
#                                    primary without its replica or PgBouncer, the broker, Redis)
#   infra/local.sh env               `export` lines for tests and services (eval "$(infra/local.sh env)")
#   infra/local.sh clean             down + delete .data/infra (the caches stay)
#   infra/local.sh rabbitmqctl|psql|redis-cli [args]   the tool, pointed at our servers
#
# Parts: postgres replica pgbouncer redis rabbitmq kafka sentry chromium  (aliases: pg, all)
# (chromium is no server: Debian's browser for the browser suite, installed, never started)
# Everything listens on 127.0.0.1 only, on the ports of infra/ports.env (see infra/ports.md);
# state lives under .data/infra/ at the repo root;
# downloads and builds (Kafka jars, daprd/sentry) are cached under ${WALLET_CACHE:-~/.cache/wallet-platform}.
# See infra/README.md.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DATA="${WALLET_INFRA_DATA:-$ROOT/.data/infra}"
CACHE="${WALLET_CACHE:-$HOME/.cache/wallet-platform}"
LOGS="$DATA/logs"
HOST=127.0.0.1

KAFKA_VERSION="${KAFKA_VERSION:-3.9.2}"
KAFKA_HEAP="${KAFKA_HEAP:--Xms256m -Xmx512m}"
SENTRY_TRUST_DOMAIN="${SENTRY_TRUST_DOMAIN:-localhost}"
UP_TIMEOUT="${UP_TIMEOUT:-120}"   # seconds each server may take to answer

# service name -> database wallet_<name>, owned by role wallet_<name> (runs migrations, password dev_<name>);
# the service runs as wallet_<name>_app (password dev_<name>_app) with only the privileges migrations grant.
# The embedded host and the test harness provision the same way (packages/service-kit/src/provision.ts).
SERVICES=(identity ledger risk notification gateway)
PG_ADMIN_USER=wallet_admin PG_ADMIN_PASS=dev_admin
PG_REPL_USER=replicator PG_REPL_PASS=dev_replicator
ALL_PARTS=(postgres replica pgbouncer redis rabbitmq kafka sentry chromium)

PG_BASE="$DATA/postgres"
PG_PRIMARY="$PG_BASE/primary"
PG_REPLICA="$PG_BASE/replica"
PG_RUN="$PG_BASE/run"

log() { printf '[infra] %s\n' "$*" >&2; }
die() { printf '[infra] error: %s\n' "$*" >&2; exit 1; }

# Ports: infra/ports.env, the project's one port map (see infra/ports.md); an environment variable of
# the same name wins. Everything there lies below Linux's ephemeral range (32768-60999).
PORTS_FILE="$ROOT/infra/ports.env"
load_ports() {
  local name value
  [ -f "$PORTS_FILE" ] || die "$PORTS_FILE is missing"
  while IFS='=' read -r name value || [ -n "$name" ]; do
    case "$name" in ''|'#'*) continue ;; esac
    [[ "$name" =~ ^[A-Z][A-Z0-9_]*$ && "$value" =~ ^[0-9]+$ ]] || die "$PORTS_FILE: not NAME=number: $name=$value"
    [ -n "${!name:-}" ] || printf -v "$name" '%s' "$value"
  done <"$PORTS_FILE"
}
load_ports
for name in PG_PORT PG_REPLICA_PORT PGBOUNCER_PORT REDIS_PORT RABBITMQ_PORT RABBITMQ_DIST_PORT RABBITMQ_EPMD_PORT \
  KAFKA_PORT KAFKA_CONTROLLER_PORT SENTRY_PORT SENTRY_HEALTHZ_PORT; do
  [ -n "${!name:-}" ] || die "$PORTS_FILE defines no $name"
done

# ---------------------------------------------------------------- helpers
# wait_for <seconds> <what> <command...>: poll the command until it succeeds or the deadline passes.
wait_for() {
  local secs="$1" what="$2"; shift 2
  local deadline=$(( $(date +%s) + secs ))
  until "$@" >/dev/null 2>&1; do
    if [ "$(date +%s)" -ge "$deadline" ]; then
      log "$what did not answer within ${secs}s"; return 1
    fi
    sleep 0.2
  done
}

# alive = exists and is not a zombie (an orphan's exit may not be reaped promptly by PID 1 here)
pid_alive() {
  [ -n "${1:-}" ] && kill -0 "$1" 2>/dev/null || return 1
  local st; st="$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)"; [ -n "$st" ] && [ "$st" != Z ]
}
pid_gone() { ! pid_alive "$1"; }
pidfile_alive() { [ -f "$1" ] && pid_alive "$(head -n1 "$1" 2>/dev/null | tr -dc 0-9)"; }
pidfile_pid() { head -n1 "$1" 2>/dev/null | tr -dc 0-9; }

# stop_pid <pidfile> <name> [signal] [timeout]: signal the process and wait until it is gone.
stop_pid() {
  local pf="$1" name="$2" sig="${3:-TERM}" secs="${4:-30}" pid
  if ! pidfile_alive "$pf"; then rm -f "$pf"; return 0; fi
  pid="$(pidfile_pid "$pf")"
  kill -"$sig" "$pid" 2>/dev/null || true
  if ! wait_for "$secs" "$name shutdown" pid_gone "$pid"; then
    log "$name (pid $pid) still running, sending KILL"; kill -KILL "$pid" 2>/dev/null || true
    wait_for 10 "$name kill" pid_gone "$pid" || true
  fi
  rm -f "$pf"
}

tcp_open() { timeout 2 bash -c "exec 3<>/dev/tcp/$1/$2" 2>/dev/null; }

APT_UPDATED=0
ensure_pkgs() {
  local missing=() p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  [ "$(id -u)" -eq 0 ] || die "missing Debian packages (${missing[*]}); run as root or install them"
  if [ "$APT_UPDATED" = 0 ]; then
    log "apt-get update"; apt-get update -qq >/dev/null; APT_UPDATED=1
  fi
  log "apt-get install ${missing[*]}"
  # Debian would start the packaged service (default ports, all our own config aside);
  # a policy-rc.d that answers 101 stops it from doing so. Keep an existing one.
  local policy=/usr/sbin/policy-rc.d own_policy=0
  if [ ! -e "$policy" ]; then printf '#!/bin/sh\nexit 101\n' >"$policy"; chmod +x "$policy"; own_policy=1; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >"$CACHE/apt-install.log" 2>&1 \
    || { [ $own_policy = 1 ] && rm -f "$policy"; die "apt-get install failed, see $CACHE/apt-install.log"; }
  [ $own_policy = 1 ] && rm -f "$policy"
  return 0
}

# PostgreSQL refuses to run as root: as root we use the OS user postgres (Debian's), otherwise ourselves.
if [ "$(id -u)" -eq 0 ]; then PG_OS_USER=postgres; else PG_OS_USER="$(id -un)"; fi
as_postgres() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- env -C / "$@"; else "$@"; fi
}

pg_bin() {
  if [ -n "${PG_BIN:-}" ]; then echo "$PG_BIN"; return; fi
  local v
  v="${PG_VERSION:-$(ls /usr/lib/postgresql 2>/dev/null | sort -V | tail -n1)}"
  [ -n "$v" ] && [ -x "/usr/lib/postgresql/$v/bin/postgres" ] || return 1
  echo "/usr/lib/postgresql/$v/bin"
}

dapr_version() { awk '$1=="require" && $2=="github.com/dapr/dapr" {sub(/^v/,"",$3); print $3}' "$ROOT/tools/dapr-build/go.mod"; }
dapr_dir() { echo "$CACHE/dapr/$(dapr_version)"; }

svc_db() { echo "wallet_$1"; }
svc_owner() { echo "wallet_$1"; }
svc_owner_pass() { echo "dev_$1"; }
svc_role() { echo "wallet_$1_app"; }
svc_pass() { echo "dev_$1_app"; }
pg_url() { # user pass port db
  echo "postgres://$1:$2@$HOST:$3/$4"
}

# ---------------------------------------------------------------- postgres (primary)
pg_ready() { "$PGBIN/pg_isready" -q -h "$HOST" -p "$1" -t 2; }

up_postgres() {
  ensure_pkgs postgresql
  PGBIN="$(pg_bin)" || die "PostgreSQL server binaries not found under /usr/lib/postgresql"
  mkdir -p "$PG_BASE" "$PG_RUN" "$LOGS"
  chown "$PG_OS_USER:" "$PG_BASE" "$PG_RUN"; chmod 700 "$PG_RUN"
  touch "$LOGS/postgres-primary.log"; chown "$PG_OS_USER:" "$LOGS/postgres-primary.log"
  if [ ! -f "$PG_PRIMARY/PG_VERSION" ]; then
    log "postgres: initdb $PG_PRIMARY"
    rm -rf "$PG_PRIMARY"; install -d -o "$PG_OS_USER" -m 700 "$PG_PRIMARY"
    as_postgres "$PGBIN/initdb" -D "$PG_PRIMARY" -U postgres -E UTF8 --locale=C.UTF-8 \
      --auth-local=peer --auth-host=scram-sha-256 >"$LOGS/postgres-initdb.log" 2>&1 \
      || die "initdb failed, see $LOGS/postgres-initdb.log"
    cat >>"$PG_PRIMARY/postgresql.conf" <<EOF

# ---- wallet-platform local settings (infra/local.sh) ----
listen_addresses = '$HOST'
unix_socket_directories = '$PG_RUN'
max_connections = 300
password_encryption = scram-sha-256
wal_level = replica
max_wal_senders = 10
max_replication_slots = 10
hot_standby = on
wal_keep_size = '256MB'
EOF
    cat >"$PG_PRIMARY/pg_hba.conf" <<EOF
# wallet-platform local: loopback only, passwords (SCRAM) for everyone but the OS user postgres
local   all          postgres                 $([ "$(id -u)" -eq 0 ] && echo peer || echo trust)
host    replication  $PG_REPL_USER  $HOST/32  scram-sha-256
host    all          all            $HOST/32  scram-sha-256
EOF
    chown "$PG_OS_USER:" "$PG_PRIMARY/pg_hba.conf"
  fi
  if pg_ready "$PG_PORT"; then
    log "postgres: already up on $HOST:$PG_PORT"
  else
    log "postgres: starting on $HOST:$PG_PORT"
    as_postgres "$PGBIN/pg_ctl" -D "$PG_PRIMARY" -l "$LOGS/postgres-primary.log" \
      -o "-p $PG_PORT -k $PG_RUN -c listen_addresses=$HOST" -W start >/dev/null \
      || die "pg_ctl start failed, see $LOGS/postgres-primary.log"
    wait_for "$UP_TIMEOUT" postgres pg_ready "$PG_PORT" || die "postgres not ready, see $LOGS/postgres-primary.log"
  fi
  pg_bootstrap
}

# Roles and databases: idempotent, applied on every up.
pg_bootstrap() {
  local sql s role db pass
  sql="
SET client_min_messages = warning;
DO \$\$BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$PG_ADMIN_USER') THEN CREATE ROLE $PG_ADMIN_USER; END IF;
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$PG_REPL_USER') THEN CREATE ROLE $PG_REPL_USER; END IF;
END\$\$;
ALTER ROLE $PG_ADMIN_USER WITH SUPERUSER LOGIN PASSWORD '$PG_ADMIN_PASS';
ALTER ROLE $PG_REPL_USER WITH REPLICATION LOGIN NOSUPERUSER PASSWORD '$PG_REPL_PASS';
SELECT pg_create_physical_replication_slot('wallet_replica')
  WHERE NOT EXISTS (SELECT FROM pg_replication_slots WHERE slot_name = 'wallet_replica');
"
  local owner opass
  for s in "${SERVICES[@]}"; do
    role="$(svc_role "$s")" db="$(svc_db "$s")" pass="$(svc_pass "$s")"
    owner="$(svc_owner "$s")" opass="$(svc_owner_pass "$s")"
    sql+="
DO \$\$BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$owner') THEN CREATE ROLE $owner; END IF;
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$role') THEN CREATE ROLE $role; END IF;
END\$\$;
ALTER ROLE $owner WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION PASSWORD '$opass';
ALTER ROLE $role WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION PASSWORD '$pass';
SELECT 'CREATE DATABASE $db OWNER $owner' WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = '$db')
\\gexec
ALTER DATABASE $db OWNER TO $owner;
REVOKE ALL ON DATABASE $db FROM PUBLIC;
GRANT CONNECT, TEMPORARY ON DATABASE $db TO $role;
\\connect $db
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
GRANT USAGE ON SCHEMA public TO $role;
ALTER DEFAULT PRIVILEGES FOR ROLE $owner IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO $role;
ALTER DEFAULT PRIVILEGES FOR ROLE $owner IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO $role;
\\connect postgres
"
  done
  printf '%s\n' "$sql" | as_postgres "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$PG_RUN" -p "$PG_PORT" -U postgres -d postgres >/dev/null \
    || die "postgres bootstrap SQL failed"
}

down_postgres() {
  PGBIN="$(pg_bin)" || return 0
  if [ -f "$PG_PRIMARY/postmaster.pid" ]; then
    log "postgres: stopping"
    as_postgres "$PGBIN/pg_ctl" -D "$PG_PRIMARY" -m fast -w -t 60 stop >/dev/null 2>&1 || true
  fi
}

status_postgres() { PGBIN="$(pg_bin)" 2>/dev/null && pg_ready "$PG_PORT"; }

# ---------------------------------------------------------------- postgres streaming replica
pg_sysid() { "$PGBIN/pg_controldata" "$1" 2>/dev/null | awk -F': *' '/system identifier/ {print $2}'; }

up_replica() {
  PGBIN="$(pg_bin)" || die "PostgreSQL not installed (start the postgres part first)"
  pg_ready "$PG_PORT" || die "replica needs the primary: infra/local.sh up postgres"
  touch "$LOGS/postgres-replica.log"; chown "$PG_OS_USER:" "$LOGS/postgres-replica.log"
  if [ -f "$PG_REPLICA/PG_VERSION" ] && [ "$(pg_sysid "$PG_REPLICA")" != "$(pg_sysid "$PG_PRIMARY")" ]; then
    log "replica: belongs to an older primary, recreating"
    down_replica; rm -rf "$PG_REPLICA"
  fi
  # A replica made when the primary listened elsewhere (an older port map) would stream from nowhere.
  if [ -f "$PG_REPLICA/PG_VERSION" ] && ! grep -Eq "^primary_conninfo = .* port=$PG_PORT[ ']" "$PG_REPLICA/postgresql.auto.conf" 2>/dev/null; then
    log "replica: follows a primary on another port (not $PG_PORT), recreating"
    down_replica; rm -rf "$PG_REPLICA"
  fi
  if [ ! -f "$PG_REPLICA/PG_VERSION" ]; then
    log "replica: pg_basebackup from $HOST:$PG_PORT"
    rm -rf "$PG_REPLICA"; install -d -o "$PG_OS_USER" -m 700 "$PG_REPLICA"
    as_postgres env PGPASSWORD="$PG_REPL_PASS" "$PGBIN/pg_basebackup" -h "$HOST" -p "$PG_PORT" -U "$PG_REPL_USER" \
      -D "$PG_REPLICA" -X stream -R -S wallet_replica --checkpoint=fast >"$LOGS/postgres-basebackup.log" 2>&1 \
      || die "pg_basebackup failed, see $LOGS/postgres-basebackup.log"
  fi
  if pg_ready "$PG_REPLICA_PORT"; then
    log "replica: already up on $HOST:$PG_REPLICA_PORT"
  else
    log "replica: starting on $HOST:$PG_REPLICA_PORT"
    as_postgres "$PGBIN/pg_ctl" -D "$PG_REPLICA" -l "$LOGS/postgres-replica.log" \
      -o "-p $PG_REPLICA_PORT -k $PG_RUN -c listen_addresses=$HOST" -W start >/dev/null \
      || die "replica start failed, see $LOGS/postgres-replica.log"
    wait_for "$UP_TIMEOUT" replica pg_ready "$PG_REPLICA_PORT" || die "replica not ready, see $LOGS/postgres-replica.log"
  fi
  wait_for "$UP_TIMEOUT" "replica streaming" replica_streaming || die "replica is not streaming from the primary"
}

replica_streaming() {
  [ "$(PGPASSWORD="$PG_ADMIN_PASS" "$PGBIN/psql" -X -At -h "$HOST" -p "$PG_PORT" -U "$PG_ADMIN_USER" -d postgres \
      -c "SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'")" -ge 1 ]
}

down_replica() {
  PGBIN="$(pg_bin)" || return 0
  if [ -f "$PG_REPLICA/postmaster.pid" ]; then
    log "replica: stopping"
    as_postgres "$PGBIN/pg_ctl" -D "$PG_REPLICA" -m fast -w -t 60 stop >/dev/null 2>&1 || true
  fi
}

status_replica() {
  PGBIN="$(pg_bin)" 2>/dev/null && pg_ready "$PG_REPLICA_PORT" &&
    [ "$(PGPASSWORD="$PG_ADMIN_PASS" "$PGBIN/psql" -X -At -h "$HOST" -p "$PG_REPLICA_PORT" -U "$PG_ADMIN_USER" -d postgres -c 'SELECT pg_is_in_recovery()' 2>/dev/null)" = t ]
}

# ---------------------------------------------------------------- pgbouncer
PGB_DIR="$DATA/pgbouncer"
up_pgbouncer() {
  ensure_pkgs pgbouncer
  PGBIN="$(pg_bin)" || die "PostgreSQL not installed"
  pg_ready "$PG_PORT" || die "pgbouncer needs the primary: infra/local.sh up postgres"
  install -d -o "$PG_OS_USER" -m 700 "$PGB_DIR"
  local s ini="$PGB_DIR/pgbouncer.ini" users="$PGB_DIR/userlist.txt"
  {
    echo "; generated by infra/local.sh on every up"
    echo "[databases]"
    for s in "${SERVICES[@]}"; do
      echo "$(svc_db "$s") = host=$HOST port=$PG_PORT dbname=$(svc_db "$s")"
    done
    # Any other database (the test harness provisions one per suite) is reached the same way; roles not
    # in the auth file are looked up through auth_query, so a suite's fresh roles work through it too.
    echo "* = host=$HOST port=$PG_PORT"
    cat <<EOF

[pgbouncer]
listen_addr = $HOST
listen_port = $PGBOUNCER_PORT
unix_socket_dir =
auth_type = scram-sha-256
auth_file = $users
auth_user = $PG_ADMIN_USER
auth_query = SELECT usename, passwd FROM pg_shadow WHERE usename = \$1
pool_mode = transaction
max_client_conn = 1000
default_pool_size = 20
reserve_pool_size = 5
server_reset_query =
ignore_startup_parameters = extra_float_digits,search_path
admin_users = $PG_ADMIN_USER
stats_users = $PG_ADMIN_USER
pidfile = $PGB_DIR/pgbouncer.pid
logfile = $LOGS/pgbouncer.log
EOF
  } >"$ini"
  {
    for s in "${SERVICES[@]}"; do
      echo "\"$(svc_role "$s")\" \"$(svc_pass "$s")\""
      echo "\"$(svc_owner "$s")\" \"$(svc_owner_pass "$s")\""
    done
    echo "\"$PG_ADMIN_USER\" \"$PG_ADMIN_PASS\""
  } >"$users"
  touch "$LOGS/pgbouncer.log"
  chown "$PG_OS_USER:" "$ini" "$users" "$LOGS/pgbouncer.log"; chmod 600 "$users"
  if pidfile_alive "$PGB_DIR/pgbouncer.pid"; then
    log "pgbouncer: already running, reloading config"
    kill -HUP "$(pidfile_pid "$PGB_DIR/pgbouncer.pid")"
  else
    log "pgbouncer: starting on $HOST:$PGBOUNCER_PORT (transaction pooling)"
    rm -f "$PGB_DIR/pgbouncer.pid"
    as_postgres pgbouncer -q -d "$ini" || die "pgbouncer failed to start, see $LOGS/pgbouncer.log"
  fi
  wait_for "$UP_TIMEOUT" pgbouncer pgbouncer_ready || die "pgbouncer not ready, see $LOGS/pgbouncer.log"
}
pgbouncer_ready() {
  PGPASSWORD="$(svc_pass identity)" "$PGBIN/psql" -X -At -h "$HOST" -p "$PGBOUNCER_PORT" -U "$(svc_role identity)" -d wallet_identity -c 'SELECT 1' | grep -qx 1
}
down_pgbouncer() { pidfile_alive "$PGB_DIR/pgbouncer.pid" && log "pgbouncer: stopping"; stop_pid "$PGB_DIR/pgbouncer.pid" pgbouncer TERM; }
status_pgbouncer() { pidfile_alive "$PGB_DIR/pgbouncer.pid" && tcp_open "$HOST" "$PGBOUNCER_PORT"; }

# ---------------------------------------------------------------- redis
REDIS_DIR="$DATA/redis"
redis_ready() { [ "$(redis-cli -h "$HOST" -p "$REDIS_PORT" ping 2>/dev/null)" = PONG ]; }
up_redis() {
  ensure_pkgs redis-server
  mkdir -p "$REDIS_DIR" "$LOGS"
  cat >"$REDIS_DIR/redis.conf" <<EOF
# generated by infra/local.sh
bind $HOST
port $REDIS_PORT
protected-mode yes
daemonize yes
pidfile $REDIS_DIR/redis.pid
logfile $LOGS/redis.log
dir $REDIS_DIR
save 60 1000
appendonly no
EOF
  if redis_ready; then log "redis: already up on $HOST:$REDIS_PORT"; return 0; fi
  log "redis: starting on $HOST:$REDIS_PORT"
  redis-server "$REDIS_DIR/redis.conf" || die "redis-server failed, see $LOGS/redis.log"
  wait_for "$UP_TIMEOUT" redis redis_ready || die "redis not ready, see $LOGS/redis.log"
}
down_redis() { pidfile_alive "$REDIS_DIR/redis.pid" && log "redis: stopping"; stop_pid "$REDIS_DIR/redis.pid" redis TERM; }
status_redis() { redis_ready; }

# ---------------------------------------------------------------- rabbitmq (standalone node)
RMQ_DIR="$DATA/rabbitmq"
rmq_env() {
  export HOME="$RMQ_DIR/home"                     # the node's and the CLI's .erlang.cookie
  export RABBITMQ_NODENAME="wallet@localhost"
  export RABBITMQ_NODE_IP_ADDRESS="$HOST"
  export RABBITMQ_NODE_PORT="$RABBITMQ_PORT"
  export RABBITMQ_DIST_PORT
  export RABBITMQ_MNESIA_BASE="$RMQ_DIR/mnesia"
  export RABBITMQ_LOG_BASE="$LOGS/rabbitmq"
  export RABBITMQ_CONFIG_FILE="$RMQ_DIR/rabbitmq.conf"
  export RABBITMQ_ADVANCED_CONFIG_FILE="$RMQ_DIR/advanced.config"
  export RABBITMQ_CONF_ENV_FILE="$RMQ_DIR/rabbitmq-env.conf"
  export RABBITMQ_ENABLED_PLUGINS_FILE="$RMQ_DIR/enabled_plugins"
  export RABBITMQ_PID_FILE="$RMQ_DIR/rabbitmq.pid"
  export ERL_EPMD_ADDRESS="$HOST" ERL_EPMD_PORT="$RABBITMQ_EPMD_PORT"
  export RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}"
  export RABBITMQ_CTL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}"
}
# AMQP 0-9-1 handshake: send the protocol header, expect a method frame (type 1, Connection.Start).
rmq_ready() {
  timeout 3 bash -c "exec 3<>/dev/tcp/$HOST/$RABBITMQ_PORT && printf 'AMQP\x00\x00\x09\x01' >&3 && head -c1 <&3 | od -An -tx1 | grep -q 01" 2>/dev/null
}
up_rabbitmq() {
  ensure_pkgs rabbitmq-server
  mkdir -p "$RMQ_DIR/home" "$RMQ_DIR/mnesia" "$LOGS/rabbitmq"
  cat >"$RMQ_DIR/rabbitmq.conf" <<EOF
# generated by infra/local.sh
listeners.tcp.default = $HOST:$RABBITMQ_PORT
default_vhost = /
default_user = wallet
default_pass = wallet
default_user_tags.administrator = true
default_permissions.configure = .*
default_permissions.read = .*
default_permissions.write = .*
loopback_users = none
log.console = false
log.file.level = info
EOF
  echo '[].' >"$RMQ_DIR/enabled_plugins"
  : >"$RMQ_DIR/rabbitmq-env.conf"
  echo '[].' >"$RMQ_DIR/advanced.config"
  if rmq_ready; then log "rabbitmq: already up on $HOST:$RABBITMQ_PORT"; return 0; fi
  if pidfile_alive "$RMQ_DIR/rabbitmq.pid"; then
    log "rabbitmq: node running but not answering yet"
  else
    log "rabbitmq: starting node wallet@localhost on $HOST:$RABBITMQ_PORT"
    (
      rmq_env
      # our own epmd on loopback and a port of its own, so no other Erlang node interferes
      epmd -daemon
      cd "$RMQ_DIR"
      setsid nohup /usr/lib/rabbitmq/bin/rabbitmq-server >"$LOGS/rabbitmq.out" 2>&1 </dev/null &
    )
  fi
  wait_for "$UP_TIMEOUT" rabbitmq rmq_ready || die "rabbitmq not ready, see $LOGS/rabbitmq.out and $LOGS/rabbitmq/"
}
down_rabbitmq() {
  if pidfile_alive "$RMQ_DIR/rabbitmq.pid"; then
    log "rabbitmq: stopping"
    stop_pid "$RMQ_DIR/rabbitmq.pid" rabbitmq TERM 60
  fi
  rm -f "$RMQ_DIR/rabbitmq.pid"
  if [ -d "$RMQ_DIR" ] && command -v epmd >/dev/null; then
    ( rmq_env; epmd -kill >/dev/null 2>&1 || true )
  fi
}
status_rabbitmq() { rmq_ready; }

# ---------------------------------------------------------------- kafka (KRaft, jars from Maven Central)
KAFKA_DIR="$DATA/kafka"
KAFKA_LIBS="$CACHE/kafka/$KAFKA_VERSION/libs"
kafka_fetch() {
  [ -f "$KAFKA_LIBS/.complete" ] && return 0
  command -v mvn >/dev/null || ensure_pkgs maven
  log "kafka: fetching kafka_2.13:$KAFKA_VERSION and its runtime dependencies from Maven Central"
  rm -rf "$KAFKA_LIBS"; mkdir -p "$KAFKA_LIBS"
  mvn -B -q -f "$ROOT/infra/kafka/pom.xml" -Dkafka.version="$KAFKA_VERSION" -Dmaven.repo.local="$CACHE/kafka/m2" \
    dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$KAFKA_LIBS" \
    >"$CACHE/kafka/mvn-$KAFKA_VERSION.log" 2>&1 || die "maven failed, see $CACHE/kafka/mvn-$KAFKA_VERSION.log"
  ls "$KAFKA_LIBS"/kafka_2.13-*.jar >/dev/null 2>&1 || die "kafka jar missing after maven"
  touch "$KAFKA_LIBS/.complete"
}
kafka_java() { java $KAFKA_HEAP -Djava.awt.headless=true -Dlog4j.configuration="file:$KAFKA_DIR/log4j.properties" -cp "$KAFKA_LIBS/*" "$@"; }
kafka_ready() {
  tcp_open "$HOST" "$KAFKA_PORT" && grep -q 'Kafka Server started' "$LOGS/kafka.log" 2>/dev/null
}
up_kafka() {
  command -v java >/dev/null || ensure_pkgs openjdk-17-jre-headless
  kafka_fetch
  mkdir -p "$KAFKA_DIR/data" "$LOGS"
  cat >"$KAFKA_DIR/server.properties" <<EOF
# generated by infra/local.sh: single-node KRaft broker+controller on loopback
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@$HOST:$KAFKA_CONTROLLER_PORT
listeners=PLAINTEXT://$HOST:$KAFKA_PORT,CONTROLLER://$HOST:$KAFKA_CONTROLLER_PORT
advertised.listeners=PLAINTEXT://$HOST:$KAFKA_PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$KAFKA_DIR/data
num.partitions=3
auto.create.topics.enable=true
offsets.topic.replication.factor=1
offsets.topic.num.partitions=10
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
group.initial.rebalance.delay.ms=0
log.retention.hours=48
EOF
  cat >"$KAFKA_DIR/log4j.properties" <<EOF
log4j.rootLogger=INFO, stdout
log4j.appender.stdout=org.apache.log4j.ConsoleAppender
log4j.appender.stdout.layout=org.apache.log4j.PatternLayout
log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.kafka=INFO
log4j.logger.org.apache.kafka=WARN
log4j.logger.kafka.server.KafkaRaftServer=INFO
log4j.logger.state.change.logger=WARN
EOF
  if kafka_ready && pidfile_alive "$KAFKA_DIR/kafka.pid"; then log "kafka: already up on $HOST:$KAFKA_PORT"; return 0; fi
  if ! pidfile_alive "$KAFKA_DIR/kafka.pid"; then
    if [ ! -f "$KAFKA_DIR/data/meta.properties" ]; then
      log "kafka: formatting KRaft storage"
      local cid; cid="$(kafka_java kafka.tools.StorageTool random-uuid 2>/dev/null | tail -n1)"
      [ -n "$cid" ] || die "kafka: could not generate a cluster id"
      kafka_java kafka.tools.StorageTool format -t "$cid" -c "$KAFKA_DIR/server.properties" >"$LOGS/kafka-format.log" 2>&1 \
        || die "kafka storage format failed, see $LOGS/kafka-format.log"
    fi
    log "kafka $KAFKA_VERSION: starting KRaft node on $HOST:$KAFKA_PORT (controller $KAFKA_CONTROLLER_PORT)"
    : >"$LOGS/kafka.log"
    ( cd "$KAFKA_DIR"
      setsid nohup java $KAFKA_HEAP -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -Djava.awt.headless=true \
        -Dlog4j.configuration="file:$KAFKA_DIR/log4j.properties" -Dkafka.logs.dir="$LOGS" \
        -cp "$KAFKA_LIBS/*" kafka.Kafka "$KAFKA_DIR/server.properties" >>"$LOGS/kafka.log" 2>&1 </dev/null &
      echo $! >"$KAFKA_DIR/kafka.pid" )
  fi
  wait_for "$UP_TIMEOUT" kafka kafka_ready || die "kafka not ready, see $LOGS/kafka.log"
}
down_kafka() { pidfile_alive "$KAFKA_DIR/kafka.pid" && log "kafka: stopping"; stop_pid "$KAFKA_DIR/kafka.pid" kafka TERM 60; }
status_kafka() { pidfile_alive "$KAFKA_DIR/kafka.pid" && tcp_open "$HOST" "$KAFKA_PORT"; }

# ---------------------------------------------------------------- dapr sentry (mTLS CA)
# Sentry v1.16 ignores --healthz-listen-address and binds its healthz port on all interfaces.
# To keep everything on loopback, sentry runs in a private network namespace (only `lo`), and a
# socat on the host's 127.0.0.1:$SENTRY_PORT forwards each connection into it via nsenter.
# SENTRY_NETNS=0 starts it directly instead (healthz then listens on *:$SENTRY_HEALTHZ_PORT).
SENTRY_DIR="$DATA/sentry"
SENTRY_NETNS="${SENTRY_NETNS:-1}"
sentry_in_ns() { # run a command in sentry's network namespace (or directly without one)
  if [ -f "$SENTRY_DIR/netns" ]; then nsenter --net="/proc/$(pidfile_pid "$SENTRY_DIR/sentry.pid")/ns/net" "$@"; else "$@"; fi
}
sentry_healthy() {
  pidfile_alive "$SENTRY_DIR/sentry.pid" && [ -s "$SENTRY_DIR/creds/ca.crt" ] &&
    sentry_in_ns curl -fsS -m 2 "http://$HOST:$SENTRY_HEALTHZ_PORT/healthz" >/dev/null 2>&1
}
sentry_ready() {
  sentry_healthy || return 1
  if [ -f "$SENTRY_DIR/netns" ]; then pidfile_alive "$SENTRY_DIR/forward.pid" || return 1; fi
  tcp_open "$HOST" "$SENTRY_PORT"
}
up_sentry() {
  local dir; dir="$(dapr_dir)"
  if [ ! -x "$dir/sentry" ] || [ ! -x "$dir/daprd" ]; then
    log "sentry: building daprd + sentry $(dapr_version) (cold build takes minutes; log: $CACHE/logs/dapr-build.log)"
    mkdir -p "$CACHE/logs"
    "$ROOT/tools/dapr-build/build.sh" >"$CACHE/logs/dapr-build.log" 2>&1 || die "dapr build failed, see $CACHE/logs/dapr-build.log"
  fi
  mkdir -p "$SENTRY_DIR/creds" "$LOGS"
  if sentry_ready; then log "sentry: already up on $HOST:$SENTRY_PORT"; return 0; fi
  local args=(--mode standalone --issuer-credentials "$SENTRY_DIR/creds" --trust-domain "$SENTRY_TRUST_DOMAIN"
    --config "$ROOT/dapr/config.yaml" --listen-address "$HOST" --port "$SENTRY_PORT"
    --healthz-listen-address "$HOST" --healthz-port "$SENTRY_HEALTHZ_PORT" --enable-metrics=false --log-level info)
  if ! pidfile_alive "$SENTRY_DIR/sentry.pid"; then
    rm -f "$SENTRY_DIR/netns" "$SENTRY_DIR/sentry.pid"
    local use_ns=0
    if [ "$SENTRY_NETNS" = 1 ]; then
      if unshare --net true 2>/dev/null; then
        command -v socat >/dev/null || ensure_pkgs socat
        use_ns=1
      else
        log "sentry: cannot create a network namespace here; starting it directly (healthz on all interfaces)"
      fi
    fi
    log "sentry: starting on $HOST:$SENTRY_PORT (trust domain $SENTRY_TRUST_DOMAIN$([ $use_ns = 1 ] && echo ', private netns + socat forward'))"
    # NAMESPACE is the control-plane namespace in sentry's SPIFFE id (daprd --control-plane-namespace, default "default").
    if [ $use_ns = 1 ]; then
      touch "$SENTRY_DIR/netns"
      ( cd "$SENTRY_DIR"
        NAMESPACE=default setsid nohup unshare --net -- sh -c 'ip link set lo up && echo $$ >"$0" && exec "$@"' \
          "$SENTRY_DIR/sentry.pid" "$dir/sentry" "${args[@]}" >"$LOGS/sentry.log" 2>&1 </dev/null & )
      wait_for 10 "sentry pid" test -s "$SENTRY_DIR/sentry.pid" || die "sentry did not start, see $LOGS/sentry.log"
    else
      ( cd "$SENTRY_DIR"
        NAMESPACE=default setsid nohup "$dir/sentry" "${args[@]}" >"$LOGS/sentry.log" 2>&1 </dev/null &
        echo $! >"$SENTRY_DIR/sentry.pid" )
    fi
  fi
  wait_for "$UP_TIMEOUT" sentry sentry_healthy || die "sentry not healthy, see $LOGS/sentry.log"
  if [ -f "$SENTRY_DIR/netns" ] && ! pidfile_alive "$SENTRY_DIR/forward.pid"; then
    printf '#!/bin/sh\nexec nsenter --net=/proc/%s/ns/net socat STDIO TCP4:%s:%s\n' \
      "$(pidfile_pid "$SENTRY_DIR/sentry.pid")" "$HOST" "$SENTRY_PORT" >"$SENTRY_DIR/forward.sh"
    chmod +x "$SENTRY_DIR/forward.sh"
    ( setsid nohup socat "TCP4-LISTEN:$SENTRY_PORT,bind=$HOST,reuseaddr,fork" "EXEC:$SENTRY_DIR/forward.sh" \
        >"$LOGS/sentry-forward.log" 2>&1 </dev/null &
      echo $! >"$SENTRY_DIR/forward.pid" )
  fi
  wait_for "$UP_TIMEOUT" sentry sentry_ready || die "sentry not reachable on $HOST:$SENTRY_PORT, see $LOGS/sentry*.log"
}
down_sentry() {
  pidfile_alive "$SENTRY_DIR/sentry.pid" && log "sentry: stopping"
  stop_pid "$SENTRY_DIR/forward.pid" sentry-forward TERM
  stop_pid "$SENTRY_DIR/sentry.pid" sentry TERM
  rm -f "$SENTRY_DIR/netns"
}
status_sentry() { sentry_ready; }

# ---------------------------------------------------------------- chromium (a browser, not a server)
# Debian's chromium for packages/system-tests' browser suite (WebAuthn with a virtual authenticator,
# cookies, CSRF, HSTS): playwright-core drives it by its path (CHROMIUM_BIN); no browser download.
chromium_bin() { command -v chromium 2>/dev/null || echo /usr/bin/chromium; }
up_chromium() {
  ensure_pkgs chromium
  [ -x "$(chromium_bin)" ] || die "chromium: not found after install"
  log "chromium: $("$(chromium_bin)" --version 2>/dev/null | head -n1)"
}
down_chromium() { :; }
status_chromium() { [ -x "$(chromium_bin)" ]; }

# ---------------------------------------------------------------- commands
norm_parts() { # expand aliases, keep the canonical order, validate
  local want=" " p out=()
  [ $# -eq 0 ] && set -- all
  for p in "$@"; do
    case "$p" in
      all) want+="${ALL_PARTS[*]} " ;;
      pg|postgresql) want+="postgres " ;;
      rabbit) want+="rabbitmq " ;;
      postgres|replica|pgbouncer|redis|rabbitmq|kafka|sentry|chromium) want+="$p " ;;
      *) die "unknown part '$p' (parts: ${ALL_PARTS[*]})" ;;
    esac
  done
  for p in "${ALL_PARTS[@]}"; do case "$want" in *" $p "*) out+=("$p") ;; esac; done
  echo "${out[@]}"
}

run_part() {
  local p="$1" t
  t=$(date +%s%N)
  "up_$p"
  log "$p: ready ($(( ($(date +%s%N) - t) / 1000000 )) ms)"
}

cmd_up() {
  local parts p t0 list pkgs=() pg_chain=() others=() pids=() rc=0
  list="$(norm_parts "$@")" || exit 2
  read -r -a parts <<<"$list"
  # replica and pgbouncer need the primary
  case " ${parts[*]} " in *" replica "*|*" pgbouncer "*)
    case " ${parts[*]} " in *" postgres "*) ;; *) parts=(postgres "${parts[@]}") ;; esac ;;
  esac
  mkdir -p "$DATA" "$LOGS" "$CACHE"
  chmod 755 "$DATA"
  t0=$(date +%s)
  # Debian packages first, in one apt transaction (parts then find them installed).
  for p in "${parts[@]}"; do
    case "$p" in
      postgres) pkgs+=(postgresql) ;;
      pgbouncer) pkgs+=(pgbouncer) ;;
      redis) pkgs+=(redis-server) ;;
      rabbitmq) pkgs+=(rabbitmq-server) ;;
      kafka) command -v java >/dev/null || pkgs+=(openjdk-17-jre-headless); command -v mvn >/dev/null || pkgs+=(maven) ;;
      sentry) command -v socat >/dev/null || pkgs+=(socat) ;;
      chromium) pkgs+=(chromium) ;;
    esac
  done
  [ ${#pkgs[@]} -gt 0 ] && ensure_pkgs "${pkgs[@]}"
  # The PostgreSQL chain runs in order; every other part starts alongside it.
  for p in "${parts[@]}"; do
    case "$p" in postgres|replica|pgbouncer) pg_chain+=("$p") ;; *) others+=("$p") ;; esac
  done
  if [ ${#pg_chain[@]} -gt 0 ]; then
    ( for p in "${pg_chain[@]}"; do run_part "$p"; done ) & pids+=($!)
  fi
  for p in "${others[@]}"; do ( run_part "$p" ) & pids+=($!); done
  for p in "${pids[@]}"; do wait "$p" || rc=1; done
  [ $rc = 0 ] || die "up failed (see messages above; logs in $LOGS)"
  log "up: ${parts[*]} in $(( $(date +%s) - t0 ))s"
}

cmd_down() {
  local parts i list
  list="$(norm_parts "$@")" || exit 2
  read -r -a parts <<<"$list"
  for (( i=${#parts[@]}-1; i>=0; i-- )); do
    # the replica must go before its primary
    if [ "${parts[$i]}" = postgres ]; then down_replica; down_pgbouncer; fi
    "down_${parts[$i]}"
  done
}

# Unlike `down postgres`, which takes the replica and PgBouncer down first, a restart touches only the
# parts named: the replica and PgBouncer reconnect to the restarted primary by themselves.
cmd_restart() {
  local parts p list
  [ $# -gt 0 ] || die "restart: name the parts (parts: ${ALL_PARTS[*]})"
  list="$(norm_parts "$@")" || exit 2
  read -r -a parts <<<"$list"
  for p in "${parts[@]}"; do "down_$p"; run_part "$p"; done
}

cmd_status() {
  local parts p rc=0 list
  list="$(norm_parts "$@")" || exit 2
  read -r -a parts <<<"$list"
  for p in "${parts[@]}"; do
    if "status_$p" >/dev/null 2>&1; then printf '%-10s up\n' "$p"; else printf '%-10s down\n' "$p"; rc=3; fi
  done
  return $rc
}

cmd_env() {
  local s u dir
  dir="$(dapr_dir)"
  echo "export DAPRD_BIN='$dir/daprd'"
  echo "export SENTRY_BIN='$dir/sentry'"
  echo "export SENTRY_ADDRESS='$HOST:$SENTRY_PORT'"
  echo "export DAPR_TRUST_ANCHORS_FILE='$SENTRY_DIR/creds/ca.crt'"
  echo "export DAPR_CONTROL_PLANE_TRUST_DOMAIN='$SENTRY_TRUST_DOMAIN'"
  echo "export PG_ADMIN_URL='$(pg_url "$PG_ADMIN_USER" "$PG_ADMIN_PASS" "$PG_PORT" postgres)'"
  echo "export PG_REPLICA_URL='$(pg_url "$PG_ADMIN_USER" "$PG_ADMIN_PASS" "$PG_REPLICA_PORT" postgres)'"
  for s in "${SERVICES[@]}"; do
    u="$(echo "$s" | tr a-z A-Z)"
    echo "export PG_${u}_URL='$(pg_url "$(svc_role "$s")" "$(svc_pass "$s")" "$PG_PORT" "$(svc_db "$s")")'"
    echo "export PG_REPLICA_${u}_URL='$(pg_url "$(svc_role "$s")" "$(svc_pass "$s")" "$PG_REPLICA_PORT" "$(svc_db "$s")")'"
    echo "export PGBOUNCER_${u}_URL='$(pg_url "$(svc_role "$s")" "$(svc_pass "$s")" "$PGBOUNCER_PORT" "$(svc_db "$s")")'"
    echo "export PG_${u}_OWNER_URL='$(pg_url "$(svc_owner "$s")" "$(svc_owner_pass "$s")" "$PG_PORT" "$(svc_db "$s")")'"
  done
  echo "export PGBOUNCER_URL='$(pg_url "$(svc_role ledger)" "$(svc_pass ledger)" "$PGBOUNCER_PORT" wallet_ledger)'"
  echo "export PGBOUNCER_ADMIN_URL='$(pg_url "$PG_ADMIN_USER" "$PG_ADMIN_PASS" "$PGBOUNCER_PORT" postgres)'"
  echo "export PGBOUNCER_HOSTPORT='$HOST:$PGBOUNCER_PORT'"
  echo "export REDIS_URL='redis://$HOST:$REDIS_PORT'"
  echo "export REDIS_HOST='$HOST:$REDIS_PORT'"
  echo "export RABBITMQ_URL='amqp://wallet:wallet@$HOST:$RABBITMQ_PORT'"
  echo "export KAFKA_BROKERS='$HOST:$KAFKA_PORT'"
  echo "export CHROMIUM_BIN='$(chromium_bin)'"
}

cmd_clean() {
  cmd_down
  log "removing $DATA"
  rm -rf "$DATA"
}

usage() { sed -n '2,17p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }

main() {
  local cmd="${1:-}"; [ $# -gt 0 ] && shift
  case "$cmd" in
    up) cmd_up "$@" ;;
    down|stop) cmd_down "$@" ;;
    status) cmd_status "$@" ;;
    restart) cmd_restart "$@" ;;
    env) cmd_env ;;
    clean) cmd_clean ;;
    rabbitmqctl) rmq_env; exec /usr/lib/rabbitmq/bin/rabbitmqctl "$@" ;;
    psql) PGBIN="$(pg_bin)"; PGPASSWORD="$PG_ADMIN_PASS" exec "$PGBIN/psql" -X -h "$HOST" -p "$PG_PORT" -U "$PG_ADMIN_USER" "${@:-postgres}" ;;
    redis-cli) exec redis-cli -h "$HOST" -p "$REDIS_PORT" "$@" ;;
    -h|--help|help|"") usage ;;
    *) usage; exit 2 ;;
  esac
}
main "$@"
