#!/usr/bin/env bash
# Benchmark: how late reminders are written by a running host, and how many queries an idle host sends per hour
# (issue 12, item 4; SPEC §9). See bench/README.md, section "Lateness and idle queries". Knobs (environment):
#   MINUTES=3          the lateness window: interactions are created over it, due at random instants within it
#   ROWS=300           interactions created due in the future (inserted while the host runs)
#   MOVES=60           of those, moved while they wait: a third earlier, a third later, a third into the past
#   ALREADY_DUE=30     interactions created already due (next_action_at up to 2 h in the past)
#   BACKGROUND=10000   interactions that are never due within the run (bench/seed.sql's not-due kinds)
#   IDLE_MINUTES=3     idle window of the host with default settings (listen-interval 30m)
#   SHORT_MINUTES=7    idle window of a second host ticking every SHORT_TICK (interval = listen-interval), which
#                      gives the statements per safety-net tick and shows that nothing else is sent; 0 skips it
#   SHORT_TICK=6m      that host's tick (a HOCON duration); above Npgsql's 300 s idle lifetime of a pooled
#                      connection, as the default 30 min tick is, so a tick costs what it costs at default settings
#   BASELINE_MINUTES=0 idle window of a host ticking every 5m (listen-interval = interval = 5m: "today's 12"
#                      ticks an hour); 0 computes it from the statements per tick instead of measuring it
#   HOST_CONFIG=FILE   HOCON merged under the script's own settings (crm.admin.bind) for every host run
#   SEED=1             seed of the schedule (which rows, when, due when)
# Loopback only; the throwaway cluster, the hosts and the temporary files are removed on exit.
# Exit 0 when p99 lateness <= 1 s, idle queries per hour < 12 and every reminder was written exactly once.
set -euo pipefail
bench=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$bench")
started=$EPOCHREALTIME

MINUTES=${MINUTES:-3}; ROWS=${ROWS:-300}; MOVES=${MOVES:-60}; ALREADY_DUE=${ALREADY_DUE:-30}
BACKGROUND=${BACKGROUND:-10000}; IDLE_MINUTES=${IDLE_MINUTES:-3}; SHORT_MINUTES=${SHORT_MINUTES:-7}
BASELINE_MINUTES=${BASELINE_MINUTES:-0}; SHORT_TICK=${SHORT_TICK:-6m}; SEED=${SEED:-1}; HOST_CONFIG=${HOST_CONFIG:-}
for v in MINUTES ROWS MOVES ALREADY_DUE BACKGROUND IDLE_MINUTES SHORT_MINUTES BASELINE_MINUTES SEED; do
  [[ ${!v} =~ ^[0-9]+$ ]] || { echo "lateness.sh: $v must be a whole number, not '${!v}'" >&2; exit 2; }
done
(( MINUTES > 0 && ROWS > 0 && IDLE_MINUTES > 0 )) || { echo "lateness.sh: MINUTES, ROWS, IDLE_MINUTES must be > 0" >&2; exit 2; }
(( MOVES <= ROWS )) || { echo "lateness.sh: MOVES must be <= ROWS" >&2; exit 2; }
[[ -z $HOST_CONFIG || -r $HOST_CONFIG ]] || { echo "lateness.sh: HOST_CONFIG '$HOST_CONFIG' is not readable" >&2; exit 2; }

us_now() { local t=$EPOCHREALTIME; echo $(( ${t/./} )); }   # microseconds since the epoch
elapsed() { awk -v a="$started" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }'; }
log() { printf 'lateness [%6ss]: %s\n' "$(elapsed)" "$*" >&2; }
die() { echo "lateness.sh: FAILED: $*" >&2; exit 1; }
load() { cut -d' ' -f1-3 /proc/loadavg; }

# ---------------------------------------------------------------------------------------------- machine
source "$root/scripts/throwaway-postgres.sh"
pg_ensure_installed
command -v dotnet >/dev/null || die "dotnet is not on PATH"
command -v curl >/dev/null || die "curl is not on PATH"
[[ -f $("$PG_BIN/pg_config" --pkglibdir)/pg_stat_statements.so ]] || die "pg_stat_statements is not installed with PostgreSQL"

