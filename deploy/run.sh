#!/usr/bin/env bash
# `make run`: the local stack, then every service under honcho until Ctrl-C, then the stack down.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
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
"$ROOT/.venv/bin/honcho" -f deploy/Procfile -d "$ROOT" start
