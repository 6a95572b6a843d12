# shellcheck shell=bash
#/ Usage: source lib.sh   (from the other bin/ commands; running it only prints this)
#/
#/ Shared helpers of the on-host commands: APP_DIR from the script's location
#/ (<APP_DIR>/releases/<id>/bin), docker compose from release.json, logging, audit
#/ log (state/audit.log), the deploy lock (state/deploy.lock + .owner), webhook notify,
#/ database/rclone access for backup and restore (seams FT_PG_BIN, FT_RCLONE).
# Variables set here are read by the scripts that source this file:
# shellcheck disable=SC2034
# Shared helpers of the on-host commands (sourced, never run). Contract: DESIGN.md "Host layout".
# Every function is small and named after one step; callers run under `set -Eeuo pipefail`.
# Nothing here prints, logs or passes on argv the content of a secret file.

# Always "freshtrack" on hosts (DESIGN.md); FT_COMPOSE_PROJECT exists so tests can share a Docker engine.
FT_PROJECT=${FT_COMPOSE_PROJECT:-freshtrack}
# Service roles. Rolling services are scaled to 2 and swapped one by one (zero downtime);
# jobs are one-shot `run --rm` containers; everything else is infrastructure, left to
# Compose's own config-hash comparison so it is recreated only when its own config changed.
FT_ROLLING_SERVICES="backend frontend"
FT_RECREATE_SERVICES="worker"
FT_JOB_SERVICES="db-setup migrate"
FT_EDGE_SERVICES="caddy"

# --- locations -------------------------------------------------------------------------

# <APP_DIR>/releases/<id>/bin/<script>: the physical path gives both the release and APP_DIR.
ft_resolve_dirs() {
  local self_dir
  self_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
  SCRIPT_RELEASE_DIR=$(dirname "$self_dir")
  APP_DIR=${FT_APP_DIR:-$(dirname "$(dirname "$SCRIPT_RELEASE_DIR")")}
  STATE_DIR=$APP_DIR/state
  METRICS_DIR=$APP_DIR/metrics
  ft_resolve_secrets_dir
  export FT_APP_DIR=$APP_DIR FT_SECRETS_DIR=$SECRETS_DIR
  # The observability profile's socket proxy runs as nobody in the host's docker group.
  FT_DOCKER_GID=$(stat -c %g /var/run/docker.sock 2>/dev/null || echo 65534)
  export FT_DOCKER_GID
}

# --- secret generations (components/shared/host/scripts/write-secrets.sh) ----------------
# The push writes each set of secret files once, complete, into its own directory
# APP_DIR/secrets.d/<generation> (the payload digest) and never rewrites it. APP_DIR/secrets
# is a symlink to the generation the running release uses; bin/deploy moves it only after
# a deploy succeeded. Containers mount the generation's physical path, so a restarted
# container always gets the files it was created with, whatever a later push wrote.
#   FT_SECRETS_GENERATION=<generation>  (set by the push's preflight and deploy steps)
#   selects the generation being deployed; without it, the current one is used.
FT_SECRETS_GENERATION_RE='^[0-9a-f]{16}$'

ft_resolve_secrets_dir() {
  local gen=${FT_SECRETS_GENERATION:-}
  SECRETS_LINK=$APP_DIR/secrets
  SECRETS_STORE=$APP_DIR/secrets.d
  if [[ -n $gen ]]; then
    [[ $gen =~ $FT_SECRETS_GENERATION_RE ]] || die "FT_SECRETS_GENERATION '$gen' is not a generation name"
    SECRETS_DIR=$SECRETS_STORE/$gen
    [[ -d $SECRETS_DIR ]] || die "secret generation $gen is not on this host ($SECRETS_DIR): run the push's write-secrets step again"
  elif [[ -L $SECRETS_LINK ]]; then
    SECRETS_DIR=$(readlink -f "$SECRETS_LINK")
  else
    # A host whose secrets predate generations (a plain directory), or none yet.
    SECRETS_DIR=$SECRETS_LINK
  fi
}

