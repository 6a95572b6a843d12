// The verification that ends a move off aws's cutover, run on the deploying machine: the new
// side's health as clients reach it now (through the old load balancer, which forwards) and once
// DNS has moved (the new host's own address). Both TLS verified for the app's name by the public
// CAs; no secret anywhere (only a domain and two addresses in the environment).

/**
 * Environment: DOMAIN, VIA (the old load balancer's DNS name), NEW (the new host's address),
 * HEALTH (path), WAIT_SECONDS. Prints one JSON line
 * `{"through_load_balancer": {status, seconds}, "new_side": {status, seconds}, "ok": BOOL}`; exits 1
 * unless both answered 200 within WAIT_SECONDS (the forward stays in place either way: the new
 * side holds the data from the freeze on).
 */
export function forwardCheckScript(): string {
  return `set -uo pipefail
: "\${DOMAIN:?}" "\${VIA:?}" "\${NEW:?}" "\${HEALTH:?}" "\${WAIT_SECONDS:?}"
# check ADDRESS: GET https://DOMAIN/HEALTH connected to ADDRESS:443; prints {"status": N, "seconds": S}.
check() {
  local start=$SECONDS code=000
  while :; do
    code=$(curl -sS -o /dev/null -w '%{http_code}' -m 10 --connect-to "$DOMAIN:443:$1:443" "https://$DOMAIN$HEALTH" 2>/dev/null) || code=000
    [ "$code" != 200 ] || break
    [ $((SECONDS - start)) -lt "$WAIT_SECONDS" ] || break
    sleep 2
  done
  printf '{"via": "%s", "status": %s, "seconds": %s}' "$1" "$((10#$code))" "$((SECONDS - start))"
}
lb=$(check "$VIA")
direct=$(check "$NEW")
ok=false
case "$lb$direct" in *'"status": 200,'*'"status": 200,'*) ok=true ;; esac
printf '{"through_load_balancer": %s, "new_side": %s, "ok": %s}\\n' "$lb" "$direct" "$ok"
if [ "$ok" != true ]; then
  echo "the new side does not answer $HEALTH with 200 through both addresses: bin/status on the new host; the old load balancer keeps forwarding to it" >&2
  exit 1
fi
`;
}
