#!/usr/bin/env bash
# The local stack without Docker: PostgreSQL from the OS packages and Apache Kafka (KRaft,
# one combined node) from the Maven Central jars, both living in the project's state folder.
#   deploy/stack.sh deps|up|down|status|logs|reset
# Ports and folders come from the environment (defaults in the Makefile and below).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
STATE=${STC_STATE_DIR:-$ROOT/.state}
KAFKA_PORT=${STC_KAFKA_PORT:-9092}
CONTROLLER_PORT=${STC_KAFKA_CONTROLLER_PORT:-9093}
PG_PORT=${STC_PG_PORT:-55432}
PG_USER=stc
DATABASES=${STC_DATABASES:-"stc_licensing stc_screening stc_enduser stc_credit"}
KAFKA_HEAP=${STC_KAFKA_HEAP:-"-Xms256m -Xmx768m"}
PY=${PYTHON:-$ROOT/.venv/bin/python}
PGBIN=${PGBIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1)}

KDIR=$STATE/kafka
# the jars are shared by every stack of this checkout (make run's and make test's)
LIBS=${STC_KAFKA_LIBS:-$ROOT/.state/kafka-libs}
PGDATA=$STATE/postgres/data
PGLOG=$STATE/postgres/postgres.log

say() { printf '\033[1m[stack]\033[0m %s\n' "$*" >&2; }
die() { printf '[stack] error: %s\n' "$*" >&2; exit 1; }

as_pg() {  # initdb and postgres refuse to run as root: use the postgres account then
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

deps() {
  local missing=()
  [ -n "$PGBIN" ] && [ -x "$PGBIN/initdb" ] || missing+=(postgresql)
  command -v java >/dev/null || missing+=(openjdk-17-jre-headless)
  command -v mvn >/dev/null || missing+=(maven)
  if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" = 0 ]; then
      say "installing OS packages: ${missing[*]}"
      apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
      PGBIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n1)
    else
      die "missing OS packages: ${missing[*]} — install them as root: apt-get install ${missing[*]}"
    fi
  fi
  if [ ! -f "$LIBS/.complete" ] || [ "$ROOT/deploy/kafka/pom.xml" -nt "$LIBS/.complete" ]; then
    say "fetching Apache Kafka jars from Maven Central (deploy/kafka/pom.xml)"
    rm -rf "$LIBS"; mkdir -p "$LIBS"
    mvn -q -B -f "$ROOT/deploy/kafka/pom.xml" -Dlibs.dir="$LIBS" package
    touch "$LIBS/.complete"
  fi
}

pg_running() { [ -f "$PGDATA/postmaster.pid" ] && as_pg "$PGBIN/pg_ctl" -D "$PGDATA" status >/dev/null 2>&1; }

pg_up() {
  mkdir -p "$STATE/postgres"
  [ "$(id -u)" = 0 ] && chown postgres: "$STATE/postgres" && chmod 755 "$STATE"
  if [ ! -f "$PGDATA/PG_VERSION" ]; then
    say "initialising PostgreSQL in $PGDATA"
    as_pg "$PGBIN/initdb" -D "$PGDATA" -U "$PG_USER" --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
    cat >>"$PGDATA/postgresql.conf" <<CONF
# local stack (deploy/stack.sh)
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = '$STATE/postgres'
synchronous_commit = on
fsync = on
max_connections = 300
shared_buffers = 256MB
logging_collector = off
CONF
  fi
  if pg_running; then
    say "PostgreSQL already running on 127.0.0.1:$PG_PORT"
  else
    say "starting PostgreSQL on 127.0.0.1:$PG_PORT"
    as_pg "$PGBIN/pg_ctl" -D "$PGDATA" -l "$PGLOG" -o "-p $PG_PORT" -w -t 60 start >/dev/null
  fi
  for db in $DATABASES; do
    if ! psql -h 127.0.0.1 -p "$PG_PORT" -U "$PG_USER" -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname='$db'" | grep -q 1; then
      psql -h 127.0.0.1 -p "$PG_PORT" -U "$PG_USER" -d postgres -qc "CREATE DATABASE $db" && say "created database $db"
    fi
  done
}

kafka_pid() { [ -f "$KDIR/kafka.pid" ] && kill -0 "$(cat "$KDIR/kafka.pid")" 2>/dev/null && cat "$KDIR/kafka.pid"; }

