# shellcheck shell=bash
# objectstore: the S3 store through rclone with the backup remote's credentials
# (secrets/backup/rclone.conf, set up by ft_backup_setup): buckets, listings.
# Seam: FT_RCLONE=host runs the host's rclone instead of the rclone image (the default is
# release.json .backup.rclone, else "container": on vm the object store is only reachable
# inside the compose network). Same arguments, same stdin/stdout on both paths.

# Creates the buckets release.json .buckets lists when they are missing (vm: the app's
# assets bucket and the backups bucket). bin/backup never creates buckets (no_check_bucket:
# a typo must fail), so this is the one place they come into being, through the host
# store's admin identity (A_REMOTE, set by ft_backup_setup).
ft_objectstore_ensure_buckets() {
  local want have b
  want=$(rj '.buckets // [] | .[]')
  [[ -n $want ]] || return 0
  ft_backup_setup
  have=$(ft_objectstore_rclone lsf --dirs-only "$A_REMOTE:") || die "cannot list the object store's buckets"
  for b in $want; do
    if ft_util_in_list "${have//\//}" "$b"; then continue; fi
    log "object store: creating bucket $b"
    # The remote has no_check_bucket (bin/backup must never create one): override it here only.
    ft_objectstore_rclone mkdir --s3-no-check-bucket=false "$A_REMOTE:$b" || die "cannot create bucket $b on the object store"
  done
}

# ft_objectstore_rclone ARGS...: rclone with secrets/backup/rclone.conf; stdout passes through,
# stdin only to `rcat` (the one command here that reads it). `docker run -i` reads the caller's
# stdin whether rclone wants it or not: inside a `while read` loop it would take the loop's
# remaining lines (a restore's list of backups, retention's list of expired ones).
ft_objectstore_rclone() {
  if [[ $RCLONE_MODE == host ]]; then
    rclone --config "$RCLONE_CONF" "$@"
  else
    local stdin=()
    [[ $1 != rcat ]] || stdin=(-i)
    docker run --rm "${stdin[@]}" --network "$(ft_db_network)" -v "$RCLONE_CONF:/config/rclone/rclone.conf:ro" \
      "$(rj '.images.rclone // "rclone/rclone:1.71.1"')" --config /config/rclone/rclone.conf "$@"
  fi
}

# ft_objectstore_listing PATH [folder]: "<size> <path>" per object under rclone path PATH,
# sorted: what a backup's manifest counts of the uploads and the restore check compares
# (bin/backup, bin/restore). With "folder", a missing path is an empty listing (copying an
# empty bucket creates no folder); a missing bucket is always an error. --fast-list (one
# recursive listing) here and in every walk of the uploads: not every S3 server lists
# folders (common prefixes) level by level.
ft_objectstore_listing() {
  local out rc=0
  out=$(ft_objectstore_rclone lsjson -R --fast-list --files-only "$1") || rc=$?
  if [[ $rc -eq 3 && ${2:-} == folder ]]; then out='[]'; elif [[ $rc -ne 0 ]]; then return 1; fi
  jq -r '.[] | "\(.Size) \(.Path)"' <<<"$out" | LC_ALL=C sort
}
