#!/usr/bin/env bash
# Lead ingest benchmark: a real `leadcap serve` on loopback, load from wrk in
# a second process, at 16, 64 and 256 concurrent connections. Afterwards the
# number of stored leads is checked against the 2xx answers wrk counted.
#
#   scripts/bench-ingest.sh                 # SQLite in a temporary data dir
#   DB=postgres://postgres@127.0.0.1:5432/test?sslmode=disable scripts/bench-ingest.sh
#   DURATION=20s CONNS="64" scripts/bench-ingest.sh
#   SHIELD=off scripts/bench-ingest.sh      # the figure without the shield
#   PROFILE=ingest.pprof CONNS=64 scripts/bench-ingest.sh
#                                           # also a CPU profile of the server
#                                           # during the first level's load
#
# With the shield on (the default) the server runs as shipped, with 10,000
# CIDR block rules loaded, and every request carries a valid render token
# fetched from the server: the token is verified and the honeypot and fill
# time checked on every lead, and every lead must come out not quarantined.
# All the load comes from one address, so the lead rate limits are raised
# far above it: they still run on every request, but refuse none. SHIELD=off
# turns the defences and rate limits off and loads no rules.
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
SHIELD=${SHIELD:-on}
if [ "$SHIELD" = off ]; then
  export LEADCAP_SHIELD_HONEYPOT=false LEADCAP_SHIELD_MIN_FILL_TIME=0s LEADCAP_SHIELD_RENDER_TOKEN=false \
    LEADCAP_SHIELD_PROOF_OF_WORK=false LEADCAP_RATE_LEADS_PER_IP=off LEADCAP_RATE_LEADS_PER_CONFERENCE=off \
    LEADCAP_RATE_API_PER_TOKEN=off
else
  export LEADCAP_RATE_LEADS_PER_IP="1000000/s burst 1000000" LEADCAP_RATE_LEADS_PER_CONFERENCE="1000000/s burst 1000000"
  # 10,000 distinct random /16 to /32 ranges, none of them loopback.
  awk 'BEGIN { srand(7); while (n < 10000) { a = 1 + int(rand() * 222); if (a == 127) continue;
    bits = 16 + int(rand() * 17); ip = a * 16777216 + int(rand() * 16777216);
    ip -= ip % (2 ^ (32 - bits)); cidr = sprintf("%d.%d.%d.%d/%d", int(ip / 16777216), int(ip / 65536) % 256,
    int(ip / 256) % 256, ip % 256, bits); if (!(cidr in seen)) { seen[cidr] = 1; print cidr; n++ } } }' >"$work/rules.txt"
  "$work/leadcap" shield block --from "$work/rules.txt" --note "benchmark" | tail -1
fi
[ -n "${PROFILE:-}" ] && export LEADCAP_DEBUG_LISTEN=127.0.0.1:16060
"$work/leadcap" serve >"$work/serve.log" 2>&1 &
pid=$!
for _ in $(seq 50); do curl -sf "http://$LEADCAP_LISTEN/healthz" >/dev/null && break; sleep 0.1; done
RENDER_TOKEN=""
if [ "$SHIELD" != off ]; then
  RENDER_TOKEN=$(curl -sf "http://$LEADCAP_LISTEN/api/v1/conferences/bench/form-token" | sed 's/.*"render_token":"\([^"]*\)".*/\1/')
  sleep 2.1 # the minimum fill time
fi
export RENDER_TOKEN
backend=sqlite; [ -n "${DB:-}" ] && backend=postgres
echo "backend: $backend   shield: $SHIELD   cores: $(nproc)   duration: $DURATION each   load: $(cut -d' ' -f1-3 /proc/loadavg)"
total_ok=0
profiled=""
for c in $CONNS; do
  if [ -n "${PROFILE:-}" ] && [ -z "$profiled" ]; then
    # Profile the middle of the run, away from its first and last second.
    secs=$(( ${DURATION%s} > 4 ? ${DURATION%s} - 3 : 1 ))
    (sleep 1; curl -sf -o "$PROFILE" "http://127.0.0.1:16060/debug/pprof/profile?seconds=$secs") &
    profiled=$!
  fi
  out=$(wrk -t2 -c"$c" -d"$DURATION" --latency -s scripts/ingest.lua "http://$LEADCAP_LISTEN" 2>&1)
  rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
  p50=$(echo "$out" | awk '$1=="50%" {print $2}')
  p99=$(echo "$out" | awk '$1=="99%" {print $2}')
  reqs=$(echo "$out" | awk '/requests in/ {print $1}')
  non2xx=$(echo "$out" | awk '/Non-2xx/ {print $5}')
  errs=$(echo "$out" | awk '/Socket errors/ {print}')
  rss=$(awk '/VmRSS/ {printf "%.0f MiB", $2/1024}' /proc/$pid/status)
  total_ok=$((total_ok + reqs - ${non2xx:-0}))
  printf 'clients %4s  req/s %9s  p50 %8s  p99 %8s  non-2xx %s  rss %s %s\n' "$c" "$rps" "$p50" "$p99" "${non2xx:-0}" "$rss" "$errs"
done
[ -n "$profiled" ] && { wait "$profiled" || true; echo "CPU profile of the server: $PROFILE (go tool pprof -top $PROFILE)"; }
peak=$(awk '/VmHWM/ {printf "%.0f MiB", $2/1024}' /proc/$pid/status)
# Raw copies and search indexing step aside while leads arrive in a burst
# and catch up afterwards: report how long the raw copies took to drain.
# The outbox gauge is refreshed every 5 s, so a zero counts only once it
# has been refreshed after the load: the time is good to about 5 s.
drain_start=$(date +%s)
for _ in $(seq 600); do
  pending=$(curl -sf "http://$LEADCAP_LISTEN/metrics" | awk '$1=="leadcap_outbox_pending" {print $2}')
  [ "${pending:-1}" = 0 ] && [ $(( $(date +%s) - drain_start )) -ge 6 ] && break
  sleep 1
done
echo "raw copies drained within $(( $(date +%s) - drain_start )) s after the load ended (outbox pending: ${pending:-unknown})"
kill -TERM $pid; wait $pid || true
stored=$("$work/leadcap" conferences list | awk '$1=="bench" {print $NF}')
echo "peak rss $peak; 2xx answers $total_ok; leads stored $stored"
# wrk does not count answers still in flight when it stops, so a few more
# leads than counted 2xx answers may be stored; fewer would be a lost lead.
[ "$stored" -ge "$total_ok" ] || { echo "LOST LEADS: fewer stored than 2xx answers"; exit 1; }
spam=$("$work/leadcap" shield quarantine --conference bench --limit 1 | awk '/quarantined leads/ {print $1}')
[ "$spam" = 0 ] || { echo "QUARANTINED: the shield took benchmark leads for spam"; exit 1; }
