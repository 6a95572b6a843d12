# shellcheck shell=bash
#/ Usage: source move-lib.sh   (from bin/move-export, bin/move-import, bin/move-forward; running it only prints this)
#/
#/ Helpers of a move between targets (docs/move.md): the uploads bucket copied through
#/ the backup remote's credentials, sequence values, digests of lasting secrets, and the
#/ request holder of the write freeze (bin/move-export, bin/move-forward, bin/move-import).
# Variables set here are read by the scripts that source this file:
# shellcheck disable=SC2034
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# Where rclone sees a local path: the host path itself, or /work inside the rclone container.
ft_move_path() {
  if [[ $RCLONE_MODE == host ]]; then printf '%s' "$1"; else printf '/work/%s' "${1#"$WORK"/}"; fi
}

# rclone with the backup remote's config and the move's work directory at /work (container mode).
ft_move_rclone() {
  if [[ $RCLONE_MODE == host ]]; then
    rclone --config "$RCLONE_CONF" "$@"
  else
    docker run --rm -i --network "$(ft_db_network)" -v "$RCLONE_CONF:/config/rclone/rclone.conf:ro" -v "$WORK:/work" \
      "$(rj '.images.rclone // "rclone/rclone:1.71.1"')" --config /config/rclone/rclone.conf "$@"
  fi
}

# sha256 of a secret file under APP_DIR/secrets (the digest only: the value never leaves the file).
ft_move_secret_digest() {
  local f=$SECRETS_DIR/$1
  [[ -s $f ]] || { printf 'missing'; return 0; }
  sha256sum <"$f" | cut -c1-64
}

# {"schema.seq": [last_value, is_called]} from the setval lines of `pg_restore --data-only -f -`.
ft_move_dump_sequences() {
  sed -n "s/^SELECT pg_catalog.setval('\\([^']*\\)', \\([0-9-]*\\), \\(true\\|false\\));\$/\\1 \\2 \\3/p" |
    jq -R -n '[inputs | select(length > 0) | split(" ") | {key: .[0], value: [(.[1] | tonumber), (.[2] == "true")]}] | from_entries'
}

# The same for a live database.
FT_SEQUENCES_SQL="SELECT format('%I.%I', schemaname, sequencename) || ' ' || coalesce(last_value, (SELECT s.seqstart FROM pg_sequence s
  WHERE s.seqrelid = format('%I.%I', schemaname, sequencename)::regclass)) || ' ' || (last_value IS NOT NULL)::text
  FROM pg_sequences ORDER BY 1"
ft_move_db_sequences() {
  ft_db_query "$1" "$FT_SEQUENCES_SQL" | jq -R -n '[inputs | select(length > 0) | split(" ") | {key: .[0], value: [(.[1] | tonumber), (.[2] == "true")]}] | from_entries'
}

# The request holder of the write freeze (compose/files/move/hold.js): a container of the
# backend's image and networks in the backend's free blue/green slot, labelled as this
# project's service "move-hold" (so stack removal's `compose down --remove-orphans` removes it).
ft_move_hold_ids() {
  docker ps -aq --no-trunc --filter "label=com.docker.compose.project=$FT_PROJECT" --filter label=com.docker.compose.service=move-hold 2>/dev/null || true
}

