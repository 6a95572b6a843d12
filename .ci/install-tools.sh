#!/usr/bin/env bash
# Installs the real tools our tests run against (Debian packages only: no other
# registry is reachable) and starts a Docker engine. Idempotent: safe to re-run.
set -euo pipefail

export DEBIAN_FRONTEND=noninteractive

need_apt=0
for bin in caddy pgbouncer promtool amtool shellcheck sshd rclone debootstrap redis-server docker dockerd age cron jq aws pebble; do
  command -v "$bin" >/dev/null 2>&1 || need_apt=1
done
[ -x /usr/lib/postgresql/15/bin/postgres ] || need_apt=1
# PostgreSQL 17 (trixie): db-setup against an admin that is not a superuser, as on DigitalOcean (PostgreSQL 16+ rules).
[ -x /usr/lib/postgresql/17/bin/postgres ] || need_apt=1
docker compose version >/dev/null 2>&1 || need_apt=1
amtool --version 2>&1 | grep -Eq 'version 0\.(2[89]|[3-9][0-9])' || need_apt=1

if [ "$need_apt" = 1 ]; then
  # Compose v2 is only packaged in trixie; pin trixie low so nothing else moves.
  echo 'deb http://deb.debian.org/debian trixie main' > /etc/apt/sources.list.d/trixie.list
  printf 'Package: *\nPin: release n=trixie\nPin-Priority: 100\n' > /etc/apt/preferences.d/trixie
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends \
    caddy pgbouncer postgresql-15 postgresql-client-15 postgresql-contrib \
    prometheus shellcheck openssh-server openssh-client rclone debootstrap \
    redis-server openssl ca-certificates curl jq iproute2 procps age cron awscli \
    pebble >/dev/null
  apt-get install -y -qq -t trixie docker.io docker-compose docker-buildx >/dev/null
  apt-get install -y -qq --no-install-recommends -t trixie postgresql-17 >/dev/null
  # amtool 0.28 = the Alertmanager image we run (bookworm's 0.25 lacks webhook url_file).
  apt-get install -y -qq -t trixie prometheus-alertmanager >/dev/null
  # Debian starts services on install where it can; our tests start their own.
  pkill -x prometheus 2>/dev/null || true
fi

if ! docker info >/dev/null 2>&1; then
  (dockerd --host unix:///var/run/docker.sock >/var/log/dockerd.log 2>&1 &)
  for _ in $(seq 1 60); do docker info >/dev/null 2>&1 && break; sleep 1; done
  docker info >/dev/null 2>&1 || { echo "dockerd did not start; see /var/log/dockerd.log" >&2; exit 1; }
fi
echo "tools ready: $(docker compose version --short) caddy $(caddy version | cut -d' ' -f1) $(pgbouncer --version | head -1)"
