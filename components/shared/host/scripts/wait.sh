#!/usr/bin/env bash
# wait: the host answers over SSH (the provider already retried the dial); now
# wait until first-boot provisioning is finished, so apt and users are ready.
# usage: wait.sh WAIT_FOR_CLOUD_INIT(true|false) NEED_SUDO(true|false)
set -euo pipefail
wait_for_cloud_init=${1:-true}
need_sudo=${2:-false}

if [[ "$need_sudo" == "true" ]] && ! sudo -n true 2>/dev/null; then
  echo "wait: user $(id -un) cannot run sudo without a password; every later step needs it" >&2
  exit 1
fi

if [[ "$wait_for_cloud_init" == "true" ]] && command -v cloud-init >/dev/null 2>&1; then
  # Bounded: a stuck cloud-init must fail the deploy, not hang it forever.
  rc=0
  timeout 900 cloud-init status --wait >/dev/null || rc=$?
  case "$rc" in
    0) ;;
    2) echo "wait: cloud-init finished with recoverable errors; continuing" >&2 ;;
    124) echo "wait: cloud-init still running after 15 minutes" >&2; exit 1 ;;
    *) echo "wait: cloud-init failed (exit $rc); see /var/log/cloud-init-output.log on the host" >&2; exit 1 ;;
  esac
fi
echo "wait: host ready"
