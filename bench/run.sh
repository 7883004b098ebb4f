#!/usr/bin/env bash
# Benchmark: `Crm.Host --once` against one set-based SQL statement doing the same work (bench/set_based.sql),
# on identical copies of a seeded CRM database, plus the host's peak RSS on a small and a large backlog.
# See bench/README.md. Knobs (environment):
#   N=100000          due interactions in the timed database (with NOT_DUE not-due ones, default min(N, 100000))
#   REPS=3            host/statement pairs, each on fresh copies; the summary gives the median ratio
#   BATCH_SIZE, WRITERS  crm.reminders.batch-size and writers given to the host (default: the service's defaults)
#   PUSH=1            both sides announce each notification with pg_notify (the service's default); 0: neither does
#   RSS_SMALL=100000  due rows of the small peak-RSS run (reuses the timed runs when equal to N)
#   RSS_LARGE=1000000 due rows of the large peak-RSS run (with RSS_LARGE_NOT_DUE=100000 not-due rows); 0 skips it;
#                     reuses the timed runs when both equal N and NOT_DUE (N=1000000 does)
#   QUICK=1           smoke check: N=10000, REPS=1, small RSS run on the timed runs, no large run
# Needs: dotnet (SDK of global.json); PostgreSQL 15 and GNU time are installed from Debian's packages if missing.
set -euo pipefail
bench=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$bench")
started=$(date +%s.%N)

QUICK=${QUICK:-0}
if [[ $QUICK == 1 ]]; then
  N=${N:-10000}; REPS=${REPS:-1}; RSS_SMALL=${RSS_SMALL:-$N}; RSS_LARGE=${RSS_LARGE:-0}
else
  N=${N:-100000}; REPS=${REPS:-3}; RSS_SMALL=${RSS_SMALL:-100000}; RSS_LARGE=${RSS_LARGE:-1000000}
fi
NOT_DUE=${NOT_DUE:-$(( N < 100000 ? N : 100000 ))}
# The service's own defaults unless told otherwise (read from the documented defaults).
default_of() { awk -v k="$1" '$1 == k && $2 == "=" { print $3; exit }' "$root/hocon/crm.conf"; }
BATCH_SIZE=${BATCH_SIZE:-$(default_of batch-size)}
WRITERS=${WRITERS:-$(default_of writers)}
PUSH=${PUSH:-1}
RSS_SMALL_NOT_DUE=${RSS_SMALL_NOT_DUE:-$RSS_SMALL}
RSS_LARGE_NOT_DUE=${RSS_LARGE_NOT_DUE:-100000}
for v in N NOT_DUE REPS BATCH_SIZE WRITERS RSS_SMALL RSS_SMALL_NOT_DUE RSS_LARGE RSS_LARGE_NOT_DUE; do
  [[ ${!v} =~ ^[0-9]+$ ]] || { echo "run.sh: $v must be a whole number, not '${!v}'" >&2; exit 2; }
done
[[ $PUSH == 0 || $PUSH == 1 ]] || { echo "run.sh: PUSH must be 0 or 1, not '$PUSH'" >&2; exit 2; }
(( N > 0 && REPS > 0 && BATCH_SIZE > 0 && WRITERS > 0 && RSS_SMALL > 0 )) || { echo "run.sh: N, REPS, BATCH_SIZE, WRITERS, RSS_SMALL must be > 0" >&2; exit 2; }

