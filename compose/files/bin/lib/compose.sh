# shellcheck shell=bash
# compose: docker compose for the active release, and the containers of its services.
# `compose` keeps its short name.
# Variables set here are read by the files and commands that source lib.sh:
# shellcheck disable=SC2034

# Always "freshtrack" on hosts (docs/design.md "Host layout"); FT_COMPOSE_PROJECT exists so
# tests can share a Docker engine.
FT_PROJECT=${FT_COMPOSE_PROJECT:-freshtrack}
# Service roles. Rolling services are scaled to 2 and swapped one by one (zero downtime);
# the recreated one (worker) is stopped and started again by Compose; jobs are one-shot
# `run --rm` containers; the edge (caddy) starts after the app; everything else is
# infrastructure, left to Compose's own config-hash comparison so it is recreated only
# when its own config changed.
FT_ROLLING_SERVICES="backend frontend"
FT_RECREATE_SERVICES="worker"
FT_JOB_SERVICES="db-setup migrate"
FT_EDGE_SERVICES="caddy"

# COMPOSE (and COMPOSE_BASE, the same without --profile), from release.json:
#   docker compose -p <project> --project-directory APP_DIR/live -f <files> --profile <p>
# The project directory is the stable APP_DIR/live (a copy of the release being
# deployed, see ft_live_stage), not releases/<id>: Compose hashes the absolute
# source path of every bind mount, so a per-release path would recreate caddy,
# redis, pgbouncer and postgres on every deploy. Content changes still recreate
# a service: each carries a `freshtrack.config` label with its files' digest.
ft_compose_build() {
  local f p
  LIVE_DIR=$APP_DIR/live
  COMPOSE=(docker compose -p "$FT_PROJECT" --project-directory "$LIVE_DIR")
  while IFS= read -r f; do
    [[ -n $f ]] || continue
    [[ $f != /* && $f != *..* ]] || die "release.json compose_files entry '$f' must be relative to the release"
    COMPOSE+=(-f "$REL_DIR/$f")
  done < <(rj '.compose_files[]?')
  [[ ${#COMPOSE[@]} -gt 5 ]] || die "release.json lists no compose_files"
  COMPOSE_BASE=("${COMPOSE[@]}")
  while IFS= read -r p; do
    [[ -n $p ]] && COMPOSE+=(--profile "$p")
  done < <(rj '.profiles[]?')
}

# docker compose for the active release, with its profiles.
compose() { "${COMPOSE[@]}" "$@"; }

# The same without --profile: the services every deploy has.
ft_compose_base() { "${COMPOSE_BASE[@]}" "$@"; }

# Running container ids of a service (docker ps by Compose labels: much faster than compose ps).
ft_compose_service_ids() {
  docker ps -q --no-trunc --filter "label=com.docker.compose.project=$FT_PROJECT" \
    --filter "label=com.docker.compose.service=$1" --filter "label=com.docker.compose.oneoff=False" 2>/dev/null || true
}

# Running container ids of the app itself, backend and worker: what a write freeze stops.
ft_compose_app_ids() {
  ft_compose_service_ids backend
  ft_compose_service_ids worker
}

# How long each of the given (stopped) containers took to stop, from Docker's own record of
# its exit (State.FinishedAt): one line "<name> <seconds since epoch $1> <exit code>" each.
# Docker stops several containers at once, so one timer around `docker stop` cannot tell
# which of them the wait was for.
ft_compose_stop_times() {
  local since=$1 name finished code
  shift
  docker inspect -f '{{.Name}} {{.State.FinishedAt}} {{.State.ExitCode}}' "$@" 2>/dev/null |
    while read -r name finished code; do
      finished=$(date -d "$finished" +%s.%N 2>/dev/null) || continue
      awk -v n="${name#/}" -v f="$finished" -v s="$since" -v c="$code" 'BEGIN { printf "%s %.1f %s\n", n, f - s, c }'
    done
}

# health|running|exited... of a container: health status when it has a healthcheck.
ft_compose_container_state() {
  docker inspect -f '{{if .State.Health}}{{.State.Health.Status}}{{else}}{{.State.Status}}{{end}}' "$1" 2>/dev/null || echo gone
}
