#!/bin/sh
# The image's entrypoint (/usr/local/bin/crm-entrypoint): runs Crm.Host with the container's arguments.
#
# DATABASE_URL (or DATABASE_URL_FILE, a file holding it: a Docker or Kubernetes secret, which the host reads) is
# the one setting the image requires. Without it the host would quietly use an embedded SQLite
# file inside the container (lost with the container, and not the CRM's database): refuse instead, exit 2 as the
# host does for an invalid configuration, unless the operator asks for that on purpose with --demo.
# A first argument that is not an option runs that command instead (e.g. `docker run --rm IMAGE crmctl --help`).
set -eu

case "${1:-}" in
  ""|-*) ;;
  *) exec "$@" ;;
esac

demo=no
for arg in "$@"; do
  [ "$arg" = "--demo" ] && demo=yes
done

if [ -z "${DATABASE_URL:-}" ] && [ -z "${DATABASE_URL_FILE:-}" ] && [ "$demo" = no ]; then
  cat >&2 <<'MSG'
crm-entrypoint: DATABASE_URL is not set (nor DATABASE_URL_FILE).
  The service needs the CRM's PostgreSQL: docker run -e DATABASE_URL=postgresql://USER:PASSWORD@HOST:5432/DB ...
  (or -e DATABASE_URL_FILE=/run/secrets/database_url with the URL in that secret)
  (run the image once with --migrate first). To try it on an embedded, throwaway database: pass --demo.
MSG
  exit 2
fi

exec dotnet /app/Crm.Host.dll "$@"
