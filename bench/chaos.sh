#!/usr/bin/env bash
# Chaos suite: the faults the service promises to survive (README "How it works", SPEC §1 and §3), each run against
# a throwaway PostgreSQL on loopback with the host built in Release, each ending with a PASS or FAIL line and its
# figures; the script ends with "N passed, N failed" (exit 0 when none failed). See bench/README.md, "Chaos suite".
#
#   1 outage     a service host (interval 5s, every other setting default) working through a backlog; the PostgreSQL
#                server is stopped (pg_ctl stop -m fast) for OUTAGE_SECS while reminders keep coming due, then started
#                again. PASS: first successful scan (/health/worker lastSuccessAt) <= RECOVERY_GOAL s after the return,
#                no transition to FATAL (/api/events), /health/live 200 at every poll, no stack trace logged during the
#                outage, exit 0 on SIGTERM, exactly-once. Figures: lines logged during the outage (per minute), WARNING
#                and ERROR lines, the first notification after the return, when the journal caught up.
#   2 kill -9    Crm.Host --once on a KILL_ROWS backlog, SIGKILLed KILLS times at random moments (KILL_MIN_MS to
#                KILL_MAX_MS after the run's start in odd rounds, after its first commit in even ones), then one --once
#                to completion. PASS: the final --once exits 0, exactly-once.
#   3 racing     RACE_HOSTS service hosts (own folder and admin port each) on one database while RACE_ROWS rows come
#                due over RACE_SECS. PASS: no FATAL, every host exits 0 on SIGTERM, exactly-once.
#   4 backends   on a TERM_ROWS backlog, a --once runs whenever the previous one has ended (as cron would), while every
#                TERM_EVERY s (TERMS rounds) pg_terminate_backend ends every backend of the database; then --once again.
#                PASS: every run under the terminations ends by itself (0 or 1: a cron job must not hang), the last
#                exits 0, exactly-once.
# Exactly-once (as tests/Crm.Tests/Support/PostgresServer.cs AssertExactlyOnceAsync): every seeded row due, as many
# notifications, distinct occurrences and notified rows; 0 lost (due without a notification), 0 duplicated, 0 torn
# (notified_at without a notification or the reverse), 0 skipped.
#
# Knobs (environment), defaults in brackets (QUICK=1 in parentheses):
#   SCENARIOS="1 2 3 4"   which scenarios to run, in order
#   OUTAGE_SECS [120] (30)         how long the server stays down
#   OUTAGE_BACKLOG [20000] (5000)  due rows the host is working through when the server stops
#   OUTAGE_SOON [600] (200)        rows coming due during the outage, spread over it
#   RECOVERY_GOAL [30]             seconds allowed from the server's return to the first successful scan
#   JOURNAL_WAIT [60]              seconds after the return within which the journal should have caught up (a figure)
#   KILL_ROWS [200000] (20000)     backlog of scenario 2
#   KILLS [20] (5)                 SIGKILLs; each KILL_MIN_MS..KILL_MAX_MS [500..3000] ms after the run's start or first commit
#   RACE_HOSTS [3]  RACE_ROWS [50000] (5000)  RACE_SECS [60] (15)  RACE_INTERVAL [5s]
#   TERM_ROWS [100000] (10000)     backlog of scenario 4
#   TERMS [20] (5)  TERM_EVERY [1] seconds between two rounds of pg_terminate_backend
#   ONCE_LIMIT [600]               seconds any --once may run before it is SIGKILLed (reported "timeout")
#   ONCE_STALL [60]                --once SIGKILLed (reported "hung") after this many seconds without a new
#                                  notification while rows are due
#   CHAOS_SEED [random]            seed of bash's RANDOM (kill moments), printed at the start
#   KEEP=1                         keep the hosts' folders (config, output, logs) instead of removing them
#   QUICK=1                        the small values in parentheses (a smoke check, ~3 min)
# Needs dotnet (SDK of global.json), curl; PostgreSQL and jq are installed from Debian's packages if missing.
set -uo pipefail
bench=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$bench")
started=$(date +%s.%N)

QUICK=${QUICK:-0}
if [[ $QUICK == 1 ]]; then
  : "${OUTAGE_SECS:=30}" "${OUTAGE_BACKLOG:=5000}" "${OUTAGE_SOON:=200}" "${KILL_ROWS:=20000}" "${KILLS:=5}"
  : "${RACE_ROWS:=5000}" "${RACE_SECS:=15}" "${TERM_ROWS:=10000}" "${TERMS:=5}"
