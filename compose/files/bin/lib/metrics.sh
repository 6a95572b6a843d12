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

# ft_metrics_move_held: metrics/move.prom from the move's marks in state/. A move stops this
# side's backend and worker on purpose (standby: a new side before its cutover,
# move-stopped-app; frozen: a side whose writes moved away, move-frozen-app): the alert rules
# read this so a backend down by design pages nobody, and a hold left for days still does.
# Called wherever those marks are written or removed.
ft_metrics_move_held() {
  local state=none value=0 since=0 mark
  # frozen first: it silences less (its public endpoint must still answer, through the holder).
  for mark in move-frozen-app:frozen move-stopped-app:standby; do
    if [[ -s $STATE_DIR/${mark%%:*} ]]; then
      state=${mark#*:} value=1 since=$(stat -c %Y "$STATE_DIR/${mark%%:*}")
      break
    fi
  done
  ft_metrics_write move.prom \
    "# HELP freshtrack_move_app_held 1 while a move holds this side's backend and worker stopped on purpose (state standby: before its cutover; frozen: its writes moved to the other side)." \
    "# TYPE freshtrack_move_app_held gauge" \
    "freshtrack_move_app_held{state=\"$state\"} $value" \
    "# HELP freshtrack_move_app_held_since_seconds When the move last set that hold (Unix time; 0 when none)." \
    "# TYPE freshtrack_move_app_held_since_seconds gauge" \
    "freshtrack_move_app_held_since_seconds $since"
}