# Generation directory name of $1 (a path under secrets.d), empty when it is not one.
ft_generation_of() {
  local p=$1
  [[ $p == "$SECRETS_STORE"/* ]] || return 0
  p=${p#"$SECRETS_STORE"/}
  p=${p%%/*}
  [[ $p =~ $FT_SECRETS_GENERATION_RE ]] && printf '%s' "$p"
  return 0
}

# After a successful deploy: APP_DIR/secrets -> the deployed generation (one rename).
# A plain directory from before generations is moved aside and removed: running
# containers hold their mounts, and its files live on in the generation.
ft_secrets_commit() {
  local gen tmp
  gen=$(ft_generation_of "$SECRETS_DIR")
  [[ -n $gen ]] || return 0
  if [[ $(readlink "$SECRETS_LINK" 2>/dev/null) == "secrets.d/$gen" ]]; then return 0; fi
  tmp=$APP_DIR/.secrets.link.$$
  ln -sfn "secrets.d/$gen" "$tmp"
  if [[ -d $SECRETS_LINK && ! -L $SECRETS_LINK ]]; then
    rm -rf "$APP_DIR/.secrets.legacy"
    mv "$SECRETS_LINK" "$APP_DIR/.secrets.legacy"
  fi
  mv -Tf "$tmp" "$SECRETS_LINK"
  rm -rf "$APP_DIR/.secrets.legacy"
  log "secrets -> secrets.d/$gen"
}

# Removes generations nothing needs any more: not current, not the last one the push
# wrote (secrets.d/.staged: a failed deploy is retried with it), not mounted by any
# container of the project (running or stopped: a restart mounts the same paths).
ft_secrets_gc() {
  local keep=" " d gen src staged
  [[ -d $SECRETS_STORE ]] || return 0
  gen=$(ft_generation_of "$(readlink -f "$SECRETS_LINK" 2>/dev/null || true)")
  keep+="$gen "
  staged=$(cat "$SECRETS_STORE/.staged" 2>/dev/null || true)
  keep+="$staged "
  while IFS= read -r src; do
    gen=$(ft_generation_of "$src")
    [[ -n $gen ]] && keep+="$gen "
  done < <(docker ps -aq --no-trunc --filter "label=com.docker.compose.project=$FT_PROJECT" |
    xargs -r docker inspect -f '{{range .Mounts}}{{println .Source}}{{end}}' 2>/dev/null)
  for d in "$SECRETS_STORE"/*; do
    [[ -d $d ]] || continue
    gen=${d##*/}
    [[ $gen =~ $FT_SECRETS_GENERATION_RE ]] || continue
    [[ $keep == *" $gen "* ]] && continue
    log "secrets: removing generation $gen (no longer current nor mounted)"
    rm -rf -- "$d"
  done
}

# The release a command acts on (default: the one holding this script).
ft_use_release() {
  REL_DIR=$1
  [[ -f $REL_DIR/release.json ]] || die "no release.json in $REL_DIR"
  jq -e 'type == "object"' "$REL_DIR/release.json" >/dev/null || die "$REL_DIR/release.json is not a JSON object"
  REL_ID=$(basename "$REL_DIR")
  ft_build_compose
}

# jq query against the active release.json; prints raw values.
rj() { jq -r "$@" "$REL_DIR/release.json"; }

# --- logging / audit / notify -----------------------------------------------------------

FT_CMD=$(basename "$0")
log() { printf '%s %s: %s\n' "$(date -u +%H:%M:%S)" "$FT_CMD" "$*" >&2; }
warn() { log "WARNING: $*"; }
die() { log "ERROR: $*"; exit 1; }
need() { command -v "$1" >/dev/null 2>&1 || die "$1 is required but not installed"; }

ft_user() { printf '%s' "${SUDO_USER:-$(id -un 2>/dev/null || echo "uid$(id -u)")}"; }

# One JSON line per action (DESIGN.md). Optional 5th arg: extra JSON object merged in (no secrets).
audit() {
  local action=$1 release=$2 result=$3 duration=$4 extra=${5:-'{}'}
  mkdir -p "$STATE_DIR"
  jq -cn --arg time "$(date -u +%Y-%m-%dT%H:%M:%SZ)" --arg action "$action" --arg release "$release" \
    --arg user "$(ft_user)" --arg host "$(hostname)" --arg result "$result" --argjson duration "$duration" \
    --argjson extra "$extra" \
    '{time: $time, action: $action, release: $release, user: $user, host: $host, result: $result, duration: $duration} + $extra' \
    >>"$STATE_DIR/audit.log"
}

# Slack-compatible webhook. The URL comes from a secret file and reaches curl through a
# config on stdin (never argv). Never fails the caller.
notify() {
  local text=$1 url_file=$SECRETS_DIR/notify/webhook_url url payload
  [[ -s $url_file ]] || return 0
  command -v curl >/dev/null 2>&1 || { warn "curl missing: notification not sent"; return 0; }
  url=$(head -n1 "$url_file" | tr -d '\r\n')
  [[ $url =~ ^https?://[^[:space:]\"\\]+$ ]] || { warn "notify/webhook_url is not an http(s) URL: notification not sent"; return 0; }
  payload=$(jq -cn --arg text "[$(hostname)] $text" '{text: $text}') || return 0
  printf 'url = "%s"\n' "$url" | curl -sS -o /dev/null -m 10 --retry 2 -K - \
    -H 'Content-Type: application/json' --data-binary "$payload" 2>/dev/null \
    || warn "webhook notification failed (ignored)"
  return 0
}

# --- lock -------------------------------------------------------------------------------

# flock on state/<name>.lock; fails FAST if held and prints the holder (DESIGN.md: deploy.lock.owner).
lock_acquire() {
  local name=$1 action=$2 file owner
  mkdir -p "$STATE_DIR"
  file=$STATE_DIR/$name.lock
  owner=$file.owner
  exec 9>>"$file"
  if ! flock -n 9; then
    log "ERROR: $name lock is held; not waiting. Holder:"
    if [[ -s $owner ]]; then sed 's/^/  /' "$owner" >&2; else log "  (holder unknown: $owner is empty)"; fi
    exit 75
  fi
  LOCK_OWNER_FILE=$owner
  printf 'user=%s\npid=%s\nhost=%s\naction=%s\nsince=%s\n' "$(ft_user)" "$$" "$(hostname)" "$action" \
    "$(date -u +%Y-%m-%dT%H:%M:%SZ)" >"$owner.tmp"
  mv -f "$owner.tmp" "$owner"
}

lock_release() {
  [[ -n ${LOCK_OWNER_FILE:-} ]] && rm -f "$LOCK_OWNER_FILE"
  LOCK_OWNER_FILE=
  exec 9>&- 2>/dev/null || true
}

# --- compose ----------------------------------------------------------------------------

# docker compose -p freshtrack --project-directory APP_DIR/live -f <files> --profile <p>, from release.json.
# The project directory is the stable APP_DIR/live (a copy of the release being
# deployed, see ft_stage_live), not releases/<id>: Compose hashes the absolute
# source path of every bind mount, so a per-release path would recreate caddy,
# redis, pgbouncer and postgres on every deploy. Content changes still recreate
# a service: each carries a `freshtrack.config` label with its files' digest.
ft_build_compose() {
  local f p
  LIVE_DIR=$APP_DIR/live
  COMPOSE=(docker compose -p "$FT_PROJECT" --project-directory "$LIVE_DIR")
  while IFS= read -r f; do
    [[ -n $f ]] || continue
    [[ $f != /* && $f != *..* ]] || die "release.json compose_files entry '$f' must be relative to the release"
    COMPOSE+=(-f "$REL_DIR/$f")
  done < <(rj '.compose_files[]?')
  [[ ${#COMPOSE[@]} -gt 5 ]] || die "release.json lists no compose_files"
  COMPOSE_BASE=("${COMPOSE[@]}")
  while IFS= read -r p; do
    [[ -n $p ]] && COMPOSE+=(--profile "$p")
  done < <(rj '.profiles[]?')
}

# Loads the running release's FT_SECRETS_<SERVICE>=<digest> lines (state/secrets.env).
ft_load_secret_digests() { ft_load_secret_digests_from "$STATE_DIR/secrets.env"; }

# Loads FT_SECRETS_<SERVICE>=<digest> lines of file $1 (validated, never `source`d) into the environment.
ft_load_secret_digests_from() {
  local file=$1 line
  [[ -f $file ]] || return 0
  while IFS= read -r line; do
    [[ $line =~ ^(FT_SECRETS_[A-Z0-9_]+)=([0-9a-f]*)$ ]] || continue
    export "${BASH_REMATCH[1]}=${BASH_REMATCH[2]}"
  done <"$file"
}

compose() { "${COMPOSE[@]}" "$@"; }

# Makes APP_DIR/live a copy of this release (atomic rename), keeping the one it replaces
# in APP_DIR/.live.prev until the deploy is known to succeed (ft_live_commit) or has
# failed (ft_live_restore puts it back). New containers see this release's files at the
# same paths; running ones keep what they mounted, and after a failure a restarted one
# gets its own release's files again.
ft_stage_live() {
  local tmp
  LIVE_STAGED=0
  if [[ -f $LIVE_DIR/.release ]] && [[ $(<"$LIVE_DIR/.release") == "$REL_ID" ]]; then return 0; fi
  tmp=$(mktemp -d "$APP_DIR/.live.XXXXXX")
  cp -R "$REL_DIR/." "$tmp/"
  chmod 0755 "$tmp" "$tmp"/bin/*
  printf '%s\n' "$REL_ID" >"$tmp/.release"
  rm -rf "$APP_DIR/.live.prev"
  if [[ -d $LIVE_DIR ]]; then mv "$LIVE_DIR" "$APP_DIR/.live.prev"; fi
  mv "$tmp" "$LIVE_DIR"
  LIVE_STAGED=1
}

ft_live_commit() {
  rm -rf "$APP_DIR/.live.prev"
  LIVE_STAGED=0
}

# After a failed deploy: APP_DIR/live holds the running release's files again.
ft_live_restore() {
  [[ ${LIVE_STAGED:-0} == 1 && -d $APP_DIR/.live.prev ]] || return 0
  rm -rf "$APP_DIR/.live.failed"
  mv "$LIVE_DIR" "$APP_DIR/.live.failed"
  mv "$APP_DIR/.live.prev" "$LIVE_DIR"
  rm -rf "$APP_DIR/.live.failed"
  LIVE_STAGED=0
  log "live restored to release $(cat "$LIVE_DIR/.release" 2>/dev/null || echo '?')"
}

# Path of a new log file state/logs/<utc time>-$1.log; files older than 30 days go.
ft_log_file() {
  local dir=$STATE_DIR/logs
  install -d -m 0700 "$dir"
  find "$dir" -maxdepth 1 -name '*.log' -mtime +30 -delete 2>/dev/null || true
  printf '%s/%s-%s.log' "$dir" "$(date -u +%Y%m%dT%H%M%SZ)" "$1"
}

# Container logs stay on the host, never in a command's output (which the push records
# in Pulumi state): writes the last lines of container $1 (service $2) to
# state/logs/<utc time>-<service>-<id>.log (root, 0600) and prints that path.
ft_save_container_logs() {
  local id=$1 svc=$2 file
  file=$(ft_log_file "$svc-${id:0:12}")
  (umask 077 && docker logs --tail "${FT_LOG_LINES:-200}" "$id" >"$file" 2>&1) || true
  printf '%s' "$file"
}

# Runs a one-shot job's command with its output (the container's logs) going to
# state/logs/<utc time>-<name>.log instead of this command's output. On failure logs
# where to read it; returns the job's exit code.
ft_run_logged() {
  local name=$1 file rc=0
  shift
  file=$(ft_log_file "$name")
  (umask 077 && "$@" >"$file" 2>&1) || rc=$?
  if [[ $rc -ne 0 ]]; then log "$name failed (exit $rc); its output is on this host in $file"; fi
  return "$rc"
}

# Compose without --profile: the services every deploy has.
compose_base() { "${COMPOSE_BASE[@]}" "$@"; }

# FT_SECRETS_<SERVICE> digest variable name of a service.
ft_digest_var() { local s=${1^^}; printf 'FT_SECRETS_%s' "${s//[^A-Z0-9]/_}"; }

# sha256 over (name, sha256(content)) of every secret file a service reads (release.json .secrets).
# shellcheck disable=SC2016 # $s is a jq variable, not a shell one
ft_service_secret_digest() {
  local svc=$1 f
  while IFS= read -r f; do
    [[ -f $SECRETS_DIR/$f ]] || die "secret file $SECRETS_DIR/$f (read by $svc) is missing"
    printf '%s %s\n' "$f" "$(sha256sum <"$SECRETS_DIR/$f" | cut -c1-64)"
  done < <(rj --arg s "$svc" '.secrets[$s][]?' | LC_ALL=C sort) | sha256sum | cut -c1-64
}

# Prints the whole secrets.env content for the active release.
ft_render_secret_digests() {
  local svc
  while IFS= read -r svc; do
    [[ -n $svc ]] || continue
    printf '%s=%s\n' "$(ft_digest_var "$svc")" "$(ft_service_secret_digest "$svc")"
  done < <(rj '.secrets // {} | keys[]' | LC_ALL=C sort)
}

# Running container ids of a service (docker ps by Compose labels: much faster than compose ps).
ft_service_ids() {
  docker ps -q --no-trunc --filter "label=com.docker.compose.project=$FT_PROJECT" \
    --filter "label=com.docker.compose.service=$1" --filter "label=com.docker.compose.oneoff=False" 2>/dev/null || true
}

# health|running|exited... of a container: health status when it has a healthcheck.
ft_container_state() {
  docker inspect -f '{{if .State.Health}}{{.State.Health.Status}}{{else}}{{.State.Status}}{{end}}' "$1" 2>/dev/null || echo gone
}

# --- proxy rotation (compose/render/caddy.ts) -------------------------------------------
# Each rolling service has two slots, container names <project>-<svc>-blue|green. Caddy
# sends the service's traffic to the slot whose marker file exists in state/proxy/
# (<svc>.blue or <svc>.green), checked on every request: moving traffic is one atomic
# rename here, never a config reload (a reload closes idle client connections, and a
# client that had just sent a request on one gets ECONNRESET).

# Slot whose marker exists for service $1 (empty when none).
ft_proxy_slot() {
  local s
  for s in blue green; do
    [[ -e $STATE_DIR/proxy/$1.$s ]] && { printf '%s' "$s"; return 0; }
  done
  return 0
}

# Container name of slot $2 of service $1 (compose/render/caddy.ts slotContainer).
ft_slot_name() { printf '%s-%s-%s' "$FT_PROJECT" "$1" "$2"; }

ft_other_slot() { if [[ $1 == blue ]]; then printf green; else printf blue; fi; }

# Sends service $1's traffic to slot $2. Exactly one marker exists at every instant.
ft_proxy_switch() {
  local svc=$1 slot=$2 dir=$STATE_DIR/proxy cur
  mkdir -p "$dir"
  cur=$(ft_proxy_slot "$svc")
  if [[ -z $cur ]]; then
    : >"$dir/.$svc.$slot.tmp"
    mv -f "$dir/.$svc.$slot.tmp" "$dir/$svc.$slot"
  elif [[ $cur != "$slot" ]]; then
    mv -f "$dir/$svc.$cur" "$dir/$svc.$slot"
  fi
  log "proxy: $svc -> $slot"
}

# Gives container $1 the name of slot $3 of service $2 (a rename: the running container
# and its connections are untouched). Another container holding the name is renamed away.
ft_take_slot() {
  local id=$1 svc=$2 slot=$3 name holder
  name=$(ft_slot_name "$svc" "$slot")
  holder=$(docker ps -aq --no-trunc --filter "name=^/${name}\$")
  holder=${holder%%$'\n'*}
  [[ $holder == "$id" ]] && return 0
  [[ -z $holder ]] || docker rename "$holder" "$name-old-${holder:0:12}"
  docker rename "$id" "$name"
}

# Waits until the proxy's container gets 200 from slot $2 of service $1 by name, on the
# liveness path release.json .proxy gives (Docker's DNS follows a rename at once: this
# checks it, and the network path, instead of assuming them) before traffic moves there.
# shellcheck disable=SC2016 # $s is a jq variable, not a shell one
ft_proxy_reachable() {
  local svc=$1 slot=$2 caddy port health url i
  caddy=$(ft_service_ids caddy)
  caddy=${caddy%%$'\n'*}
  [[ -n $caddy ]] || return 0 # first start: caddy comes up after the app
  port=$(rj --arg s "$svc" '.proxy[$s].port // empty')
  health=$(rj --arg s "$svc" '.proxy[$s].health // empty')
  [[ -n $port && -n $health ]] || return 0
  url="http://$(ft_slot_name "$svc" "$slot"):$port$health"
  for i in $(seq 1 20); do
    docker exec "$caddy" wget -q -O /dev/null -T 2 "$url" >/dev/null 2>&1 && return 0
    sleep 0.5
  done
  log "proxy: $url does not answer from the caddy container (after $i attempts)"
  return 1
}

# A single running container of service $1 holds the slot its marker names (blue if none):
# repairs the rotation after a manual `compose up --force-recreate` (numbered names).
ft_proxy_ensure() {
  local svc=$1 ids slot
  ids=$(ft_service_ids "$svc")
  [[ -n $ids && $(wc -w <<<"$ids") -eq 1 ]] || return 0
  slot=$(ft_proxy_slot "$svc")
  slot=${slot:-blue}
  ft_take_slot "$ids" "$svc" "$slot"
  [[ -e $STATE_DIR/proxy/$svc.$slot ]] || ft_proxy_switch "$svc" "$slot"
}

# --- PgBouncer's auth file (compose/render/pgbouncer.ts USERLIST_PATH) -------------------
# state/pgbouncer/userlist.txt, mounted into pgbouncer, is the push's
# secrets/pgbouncer/userlist.txt (the server login and this password's client login)
# plus, with "keep-previous", the client logins of the previous password
# (state/pgbouncer.previous, root 0600, outside the mount), so that while a rotation rolls the app the old backend and
# worker are not refused. Written atomically, owned like the secret file, mode 0600.
# Returns 0 when the live file changed.
ft_pgbouncer_auth() {
  local mode=$1 src=$SECRETS_DIR/pgbouncer/userlist.txt dir=$STATE_DIR/pgbouncer live tmp uid line user
  [[ -f $src ]] || return 1
  live=$dir/userlist.txt
  uid=$(stat -c %u "$src")
  install -d -m 0700 -o "$uid" -g "$uid" "$dir"
  tmp=$(mktemp "$dir/.userlist.XXXXXX")
  cat "$src" >"$tmp"
  if [[ $mode == keep-previous && -f $STATE_DIR/pgbouncer.previous ]]; then
    while IFS= read -r line; do
      user=${line%%\" *}
      user=${user#\"}
      [[ -n $user ]] || continue
      grep -qF "\"$user\" " "$src" || printf '%s\n' "$line" >>"$tmp"
    done <"$STATE_DIR/pgbouncer.previous"
  fi
  chown "$uid:$uid" "$tmp"
  chmod 0600 "$tmp"
  if cmp -s "$tmp" "$live"; then
    rm -f "$tmp"
    return 1
  fi
  mv -f "$tmp" "$live"
  return 0
}

# Sends pgbouncer its reload signal when the auth file differs from what it last loaded
# (state/pgbouncer.loaded). A container that just started read the current file.
ft_pgbouncer_reload() {
  local sig id want have
  sig=$(rj '.reload.pgbouncer // empty')
  [[ -n $sig && -f $STATE_DIR/pgbouncer/userlist.txt ]] || return 0
  want=$(sha256sum <"$STATE_DIR/pgbouncer/userlist.txt" | cut -c1-64)
  have=$(cat "$STATE_DIR/pgbouncer.loaded" 2>/dev/null || true)
  id=$(ft_service_ids pgbouncer)
  id=${id%%$'\n'*}
  [[ -n $id ]] || return 0
  if [[ -n $have && $want != "$have" ]]; then
    log "pgbouncer: auth file changed: reloading it (SIG$sig), connections kept"
    docker kill -s "$sig" "$id" >/dev/null || die "pgbouncer: could not send SIG$sig"
  fi
  printf '%s\n' "$want" >"$STATE_DIR/pgbouncer.loaded.tmp"
  mv -f "$STATE_DIR/pgbouncer.loaded.tmp" "$STATE_DIR/pgbouncer.loaded"
}

# --- Redis's ACL file (compose/render/redis.ts REDIS_STATE_MOUNT) ---------------------------
# state/redis/, mounted read-only into redis as a directory, holds users.acl (Redis's
# aclfile: the `default` user with the SHA-256 of each password it accepts, never a
# password) and password (the password redis's own healthcheck uses, 0600, uid of the
# secret file). A rotation is zero-loss like PgBouncer's: while a deploy runs, the ACL
# keeps every password it already accepted and adds the new one (ACL LOAD, Redis is not
# restarted and existing connections stay); only after backend and worker have rolled
# does it accept the new password alone.

# SHA-256 hex of the password in file $1 (trailing newlines ignored, as the app reads it).
ft_redis_pw_hash() {
  local pw
  pw=$(<"$1")
  printf '%s' "$pw" | sha256sum | cut -c1-64
}

# Writes state/redis/users.acl: mode keep-previous (the hashes it already holds + the new
# one) or current-only. Returns 0 when the file changed.
ft_redis_acl() {
  local mode=$1 src=$SECRETS_DIR/redis/password dir=$STATE_DIR/redis live tmp uid h rules
  [[ -f $src ]] || return 1
  live=$dir/users.acl
  uid=$(stat -c %u "$src")
  install -d -m 0700 -o "$uid" -g "$uid" "$dir"
  rules="#$(ft_redis_pw_hash "$src")"
  if [[ $mode == keep-previous && -f $live ]]; then
    while IFS= read -r h; do
      [[ " $rules " == *" $h "* ]] || rules+=" $h"
    done < <(grep -oE '#[0-9a-f]{64}' "$live" || true)
  fi
  tmp=$(mktemp "$dir/.users.XXXXXX")
  # `&*` (every pub/sub channel): Redis 7 gives a user none by default; the Socket.io adapter needs them.
  printf 'user default on %s ~* &* +@all\n' "$rules" >"$tmp"
  chown "$uid:$uid" "$tmp"
  chmod 0600 "$tmp"
  if [[ ! -f $dir/password ]]; then
    # First start: the healthcheck needs a password before redis exists.
    install -m 0600 -o "$uid" -g "$uid" "$src" "$dir/password"
  fi
  if cmp -s "$tmp" "$live"; then
    rm -f "$tmp"
    return 1
  fi
  mv -f "$tmp" "$live"
  return 0
}

# Makes the running redis load users.acl when it differs from what it last loaded
# (state/redis.loaded), authenticating with any password it may accept (the deployed
# generation's, the current one's, the healthcheck's): AUTH reaches valkey-cli on stdin,
# never argv or environment. Then points the healthcheck at the deployed password.
ft_redis_reload() {
  local id want have f pw out ok=0 dir=$STATE_DIR/redis
  [[ -n $(rj '.reload.redis // empty') && -f $dir/users.acl ]] || return 0
  want=$(sha256sum <"$dir/users.acl" | cut -c1-64)
  have=$(cat "$STATE_DIR/redis.loaded" 2>/dev/null || true)
  id=$(ft_service_ids redis)
  id=${id%%$'\n'*}
  [[ -n $id ]] || return 0
  if [[ $want != "$have" ]]; then
    for f in "$SECRETS_DIR/redis/password" "$SECRETS_LINK/redis/password" "$dir/password"; do
      [[ -f $f ]] || continue
      pw=$(<"$f")
      pw=${pw//\\/\\\\}
      pw=${pw//\"/\\\"}
      out=$(printf 'AUTH "%s"\nACL LOAD\n' "$pw" | docker exec -i "$id" valkey-cli 2>&1) || true
      if [[ $(tr -d '\r' <<<"$out") == $'OK\nOK' ]]; then ok=1; break; fi
    done
    pw=
    [[ $ok -eq 1 ]] || die "redis: ACL LOAD of state/redis/users.acl failed (redis keeps its previous ACL): $(tr -d '\r' <<<"$out" | grep -v -e '^OK$' -e '^WRONGPASS' | head -n 2)"
    log "redis: ACL reloaded (no restart, connections kept)"
  fi
  printf '%s\n' "$want" >"$STATE_DIR/redis.loaded.tmp"
  mv -f "$STATE_DIR/redis.loaded.tmp" "$STATE_DIR/redis.loaded"
  ft_redis_health_password
}

# The healthcheck's password file follows the deployed password once redis accepts it.
ft_redis_health_password() {
  local src=$SECRETS_DIR/redis/password dir=$STATE_DIR/redis uid tmp
  [[ -f $src && -d $dir ]] || return 0
  cmp -s "$src" "$dir/password" && return 0
  uid=$(stat -c %u "$src")
  tmp=$(mktemp "$dir/.password.XXXXXX")
  cat "$src" >"$tmp"
  chown "$uid:$uid" "$tmp"
  chmod 0600 "$tmp"
  mv -f "$tmp" "$dir/password"
}

# --- object storage (vm: the self-hosted store) --------------------------------------------
# Creates the buckets release.json .buckets lists when they are missing (the app's assets
# bucket and the backups bucket). bin/backup never creates buckets (no_check_bucket: a
# typo must fail), so this is the one place they come into being.
ft_ensure_buckets() {
  local want have b
  want=$(rj '.buckets // [] | .[]')
  [[ -n $want ]] || return 0
  ft_backup_setup
  have=$(rclone_tool lsf --dirs-only "$A_REMOTE:") || die "cannot list the object store's buckets"
  for b in $want; do
    if ft_in_list "${have//\//}" "$b"; then continue; fi
    log "object store: creating bucket $b"
    # The remote has no_check_bucket (bin/backup must never create one): override it here only.
    rclone_tool mkdir --s3-no-check-bucket=false "$A_REMOTE:$b" || die "cannot create bucket $b on the object store"
  done
}

# Words of list $2 that are in list $1 (both space/newline separated).
ft_in_list() { local w; for w in $1; do [[ $w == "$2" ]] && return 0; done; return 1; }

# Unique temp dir on the APP_DIR disk (dumps can be large; /tmp may be a small tmpfs).
ft_tmpdir() {
  mkdir -p "$STATE_DIR/tmp"
  chmod 0700 "$STATE_DIR/tmp"
  mktemp -d "$STATE_DIR/tmp/$1.XXXXXX"
}

# Prints "<n>s" as a duration since $1 (epoch seconds).
ft_since() { echo $(($(date +%s) - $1)); }

# Prints usage from the script's leading comment block (lines starting with "#/").
ft_usage() { sed -n 's/^#\/ \{0,1\}//p' "$0"; }

# Handles --help / -h for every command.
ft_help_if_asked() {
  local a
  for a in "$@"; do
    case $a in -h | --help) ft_usage; exit 0 ;; esac
  done
}

# --- database and object storage access (bin/backup, bin/restore) -----------------------
# Seam for tests and for hosts without Docker (the ONLY differences from production):
#   FT_PG_BIN=<dir>   run pg_dump/pg_restore/psql from <dir> on the host instead of a
#                     container of the release's postgres image (client version = server's).
#   FT_RCLONE=host    run the host's rclone instead of the rclone image; default is
#                     release.json .backup.rclone, else "container" (on vm the object store
#                     is only reachable inside the compose network).
# Both paths get the same arguments and stream through stdin/stdout, so no paths differ.

# Connection from release.json .database; the password only ever comes from secrets/backup/pgpass.
ft_pg_setup() {
  PGHOST=$(rj '.database.host // "postgres"')
  PGPORT=$(rj '.database.port // 5432')
  PGUSER=$(rj '.database.admin_user // "postgres"')
  PGSSLMODE=$(rj '.database.sslmode // "prefer"')
  DB_NAME=$(rj '.database.name // "frostguard"')
  ADMIN_DB=$(rj '.database.admin_db // "postgres"')
  PGPASSFILE_HOST=$SECRETS_DIR/backup/pgpass
  export PGHOST PGPORT PGUSER PGSSLMODE PGCONNECT_TIMEOUT=10
  [[ -s $PGPASSFILE_HOST ]] || die "$PGPASSFILE_HOST is missing or empty"
}

# Network for helper containers: release.json .database.network, else the database
# container's first network (vm), else the default bridge (digitalocean: managed DB).
ft_network() {
  local net id
  net=$(rj '.database.network // empty')
  # A managed database (no service) is reachable from any network: before the first deploy
  # has created the project's network (bin/preflight), the default bridge reaches it.
  if [[ -n $net && -z $(rj '.database.service // empty') ]] && ! docker network inspect "$net" >/dev/null 2>&1; then net=bridge; fi
  if [[ -z $net ]]; then
    id=$(compose ps -q "$(rj '.database.service // "postgres"')" 2>/dev/null | head -n1 || true)
    [[ -n $id ]] && net=$(docker inspect -f '{{range $k, $v := .NetworkSettings.Networks}}{{println $k}}{{end}}' "$id" | head -n1)
  fi
  printf '%s' "${net:-bridge}"
}

ft_postgres_image() {
  local img
  img=$(rj '.images.postgres // .images["db-setup"] // empty')
  [[ -n $img ]] || img=$(compose config --format json | jq -r '.services["db-setup"].image // empty')
  [[ -n $img ]] || die "release.json has no images.postgres and no db-setup service"
  printf '%s' "$img"
}

# pg_tool TOOL ARGS...: a PostgreSQL client tool; stdin/stdout pass through.
pg_tool() {
  local tool=$1
  shift
  if [[ -n ${FT_PG_BIN:-} ]]; then
    PGPASSFILE=$PGPASSFILE_HOST "$FT_PG_BIN/$tool" "$@"
  else
    docker run --rm -i --network "$(ft_network)" --user 0 --entrypoint "$tool" \
      -e PGHOST -e PGPORT -e PGUSER -e PGSSLMODE -e PGCONNECT_TIMEOUT -e PGPASSFILE=/run/ft/pgpass \
      -v "$PGPASSFILE_HOST:/run/ft/pgpass:ro" "$(ft_postgres_image)" "$@"
  fi
}

# psql_admin DB SQL: tuples-only output, stops on the first error.
psql_at() { pg_tool psql -X -q -At -v ON_ERROR_STOP=1 -d "$1" -c "$2"; }

# "schema.table count" for every ordinary table, as pg_dump sees them: partitions counted as
# their leaves, tables that belong to an extension left out (their rows come from the extension).
FT_COUNT_SQL="SELECT format('%I.%I', n.nspname, c.relname) || ' ' ||
  (xpath('/row/c/text()', query_to_xml(format('SELECT count(*) AS c FROM %I.%I', n.nspname, c.relname), false, true, '')))[1]::text
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'
    AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
  ORDER BY 1"

# "table count" lines -> {"table": count} JSON.
ft_counts_json() { jq -R -n '[inputs | select(length > 0) | split(" ") | {key: .[0], value: (.[1] | tonumber)}] | from_entries'; }

ft_backup_setup() {
  B_REMOTE=$(rj '.backup.remote // empty')
  B_BUCKET=$(rj '.backup.bucket // empty')
  B_PREFIX=$(rj '.backup.prefix // "postgres"')
  B_RETENTION=$(rj '.backup.retention_days // 30')
  [[ -n $B_REMOTE && -n $B_BUCKET ]] || die "release.json .backup.remote and .backup.bucket are required"
  [[ $B_RETENTION =~ ^[0-9]+$ && $B_RETENTION -ge 1 ]] || die "release.json .backup.retention_days must be a positive integer"
  B_PREFIX=${B_PREFIX#/}
  B_PREFIX=${B_PREFIX%/}
  B_BASE="$B_REMOTE:$B_BUCKET${B_PREFIX:+/$B_PREFIX}"
  RCLONE_CONF=$SECRETS_DIR/backup/rclone.conf
  BACKUP_KEY=$SECRETS_DIR/backup/backup.key
  AGE_KEY=$SECRETS_DIR/backup/age.key
  [[ -s $RCLONE_CONF ]] || die "$RCLONE_CONF is missing or empty"
  [[ -s $BACKUP_KEY ]] || die "$BACKUP_KEY is missing or empty"
  [[ -s $AGE_KEY ]] || die "$AGE_KEY is missing or empty"
  RCLONE_MODE=${FT_RCLONE:-$(rj '.backup.rclone // "container"')}
  [[ $RCLONE_MODE == host || $RCLONE_MODE == container ]] || die "rclone mode must be host or container, not $RCLONE_MODE"
  ft_backup_places
}

# --- where backups go (vm: off the host, or on it by the operator's choice) --------------
# release.json .backup: `remote` receives dumps and uploads; on vm `store_remote` is the
# host's own object store as the backup job's identity (the app's uploads are read there)
# and `admin_remote` its admin identity (buckets, restored uploads). `offhost` false: the
# operator accepted on-host-only backups. `prune` false: the remote's lifecycle rule keeps
# the retention (its credential need not be able to delete).
ft_backup_places() {
  U_REMOTE=$(rj '.backup.store_remote // empty')
  U_REMOTE=${U_REMOTE:-$B_REMOTE}
  A_REMOTE=$(rj '.backup.admin_remote // empty')
  A_REMOTE=${A_REMOTE:-$U_REMOTE}
  B_OFFHOST=$(rj 'if .backup.offhost == false then "false" else "true" end')
  B_PRUNE=$(rj 'if .backup.prune == false then "false" else "true" end')
}

# One line for preflight and status, from release.json alone (no secret needed): where the
# backups go, and the risk when they stay on this host.
ft_backup_where() {
  local base
  base=$(rj '.backup | "\(.remote):\(.bucket)/\(.prefix // "postgres")"')
  if [[ $(rj '.backup.offhost') == false ]]; then
    printf 'backups are ON THIS HOST ONLY (%s, vmBackupOnHostOnly): a lost disk loses the data and its backups together' "$base"
  else
    printf 'backups go to %s, off this host' "$base"
  fi
}

# rclone_tool ARGS...: config from secrets/backup/rclone.conf; stdin/stdout pass through.
rclone_tool() {
  if [[ $RCLONE_MODE == host ]]; then
    rclone --config "$RCLONE_CONF" "$@"
  else
    docker run --rm -i --network "$(ft_network)" -v "$RCLONE_CONF:/config/rclone/rclone.conf:ro" \
      "$(rj '.images.rclone // "rclone/rclone:1.71.1"')" --config /config/rclone/rclone.conf "$@"
  fi
}

# "<size> <path>" per object under rclone path $1, sorted: what a backup's manifest counts
# of the uploads and the restore check compares (bin/backup, bin/restore). With $2 =
# folder, a missing path is an empty listing (copying an empty bucket creates no folder);
# a missing bucket is always an error. --fast-list (one recursive listing) here and in every
# walk of the uploads: not every S3 server lists folders (common prefixes) level by level.
uploads_listing() {
  local out rc=0
  out=$(rclone_tool lsjson -R --fast-list --files-only "$1") || rc=$?
  if [[ $rc -eq 3 && ${2:-} == folder ]]; then out='[]'; elif [[ $rc -ne 0 ]]; then return 1; fi
  jq -r '.[] | "\(.Size) \(.Path)"' <<<"$out" | LC_ALL=C sort
}

# Encryption of dumps and manifests: age v1 (X25519 + ChaCha20-Poly1305, authenticated:
# a changed byte fails decryption) to the identity in secrets/backup/age.key, read by age
# itself (-i), never argv. The recipient is derived from the identity on this host and
# stored nowhere else, so only a holder of the identity can write a file that decrypts.
# (-R from a pipe instead of `-e -i`: age 1.0, Ubuntu 22.04's, cannot encrypt to an identity file.)
ft_age_encrypt() { age --encrypt -R <(age-keygen -y "$AGE_KEY") -o "$2" "$1"; }
ft_age_decrypt() { age --decrypt -i "$AGE_KEY" -o "$2" "$1"; }

# Legacy (backups written before age): AES-256-CBC, PBKDF2 key from secrets/backup/backup.key,
# no authentication (integrity only from the manifest's sha256). Kept to restore old dumps.
ft_decrypt_legacy() { openssl enc -d -aes-256-cbc -pbkdf2 -iter 200000 -md sha256 -pass "file:$BACKUP_KEY" -in "$1" -out "$2"; }

# Writes a node-exporter textfile atomically (readable by node-exporter, uid 65534).
ft_write_metrics() {
  local file=$METRICS_DIR/$1 tmp
  shift
  mkdir -p "$METRICS_DIR"
  tmp=$(mktemp "$file.XXXXXX")
  printf '%s\n' "$@" >"$tmp"
  chmod 0644 "$tmp"
  mv -f "$tmp" "$file"
}

# Run directly instead of sourced: only print the usage.
if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
  ft_usage
  exit 0
fi
