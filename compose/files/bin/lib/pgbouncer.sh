# shellcheck shell=bash
# pgbouncer: PgBouncer's live auth file (compose/render/pgbouncer.ts USERLIST_PATH) and its reload.

# ft_pgbouncer_auth keep-previous|current-only: writes state/pgbouncer/userlist.txt, mounted
# into pgbouncer: the push's secrets/pgbouncer/userlist.txt (the server login and this
# password's client login) plus, with keep-previous, the client logins of the previous
# password (state/pgbouncer.previous, root 0600, outside the mount), so that while a
# rotation rolls the app the old backend and worker are not refused. Written atomically,
# owned like the secret file, mode 0600. Returns 0 when the live file changed, 1 when it
# did not or the secret file is missing.
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
  id=$(ft_compose_service_ids pgbouncer)
  id=${id%%$'\n'*}
  [[ -n $id ]] || return 0
  if [[ -n $have && $want != "$have" ]]; then
    log "pgbouncer: auth file changed: reloading it (SIG$sig), connections kept"
    docker kill -s "$sig" "$id" >/dev/null || die "pgbouncer: could not send SIG$sig"
  fi
  printf '%s\n' "$want" >"$STATE_DIR/pgbouncer.loaded.tmp"
  mv -f "$STATE_DIR/pgbouncer.loaded.tmp" "$STATE_DIR/pgbouncer.loaded"
}
