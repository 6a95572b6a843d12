#!/usr/bin/env bash
# Usage: scripts/lib-rename.sh [--print-map] FILE...
# Renames the on-host helpers of compose/files/bin/lib.sh to the one naming scheme of
# bin/lib/ (docs/host-commands.md "Helpers"), in place: `ft_<job>_<what>`, <job> being
# the file under bin/lib/ that defines the function. For a branch that still calls the
# old names; scripts/lib-split-check.sh uses the same map to compare old and new bodies.
# Identifiers are replaced as whole words everywhere; `audit` and `notify`, which are also
# English words, only where a shell command starts (never in a comment or a string).
set -euo pipefail

# old new (one pair a line; log, warn, die, need, rj and compose keep their names)
MAP='
ft_save_container_logs ft_log_container
ft_run_logged ft_log_run
ft_usage ft_cli_usage
ft_help_if_asked ft_cli_help
ft_in_list ft_util_in_list
ft_since ft_util_since
ft_resolve_dirs ft_paths_resolve
ft_tmpdir ft_paths_tmpdir
ft_use_release ft_release_use
ft_resolve_secrets_dir ft_secrets_resolve
ft_generation_of ft_secrets_generation_of
ft_digest_var ft_secrets_digest_var
ft_service_secret_digest ft_secrets_service_digest
ft_render_secret_digests ft_secrets_render_digests
ft_load_secret_digests_from ft_secrets_load_digests_from
ft_load_secret_digests ft_secrets_load_digests
ft_user ft_audit_user
lock_acquire ft_lock_acquire
lock_release ft_lock_release
ft_build_compose ft_compose_build
compose_base ft_compose_base
ft_service_ids ft_compose_service_ids
ft_container_state ft_compose_container_state
ft_stage_live ft_live_stage
ft_slot_name ft_proxy_slot_name
ft_other_slot ft_proxy_other_slot
ft_take_slot ft_proxy_take_slot
ft_pg_setup ft_db_connection
ft_network ft_db_network
ft_postgres_image ft_db_image
pg_tool ft_db_tool
psql_at ft_db_query
ft_counts_json ft_db_counts_json
rclone_tool ft_objectstore_rclone
uploads_listing ft_objectstore_listing
ft_ensure_buckets ft_objectstore_ensure_buckets
ft_age_encrypt ft_backup_encrypt
ft_age_decrypt ft_backup_decrypt
ft_decrypt_legacy ft_backup_decrypt_legacy
ft_write_metrics ft_metrics_write
ft_secret_digest ft_move_secret_digest
ft_dump_sequences ft_move_dump_sequences
ft_db_sequences ft_move_db_sequences
'
# Called where a command starts: at the line's start, after { ; || && then else do.
COMMANDS='audit ft_audit
notify ft_notify'

if [[ ${1:-} == --print-map ]]; then
  printf '%s\n' "$MAP" "$COMMANDS" | sed '/^$/d'
  exit 0
fi
[[ $# -gt 0 ]] || { sed -n '2,3s/^# //p' "$0" >&2; exit 64; }

prog=""
while read -r old new; do
  [[ -n $old ]] || continue
  prog+="s/\\b${old}\\b/${new}/g;"
done <<<"$MAP"
while read -r old new; do
  prog+="s/(^\\s*|[{;]\\s+|\\|\\|\\s+|&&\\s+|\\bthen\\s+|\\belse\\s+|\\bdo\\s+)${old}(?=\\s|\\(\\))/\${1}${new}/ unless /^\\s*#/;"
done <<<"$COMMANDS"
perl -pi -e "$prog" "$@"
