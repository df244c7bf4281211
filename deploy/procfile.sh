#!/usr/bin/env bash
# Print deploy/Procfile with N processes of each service (issue 14 item 4), for honcho.
#   deploy/procfile.sh [N]     N from the argument, else STC_REPLICAS, else 1
# Replica 1 keeps the Procfile's line and ports (the CLI and the demo use it); the edge gets
# every replica's address (STC_<SERVICE>_ADDR as a comma-separated list) and balances over them.
# Replica k > 1 is the process `<service>-<k>`, on the same database and topics, with ports
# STC_<SERVICE>_GRPC_PORT_<k> / STC_<SERVICE>_METRICS_PORT_<k> when set, else the first
# replica's plus 10*(k-1): licensing 50051, 50061, 50071 …; metrics 9101, 9111, 9121 …
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
n=${1:-${STC_REPLICAS:-1}}
[[ "$n" =~ ^[1-9]$ ]] || { echo "replicas must be 1-9, got '$n'" >&2; exit 2; }
while IFS= read -r line; do
  svc=${line%%:*}
  if [[ "$svc" == edge ]]; then
    for SVC in LICENSING SCREENING ENDUSER CREDIT; do
      first=$(sed -n "s/.*STC_${SVC}_ADDR=127\.0\.0\.1:\(\${STC_${SVC}_GRPC_PORT:-[0-9]*}\).*/\1/p" <<<"$line")
      [[ -n "$first" ]] || { echo "deploy/Procfile: no STC_${SVC}_ADDR on the edge line" >&2; exit 2; }
      all="127.0.0.1:$first"
      for ((k = 2; k <= n; k++)); do
        all+=",127.0.0.1:\${STC_${SVC}_GRPC_PORT_${k}:-\$((${first} + $((10 * (k - 1)))))}"
      done
      line=${line/"STC_${SVC}_ADDR=127.0.0.1:$first"/"STC_${SVC}_ADDR=$all"}
    done
  fi
  printf '%s\n' "$line"
  case "$svc" in licensing|screening|enduser|credit) ;; *) continue ;; esac
  SVC=${svc^^}
  grpc=$(sed -n "s/.*STC_${SVC}_GRPC_PORT:-\([0-9]*\)}.*/\1/p" <<<"$line")
  metrics=$(sed -n "s/.*STC_${SVC}_METRICS_PORT:-\([0-9]*\)}.*/\1/p" <<<"$line")
  cmd=${line#*: }
  for ((k = 2; k <= n; k++)); do
    step=$((10 * (k - 1)))
    printf '%s-%s: export STC_%s_GRPC_PORT=${STC_%s_GRPC_PORT_%s:-$((${STC_%s_GRPC_PORT:-%s} + %s))} STC_%s_METRICS_PORT=${STC_%s_METRICS_PORT_%s:-$((${STC_%s_METRICS_PORT:-%s} + %s))}; %s\n' \
      "$svc" "$k" "$SVC" "$SVC" "$k" "$SVC" "$grpc" "$step" "$SVC" "$SVC" "$k" "$SVC" "$metrics" "$step" "$cmd"
  done
done < "$ROOT/deploy/Procfile"
