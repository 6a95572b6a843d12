# shellcheck shell=bash
# live: APP_DIR/live, the copy of the release being deployed that Compose runs from.
# Variables set here are read by the files and commands that source lib.sh:
# shellcheck disable=SC2034

# Makes APP_DIR/live a copy of this release (atomic rename), keeping the one it replaces
# in APP_DIR/.live.prev until the deploy is known to succeed (ft_live_commit) or has
# failed (ft_live_restore puts it back). New containers see this release's files at the
# same paths; running ones keep what they mounted, and after a failure a restarted one
# gets its own release's files again. Nothing to do when live already holds this release.
ft_live_stage() {
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

# After a successful deploy: the replaced copy is no longer needed.
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
