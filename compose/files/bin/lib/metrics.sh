# shellcheck shell=bash
# metrics: node-exporter textfiles under APP_DIR/metrics (backup and restore-check freshness, a move's hold).

# ft_metrics_write FILE LINE...: writes metrics/FILE atomically, one LINE a line (0644:
# node-exporter reads it as uid 65534).
ft_metrics_write() {
  local file=$METRICS_DIR/$1 tmp
  shift
  mkdir -p "$METRICS_DIR"
  tmp=$(mktemp "$file.XXXXXX")
  printf '%s\n' "$@" >"$tmp"
  chmod 0644 "$tmp"
  mv -f "$tmp" "$file"
}

# ft_metrics_move_hold: prints "STATE SINCE" from the move's marks in state/: a move stops this
# side's backend and worker on purpose (standby: a new side before its cutover,
# move-stopped-app; frozen: a side whose writes moved away, move-frozen-app); "none 0" when
# neither. The alert rules (through metrics/move.prom) and the scheduled backup read this.
ft_metrics_move_hold() {
  local mark
  # frozen first: it silences less (its public endpoint must still answer, through the holder).
  for mark in move-frozen-app:frozen move-stopped-app:standby; do
    if [[ -s $STATE_DIR/${mark%%:*} ]]; then
      printf '%s %s\n' "${mark#*:}" "$(stat -c %Y "$STATE_DIR/${mark%%:*}")"
      return 0
    fi
  done
  printf 'none 0\n'
}

# ft_metrics_move_hold_text: prints "STATE since <UTC time>" and returns 0 while a move holds
# this side's app; prints nothing and returns 1 when none holds it (the wording of bin/status
# and of the backups a hold skips).
ft_metrics_move_hold_text() {
  local state since
  read -r state since < <(ft_metrics_move_hold)
  [[ $state != none ]] || return 1
  printf '%s since %s\n' "$state" "$(date -u -d "@$since" +%FT%TZ)"
}

# ft_metrics_move_held: metrics/move.prom from ft_metrics_move_hold, so a backend down by design
# pages nobody, and a hold left for days still does. Called wherever the marks are written or removed.
ft_metrics_move_held() {
  local state since value=1
  read -r state since < <(ft_metrics_move_hold)
  [[ $state != none ]] || value=0
  ft_metrics_write move.prom \
    "# HELP freshtrack_move_app_held 1 while a move holds this side's backend and worker stopped on purpose (state standby: before its cutover; frozen: its writes moved to the other side)." \
    "# TYPE freshtrack_move_app_held gauge" \
    "freshtrack_move_app_held{state=\"$state\"} $value" \
    "# HELP freshtrack_move_app_held_since_seconds When the move last set that hold (Unix time; 0 when none)." \
    "# TYPE freshtrack_move_app_held_since_seconds gauge" \
    "freshtrack_move_app_held_since_seconds $since"
}
