# shellcheck shell=bash
# lock: state/<name>.lock held with flock, its holder written to state/<name>.lock.owner
# (docs/design.md "Host layout"). "deploy" is taken by bin/deploy (and so bin/rollback) and
# by a restore into production; "backup" by bin/backup.
# Variables set here are read by the files and commands that source lib.sh:
# shellcheck disable=SC2034

# ft_lock_acquire NAME ACTION: takes state/NAME.lock without waiting and records the holder;
# when another process holds it, prints that holder and exits 75.
ft_lock_acquire() {
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
  printf 'user=%s\npid=%s\nhost=%s\naction=%s\nsince=%s\n' "$(ft_audit_user)" "$$" "$(hostname)" "$action" \
    "$(date -u +%Y-%m-%dT%H:%M:%SZ)" >"$owner.tmp"
  mv -f "$owner.tmp" "$owner"
}

# Drops the lock and its holder record (a no-op when none is held).
ft_lock_release() {
  [[ -n ${LOCK_OWNER_FILE:-} ]] && rm -f "$LOCK_OWNER_FILE"
  LOCK_OWNER_FILE=
  exec 9>&- 2>/dev/null || true
}