log() { printf 'bench [%6.1fs]: %s\n' "$(awk -v a="$started" -v b="$(date +%s.%N)" 'BEGIN{print b-a}')" "$*" >&2; }
die() { echo "run.sh: FAILED: $*" >&2; exit 1; }
secs_between() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }
median() { tr ' ' '\n' | grep . | sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.3f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# ---------------------------------------------------------------------------------------------- machine
source "$root/scripts/throwaway-postgres.sh"
pg_ensure_installed
if [[ ! -x /usr/bin/time ]]; then
  log "installing GNU time from Debian's packages"
  pg_as_root apt-get update -qq
  pg_as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq time >/dev/null
fi
command -v dotnet >/dev/null || die "dotnet is not on PATH"

work=$(mktemp -d /tmp/crm-bench.XXXXXX)        # host logs, config, time reports
cleanup() {
  pg_throwaway_stop
  rm -rf "$work"
}
trap cleanup EXIT

# ---------------------------------------------------------------------------------------------- cluster
# The benchmarks' server (scripts/throwaway-postgres.sh, pg_bench_start).
pg_bench_start || die "PostgreSQL did not start"
stat_statements=$PG_STAT_STATEMENTS
bin=$PG_BIN
port=$PG_PORT
cluster=$PG_CLUSTER
log "PostgreSQL $("$bin/postgres" --version | awk '{print $3}') on 127.0.0.1:$port, cluster in $cluster"

export PGCLIENTENCODING=UTF8 DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
sql() { local db=$1; shift; "$bin/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" -U postgres -d "$db" "$@"; }
scalar() { sql "$1" -tA -c "$2"; }
[[ $stat_statements == 1 ]] && scalar postgres "CREATE EXTENSION IF NOT EXISTS pg_stat_statements" >/dev/null

# ---------------------------------------------------------------------------------------------- build
log "building Crm.Host (Release)"
dotnet build "$root/src/Crm.Host" -c Release -nologo -clp:ErrorsOnly -v quiet >"$work/build.log" 2>&1 \
  || { cat "$work/build.log" >&2; die "dotnet build failed"; }
dll=$root/src/Crm.Host/bin/Release/net10.0/Crm.Host.dll
[[ -f $dll ]] || die "no $dll after the build"
cat >"$work/bench.conf" <<EOF
crm.reminders.batch-size = $BATCH_SIZE
crm.reminders.writers = $WRITERS
$([[ $PUSH == 0 ]] && echo 'crm.reminders.push-channel = ""')
crm.reminders.once-timeout = 3h
EOF

# ---------------------------------------------------------------------------------------------- helpers
# The due rule of SPEC §1, as a count.
DUE_LEFT="SELECT count(*) FROM crm_interactions WHERE status IN ('todo','in_progress') AND next_action_at <= now()
          AND notified_at IS NULL AND assignee_id IS NOT NULL"

# run_host <db> <tag> [args...]: runs Crm.Host on <db> under GNU time; sets HOST_SECS (wall clock of the process),
# HOST_RSS_KB (maximum resident set size), HOST_CPU (user + system seconds) and HOST_SCAN_MS (the scan's own duration, from its log line).
run_host() {
  local db=$1 tag=$2; shift 2
  mkdir -p "$work/$tag"
  local t0 t1 rc=0
  t0=$(date +%s.%N)
  DATABASE_URL="postgresql://postgres@127.0.0.1:$port/$db" CRM_LOG_DIR="$work/$tag/logs" \
    /usr/bin/time -v -o "$work/$tag/time.txt" dotnet "$dll" --config "$work/bench.conf" "$@" \
    >"$work/$tag/out.txt" 2>&1 || rc=$?
  t1=$(date +%s.%N)
  if [[ $rc -ne 0 ]]; then
    echo "--- Crm.Host $* on $db exited $rc; its output:" >&2; tail -n 40 "$work/$tag/out.txt" >&2
    die "Crm.Host $* ($tag) exited $rc"
  fi
  HOST_SECS=$(secs_between "$t0" "$t1")
  HOST_RSS_KB=$(awk -F': ' '/Maximum resident set size/ { print $2 }' "$work/$tag/time.txt")
  HOST_CPU=$(awk -F': ' '/User time|System time/ { s += $2 } END { printf "%.2f", s }' "$work/$tag/time.txt")
  HOST_SCAN_MS=$(grep -o 'batches, [0-9.]* ms)' "$work/$tag/out.txt" | tail -n 1 | grep -o '[0-9.]* ms' | cut -d' ' -f1 || true)
  HOST_SCAN_MS=${HOST_SCAN_MS:-0}
}

# statement <db>: runs bench/set_based.sql through psql; sets STMT_SECS (wall clock of the psql process).
statement() {
  local t0 t1 out
  t0=$(date +%s.%N)
  out=$(sql "$1" -tA -F' ' -v push="$([[ $PUSH == 1 ]] && echo true || echo false)" -f "$bench/set_based.sql") || die "the set-based statement failed on $1"
  t1=$(date +%s.%N)
  STMT_SECS=$(secs_between "$t0" "$t1")
  STMT_OUT=$out
}

# seed_db <db> <due> <not_due>: schema, migration by the host, seed, VACUUM (FREEZE, ANALYZE).
seed_db() {
  local db=$1 due=$2 not_due=$3
  scalar postgres "CREATE DATABASE $db" >/dev/null
  sql "$db" -f "$root/tests/fixtures/crm_schema.sql" >/dev/null
  run_host "$db" "migrate-$db" --migrate
  sql "$db" -v due="$due" -v not_due="$not_due" -f "$bench/seed.sql" >/dev/null
  sql "$db" -c "VACUUM (FREEZE, ANALYZE)" >/dev/null
  local have
  have=$(scalar "$db" "$DUE_LEFT")
  [[ $have == "$due" ]] || die "$db was seeded with $have due rows, not $due"
  have=$(scalar "$db" "SELECT count(*) FROM crm_interactions")
  [[ $have == $((due + not_due)) ]] || die "$db has $have interactions, not $((due + not_due))"
}

# verify <db> <expected>: the run left <expected> notifications and no due row; prints a fingerprint of the result
# (the notifications as composed, and the count of notified interactions) to compare the two copies.
verify() {
  local db=$1 expected=$2 count left
  count=$(scalar "$db" "SELECT count(*) FROM notifications")
  left=$(scalar "$db" "$DUE_LEFT")
  [[ $count == "$expected" ]] || die "$db has $count notifications, expected $expected"
  [[ $left == 0 ]] || die "$db still has $left due interactions"
  scalar "$db" "SELECT md5(string_agg(concat_ws('|', user_id, type, priority, title, message, link, resource_type,
                  resource_id, metadata::text), E'\n' ORDER BY resource_id))
                  || ' notified=' || (SELECT count(*) FROM crm_interactions WHERE notified_at IS NOT NULL)
                FROM notifications"
}

