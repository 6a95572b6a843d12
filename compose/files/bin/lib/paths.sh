# shellcheck shell=bash
# paths: where this release, APP_DIR and its state live on the host (docs/design.md
# "Host layout").
# Variables set here are read by the files and commands that source lib.sh:
# shellcheck disable=SC2034

# <APP_DIR>/releases/<id>/bin/lib/paths.sh: the physical path gives both the release and
# APP_DIR (FT_APP_DIR overrides APP_DIR). Also resolves the secrets directory (secrets.sh)
# and exports what the Compose files interpolate: FT_APP_DIR, FT_SECRETS_DIR, FT_DOCKER_GID.
ft_paths_resolve() {
  local self_dir
  self_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
  SCRIPT_RELEASE_DIR=$(dirname "$self_dir")
  APP_DIR=${FT_APP_DIR:-$(dirname "$(dirname "$SCRIPT_RELEASE_DIR")")}
  STATE_DIR=$APP_DIR/state
  METRICS_DIR=$APP_DIR/metrics
  ft_secrets_resolve
  export FT_APP_DIR=$APP_DIR FT_SECRETS_DIR=$SECRETS_DIR
  # The observability profile's socket proxy runs as nobody in the host's docker group.
  FT_DOCKER_GID=$(stat -c %g /var/run/docker.sock 2>/dev/null || echo 65534)
  export FT_DOCKER_GID
}

# A new private directory state/tmp/$1.XXXXXX on the APP_DIR disk (dumps can be large;
# /tmp may be a small tmpfs); prints its path.
ft_paths_tmpdir() {
  mkdir -p "$STATE_DIR/tmp"
  chmod 0700 "$STATE_DIR/tmp"
  mktemp -d "$STATE_DIR/tmp/$1.XXXXXX"
}
