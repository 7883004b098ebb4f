#!/usr/bin/env bash
# Runs every test of CrmActors. On a fresh machine it installs PostgreSQL from Debian's packages when missing,
# starts a throwaway cluster on a free loopback port (removed on exit), builds, runs `dotnet test` on the solution
# and ends with the line "N passed, N failed" (the sum of the dotnet test summaries).
set -euo pipefail
cd "$(dirname "$0")"
root=$PWD

as_root() { if [[ $(id -u) -eq 0 ]]; then "$@"; else sudo "$@"; fi; }
pg_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1; }

bin=$(pg_bin)
if [[ -z $bin || ! -x $bin/initdb ]]; then
  echo "test.sh: installing PostgreSQL from Debian's packages" >&2
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
  bin=$(pg_bin)
fi

# initdb refuses to run as root: the cluster belongs to the postgres user when we are root.
cluster=$(mktemp -d /tmp/crm-actors-pg.XXXXXX)
run_pg() { if [[ $(id -u) -eq 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi; }
[[ $(id -u) -eq 0 ]] && chown postgres "$cluster"
stop_cluster() {
  run_pg "$bin/pg_ctl" -D "$cluster/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$cluster"
}
trap stop_cluster EXIT

run_pg "$bin/initdb" -D "$cluster/data" -U postgres -A trust -E UTF8 --no-sync >"$cluster/initdb.log" 2>&1 \
  || { cat "$cluster/initdb.log" >&2; exit 1; }
port=""
for _ in 1 2 3 4 5; do
  candidate=$((20000 + RANDOM % 20000))
  # Durability settings are off: the tests kill processes, never the machine.
  if run_pg "$bin/pg_ctl" -D "$cluster/data" -l "$cluster/server.log" -w -t 60 start \
       -o "-p $candidate -k $cluster -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300" >/dev/null; then
    port=$candidate; break
  fi
done
[[ -n $port ]] || { echo "test.sh: PostgreSQL did not start" >&2; cat "$cluster/server.log" >&2; exit 1; }
echo "test.sh: PostgreSQL $("$bin/postgres" --version | awk '{print $3}') on 127.0.0.1:$port" >&2

export CRM_TEST_PG="Host=127.0.0.1;Port=$port;Username=postgres"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

dotnet build "$root/CrmActors.sln" -c Release -nologo -clp:ErrorsOnly
results=$(mktemp)
set +e
dotnet test "$root/CrmActors.sln" -c Release --no-build -nologo "$@" 2>&1 | tee "$results"
status=${PIPESTATUS[0]}
set -e

# Sum "Passed!  - Failed: 0, Passed: 12, Skipped: 0, Total: 12" over every test assembly.
read -r passed failed < <(awk '
  /(Passed|Failed)! +- +Failed:/ {
    for (i = 1; i <= NF; i++) { gsub(",", "", $(i+1)); if ($i == "Failed:") f += $(i+1); if ($i == "Passed:") p += $(i+1) }
  }
  END { printf "%d %d\n", p, f }' "$results")
rm -f "$results"
if [[ $status -ne 0 && $failed -eq 0 ]]; then failed=1; fi
echo "$passed passed, $failed failed"
exit "$status"
