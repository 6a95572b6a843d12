# shellcheck shell=bash source-path=SCRIPTDIR
#/ Usage: source lib.sh   (from the other bin/ commands; running it only prints this)
#/
#/ Shared helpers of the on-host commands, one file per job under bin/lib/: APP_DIR from
#/ the script's location (<APP_DIR>/releases/<id>/bin), the release and its release.json,
#/ docker compose, logging, the audit log (state/audit.log), webhook notify, the deploy
#/ lock (state/deploy.lock + .owner), secret generations, the proxy slots, the request
#/ holder, PgBouncer's and Redis's credentials, database/rclone access for backup and
#/ restore (seams FT_PG_BIN, FT_RCLONE), metrics.
# Sourced, never run. Contract: docs/design.md "Host layout". Callers run under
# `set -Eeuo pipefail`. Nothing here prints, logs or passes on argv the content of a secret file.
#
# Naming (docs/host-commands.md "Helpers"): a function defined in bin/lib/<job>.sh is named
# ft_<job> or ft_<job>_<what> (ft_proxy_switch is in proxy.sh), so its name says which file
# holds it. Six words every command uses keep short names: log, warn, die, need (log.sh),
# rj (release.sh) and compose (compose.sh). A command's own functions are unprefixed
# (step_*, check_*...), so an ft_ name is always a lib one.
#
# The files only define functions and variables (nothing runs while sourcing), so the order
# below is the reading order, not a dependency order.
_ft_lib=$(dirname "${BASH_SOURCE[0]}")/lib
# shellcheck source=lib/log.sh
source "$_ft_lib/log.sh"
# shellcheck source=lib/cli.sh
source "$_ft_lib/cli.sh"
# shellcheck source=lib/util.sh
source "$_ft_lib/util.sh"
# shellcheck source=lib/paths.sh
source "$_ft_lib/paths.sh"
# shellcheck source=lib/release.sh
source "$_ft_lib/release.sh"
# shellcheck source=lib/secrets.sh
source "$_ft_lib/secrets.sh"
# shellcheck source=lib/audit.sh
source "$_ft_lib/audit.sh"
# shellcheck source=lib/notify.sh
source "$_ft_lib/notify.sh"
# shellcheck source=lib/lock.sh
source "$_ft_lib/lock.sh"
# shellcheck source=lib/compose.sh
source "$_ft_lib/compose.sh"
# shellcheck source=lib/live.sh
source "$_ft_lib/live.sh"
# shellcheck source=lib/proxy.sh
source "$_ft_lib/proxy.sh"
# shellcheck source=lib/hold.sh
source "$_ft_lib/hold.sh"
# shellcheck source=lib/pgbouncer.sh
source "$_ft_lib/pgbouncer.sh"
# shellcheck source=lib/redis.sh
source "$_ft_lib/redis.sh"
# shellcheck source=lib/db.sh
source "$_ft_lib/db.sh"
# shellcheck source=lib/objectstore.sh
source "$_ft_lib/objectstore.sh"
# shellcheck source=lib/backup.sh
source "$_ft_lib/backup.sh"
# shellcheck source=lib/metrics.sh
source "$_ft_lib/metrics.sh"
unset _ft_lib

# Run directly instead of sourced: only print the usage.
if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
  ft_cli_usage
  exit 0
fi
