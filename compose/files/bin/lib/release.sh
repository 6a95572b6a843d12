# shellcheck shell=bash
# release: the release a command acts on and its release.json (rj). rj keeps its short name.
# Variables set here are read by the files and commands that source lib.sh:
# shellcheck disable=SC2034

# Makes directory $1 the release this command acts on (REL_DIR, REL_ID) after checking its
# release.json, and builds its docker compose command line (compose.sh).
ft_release_use() {
  REL_DIR=$1
  [[ -f $REL_DIR/release.json ]] || die "no release.json in $REL_DIR"
  jq -e 'type == "object"' "$REL_DIR/release.json" >/dev/null || die "$REL_DIR/release.json is not a JSON object"
  REL_ID=$(basename "$REL_DIR")
  ft_compose_build
}

# jq query against the active release.json; prints raw values.
rj() { jq -r "$@" "$REL_DIR/release.json"; }
