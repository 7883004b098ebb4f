#!/usr/bin/env bash
# Benchmark: how long a restarted host takes to write what came due while it was down (SPEC §8: a lone node that is
# killed and started again has no other node to keep reminders on time). See bench/README.md, "A restart".
#
# Per repetition and mode (standalone, then a one-node cluster): one interaction already due, then
# `Crm.Host --config FILE` is started and timed from its start until that row's notification exists (polled every
# 20 ms), and the host's CPU time at that moment is read from /proc; then SIGKILL. Each run is done twice: the host as
# it ships (the Release build, ReadyToRun: src/Crm.Host/Crm.Host.csproj), and the reference, the same sources
# published with PublishReadyToRun=false (IL only: everything of ours and of the packages JIT-compiled at start, the
# framework's own code precompiled in both). Prints the medians and the ratio shipped / reference.
#
# Knobs (environment): REPS=5 (runs per mode and build), KEEP=1 (keep the hosts' folders).
# Needs: dotnet (SDK of global.json); PostgreSQL is installed from Debian's packages if missing.
set -euo pipefail
bench=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$bench")
REPS=${REPS:-5}
[[ $REPS =~ ^[0-9]+$ ]] && (( REPS > 0 )) || { echo "restart.sh: REPS must be a whole number > 0, not '$REPS'" >&2; exit 2; }

log() { printf 'restart-bench: %s\n' "$*" >&2; }
die() { echo "restart.sh: FAILED: $*" >&2; exit 1; }
median() { tr ' ' '\n' | grep . | sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.3f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
ticks=$(getconf CLK_TCK)

source "$root/scripts/throwaway-postgres.sh"
pg_ensure_installed
command -v dotnet >/dev/null || die "dotnet is not on PATH"
work=$(mktemp -d /tmp/crm-restart-bench.XXXXXX)
host_pid=""
cleanup() {
  [[ -n $host_pid ]] && kill -KILL "$host_pid" 2>/dev/null
  pg_throwaway_stop
  if [[ ${KEEP:-0} == 1 ]]; then echo "restart.sh: hosts' folders kept in $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

pg_throwaway_start || die "PostgreSQL did not start"
export PGCLIENTENCODING=UTF8 DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
sql() { "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PG_PORT" -U postgres -d crm "$@"; }
"$PG_BIN/psql" -X -q -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres -c "CREATE DATABASE crm" >/dev/null
sql -f "$root/tests/fixtures/crm_schema.sql" >/dev/null
sql -c "INSERT INTO users (id, email, full_name, hashed_password, is_active, is_superuser, outlook_connected, outlook_consent_given,
          o365_connected, o365_consent_given, imap_connected, cgu_accepted, totp_enabled, subscription_status)
        VALUES (1, 'user1@example.com', 'User 1', 'x', true, false, false, false, false, false, false, true, false, 'active');
        INSERT INTO organisations (id, nom, type, language, email_unsubscribed, pipeline_stage, is_anonymized)
        VALUES (1, 'ACME', 'CLIENT', 'fr', false, 'LEAD', false);"
export DATABASE_URL="postgresql://postgres@127.0.0.1:$PG_PORT/crm"

# The reference first: its publish writes IL over the build's output, which the build below makes ReadyToRun again.
log "publishing the reference (PublishReadyToRun=false), then building Crm.Host (Release)"
dotnet publish "$root/src/Crm.Host" -c Release -p:PublishReadyToRun=false -o "$work/reference" -nologo -clp:ErrorsOnly -v quiet >"$work/build.log" 2>&1 \
  || { cat "$work/build.log" >&2; die "dotnet publish of the reference failed"; }
dotnet build "$root/src/Crm.Host" -c Release -nologo -clp:ErrorsOnly -v quiet >"$work/build.log" 2>&1 \
  || { cat "$work/build.log" >&2; die "dotnet build failed"; }
dll=$root/src/Crm.Host/bin/Release/net10.0/Crm.Host.dll
declare -A dlls=([shipped]=$dll [reference]=$work/reference/Crm.Host.dll)
dotnet "$dll" --migrate >"$work/migrate.log" 2>&1 || { cat "$work/migrate.log" >&2; die "--migrate failed"; }

# Free loopback ports below the ephemeral range for the admin listener and the cluster.
free_port() { local p; while :; do p=$(( 20000 + RANDOM % 12000 )); ss -Htan "sport = :$p" | grep -q . || { echo "$p"; return; }; done; }

# One run: prints "SECONDS CPU_SECONDS" from the host's start to its first notification.
run_once() { # MODE (standalone|cluster) DLL
  local mode=$1 host=$2 dir admin cport started now n cpu
  dir=$(mktemp -d "$work/host.XXXXXX")
  admin=$(free_port); cport=$(free_port)
  {
    echo "crm.admin.bind = \"127.0.0.1:$admin\""
    echo "crm.node.name = \"bench\""
    [[ $mode == cluster ]] && echo "crm.cluster { enabled = on, hostname = \"127.0.0.1\", port = $cport, seed-nodes = [\"akka.tcp://crm-actors@127.0.0.1:$cport\"] }"
  } >"$dir/crm.conf"
  sql -c "TRUNCATE notifications; DELETE FROM crm_interactions;
          INSERT INTO crm_interactions (org_id, type, created_by, attachments, external_participants, title, status, assignee_id, next_action_at)
          VALUES (1, 'call', 1, '[]', '[]', 'Came due while down', 'todo', 1, now() - interval '1 second')"
  started=$EPOCHREALTIME
  (cd "$dir" && exec dotnet "$host" --config "$dir/crm.conf" >"$dir/output.log" 2>&1) &
  host_pid=$!
  for _ in $(seq 1 1500); do
    n=$(sql -tA -c "SELECT count(*) FROM notifications")
    [[ $n == 1 ]] && break
    kill -0 "$host_pid" 2>/dev/null || { cat "$dir/output.log" >&2; die "the host exited"; }
    sleep 0.02
  done
  now=$EPOCHREALTIME
  [[ $n == 1 ]] || die "no notification within 30 s ($mode)"
  cpu=$(awk -v t="$ticks" '{ printf "%.2f", ($14 + $15) / t }' "/proc/$host_pid/stat")
  kill -KILL "$host_pid"; wait "$host_pid" 2>/dev/null || true; host_pid=""
  awk -v a="$started" -v b="$now" -v c="$cpu" 'BEGIN { printf "%.3f %s\n", b - a, c }'
}

printf '%-11s %-10s %10s %10s   %s\n' mode build "start (s)" "CPU (s)" "runs (s)"
for mode in standalone cluster; do
  declare -A wall=() cpu=()
  for rep in $(seq 1 "$REPS"); do
    for build in shipped reference; do
      read -r w c < <(run_once "$mode" "${dlls[$build]}")
      wall[$build]+="$w "; cpu[$build]+="$c "
    done
  done
  for build in shipped reference; do
    printf '%-11s %-10s %10s %10s   %s\n' "$mode" "$build" "$(median <<<"${wall[$build]}")" "$(median <<<"${cpu[$build]}")" "${wall[$build]}"
  done
  printf '%-11s %-10s %10s\n' "$mode" ratio "$(awk -v a="$(median <<<"${wall[shipped]}")" -v b="$(median <<<"${wall[reference]}")" 'BEGIN { printf "%.2f", a / b }')"
  unset wall cpu
done
log "load average $(cut -d' ' -f1-3 /proc/loadavg)"
