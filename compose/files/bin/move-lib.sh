# shellcheck shell=bash
#/ Usage: source move-lib.sh   (from bin/move-export and bin/move-import; running it only prints this)
#/
#/ Helpers of a move between targets (docs/move.md): the uploads bucket copied through
#/ the backup remote's credentials, sequence values, digests of lasting secrets.
# Variables set here are read by the scripts that source this file:
# shellcheck disable=SC2034
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# Where rclone sees a local path: the host path itself, or /work inside the rclone container.
ft_move_path() {
  if [[ $RCLONE_MODE == host ]]; then printf '%s' "$1"; else printf '/work/%s' "${1#"$WORK"/}"; fi
}

# rclone with the backup remote's config and the move's work directory at /work (container mode).
ft_move_rclone() {
  if [[ $RCLONE_MODE == host ]]; then
    rclone --config "$RCLONE_CONF" "$@"
  else
    docker run --rm -i --network "$(ft_db_network)" -v "$RCLONE_CONF:/config/rclone/rclone.conf:ro" -v "$WORK:/work" \
      "$(rj '.images.rclone // "rclone/rclone:1.71.1"')" --config /config/rclone/rclone.conf "$@"
  fi
}

# sha256 of a secret file under APP_DIR/secrets (the digest only: the value never leaves the file).
ft_move_secret_digest() {
  local f=$SECRETS_DIR/$1
  [[ -s $f ]] || { printf 'missing'; return 0; }
  sha256sum <"$f" | cut -c1-64
}

# {"schema.seq": [last_value, is_called]} from the setval lines of `pg_restore --data-only -f -`.
ft_move_dump_sequences() {
  sed -n "s/^SELECT pg_catalog.setval('\\([^']*\\)', \\([0-9-]*\\), \\(true\\|false\\));\$/\\1 \\2 \\3/p" |
    jq -R -n '[inputs | select(length > 0) | split(" ") | {key: .[0], value: [(.[1] | tonumber), (.[2] == "true")]}] | from_entries'
}

# The same for a live database.
FT_SEQUENCES_SQL="SELECT format('%I.%I', schemaname, sequencename) || ' ' || coalesce(last_value, (SELECT s.seqstart FROM pg_sequence s
  WHERE s.seqrelid = format('%I.%I', schemaname, sequencename)::regclass)) || ' ' || (last_value IS NOT NULL)::text
  FROM pg_sequences ORDER BY 1"
ft_move_db_sequences() {
  ft_db_query "$1" "$FT_SEQUENCES_SQL" | jq -R -n '[inputs | select(length > 0) | split(" ") | {key: .[0], value: [(.[1] | tonumber), (.[2] == "true")]}] | from_entries'
}

# Run directly instead of sourced: only print the usage.
if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
  ft_cli_usage
  exit 0
fi
