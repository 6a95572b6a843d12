# shellcheck shell=bash
# metrics: node-exporter textfiles under APP_DIR/metrics (backup and restore-check freshness).

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