dump_notifications() {
  scalar "$1" "SELECT concat_ws('|', user_id, type, priority, title, message, link, resource_type, resource_id, metadata::text)
               FROM notifications ORDER BY resource_id"
}

stats_reset() { [[ $stat_statements == 1 ]] && scalar postgres "SELECT pg_stat_statements_reset()" >/dev/null || true; }
# Sum of the server's execution time for <db> since the reset, in seconds.
stats_db_secs() {
  [[ $stat_statements == 1 ]] || { echo "n/a"; return; }
  scalar postgres "SELECT round(coalesce(sum(total_exec_time), 0)::numeric / 1000, 3) FROM pg_stat_statements
                   WHERE dbid = (SELECT oid FROM pg_database WHERE datname = '$1')"
}
# Where the host's seconds went, from its scan log line and pg_stat_statements: prints
# "startup+shutdown page_exec page_calls write_exec write_calls writer_idle" in seconds; writer_idle is the mean time
# a writer's connection had no statement running during the scan (waiting for a page, or for the actors).
host_split() {
  local db=$1 db_split="0 0 0 0"
  if [[ $stat_statements == 1 ]]; then
    db_split=$(scalar postgres "SELECT concat_ws(' ',
        round(coalesce(sum(total_exec_time) FILTER (WHERE query LIKE 'SELECT i.id, i.title%'), 0)::numeric / 1000, 3),
        coalesce(sum(calls) FILTER (WHERE query LIKE 'SELECT i.id, i.title%'), 0),
        round(coalesce(sum(total_exec_time) FILTER (WHERE query LIKE 'WITH locked AS%'), 0)::numeric / 1000, 3),
        coalesce(sum(calls) FILTER (WHERE query LIKE 'WITH locked AS%'), 0))
      FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = '$db')")
  fi
  awk -v host="$HOST_SECS" -v ms="$HOST_SCAN_MS" -v d="$db_split" -v writers="$WRITERS" 'BEGIN {
    split(d, v, " "); scan = ms / 1000
    printf "%.2f %.2f %d %.2f %d %.2f\n", host - scan, v[1], v[2], v[3], v[4], scan - v[3] / writers }'
}
# split_line <split>: the split in words.
split_line() {
  awk -v s="$1" -v writers="$WRITERS" 'BEGIN { split(s, v, " ");
    printf "start-up+shutdown %.2fs; page query %.2fs in %d calls; write statement %.2fs in %d calls (%.2fs per writer); writer idle %.2fs each",
      v[1], v[2], v[3], v[4], v[5], v[4] / writers, v[6] }'
}
stats_top() {
  [[ $stat_statements == 1 ]] || return 0
  sql postgres -P pager=off -c "SELECT calls, round(total_exec_time::numeric / 1000, 3) AS exec_s,
        round(mean_exec_time::numeric, 2) AS mean_ms, rows,
        left(regexp_replace(query, '\s+', ' ', 'g'), 100) AS query
      FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = '$1')
      ORDER BY total_exec_time DESC LIMIT 6"
}

