# A PostgreSQL cluster that lives as long as the script that sources this file (test.sh, bench/run.sh,
# container/test.sh). Installs PostgreSQL from Debian's packages when missing. initdb refuses root: as root the
# cluster belongs to the postgres user. Durability is off: these clusters serve tests, never data.
#
#   source scripts/throwaway-postgres.sh
#   trap pg_throwaway_stop EXIT
#   pg_throwaway_start [-c name=value ...]     # sets PG_BIN, PG_PORT (on 127.0.0.1), PG_CLUSTER

pg_as_root() { if [[ $(id -u) -eq 0 ]]; then "$@"; else sudo "$@"; fi; }
pg_as_owner() { if [[ $(id -u) -eq 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi; }
pg_find_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1; }

pg_ensure_installed() {
  PG_BIN=$(pg_find_bin)
  if [[ -z $PG_BIN || ! -x $PG_BIN/initdb ]]; then
    echo "throwaway-postgres: installing PostgreSQL from Debian's packages" >&2
    pg_as_root apt-get update -qq
    pg_as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
    PG_BIN=$(pg_find_bin)
  fi
}

pg_throwaway_start() {
  pg_ensure_installed
  PG_CLUSTER=$(mktemp -d /tmp/crm-actors-pg.XXXXXX)
  [[ $(id -u) -eq 0 ]] && chown postgres "$PG_CLUSTER"
  pg_as_owner "$PG_BIN/initdb" -D "$PG_CLUSTER/data" -U postgres -A trust -E UTF8 --no-sync >"$PG_CLUSTER/initdb.log" 2>&1 \
    || { cat "$PG_CLUSTER/initdb.log" >&2; return 1; }
  # One line: pg_ctl hands -o to a shell, where a newline would end the command.
  local settings="-c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300 $*"
  PG_PORT=""
  local candidate
  for _ in 1 2 3 4 5; do
    candidate=$((20000 + RANDOM % 20000))
    if pg_as_owner "$PG_BIN/pg_ctl" -D "$PG_CLUSTER/data" -l "$PG_CLUSTER/server.log" -w -t 60 start \
         -o "-p $candidate -k $PG_CLUSTER $settings" >/dev/null; then
      PG_PORT=$candidate
      break
    fi
  done
  [[ -n $PG_PORT ]] || { echo "throwaway-postgres: PostgreSQL did not start" >&2; cat "$PG_CLUSTER/server.log" >&2; return 1; }
  echo "throwaway-postgres: PostgreSQL $("$PG_BIN/postgres" --version | awk '{print $3}') on 127.0.0.1:$PG_PORT" >&2
}

pg_throwaway_stop() {
  [[ -n ${PG_CLUSTER:-} ]] || return 0
  pg_as_owner "$PG_BIN/pg_ctl" -D "$PG_CLUSTER/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$PG_CLUSTER"
}

# For the benchmarks (bench/run.sh, bench/cluster.sh): besides durability off, no checkpoint and no autovacuum inside
# a timed run (the seeded databases are vacuumed explicitly), and pg_stat_statements, where this PostgreSQL has it, for
# where the host's database time goes. Sets PG_STAT_STATEMENTS to 1 when it is loaded, else 0.
pg_bench_start() {
  pg_ensure_installed
  local preload=""
  PG_STAT_STATEMENTS=0
  if [[ -f $("$PG_BIN/pg_config" --pkglibdir)/pg_stat_statements.so ]]; then
    preload="-c shared_preload_libraries=pg_stat_statements"
    PG_STAT_STATEMENTS=1
  fi
  pg_throwaway_start -c shared_buffers=1GB -c max_wal_size=8GB -c checkpoint_timeout=1h -c autovacuum=off $preload
}