fi
SCENARIOS=${SCENARIOS:-1 2 3 4}
OUTAGE_SECS=${OUTAGE_SECS:-120}; OUTAGE_BACKLOG=${OUTAGE_BACKLOG:-20000}; OUTAGE_SOON=${OUTAGE_SOON:-600}
RECOVERY_GOAL=${RECOVERY_GOAL:-30}
KILL_ROWS=${KILL_ROWS:-200000}; KILLS=${KILLS:-20}; KILL_MIN_MS=${KILL_MIN_MS:-500}; KILL_MAX_MS=${KILL_MAX_MS:-3000}
RACE_HOSTS=${RACE_HOSTS:-3}; RACE_ROWS=${RACE_ROWS:-50000}; RACE_SECS=${RACE_SECS:-60}; RACE_INTERVAL=${RACE_INTERVAL:-5s}
TERM_ROWS=${TERM_ROWS:-100000}; TERMS=${TERMS:-20}; TERM_EVERY=${TERM_EVERY:-1}
ONCE_LIMIT=${ONCE_LIMIT:-600}; ONCE_STALL=${ONCE_STALL:-60}; JOURNAL_WAIT=${JOURNAL_WAIT:-60}; KEEP=${KEEP:-0}
CHAOS_SEED=${CHAOS_SEED:-$((RANDOM * 32768 + RANDOM))}
for v in OUTAGE_SECS OUTAGE_BACKLOG OUTAGE_SOON RECOVERY_GOAL KILL_ROWS KILLS KILL_MIN_MS KILL_MAX_MS RACE_HOSTS RACE_ROWS \
         RACE_SECS TERM_ROWS TERMS TERM_EVERY ONCE_LIMIT ONCE_STALL JOURNAL_WAIT CHAOS_SEED; do
  [[ ${!v} =~ ^[0-9]+$ ]] || { echo "chaos.sh: $v must be a whole number, not '${!v}'" >&2; exit 2; }
done
[[ $RACE_INTERVAL =~ ^[0-9]+(ms|s|m)$ ]] || { echo "chaos.sh: RACE_INTERVAL must be a duration such as 5s, not '$RACE_INTERVAL'" >&2; exit 2; }
(( OUTAGE_SECS >= 10 && OUTAGE_BACKLOG > 0 && OUTAGE_SOON > 0 && KILL_ROWS > 0 && RACE_HOSTS > 0 && RACE_ROWS > 0 \
   && RACE_SECS > 0 && TERM_ROWS > 0 && TERM_EVERY > 0 && KILL_MAX_MS >= KILL_MIN_MS )) \
  || { echo "chaos.sh: OUTAGE_SECS must be >= 10, the row counts, RACE_HOSTS, RACE_SECS, TERM_EVERY > 0, KILL_MAX_MS >= KILL_MIN_MS" >&2; exit 2; }
for s in $SCENARIOS; do [[ $s =~ ^[1-4]$ ]] || { echo "chaos.sh: SCENARIOS holds 1 to 4, not '$s'" >&2; exit 2; }; done
RANDOM=$CHAOS_SEED

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }
log() { printf 'chaos [%6.1fs]: %s\n' "$(elapsed "$started" "$(now)")" "$*" >&2; }
die() { echo "chaos.sh: $*" >&2; exit 1; }

# ---------------------------------------------------------------------------------------------- machine
source "$root/scripts/throwaway-postgres.sh"
pg_ensure_installed
command -v curl >/dev/null || die "curl is not on PATH"
command -v dotnet >/dev/null || die "dotnet is not on PATH"
if ! command -v jq >/dev/null; then
  log "installing jq from Debian's packages"
  pg_as_root apt-get update -qq
  pg_as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq jq >/dev/null || die "could not install jq"
fi

