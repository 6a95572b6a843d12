# shellcheck shell=bash
# audit: the audit trail, one JSON line per action in state/audit.log (docs/design.md
# "Host layout"; never a secret).

# Who runs the command: the sudo caller, else the user name (uid<n> without one).
ft_audit_user() { printf '%s' "${SUDO_USER:-$(id -un 2>/dev/null || echo "uid$(id -u)")}"; }

# ft_audit ACTION RELEASE RESULT DURATION [EXTRA]: appends one line; EXTRA is a JSON
# object merged in (no secrets).
ft_audit() {
  local action=$1 release=$2 result=$3 duration=$4 extra=${5:-'{}'}
  mkdir -p "$STATE_DIR"
  jq -cn --arg time "$(date -u +%Y-%m-%dT%H:%M:%SZ)" --arg action "$action" --arg release "$release" \
    --arg user "$(ft_audit_user)" --arg host "$(hostname)" --arg result "$result" --argjson duration "$duration" \
    --argjson extra "$extra" \
    '{time: $time, action: $action, release: $release, user: $user, host: $host, result: $result, duration: $duration} + $extra' \
    >>"$STATE_DIR/audit.log"
}