# Starts the holder and moves the backend's traffic to it; the backend keeps running (the caller
# stops it next). Requests already sent to the backend finish during the settle time.
ft_move_hold_start() {
  local dir=$STATE_DIR/move-hold ids id image nets net cur slot hid
  ft_proxy_ensure backend
  ids=$(ft_compose_service_ids backend)
  id=${ids%%$'\n'*}
  [[ -n $id ]] || { warn "no running backend: no request to hold during the freeze"; return 0; }
  image=$(docker inspect -f '{{.Config.Image}}' "$id")
  nets=$(docker inspect -f '{{range $k, $v := .NetworkSettings.Networks}}{{$k}} {{end}}' "$id")
  cur=$(ft_proxy_slot backend)
  [[ -n $cur ]] || die "the backend holds no blue/green slot (two containers? run bin/deploy first): nothing frozen"
  slot=$(ft_proxy_other_slot "$cur")
  ft_move_hold_remove
  # World-readable: the holder runs as nobody; target.json and the CA hold no secret.
  install -d -m 0755 "$dir"
  rm -f "$dir/target.json" "$dir/ca.pem"
  hid=$(docker run -d --label "com.docker.compose.project=$FT_PROJECT" --label com.docker.compose.service=move-hold \
    --network "${nets%% *}" --user 65534:65534 --read-only --restart no \
    -v "$SCRIPT_RELEASE_DIR/move/hold.js:/hold.js:ro" -v "$dir:/hold:ro" \
    -e "FT_HOLD_PORT=$(rj '.proxy.backend.port // 3000')" -e "FT_HOLD_HEALTH=$(rj '.proxy.backend.health // "/health/live"')" \
    --entrypoint node "$image" /hold.js) || die "could not start the request holder: nothing frozen"
  for net in ${nets#"${nets%% *}"}; do docker network connect "$net" "$hid"; done
  ft_proxy_take_slot "$hid" backend "$slot"
  ft_proxy_reachable backend "$slot" || { ft_move_hold_remove; die "the request holder does not answer: nothing frozen"; }
  printf '%s\n' "$cur" >"$dir/served-by"
  ft_proxy_switch backend "$slot"
  sleep "${FT_PROXY_SETTLE_SECONDS:-3}"
  log "request holder ${hid:0:12} in slot $slot: requests arriving during the freeze are kept"
}

# Sends every kept and later request to URL (http://NAME:PORT or https://HOST:PORT), TLS
# verified against the CA file $2 when given. Nothing to do without a holder.
ft_move_hold_release() {
  local url=$1 ca_file=${2:-} dir=$STATE_DIR/move-hold ca_path=
  [[ -n $(ft_move_hold_ids) ]] || return 0
  if [[ -n $ca_file ]]; then
    install -m 0644 "$ca_file" "$dir/ca.pem"
    ca_path=/hold/ca.pem
  fi
  jq -n --arg url "$url" --arg ca "$ca_path" '{url: $url, ca: (if $ca == "" then null else $ca end)}' >"$dir/.target.tmp"
  chmod 0644 "$dir/.target.tmp"
  mv -f "$dir/.target.tmp" "$dir/target.json"
  log "request holder: kept and later requests go to $url"
}

# This side serves again (a failed or rolled-back cutover): the held requests go to the
# backend that served before, the proxy's traffic moves back to it, and the holder is removed.
ft_move_hold_end() {
  local dir=$STATE_DIR/move-hold slot
  [[ -n $(ft_move_hold_ids) && -s $dir/served-by ]] || return 0
  slot=$(<"$dir/served-by")
  ft_proxy_reachable backend "$slot" || die "the backend in slot $slot does not answer: requests stay held; run bin/deploy"
  ft_move_hold_release "http://$(ft_proxy_slot_name backend "$slot"):$(rj '.proxy.backend.port // 3000')"
  ft_proxy_switch backend "$slot"
  sleep "${FT_PROXY_SETTLE_SECONDS:-3}"
  ft_move_hold_remove
  rm -f "$dir/served-by" "$dir/target.json" "$dir/ca.pem"
}

# Graceful: requests it is forwarding finish (docker stop's SIGTERM closes the listener first).
ft_move_hold_remove() {
  local id
  for id in $(ft_move_hold_ids); do
    docker stop "$id" >/dev/null 2>&1 || true
    docker rm -f "$id" >/dev/null 2>&1 || true
  done
}

# Run directly instead of sourced: only print the usage.
if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
  ft_cli_usage
  exit 0
fi