work=$(mktemp -d /tmp/crm-chaos.XXXXXX)       # one folder per host (working directory, config, output, logs)
: >"$work/pids"                                # every Crm.Host this script starts, for the cleanup
# Ends the hosts this script started (by pid, and only while that pid is still a Crm.Host), then the cluster.
kill_hosts() {
  local pid
  while read -r pid; do
    [[ -n $pid ]] || continue
    if [[ -r /proc/$pid/cmdline ]] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q 'Crm.Host.dll'; then
      kill -KILL "$pid" 2>/dev/null || true
    fi
  done <"$1"
}
scenario_pid="" build_pid=""
cleanup() {
  [[ -n $build_pid ]] && kill -TERM "$build_pid" 2>/dev/null
  [[ -n $scenario_pid ]] && kill -TERM "$scenario_pid" 2>/dev/null
  kill_hosts "$work/pids"
  pg_throwaway_stop
  if [[ $KEEP == 1 ]]; then echo "chaos.sh: hosts' folders kept in $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---------------------------------------------------------------------------------------------- cluster
pg_throwaway_start -c max_wal_size=4GB || die "PostgreSQL did not start"
PG_OPTS=$(cut -d' ' -f2- "$PG_CLUSTER/data/postmaster.opts")   # the server's own options, to start it again
log "PostgreSQL $("$PG_BIN/postgres" --version | awk '{print $3}') on 127.0.0.1:$PG_PORT; work in $work; CHAOS_SEED=$CHAOS_SEED"
export PGCLIENTENCODING=UTF8 DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
sql() { local db=$1; shift; "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PG_PORT" -U postgres -d "$db" "$@"; }
scalar() { sql "$1" -tA -c "$2"; }
pg_stop() { pg_as_owner "$PG_BIN/pg_ctl" -D "$PG_CLUSTER/data" -m fast -w -t 60 stop >/dev/null; }
pg_start() { pg_as_owner "$PG_BIN/pg_ctl" -D "$PG_CLUSTER/data" -l "$PG_CLUSTER/server.log" -w -t 60 start -o "$PG_OPTS" >/dev/null; }
pg_running() { pg_as_owner "$PG_BIN/pg_ctl" -D "$PG_CLUSTER/data" status >/dev/null 2>&1; }

# ---------------------------------------------------------------------------------------------- build
# In the background, waited for, so that a signal ends the script at once; no build node or compiler server is left
# running after it.
log "building Crm.Host (Release)"
MSBUILDDISABLENODEREUSE=1 DOTNET_CLI_USE_MSBUILD_SERVER=0 dotnet build "$root/src/Crm.Host" -c Release -nologo \
  -clp:ErrorsOnly -v quiet -nodeReuse:false -p:UseSharedCompilation=false >"$work/build.log" 2>&1 &
build_pid=$!
wait "$build_pid" || { cat "$work/build.log" >&2; die "dotnet build failed"; }
build_pid=""
dll=$root/src/Crm.Host/bin/Release/net10.0/Crm.Host.dll
[[ -f $dll ]] || die "no $dll after the build"

# ---------------------------------------------------------------------------------------------- template
# The CRM's real schema, the service's migration (by the host itself), and bench/seed.sql's users, organisation and
# person (no interaction). Every scenario copies it and adds its rows with bench/chaos/rows.sql.
log "template database: crm_schema.sql, Crm.Host --migrate, bench/seed.sql's users"
scalar postgres "CREATE DATABASE tmpl" >/dev/null || die "CREATE DATABASE failed"
sql tmpl -f "$root/tests/fixtures/crm_schema.sql" >/dev/null || die "crm_schema.sql failed"
mkdir -p "$work/migrate"
(cd "$work/migrate" && DATABASE_URL="postgresql://postgres@127.0.0.1:$PG_PORT/tmpl" CRM_LOG_DIR="$work/migrate/logs" \
   timeout -s KILL 300 dotnet "$dll" --migrate >"$work/migrate/out.txt" 2>&1) || { cat "$work/migrate/out.txt" >&2; die "--migrate failed"; }
sql tmpl -v due=0 -v not_due=0 -f "$bench/seed.sql" >/dev/null || die "seed.sql failed"

# ---------------------------------------------------------------------------------------------- helpers
# new_db <name> <rows> <from_s> <to_s> <tag>: a copy of the template with <rows> interactions due from now()+from_s
# to now()+to_s (negative: already due).
new_db() {
  scalar postgres "CREATE DATABASE $1 TEMPLATE tmpl" >/dev/null
  sql "$1" -v n="$2" -v from_s="$3" -v to_s="$4" -v tag="$5" -f "$bench/chaos/rows.sql" >/dev/null
}
add_rows() { sql "$1" -v n="$2" -v from_s="$3" -v to_s="$4" -v tag="$5" -f "$bench/chaos/rows.sql" >/dev/null; }
notifications() { scalar "$1" "SELECT count(*) FROM notifications"; }
DUE_LEFT="SELECT count(*) FROM crm_interactions WHERE status IN ('todo','in_progress') AND next_action_at <= now()
          AND notified_at IS NULL AND assignee_id IS NOT NULL"
due_left() { scalar "$1" "$DUE_LEFT"; }
# Rows not notified yet, due or still to come (every row a scenario adds will be due).
pending() { scalar "$1" "SELECT count(*) FROM crm_interactions WHERE notified_at IS NULL"; }

# host_dir <name>: a fresh working directory for one host (config, output, logs).
host_dir() { mkdir -p "$work/$1/logs"; echo "$work/$1"; }

# start_host <dir> <db> [args...]: Crm.Host in the background, in <dir>, with <dir>/host.conf when present; sets HOST_PID.
start_host() {
  local dir=$1 db=$2; shift 2
  local conf=()
  [[ -f $dir/host.conf ]] && conf=(--config "$dir/host.conf")
  (cd "$dir" && DATABASE_URL="postgresql://postgres@127.0.0.1:$PG_PORT/$db" CRM_LOG_DIR="$dir/logs" \
     exec dotnet "$dll" "${conf[@]}" "$@" >>"$dir/out.txt" 2>&1) &
  HOST_PID=$!
  echo "$HOST_PID" >>"$work/pids"
  [[ -z ${SCENARIO_PIDS:-} ]] || echo "$HOST_PID" >>"$SCENARIO_PIDS"
}

# wait_exit <pid> <seconds> [db]: waits for a host this shell started and sets WAIT_RC to its exit code (137: killed
# by SIGKILL). After <seconds>, or with <db> as soon as no notification has been written for ONCE_STALL seconds while
# rows are due (a --once that hangs), the host is SIGKILLed and WAIT_RC is "timeout" or "hung".
wait_exit() {
  local pid=$1 deadline=$(( $(date +%s) + $2 )) db=${3:-} count=-1 c since now_s
  since=$(date +%s)
  WAIT_RC=""
  while kill -0 "$pid" 2>/dev/null && [[ -z $WAIT_RC ]]; do
    now_s=$(date +%s)
    if (( now_s >= deadline )); then WAIT_RC=timeout; break; fi
    if [[ -n $db ]]; then
      c=$(notifications "$db" 2>/dev/null || echo "$count")
      if [[ $c != "$count" ]]; then count=$c; since=$now_s
      elif (( now_s - since >= ONCE_STALL )) && [[ $(due_left "$db" 2>/dev/null) != 0 ]]; then WAIT_RC=hung; break; fi
      sleep 1
    else
      sleep 0.2
    fi
  done
  if [[ -n $WAIT_RC ]]; then
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    return 0
  fi
  WAIT_RC=0
  wait "$pid" || WAIT_RC=$?
}

# run_once <dir> <db>: one Crm.Host --once to its end (at most ONCE_LIMIT seconds, or until it stalls); sets WAIT_RC.
run_once() {
  start_host "$1" "$2" --once
  wait_exit "$HOST_PID" "$ONCE_LIMIT" "$2"
}

# nap <seconds>: sleeps in steps of one second, so that no long sleep outlives an interrupted scenario.
nap() { local i; for i in $(seq 1 "$1"); do sleep 1; done; }

http_code() { curl -s -o /dev/null -m 3 -w '%{http_code}' "$1" 2>/dev/null || true; }

# wait_http <url> <seconds>: true once <url> answers 200.
wait_http() {
  local deadline=$(( $(date +%s) + $2 ))
  while (( $(date +%s) < deadline )); do [[ $(http_code "$1") == 200 ]] && return 0; sleep 0.3; done
  return 1
}

# free_port: a loopback port nothing listens on.
free_port() {
  local p
  for _ in $(seq 1 50); do
    p=$((20000 + RANDOM % 20000))
    ss -Htln "sport = :$p" 2>/dev/null | grep -q . || { echo "$p"; return; }
  done
  return 1
}

# fatal_events <admin url>: how many transitions to FATAL the host recorded (GET /api/events).
fatal_events() { curl -s -m 5 "$1/api/events?program=reminder_worker" | jq '[.[] | select(.to == "FATAL")] | length'; }

# exactly_once <db> <expected>: sets EO_SHOULD (rows due by now, which must each have one notification), EO_NOTES,
# EO_LOST (due, without a notification), EO_DUP (notifications beyond one per occurrence; every row seeded here has
# one occurrence, so also beyond one per interaction), EO_TORN (notified_at set without a notification, or the
# reverse), EO_SKIPPED (parked as bad rows) and EO_OK: <expected> rows due, as many notifications, distinct
# occurrences and notified rows, and every other count 0. The checks of tests/Crm.Tests/Support/PostgresServer.cs
# AssertExactlyOnceAsync, counted rather than asserted.
exactly_once() {
  local row
  row=$(scalar "$1" "
    SELECT (SELECT count(*) FROM crm_interactions
             WHERE status IN ('todo','in_progress') AND assignee_id IS NOT NULL AND next_action_at <= now()),
           (SELECT count(*) FROM notifications),
           (SELECT count(*) FROM crm_interactions i
             WHERE status IN ('todo','in_progress') AND assignee_id IS NOT NULL AND next_action_at <= now()
               AND NOT EXISTS (SELECT 1 FROM notifications n WHERE n.resource_id = i.id)),
           (SELECT greatest(count(*) - count(DISTINCT metadata->>'reminder_occurrence'), count(*) - count(DISTINCT resource_id))
              FROM notifications),
           (SELECT count(*) FROM crm_interactions i
             WHERE (i.notified_at IS NOT NULL) <> EXISTS (SELECT 1 FROM notifications n WHERE n.resource_id = i.id)),
           (SELECT count(*) FROM crm_actors.skipped_occurrences),
           (SELECT count(*) FROM crm_interactions WHERE notified_at IS NOT NULL),
           (SELECT count(DISTINCT metadata->>'reminder_occurrence') FROM notifications)" | tr '|' ' ')
  read -r EO_SHOULD EO_NOTES EO_LOST EO_DUP EO_TORN EO_SKIPPED EO_NOTIFIED EO_OCC <<<"$row"
  EO_OK=0
  [[ $EO_SHOULD == "$2" && $EO_NOTES == "$2" && $EO_OCC == "$2" && $EO_NOTIFIED == "$2" && $EO_LOST == 0 && $EO_DUP == 0 \
     && $EO_TORN == 0 && $EO_SKIPPED == 0 ]] && EO_OK=1
  EO_TEXT="$EO_SHOULD due, $EO_NOTES notifications: $EO_LOST lost, $EO_DUP duplicated, $EO_TORN torn, $EO_SKIPPED skipped"
}

# stack_lines <file>: lines of a stack trace ("   at ...") in a host's output.
stack_lines() { grep -c '^ *at ' "$1" 2>/dev/null || true; }

# Each scenario runs in a subshell (set -e: an unexpected error ends it, FAIL); it writes its PASS/FAIL line to
# $work/result, and its hosts are killed when it ends, whatever the way.
verdict() { # verdict <ok 0|1> <text>
  local word=FAIL; [[ $1 == 1 ]] && word=PASS
  echo "$word $2" >"$work/result"
}

# ---------------------------------------------------------------------------------------------- 1: outage
scenario_outage() {
  local db=s1 dir url port
  new_db "$db" 0 0 0 none
  dir=$(host_dir outage); port=$(free_port); url=http://127.0.0.1:$port
  printf 'crm.reminders.interval = 5s\ncrm.admin.bind = "127.0.0.1:%s"\n' "$port" >"$dir/host.conf"
  start_host "$dir" "$db"; local pid=$HOST_PID
  wait_http "$url/health/live" 60 || { verdict 0 "1 outage: the host's admin listener never answered"; return; }
  # From then on /health/live is polled every second until the host is stopped, in the background.
  ( for _ in $(seq 1 $((OUTAGE_SECS + 900))); do kill -0 "$pid" 2>/dev/null || break; echo "$(date +%s) $(http_code "$url/health/live")"; sleep 1; done ) >"$dir/live.txt" &
  local poller=$!
  # RUNNING first (startsecs), so that the outage meets a running program.
  local deadline=$(( $(date +%s) + 60 ))
  until [[ $(curl -s -m 3 "$url/api/programs/reminder_worker" | jq -r .state 2>/dev/null) == RUNNING ]]; do
    (( $(date +%s) < deadline )) || { verdict 0 "1 outage: reminder_worker not RUNNING within 60 s"; return; }
    sleep 0.5
  done
  # Rows that come due during the outage (from ~when it starts to 5 s before its end), then the backlog; the server
  # stops as soon as the host has written part of the backlog, so the outage cuts into a scan.
  local lead=8
  add_rows "$db" "$OUTAGE_SOON" "$lead" "$((lead + OUTAGE_SECS - 5))" outage
  add_rows "$db" "$OUTAGE_BACKLOG" -3600 -60 backlog
  local expected=$((OUTAGE_SOON + OUTAGE_BACKLOG)) written=0
  deadline=$(( $(date +%s) + 30 ))
  while (( written == 0 && $(date +%s) < deadline )); do sleep 0.1; written=$(notifications "$db"); done
  local t_stop lines_before
  lines_before=$(wc -l <"$dir/out.txt")
  pg_stop; t_stop=$(now)
  log "1 outage: server stopped with $written of $OUTAGE_BACKLOG backlog rows written; down for ${OUTAGE_SECS}s"
  nap "$OUTAGE_SECS"
  local lines_after; lines_after=$(wc -l <"$dir/out.txt")
  pg_start; local t_up; t_up=$(now)
  log "1 outage: server back; waiting for the first successful scan"
  # The first successful scan after the return: /health/worker's lastSuccessAt later than t_up.
  local t_scan="" last
  deadline=$(( $(date +%s) + 120 ))
  while [[ -z $t_scan ]] && (( $(date +%s) < deadline )); do
    last=$(curl -s -m 3 "$url/health/worker" | jq -r '.checks.worker.data.lastSuccessAt // empty' 2>/dev/null)
    if [[ -n $last ]]; then
      last=$(date -d "$last" +%s.%N)
      awk -v l="$last" -v u="$t_up" 'BEGIN { exit !(l > u) }' && t_scan=$last
    fi
    [[ -n $t_scan ]] || sleep 0.25
  done
  local recovery="none within 120" first_write
  [[ -n $t_scan ]] && recovery=$(elapsed "$t_up" "$t_scan")
  first_write=$(scalar "$db" "SELECT coalesce(round((extract(epoch FROM min(created_at)) - $t_up)::numeric, 1)::text, 'none')
                              FROM notifications WHERE created_at > to_timestamp($t_up)")
  local during; during=$(scalar "$db" "SELECT count(*) FROM crm_interactions
                                        WHERE next_action_at > to_timestamp($t_stop) AND next_action_at <= to_timestamp($t_up)")
  # Every row comes due by about the server's return: wait until none is left.
  deadline=$(( $(date +%s) + 120 ))
  while [[ $(pending "$db") != 0 ]] && (( $(date +%s) < deadline )); do sleep 1; done
  local fatal; fatal=$(fatal_events "$url")
  # The journal (same database) catches up with the transitions it missed: a figure, waited for at most
  # JOURNAL_WAIT seconds from the server's return.
  local transitions journal journal_text
  deadline=$(awk -v u="$t_up" -v w="$JOURNAL_WAIT" 'BEGIN { printf "%d", u + w }')
  while :; do
    transitions=$(curl -s -m 5 "$url/api/events?program=reminder_worker" | jq 'length')
    journal=$(scalar "$db" "SELECT count(*) FROM crm_actors.journal WHERE persistence_id = 'program-reminder_worker'")
    if (( journal >= transitions )); then journal_text="journal caught up $(elapsed "$t_up" "$(now)")s after the return"; break; fi
    if (( $(date +%s) >= deadline )); then journal_text="journal NOT caught up ${JOURNAL_WAIT}s after the return"; break; fi
    sleep 1
  done
  kill "$poller" 2>/dev/null || true; wait "$poller" 2>/dev/null || true
  kill -TERM "$pid"; wait_exit "$pid" 60; local rc=$WAIT_RC
  local polls bad
  polls=$(wc -l <"$dir/live.txt"); bad=$(awk '$2 != 200' "$dir/live.txt" | wc -l)
  # The lines the host wrote while the server was down.
  sed -n "$((lines_before + 1)),${lines_after}p" "$dir/out.txt" >"$dir/outage-lines.txt"
  local n_lines n_error n_stack n_warn per_min
  n_lines=$(wc -l <"$dir/outage-lines.txt")
  n_error=$(grep -cE ' - (ERROR|FATAL|CRITICAL) - ' "$dir/outage-lines.txt" || true)
  n_warn=$(grep -c ' - WARNING - ' "$dir/outage-lines.txt" || true)
  n_stack=$(stack_lines "$dir/outage-lines.txt")
  per_min=$(awk -v n="$n_lines" -v s="$OUTAGE_SECS" 'BEGIN { printf "%.1f", n * 60 / s }')
  local all_stack; all_stack=$(stack_lines "$dir/out.txt")
  exactly_once "$db" "$expected"
  local ok=1
  [[ -n $t_scan ]] && awk -v r="$recovery" -v g="$RECOVERY_GOAL" 'BEGIN { exit !(r <= g) }' || ok=0
  [[ $fatal == 0 && $bad == 0 && $polls -gt 0 && $n_stack == 0 && $rc == 0 && $EO_OK == 1 ]] || ok=0
  verdict "$ok" "1 outage (${OUTAGE_SECS}s, interval 5s, default supervision): first successful scan ${recovery}s after the server's return (goal <= ${RECOVERY_GOAL}s; first notification written at ${first_write}s); $during rows came due during the outage; FATAL transitions $fatal (of $transitions; $journal_text, $journal rows); /health/live non-200 $bad of $polls polls; logged during the outage: $n_lines lines ($per_min/min), $n_warn WARNING, $n_error ERROR, $n_stack stack-trace lines ($all_stack in the whole run); SIGTERM exit $rc; $EO_TEXT"
}

# ---------------------------------------------------------------------------------------------- 2: kill -9
scenario_kill() {
  local db=s2 dir i pid rc kills=0 ended=0 writing=0 ms before after deadline
  log "2 kill -9: seeding $KILL_ROWS due rows"
  new_db "$db" "$KILL_ROWS" -86400 -60 kill
  dir=$(host_dir kill)
  for i in $(seq 1 "$KILLS"); do
    before=$(notifications "$db")
    start_host "$dir" "$db" --once; pid=$HOST_PID
    # Odd rounds count the delay from the process's start (start-up, first batches), even ones from its first
    # commit (at most 60 s away), so that half the kills at least land while it writes.
    if (( i % 2 == 0 )); then
      deadline=$(( $(date +%s) + 60 ))
      while kill -0 "$pid" 2>/dev/null && [[ $(notifications "$db") == "$before" ]] && (( $(date +%s) < deadline )); do sleep 0.1; done
    fi
    ms=$((KILL_MIN_MS + RANDOM % (KILL_MAX_MS - KILL_MIN_MS + 1)))
    sleep "$(awk -v m="$ms" 'BEGIN { printf "%.3f", m / 1000 }')"
    kill -KILL "$pid" 2>/dev/null || true
    rc=0; wait "$pid" 2>/dev/null || rc=$?
    after=$(notifications "$db")
    if [[ $rc == 137 ]]; then
      kills=$((kills + 1))
      (( after > before )) && writing=$((writing + 1))
    else
      ended=$((ended + 1))
    fi
    [[ $(due_left "$db") == 0 ]] && break
  done
  before=$(notifications "$db")
  log "2 kill -9: $kills SIGKILLs ($writing after the run had committed), $before notifications written meanwhile; final --once"
  local t0; t0=$(now)
  run_once "$dir" "$db"; rc=$WAIT_RC
  local secs; secs=$(elapsed "$t0" "$(now)")
  exactly_once "$db" "$KILL_ROWS"
  local stacks; stacks=$(stack_lines "$dir/out.txt")
  local ok=0; [[ $rc == 0 && $EO_OK == 1 ]] && ok=1
  verdict "$ok" "2 kill -9: $kills SIGKILLs of --once, ${KILL_MIN_MS}-${KILL_MAX_MS} ms after its start or its first commit ($writing after the run had committed)$( (( ended > 0 )) && echo ", $ended run(s) ended by themselves first"), $before of $KILL_ROWS written meanwhile; final --once exit $rc in ${secs}s; $EO_TEXT; stack-trace lines $stacks"
}

# ---------------------------------------------------------------------------------------------- 3: racing
scenario_race() {
  local db=s3 i dir port pids=() urls=() dirs=()
  new_db "$db" 0 0 0 none
  for i in $(seq 1 "$RACE_HOSTS"); do
    dir=$(host_dir "race-$i"); port=$(free_port)
    printf 'crm.reminders.interval = %s\ncrm.admin.bind = "127.0.0.1:%s"\n' "$RACE_INTERVAL" "$port" >"$dir/host.conf"
    start_host "$dir" "$db"; pids+=("$HOST_PID"); urls+=("http://127.0.0.1:$port"); dirs+=("$dir")
  done
  for i in "${!urls[@]}"; do
    wait_http "${urls[$i]}/health/ready" 90 || { verdict 0 "3 racing: host $((i + 1)) not ready within 90 s"; return; }
  done
  log "3 racing: $RACE_HOSTS hosts up; $RACE_ROWS rows coming due over ${RACE_SECS}s"
  add_rows "$db" "$RACE_ROWS" 1 "$RACE_SECS" race
  local deadline=$(( $(date +%s) + RACE_SECS + 180 ))
  nap "$RACE_SECS"
  while [[ $(pending "$db") != 0 ]] && (( $(date +%s) < deadline )); do sleep 1; done
  local fatal=0 f states=""
  for i in "${!urls[@]}"; do
    f=$(fatal_events "${urls[$i]}"); fatal=$((fatal + ${f:-1}))
    states+="$(curl -s -m 3 "${urls[$i]}/api/programs/reminder_worker" | jq -r .state 2>/dev/null) "
  done
  local rcs="" stacks=0 shares="" late
  for i in "${!pids[@]}"; do kill -TERM "${pids[$i]}" 2>/dev/null || true; done
  for i in "${!pids[@]}"; do wait_exit "${pids[$i]}" 60; rcs+="$WAIT_RC "; done
  local journal_warnings=0
  for d in "${dirs[@]}"; do
    stacks=$((stacks + $(stack_lines "$d/out.txt")))
    journal_warnings=$((journal_warnings + $(grep -c 'The journal could not' "$d/out.txt" || true)))
    shares+="$(grep -o 'reminders: [0-9]* notified' "$d/out.txt" | awk '{ s += $2 } END { print s + 0 }')/"
  done
  late=$(scalar "$db" "SELECT round(percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM n.created_at - i.next_action_at))::numeric, 1)
                         || ' s p99, ' || round(max(extract(epoch FROM n.created_at - i.next_action_at))::numeric, 1) || ' s max'
                       FROM notifications n JOIN crm_interactions i ON i.id = n.resource_id")
  exactly_once "$db" "$RACE_ROWS"
  local ok=0; [[ $EO_OK == 1 && $fatal == 0 && $(tr -d ' 0' <<<"$rcs") == "" ]] && ok=1
  verdict "$ok" "3 racing: $RACE_HOSTS service hosts (interval $RACE_INTERVAL), $RACE_ROWS rows due over ${RACE_SECS}s; written per host ${shares%/}; delay ${late}; states at the end: ${states% }; FATAL transitions $fatal; SIGTERM exits ${rcs% }; $EO_TEXT; stack-trace lines $stacks; journal warnings $journal_warnings (one persistence id for all hosts until crm.node.name)"
}

# ---------------------------------------------------------------------------------------------- 4: killed connections
scenario_backends() {
  local db=s4 dir pid="" i rc terminated=0 rounds=0 runs=0 codes="" t
  log "4 killed connections: seeding $TERM_ROWS due rows"
  new_db "$db" "$TERM_ROWS" -86400 -60 backends
  dir=$(host_dir backends)
  # As cron would: a --once runs whenever the previous one has ended, and every TERM_EVERY s every backend of the
  # database is terminated, whether the run is starting up or writing.
  for i in $(seq 1 "$TERMS"); do
    if [[ -z $pid ]] || ! kill -0 "$pid" 2>/dev/null; then
      if [[ -n $pid ]]; then rc=0; wait "$pid" 2>/dev/null || rc=$?; codes+="$rc "; pid=""; fi
      [[ $(due_left "$db") == 0 ]] && break
      start_host "$dir" "$db" --once; pid=$HOST_PID; runs=$((runs + 1))
    fi
    sleep "$TERM_EVERY"
    t=$(scalar postgres "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity
                         WHERE datname = '$db' AND backend_type = 'client backend' AND pid <> pg_backend_pid()" 2>/dev/null || echo 0)
    terminated=$((terminated + t)); rounds=$((rounds + 1))
  done
  # The run still going must end by itself: it is SIGKILLed ("hung") after ONCE_STALL s without progress.
  if [[ -n $pid ]]; then wait_exit "$pid" "$ONCE_LIMIT" "$db"; codes+="$WAIT_RC "; fi
  local first; first=$(notifications "$db")
  log "4 killed connections: $terminated backends terminated in $rounds rounds; $runs --once run(s) exited ${codes% } with $first written; --once again"
  run_once "$dir" "$db"; local rc2=$WAIT_RC
  exactly_once "$db" "$TERM_ROWS"
  local stacks; stacks=$(stack_lines "$dir/out.txt")
  # A run may fail (exit 1: its scan did not complete), but each must end by itself, as a cron job must.
  local ok=1 c
  for c in $codes; do [[ $c == 0 || $c == 1 ]] || ok=0; done
  [[ $rc2 == 0 && $EO_OK == 1 ]] || ok=0
  verdict "$ok" "4 killed connections: $terminated backends terminated in $rounds rounds ${TERM_EVERY}s apart; $runs --once run(s) under them exited ${codes% } (hung = SIGKILLed after ${ONCE_STALL}s without progress) with $first of $TERM_ROWS written; last --once exit $rc2; $EO_TEXT; stack-trace lines $stacks"
}

# ---------------------------------------------------------------------------------------------- run
names=([1]=outage [2]=kill [3]=race [4]=backends)
passed=0; failed=0; results=()
for s in $SCENARIOS; do
  pg_running || pg_start || die "PostgreSQL is down and does not start again"
  rm -f "$work/result"; : >"$work/pids.$s"
  log "scenario $s (${names[$s]})"
  t0=$(now)
  (
    set -e
    SCENARIO_PIDS=$work/pids.$s          # this scenario's hosts, killed when it ends, whatever the way
    trap 'kill_hosts "$SCENARIO_PIDS"' EXIT
    "scenario_${names[$s]}"
  ) &
  scenario_pid=$!
  wait "$scenario_pid"
  status=$?
  if [[ ! -f $work/result ]]; then
    echo "FAIL $s ${names[$s]}: the scenario stopped on an unexpected error (exit $status; see the lines above)" >"$work/result"
  fi
  line="$(cat "$work/result") [$(elapsed "$t0" "$(now)")s]"
  results+=("$line")
  if [[ $line == PASS* ]]; then passed=$((passed + 1)); else failed=$((failed + 1)); fi
  echo "$line"
done
pg_running || pg_start || true

echo
echo "=================================== CrmActors chaos suite ==================================="
echo "machine: $(nproc) cores; PostgreSQL $("$PG_BIN/postgres" --version | awk '{print $3}'); dotnet $(dotnet --version); CHAOS_SEED=$CHAOS_SEED$([[ $QUICK == 1 ]] && echo '; QUICK')"
printf '%s\n' "${results[@]}"
echo "total script time: $(elapsed "$started" "$(now)")s"
echo "$passed passed, $failed failed"
(( failed == 0 ))
