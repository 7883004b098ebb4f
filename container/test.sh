#!/usr/bin/env bash
# container/test.sh: proves that ./Dockerfile builds and that the image boots, runs and stops as promised.
#
# On a fresh Debian 12 machine, as root:
#   1. installs buildah, podman, runc, debootstrap and PostgreSQL from Debian's packages when missing;
#   2. makes local stand-ins for the two base images, named locally (localhost/crm-actors-standin/dotnet-sdk:10.0
#      and .../dotnet-aspnet:10.0, given to the Dockerfile's SDK_IMAGE and ASPNET_IMAGE, so that they never hide the
#      real mcr.microsoft.com images on a developer's machine), because no image registry
#      is reachable here: a Debian bookworm minbase root file system (debootstrap) plus this machine's own .NET
#      installation, and a user `app` (uid 1654) in the aspnet one, as in the official image. Nothing is ever
#      pulled (--pull=never everywhere);
#   3. builds the image with buildah (docker format, so that HEALTHCHECK is kept), prints its size;
#   4. checks what the image declares (HEALTHCHECK, USER, STOPSIGNAL, VOLUME) and that it refuses to start without
#      DATABASE_URL (exit 2); starts a throwaway PostgreSQL on loopback (as ../test.sh does), loads the CRM schema,
#      seeds one due interaction, runs the image's --migrate, then the service detached (podman, runc, host
#      network, read-only root file system, no capabilities), and checks: non-root main process, HEALTHCHECK
#      passing, the reminder written once with the right row, crmctl inside, a clean `podman stop -t 30` (exit 0),
#      no ERROR in the output; finally that --demo starts without DATABASE_URL;
#   5. the CRM's API image with the single-file host in supervisord's place (docs/crm-image.md): publishes
#      Crm.Host and crmctl self-contained as single files, makes a stand-in for the CRM's Python base (bookworm
#      minbase with Debian's python3, python3-uvicorn, python3-fastapi and uvicorn, nothing for .NET;
#      localhost/crm-actors-standin/crm-python:bookworm), builds container/crm-api/Dockerfile on it with the CRM's
#      supervisord.conf unchanged and the stand-in FastAPI app, and checks, on the same PostgreSQL: the runbook's two
#      `crmctl status` lines, the host as PID 1, the API answering HTTP, the due reminder written, `kill -9` of
#      uvicorn -> EXITED -> STARTING -> RUNNING and a new worker answering (timed), no zombie nor anything of the
#      killed group left, a clean `podman stop -t 30` (exit 0) with both programs stopped, no ERROR, --demo healthy;
#   6. prints a summary and "N passed, N failed"; exits 1 when any check failed. Everything it started and built
#      (containers, PostgreSQL cluster, temporary files, the image, the stand-ins, buildah's layer cache) is removed
#      on exit, unless CRM_CONTAINER_KEEP=1.
#
# Cache: the debootstrapped root file systems are kept as tarballs under /var/tmp/crm-actors-container-cache
# (CRM_CONTAINER_CACHE overrides it; about 150 MB each), so that a second run need not debootstrap again. With
# CRM_CONTAINER_KEEP=1 the stand-in images and the layer cache stay too (a developer's fast loop: the NuGet restore
# layer is reused while no project file changes); `podman rmi` them, or delete the tarball, to start over.
#
# NuGet: the build stage's `dotnet restore` needs the packages. Found here: the build container does reach the
# NuGet registry with `--network host` (same network and DNS as the machine), but the registry's HTTPS certificate
# is issued, on this machine, by an authority that the machine's trust store holds and a stock Debian one does not,
# so a restore inside the Debian stand-in fails with NU1301 "The remote certificate is invalid because of errors
# in the certificate chain: UntrustedRoot" (copying the machine's trust store into the image would hide a
# difference between this machine and a real build host, so this script does not). So, by default
# (CRM_CONTAINER_NUGET=local), this script restores the Dockerfile's two projects on the machine first (in a
# temporary copy of the project files, filling ~/.nuget/packages as ../test.sh's build does), then bind-mounts
# that folder read-only as the build's global packages folder, with a NuGet.Config whose only source is that
# folder: the Dockerfile's own `dotnet restore` then runs unchanged, offline. CRM_CONTAINER_NUGET=network runs
# the plain networked restore instead (for a machine whose containers trust the registry's certificate).
#
# Network: only loopback. The container shares the host's network (podman --network host) to reach the
# loopback PostgreSQL; its admin listener is moved to a free loopback port by a mounted --config file
# (crm.admin.bind), and CRM_ADMIN_URL is set to match so that the image's HEALTHCHECK (crmctl health) finds it.
# The CRM image runs its own CMD when 9110 is free (else the same command line plus that --config), its API on
# a free loopback port (API_PORT, the CRM's supervisord.conf's %(ENV_API_PORT)s).
#
# Usage: container/test.sh            (env: CRM_CONTAINER_CACHE, CRM_CONTAINER_KEEP=1 to keep the images it built)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
started_at=$SECONDS

cache=${CRM_CONTAINER_CACHE:-/var/tmp/crm-actors-container-cache}
image=localhost/crm-actors:test
sdk_image=localhost/crm-actors-standin/dotnet-sdk:10.0
aspnet_image=localhost/crm-actors-standin/dotnet-aspnet:10.0
# The CRM's API image with the single-file host in supervisord's place (container/crm-api/Dockerfile), on a
# stand-in for its Python base: bookworm minbase with Debian's Python, uvicorn and FastAPI, nothing for .NET.
crm_image=localhost/crm-actors-crm-api:test
python_image=localhost/crm-actors-standin/crm-python:bookworm
python_packages=python3,python3-uvicorn,python3-fastapi,uvicorn
suite=bookworm
# What the base images hold besides minbase: the .NET dependencies the official images install.
base_packages=ca-certificates,libicu72,tzdata,libssl3,zlib1g,libstdc++6,libgcc-s1,libc6
app_uid=1654

