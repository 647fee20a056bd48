#!/usr/bin/env bash
# Starts and stops Parcours' infrastructure and services as plain processes on 127.0.0.1.
# Every step is idempotent: what already runs is reused.
# Usage: deploy/stack.sh install|infra|services|stop_services|up|down|clean|status
# PARCOURS_FINANCING_WORKERS=N: N financing projection workers beside the financing service
# (docs/scaling.md, "Projection workers"); default 0.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DATA="${PARCOURS_DATA_DIR:-$ROOT/.data}"
CACHE="${PARCOURS_CACHE_DIR:-$HOME/.cache/parcours}"
KAFKA_VERSION=3.9.1
KAFKA_LIBS="$CACHE/kafka-$KAFKA_VERSION/libs"
PG_HOST=127.0.0.1
PG_PORT="${PARCOURS_PG_PORT:-5432}"
PG_USER=parcours
PG_DB="${PARCOURS_PG_DB:-parcours}"
KAFKA_PORT="${PARCOURS_KAFKA_PORT:-9092}"
CONTROLLER_PORT="${PARCOURS_KAFKA_CONTROLLER_PORT:-9093}"
CONTRACTS_PORT="${PARCOURS_CONTRACTS_PORT:-8001}"
FINANCING_PORT="${PARCOURS_FINANCING_PORT:-8002}"
QUALITY_PORT="${PARCOURS_QUALITY_PORT:-8003}"
WEBHOOKS_PORT="${PARCOURS_WEBHOOKS_PORT:-8004}"
FINANCING_WORKERS="${PARCOURS_FINANCING_WORKERS:-0}"
VENV="$ROOT/.venv"
PY="${PARCOURS_PYTHON:-python3.11}"
export PARCOURS_DATABASE_URL="${PARCOURS_DATABASE_URL:-postgresql+asyncpg://$PG_USER@$PG_HOST:$PG_PORT/$PG_DB}"
export PARCOURS_KAFKA_BOOTSTRAP="${PARCOURS_KAFKA_BOOTSTRAP:-127.0.0.1:$KAFKA_PORT}"
# the demo's and the tests' receivers listen on loopback over http (docs/webhooks.md, "Addresses")
export PARCOURS_WEBHOOK_ALLOWED_HOSTS="${PARCOURS_WEBHOOK_ALLOWED_HOSTS:-127.0.0.1,localhost}"
mkdir -p "$DATA/run" "$DATA/log"

log() { printf '[stack] %s\n' "$*" >&2; }
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
alive() { # alive PID: running, not a zombie left by a kill -9 that nobody reaped yet
  kill -0 "$1" 2>/dev/null && ! grep -qs '^State:[[:space:]]*Z' "/proc/$1/status"
}
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
wait_for() { # wait_for SECONDS DESCRIPTION COMMAND...
  local limit=$1 what=$2; shift 2
  for _ in $(seq 1 $((limit * 5))); do "$@" && return 0; sleep 0.2; done
  log "timed out waiting for $what"; return 1
}
# Logs are kept across restarts: a process appends to its log; past PARCOURS_LOG_MAX_BYTES the
# file is moved aside with a timestamp, and only the PARCOURS_LOG_KEEP newest of those are kept.
LOG_MAX_BYTES="${PARCOURS_LOG_MAX_BYTES:-52428800}"
LOG_KEEP="${PARCOURS_LOG_KEEP:-5}"
log_file() { # log_file NAME: prints the path to append to, rotating it first when it is too large
  local f="$DATA/log/$1.log"
  if [ -f "$f" ] && [ "$(stat -c %s "$f")" -gt "$LOG_MAX_BYTES" ]; then
    mv "$f" "$DATA/log/$1.$(date -u +%Y%m%dT%H%M%S%N).log"
    ls -1t "$DATA/log/$1".*.log 2>/dev/null | tail -n +$((LOG_KEEP + 1)) | xargs -r rm -f
  fi
  printf '%s' "$f"
}
pg_ready() { "$(pg_bin)/pg_isready" -q -h $PG_HOST -p "$PG_PORT" -U postgres -d postgres; }
pg_bin() {
  local d; d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
  [ -n "$d" ] && echo "$d"
}

