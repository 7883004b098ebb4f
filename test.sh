#!/usr/bin/env bash
# Runs every test of CrmActors. On a fresh machine it installs PostgreSQL, promtool and Chromium (with its WebDriver)
# from Debian's packages when missing, starts a throwaway cluster on a free loopback port (removed on exit), builds, runs `dotnet test` on the solution,
# then (as root) container/test.sh, which builds the image with buildah and boots it with podman. Ends with the
# line "N passed, N failed": the sum of the dotnet test summaries and the container checks.
# CRM_SKIP_CONTAINER=1 leaves the container out (a quick loop while developing).
set -euo pipefail
cd "$(dirname "$0")"
root=$PWD
source "$root/scripts/throwaway-postgres.sh"
trap pg_throwaway_stop EXIT
pg_throwaway_start

# Debian's prometheus package: promtool, the Prometheus parser the /metrics tests pipe the exposition to and that
# checks and unit-tests deploy/prometheus' rules, and the prometheus server the deploy tests scrape a host with.
if ! command -v promtool >/dev/null || ! command -v prometheus >/dev/null; then
  echo "test.sh: installing promtool and prometheus from Debian's prometheus package" >&2
  pg_as_root apt-get update -qq
  pg_as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >/dev/null
fi

# Debian's chromium and chromium-driver: the real browser the dashboard's tests drive with Selenium WebDriver.
if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then
  echo "test.sh: installing Debian's chromium and chromium-driver" >&2
  pg_as_root apt-get update -qq
  pg_as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null
fi

# Debian's uvicorn, python3-uvicorn and python3-fastapi: the process programs' tests run the CRM's own [program:api]
# command line (uvicorn --reload) on a small FastAPI app.
if [[ ! -x /usr/bin/uvicorn ]] || ! /usr/bin/python3 -c 'import uvicorn, fastapi' 2>/dev/null; then
  echo "test.sh: installing Debian's uvicorn, python3-uvicorn and python3-fastapi" >&2
  pg_as_root apt-get update -qq
  pg_as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq uvicorn python3-uvicorn python3-fastapi >/dev/null
fi

# Debian's supervisor (supervisord and supervisorctl 4.2.5): the group commands are asked of it and of crmctl alike,
# and their answers compared (SupervisorctlGroupParityTests).
if ! command -v supervisord >/dev/null || ! command -v supervisorctl >/dev/null; then
  echo "test.sh: installing Debian's supervisor" >&2
  pg_as_root apt-get update -qq
  pg_as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends supervisor >/dev/null
fi

export CRM_TEST_PG="Host=127.0.0.1;Port=$PG_PORT;Username=postgres"
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

if [[ ${CRM_SKIP_CONTAINER:-0} == 1 ]]; then
  echo "test.sh: container checks skipped (CRM_SKIP_CONTAINER=1)" >&2
elif [[ $(id -u) -ne 0 ]]; then
  echo "test.sh: container checks skipped: rootful buildah and podman need root" >&2
else
  container_log=$(mktemp)
  set +e
  "$root/container/test.sh" 2>&1 | tee "$container_log"
  container_status=${PIPESTATUS[0]}
  set -e
  read -r c_passed c_failed < <(awk '/^[0-9]+ passed, [0-9]+ failed$/ { p = $1; f = $3 } END { printf "%d %d\n", p, f }' "$container_log")
  rm -f "$container_log"
  if [[ $container_status -ne 0 && $c_failed -eq 0 ]]; then c_failed=1; fi
  passed=$((passed + c_passed))
  failed=$((failed + c_failed))
  [[ $container_status -eq 0 ]] || status=$container_status
fi
echo "$passed passed, $failed failed"
exit "$status"
