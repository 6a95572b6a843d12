# shellcheck shell=bash
# log: the commands' messages on stderr, their preconditions, and the files under
# state/logs that keep job and container output off the command's own output (the push
# records that output in Pulumi state). log, warn, die and need keep their short names.

# The command's name in every message.
FT_CMD=$(basename "$0")

# One message line on stderr: "<utc time> <command>: <text>".
log() { printf '%s %s: %s\n' "$(date -u +%H:%M:%S)" "$FT_CMD" "$*" >&2; }

# A warning message; the command goes on.
warn() { log "WARNING: $*"; }

# Logs the error and exits 1.
die() { log "ERROR: $*"; exit 1; }

# Dies unless command $1 is installed.
need() { command -v "$1" >/dev/null 2>&1 || die "$1 is required but not installed"; }

# Prints the path of a new log file state/logs/<utc time>-$1.log; files older than 30 days go.
ft_log_file() {
  local dir=$STATE_DIR/logs
  install -d -m 0700 "$dir"
  find "$dir" -maxdepth 1 -name '*.log' -mtime +30 -delete 2>/dev/null || true
  printf '%s/%s-%s.log' "$dir" "$(date -u +%Y%m%dT%H%M%SZ)" "$1"
}

# ft_log_outlive NAME: the command outlives the connection that started it. Run over SSH by the
# deploying machine, its output is a pipe to sshd: once that connection is gone (a laptop
# asleep, a cut network, an interrupted pulumi up), the next message would kill it with SIGPIPE
# half-way, and bash would run its EXIT trap as a success (a freeze never ended, a failed
# deploy never restored). From here on stdout and stderr go through `tee -p`, which writes
# state/logs/<utc time>-NAME-<pid>.log (0600) and keeps writing it when the pipe breaks, and a
# hang-up is ignored: the command finishes, or undoes itself, on its own. Its output reaches
# the caller as before, while the caller is there. Exports FT_LOG_OUTLIVE_FILE (a lock's holder
# record names it); a command run by one that already does this writes into the same tee.
ft_log_outlive() {
  [[ -z ${FT_LOG_OUTLIVE_FILE:-} ]] || { trap '' HUP; return 0; }
  FT_LOG_OUTLIVE_FILE=$(ft_log_file "$1-$$")
  export FT_LOG_OUTLIVE_FILE
  (umask 077 && : >>"$FT_LOG_OUTLIVE_FILE")
  exec > >(tee -p -a "$FT_LOG_OUTLIVE_FILE") 2> >(tee -p -a "$FT_LOG_OUTLIVE_FILE" >&2)
  trap '' HUP
}

# Container logs stay on the host, never in a command's output (which the push records
# in Pulumi state): writes the last lines of container $1 (service $2) to
# state/logs/<utc time>-<service>-<id>.log (root, 0600) and prints that path.
ft_log_container() {
  local id=$1 svc=$2 file
  file=$(ft_log_file "$svc-${id:0:12}")
  (umask 077 && docker logs --tail "${FT_LOG_LINES:-200}" "$id" >"$file" 2>&1) || true
  printf '%s' "$file"
}

# ft_log_run NAME CMD...: runs a one-shot job's command CMD with its output (the container's logs) going to
# state/logs/<utc time>-<name>.log instead of this command's output. On failure logs
# where to read it; returns the job's exit code.
ft_log_run() {
  local name=$1 file rc=0
  shift
  file=$(ft_log_file "$name")
  (umask 077 && "$@" >"$file" 2>&1) || rc=$?
  if [[ $rc -ne 0 ]]; then log "$name failed (exit $rc); its output is on this host in $file"; fi
  return "$rc"
}
