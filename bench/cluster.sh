#!/usr/bin/env bash
# Benchmark: three clustered service hosts draining one backlog together, against one service host alone, on
# identical copies of the database run.sh seeds (issue 17, item 7). See bench/README.md, "Three nodes against one".
#
# Per repetition, two fresh copies of one seeded template. On copy A one `Crm.Host --config FILE` (service mode,
# standalone); on copy B three, forming a cluster (crm.cluster.enabled = on, one seed list naming all three), started
# together. Each is timed from the start of its first process until the last notification: the latest
# notifications.created_at (the writing transaction's start, by the server's clock, which is this machine's) minus
# the start, with a poll every 200 ms to see the backlog empty. Then /metrics is read, the processes' CPU is read
# from /proc and every host gets SIGTERM. Odd repetitions run one node first, even ones three.
#
# Knobs (environment):
#   N=1000000        due interactions (with NOT_DUE not-due ones, default min(N, 100000))
#   REPS=3           pairs of runs (1 node, 3 nodes), fresh copies each; the summary gives the median ratio
#   NODES=3          hosts of the cluster run
#   BATCH_SIZE, WRITERS  crm.reminders.batch-size and writers of every host (default: the service's defaults)
#   QUICK=1          smoke check: N=20000, REPS=1 (about a minute once built)
#   KEEP=1           keep the hosts' folders (config, output, logs, poll samples) instead of removing them
# Needs: dotnet (SDK of global.json), curl; PostgreSQL is installed from Debian's packages if missing.
set -euo pipefail
bench=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$bench")
started=$(date +%s.%N)

QUICK=${QUICK:-0}
if [[ $QUICK == 1 ]]; then N=${N:-20000}; REPS=${REPS:-1}; else N=${N:-1000000}; REPS=${REPS:-3}; fi
NOT_DUE=${NOT_DUE:-$(( N < 100000 ? N : 100000 ))}
NODES=${NODES:-3}
default_of() { awk -v k="$1" '$1 == k && $2 == "=" { print $3; exit }' "$root/hocon/crm.conf"; }
BATCH_SIZE=${BATCH_SIZE:-$(default_of batch-size)}
WRITERS=${WRITERS:-$(default_of writers)}
for v in N NOT_DUE REPS NODES BATCH_SIZE WRITERS; do
  [[ ${!v} =~ ^[0-9]+$ ]] || { echo "cluster.sh: $v must be a whole number, not '${!v}'" >&2; exit 2; }
done
(( N > 0 && REPS > 0 && NODES > 1 && NODES <= 26 && BATCH_SIZE > 0 && WRITERS > 0 )) || { echo "cluster.sh: N, REPS, BATCH_SIZE, WRITERS must be > 0, NODES from 2 to 26" >&2; exit 2; }