work=$(mktemp -d /tmp/crm-lateness.XXXXXX)
HOST_PID=""
stop_host() {
  [[ -n $HOST_PID ]] || return 0
  if kill -0 "$HOST_PID" 2>/dev/null; then
    kill -TERM "$HOST_PID" 2>/dev/null || true
    for _ in $(seq 1 150); do kill -0 "$HOST_PID" 2>/dev/null || break; sleep 0.2; done
    kill -0 "$HOST_PID" 2>/dev/null && { log "host $HOST_PID did not stop within 30 s: SIGKILL"; kill -KILL "$HOST_PID" 2>/dev/null || true; }
  fi
  wait "$HOST_PID" 2>/dev/null || true
  HOST_PID=""
}
cleanup() {
  local jobs_left
  jobs_left=$(jobs -pr | grep -vx "${HOST_PID:-none}" || true)
  [[ -n $jobs_left ]] && kill $jobs_left 2>/dev/null || true
  stop_host
  pg_throwaway_stop
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
load_start=$(load)

# ---------------------------------------------------------------------------------------------- cluster
# pg_stat_statements counts what each role ran; the host connects as its own role (crm_host, owner of the CRM's
# tables as the CRM's application role would be), the script as postgres, so the two never mix. The server's
# statement log (log_statement = all for crm_host only) is the second count, with each statement's instant.
pg_throwaway_start -c shared_preload_libraries=pg_stat_statements -c pg_stat_statements.track_utility=on \
  || die "PostgreSQL did not start"
bin=$PG_BIN; port=$PG_PORT; server_log=$PG_CLUSTER/server.log
log "PostgreSQL $("$bin/postgres" --version | awk '{print $3}') on 127.0.0.1:$port; load average $load_start on $(nproc) cores"

export PGCLIENTENCODING=UTF8 PGAPPNAME=crm-lateness-bench DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
sql() { local db=$1; shift; "$bin/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" -U postgres -d "$db" "$@"; }
scalar() { sql "$1" -tA -F'|' -c "$2"; }
scalar postgres "ALTER SYSTEM SET log_line_prefix = '%m [%p] %u@%d %a: '" >/dev/null
scalar postgres "SELECT pg_reload_conf()" >/dev/null
scalar postgres "CREATE EXTENSION pg_stat_statements" >/dev/null
scalar postgres "CREATE ROLE crm_host LOGIN" >/dev/null
scalar postgres "ALTER ROLE crm_host SET log_statement = 'all'" >/dev/null
scalar postgres "CREATE DATABASE crm OWNER crm_host" >/dev/null
host_oid=$(scalar postgres "SELECT oid FROM pg_roles WHERE rolname = 'crm_host'")
"$bin/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" -U crm_host -d crm -f "$root/tests/fixtures/crm_schema.sql" >/dev/null \
  || die "loading the CRM schema failed"

# ---------------------------------------------------------------------------------------------- build, migrate, seed
log "building Crm.Host (Release)"
dotnet build "$root/src/Crm.Host" -c Release -nologo -clp:ErrorsOnly -v quiet >"$work/build.log" 2>&1 \
  || { cat "$work/build.log" >&2; die "dotnet build failed"; }
dll=$root/src/Crm.Host/bin/Release/net10.0/Crm.Host.dll
[[ -f $dll ]] || die "no $dll after the build"
export DATABASE_URL="postgresql://crm_host@127.0.0.1:$port/crm"
CRM_LOG_DIR="$work/migrate-logs" dotnet "$dll" --migrate >"$work/migrate.out" 2>&1 \
  || { cat "$work/migrate.out" >&2; die "Crm.Host --migrate failed"; }
[[ $(scalar crm "SELECT count(*) FROM pg_trigger WHERE tgname = 'crm_actors_reminder_changed'") == 1 ]] \
  || die "--migrate did not add the trigger crm_actors_reminder_changed"
sql crm -v due=0 -v not_due="$BACKGROUND" -f "$bench/seed.sql" >/dev/null
# Where the script keeps what it did: one row per occurrence it set (insert or move), with the commit instant.
sql crm >/dev/null <<'SQL'
CREATE SCHEMA bench;
CREATE TABLE bench.events (k int NOT NULL, interaction_id int NOT NULL, kind text NOT NULL,
                           next_action_at timestamptz NOT NULL, set_at timestamptz NOT NULL);
VACUUM ANALYZE;
SQL
log "CRM schema, --migrate (trigger in place), $BACKGROUND background interactions (none due within the run)"

# ---------------------------------------------------------------------------------------------- host
port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
free_port() { local p; for _ in $(seq 50); do p=$((40000 + RANDOM % 20000)); port_free "$p" && { echo "$p"; return; }; done; die "no free loopback port"; }

# start_host <tag> [hocon lines]: runs the service (not --once) in the background with HOST_CONFIG, the given lines and
# its own admin listener; returns once /health/worker answers 200 and the LISTEN connection is up.
start_host() {
  local tag=$1 extra=${2:-}
  ADMIN_PORT=$(free_port)
  mkdir -p "$work/$tag"
  HOST_CONF=$work/$tag/host.conf
  { [[ -n $HOST_CONFIG ]] && cat "$HOST_CONFIG"; echo; echo "crm.admin.bind = \"127.0.0.1:$ADMIN_PORT\""; printf '%s\n' "$extra"; } >"$HOST_CONF"
  HOST_OUT=$work/$tag/out.txt
  CRM_LOG_DIR="$work/$tag/logs" dotnet "$dll" --config "$HOST_CONF" >"$HOST_OUT" 2>&1 &
  HOST_PID=$!
  local deadline=$((SECONDS + 180)) code=""
  while ((SECONDS < deadline)); do
    kill -0 "$HOST_PID" 2>/dev/null || { tail -n 40 "$HOST_OUT" >&2; die "host ($tag) exited during start"; }
    code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "http://127.0.0.1:$ADMIN_PORT/health/worker" || true)
    [[ $code == 200 ]] && grep -q 'database announces every change' "$HOST_OUT" && break
    sleep 0.5
  done
  [[ $code == 200 ]] || { tail -n 40 "$HOST_OUT" >&2; die "host ($tag) not healthy within 180 s"; }
  grep -q 'database announces every change' "$HOST_OUT" || { tail -n 40 "$HOST_OUT" >&2; die "host ($tag) is not listening"; }
  SAFETY_S=$(sed -n 's/.*Safety-net scan every \([0-9.]*\)s (the database announces.*/\1/p' "$HOST_OUT" | tail -n 1)
  log "host ($tag) pid $HOST_PID healthy on 127.0.0.1:$ADMIN_PORT, listening; safety-net tick every ${SAFETY_S}s"
}
host_cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$HOST_PID/stat"; }

