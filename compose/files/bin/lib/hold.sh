# shellcheck shell=bash
# hold: the request holder (compose/files/move/hold.js), which keeps the app's requests while
# this side cannot answer them: a move's write freeze (bin/move-export, bin/move-forward and
# bin/move-import then forward them to the new side) and bin/deploy's restart of data services
# (then handed back to this side's backend). Its on-host names say "move" (a move brought it)
# and stay, so a holder that runs across an upgrade of these scripts is still found.
# Variables set here are read by the commands that source lib.sh:
# shellcheck disable=SC2034

# One container, <project>-move-hold, of the backend's image (it has node), on the caddy
# container's networks, labelled as this project's service "move-hold" (so stack removal's
# `compose down --remove-orphans` removes it). While state/proxy/move.forward exists, Caddy sends
# every request for the app's hosts to it (compose/render/caddy.ts moveRoute); it keeps them until
# state/move-hold/target.json says where they go. Switching is a file, never a Caddy config load
# (which resets idle client connections). It restarts with the engine (a host reboot between
# cutover and retire) and after a crash, and reads target.json again: the marker outlives both,
# so without it every request would get 502.
FT_MOVE_HOLD_PORT=3000
FT_MOVE_HOLD_HEALTH=/.freshtrack-move/hold-health
# How long the holder keeps a request before answering 503: longer than any freeze a move
# starts. Between hosts the cutover is refused when the prepare's copy took more than
# moveMaxFreezeSeconds (at most 540, core/config.ts MOVE_HOLD_SECONDS - 60); a move off aws holds
# on the NEW side through stopping the old services and two one-off tasks
# (components/aws/move-forward.ts NEW_HOST_HOLD_MS). Tests keep the three equal.
FT_MOVE_HOLD_MS=600000
# How long a stopped holder lets what it holds or forwards finish (hold.js FT_HOLD_DRAIN_MS; the
# `docker stop` timeout below matches it, so a stop is never a kill mid-drain).
FT_MOVE_HOLD_DRAIN_SECONDS=30

ft_hold_name() { printf '%s-move-hold' "$FT_PROJECT"; }

# The holder container runs under its name (the one Caddy dials).
ft_hold_up() { [[ -n $(docker ps -q --filter "name=^/$(ft_hold_name)\$" 2>/dev/null) ]]; }

# Ids of the holder container: running or not, or with "running" only while it runs.
ft_hold_ids() {
  local opts=(-aq --no-trunc)
  [[ ${1:-} != running ]] || opts=(-q)
  docker ps "${opts[@]}" --filter "label=com.docker.compose.project=$FT_PROJECT" --filter label=com.docker.compose.service=move-hold 2>/dev/null || true
}

# No target: the holder keeps every request (compose/files/move/hold.js reads target.json every
# 100 ms).
ft_hold_keep() {
  rm -f "$STATE_DIR/move-hold/target.json" "$STATE_DIR/move-hold/ca.pem"
}