log() { printf 'cluster-bench [%6.1fs]: %s\n' "$(awk -v a="$started" -v b="$(date +%s.%N)" 'BEGIN{print b-a}')" "$*" >&2; }
die() { echo "cluster.sh: FAILED: $*" >&2; exit 1; }
secs_between() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }
median() { tr ' ' '\n' | grep . | sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.3f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
ticks=$(getconf CLK_TCK)

# ---------------------------------------------------------------------------------------------- machine
source "$root/scripts/throwaway-postgres.sh"
pg_ensure_installed
command -v dotnet >/dev/null || die "dotnet is not on PATH"
command -v curl >/dev/null || die "curl is not on PATH"

work=$(mktemp -d /tmp/crm-cluster-bench.XXXXXX)   # one folder per host (config, output, logs)
: >"$work/pids"
poller_pid=""
# Ends the hosts this script started (by pid, and only while that pid is still a Crm.Host), then the server.
cleanup() {
  local pid
  [[ -n $poller_pid ]] && kill "$poller_pid" 2>/dev/null
  while read -r pid; do
    [[ -n $pid && -r /proc/$pid/cmdline ]] || continue
    tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q 'Crm.Host.dll' && kill -KILL "$pid" 2>/dev/null
  done <"$work/pids"
  pg_throwaway_stop
  if [[ ${KEEP:-0} == 1 ]]; then echo "cluster.sh: hosts' folders kept in $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---------------------------------------------------------------------------------------------- server
# The benchmarks' server (scripts/throwaway-postgres.sh, pg_bench_start).
pg_bench_start || die "PostgreSQL did not start"
stat_statements=$PG_STAT_STATEMENTS
port=$PG_PORT
postmaster=$(head -n 1 "$PG_CLUSTER/data/postmaster.pid")
log "PostgreSQL $("$PG_BIN/postgres" --version | awk '{print $3}') on 127.0.0.1:$port (postmaster $postmaster)"

export PGCLIENTENCODING=UTF8 DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
sql() { local db=$1; shift; "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" -U postgres -d "$db" "$@"; }
scalar() { sql "$1" -tA -c "$2"; }
if [[ $stat_statements == 1 ]]; then scalar postgres "CREATE EXTENSION IF NOT EXISTS pg_stat_statements" >/dev/null; fi

# ---------------------------------------------------------------------------------------------- build
log "building Crm.Host (Release)"
dotnet build "$root/src/Crm.Host" -c Release -nologo -clp:ErrorsOnly -v quiet >"$work/build.log" 2>&1 \
  || { cat "$work/build.log" >&2; die "dotnet build failed"; }
dll=$root/src/Crm.Host/bin/Release/net10.0/Crm.Host.dll
[[ -f $dll ]] || die "no $dll after the build"

# ---------------------------------------------------------------------------------------------- helpers
DUE="status IN ('todo','in_progress') AND next_action_at <= now() AND notified_at IS NULL AND assignee_id IS NOT NULL"

# seed_db <db> <due> <not_due>: as run.sh's: the CRM's schema, the host's migration, bench/seed.sql, VACUUM.
seed_db() {
  local db=$1 due=$2 not_due=$3 have
  scalar postgres "CREATE DATABASE $db" >/dev/null
  sql "$db" -f "$root/tests/fixtures/crm_schema.sql" >/dev/null
  mkdir -p "$work/migrate"
  (cd "$work/migrate" && DATABASE_URL="postgresql://postgres@127.0.0.1:$port/$db" CRM_LOG_DIR="$work/migrate/logs" \
     dotnet "$dll" --migrate >"$work/migrate/out.txt" 2>&1) || { cat "$work/migrate/out.txt" >&2; die "--migrate failed"; }
  sql "$db" -v due="$due" -v not_due="$not_due" -f "$bench/seed.sql" >/dev/null
  sql "$db" -c "VACUUM (FREEZE, ANALYZE)" >/dev/null
  have=$(scalar "$db" "SELECT count(*) FROM crm_interactions WHERE $DUE")
  [[ $have == "$due" ]] || die "$db was seeded with $have due rows, not $due"
}

# free_port: a loopback port no socket uses and no earlier call of this run handed out, below the kernel's range
# of ephemeral ports (an outgoing connection, such as a host's to PostgreSQL, may take any port in that range
# between this check and the host's bind).
: >"$work/ports"
ephemeral_low=$(awk '{ print $1 }' /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)
(( ephemeral_low > 12000 )) || ephemeral_low=32768
free_port() {
  local p
  for _ in $(seq 1 100); do
    p=$((10000 + RANDOM % (ephemeral_low - 10000)))
    grep -qx "$p" "$work/ports" && continue
    ss -Htan "sport = :$p" 2>/dev/null | grep -q . && continue
    echo "$p" >>"$work/ports"; echo "$p"; return
  done
  return 1
}

# CPU seconds (utime + stime, and the reaped children's) of one process.
proc_cpu() { [[ -r /proc/$1/stat ]] && sed 's/^.*) //' "/proc/$1/stat" | awk -v t="$ticks" '{ printf "%.2f", ($12 + $13 + $14 + $15) / t }' || echo "n/a"; }
# CPU seconds of the whole PostgreSQL server so far: the postmaster and its live children, plus the children it
# has reaped (their time is added to the postmaster's cutime/cstime when they exit). A difference of two readings
# is the server's CPU in between, whatever connections came and went.
server_cpu() {
  local pid total=0 fields
  for pid in $(ps -o pid= --ppid "$postmaster") "$postmaster"; do
    fields=$(sed 's/^.*) //' "/proc/$pid/stat" 2>/dev/null) || continue
    total=$(awk -v acc="$total" -v self="$pid" -v pm="$postmaster" -v f="$fields" 'BEGIN { split(f, v, " ");
      s = v[12] + v[13]; if (self == pm) s += v[14] + v[15]; print acc + s }')
  done
  awk -v t="$ticks" -v s="$total" 'BEGIN { printf "%.2f", s / t }'
}
# The machine's busy and total CPU ticks (all cores, all processes), from /proc/stat.
machine_ticks() { awk '$1 == "cpu" { busy = $2 + $3 + $4 + $7 + $8 + $9; print busy, busy + $5 + $6 }' /proc/stat; }

stats_reset() { [[ $stat_statements == 1 ]] && scalar postgres "SELECT pg_stat_statements_reset()" >/dev/null || true; }
# "page_exec page_calls write_exec write_calls write_rows" for <db> since the reset (seconds).
stats_split() {
  [[ $stat_statements == 1 ]] || { echo "0 0 0 0 0"; return; }
  scalar postgres "SELECT concat_ws(' ',
      round(coalesce(sum(total_exec_time) FILTER (WHERE query LIKE 'SELECT i.id, i.title%'), 0)::numeric / 1000, 2),
      coalesce(sum(calls) FILTER (WHERE query LIKE 'SELECT i.id, i.title%'), 0),
      round(coalesce(sum(total_exec_time) FILTER (WHERE query LIKE 'WITH locked AS%'), 0)::numeric / 1000, 2),
      coalesce(sum(calls) FILTER (WHERE query LIKE 'WITH locked AS%'), 0),
      round(coalesce(sum(total_exec_time), 0)::numeric / 1000, 2))
    FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = '$1')"
}