# ---------------------------------------------------------------------------------------------- statement counts
stats_reset() { scalar postgres "SELECT pg_stat_statements_reset()" >/dev/null; }
# The host's statements since the reset: "calls|query" lines, most called first (the host's role only).
host_statements() {
  scalar postgres "SELECT calls, left(regexp_replace(query, '\s+', ' ', 'g'), ${1:-110}) FROM pg_stat_statements
                   WHERE userid = $host_oid ORDER BY calls DESC, query"
}
host_calls() { scalar postgres "SELECT coalesce(sum(calls), 0) FROM pg_stat_statements WHERE userid = $host_oid"; }
# Scans = calls of the scan's first page (the later pages carry the keyset condition).
host_scans() {
  scalar postgres "SELECT coalesce(sum(calls), 0) FROM pg_stat_statements WHERE userid = $host_oid
                   AND query LIKE 'SELECT i.id, i.title, i.assignee_id, i.next_action_at FROM crm_interactions i%'
                   AND query NOT LIKE '%) > (%'"
}
host_writes() {
  scalar postgres "SELECT coalesce(sum(calls), 0) FROM pg_stat_statements WHERE userid = $host_oid
                   AND query LIKE '%INSERT INTO notifications%'"
}
log_size() { stat -c %s "$server_log"; }
# Statements the server logged for crm_host between two byte offsets of its log.
logged_statements() {
  tail -c +"$(($1 + 1))" "$server_log" | head -c $(($2 - $1)) | grep ' crm_host@crm ' | grep -E 'LOG:  (statement|execute [^:]*): ' || true
}