install_python() {
  if [ ! -x "$VENV/bin/python" ]; then log "creating virtualenv"; "$PY" -m venv "$VENV"; fi
  local stamp="$VENV/.installed-$(sha1sum "$ROOT/pyproject.toml" | cut -c1-12)"
  if [ ! -f "$stamp" ]; then
    log "installing Python packages"
    "$VENV/bin/pip" install -q --upgrade pip
    "$VENV/bin/pip" install -q -e "$ROOT[test,bench]"
    touch "$stamp"
  fi
}

install_postgres() {
  if [ -z "$(pg_bin)" ]; then
    log "installing PostgreSQL from the OS packages"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
  fi
}

install_kafka() {
  if [ ! -f "$KAFKA_LIBS/kafka_2.13-$KAFKA_VERSION.jar" ]; then
    command -v java >/dev/null || { log "Java 17 is required for Kafka"; exit 1; }
    log "resolving Kafka $KAFKA_VERSION jars from Maven Central"
    mkdir -p "$KAFKA_LIBS"
    mvn -B -q -f "$ROOT/deploy/kafka/pom.xml" dependency:copy-dependencies \
      -DoutputDirectory="$KAFKA_LIBS" -DincludeScope=runtime
  fi
}

install_chromium() {
  # the browser test drives the OS Chromium (Playwright never downloads a browser here)
  if ! command -v chromium >/dev/null; then
    log "installing Chromium from the OS packages"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  fi
}

install() { install_python; install_postgres; install_kafka; }

pg_data_dir() {
  # The cluster lives in the project's data directory, unless (running as root) the postgres
  # user cannot reach it, e.g. a checkout under /root: then in /var/tmp, one per checkout.
  if [ "$(id -u)" = 0 ] && ! runuser -u postgres -- test -x "$DATA"; then
    echo "/var/tmp/parcours-pg-$(printf %s "$ROOT" | sha1sum | cut -c1-10)"
  else
    echo "$DATA/pg"
  fi
}

start_postgres() {
  local bin; bin=$(pg_bin)
  local pgdata; pgdata=$(pg_data_dir)
  if ! pg_ready; then
    if [ ! -f "$pgdata/PG_VERSION" ]; then
      log "initialising a PostgreSQL cluster in $pgdata"
      mkdir -p "$pgdata"; [ "$(id -u)" = 0 ] && chown -R postgres:postgres "$pgdata"
      as_pg "$bin/initdb" -D "$pgdata" -U postgres --auth=trust -E UTF8 >/dev/null
      cat >> "$pgdata/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = '$pgdata'
max_connections = 300
shared_buffers = 256MB
fsync = ${PARCOURS_PG_FSYNC:-on}
CONF
    fi
    [ "$(id -u)" = 0 ] && chown postgres:postgres "$DATA/log" 2>/dev/null || true
    log "starting PostgreSQL on $PG_HOST:$PG_PORT"
    as_pg "$bin/pg_ctl" -D "$pgdata" -l "$pgdata/server.log" -w -o "-p $PG_PORT" start >/dev/null
  fi
  wait_for 30 PostgreSQL pg_ready
  local psql=("$bin/psql" -h $PG_HOST -p "$PG_PORT" -U postgres -qtA)
  if [ "$("${psql[@]}" -c "select 1 from pg_roles where rolname='$PG_USER'")" != 1 ]; then
    "${psql[@]}" -c "create role $PG_USER login createdb" >/dev/null
  fi
  # scratch databases are dropped WITH (FORCE): that may have to stop an autovacuum worker
  "${psql[@]}" -c "grant pg_signal_backend to $PG_USER" >/dev/null
  if [ "$("${psql[@]}" -c "select 1 from pg_database where datname='$PG_DB'")" != 1 ]; then
    "${psql[@]}" -c "create database $PG_DB owner $PG_USER" >/dev/null
  fi
}

