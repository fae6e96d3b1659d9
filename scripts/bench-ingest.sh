#!/usr/bin/env bash
# Lead ingest benchmark: a real `leadcap serve` on loopback, load from wrk in
# a second process, at 16, 64 and 256 concurrent connections. Afterwards the
# number of stored leads is checked against the 2xx answers wrk counted.
#
#   scripts/bench-ingest.sh                 # SQLite in a temporary data dir
#   DB=postgres://postgres@127.0.0.1:5432/test?sslmode=disable scripts/bench-ingest.sh
#   DURATION=20s CONNS="64" scripts/bench-ingest.sh
set -euo pipefail
cd "$(dirname "$0")/.."
command -v wrk >/dev/null || { echo "needs wrk (apt-get install wrk)"; exit 1; }
DURATION=${DURATION:-10s}
CONNS=${CONNS:-"16 64 256"}
work=$(mktemp -d)
trap 'kill $pid 2>/dev/null || true; rm -rf "$work"' EXIT
go build -o "$work/leadcap" ./cmd/leadcap
export LEADCAP_DATA_DIR="$work/data" LEADCAP_LISTEN=127.0.0.1:18080 LEADCAP_LOG_LEVEL=warn
if [ -n "${DB:-}" ]; then
  schema="bench_$$"
  psql "$DB" -qc "CREATE SCHEMA $schema" >/dev/null
  trap 'kill $pid 2>/dev/null || true; psql "$DB" -qc "DROP SCHEMA $schema CASCADE" >/dev/null 2>&1; rm -rf "$work"' EXIT
  sep='?'; case "$DB" in *\?*) sep='&';; esac
  export LEADCAP_DATABASE_URL="$DB${sep}search_path=$schema"
fi
"$work/leadcap" conferences create --slug bench --name Bench --country BZ \
  --questions <(echo '[{"id":"size","type":"single","label":"Size","choices":[{"value":"small"},{"value":"large"}]}]') \
  --interests diving,fishing >/dev/null
"$work/leadcap" conferences open bench >/dev/null
"$work/leadcap" serve >"$work/serve.log" 2>&1 &
pid=$!
for _ in $(seq 50); do curl -sf "http://$LEADCAP_LISTEN/healthz" >/dev/null && break; sleep 0.1; done
backend=sqlite; [ -n "${DB:-}" ] && backend=postgres
echo "backend: $backend   cores: $(nproc)   duration: $DURATION each"
total_ok=0
for c in $CONNS; do
  out=$(wrk -t2 -c"$c" -d"$DURATION" --latency -s scripts/ingest.lua "http://$LEADCAP_LISTEN" 2>&1)
  rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
  p50=$(echo "$out" | awk '$1=="50%" {print $2}')
  p99=$(echo "$out" | awk '$1=="99%" {print $2}')
  reqs=$(echo "$out" | awk '/requests in/ {print $1}')
  non2xx=$(echo "$out" | awk '/Non-2xx/ {print $5}')
  errs=$(echo "$out" | awk '/Socket errors/ {print}')
  rss=$(awk '/VmRSS/ {print $2/1024 " MB"}' /proc/$pid/status)
  total_ok=$((total_ok + reqs - ${non2xx:-0}))
  printf 'clients %4s  req/s %9s  p50 %8s  p99 %8s  non-2xx %s  rss %s %s\n' "$c" "$rps" "$p50" "$p99" "${non2xx:-0}" "$rss" "$errs"
done
peak=$(awk '/VmHWM/ {print $2/1024 " MB"}' /proc/$pid/status)
kill -TERM $pid; wait $pid || true
stored=$("$work/leadcap" conferences list | awk '$1=="bench" {print $NF}')
echo "peak rss $peak; 2xx answers $total_ok; leads stored $stored"
# wrk does not count answers still in flight when it stops, so a few more
# leads than counted 2xx answers may be stored; fewer would be a lost lead.
[ "$stored" -ge "$total_ok" ] || { echo "LOST LEADS: fewer stored than 2xx answers"; exit 1; }
