# CrmActors: the reminder service (Crm.Host) and its operator CLI (crmctl) in one image.
#
#   build:    docker build -t crm-actors .
#   migrate:  docker run --rm -e DATABASE_URL=postgresql://user:pass@db:5432/crm crm-actors --migrate
#   run:      docker run -d -e DATABASE_URL=postgresql://user:pass@db:5432/crm crm-actors
#   operate:  docker exec CONTAINER crmctl status            (supervisorctl's counterpart, on PATH)
#   try out:  docker run --rm crm-actors --demo               (embedded SQLite with sample data; nothing kept)
#
# DATABASE_URL is the one required setting: without it (and without --demo) the entrypoint exits 2 at once
# instead of letting the host fall back to a SQLite file inside the container. Every other setting is HOCON
# (hocon/crm.conf): mount a file and pass `--config /path/in/container.conf`. compose.yaml runs it next to
# PostgreSQL; container/test.sh builds this file with buildah and boots it with podman, and
# docs/migrating-from-supervisord.md maps the old supervisord.conf onto it.

# ---- build: the SDK restores, builds and publishes both programs in Release (framework-dependent) ----------
# The base images; container/test.sh gives local stand-ins by name (no registry is reachable where it runs).
ARG SDK_IMAGE=mcr.microsoft.com/dotnet/sdk:10.0
ARG ASPNET_IMAGE=mcr.microsoft.com/dotnet/aspnet:10.0
FROM ${SDK_IMAGE} AS build
ENV DOTNET_CLI_TELEMETRY_OPTOUT=1 \
    DOTNET_NOLOGO=1 \
    DOTNET_EnableDiagnostics=0
WORKDIR /src
# The project files alone first: the restore layer is reused as long as no package reference changes.
COPY global.json Directory.Build.props Directory.Packages.props ./
COPY src/Crm.Actors/Crm.Actors.csproj src/Crm.Actors/
COPY src/Crm.Host/Crm.Host.csproj src/Crm.Host/
COPY src/Crm.Ctl/Crm.Ctl.csproj src/Crm.Ctl/
RUN dotnet restore src/Crm.Host/Crm.Host.csproj \
 && dotnet restore src/Crm.Ctl/Crm.Ctl.csproj
# hocon/crm.conf is embedded in Crm.Actors.dll (the documented defaults travel with the code).
COPY hocon/ hocon/
COPY src/ src/
RUN dotnet publish src/Crm.Host/Crm.Host.csproj -c Release --no-restore -o /out/host \
 && dotnet publish src/Crm.Ctl/Crm.Ctl.csproj -c Release --no-restore -o /out/crmctl \
 && test -f /out/host/Crm.Host.dll && test -x /out/crmctl/crmctl

# ---- runtime: ASP.NET Core runtime (the admin listener is Kestrel), no SDK, no sources ---------------------
FROM ${ASPNET_IMAGE}

# The host needs ICU (InvariantGlobalization is off) and the IANA zone database (crm.reminders.time-zone,
# Europe/Paris by default): the official image ships both; install them only when a base image lacks one,
# then fail the build rather than the first notification if either is still missing.
RUN set -eu; \
    has_icu() { for f in /usr/lib/*/libicuuc.so.* /lib/*/libicuuc.so.* /usr/lib/libicuuc.so.*; do [ -e "$f" ] && return 0; done; return 1; }; \
    if ! has_icu || [ ! -e /usr/share/zoneinfo/Europe/Paris ]; then \
      apt-get update; \
      icu=$(apt-cache search --names-only '^libicu[0-9]+$' | cut -d' ' -f1 | sort -V | tail -n 1); \
      DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends tzdata $icu; \
      rm -rf /var/lib/apt/lists/*; \
    fi; \
    has_icu || { echo "Dockerfile: no ICU library in the runtime image" >&2; exit 1; }; \
    test -e /usr/share/zoneinfo/Europe/Paris || { echo "Dockerfile: no tzdata (Europe/Paris) in the runtime image" >&2; exit 1; }

# Kestrel binds crm.admin.bind itself: the base image's ASPNETCORE_HTTP_PORTS=8080 would only add a warning.
# CRM_ADMIN_URL tells crmctl (and so the HEALTHCHECK) where the admin listener is: keep it in step with
# crm.admin.bind. Logs go to /app/logs (crm.logging.dir "logs" is relative to WORKDIR /app), the volume below.
# The image has no Kerberos library (neither has the official one): the host turns Npgsql's GSS encryption off
# unless DATABASE_URL asks for it with ?gssencmode=, which then also needs libgssapi-krb5-2 installed here.
ENV DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=false \
    DOTNET_CLI_TELEMETRY_OPTOUT=1 \
    ASPNETCORE_HTTP_PORTS= \
    CRM_ADMIN_URL=http://127.0.0.1:9110

WORKDIR /app
COPY --from=build /out/host/ /app/
COPY --from=build /out/crmctl/ /opt/crmctl/
COPY container/entrypoint.sh /usr/local/bin/crm-entrypoint
# Programs and libraries belong to root and are read-only for the service. The unprivileged user (uid 1654,
# `app` in the official image) owns only what it writes: logs, and the SQLite file of --demo.
RUN chmod 0755 /usr/local/bin/crm-entrypoint \
 && ln -s /opt/crmctl/crmctl /usr/local/bin/crmctl \
 && mkdir -p /app/logs /app/data \
 && chown 1654:1654 /app/logs /app/data \
 && chmod 0750 /app/logs /app/data

USER 1654:1654
VOLUME ["/app/logs"]
# The host stops its programs gracefully on SIGTERM (an unfinished batch is rolled back) and exits 0; give it
# more than crm.programs.reminder_worker.stopwaitsecs (10s): `docker stop -t 30`, compose's stop_grace_period.
STOPSIGNAL SIGTERM
# Healthy = reminder_worker RUNNING and its last scan succeeded (crmctl health, exit 0). The worker counts as
# started after startsecs (10s), hence the start period.
HEALTHCHECK --interval=30s --timeout=10s --start-period=60s --retries=3 CMD ["crmctl", "health"]
ENTRYPOINT ["/usr/local/bin/crm-entrypoint"]
CMD []
