#!/bin/sh
# As valkey's docker-entrypoint.sh: a first argument that is an option or a .conf file
# means valkey-server; started as root, it chowns /data and drops to uid 999.
set -e
case "$1" in -* | *.conf) set -- valkey-server "$@" ;; esac
if [ "$1" = valkey-server ] && [ "$(id -u)" = 0 ]; then
  find . \! -user valkey -exec chown valkey '{}' + 2>/dev/null || true
  exec setpriv --reuid=valkey --regid=valkey --init-groups "$0" "$@"
fi
umask 0077
exec "$@"