# idle_window <tag> <minutes>: nothing is due or upcoming; counts what the host sends meanwhile. Sets IDLE_CALLS,
# IDLE_SCANS, IDLE_LOGGED, IDLE_SECS and writes the statements to $work/<tag>/idle-statements.txt.
idle_window() {
  local tag=$1 minutes=$2 upcoming off0 off1 t0 t1
  upcoming=$(scalar crm "SELECT count(*) FROM crm_interactions WHERE notified_at IS NULL AND assignee_id IS NOT NULL
                         AND status IN ('todo','in_progress') AND next_action_at < now() + interval '$((minutes + 5)) minutes'")
  [[ $upcoming == 0 ]] || die "idle window ($tag): $upcoming reminders are due or upcoming"
  sleep 3   # the last scan's outlook query, if any, lands before the window
  off0=$(log_size); stats_reset; t0=$EPOCHREALTIME
  log "idle window ($tag): ${minutes} min, nothing due or upcoming; load average $(load)"
  sleep $((minutes * 60))
  t1=$EPOCHREALTIME; off1=$(log_size)
  IDLE_SECS=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')
  IDLE_CALLS=$(host_calls); IDLE_SCANS=$(host_scans)
  host_statements >"$work/$tag/idle-statements.txt"
  logged_statements "$off0" "$off1" >"$work/$tag/idle-log.txt"
  IDLE_LOGGED=$(wc -l <"$work/$tag/idle-log.txt")
  IDLE_DISCARDS=$(scalar postgres "SELECT coalesce(sum(calls), 0) FROM pg_stat_statements WHERE userid = $host_oid AND query = 'DISCARD ALL'")
  IDLE_HEALTH=$(curl -s -w ' HTTP %{http_code}' --max-time 5 "http://127.0.0.1:$ADMIN_PORT/health/worker" || true)
  log "idle window ($tag): ${IDLE_CALLS} statements in ${IDLE_SECS}s (pg_stat_statements; server log: ${IDLE_LOGGED}), ${IDLE_SCANS} scan(s), ${IDLE_DISCARDS} DISCARD ALL"
  log "idle window ($tag): /health/worker after it: $IDLE_HEALTH"
  sed 's/^/    /' "$work/$tag/idle-statements.txt" >&2
  sed 's/^/    log: /' "$work/$tag/idle-log.txt" | cut -c1-170 >&2
}

# One event = one psql session and one statement (one transaction), as the CRM's API writes: the CRM's row, and the
# script's record of the occurrence with the instant just before the commit (clock_timestamp()).
run_event() {
  local kind=$1 k=$2 due=$3 stmt
  case $kind in
    insert|insert-due)
      stmt="WITH ins AS (
              INSERT INTO crm_interactions (org_id, type, title, body, created_by, status, assignee_id, next_action_at,
                                            interaction_date, attachments, external_participants, external_id)
              VALUES (1, 'call', 'Rappeler M. Martin — point sur le devis (réf. bench-$k)', 'Créé par bench/lateness.sh',
                      $((1 + k % 20)), '$([[ $((k % 3)) == 0 ]] && echo in_progress || echo todo)', $((1 + (k * 7) % 20)),
                      to_timestamp($due), now(), '[]', '[]', 'bench-$k')
              RETURNING id, next_action_at)
            INSERT INTO bench.events SELECT $k, id, '$kind', next_action_at, clock_timestamp() FROM ins" ;;
    move-*)
      stmt="WITH upd AS (
              UPDATE crm_interactions SET next_action_at = to_timestamp($due), notified_at = NULL, updated_at = now()
              WHERE external_id = 'bench-$k' RETURNING id, next_action_at)
            INSERT INTO bench.events SELECT $k, id, '$kind', next_action_at, clock_timestamp() FROM upd" ;;
  esac
  sql crm -c "$stmt" >/dev/null
}

