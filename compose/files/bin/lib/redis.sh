# shellcheck shell=bash
# redis: Redis's ACL file (compose/render/redis.ts REDIS_STATE_MOUNT) and its reload.
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

# ft_redis_acl keep-previous|current-only: writes state/redis/users.acl (keep-previous: the
# hashes it already holds + the new one), and the healthcheck's password file when there is
# none yet. Returns 0 when users.acl changed, 1 when it did not or the secret file is missing.
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
# (state/redis.loaded), then points the healthcheck at the deployed password.
ft_redis_reload() {
  local id want have out dir=$STATE_DIR/redis
  [[ -n $(rj '.reload.redis // empty') && -f $dir/users.acl ]] || return 0
  want=$(sha256sum <"$dir/users.acl" | cut -c1-64)
  have=$(cat "$STATE_DIR/redis.loaded" 2>/dev/null || true)
  id=$(ft_compose_service_ids redis)
  id=${id%%$'\n'*}
  [[ -n $id ]] || return 0
  if [[ $want != "$have" ]]; then
    out=$(ft_redis_cli "$id" "ACL LOAD") ||
      die "redis: it accepts none of this host's redis passwords, so state/redis/users.acl was not loaded (redis keeps its previous ACL); check $SECRETS_DIR/redis/password"
    [[ $out == OK ]] || die "redis: ACL LOAD of state/redis/users.acl failed (redis keeps its previous ACL): $(head -n 2 <<<"$out")"
    log "redis: ACL reloaded (no restart, connections kept)"
  fi
  printf '%s\n' "$want" >"$STATE_DIR/redis.loaded.tmp"
  mv -f "$STATE_DIR/redis.loaded.tmp" "$STATE_DIR/redis.loaded"
  ft_redis_health_password
}

# Runs the commands $2... (one per argument) through valkey-cli in redis container $1, with AUTH
# on its stdin (never argv or environment) by the first password redis accepts: the generation
# being deployed, the running release's, the healthcheck's (during a rotation redis may accept
# only the older ones). Prints the commands' replies (AUTH's OK left out); 1 when it accepts none.
ft_redis_cli() {
  local id=$1
  shift
  ft_redis_cli_from "$id" printf '%s\n' "$@"
}

# ft_redis_cli_from ID COMMAND...: valkey-cli in redis container ID runs what COMMAND prints.
ft_redis_cli_from() {
  local id=$1 f pw out
  shift
  for f in "$SECRETS_DIR/redis/password" "$SECRETS_LINK/redis/password" "$STATE_DIR/redis/password"; do
    [[ -f $f ]] || continue
    pw=$(<"$f")
    pw=${pw//\\/\\\\}
    pw=${pw//\"/\\\"}
    out=$({ printf 'AUTH "%s"\n' "$pw"; "$@"; } | docker exec -i "$id" valkey-cli 2>&1 | tr -d '\r') || true
    pw=
    if [[ ${out%%$'\n'*} == OK ]]; then
      tail -n +2 <<<"$out"
      return 0
    fi
  done
  return 1
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