# metric <url> <name>: one unlabelled sample of the host's /metrics.
metric() { curl -s -m 5 "$1/metrics" | awk -v n="$2" '$1 == n { printf "%d", $2; found = 1 } END { if (!found) print "n/a" }'; }

# poll <db> <file>: every 200 ms, on one psql connection, whether a due row is left and what the database's
# backends are doing (pg_stat_activity of <db>: active on CPU, waiting on a heavyweight lock, on a lightweight
# lock or buffer pin, on I/O or anything else), with the 1-minute load average; one line per sample in <file>.
# Each query is sent once the previous one has answered (a loaded server does not make them queue up). Stops by
# itself when no due row is left (the line then starts with "done").
poll() {
  local db=$1 out=$2 sent=0
  : >"$out"
  {
    while :; do
      sent=$((sent + 1))
      # The first due row in the order of the hosts' own page query, so that the due index answers it (an EXISTS
      # would be planned as a sequential scan, slower and slower as the due rows get fewer).
      echo "SELECT CASE WHEN (SELECT id FROM crm_interactions WHERE $DUE ORDER BY next_action_at, id LIMIT 1) IS NOT NULL
                   THEN 'due' ELSE 'done' END,
              count(*) FILTER (WHERE state = 'active' AND wait_event IS NULL),
              count(*) FILTER (WHERE state = 'active' AND wait_event_type = 'Lock' AND wait_event = 'object'),
              count(*) FILTER (WHERE state = 'active' AND wait_event_type = 'Lock' AND wait_event IN ('tuple', 'transactionid')),
              count(*) FILTER (WHERE state = 'active' AND wait_event_type = 'Lock' AND wait_event NOT IN ('object', 'tuple', 'transactionid')),
              count(*) FILTER (WHERE state = 'active' AND wait_event_type IN ('LWLock', 'BufferPin')),
              count(*) FILTER (WHERE state = 'active' AND wait_event_type = 'IO'),
              count(*) FILTER (WHERE state = 'active' AND wait_event_type NOT IN ('Lock', 'LWLock', 'BufferPin', 'IO')),
              '$(cut -d' ' -f1 /proc/loadavg)',
              coalesce(string_agg(wait_event_type || ':' || wait_event, ',') FILTER (WHERE state = 'active' AND wait_event IS NOT NULL), '-')
            FROM pg_stat_activity WHERE datname = '$db' AND pid <> pg_backend_pid() AND backend_type = 'client backend';"
      local waits=0
      while (( $(wc -l <"$out") < sent )); do (( ++waits < 1200 )) || break 2; sleep 0.05; done
      [[ $(tail -n 1 "$out") == done* ]] && break
      sleep 0.2
    done
  } | sql "$db" -tA -F' ' >"$out" 2>&1
}