# ---------------------------------------------------------------------------------------------- lateness window
start_host default
# The schedule, made once the host is up.
# One line per event, in order: launch offset (µs after T0), kind, k (the interaction's external_id is bench-k),
# next_action_at (epoch seconds, µs). Future rows are inserted over the first 80% of the window, due 1 s to the
# window's end after their insert; moves come while the row waits (1 s after the insert at the soonest).
W=$((MINUTES * 60))
T0_US=$(( $(us_now) + 3000000 ))
T0=$(awk -v t="$T0_US" 'BEGIN { printf "%.6f", t / 1e6 }')
awk -v W="$W" -v rows="$ROWS" -v moves="$MOVES" -v already="$ALREADY_DUE" -v seed="$SEED" -v t0="$T0" '
  function ev(off, kind, k, due) { printf "%.0f %s %d %.6f\n", off * 1e6, kind, k, t0 + due }
  BEGIN {
    srand(seed)
    for (k = 1; k <= rows; k++) {
      ins[k] = rand() * 0.8 * W; due[k] = ins[k] + 1 + rand() * (W - ins[k] - 1)
      ev(ins[k], "insert", k, due[k])
    }
    moved = 0
    for (k = 1; k <= rows && moved < moves; k++) {
      if (due[k] - ins[k] < 4) continue
      m = ins[k] + 1 + rand() * 0.9 * (due[k] - ins[k] - 2)     # while it waits, >= 1 s before its date
      kind = moved % 3
      if (kind == 0)      ev(m, "move-earlier", k, m + 0.5 + rand() * (due[k] - m - 0.5))
      else if (kind == 1) ev(m, "move-later",   k, due[k] + 1 + rand() * 60)
      else                ev(m, "move-past",    k, m - rand() * 3600)
      moved++
    }
    for (j = 1; j <= already; j++) { u = rand() * 0.9 * W; ev(u, "insert-due", rows + j, u - rand() * 7200) }
  }' | sort -n -k1,1 >"$work/schedule.txt"
events=$(wc -l <"$work/schedule.txt")
last_due=$(awk 'BEGIN { m = 0 } { if ($4 > m) m = $4 } END { printf "%.6f", m }' "$work/schedule.txt")

cpu0=$(host_cpu_ticks)
stats_reset
log "lateness window: $events events over ${MINUTES} min ($ROWS future inserts, $MOVES moves, $ALREADY_DUE already due), last date at +$(awk -v a="$T0" -v b="$last_due" 'BEGIN { printf "%.0f", b - a }')s"
max_slip=0; event_pids=()
while read -r off kind k due; do
  target=$((T0_US + off)); now=$(us_now)
  if ((target > now)); then d=$((target - now)); sleep "$((d / 1000000)).$(printf '%06d' $((d % 1000000)))"
  elif ((now - target > max_slip)); then max_slip=$((now - target)); fi
  ( run_event "$kind" "$k" "$due" 2>>"$work/events.err" || echo "$kind $k" >>"$work/events.failed" ) &
  event_pids+=($!)
done <"$work/schedule.txt"
wait "${event_pids[@]}" || true
failed_events=$( [[ -f $work/events.failed ]] && wc -l <"$work/events.failed" || echo 0)
[[ $failed_events == 0 ]] || { head -n 20 "$work/events.err" >&2; die "$failed_events events failed"; }
applied=$(scalar crm "SELECT count(*) FROM bench.events")
log "all events sent (schedule slip at most $((max_slip / 1000)) ms; $applied of $events applied); waiting for the last dates"

# Until every bench interaction is notified, or 120 s after the last date.
deadline_us=$(awk -v d="$last_due" 'BEGIN { printf "%.0f", (d + 120) * 1e6 }')
while :; do
  waiting=$(scalar crm "SELECT count(*) FROM crm_interactions WHERE external_id LIKE 'bench-%' AND notified_at IS NULL")
  (( waiting == 0 )) && break
  (( $(us_now) > deadline_us )) && { log "$waiting bench interactions still not notified 120 s after the last date"; break; }
  sleep 1
