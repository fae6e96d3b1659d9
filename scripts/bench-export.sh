#!/usr/bin/env bash
# Export benchmark (docs/PERFORMANCE.md, "Exports"): seeds N sealed leads
# (default 1,000,000) into a fresh SQLite data directory with the store's
# seeding helper, then runs `leadcap export` once per format under
# /usr/bin/time -v and prints wall time, rows/s, CPU time and peak RSS.
# Everything it made, the database included, is removed when it ends.
# With DB set to a PostgreSQL server's URL (no database name), the leads go
# into a new database on that server instead, dropped at the end.
#
#   scripts/bench-export.sh [N]            FORMATS="csv" scripts/bench-export.sh
#   DB=postgres://postgres@127.0.0.1:5432 scripts/bench-export.sh 200000
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-1000000}
formats=${FORMATS:-csv ndjson xlsx}

work=$(mktemp -d "${TMPDIR:-/tmp}/leadcap-bench-export.XXXXXX")
dburl=
if [ -n "${DB:-}" ]; then
  dbname="leadcap_bench_export_$$"
  dburl="$DB/$dbname?sslmode=disable"
  psql -q "$DB/postgres?sslmode=disable" -c "CREATE DATABASE $dbname"
  trap 'rm -rf "$work"; psql -q "$DB/postgres?sslmode=disable" -c "DROP DATABASE $dbname"' EXIT
else
  trap 'rm -rf "$work"' EXIT
fi
go build -o "$work/leadcap" ./cmd/leadcap

echo "seeding $n leads into ${dburl:-$work/data}"
LEADCAP_SEED_DIR="$work/data" LEADCAP_SEED_DATABASE_URL="$dburl" LEADCAP_SEED_LEADS="$n" \
  go test -count=1 -timeout 60m -run '^TestSeedExportBench$' -v ./internal/store/ | grep 'seeded' | tail -1
if [ -n "$dburl" ]; then
  psql -q "$dburl" -c 'VACUUM ANALYZE leads'
  echo "database: $(psql -tA "$dburl" -c "SELECT pg_size_pretty(pg_database_size(current_database()))")"
else
  echo "database: $(du -h "$work/data/leadcap.db" | cut -f1)"
fi
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"

printf '\n%-7s %10s %10s %12s %10s %10s %12s %10s\n' format rows wall rows/s user sys "peak RSS" size
for f in $formats; do
  LEADCAP_DATABASE_URL="$dburl" /usr/bin/time -v "$work/leadcap" export --data-dir "$work/data" --format "$f" --out "$work/leads.$f" --json \
    >"$work/summary.$f" 2>"$work/time.$f"
  rows=$(sed -n 's/.*"rows": \([0-9]*\).*/\1/p' "$work/summary.$f")
  wall=$(sed -n 's/.*Elapsed (wall clock) time.*: //p' "$work/time.$f")
  secs=$(echo "$wall" | awk -F: '{ if (NF == 3) print $1*3600 + $2*60 + $3; else print $1*60 + $2 }')
  user=$(sed -n 's/.*User time (seconds): //p' "$work/time.$f")
  sys=$(sed -n 's/.*System time (seconds): //p' "$work/time.$f")
  rss=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$work/time.$f")
  size=$(du -h "$work/leads.$f" | cut -f1)
  printf '%-7s %10s %9.2fs %12.0f %9ss %9ss %8.0f MiB %10s\n' "$f" "$rows" "$secs" "$(echo "$rows / $secs" | bc -l)" \
    "$user" "$sys" "$(echo "$rss / 1024" | bc -l)" "$size"
  rm -f "$work/leads.$f"
done
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
