#!/usr/bin/env bash
# What an idle host costs its database, probes included (issue 20): a throwaway PostgreSQL with log_statement=all,
# one migrated CRM database, the host RUNNING with LISTEN open, /health/ready probed every 10 s for MINUTES minutes;
# counts the statements logged for that database in the window. Optional HOCON as the second argument
# (`crm.reminders { interval = 1m, listen-interval = 1m }` shows what a scan costs against what a probe costs).
#
#   bench/ready-probe-idle.sh 6          -> probes: 36 ... ; statements logged during the window: 0
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
minutes=${1:-6}
source "$root/scripts/throwaway-postgres.sh"
trap pg_throwaway_stop EXIT
pg_throwaway_start
dotnet build "$root/src/Crm.Host" -c Release -nologo -clp:ErrorsOnly >/dev/null
host_dll="$root/src/Crm.Host/bin/Release/net10.0/Crm.Host.dll"
PSQL=("$PG_BIN/psql" -h 127.0.0.1 -p "$PG_PORT" -U postgres -qAt)
"${PSQL[@]}" -c "ALTER SYSTEM SET log_statement = 'all'" -c "ALTER SYSTEM SET log_line_prefix = '%m [%p] db=%d '" -c "SELECT pg_reload_conf()" >/dev/null
db=idle_$(date +%s)
"${PSQL[@]}" -c "CREATE DATABASE $db"
"${PSQL[@]}" -d "$db" -f "$root/tests/fixtures/crm_schema.sql" >/dev/null
export DATABASE_URL=postgresql://postgres@127.0.0.1:$PG_PORT/$db
dotnet "$host_dll" --migrate >/dev/null
work=$(mktemp -d)
port=$(( 20000 + RANDOM % 10000 ))
printf 'crm.admin.bind = "127.0.0.1:%s"\ncrm.logging.dir = "%s"\n%s\n' "$port" "$work/logs" "${2:-}" > "$work/idle.conf"
dotnet "$host_dll" --config "$work/idle.conf" > "$work/host.log" 2>&1 &
host=$!
until grep -q "announces every change" "$work/host.log"; do sleep 1; done
sleep 15 # the start's own statements are over
log=$PG_CLUSTER/server.log
count() { grep -c "db=$db .*LOG:  \(statement\|execute\)" "$log" || true; }
start=$(count)
codes=""
for _ in $(seq 1 $(( minutes * 6 ))); do
  codes+=$(curl -s -o /dev/null -w '%{http_code} ' "http://127.0.0.1:$port/health/ready")
  sleep 10
done
end=$(count)
kill -TERM "$host"; wait "$host" || true
echo "probes: $(( minutes * 6 )) every 10 s over $minutes min; answers: $(echo $codes | tr ' ' '\n' | sort | uniq -c | tr '\n' ' ')"
echo "statements logged for $db during the window: $(( end - start ))"
grep "db=$db .*LOG:  \(statement\|execute\)" "$log" | tail -n +$(( start + 1 )) | cut -c1-160 | head -20 || true
rm -rf "$work"