done
sleep 2
cpu1=$(host_cpu_ticks)
load_window=$(load)
window_calls=$(host_calls); window_scans=$(host_scans); window_writes=$(host_writes)
host_statements 140 >"$work/window-statements.txt"
host_cpu_s=$(awk -v a="$cpu0" -v b="$cpu1" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.1f", (b - a) / hz }')
log "lateness window done: host sent $window_calls statements ($window_scans scans, $window_writes write batches), used ${host_cpu_s}s CPU; load average $load_window"

# ---------------------------------------------------------------------------------------------- lateness
# Each event set one occurrence (interaction, next_action_at) at set_at; it ends when the next event on the same
# interaction sets another. An occurrence whose date comes (greatest(next_action_at, set_at)) more than 1 s before
# it ends must have exactly one notification; one moved away before its date must have none after the move.
sql crm >/dev/null <<'SQL'
CREATE TABLE bench.occurrences AS
WITH occ AS (
  SELECT e.*, lead(e.set_at) OVER (PARTITION BY e.k ORDER BY e.set_at) AS ended_at,
         greatest(e.next_action_at, e.set_at) AS due_from
  FROM bench.events e),
n AS (
  SELECT resource_id, (metadata->>'next_action_at')::timestamptz AS next_action_at, min(created_at) AS created_at,
         count(*) AS copies
  FROM notifications WHERE resource_type = 'interaction' GROUP BY 1, 2)
SELECT o.*, n.created_at, coalesce(n.copies, 0) AS copies,
       CASE WHEN o.ended_at IS NULL OR o.due_from < o.ended_at - interval '1 second' THEN 'expected'
            WHEN o.due_from >= o.ended_at THEN 'superseded' ELSE 'race' END AS expectation,
       extract(epoch FROM n.created_at - o.due_from) * 1000 AS late_ms
FROM occ o LEFT JOIN n ON n.resource_id = o.interaction_id AND n.next_action_at = o.next_action_at;
SQL
IFS='|' read -r n_expected n_written n_missing n_dup n_after_move n_superseded n_race <<<"$(scalar crm "
  SELECT count(*) FILTER (WHERE expectation = 'expected'),
         count(*) FILTER (WHERE copies > 0),
         count(*) FILTER (WHERE expectation = 'expected' AND copies = 0),
         count(*) FILTER (WHERE copies > 1),
         count(*) FILTER (WHERE copies > 0 AND ended_at IS NOT NULL AND created_at > ended_at),
         count(*) FILTER (WHERE expectation = 'superseded'),
         count(*) FILTER (WHERE expectation = 'race')
  FROM bench.occurrences")"
IFS='|' read -r p50 p95 p99 pmax pmin pcount <<<"$(scalar crm "
  SELECT round(percentile_cont(0.50) WITHIN GROUP (ORDER BY late_ms)::numeric, 1),
         round(percentile_cont(0.95) WITHIN GROUP (ORDER BY late_ms)::numeric, 1),
         round(percentile_cont(0.99) WITHIN GROUP (ORDER BY late_ms)::numeric, 1),
         round(max(late_ms)::numeric, 1), round(min(late_ms)::numeric, 1), count(*)
  FROM bench.occurrences WHERE copies > 0")"
[[ -n $pcount && $pcount != 0 ]] || die "no notification was written"
by_kind=$(sql crm -P pager=off -P footer=off -c "
  SELECT kind || CASE WHEN next_action_at <= set_at AND kind IN ('insert', 'move-earlier', 'move-later')
                      THEN ' (already due when set)' ELSE '' END AS occurrence,
         count(*) AS written,
         round(percentile_cont(0.50) WITHIN GROUP (ORDER BY late_ms)::numeric, 1) AS p50_ms,
         round(percentile_cont(0.99) WITHIN GROUP (ORDER BY late_ms)::numeric, 1) AS p99_ms,
         round(max(late_ms)::numeric, 1) AS max_ms
  FROM bench.occurrences WHERE copies > 0 GROUP BY 1 ORDER BY 1")
histogram=$(scalar crm "
  WITH v(upper_ms, label) AS (VALUES (50, '<= 50 ms'), (100, '<= 100 ms'), (250, '<= 250 ms'), (500, '<= 500 ms'),
                                     (1000, '<= 1 s'), (2000, '<= 2 s'), (5000, '<= 5 s'), (30000, '<= 30 s'),
                                     (1e12, '> 30 s')),
       b AS (SELECT upper_ms, label, lag(upper_ms, 1, -1e12) OVER (ORDER BY upper_ms) AS lower_ms FROM v),
       l AS (SELECT late_ms FROM bench.occurrences WHERE copies > 0),
       c AS (SELECT b.upper_ms, b.label, count(l.late_ms) AS n FROM b LEFT JOIN l ON l.late_ms > b.lower_ms AND l.late_ms <= b.upper_ms
             GROUP BY 1, 2)
  SELECT format('%-10s %5s %6s%%  %s', label, n, round(100.0 * n / (SELECT count(*) FROM l), 1),
                repeat('#', ceil(60.0 * n / (SELECT count(*) FROM l))::int))
  FROM c ORDER BY upper_ms")
slowest=$(sql crm -P pager=off -P footer=off -c "
  SELECT k, kind, to_char(next_action_at, 'HH24:MI:SS.MS') AS next_action_at, to_char(set_at, 'HH24:MI:SS.MS') AS set_at,
         to_char(created_at, 'HH24:MI:SS.MS') AS notified, round(late_ms::numeric, 1) AS late_ms
  FROM bench.occurrences WHERE copies > 0 ORDER BY late_ms DESC LIMIT 5")
log "lateness: $pcount notifications, p50 ${p50} ms, p95 ${p95} ms, p99 ${p99} ms, max ${pmax} ms"

# ---------------------------------------------------------------------------------------------- idle, default settings
idle_window default "$IDLE_MINUTES"
def_calls=$IDLE_CALLS; def_scans=$IDLE_SCANS; def_logged=$IDLE_LOGGED; def_secs=$IDLE_SECS; def_safety=$SAFETY_S
def_discards=$IDLE_DISCARDS; worker_after_idle=${IDLE_HEALTH##* }
curl -s --max-time 10 "http://127.0.0.1:$ADMIN_PORT/metrics" >"$work/metrics.txt" || die "GET /metrics failed"
delay_hist=$(grep '^crm_reminder_delay_seconds' "$work/metrics.txt" || true)
[[ -n $delay_hist ]] || die "/metrics has no crm_reminder_delay_seconds"
stop_host

# ---------------------------------------------------------------------------------------------- statements per tick
# A host ticking every SHORT_TICK: the statements of one safety-net tick (park check, scan page, outlook, and the
# DISCARD ALL that Npgsql sends before reusing a pooled connection), and that nothing else is sent between ticks.
# Npgsql closes a pooled connection idle for 300 s: a tick longer than that (the default 30 min, SHORT_TICK 6m)
# starts on a fresh connection and sends one DISCARD ALL fewer than a 1-minute tick.
per_tick=""; short_calls=""; short_scans=""; short_secs=""; short_logged=""; short_discards=""; short_safety=""
if (( SHORT_MINUTES > 0 )); then
  start_host short "crm.reminders.interval = $SHORT_TICK
crm.reminders.listen-interval = $SHORT_TICK"
  idle_window short "$SHORT_MINUTES"
  short_calls=$IDLE_CALLS; short_scans=$IDLE_SCANS; short_secs=$IDLE_SECS; short_logged=$IDLE_LOGGED
  short_discards=$IDLE_DISCARDS; short_safety=$SAFETY_S
  stop_host
  (( short_scans > 0 )) && per_tick=$(awk -v c="$short_calls" -v s="$short_scans" 'BEGIN { printf "%.2f", c / s }')
fi

base_calls=""; base_secs=""; base_scans=""
if (( BASELINE_MINUTES > 0 )); then
  start_host baseline "crm.reminders.interval = 5m
crm.reminders.listen-interval = 5m"
  idle_window baseline "$BASELINE_MINUTES"
  base_calls=$IDLE_CALLS; base_secs=$IDLE_SECS; base_scans=$IDLE_SCANS
  stop_host
fi

# ---------------------------------------------------------------------------------------------- per idle hour
# The default host ticks every listen-interval (30 min): a few minutes' window holds one tick or none, so a plain
# extrapolation of that window says 0 or 20 ticks an hour. Per hour = what the window held besides its ticks,
# scaled to an hour, plus (3600 / tick) ticks of per_tick statements each (per_tick measured on the SHORT_TICK host;
# without it, 6: park check, scan page, outlook, each after a DISCARD ALL, an upper bound).
tick_cost=${per_tick:-6}
def_naive=$(awk -v c="$def_calls" -v s="$def_secs" 'BEGIN { printf "%.1f", c * 3600 / s }')
def_hour=$(awk -v c="$def_calls" -v sc="$def_scans" -v t="$tick_cost" -v s="$def_secs" -v i="$def_safety" \
  'BEGIN { other = c - sc * t; if (other < 0) other = 0; printf "%.1f", other * 3600 / s + t * 3600 / i }')
def_other=$(awk -v c="$def_calls" -v sc="$def_scans" -v t="$tick_cost" 'BEGIN { printf "%.0f", c - sc * t }')
short_other=""
[[ -n $short_calls ]] && short_other=$(awk -v c="$short_calls" -v sc="$short_scans" -v t="$tick_cost" 'BEGIN { printf "%.0f", c - sc * t }')
def_no_discard=$(awk -v t="$tick_cost" -v d="${short_discards:-3}" -v sc="${short_scans:-1}" -v i="$def_safety" \
  'BEGIN { if (sc < 1) sc = 1; printf "%.1f", (t - d / sc) * 3600 / i }')
base_hour=$(awk -v t="$tick_cost" 'BEGIN { printf "%.1f", t * 12 }')
base_note="computed: 12 ticks x $tick_cost"
if [[ -n $base_calls ]]; then
  base_hour=$(awk -v c="$base_calls" -v s="$base_secs" 'BEGIN { printf "%.1f", c * 3600 / s }')
  base_note="measured: $base_calls statements, $base_scans scan(s) in ${base_secs}s"
fi

# ---------------------------------------------------------------------------------------------- summary
total=$(elapsed)
p99_ok=$(awk -v p="$p99" 'BEGIN { print (p <= 1000) ? "yes" : "NO" }')
idle_ok=$(awk -v q="$def_hour" 'BEGIN { print (q < 12) ? "yes" : "NO" }')
exact_ok=yes; (( n_missing == 0 && n_dup == 0 && n_after_move == 0 )) || exact_ok=NO
{
  echo
  echo "============================ CrmActors lateness and idle queries ============================"
  echo "machine: $(nproc) cores, $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo); load average $load_start at start, $load_window after the window, $(load) at the end"
  echo "PostgreSQL $("$bin/postgres" --version | awk '{print $3}'); dotnet $(dotnet --version); host in Release, default settings (crm.admin.bind only${HOST_CONFIG:+, plus $HOST_CONFIG})"
  echo "window: ${MINUTES} min, $events events in separate sessions: $ROWS inserted due later, $MOVES moved while waiting (earlier/later/into the past), $ALREADY_DUE inserted already due; $BACKGROUND background rows; seed $SEED; schedule slip max $((max_slip / 1000)) ms"
  echo "occurrences: $applied set, $n_expected expected, $n_written written, $n_missing missing, $n_dup duplicated, $n_after_move written after being moved away, $n_superseded moved away before their date, $n_race within 1 s of a move"
  echo "host during the window: $window_calls statements ($window_scans scans, $window_writes write batches), ${host_cpu_s}s CPU"
  echo "lateness = notifications.created_at - greatest(next_action_at, commit of the insert or move), over $pcount notifications:"
  echo "  p50 ${p50} ms   p95 ${p95} ms   p99 ${p99} ms   max ${pmax} ms   (min ${pmin} ms)"
  echo "$by_kind" | sed 's/^/  /'
  echo "  histogram:"
  echo "$histogram" | sed 's/^/    /'
  echo "  slowest:"
  echo "$slowest" | sed 's/^/  /'
  echo "/metrics crm_reminder_delay_seconds (host's view: now - next_action_at, so rows moved into the past count from their old date):"
  echo "$delay_hist" | sed 's/^/  /'
  echo "idle, default settings (tick every ${def_safety}s): $def_calls statements in ${def_secs}s (server log: $def_logged), $def_scans scan(s), $def_discards DISCARD ALL, $def_other not from a tick; /health/worker after it: $worker_after_idle"
  sed 's/^/    /' "$work/default/idle-statements.txt"
  if [[ -n $short_calls ]]; then
    echo "idle, tick every ${short_safety}s: $short_calls statements in ${short_secs}s (server log: $short_logged), $short_scans scan(s), $short_discards DISCARD ALL, $short_other not from a tick: ${per_tick:-n/a} statements per tick"
    sed 's/^/    /' "$work/short/idle-statements.txt"
  fi
  echo "idle, tick every 5m (today's 12 ticks an hour): ${base_hour} statements per hour ($base_note)"
  echo "idle queries per hour, default settings: ${def_hour} (= window without its ticks scaled to 1 h + 3600/${def_safety} ticks x ${tick_cost}; the window alone, scaled: ${def_naive}; without DISCARD ALL: ${def_no_discard})"
  echo "goal p99 <= 1000 ms: ${p99} ms: $p99_ok"
  echo "goal idle queries per hour < 12: ${def_hour}: $idle_ok"
  echo "exactly once (none missing, duplicated or written after a move): $exact_ok"
  echo "total script time: ${total}s"
} | tee "$work/summary.txt"
[[ $p99_ok == yes && $idle_ok == yes && $exact_ok == yes ]] || exit 1