say() { printf 'container/test.sh: %s\n' "$*" >&2; }
die() { say "$*"; echo "${passed:-0} passed, $((${failed:-0} + 1)) failed"; exit 1; }
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }

[[ $(id -u) -eq 0 ]] || die "run me as root: rootful podman and buildah, debootstrap and the PostgreSQL cluster need it"

# Rootful podman with cgroupfs and file events works with or without systemd (CI machines have none as PID 1).
# Without systemd podman cannot schedule its healthcheck timers (it would log "unable to get systemd connection
# to add healthchecks" at every run): this script runs the image's HEALTHCHECK itself, `podman healthcheck run`.
podman=(podman --cgroup-manager cgroupfs --events-backend file)
export DISABLE_HC_SYSTEMD=true

# ---- 1. tools ------------------------------------------------------------------------------------------------
source "$root/scripts/throwaway-postgres.sh"
missing=()
for tool in buildah podman runc debootstrap; do command -v "$tool" >/dev/null || missing+=("$tool"); done
if ((${#missing[@]})); then
  say "installing ${missing[*]} from Debian's packages"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
pg_ensure_installed
bin=$PG_BIN
command -v dotnet >/dev/null || die "no dotnet on PATH: the stand-in base images are made from this machine's .NET SDK"
# The kernel's overlay file system serves rootful storage; without it fall back to the slow but universal vfs.
if ! grep -qw overlay /proc/filesystems && ! modprobe overlay 2>/dev/null; then
  say "no overlay file system in this kernel: using the vfs storage driver"
  export STORAGE_DRIVER=vfs
fi

work=$(mktemp -d /tmp/crm-actors-container.XXXXXX)
chmod 0755 "$work"
cid=""        # the service container
demo_cid=""   # the --demo container
crm_cid=""    # the CRM's API image, on its supervisord.conf
crm_demo_cid=""
cleanup() {
  local status=$?
  if [[ -n $cid && ( $status -ne 0 || -n ${CRM_CONTAINER_SHOW_LOGS:-} ) ]]; then
    say "last lines of the service container's output:"
    "${podman[@]}" logs --tail 40 "$cid" >&2 2>&1 || true
  fi
  if [[ -n $crm_cid && ( $status -ne 0 || ${failed:-0} -ne 0 || -n ${CRM_CONTAINER_SHOW_LOGS:-} ) ]]; then
    say "last lines of the CRM API container's output:"
    "${podman[@]}" logs --tail 40 "$crm_cid" >&2 2>&1 || true
  fi
  for c in $cid $demo_cid $crm_cid $crm_demo_cid; do "${podman[@]}" rm -f -v "$c" >/dev/null 2>&1 || true; done
  pg_throwaway_stop
  if [[ ${CRM_CONTAINER_KEEP:-0} != 1 ]]; then
    # What this script built: the image and the stand-ins (built without the layer cache, so nothing else is left).
    "${podman[@]}" rmi -f "$image" "$sdk_image" "$aspnet_image" "$crm_image" "$python_image" >/dev/null 2>&1 || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

# ---- 2. stand-in base images ---------------------------------------------------------------------------------
mkdir -p "$cache"
dotnet_root=$(dirname "$(readlink -f "$(command -v dotnet)")")
[[ -x $dotnet_root/dotnet && -d $dotnet_root/shared/Microsoft.AspNetCore.App && -d $dotnet_root/sdk ]] \
  || die "$dotnet_root is not a whole .NET SDK installation (dotnet, sdk/, shared/Microsoft.AspNetCore.App)"
runtime_version=$(ls "$dotnet_root/shared/Microsoft.NETCore.App" | sort -V | tail -n 1)
aspnet_version=$(ls "$dotnet_root/shared/Microsoft.AspNetCore.App" | sort -V | tail -n 1)
sdk_version=$(ls "$dotnet_root/sdk" | grep -E '^[0-9]' | sort -V | tail -n 1)

# The Debian mirror this machine's apt uses (debootstrap's own default otherwise).
debian_mirror() {
  local uri=""
  if [[ -f /etc/apt/sources.list.d/debian.sources ]]; then
    uri=$(awk '/^URIs:/ { for (i = 2; i <= NF; i++) if ($i !~ /security/) { print $i; exit } }' /etc/apt/sources.list.d/debian.sources)
  fi
  if [[ -z $uri && -f /etc/apt/sources.list ]]; then
    uri=$(awk '$1 == "deb" && $0 !~ /security/ { for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\//) { print $i; exit } }' /etc/apt/sources.list)
  fi
  printf '%s' "$uri"
}

# One root file system for both stand-ins: bookworm minbase plus the .NET dependencies, without apt's caches.
base_tar="$cache/$suite-minbase-$(printf '%s' "$base_packages" | sha256sum | cut -c1-12).tar"
make_base_tar() { # [TAR PACKAGES]: the .NET stand-ins' by default
  local tar=${1:-$base_tar} packages=${2:-$base_packages} rootfs="$work/rootfs" mirror
  mirror=$(debian_mirror)
  say "debootstrap $suite (minbase + $packages)${mirror:+ from $mirror}: a few minutes, once"
  if ! debootstrap --variant=minbase --include="$packages" "$suite" "$rootfs" ${mirror:+"$mirror"} >"$work/debootstrap.log" 2>&1; then
    tail -n 30 "$work/debootstrap.log" >&2
    die "debootstrap failed"
  fi
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/log/* \
         "$rootfs"/usr/share/doc/* "$rootfs"/usr/share/man/* "$rootfs"/usr/share/info/*
  tar --numeric-owner -C "$rootfs" -cf "$tar.tmp" .
  mv "$tar.tmp" "$tar"
  rm -rf "$rootfs"
}

# The environment the official images set, so that the Dockerfile meets the same one here.
common_env=(--env APP_UID=$app_uid --env ASPNETCORE_HTTP_PORTS=8080 --env DOTNET_RUNNING_IN_CONTAINER=true
            --env DOTNET_VERSION="$runtime_version" --env ASPNET_VERSION="$aspnet_version")

make_stand_in() { # NAME KIND(sdk|aspnet)
  local name=$1 kind=$2 ctr
  [[ -f $base_tar ]] || make_base_tar
  say "making the stand-in $name from $base_tar and $dotnet_root"
  ctr=$(buildah from --pull=never scratch)
  buildah add --quiet "$ctr" "$base_tar" / >/dev/null
  if [[ $kind == sdk ]]; then
    buildah add --quiet "$ctr" "$dotnet_root" /usr/share/dotnet >/dev/null
    buildah config "${common_env[@]}" --env DOTNET_SDK_VERSION="$sdk_version" --env DOTNET_GENERATE_ASPNET_CERTIFICATE=false \
      --env DOTNET_NOLOGO=true --env DOTNET_USE_POLLING_FILE_WATCHER=true --env NUGET_XMLDOC_MODE=skip "$ctr"
  else
    buildah add --quiet "$ctr" "$dotnet_root/dotnet" /usr/share/dotnet/ >/dev/null
    buildah add --quiet "$ctr" "$dotnet_root/host" /usr/share/dotnet/host >/dev/null
    buildah add --quiet "$ctr" "$dotnet_root/shared/Microsoft.NETCore.App" /usr/share/dotnet/shared/Microsoft.NETCore.App >/dev/null
    buildah add --quiet "$ctr" "$dotnet_root/shared/Microsoft.AspNetCore.App" /usr/share/dotnet/shared/Microsoft.AspNetCore.App >/dev/null
    buildah config "${common_env[@]}" "$ctr"
  fi
  buildah run "$ctr" -- ln -s /usr/share/dotnet/dotnet /usr/bin/dotnet
  if [[ $kind == aspnet ]]; then
    buildah run "$ctr" -- groupadd --gid $app_uid app
    buildah run "$ctr" -- useradd --no-log-init --uid $app_uid --gid $app_uid --create-home app
  fi
  buildah run "$ctr" -- dotnet --info >"$work/$kind-info.txt" 2>&1 || { cat "$work/$kind-info.txt" >&2; die "dotnet does not run in the stand-in $name"; }
  buildah config --label "org.opencontainers.image.description=local stand-in for $name (container/test.sh)" "$ctr"
  buildah commit --quiet --format docker --rm "$ctr" "$name" >/dev/null
}

stand_ins_made=no
for pair in "$sdk_image sdk" "$aspnet_image aspnet"; do
  read -r name kind <<<"$pair"
  if "${podman[@]}" image exists "$name"; then
    say "base image $name already in local storage: kept"
  else
    make_stand_in "$name" "$kind"
    stand_ins_made=yes
  fi
done

# ---- 3. the image --------------------------------------------------------------------------------------------
[[ -f src/Crm.Ctl/Crm.Ctl.csproj ]] || die "src/Crm.Ctl/Crm.Ctl.csproj is missing: the image ships crmctl (its HEALTHCHECK runs it)"
build=(buildah build --pull=never --format docker --network host -f Dockerfile -t "$image"
  --build-arg "SDK_IMAGE=$sdk_image" --build-arg "ASPNET_IMAGE=$aspnet_image")
[[ ${CRM_CONTAINER_KEEP:-0} == 1 ]] && build+=(--layers)
if [[ ${CRM_CONTAINER_NUGET:-local} == local ]]; then
  packages=${NUGET_PACKAGES:-$HOME/.nuget/packages}
  say "restoring the image's projects on this machine into $packages (the build restores from there, offline)"
  mkdir -p "$work/restore/src"
  cp global.json Directory.Build.props Directory.Packages.props "$work/restore/"
  for project in Crm.Actors Crm.Host Crm.Ctl; do
    mkdir -p "$work/restore/src/$project" && cp "src/$project/$project.csproj" "$work/restore/src/$project/"
  done
  for project in Crm.Host Crm.Ctl; do
    dotnet restore "$work/restore/src/$project/$project.csproj" --packages "$packages" -nologo >"$work/restore.log" 2>&1 \
      || { cat "$work/restore.log" >&2; die "dotnet restore of $project on this machine failed"; }
  done
  cat >"$work/NuGet.Config" <<'EOF'
<?xml version="1.0" encoding="utf-8"?>
<configuration>
  <packageSources>
    <clear />
    <add key="machine" value="/root/.nuget/packages" />
  </packageSources>
</configuration>
EOF
  build+=(--volume "$packages:/root/.nuget/packages:ro" --volume "$work/NuGet.Config:/root/.nuget/NuGet/NuGet.Config:ro")
fi
build_started=$(now)
say "building $image with buildah"
"${build[@]}" . >"$work/build.log" 2>&1 || { tail -n 60 "$work/build.log" >&2; die "buildah build failed (log above)"; }
build_seconds=$(elapsed "$build_started" "$(now)")
# Every build that changes a layer leaves the previous image and its build-stage layers untagged: drop those
# older than a day (the layer cache of recent builds stays), so that repeated runs do not fill the disk.
[[ ${CRM_CONTAINER_KEEP:-0} == 1 ]] && { "${podman[@]}" image prune -f --filter until=24h >/dev/null 2>&1 || true; }
image_bytes=$("${podman[@]}" image inspect "$image" --format '{{.Size}}')
image_size="$(numfmt --to=si --suffix=B "$image_bytes") ($(numfmt --to=iec-i --suffix=B "$image_bytes"))"
say "built $image: $image_size in ${build_seconds}s"

# ---- assertions ----------------------------------------------------------------------------------------------
passed=0
failed=0
check() { # DESCRIPTION COMMAND...
  local what=$1; shift
  if "$@"; then passed=$((passed + 1)); echo "ok   - $what"
  else failed=$((failed + 1)); echo "FAIL - $what"; fi
}
equals() { [[ $1 == "$2" ]] || { say "  expected '$2', got '$1'"; return 1; }; }

# What the image declares (docker format keeps HEALTHCHECK; OCI would drop it).
inspect_image() { "${podman[@]}" image inspect "$image" --format "$1"; }
check "image: HEALTHCHECK runs crmctl health" equals "$(inspect_image '{{.HealthCheck.Test}}')" "[CMD crmctl health]"
check "image: runs as uid $app_uid" equals "$(inspect_image '{{.Config.User}}')" "$app_uid:$app_uid"
check "image: STOPSIGNAL SIGTERM" equals "$(inspect_image '{{.Config.StopSignal}}')" "SIGTERM"
check "image: /app/logs is a VOLUME" equals "$(inspect_image '{{range $k, $v := .Config.Volumes}}{{$k}}{{end}}')" "/app/logs"

# The ulimits are needed here: podman's default RLIMIT_NOFILE (1048576) is above this machine's hard limit, and
# runc then fails with "error setting rlimit type 7: operation not permitted".
limits=(--ulimit nofile=1024:1024 --ulimit nproc=1024:1024)
run_image=("${podman[@]}" run --rm --pull=never --runtime runc --network host "${limits[@]}")
# Without DATABASE_URL (and without --demo) the image refuses to start, clearly, with exit 2.
set +e
"${run_image[@]}" "$image" >"$work/no-url.out" 2>&1
no_url_status=$?
set -e
check "no DATABASE_URL: exit 2" equals "$no_url_status" 2
check "no DATABASE_URL: the message names it" grep -q "DATABASE_URL is not set" "$work/no-url.out"
check "crmctl is on PATH in the image" "${run_image[@]}" "$image" sh -c 'command -v crmctl >/dev/null'
check "ICU and Europe/Paris in the image" "${run_image[@]}" "$image" sh -c 'ls /usr/lib/*/libicuuc.so.* >/dev/null && test -e /usr/share/zoneinfo/Europe/Paris'

# ---- 4. PostgreSQL on loopback, the CRM schema, one due interaction ------------------------------------------
pg_throwaway_start || die "PostgreSQL did not start"
port=$PG_PORT
run_pg() { pg_as_owner "$@"; }
psql_db() { run_pg "$bin/psql" -h 127.0.0.1 -p "$port" -U postgres -d crm -v ON_ERROR_STOP=1 -X -q -A -t "$@"; }
run_pg "$bin/psql" -h 127.0.0.1 -p "$port" -U postgres -d postgres -X -q -c "CREATE DATABASE crm" >/dev/null
psql_db -f - <"$root/tests/fixtures/crm_schema.sql" >/dev/null
# A reminder due long ago, at a fixed instant: 2025-01-15 08:30 UTC is 09:30 in Paris (CET, UTC+1).
psql_db >/dev/null <<'SQL'
INSERT INTO users (id, email, full_name, hashed_password, is_active, is_superuser, outlook_connected, outlook_consent_given,
                   o365_connected, o365_consent_given, imap_connected, cgu_accepted, totp_enabled, subscription_status)
VALUES (1, 'anne.martin@example.test', 'Anne Martin', 'x', true, false, false, false, false, false, false, true, false, 'active');
INSERT INTO organisations (id, nom, type, language, email_unsubscribed, pipeline_stage, is_anonymized)
VALUES (1, 'ACME', 'CLIENT', 'fr', false, 'LEAD', false);
INSERT INTO crm_interactions (id, org_id, type, title, created_by, status, assignee_id, next_action_at, attachments, external_participants)
VALUES (1, 1, 'call', 'Relancer ACME', 1, 'todo', 1, '2025-01-15 08:30:00+00', '[]', '[]');
SQL
database_url="postgresql://postgres@127.0.0.1:$port/crm"

# The admin listener on a free loopback port (the host network is shared), told by a mounted --config file.
port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
admin_port=9110
port_free $admin_port || { admin_port=""; for _ in $(seq 20); do p=$((40000 + RANDOM % 20000)); port_free "$p" && { admin_port=$p; break; }; done; }
[[ -n $admin_port ]] || die "no free loopback port for the admin listener"
cat >"$work/crm.conf" <<EOF
crm.admin.bind = "127.0.0.1:$admin_port"
EOF
chmod 0644 "$work/crm.conf"

# ---- 5. --migrate, then the service --------------------------------------------------------------------------
# Hardened as compose.yaml runs it: read-only root file system (and, as with Docker, no writable /tmp), no
# capabilities, no privilege gain. Only the /app/logs volume is writable.
run_service=("${podman[@]}" run --pull=never --runtime runc --network host "${limits[@]}"
             --read-only --read-only-tmpfs=false --cap-drop ALL --security-opt no-new-privileges
             -e DATABASE_URL="$database_url" -e CRM_ADMIN_URL="http://127.0.0.1:$admin_port"
             -v "$work/crm.conf:/etc/crm-actors/crm.conf:ro")
set +e
"${run_service[@]}" --rm "$image" --migrate --config /etc/crm-actors/crm.conf >"$work/migrate.out" 2>&1
migrate_status=$?
set -e
check "--migrate exits 0" equals "$migrate_status" 0
[[ $migrate_status -eq 0 ]] || cat "$work/migrate.out" >&2

# Polls the image's HEALTHCHECK (podman runs the image's own command, crmctl health) until it passes; prints the
# seconds since $2, or nothing when the container stopped or $3 seconds went by.
wait_healthy() { # CONTAINER STARTED_AT TIMEOUT
  local deadline=$((SECONDS + $3))
  while ((SECONDS < deadline)); do
    if "${podman[@]}" healthcheck run "$1" >/dev/null 2>&1; then elapsed "$2" "$(now)"; return; fi
    [[ $("${podman[@]}" inspect "$1" --format '{{.State.Running}}') == true ]] || return 0
    sleep 1
  done
}

run_started=$(now)
cid=$("${run_service[@]}" -d "$image" --config /etc/crm-actors/crm.conf)
say "service container ${cid:0:12} started; admin listener 127.0.0.1:$admin_port"

# The main process's user, read from the kernel (not from what the container says of itself).
main_pid=$("${podman[@]}" inspect "$cid" --format '{{.State.Pid}}')
main_uid=$(awk '/^Uid:/ { print $2 }' "/proc/$main_pid/status" 2>/dev/null || echo "?")
check "main process runs as a non-root user (uid $main_uid)" test "$main_uid" != 0 -a "$main_uid" != "?"
check "main process is the .NET host" grep -q "Crm.Host.dll" "/proc/$main_pid/cmdline"

healthy_after=$(wait_healthy "$cid" "$run_started" 90)
check "HEALTHCHECK (crmctl health) passes${healthy_after:+ after ${healthy_after}s}" test -n "$healthy_after"

notifications() { psql_db -c "SELECT count(*) FROM notifications WHERE resource_type = 'interaction' AND resource_id = 1"; }
written=0
deadline=$((SECONDS + 60))
while ((SECONDS < deadline)); do
  written=$(notifications)
  [[ $written -ge 1 ]] && break
  sleep 1
done
check "the due reminder is written" test "$written" -ge 1
row=$(psql_db -F '|' -c "SELECT n.user_id, n.type, n.priority, n.title, n.message, n.link, n.is_read, n.is_archived,
                                 (n.created_at = i.notified_at AND n.updated_at = i.notified_at)
                          FROM notifications n JOIN crm_interactions i ON i.id = n.resource_id WHERE n.resource_id = 1")
check "the notification's row, as the CRM writes one (Europe/Paris time, created_at = updated_at = notified_at)" \
  equals "$row" "1|TASK_DUE|HIGH|Rappel: Relancer ACME|Action prévue le 15/01/2025 à 09:30|/dashboard/inbox?interaction_id=1|f|f|t"
worker_running() { "${podman[@]}" exec "$cid" crmctl status reminder_worker | tee -a "$work/crmctl.out" | grep -qE '^reminder_worker +RUNNING +pid'; }
check "crmctl status in the container: reminder_worker RUNNING" worker_running
check "the log file is written to the /app/logs volume" "${podman[@]}" exec "$cid" test -s /app/logs/reminder_worker.log
sleep 2
check "exactly one notification for the occurrence" equals "$(notifications)" 1

# `podman stop -t 30` of container $2: exit 0 within the grace period, checked under label $1 (empty or "CRM image: ");
# sets stopped_seconds and stopped_exit_code for the summary.
stop_within_grace() {
  local started
  started=$(now)
  "${podman[@]}" stop -t 30 "$2" >/dev/null
  stopped_seconds=$(elapsed "$started" "$(now)")
  stopped_exit_code=$("${podman[@]}" inspect "$2" --format '{{.State.ExitCode}}')
  check "${1}podman stop -t 30: exit code 0" equals "$stopped_exit_code" 0
  check "${1}podman stop -t 30: stopped within the grace period (${stopped_seconds}s)" awk -v s="$stopped_seconds" 'BEGIN { exit !(s < 30) }'
}
stop_within_grace "" "$cid"
stop_seconds=$stopped_seconds exit_code=$stopped_exit_code
"${podman[@]}" logs "$cid" >"$work/service.log" 2>&1 || true
# ASP.NET's health check service logs each failing probe at ERROR: the probes made before the worker is RUNNING
# are expected and left out. Any other ERROR fails the check, and so do Npgsql's complaint about a missing
# Kerberos library (GSS encryption must be off) and a supervisor journal that did not answer (with a file
# snapshot store, Akka.Persistence would need a writable ./snapshots, which a non-root user in a read-only /app
# does not have).
no_errors() {
  ! grep -E ' - (ERROR|CRITICAL) - |libgssapi|journal did not answer' "$work/service.log" \
    | grep -v -E 'DefaultHealthCheckService - ERROR - Health check worker with status Unhealthy' >&2
}
check "no ERROR or CRITICAL line in the service's output, the journal answered" no_errors

# --demo is the one way to start without DATABASE_URL: the embedded SQLite file in /app/data (writable by uid
# 1654; not a volume: a demo keeps nothing), sample interactions, healthy like the real thing.
demo_started=$(now)
demo_cid=$("${podman[@]}" run -d --pull=never --runtime runc --network host "${limits[@]}" --cap-drop ALL \
             --security-opt no-new-privileges -e CRM_ADMIN_URL="http://127.0.0.1:$admin_port" \
             -v "$work/crm.conf:/etc/crm-actors/crm.conf:ro" "$image" --demo --config /etc/crm-actors/crm.conf)
demo_healthy_after=$(wait_healthy "$demo_cid" "$demo_started" 90)
check "--demo without DATABASE_URL: HEALTHCHECK passes${demo_healthy_after:+ after ${demo_healthy_after}s}" test -n "$demo_healthy_after"
"${podman[@]}" stop -t 30 "$demo_cid" >/dev/null 2>&1 || true

# ---- 6. the CRM's API image: the single-file host in supervisord's place -------------------------------------
# What docs/crm-image.md tells the CRM to do, proven: its Python image (here a stand-in: bookworm minbase with
# Debian's python3, uvicorn and FastAPI, and nothing for .NET) plus one COPY of the two self-contained single files
# and one CMD line; its own supervisord.conf, unchanged, as the configuration; run as root as the CRM's runs.
#
# The single files are published on this machine (as the CRM's release would ship them) from a copy of the
# sources, so that the tree's own bin/ and obj/ are left alone: the runtime packs come from NuGet like any package.
say "publishing the self-contained single files (Crm.Host, crmctl)"
mkdir -p "$work/tree" "$work/crm-api/crm-actors"
tar -C "$root" --exclude=bin --exclude=obj -cf - global.json Directory.Build.props Directory.Packages.props hocon src | tar -C "$work/tree" -xf -
publish_started=$(now)
for triple in "Crm.Host Crm.Host crm-host" "Crm.Ctl crmctl crmctl"; do
  read -r project file name <<<"$triple"
  dotnet publish "$work/tree/src/$project/$project.csproj" -c Release -r linux-x64 --self-contained -p:PublishSingleFile=true \
    -o "$work/publish-$project" -nologo >"$work/publish.log" 2>&1 \
    || { tail -n 40 "$work/publish.log" >&2; die "dotnet publish of $project as a single file failed"; }
  cp "$work/publish-$project/$file" "$work/crm-api/crm-actors/$name"
done
publish_seconds=$(elapsed "$publish_started" "$(now)")
size_of() { numfmt --to=iec-i --suffix=B "$(stat -c %s "$1")"; }
host_size=$(size_of "$work/crm-api/crm-actors/crm-host")
ctl_size=$(size_of "$work/crm-api/crm-actors/crmctl")
say "published crm-host ($host_size) and crmctl ($ctl_size) in ${publish_seconds}s"

python_tar="$cache/$suite-minbase-python-$(printf '%s' "$python_packages" | sha256sum | cut -c1-12).tar"
if "${podman[@]}" image exists "$python_image"; then
  say "base image $python_image already in local storage: kept"
else
  [[ -f $python_tar ]] || make_base_tar "$python_tar" "$python_packages"
  say "making the stand-in $python_image from $python_tar"
  ctr=$(buildah from --pull=never scratch)
  buildah add --quiet "$ctr" "$python_tar" / >/dev/null
  buildah config --env LANG=C.UTF-8 --env PYTHONDONTWRITEBYTECODE=1 --env PYTHONUNBUFFERED=1 \
    --label "org.opencontainers.image.description=local stand-in for the CRM's Python base (container/test.sh)" "$ctr"
  buildah run "$ctr" -- python3 -c 'import uvicorn, fastapi' || die "uvicorn or fastapi missing in the stand-in $python_image"
  buildah commit --quiet --format docker --rm "$ctr" "$python_image" >/dev/null
fi

ctx=$work/crm-api
cp container/crm-api/Dockerfile tests/fixtures/crm_api/main.py "$ctx/"
cp tests/fixtures/crm_supervisord.conf "$ctx/supervisord.conf"
say "building $crm_image with buildah"
buildah build --pull=never --format docker -f "$ctx/Dockerfile" -t "$crm_image" --build-arg "PYTHON_IMAGE=$python_image" "$ctx" \
  >"$work/crm-build.log" 2>&1 || { tail -n 40 "$work/crm-build.log" >&2; die "buildah build of $crm_image failed"; }
crm_image_bytes=$("${podman[@]}" image inspect "$crm_image" --format '{{.Size}}')
python_image_bytes=$("${podman[@]}" image inspect "$python_image" --format '{{.Size}}')
crm_image_size="$(numfmt --to=iec-i --suffix=B "$crm_image_bytes") (its Python base $(numfmt --to=iec-i --suffix=B "$python_image_bytes"))"

check "CRM image: CMD is crm-host on the CRM's supervisord.conf" \
  equals "$("${podman[@]}" image inspect "$crm_image" --format '{{.Config.Cmd}}')" "[/usr/local/bin/crm-host --supervisord-conf /etc/supervisor/conf.d/supervisord.conf]"
check "CRM image: the CRM's supervisord.conf unchanged" \
  "${run_image[@]}" -v "$root/tests/fixtures/crm_supervisord.conf:/tmp/crm.conf:ro" "$crm_image" cmp -s /tmp/crm.conf /etc/supervisor/conf.d/supervisord.conf
check "CRM image: no .NET runtime and no ICU in it (the single files are self-contained)" \
  "${run_image[@]}" "$crm_image" sh -c '! command -v dotnet && ! test -e /usr/share/dotnet && ! ls /usr/lib/*/libicuuc.so.* 2>/dev/null'
check "CRM image: crm-host --help exits 0" "${run_image[@]}" "$crm_image" sh -c 'crm-host --help >/dev/null'
check "CRM image: crmctl help exits 0" "${run_image[@]}" "$crm_image" sh -c 'crmctl help >/dev/null'

# A second reminder due long ago, for the CRM image's reminder_worker (the first is already notified).
psql_db >/dev/null <<'SQL'
INSERT INTO crm_interactions (id, org_id, type, title, created_by, status, assignee_id, next_action_at, attachments, external_participants)
VALUES (2, 1, 'call', 'Rappeler ACME', 1, 'todo', 1, '2025-01-15 08:30:00+00', '[]', '[]');
SQL
api_port=""
for _ in $(seq 20); do p=$((40000 + RANDOM % 20000)); [[ $p != "$admin_port" ]] && port_free "$p" && { api_port=$p; break; }; done
[[ -n $api_port ]] || die "no free loopback port for the API"
run_crm=("${podman[@]}" run --pull=never --runtime runc --network host "${limits[@]}"
         -e DATABASE_URL="$database_url" -e API_PORT="$api_port" -e CRM_ADMIN_URL="http://127.0.0.1:$admin_port"
         -v "$work/crm.conf:/etc/crm-actors/crm.conf:ro")
set +e
"${run_crm[@]}" --rm "$crm_image" crm-host --migrate >"$work/crm-migrate.out" 2>&1
crm_migrate_status=$?
set -e
check "CRM image: crm-host --migrate exits 0" equals "$crm_migrate_status" 0
[[ $crm_migrate_status -eq 0 ]] || cat "$work/crm-migrate.out" >&2

# The image's own CMD when the admin listener's default port is free on this shared network; else the same
# command line with the mounted --config that moves it.
crm_started=$(now)
if [[ $admin_port == 9110 ]]; then
  crm_cid=$("${run_crm[@]}" -d "$crm_image")
else
  crm_cid=$("${run_crm[@]}" -d "$crm_image" /usr/local/bin/crm-host --supervisord-conf /etc/supervisor/conf.d/supervisord.conf \
              --config /etc/crm-actors/crm.conf)
fi
say "CRM API container ${crm_cid:0:12} started; API 127.0.0.1:$api_port, admin listener 127.0.0.1:$admin_port"
ctl() { "${podman[@]}" exec "$crm_cid" crmctl "$@"; }
# The pid of the uvicorn worker that answers GET /health (the stand-in app says it), nothing when none answers.
api_worker() { { curl -fsS --max-time 2 "http://127.0.0.1:$api_port/health" 2>/dev/null || true; } | sed -nE 's/.*"pid": *([0-9]+).*/\1/p'; }

both_running_after=""
deadline=$((SECONDS + 90))
while ((SECONDS < deadline)); do
  if [[ $(ctl status 2>/dev/null | grep -c ' RUNNING ') == 2 ]]; then both_running_after=$(elapsed "$crm_started" "$(now)"); break; fi
  [[ $("${podman[@]}" inspect "$crm_cid" --format '{{.State.Running}}') == true ]] || break
  sleep 1
done
check "CRM image: api and reminder_worker RUNNING${both_running_after:+ after ${both_running_after}s}" test -n "$both_running_after"
set +e
crm_status=$(ctl status)
crm_status_code=$?
set -e
runbook_lines() {
  [[ $crm_status_code -eq 0 && $(printf '%s\n' "$crm_status" | wc -l) -eq 2 ]] \
    && printf '%s\n' "$crm_status" | sed -n 1p | grep -qE '^api {30}RUNNING +pid [0-9]+, uptime [0-9]+:[0-9]{2}:[0-9]{2}$' \
    && printf '%s\n' "$crm_status" | sed -n 2p | grep -qE '^reminder_worker {18}RUNNING +pid [0-9]+, uptime [0-9]+:[0-9]{2}:[0-9]{2}$' \
    || { say "  crmctl status said (exit $crm_status_code):"; printf '%s\n' "$crm_status" >&2; return 1; }
}
check "CRM image: crmctl status prints the runbook's two lines" runbook_lines

crm_main_pid=$("${podman[@]}" inspect "$crm_cid" --format '{{.State.Pid}}')
pid1_is_host() {
  "${podman[@]}" exec "$crm_cid" cat /proc/1/cmdline | tr '\0' ' ' | grep -q '^/usr/local/bin/crm-host --supervisord-conf ' \
    && tr '\0' ' ' <"/proc/$crm_main_pid/cmdline" | grep -q '^/usr/local/bin/crm-host '
}
check "CRM image: the host is PID 1 in the container" pid1_is_host

first_worker=""
deadline=$((SECONDS + 60))
while ((SECONDS < deadline)); do first_worker=$(api_worker); [[ -n $first_worker ]] && break; sleep 0.5; done
check "CRM image: the API answers HTTP (GET /health, worker pid ${first_worker:-none})" test -n "$first_worker"

crm_notified() { psql_db -c "SELECT count(*) FROM notifications WHERE resource_type = 'interaction' AND resource_id = 2"; }
deadline=$((SECONDS + 60))
while ((SECONDS < deadline)); do [[ $(crm_notified) -ge 1 ]] && break; sleep 1; done
crm_row=$(psql_db -F '|' -c "SELECT n.type, n.title, n.message, n.link FROM notifications n WHERE n.resource_id = 2")
check "CRM image: reminder_worker writes the due reminder (invariant globalization, Europe/Paris time)" \
  equals "$crm_row" "TASK_DUE|Rappel: Rappeler ACME|Action prévue le 15/01/2025 à 09:30|/dashboard/inbox?interaction_id=2"

# kill -9 of uvicorn (the --reload supervisor, the pid crmctl gives): its worker, holding the port, must go with it,
# and a new uvicorn must answer. Timed from the kill to the first answer of a new worker.
uvicorn_pid=$(ctl pid api | tr -d '\n')
killed_at=$(now)
"${podman[@]}" exec "$crm_cid" sh -c "kill -9 $uvicorn_pid"
kill_to_answer=""
deadline=$((SECONDS + 60))
while ((SECONDS < deadline)); do
  worker=$(api_worker)
  if [[ -n $worker && $worker != "$first_worker" ]]; then kill_to_answer=$(elapsed "$killed_at" "$(now)"); break; fi
  sleep 0.1
done
check "CRM image: kill -9 of uvicorn (pid $uvicorn_pid): a new worker answers HTTP${kill_to_answer:+ after ${kill_to_answer}s}" test -n "$kill_to_answer"
restarted_running() { ctl status api | grep -qE '^api +RUNNING +pid [0-9]+' && [[ $(ctl pid api) != "$uvicorn_pid" ]]; }
deadline=$((SECONDS + 30))
until restarted_running || ((SECONDS >= deadline)); do sleep 0.5; done
api_events=$(ctl events api || true)
# In order, after the kill: RUNNING -> EXITED (SIGKILL), EXITED -> STARTING, STARTING -> RUNNING.
events_in_order() {
  printf '%s\n' "$api_events" | awk '
    /api RUNNING -> EXITED .*SIGKILL/ { step = 1; next }
    step == 1 && /api EXITED -> STARTING/ { step = 2; next }
    step == 2 && /api STARTING -> RUNNING/ { step = 3 }
    END { exit step != 3 }' || { say "  crmctl events api said:"; printf '%s\n' "$api_events" >&2; return 1; }
}
check "CRM image: events after the kill: EXITED -> STARTING -> RUNNING" events_in_order
# The container's process table (state and process group of each), read from /proc inside it.
processes() {
  "${podman[@]}" exec "$crm_cid" sh -c 'for f in /proc/[0-9]*/stat; do s=$(cat "$f" 2>/dev/null) || continue; c=${s%%) *}; r=${s##*) }; echo "${f#/proc/} ${r%% *} $(echo "$r" | cut -d" " -f3) ${c#*(}"; done' \
    | sed 's|/stat||'
}
no_zombie_nor_old_group() {
  local table
  table=$(processes)
  printf '%s\n' "$table" >"$work/crm-processes.txt"
  ! printf '%s\n' "$table" | awk -v g="$uvicorn_pid" '$2 == "Z" || $3 == g { found = 1 } END { exit !found }'
}
deadline=$((SECONDS + 20))
until no_zombie_nor_old_group || ((SECONDS >= deadline)); do sleep 0.5; done
zombie_check() { no_zombie_nor_old_group || { say "  the container's processes (pid state pgrp comm):"; cat "$work/crm-processes.txt" >&2; return 1; }; }
check "CRM image: after the kill no zombie and nothing of the old uvicorn group ($(wc -l <"$work/crm-processes.txt") processes)" zombie_check

stop_within_grace "CRM image: " "$crm_cid"
crm_stop_seconds=$stopped_seconds crm_exit_code=$stopped_exit_code
"${podman[@]}" logs "$crm_cid" >"$work/crm-service.log" 2>&1 || true
both_stopped() {
  grep -q 'api STOPPING -> STOPPED' "$work/crm-service.log" && grep -q 'reminder_worker STOPPING -> STOPPED' "$work/crm-service.log" \
    && ! curl -fsS --max-time 2 "http://127.0.0.1:$api_port/health" >/dev/null 2>&1
}
check "CRM image: both programs stopped gracefully (STOPPING -> STOPPED), the API no longer answers" both_stopped
crm_no_errors() {
  ! grep -E ' - (ERROR|CRITICAL) - |libgssapi|journal did not answer' "$work/crm-service.log" \
    | grep -v -E 'DefaultHealthCheckService - ERROR - Health check worker with status Unhealthy' >&2
}
check "CRM image: no ERROR or CRITICAL line in the host's output" crm_no_errors

# The same single file in demo mode (embedded SQLite, no DATABASE_URL): healthy for crmctl.
crm_demo_started=$(now)
crm_demo_cid=$("${podman[@]}" run -d --pull=never --runtime runc --network host "${limits[@]}" -e CRM_ADMIN_URL="http://127.0.0.1:$admin_port" \
                 -v "$work/crm.conf:/etc/crm-actors/crm.conf:ro" "$crm_image" crm-host --demo --config /etc/crm-actors/crm.conf)
crm_demo_healthy=""
deadline=$((SECONDS + 90))
while ((SECONDS < deadline)); do
  if "${podman[@]}" exec "$crm_demo_cid" crmctl health >/dev/null 2>&1; then crm_demo_healthy=$(elapsed "$crm_demo_started" "$(now)"); break; fi
  [[ $("${podman[@]}" inspect "$crm_demo_cid" --format '{{.State.Running}}') == true ]] || break
  sleep 1
done
check "CRM image: crm-host --demo: crmctl health passes${crm_demo_healthy:+ after ${crm_demo_healthy}s}" test -n "$crm_demo_healthy"
"${podman[@]}" stop -t 30 "$crm_demo_cid" >/dev/null 2>&1 || true

total_seconds=$((SECONDS - started_at))
cat <<EOF

== container/test.sh summary ==
image:                  $image, $image_size, built in ${build_seconds}s$([[ $stand_ins_made == yes ]] && echo " (stand-in base images made this run)")
podman run -> healthy:  ${healthy_after:-never}${healthy_after:+s}
podman stop -t 30:      ${stop_seconds}s, exit code $exit_code
single files:           crm-host $host_size, crmctl $ctl_size (self-contained), published in ${publish_seconds}s
CRM API image:          $crm_image, $crm_image_size
CRM image, run -> both RUNNING: ${both_running_after:-never}${both_running_after:+s}
crmctl status in the CRM image:
$(printf '%s\n' "$crm_status" | sed 's/^/    /')
kill -9 of uvicorn -> a new worker answers HTTP: ${kill_to_answer:-never}${kill_to_answer:+s}
CRM image, podman stop -t 30: ${crm_stop_seconds}s, exit code $crm_exit_code
total run time:         ${total_seconds}s
EOF
echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