kafka_up() {
  mkdir -p "$KDIR/data"
  sed -e "s#@KAFKA_PORT@#$KAFKA_PORT#g" -e "s#@CONTROLLER_PORT@#$CONTROLLER_PORT#g" \
      -e "s#@DATA_DIR@#$KDIR/data#g" "$ROOT/deploy/kafka/server.properties.in" >"$KDIR/server.properties"
  if kafka_pid >/dev/null; then
    say "Kafka already running (pid $(kafka_pid))"
  else
    if [ ! -f "$KDIR/data/meta.properties" ]; then
      local id; id=$(java -cp "$LIBS/*" kafka.tools.StorageTool random-uuid 2>/dev/null | tail -n1)
      say "formatting Kafka storage (cluster $id)"
      java -cp "$LIBS/*" kafka.tools.StorageTool format -t "$id" -c "$KDIR/server.properties" --ignore-formatted >"$KDIR/format.log" 2>&1 \
        || { cat "$KDIR/format.log" >&2; die "kafka storage format failed"; }
    fi
    say "starting Kafka on 127.0.0.1:$KAFKA_PORT"
    # shellcheck disable=SC2086
    nohup java $KAFKA_HEAP -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -Djava.awt.headless=true \
      -Dorg.slf4j.simpleLogger.defaultLogLevel=info -Dorg.slf4j.simpleLogger.showDateTime=true \
      -Dorg.slf4j.simpleLogger.log.kafka=warn -Dorg.slf4j.simpleLogger.log.org.apache.kafka=warn \
      -Dorg.slf4j.simpleLogger.log.state.change.logger=warn -Dorg.slf4j.simpleLogger.log.kafka.server.KafkaRaftServer=info \
      -cp "$LIBS/*" kafka.Kafka "$KDIR/server.properties" >>"$KDIR/kafka.log" 2>&1 &
    echo $! >"$KDIR/kafka.pid"
  fi
  # an open port is not readiness: wait for a metadata round trip through the admin client
  "$PY" -m stc_common.tools.wait_kafka --bootstrap "127.0.0.1:$KAFKA_PORT" --timeout 90 \
    || { tail -n 40 "$KDIR/kafka.log" >&2; die "Kafka did not become ready"; }
}

up() {
  deps
  pg_up
  kafka_up
  "$PY" -m stc_common.kafka.topics ensure --bootstrap "127.0.0.1:$KAFKA_PORT"
  say "ready: Kafka 127.0.0.1:$KAFKA_PORT, PostgreSQL postgresql://$PG_USER@127.0.0.1:$PG_PORT/<db> (state in $STATE)"
}

down() {
  local pid
  if pid=$(kafka_pid); then
    say "stopping Kafka (pid $pid)"
    kill "$pid"; for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$KDIR/kafka.pid"
  if [ -n "$PGBIN" ] && pg_running; then
    say "stopping PostgreSQL"; as_pg "$PGBIN/pg_ctl" -D "$PGDATA" -m fast -w stop >/dev/null
  fi
}

status() {
  local rc=0
  if pid=$(kafka_pid); then
    printf 'kafka       running  pid %s  127.0.0.1:%s  rss %s MB\n' "$pid" "$KAFKA_PORT" "$(( $(ps -o rss= -p "$pid") / 1024 ))"
  else printf 'kafka       stopped\n'; rc=1; fi
  if [ -n "$PGBIN" ] && pg_running; then
    local ppid rss; ppid=$(head -n1 "$PGDATA/postmaster.pid")
    rss=$(ps -o rss= --ppid "$ppid" -p "$ppid" | awk '{s+=$1} END {print int(s/1024)}')
    printf 'postgresql  running  pid %s  127.0.0.1:%s  rss %s MB (all backends)\n' "$ppid" "$PG_PORT" "$rss"
  else printf 'postgresql  stopped\n'; rc=1; fi
  return $rc
}

logs() { tail -n "${LINES_:-50}" -F "$KDIR/kafka.log" "$PGLOG"; }

reset() { down; say "removing $STATE/kafka/data and $STATE/postgres"; rm -rf "$KDIR/data" "$STATE/postgres"; }

case "${1:-}" in
  deps) deps ;; up) up ;; down) down ;; status) status ;; logs) logs ;; reset) reset ;;
  *) echo "usage: $0 deps|up|down|status|logs|reset" >&2; exit 2 ;;
esac