# ---------------------------------------------------------------------------------------------- template
log "seeding the template: $N due + $NOT_DUE not-due interactions"
seed_db tmpl "$N" "$NOT_DUE"
log "template ready: $(scalar tmpl "SELECT pg_size_pretty(pg_database_size('tmpl'))")"

# ---------------------------------------------------------------------------------------------- timed pairs
ratios=(); net_ratios=(); host_times=(); stmt_times=(); host_rss=(); empty_times=(); scan_times=(); db_times=(); cpu_times=(); splits=()
for rep in $(seq 1 "$REPS"); do
  a=copy_a_$rep; b=copy_b_$rep
  scalar postgres "CREATE DATABASE $a TEMPLATE tmpl" >/dev/null
  scalar postgres "CREATE DATABASE $b TEMPLATE tmpl" >/dev/null
  # Odd repetitions run the host first, even ones the statement first: neither always gets the warmer cache.
  order="host statement"; (( rep % 2 == 0 )) && order="statement host"
  for what in $order; do
    scalar postgres "CHECKPOINT" >/dev/null
    if [[ $what == host ]]; then
      stats_reset
      run_host "$a" "once-$rep" --once
      db_secs=$(stats_db_secs "$a")
      split=$(host_split "$a")
      [[ $rep == 1 ]] && { echo "--- pg_stat_statements, host --once, repetition 1 (top statements):" >&2; stats_top "$a" >&2; }
      log "rep $rep: host --once: ${HOST_SECS}s wall (scan ${HOST_SCAN_MS} ms, database exec ${db_secs}s, host CPU ${HOST_CPU}s), peak RSS $((HOST_RSS_KB / 1024)) MiB"
      log "rep $rep: host split: $(split_line "$split")"
      host_times+=("$HOST_SECS"); host_rss+=("$HOST_RSS_KB"); scan_times+=("$HOST_SCAN_MS"); db_times+=("$db_secs"); cpu_times+=("$HOST_CPU")
      splits+=("$split")
    else
      statement "$b"
      log "rep $rep: set-based statement: ${STMT_SECS}s wall (inserted, marked, announced: $STMT_OUT)"
      stmt_times+=("$STMT_SECS")
    fi
  done
  fa=$(verify "$a" "$N"); fb=$(verify "$b" "$N")
  if [[ $fa != "$fb" ]]; then
    dump_notifications "$a" >"$work/a.txt"; dump_notifications "$b" >"$work/b.txt"
    echo "--- first differences (< host, > statement):" >&2
    diff "$work/a.txt" "$work/b.txt" | head -n 10 >&2 || true
    die "the host and the statement wrote different results ($fa vs $fb)"
  fi
  # The fixed cost: the same command on the same database, now with nothing due (start, verify, empty scan, stop).
  run_host "$a" "empty-$rep" --once
  empty_times+=("$HOST_SECS")
  ratio=$(awk -v h="${host_times[-1]}" -v s="${stmt_times[-1]}" 'BEGIN { printf "%.2f", h / s }')
  ratios+=("$ratio")
  net_ratios+=("$(awk -v h="${host_times[-1]}" -v e="$HOST_SECS" -v s="${stmt_times[-1]}" 'BEGIN { printf "%.2f", (h - e) / s }')")
  log "rep $rep: ratio $ratio (host ${host_times[-1]}s / statement ${stmt_times[-1]}s); identical results ($fa); host with nothing due: ${HOST_SECS}s"
  scalar postgres "DROP DATABASE $a" >/dev/null; scalar postgres "DROP DATABASE $b" >/dev/null
done

# ---------------------------------------------------------------------------------------------- peak RSS
if [[ $RSS_SMALL == "$N" ]]; then
  rss_small_kb=$(printf '%s\n' "${host_rss[@]}" | sort -n | tail -n 1)   # the peak over the timed runs
  rss_small_note="max over the $REPS timed runs"; RSS_SMALL_NOT_DUE=$NOT_DUE
else
  log "peak RSS run: seeding $RSS_SMALL due + $RSS_SMALL_NOT_DUE not-due interactions"
  seed_db rss_small "$RSS_SMALL" "$RSS_SMALL_NOT_DUE"
  run_host rss_small rss-small --once
  verify rss_small "$RSS_SMALL" >/dev/null
  rss_small_kb=$HOST_RSS_KB; rss_small_note="one run, ${HOST_SECS}s"
  scalar postgres "DROP DATABASE rss_small" >/dev/null
