#!/bin/bash
# Statements an idle host sends: log_statement=all on the throwaway server, one migrated CRM database, the host
# RUNNING with LISTEN open, /health/ready probed every 10 s for $1 minutes; counts the statements logged for that database.
set -eu
source /tmp/wt-ops-pg.env
PSQL="$PG_BIN/psql -h 127.0.0.1 -p $PG_PORT -U postgres -qAt"
DB=idle_$(date +%s)
$PSQL -c "ALTER SYSTEM SET log_statement = 'all'" -c "ALTER SYSTEM SET log_line_prefix = '%m [%p] db=%d '" -c "SELECT pg_reload_conf()" >/dev/null
$PSQL -c "CREATE DATABASE $DB"
$PSQL -d $DB -f /work/wt-ops/tests/fixtures/crm_schema.sql >/dev/null
export DATABASE_URL=postgresql://postgres@127.0.0.1:$PG_PORT/$DB
dotnet /work/wt-ops/src/Crm.Host/bin/Release/net10.0/Crm.Host.dll --migrate >/dev/null
mkdir -p /tmp/wt-ops-idle && cd /tmp/wt-ops-idle
printf "crm.admin.bind = \"127.0.0.1:29112\"\n${2:-}\n" > idle.conf
dotnet /work/wt-ops/src/Crm.Host/bin/Release/net10.0/Crm.Host.dll --config idle.conf > host.log 2>&1 &
HOST=$!
until grep -q "announces every change" host.log; do sleep 1; done
sleep 15   # the start's statements are over
LOG=$PG_CLUSTER/server.log
start=$(grep -c "db=$DB .*LOG:  \(statement\|execute\)" $LOG || true)
codes=""
for i in $(seq 1 $(( $1 * 6 ))); do codes+=$(curl -s -o /dev/null -w '%{http_code} ' http://127.0.0.1:29112/health/ready); sleep 10; done
end=$(grep -c "db=$DB .*LOG:  \(statement\|execute\)" $LOG || true)
kill -TERM $HOST; wait $HOST || true
echo "probes: $(( $1 * 6 )) every 10 s over $1 min; answers: $(echo $codes | tr ' ' '\n' | sort | uniq -c | tr '\n' ' ')"
echo "statements logged for $DB during the window: $(( end - start ))"
grep "db=$DB .*LOG:  \(statement\|execute\)" $LOG | tail -n +$(( start + 1 )) | cut -c1-160 | head -20
$PSQL -c "ALTER SYSTEM RESET log_statement" -c "ALTER SYSTEM RESET log_line_prefix" -c "SELECT pg_reload_conf()" >/dev/null
$PSQL -c "DROP DATABASE $DB WITH (FORCE)"
