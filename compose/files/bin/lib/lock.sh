# shellcheck shell=bash
# lock: state/<name>.lock held with flock, its holder written to state/<name>.lock.owner
# (docs/design.md "Host layout"). "deploy" is taken by bin/deploy (and so bin/rollback) and
# by a restore into production; "backup" by bin/backup.
# Variables set here are read by the files and commands that source lib.sh:
# shellcheck disable=SC2034

# ft_lock_acquire NAME ACTION [WAIT_SECONDS]: takes state/NAME.lock and records the holder
# (with the log of a command that outlives its connection: ft_log_outlive). Without
# WAIT_SECONDS it does not wait; with them it waits that long, saying for whom. When another
# process still holds it, prints that holder and exits 75.
ft_lock_acquire() {
  local name=$1 action=$2 wait=${3:-} file owner
  mkdir -p "$STATE_DIR"
  file=$STATE_DIR/$name.lock
  owner=$file.owner
  exec 9>>"$file"
  if ! flock -n 9; then
    if [[ -n $wait ]]; then
      log "$name lock is held (an earlier run, perhaps one that outlived its connection); waiting up to $wait s for it to end. Holder:"
      ft_lock_holder "$owner"
    fi
    if [[ -z $wait ]] || ! flock -w "$wait" 9; then
      log "ERROR: $name lock is held; $([[ -n $wait ]] && echo "still, after $wait s" || echo "not waiting"). Holder:"
      ft_lock_holder "$owner"
      log "Run this again once that holder has ended (its log says how far it is)."
      exit 75
    fi
  fi
  LOCK_OWNER_FILE=$owner
  printf 'user=%s\npid=%s\nhost=%s\naction=%s\nsince=%s\n%s' "$(ft_audit_user)" "$$" "$(hostname)" "$action" \
    "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "${FT_LOG_OUTLIVE_FILE:+log=$FT_LOG_OUTLIVE_FILE$'\n'}" >"$owner.tmp"
  mv -f "$owner.tmp" "$owner"
}

# The holder record of a lock, indented, on stderr.
ft_lock_holder() {
  if [[ -s $1 ]]; then sed 's/^/  /' "$1" >&2; else log "  (holder unknown: $1 is empty)"; fi
}

# ft_lock_action NAME: the action the holder of state/NAME.lock recorded (empty when there is none).
ft_lock_action() {
  { sed -n 's/^action=//p' "$STATE_DIR/$1.lock.owner" 2>/dev/null || true; } | head -n 1
}

# Drops the lock and its holder record (a no-op when none is held).
ft_lock_release() {
  [[ -n ${LOCK_OWNER_FILE:-} ]] && rm -f "$LOCK_OWNER_FILE"
  LOCK_OWNER_FILE=
  exec 9>&- 2>/dev/null || true
}
