#!/usr/bin/env bash
# `make run`: the local stack, then every service under honcho until Ctrl-C, then the stack down.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
case "${1:-}" in -h|--help)
  cat <<'HELP'
make run (deploy/run.sh): Kafka, PostgreSQL, the four services, the edge and the demo, until Ctrl-C.
  STC_REPLICAS=N   N processes of each service on the same databases and topics (default 1,
                   at most 9). Replica 1 keeps the default ports (licensing 50051, screening
                   50052, enduser 50053, credit 50054; metrics 9101-9104), and the CLI and
                   the demo talk to it; the edge balances over every replica. Replica k is
                   the honcho process <service>-<k> on the first replica's ports plus
                   10*(k-1): licensing-2 on gRPC 50061 and metrics 9111, licensing-3 on
                   50071/9121 … Give the CLI several with a list:
                   STC_<SERVICE>_ADDR=127.0.0.1:50051,127.0.0.1:50061.
  STC_LOG_JSON=true  JSON log lines;  STC_KEEP_STACK=1  leave Kafka and PostgreSQL running.
HELP
  exit 0 ;;
esac
started=$(date +%s)
deploy/stack.sh up
export PATH="$ROOT/.venv/bin:$PATH"
export COLUMNS=${COLUMNS:-$(tput cols 2>/dev/null || echo 120)}  # rich's width under honcho
export STC_LOG_JSON=${STC_LOG_JSON:-false}   # readable key=value lines; JSON in production
export STC_RUN_STARTED=$started
export STC_ENVIRONMENT=development           # the committed development keys are accepted
stop_stack() { [ "${STC_KEEP_STACK:-0}" = 1 ] || deploy/stack.sh down; }
trap stop_stack EXIT
# honcho forwards Ctrl-C as SIGTERM to every process: each stops gracefully
# deploy/procfile.sh adds the replicas of each service (STC_REPLICAS, default 1)
procfile="${STC_STATE_DIR:-$ROOT/.state}/Procfile.run"
mkdir -p "$(dirname "$procfile")"
deploy/procfile.sh "${STC_REPLICAS:-1}" > "$procfile"
"$ROOT/.venv/bin/honcho" -f "$procfile" -d "$ROOT" start
