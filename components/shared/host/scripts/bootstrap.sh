#!/usr/bin/env bash
# bootstrap: make a fresh Ubuntu 22.04/24.04 or Debian 12 host able to run a
# release. Idempotent: every action checks first, so re-running changes nothing.
# usage: bootstrap.sh APP_DIR FIREWALL(true|false) SSH_PORT COPY_USER [DEPLOY_USER]
#   COPY_USER owns APP_DIR/releases (the bundle is copied over SFTP as that user).
set -euo pipefail

app_dir=${1:?usage: bootstrap.sh APP_DIR FIREWALL SSH_PORT COPY_USER [DEPLOY_USER]}
firewall=${2:-false}
ssh_port=${3:-22}
copy_user=${4:-root}
deploy_user=${5:-}

export DEBIAN_FRONTEND=noninteractive
# Another apt (unattended-upgrades on a fresh host) may hold the lock: wait for it.
apt_opts=(-o DPkg::Lock::Timeout=600 -o Dpkg::Options::=--force-confold)
# Docker's release key (docker.com/linux); a different key must stop the install.
docker_key_fpr=9DC858229FC7DD38854AE2D88D81803C0EBFCD88

log() { echo "bootstrap: $*"; }

# shellcheck source=/dev/null
. /etc/os-release
case "${ID}:${VERSION_CODENAME:-}" in
  ubuntu:jammy | ubuntu:noble | debian:bookworm) ;;
  *) log "warning: ${PRETTY_NAME:-unknown OS} is not a tested host (Ubuntu 22.04/24.04, Debian 12)" >&2 ;;
esac

apt_updated=false
apt_install() {
  local missing=()
  local p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [[ ${#missing[@]} -eq 0 ]] && return 0
  if [[ "$apt_updated" == "false" ]]; then
    apt-get "${apt_opts[@]}" update -qq
    apt_updated=true
  fi
  log "installing ${missing[*]}"
  apt-get "${apt_opts[@]}" install -y -qq --no-install-recommends "${missing[@]}"
}

# age encrypts the backups (bin/backup, bin/restore).
apt_install ca-certificates curl gnupg jq openssl rclone age
# cron runs the backup schedule (bin/install-schedule refuses a host without it).
apt_install cron
systemctl enable --now cron >/dev/null 2>&1 || true

# Docker Engine + Compose v2 from Docker's apt repository: the same current
# engine and compose plugin on all three distros (Debian 12's docker.io is
# 20.10 without a Compose v2 package).
if ! docker compose version >/dev/null 2>&1; then
  install -d -m 0755 /etc/apt/keyrings
  key=/etc/apt/keyrings/docker.asc
  if [[ ! -s "$key" ]]; then
    tmp=$(mktemp)
    curl -fsSL "https://download.docker.com/linux/${ID}/gpg" -o "$tmp"
    if ! gpg --show-keys --with-colons "$tmp" 2>/dev/null | grep -q "^fpr:::::::::${docker_key_fpr}:"; then
      rm -f "$tmp"
      log "Docker's apt key does not have the expected fingerprint ${docker_key_fpr}; refusing to install" >&2
      exit 1
    fi
    install -m 0644 "$tmp" "$key"
    rm -f "$tmp"
  fi
  echo "deb [arch=$(dpkg --print-architecture) signed-by=${key}] https://download.docker.com/linux/${ID} ${VERSION_CODENAME} stable" >/etc/apt/sources.list.d/docker.list
  apt_updated=false
  apt_install docker-ce docker-ce-cli containerd.io docker-compose-plugin
fi

# live-restore keeps containers running while dockerd restarts (package
# upgrades): no gap in webhook intake. Only written when absent, applied by reload.
if [[ ! -e /etc/docker/daemon.json ]]; then
  install -d -m 0755 /etc/docker
  printf '{\n  "live-restore": true\n}\n' >/etc/docker/daemon.json
  systemctl reload docker 2>/dev/null || true
fi
systemctl enable --now docker >/dev/null 2>&1 || true
docker compose version >/dev/null

# Host layout (DESIGN.md).
install -d -m 0755 -o 0 -g 0 "$app_dir"
install -d -m 0755 "$app_dir/releases"
chown "$copy_user" "$app_dir/releases"
# Secret generations (write-secrets.sh); APP_DIR/secrets becomes a symlink at the first deploy.
install -d -m 0700 -o 0 -g 0 "$app_dir/secrets.d"
install -d -m 0750 -o 0 -g 0 "$app_dir/state"
install -d -m 0755 -o 0 -g 0 "$app_dir/metrics"

if [[ -n "$deploy_user" ]]; then
  if ! id -u "$deploy_user" >/dev/null 2>&1; then
    useradd --create-home --shell /bin/bash "$deploy_user"
    log "created user $deploy_user"
  fi
  # Runs bin/status, bin/backup and docker: the docker group is root-equivalent.
  usermod -aG docker "$deploy_user"
fi

if [[ "$firewall" == "true" ]]; then
  apt_install ufw
  # SSH first, so enabling can never cut the session we run in.
  ufw allow "${ssh_port}/tcp" >/dev/null
  ufw allow 80/tcp >/dev/null
  ufw allow 443/tcp >/dev/null
  # Opened by earlier releases for HTTP/3, which Caddy does not serve.
  ufw delete allow 443/udp >/dev/null 2>&1 || true
  ufw --force enable >/dev/null
  log "firewall: allowing ${ssh_port}/tcp, 80/tcp, 443/tcp"
fi

log "host ready ($(docker --version | cut -d, -f1), $(docker compose version --short))"