start_kafka() {
  if port_open "$KAFKA_PORT"; then return 0; fi
  local kdir="$DATA/kafka"; mkdir -p "$kdir"
  sed -e "s|@KAFKA_PORT@|$KAFKA_PORT|g" -e "s|@CONTROLLER_PORT@|$CONTROLLER_PORT|g" \
      -e "s|@LOG_DIR@|$kdir/logs|g" "$ROOT/deploy/kafka/server.properties.in" > "$kdir/server.properties"
  local klog; klog=$(log_file kafka)
  local cp="$KAFKA_LIBS/*"
  local jopts=(-Xms256m -Xmx768m -XX:+UseG1GC -Dlog4j.configuration="file:$ROOT/deploy/kafka/log4j.properties")
  if [ ! -f "$kdir/logs/meta.properties" ]; then
    log "formatting Kafka KRaft storage"
    java "${jopts[@]}" -cp "$cp" kafka.tools.StorageTool format -t "$(cat /proc/sys/kernel/random/uuid | tr -d - | head -c 22)" \
      -c "$kdir/server.properties" --ignore-formatted > "$DATA/log/kafka-format.log" 2>&1
  fi
  log "starting Kafka $KAFKA_VERSION (KRaft) on 127.0.0.1:$KAFKA_PORT"
  nohup java "${jopts[@]}" -cp "$cp" kafka.Kafka "$kdir/server.properties" >> "$klog" 2>&1 &
  echo $! > "$DATA/run/kafka.pid"
  wait_for 90 Kafka port_open "$KAFKA_PORT"
}

migrate() { "$VENV/bin/parcours" db upgrade; }

start_service() { # name port
  local name=$1 port=$2 pidf="$DATA/run/$1.pid"
  if [ -f "$pidf" ] && alive "$(cat "$pidf")"; then return 0; fi
  if port_open "$port"; then log "port $port is taken by another process"; exit 1; fi
  log "starting $name on 127.0.0.1:$port"
  local out; out=$(log_file "$name")
  # several workers share their metrics through files (prometheus_client's multiprocess mode), a
  # directory per service emptied at each start (shared/observability.py, metrics_registry)
  # (prometheus_client takes the variable's mere presence, even empty, for that mode: unset otherwise)
  local metrics=(env -u PROMETHEUS_MULTIPROC_DIR)
  if [ "${PARCOURS_HTTP_WORKERS:-1}" -gt 1 ]; then
    metrics=(env "PROMETHEUS_MULTIPROC_DIR=$DATA/run/metrics-$name")
    rm -rf "$DATA/run/metrics-$name"; mkdir -p "$DATA/run/metrics-$name"
  fi
  # a session of its own: with PARCOURS_HTTP_WORKERS > 1 uvicorn forks workers, stopped with it (stop_pid)
  "${metrics[@]}" setsid nohup "$VENV/bin/uvicorn" --factory "services.$name.api.app:create_app" --host 127.0.0.1 --port "$port" \
    --workers "${PARCOURS_HTTP_WORKERS:-1}" --no-access-log >> "$out" 2>&1 &
  echo $! > "$pidf"
}

ready() { curl -fsS "http://127.0.0.1:$1/health/ready" >/dev/null 2>&1; }

start_worker() { # N: the Nth financing projection worker (one more member of the service's consumer group)
  local name="financing-worker-$1" pidf="$DATA/run/financing-worker-$1.pid"
  if [ -f "$pidf" ] && alive "$(cat "$pidf")"; then return 0; fi
  log "starting $name"
  local out; out=$(log_file "$name")
  nohup "$VENV/bin/python" -m services.financing.projection_worker >> "$out" 2>&1 &
  echo $! > "$pidf"
}

