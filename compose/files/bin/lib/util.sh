# shellcheck shell=bash
# util: small helpers with no job of their own (lists of words, elapsed seconds, a container kept
# for many calls, a job run in the background).

# Succeeds when word $2 is one of the words of list $1 (space/newline separated).
ft_util_in_list() { local w; for w in $1; do [[ $w == "$2" ]] && return 0; done; return 1; }

# Prints the whole seconds elapsed since $1 (epoch seconds).
ft_util_since() { echo $(($(date +%s) - $1)); }

# ft_util_keep_container NAME DOCKER_RUN_ARGS... IMAGE: starts container NAME from IMAGE, idle, for
# many commands to run in with docker exec: on a small host each `docker run` costs about 0.7 s
# more than an exec. A container left under NAME is replaced. This one sleeps a day at most, so
# one that a killed run leaves behind goes by itself. Fails when it cannot start.
ft_util_keep_container() {
  local name=$1
  shift
  docker rm -f "$name" >/dev/null 2>&1 || true
  docker run -d --rm --name "$name" --entrypoint sleep "$@" 86400 >/dev/null
}

# ft_util_drop_container NAME: removes container NAME; nothing when NAME is empty. Never fails
# (an exit trap's job).
ft_util_drop_container() { [[ -z $1 ]] || docker rm -f "$1" >/dev/null 2>&1 || true; }

# ft_util_spawn FN ARGS...: runs FN in the background, beside what the caller does next (several
# may run until ft_util_join), its output on stderr (a caller's stdout may carry its result). A
# subshell: it hands results back in files, sets nothing an exit trap must undo, and its die ends
# only itself (ft_util_join returns its status).
ft_util_spawn() {
  "$@" >&2 &
  FT_UTIL_SPAWNED="${FT_UTIL_SPAWNED:-} $!"
}

# ft_util_join: waits for every ft_util_spawn job; returns 1 when any failed (0 when none was
# spawned). Each job's die has said why.
ft_util_join() {
  local pid rc=0
  for pid in ${FT_UTIL_SPAWNED:-}; do
    wait "$pid" || rc=1
  done
  FT_UTIL_SPAWNED=
  return "$rc"
}

# ft_util_unspawn: ends the ft_util_spawn jobs that still run, with the commands they run (an exit
# trap's job: never fails). Each is paused first, so that it starts no new command meanwhile.
ft_util_unspawn() {
  local pid
  for pid in ${FT_UTIL_SPAWNED:-}; do
    if kill -STOP "$pid" 2>/dev/null; then
      pkill -TERM -P "$pid" 2>/dev/null || true
      kill -TERM "$pid" 2>/dev/null || true
      kill -CONT "$pid" 2>/dev/null || true
    fi
  done
  for pid in ${FT_UTIL_SPAWNED:-}; do
    wait "$pid" 2>/dev/null || true
  done
  FT_UTIL_SPAWNED=
}
