# shellcheck shell=bash
# proxy: the blue/green slots of the rolling services (compose/render/caddy.ts).
# Each rolling service has two slots, container names <project>-<svc>-blue|green. Caddy
# sends the service's traffic to the slot whose marker file exists in state/proxy/
# (<svc>.blue or <svc>.green), checked on every request: moving traffic is one atomic
# rename here, never a config reload (a reload closes idle client connections, and a
# client that had just sent a request on one gets ECONNRESET).

# Slot whose marker exists for service $1 (empty when none).
ft_proxy_slot() {
  local s
  for s in blue green; do
    [[ -e $STATE_DIR/proxy/$1.$s ]] && { printf '%s' "$s"; return 0; }
  done
  return 0
}

# Container name of slot $2 of service $1 (compose/render/caddy.ts slotContainer).
ft_proxy_slot_name() { printf '%s-%s-%s' "$FT_PROJECT" "$1" "$2"; }

# The slot that is not $1 (blue -> green, anything else -> blue).
ft_proxy_other_slot() { if [[ $1 == blue ]]; then printf green; else printf blue; fi; }

# Sends service $1's traffic to slot $2. Exactly one marker exists at every instant.
ft_proxy_switch() {
  local svc=$1 slot=$2 dir=$STATE_DIR/proxy cur
  mkdir -p "$dir"
  cur=$(ft_proxy_slot "$svc")
  if [[ -z $cur ]]; then
    : >"$dir/.$svc.$slot.tmp"
    mv -f "$dir/.$svc.$slot.tmp" "$dir/$svc.$slot"
  elif [[ $cur != "$slot" ]]; then
    mv -f "$dir/$svc.$cur" "$dir/$svc.$slot"
  fi
  log "proxy: $svc -> $slot"
}

# Gives container $1 the name of slot $3 of service $2 (a rename: the running container
# and its connections are untouched). Another container holding the name is renamed away.
ft_proxy_take_slot() {
  local id=$1 svc=$2 slot=$3 name holder
  name=$(ft_proxy_slot_name "$svc" "$slot")
  holder=$(docker ps -aq --no-trunc --filter "name=^/${name}\$")
  holder=${holder%%$'\n'*}
  [[ $holder == "$id" ]] && return 0
  [[ -z $holder ]] || docker rename "$holder" "$name-old-${holder:0:12}"
  docker rename "$id" "$name"
}

# The caddy container (first id), or nothing.
ft_proxy_caddy() {
  local ids
  ids=$(ft_compose_service_ids caddy)
  printf '%s' "${ids%%$'\n'*}"
}

# Waits up to $4 seconds (default 10) until the proxy's container gets 200 from slot $2 of
# service $1 by name, on path $3 (default: the liveness path release.json .proxy gives).
# Docker's DNS follows a rename at once: this checks it, and the network path, instead of
# assuming them, before traffic moves there (bin/deploy also asks the backend's full health
# path before handing held requests back). Succeeds at once when caddy is not running yet or
# release.json .proxy has no entry for $1. Bounded by the clock and by two tries a second
# (each sleeps 0.5 s), so a test whose sleep returns at once does not spin for the whole time.
# shellcheck disable=SC2016 # $s is a jq variable, not a shell one
ft_proxy_reachable() {
  local svc=$1 slot=$2 path=${3:-} within=${4:-10} caddy port url tries=0 deadline
  caddy=$(ft_proxy_caddy)
  [[ -n $caddy ]] || return 0 # first start: caddy comes up after the app
  port=$(rj --arg s "$svc" '.proxy[$s].port // empty')
  [[ -n $path ]] || path=$(rj --arg s "$svc" '.proxy[$s].health // empty')
  [[ -n $port && -n $path ]] || return 0
  url="http://$(ft_proxy_slot_name "$svc" "$slot"):$port$path"
  deadline=$((SECONDS + within))
  while ((tries == 0 || (SECONDS < deadline && tries < within * 2))); do
    tries=$((tries + 1))
    docker exec "$caddy" wget -q -O /dev/null -T 2 "$url" >/dev/null 2>&1 && return 0
    sleep 0.5
  done
  log "proxy: $url does not answer from the caddy container (after $tries attempts; limit $within s)"
  return 1
}

# A single running container of service $1 holds the slot its marker names (blue if none):
# repairs the rotation after a manual `compose up --force-recreate` (numbered names).
ft_proxy_ensure() {
  local svc=$1 ids slot
  ids=$(ft_compose_service_ids "$svc")
  [[ -n $ids && $(wc -w <<<"$ids") -eq 1 ]] || return 0
  slot=$(ft_proxy_slot "$svc")
  slot=${slot:-blue}
  ft_proxy_take_slot "$ids" "$svc" "$slot"
  [[ -e $STATE_DIR/proxy/$svc.$slot ]] || ft_proxy_switch "$svc" "$slot"
}