fi
rss_large_kb=""
if (( RSS_LARGE > 0 )) && [[ $RSS_LARGE == "$N" && $RSS_LARGE_NOT_DUE == "$NOT_DUE" ]]; then
  rss_large_kb=$(printf '%s\n' "${host_rss[@]}" | sort -n | tail -n 1)
  large_note="max over the $REPS timed runs"
elif (( RSS_LARGE > 0 )); then
  log "peak RSS run: seeding $RSS_LARGE due + $RSS_LARGE_NOT_DUE not-due interactions"
  seed_db rss_large "$RSS_LARGE" "$RSS_LARGE_NOT_DUE"
  log "large database ready: $(scalar postgres "SELECT pg_size_pretty(pg_database_size('rss_large'))"); running host --once"
  scalar postgres "CHECKPOINT" >/dev/null
  stats_reset
  run_host rss_large rss-large --once
  large_db_secs=$(stats_db_secs rss_large)
  verify rss_large "$RSS_LARGE" >/dev/null
  rss_large_kb=$HOST_RSS_KB; large_note="one run, ${HOST_SECS}s, scan ${HOST_SCAN_MS} ms"
  log "large run: ${HOST_SECS}s wall (scan ${HOST_SCAN_MS} ms, database exec ${large_db_secs}s), peak RSS $((rss_large_kb / 1024)) MiB"
  scalar postgres "DROP DATABASE rss_large" >/dev/null
fi

# ---------------------------------------------------------------------------------------------- summary
mib() { awk -v k="$1" 'BEGIN { printf "%.0f", k / 1024 }'; }
med_ratio=$(printf '%s ' "${ratios[@]}" | median)
med_net_ratio=$(printf '%s ' "${net_ratios[@]}" | median)
med_host=$(printf '%s ' "${host_times[@]}" | median)
med_stmt=$(printf '%s ' "${stmt_times[@]}" | median)
med_empty=$(printf '%s ' "${empty_times[@]}" | median)
med_scan=$(printf '%s ' "${scan_times[@]}" | median)
total=$(secs_between "$started" "$(date +%s.%N)")
{
  echo
  echo "=================================== CrmActors benchmark ==================================="
  echo "machine: $(nproc) cores, $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo); PostgreSQL $("$bin/postgres" --version | awk '{print $3}'); dotnet $(dotnet --version)"
  echo "data: $N due + $NOT_DUE not-due interactions; host batch-size $BATCH_SIZE, writers $WRITERS; push $([[ $PUSH == 1 ]] && echo 'on for both (pg_notify per notification)' || echo 'off for both'); $REPS repetition(s)$([[ $QUICK == 1 ]] && echo ' (QUICK)')"
  echo "load average at the end (1, 5, 15 min): $(cut -d' ' -f1-3 /proc/loadavg); other work on the machine runs beside both sides"
  for i in "${!ratios[@]}"; do
    printf 'rep %d: host --once %ss, set-based statement %ss, ratio %s | host: scan %s ms, database exec %ss, own CPU %ss; same run with nothing due %ss\n' \
      $((i + 1)) "${host_times[$i]}" "${stmt_times[$i]}" "${ratios[$i]}" "${scan_times[$i]}" "${db_times[$i]}" "${cpu_times[$i]}" "${empty_times[$i]}"
    echo "       split: $(split_line "${splits[$i]}")"
  done
  echo "host --once, median: ${med_host}s (of which the scan's own log: ${med_scan} ms; with nothing due: ${med_empty}s)"
  echo "set-based statement, median: ${med_stmt}s"
  printf 'ratio without the host fixed cost ((host - run with nothing due) / statement), median: %.2f\n' "$med_net_ratio"
  printf 'ratio (host --once / set-based statement), median of %d: %.2f\n' "$REPS" "$med_ratio"
  if [[ -n $rss_large_kb ]]; then
    printf 'peak RSS %d due: %s MiB; %d due: %s MiB (%.2fx)\n' "$RSS_SMALL" "$(mib "$rss_small_kb")" "$RSS_LARGE" "$(mib "$rss_large_kb")" \
      "$(awk -v a="$rss_small_kb" -v b="$rss_large_kb" 'BEGIN { print b / a }')"
    echo "  ($RSS_SMALL due + $RSS_SMALL_NOT_DUE not due: $rss_small_note; $RSS_LARGE due + $RSS_LARGE_NOT_DUE not due: $large_note)"
  else
    printf 'peak RSS %d due: %s MiB (%s); large run skipped\n' "$RSS_SMALL" "$(mib "$rss_small_kb")" "$rss_small_note"
  fi
  echo "total script time: ${total}s"
}