worker_pids() { # the pid files of the financing projection workers, in their order
  ls -1 "$DATA/run"/financing-worker-*.pid 2>/dev/null | sort -V || true
}

workers() { # workers 1..PARCOURS_FINANCING_WORKERS run; those numbered above are stopped
  case "$FINANCING_WORKERS" in ''|*[!0-9]*) log "PARCOURS_FINANCING_WORKERS must be a number"; exit 1;; esac
  for i in $(seq 1 "$FINANCING_WORKERS"); do start_worker "$i"; done
  local f n
  for f in $(worker_pids); do
    n=$(basename "$f" .pid); n=${n#financing-worker-}
    if [ "$n" -gt "$FINANCING_WORKERS" ]; then stop_pid "financing-worker-$n"; fi
  done
}

services() {
  start_service contracts "$CONTRACTS_PORT"
  start_service financing "$FINANCING_PORT"
  start_service quality "$QUALITY_PORT"
  start_service webhooks "$WEBHOOKS_PORT"
  for p in "$CONTRACTS_PORT" "$FINANCING_PORT" "$QUALITY_PORT" "$WEBHOOKS_PORT"; do wait_for 60 "service on $p" ready "$p"; done
  workers
}

infra() { install; start_postgres; start_kafka; migrate; }

test_deps() { install_chromium; }

up() {
  infra
  "$VENV/bin/parcours" demo load
  services
  cat <<MSG
Parcours is running:
  contracts  http://127.0.0.1:$CONTRACTS_PORT/docs
  financing  http://127.0.0.1:$FINANCING_PORT/docs
  quality    http://127.0.0.1:$QUALITY_PORT/docs
  webhooks   http://127.0.0.1:$WEBHOOKS_PORT/docs
  PostgreSQL 127.0.0.1:$PG_PORT (database $PG_DB), Kafka 127.0.0.1:$KAFKA_PORT
  logs in $DATA/log; demo keys in $DATA/demo-keys.txt
MSG
  if [ "$FINANCING_WORKERS" -gt 0 ]; then echo "  and $FINANCING_WORKERS financing projection worker(s) beside the financing service"; fi
}

stop_pid() { # name
  local pidf="$DATA/run/$1.pid"
  [ -f "$pidf" ] || return 0
  local pid; pid=$(cat "$pidf")
  if alive "$pid"; then
    # its process group when it leads one (a service and the workers uvicorn forked), else itself
    log "stopping $1"; kill -- "-$pid" 2>/dev/null || kill "$pid"
    for _ in $(seq 1 100); do alive "$pid" || break; sleep 0.2; done
    kill -9 -- "-$pid" 2>/dev/null || kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$pidf"
}

stop_services() {
  local f
  for f in $(worker_pids); do stop_pid "$(basename "$f" .pid)"; done
  for s in contracts financing quality webhooks; do stop_pid "$s"; done
}

down() {
  stop_services; stop_pid kafka
  local bin; bin=$(pg_bin)
  local pgdata; pgdata=$(pg_data_dir)
  if [ -f "$pgdata/postmaster.pid" ]; then log "stopping PostgreSQL"; as_pg "$bin/pg_ctl" -D "$pgdata" -m fast -w stop >/dev/null || true; fi
}

clean() { local pgdata; pgdata=$(pg_data_dir); down; rm -rf "$DATA" "$pgdata"; }

status() {
  for p in "$CONTRACTS_PORT" "$FINANCING_PORT" "$QUALITY_PORT" "$WEBHOOKS_PORT"; do
    if ready "$p"; then echo "127.0.0.1:$p ready"; else echo "127.0.0.1:$p down"; fi
  done
  local f pid
  for f in $(worker_pids); do
    pid=$(cat "$f")
    if alive "$pid"; then echo "$(basename "$f" .pid) running (pid $pid)"; else echo "$(basename "$f" .pid) down"; fi
  done
}

"${1:-up}" "${@:2}"
