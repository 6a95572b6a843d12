#!/usr/bin/env bash
# teardown: `arm` records which deployment owns the host; `run` (the delete of
# the teardown step, i.e. stack removal) stops the services if this deployment
# still owns the host. A replaced deployment (new connection, new key) finds a
# newer token and does nothing, so a key rotation never stops production.
# Data (volumes, secrets, backups key) stays unless PURGE is true. The backup
# schedule (/etc/cron.d/freshtrack-backup, FT_CRON_FILE in tests) of this
# APP_DIR is removed either way: with the services stopped it would fail every
# night and alert forever.
# usage: teardown.sh arm|run APP_DIR TOKEN PURGE(true|false)
set -euo pipefail
mode=${1:?usage: teardown.sh arm|run APP_DIR TOKEN PURGE}
app_dir=${2:?APP_DIR}
token=${3:?TOKEN}
purge=${4:-false}
token_file="$app_dir/state/teardown.token"
cron_file=${FT_CRON_FILE:-/etc/cron.d/freshtrack-backup}

if [[ "$mode" == "arm" ]]; then
  install -d -m 0750 "$app_dir/state"
  printf '%s\n' "$token" >"$token_file.tmp"
  mv -f "$token_file.tmp" "$token_file"
  echo "teardown: armed"
  exit 0
fi

if [[ "$mode" != "run" ]]; then
  echo "teardown: unknown mode $mode" >&2
  exit 2
fi

if [[ ! -f "$token_file" ]] || [[ "$(cat "$token_file")" != "$token" ]]; then
  echo "teardown: another deployment owns this host now; nothing stopped"
  exit 0
fi

# First, so no backup starts while the services go down. Only our own entries: the
# file names this APP_DIR's commands (bin/install-schedule writes it so).
# (Physical path: bin/install-schedule resolves APP_DIR through symlinks.)
app_real=$(cd "$app_dir" 2>/dev/null && pwd -P || printf '%s' "$app_dir")
if [[ -f "$cron_file" ]] && grep -qF -- " $app_real/current/bin/backup " "$cron_file"; then
  rm -f -- "$cron_file"
  echo "teardown: backup schedule $cron_file removed"
fi

if command -v docker >/dev/null 2>&1; then
  args=(compose -p freshtrack)
  current="$app_dir/current"
  if [[ -f "$current/release.json" ]] && command -v jq >/dev/null 2>&1; then
    # The release's own files: stop_grace_period and profiles apply as deployed.
    while IFS= read -r f; do args+=(-f "$current/$f"); done < <(jq -r '.compose_files[]?' "$current/release.json")
    while IFS= read -r p; do args+=(--profile "$p"); done < <(jq -r '.profiles[]?' "$current/release.json")
  fi
  down=(down --remove-orphans --timeout 90)
  [[ "$purge" == "true" ]] && down+=(--volumes)
  (cd "${current}" 2>/dev/null || cd /; docker "${args[@]}" "${down[@]}")
  if [[ "$purge" == "true" ]]; then
    docker volume ls -q --filter label=com.docker.compose.project=freshtrack | xargs -r docker volume rm -f
  fi
fi

# A move's forward marker would send every request of a later deploy here to a holder that is gone;
# its held-app records would have a later deploy stop its backend and worker (bin/deploy).
rm -f -- "$app_dir/state/proxy/move.forward" "$app_dir/state/move-stopped-app" "$app_dir/state/move-frozen-app"

if [[ "$purge" == "true" ]]; then
  rm -rf -- "$app_dir"
  echo "teardown: services stopped; volumes and $app_dir deleted (purgeOnDelete)"
else
  printf '{"ts":"%s","event":"teardown","data":"kept"}\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" >>"$app_dir/state/audit.log"
  rm -f -- "$token_file"
  echo "teardown: services stopped; volumes, secrets and backups kept in $app_dir"
fi
