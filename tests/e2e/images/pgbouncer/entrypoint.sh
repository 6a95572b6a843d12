#!/bin/sh
# edoburu/pgbouncer's entrypoint uses an existing /etc/pgbouncer/pgbouncer.ini as is and
# only generates one from DATABASE_URL/DB_* variables when it is missing. Our compose
# always mounts the rendered ini, so only the "existing file" path is reproduced.
set -e
if [ ! -f /etc/pgbouncer/pgbouncer.ini ]; then
  echo "entrypoint: /etc/pgbouncer/pgbouncer.ini is missing (the e2e stand-in does not generate one from env)" >&2
  exit 1
fi
exec "$@"