# node_conf <dir> <name> <admin port> [cluster port, seeds]: a host's configuration file.
node_conf() {
  local dir=$1 name=$2 admin=$3 cport=${4:-} seeds=${5:-}
  {
    echo "crm.admin.bind = \"127.0.0.1:$admin\""
    echo "crm.node.name = \"$name\""
    echo "crm.reminders.batch-size = $BATCH_SIZE"
    echo "crm.reminders.writers = $WRITERS"
    if [[ -n $cport ]]; then echo "crm.cluster { enabled = on, hostname = \"127.0.0.1\", port = $cport, seed-nodes = [$seeds] }"; fi
  } >"$dir/host.conf"
}

# start_host <dir> <db>: a service host in the background, in <dir>; sets HOST_PID.
start_host() {
  local dir=$1 db=$2
  (cd "$dir" && DATABASE_URL="postgresql://postgres@127.0.0.1:$port/$db" CRM_LOG_DIR="$dir/logs" \
     exec dotnet "$dll" --config "$dir/host.conf" >"$dir/out.txt" 2>&1) &
  HOST_PID=$!
  echo "$HOST_PID" >>"$work/pids"
}

# verify <db>: exactly N notifications, one per occurrence and per interaction, no due row left; dies otherwise.
verify() {
  local db=$1 row
  row=$(scalar "$db" "SELECT count(*), count(DISTINCT metadata->>'reminder_occurrence'), count(DISTINCT resource_id),
                             (SELECT count(*) FROM crm_interactions WHERE $DUE)
                      FROM notifications" | tr '|' ' ')
  read -r count occurrences interactions left <<<"$row"
  [[ $count == "$N" ]] || die "$db has $count notifications, expected $N"
  [[ $occurrences == "$N" && $interactions == "$N" ]] || die "$db: $count notifications for $occurrences occurrences and $interactions interactions (duplicates)"
  [[ $left == 0 ]] || die "$db still has $left due interactions"
  echo "$count notifications, $occurrences distinct occurrences, $interactions distinct interactions, 0 due left"
}

# run_variant <db> <nodes> <tag>: starts <nodes> service hosts on <db> (one standalone, or a cluster of <nodes>),
# waits for the backlog to drain, reads the figures, stops the hosts. Sets RUN_SECS (start to last notification),
# RUN_FIRST (start to first notification) and RUN_LINE / RUN_HOSTS (the figures in words).
run_variant() {
  local db=$1 nodes=$2 tag=$3 i dir names=() dirs=() urls=() admins=() cports=() pids=() seeds=""
  local letters=({a..z})
  for i in $(seq 0 $((nodes - 1))); do names+=("crmnode-${letters[$i]}"); admins+=("$(free_port)"); cports+=("$(free_port)"); done
  for i in "${!names[@]}"; do seeds+="${seeds:+, }\"akka.tcp://crm-actors@127.0.0.1:${cports[$i]}\""; done
  for i in "${!names[@]}"; do
    dir=$work/$tag/${names[$i]}; mkdir -p "$dir/logs"; dirs+=("$dir"); urls+=("http://127.0.0.1:${admins[$i]}")
    if (( nodes == 1 )); then node_conf "$dir" "${names[$i]}" "${admins[$i]}"
    else node_conf "$dir" "${names[$i]}" "${admins[$i]}" "${cports[$i]}" "$seeds"; fi
  done
  scalar postgres "CHECKPOINT" >/dev/null
  stats_reset
  local cpu0 m0 load0 t0
  cpu0=$(server_cpu); m0=$(machine_ticks); load0=$(cut -d' ' -f1-3 /proc/loadavg)
  t0=$(date +%s.%N)
  for i in "${!dirs[@]}"; do start_host "${dirs[$i]}" "$db"; pids+=("$HOST_PID"); done
  poll "$db" "$work/$tag/poll.txt" &
  poller_pid=$!
  local deadline=$(( $(date +%s) + 3 * 3600 ))
  while kill -0 "$poller_pid" 2>/dev/null; do
    (( $(date +%s) < deadline )) || die "$tag: the backlog did not drain within 3 h"
    for i in "${!pids[@]}"; do
      kill -0 "${pids[$i]}" 2>/dev/null || { grep -v '^ *at ' "${dirs[$i]}/out.txt" | tail -n 30 >&2; die "$tag: ${names[$i]} exited during the run"; }
    done
    sleep 0.5
  done
  wait "$poller_pid" || true; poller_pid=""
  [[ $(tail -n 1 "$work/$tag/poll.txt") == done* ]] || { tail -n 5 "$work/$tag/poll.txt" >&2; die "$tag: the poller stopped early"; }
  local t_seen; t_seen=$(date +%s.%N)
  # The scans still in a pass end it (their last batches find their rows written elsewhere): wait until every
  # host's count of finished passes and found rows stays the same over 1.5 s (at most 30 s), then read the figures.
  local before="" now="" waited=0
  while (( waited < 20 )); do
    now=""
    for u in "${urls[@]}"; do now+="$(metric "$u" crm_reminders_found_total)/$(metric "$u" crm_scan_duration_seconds_count) "; done
    [[ $now == "$before" ]] && break
    before=$now; sleep 1.5; waited=$((waited + 1))
  done
  local cpu1 m1 load1 host_cpu=() found=() created=() passes=()
  cpu1=$(server_cpu); m1=$(machine_ticks); load1=$(cut -d' ' -f1-3 /proc/loadavg)
  for i in "${!pids[@]}"; do
    host_cpu+=("$(proc_cpu "${pids[$i]}")")
    found+=("$(metric "${urls[$i]}" crm_reminders_found_total)")
    created+=("$(metric "${urls[$i]}" crm_notifications_created_total)")
    passes+=("$(metric "${urls[$i]}" crm_scan_duration_seconds_count)")
  done
  local split; split=$(stats_split "$db")
  for i in "${!pids[@]}"; do kill -TERM "${pids[$i]}" 2>/dev/null || true; done
  local rcs=() rc
  for i in "${!pids[@]}"; do
    rc=0
    for _ in $(seq 1 120); do kill -0 "${pids[$i]}" 2>/dev/null || break; sleep 0.5; done
    if kill -0 "${pids[$i]}" 2>/dev/null; then kill -KILL "${pids[$i]}" 2>/dev/null; rc=killed; fi
    wait "${pids[$i]}" 2>/dev/null || { [[ $rc == killed ]] || rc=$?; }
    rcs+=("$rc")
  done
  # Times by the server's clock (the same machine's): start to first and to last notification.
  local times; times=$(scalar "$db" "SELECT round((extract(epoch FROM min(created_at)) - $t0)::numeric, 2) || ' '
                                         || round((extract(epoch FROM max(created_at)) - $t0)::numeric, 2) FROM notifications")
  RUN_FIRST=${times% *}; RUN_SECS=${times#* }
  local checks; checks=$(verify "$db")
  # The figures in words.
  # Not written = found - written (the metrics, exact). The scans' log lines split it: "no longer due" (written
  # by another node by the time this one locked them) and, where the host reports it, "held by another
  # transaction" (locked by another node's batch: SKIP LOCKED); a recheck that found only held rows logs at DEBUG.
  local notdue=() held=() nd total_found=0 total_created=0 total_notdue=0 total_held=0 cpu_sum=0
  for i in "${!dirs[@]}"; do
    nd=$({ grep -o 'needing reminders: [0-9]* notified, [0-9]* no longer due' "${dirs[$i]}/out.txt" || true; } | awk '{ s += $5 } END { print s + 0 }')
    notdue+=("$nd")
    held+=("$({ grep -o 'skipped, [0-9]* held by another transaction' "${dirs[$i]}/out.txt" || true; } | awk '{ s += $2 } END { print s + 0 }')")
    total_found=$((total_found + ${found[$i]/n\/a/0})); total_created=$((total_created + ${created[$i]/n\/a/0}))
    total_notdue=$((total_notdue + nd)); total_held=$((total_held + ${held[-1]}))
    cpu_sum=$(awk -v a="$cpu_sum" -v b="${host_cpu[$i]/n\/a/0}" 'BEGIN { printf "%.2f", a + b }')
  done
  RUN_HOSTS=""
  for i in "${!dirs[@]}"; do
    RUN_HOSTS+="$(printf '    %s: wrote %s, found %s in %s finished passes, not written %s (logged: %s no longer due, %s held by another transaction); CPU %ss; SIGTERM exit %s' \
      "${names[$i]}" "${created[$i]}" "${found[$i]}" "${passes[$i]}" "$(( ${found[$i]/n\/a/0} - ${created[$i]/n\/a/0} ))" "${notdue[$i]}" "${held[$i]}" \
      "${host_cpu[$i]}" "${rcs[$i]}")"$'\n'
  done
  local samples
  samples=$(awk '{ n++; cpu += $2; notify += $3; row += $4; lock += $5; lw += $6; io += $7; other += $8; if ($9 > lmax) lmax = $9 }
    END { t = cpu + notify + row + lock + lw + io + other; a = t; if (t == 0) t = 1;
          printf "%d samples of the active backends: on CPU %.0f%%, waiting on the NOTIFY queue lock %.1f%%, on a row lock %.1f%%, on another lock %.1f%%, on an LWLock/buffer pin %.1f%%, on I/O %.1f%%, other %.1f%% (mean %.1f active); load average max %.1f",
            n, 100 * cpu / t, 100 * notify / t, 100 * row / t, 100 * lock / t, 100 * lw / t, 100 * io / t, 100 * other / t, a / (n ? n : 1), lmax }' "$work/$tag/poll.txt")
  samples+="; waits seen most: $(awk '$10 != "-" { k = split($10, w, ","); for (i = 1; i <= k; i++) c[w[i]]++ }
    END { for (e in c) print c[e], e }' "$work/$tag/poll.txt" | sort -rn | head -n 4 | awk '{ printf "%s%s x%d", (NR > 1 ? ", " : ""), $2, $1 }')"
  local server; server=$(awk -v a="$cpu0" -v b="$cpu1" 'BEGIN { printf "%.1f", b - a }')
  local machine; machine=$(awk -v a="$m0" -v b="$m1" -v hosts="$cpu_sum" -v pg="$server" -v t="$ticks" 'BEGIN {
      split(a, x, " "); split(b, y, " "); busy = (y[1] - x[1]) / t; total = (y[2] - x[2]) / t;
      printf "machine busy %.0f%% of %.1f core-seconds (hosts %.1f s, server %.1f s, everything else %.1f s)", 100 * busy / total, total, hosts, pg, busy - hosts - pg }')
  RUN_LINE=$(awk -v s="$split" -v secs="$RUN_SECS" -v first="$RUN_FIRST" -v n="$N" -v f="$total_found" -v c="$total_created" -v nd="$total_notdue" -v held="$total_held" \
                 -v hosts="$cpu_sum" -v pg="$server" -v writers="$WRITERS" -v nodes="$nodes" 'BEGIN { split(s, v, " ");
      printf "last notification %.2fs after the start (first %.2fs, then %.0f rows/s); written %d, found %d, not written %d (%.1f%% of the rows found; logged: %d no longer due, %d held by another transaction);",
        secs, first, n / (secs - first), c, f, f - c, 100 * (f - c) / (f ? f : 1), nd, held;
      printf " server: write statement %.1fs in %d calls (%.1fs per connection), page query %.1fs in %d calls, all statements %.1fs; server CPU %.1fs, hosts CPU %.1fs",
        v[3], v[4], v[3] / (writers * nodes), v[1], v[2], v[5], pg, hosts }')
  RUN_LINE+=$'\n'"    $samples; $machine; load average $load0 at the start, $load1 at the end"$'\n'"    checks: $checks"
  log "$tag: last notification after ${RUN_SECS}s (seen done $(secs_between "$t0" "$t_seen")s after the start)"
}

# ---------------------------------------------------------------------------------------------- template
log "seeding the template: $N due + $NOT_DUE not-due interactions"
seed_db tmpl "$N" "$NOT_DUE"
log "template ready: $(scalar tmpl "SELECT pg_size_pretty(pg_database_size('tmpl'))")"

# ---------------------------------------------------------------------------------------------- timed pairs
ratios=(); one_times=(); many_times=(); lines=()
for rep in $(seq 1 "$REPS"); do
  a=one_$rep; b=many_$rep
  scalar postgres "CREATE DATABASE $a TEMPLATE tmpl" >/dev/null
  scalar postgres "CREATE DATABASE $b TEMPLATE tmpl" >/dev/null
  # Odd repetitions run one node first, even ones the cluster first: neither always gets the warmer cache.
  order="one many"; (( rep % 2 == 0 )) && order="many one"
  for what in $order; do
    if [[ $what == one ]]; then
      log "rep $rep: 1 node (standalone)"
      run_variant "$a" 1 "rep$rep-one"
      one_times+=("$RUN_SECS"); lines+=("rep $rep, 1 node: $RUN_LINE"$'\n'"$RUN_HOSTS")
    else
      log "rep $rep: $NODES nodes (cluster)"
      run_variant "$b" "$NODES" "rep$rep-many"
      many_times+=("$RUN_SECS"); lines+=("rep $rep, $NODES nodes: $RUN_LINE"$'\n'"$RUN_HOSTS")
    fi
    log "${lines[-1]}"
  done
  ratios+=("$(awk -v m="${many_times[-1]}" -v o="${one_times[-1]}" 'BEGIN { printf "%.2f", m / o }')")
  log "rep $rep: ratio ${ratios[-1]} ($NODES nodes ${many_times[-1]}s / 1 node ${one_times[-1]}s)"
  scalar postgres "DROP DATABASE $a" >/dev/null; scalar postgres "DROP DATABASE $b" >/dev/null
done

# ---------------------------------------------------------------------------------------------- summary
{
  echo
  echo "============================ CrmActors: $NODES clustered nodes against 1 ============================"
  echo "machine: $(nproc) cores, $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo); PostgreSQL $("$PG_BIN/postgres" --version | awk '{print $3}'); dotnet $(dotnet --version)"
  echo "data: $N due + $NOT_DUE not-due interactions; every host service mode, batch-size $BATCH_SIZE, writers $WRITERS; $REPS repetition(s)$([[ $QUICK == 1 ]] && echo ' (QUICK)')"
  printf '%s\n' "${lines[@]}"
  for i in "${!ratios[@]}"; do
    echo "rep $((i + 1)): 1 node ${one_times[$i]}s, $NODES nodes ${many_times[$i]}s, ratio ${ratios[$i]}"
  done
  echo "1 node, median: $(printf '%s ' "${one_times[@]}" | median)s; $NODES nodes, median: $(printf '%s ' "${many_times[@]}" | median)s"
  echo "load average at the end (1, 5, 15 min): $(cut -d' ' -f1-3 /proc/loadavg)"
  printf "ratio ($NODES nodes / 1 node), median of %d: %.2f\n" "$REPS" "$(printf '%s ' "${ratios[@]}" | median)"
  echo "total script time: $(secs_between "$started" "$(date +%s.%N)")s"
}