# Starts the holder unless it runs (keeping a request up to $1 ms, default FT_MOVE_HOLD_MS), and
# waits until Caddy reaches it by name.
ft_hold_ensure() {
  local max_ms=${1:-$FT_MOVE_HOLD_MS} dir=$STATE_DIR/move-hold caddy nets net hid i
  caddy=$(ft_proxy_caddy)
  [[ -n $caddy ]] || die "no running caddy container: no request can be held or forwarded"
  # World-readable: the holder runs as nobody; target.json and a CA certificate hold no secret.
  install -d -m 0755 "$dir"
  if ! ft_hold_up; then
    ft_hold_remove
    ft_hold_keep
    nets=$(docker inspect -f '{{range $k, $v := .NetworkSettings.Networks}}{{$k}} {{end}}' "$caddy")
    hid=$(docker run -d --name "$(ft_hold_name)" \
      --label "com.docker.compose.project=$FT_PROJECT" --label com.docker.compose.service=move-hold \
      --network "${nets%% *}" --user 65534:65534 --read-only --restart unless-stopped \
      -v "$SCRIPT_RELEASE_DIR/move/hold.js:/hold.js:ro" -v "$dir:/hold:ro" \
      -e "FT_HOLD_PORT=$FT_MOVE_HOLD_PORT" -e "FT_HOLD_HEALTH=$FT_MOVE_HOLD_HEALTH" -e "FT_HOLD_MAX_MS=$max_ms" \
      -e "FT_HOLD_DRAIN_MS=$((FT_MOVE_HOLD_DRAIN_SECONDS * 1000))" \
      --entrypoint node "$(rj '.images.backend')" /hold.js) || die "could not start the request holder: nothing changed"
    for net in ${nets#"${nets%% *}"}; do docker network connect "$net" "$hid"; done
    log "request holder ${hid:0:12} started ($(ft_hold_name))"
  fi
  for i in $(seq 1 40); do
    docker exec "$caddy" wget -q -O /dev/null -T 2 "http://$(ft_hold_name):$FT_MOVE_HOLD_PORT$FT_MOVE_HOLD_HEALTH" >/dev/null 2>&1 && return 0
    sleep 0.5
  done
  ft_hold_remove
  die "Caddy cannot reach the request holder $(ft_hold_name) (after $i attempts): nothing changed"
}

# Every request for the app's hosts goes to the holder from now on (one atomic rename).
ft_hold_divert() {
  local dir=$STATE_DIR/proxy
  mkdir -p "$dir"
  : >"$dir/.move.forward.tmp"
  chmod 0644 "$dir/.move.forward.tmp"
  mv -f "$dir/.move.forward.tmp" "$dir/move.forward"
  log "proxy: every request for the app's hosts goes to the request holder"
}

# Sends every kept and later request to URL (https://HOST:PORT), TLS verified for the request's
# host name against the CA file $2 when given (else the system's). Nothing to do without a holder.
ft_hold_release() {
  local url=$1 ca_file=${2:-} dir=$STATE_DIR/move-hold ca_path=
  [[ -n $(ft_hold_ids) ]] || return 0
  if [[ -n $ca_file ]]; then
    install -m 0644 "$ca_file" "$dir/ca.pem"
    ca_path=ca.pem
  fi
  jq -n --arg url "$url" --arg ca "$ca_path" '{url: $url, ca: (if $ca == "" then null else $ca end)}' >"$dir/.target.tmp"
  chmod 0644 "$dir/.target.tmp"
  mv -f "$dir/.target.tmp" "$dir/target.json"
  log "request holder: kept and later requests go to $url"
}

# Caddy routes locally again and the holder sends what it keeps (and what still reaches it)
# through this side's own Caddy. The holder stays: it may still wait for answers from the other
# side (a rollback: that side holds them until it is asked to release).
ft_hold_local() {
  local caddy self_ca=
  rm -f "$STATE_DIR/proxy/move.forward"
  [[ -n $(ft_hold_ids) ]] || return 0
  caddy=$(ft_proxy_caddy)
  [[ -n $caddy ]] || return 0
  if [[ $(rj '.tls_mode // "acme"') == internal ]]; then
    self_ca=$STATE_DIR/move-hold/self-ca.pem
    docker exec "$caddy" cat /data/caddy/pki/authorities/local/root.crt >"$self_ca" && [[ -s $self_ca ]] || self_ca=
  fi
  ft_hold_release "https://caddy:443" "$self_ca"
}

# This side serves again (a failed cutover, a rollback, or bin/move-forward --off): Caddy routes
# locally again, what the holder kept goes through this side's own Caddy, and the holder goes.
ft_hold_end() {
  ft_hold_local
  [[ -n $(ft_hold_ids) ]] || return 0
  # Graceful: it stops listening, and what it holds or forwards gets FT_MOVE_HOLD_DRAIN_SECONDS to finish.
  sleep "${FT_PROXY_SETTLE_SECONDS:-3}"
  ft_hold_remove
  rm -f "$STATE_DIR/move-hold/target.json" "$STATE_DIR/move-hold/ca.pem" "$STATE_DIR/move-hold/self-ca.pem"
  log "request holder removed: this side serves every request itself"
}

# The new side of a move off aws whose holder kept every request with no target (bin/move-forward
# --hold) serves them once its backend runs again (ft_hold_takeover, then
# ft_hold_end). Returns 1 when the backend does not answer: the marker in place, the holder
# keeps holding (the requests have nowhere else to go).
ft_hold_end_checked() {
  [[ -n $(ft_hold_ids) || -e $STATE_DIR/proxy/move.forward ]] || return 0
  if ! ft_hold_takeover; then
    [[ -z $(ft_hold_ids) || -e $STATE_DIR/proxy/move.forward ]] || ft_hold_divert
    return 1
  fi
  ft_hold_end
}

# This side's backend, started again, takes the app's requests back from the holder, in an order
# that keeps every request: while the backend comes up, new requests still reach the holder (the
# marker stays); then Caddy routes locally again, and the caller hands what the holder kept to
# Caddy only after the backend answered THROUGH Caddy (ft_hold_backend_via_caddy). Requests that
# arrive in those seconds wait in the backend route's retries (15 s), longer than that check.
# Returns 1, the marker untouched, when the backend does not answer from the caddy container.
ft_hold_takeover() {
  ft_hold_backend_reachable || return 1
  rm -f "$STATE_DIR/proxy/move.forward"
  ft_hold_backend_via_caddy
}

# Waits (up to about 2 minutes) until this side's backend answers from the caddy container. Then,
# when Caddy routes this side's requests itself (no move marker), until it answers through Caddy.
# With the marker, a request through Caddy would reach the holder, not the backend: nothing more to
# check.
ft_hold_backend_wait() {
  ft_hold_backend_reachable || return 1
  [[ -e $STATE_DIR/proxy/move.forward ]] || ft_hold_backend_via_caddy
}

# This side's backend answers its liveness path from the caddy container (within 120 s).
ft_hold_backend_reachable() {
  local slot
  slot=$(ft_proxy_slot backend)
  ft_proxy_reachable backend "${slot:-blue}" "" 120
}

# Up to 10 s until the backend answers through Caddy: Caddy counts a backend it saw stopped as down
# until its next health check. Loopback with the app's host name; the route is what is checked, not
# the certificate. Only warns: the backend itself answers.
ft_hold_backend_via_caddy() {
  local domain health code=000 deadline
  domain=$(rj '.domain // empty')
  health=$(rj '.proxy.backend.health // empty')
  [[ -n $domain && -n $health ]] || return 0
  deadline=$((SECONDS + 10))
  while ((SECONDS < deadline)); do
    code=$(curl -sk -o /dev/null -w '%{http_code}' -m 2 --resolve "$domain:443:127.0.0.1" "https://$domain$health" 2>/dev/null) || code=000
    [[ $code != 200 ]] || return 0
    sleep 0.5
  done
  warn "the backend answers, but not through Caddy (https://$domain$health on this host: HTTP $code for 10 s): going on"
}

ft_hold_remove() {
  local id
  for id in $(ft_hold_ids); do
    docker stop -t "$FT_MOVE_HOLD_DRAIN_SECONDS" "$id" >/dev/null 2>&1 || true
    docker rm -f "$id" >/dev/null 2>&1 || true
  done
}

# A move's marker (state/proxy/move.forward, compose/render/caddy.ts MOVE_FORWARD_MARKER) sends
# every request to the move's request holder; without a running holder Caddy could only answer
# 502. bin/deploy removes such a leftover (a move finished or abandoned by hand).
ft_hold_drop_stale_marker() {
  local f=$STATE_DIR/proxy/move.forward
  [[ -e $f ]] || return 0
  [[ -z $(ft_hold_ids running) ]] || return 0
  rm -f "$f"
  warn "proxy: removed a move's forward marker that no request holder serves: this side serves itself"
}
