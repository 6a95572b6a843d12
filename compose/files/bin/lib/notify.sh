# shellcheck shell=bash
# notify: the operator's chat webhook (secrets/notify/webhook_url, optional).

# ft_notify TEXT: posts "[<host>] TEXT" to the Slack-compatible webhook, when one is set.
# The URL comes from the secret file and reaches curl through a config on stdin (never
# argv). Never fails the caller: a problem is only a warning.
ft_notify() {
  local text=$1 url_file=$SECRETS_DIR/notify/webhook_url url payload
  [[ -s $url_file ]] || return 0
  command -v curl >/dev/null 2>&1 || { warn "curl missing: notification not sent"; return 0; }
  url=$(head -n1 "$url_file" | tr -d '\r\n')
  [[ $url =~ ^https?://[^[:space:]\"\\]+$ ]] || { warn "notify/webhook_url is not an http(s) URL: notification not sent"; return 0; }
  payload=$(jq -cn --arg text "[$(hostname)] $text" '{text: $text}') || return 0
  printf 'url = "%s"\n' "$url" | curl -sS -o /dev/null -m 10 --retry 2 -K - \
    -H 'Content-Type: application/json' --data-binary "$payload" 2>/dev/null \
    || warn "webhook notification failed (ignored)"
  return 0
}
