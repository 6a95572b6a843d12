# shellcheck shell=bash
#/ Usage: source move-lib.sh   (from bin/move-export, bin/move-import, bin/move-forward; running it only prints this)
#/
#/ Helpers of a move between targets (docs/move.md): the uploads bucket copied through
#/ the backup remote's credentials, the job queue key by key, sequence values, digests of
#/ lasting secrets, host:port addresses. The request holder of the write freeze is in
#/ lib/hold.sh (bin/deploy holds requests with it too).
# Variables set here are read by the scripts that source this file:
# shellcheck disable=SC2034
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# Where rclone sees a local path: the host path itself, or /work inside the rclone container.
ft_move_path() {
  if [[ $RCLONE_MODE == host ]]; then printf '%s' "$1"; else printf '/work/%s' "${1#"$WORK"/}"; fi
}

# rclone with the backup remote's config and the move's work directory at /work (container mode:
# in ft_move_tools_keep's container while it runs, with the config it mounted or one in the work
# directory, which it sees under /work). No stdin (no -i): none of its commands reads one, and
# `docker run -i` would read the caller's.
ft_move_rclone() {
  if [[ $RCLONE_MODE == host ]]; then
    rclone --config "$RCLONE_CONF" "$@" </dev/null
  elif [[ -n ${FT_MOVE_RCLONE_KEPT:-} && $RCLONE_CONF == "$FT_MOVE_RCLONE_KEPT_CONF" ]]; then
    docker exec "$FT_MOVE_RCLONE_KEPT" rclone --config /config/rclone/rclone.conf "$@"
  elif [[ -n ${FT_MOVE_RCLONE_KEPT:-} && $RCLONE_CONF == "$WORK"/* ]]; then
    docker exec "$FT_MOVE_RCLONE_KEPT" rclone --config "$(ft_move_path "$RCLONE_CONF")" "$@"
  else
    docker run --rm --network "$(ft_db_network)" -v "$RCLONE_CONF:/config/rclone/rclone.conf:ro" -v "$WORK:/work" \
      "$(ft_move_rclone_image)" --config /config/rclone/rclone.conf "$@"
  fi
}

# The rclone image of the release.
ft_move_rclone_image() { rj '.images.rclone // "rclone/rclone:1.71.1"'; }

# ft_move_tools_keep: the PostgreSQL clients (ft_db_tool_keep) and rclone each run in one
# container for the rest of this run, <project>-move-db and <project>-move-rclone, not in a
# container per call (the write freeze's copy makes about ten calls). rclone's serves the config
# it mounted and the one ft_move_s3_credential writes into the work directory (a move through
# aws S3). Needs WORK, RCLONE_CONF and the database connection; ft_move_tools_drop (on exit)
# removes both.
ft_move_tools_keep() {
  ft_db_tool_keep "$FT_PROJECT-move-db"
  [[ $RCLONE_MODE != host && -z ${FT_MOVE_RCLONE_KEPT:-} ]] || return 0
  local name=$FT_PROJECT-move-rclone
  if ft_util_keep_container "$name" --network "$(ft_db_network)" -v "$RCLONE_CONF:/config/rclone/rclone.conf:ro" \
    -v "$WORK:/work" "$(ft_move_rclone_image)"; then
    FT_MOVE_RCLONE_KEPT=$name
    FT_MOVE_RCLONE_KEPT_CONF=$RCLONE_CONF
  else
    warn "could not start $name: each rclone call starts its own container"
  fi
}

ft_move_tools_drop() {
  ft_db_tool_drop
  ft_util_drop_container "${FT_MOVE_RCLONE_KEPT:-}"
  FT_MOVE_RCLONE_KEPT=
}

# The rclone remotes of a move through aws S3 (sections ft_move_s3_credential adds to the work
# directory's rclone config): a backups bucket (its move/ prefix) and an assets bucket.
FT_MOVE_S3_BACKUPS=ft-move-backups
FT_MOVE_S3_ASSETS=ft-move-assets

# ft_move_s3_credential NAME COMMAND HINT: the credential of a move through aws S3, one JSON object
# on stdin ({access_key_id, secret_access_key, region, backups_bucket, assets_bucket, kms_key_arn},
# optionally assets_region, default region), becomes the two remotes above in a copy of the backup
# remote's rclone config inside the work directory (0600 in 0700, removed on exit), which
# ft_move_rclone uses from then on (RCLONE_CONF): the key is in no argument, environment or log.
# FT_MOVE_S3_BACKUPS writes with SSE-KMS under kms_key_arn (reading such an object needs only
# kms:Decrypt, no header); FT_MOVE_S3_ASSETS without (the assets bucket's default encryption: the
# app reading the files has no right to that key). Neither creates a bucket. With
# FT_MOVE_S3_ENDPOINT the provider is "Other": rclone's AWS provider always uses virtual-host
# style (bucket.<endpoint>), which an S3 stand-in at an address cannot serve. Sets
# S3_BACKUPS_BUCKET, S3_ASSETS_BUCKET, S3_KMS_KEY. A bad credential dies naming the fields (never
# their values), the credential NAME, the COMMAND it is piped into, and HINT about what it holds.
ft_move_s3_credential() {
  local name=$1 cmd=$2 hint=$3 cred=$WORK/s3-credential.json bad conf=$WORK/rclone.conf
  local endpoint=${FT_MOVE_S3_ENDPOINT:-}
  [[ -z $endpoint || $endpoint =~ ^https?://[A-Za-z0-9.:-]+/?$ ]] || die "FT_MOVE_S3_ENDPOINT '$endpoint' is not an http(s) URL"
  head -c 65536 >"$cred"
  jq -e 'type == "object"' "$cred" >/dev/null 2>&1 ||
    die "stdin is not one JSON object: pipe the $name {access_key_id, secret_access_key, region, backups_bucket, assets_bucket, kms_key_arn} into $cmd"
  bad=$(jq -r 'def check($k; $re): if (.[$k] | type) == "string" and (.[$k] | test($re)) then empty else $k end;
    [check("access_key_id"; "^[A-Z0-9]{16,128}$"), check("secret_access_key"; "^[A-Za-z0-9/+=]{16,128}$"),
     check("region"; "^[a-z]{2}(-[a-z]+)+-[0-9]+$"),
     check("backups_bucket"; "^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$"), check("assets_bucket"; "^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$"),
     check("kms_key_arn"; "^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:(key|alias)/[A-Za-z0-9/_-]+$"),
     (if has("assets_region") then check("assets_region"; "^[a-z]{2}(-[a-z]+)+-[0-9]+$") else empty end)] | join(", ")' "$cred")
  [[ -z $bad ]] || die "the $name on stdin has missing or malformed fields: $bad ($hint)"
  S3_BACKUPS_BUCKET=$(jq -r .backups_bucket "$cred")
  S3_ASSETS_BUCKET=$(jq -r .assets_bucket "$cred")
  S3_KMS_KEY=$(jq -r .kms_key_arn "$cred")
  cp "$RCLONE_CONF" "$conf"
  chmod 0600 "$conf"
  jq -r --arg backups "$FT_MOVE_S3_BACKUPS" --arg assets "$FT_MOVE_S3_ASSETS" --arg endpoint "$endpoint" '
    def remote($name; $region): "\n[\($name)]\ntype = s3\nenv_auth = false\naccess_key_id = \(.access_key_id)\n"
      + "secret_access_key = \(.secret_access_key)\nregion = \($region)\nno_check_bucket = true\n"
      + (if $endpoint == "" then "provider = AWS\n" else "provider = Other\nendpoint = \($endpoint)\nforce_path_style = true\n" end);
    remote($backups; .region) + "server_side_encryption = aws:kms\nsse_kms_key_id = \(.kms_key_arn)\nno_head = true\n"
      + remote($assets; .assets_region // .region)' "$cred" >>"$conf"
  rm -f "$cred"
  RCLONE_CONF=$conf
}

# ft_move_objects_listing REMOTE:BUCKET: one JSON line [md5, size, path] per object, sorted
# (LC_ALL=C): what a side's uploads bucket holds. Both sides of a move compare these, so that
# only what the importing side lacks travels. md5 is "" where the store does not know it (the
# ETag of a multipart upload is no MD5): such an object always travels. --fast-list for the
# reason bin/backup gives (a per-directory listing of the S3 stand-in misses prefixes).
ft_move_objects_listing() {
  ft_move_rclone lsjson -R --files-only --fast-list --hash-type MD5 "$1" |
    jq -c '.[] | [(.Hashes.md5 // ""), .Size, .Path]' | LC_ALL=C sort
}

# ft_move_listing_paths FILE: the paths of an objects listing, one per line (rclone's --files-from-raw).
ft_move_listing_paths() { jq -r '.[2]' "$1"; }

# ft_move_listing_size FILE: "COUNT BYTES" of an objects listing.
ft_move_listing_size() { jq -s -r '"\(length) \(map(.[1]) | add // 0)"' "$1"; }

# The job queue (BullMQ in Redis: jobs waiting, delayed or repeated; the app relies on it
# persisting) travels with the database as redis's append-only files. These three find it.
# The id of this side's running redis container, or nothing.
ft_move_redis_id() {
  local ids
  ids=$(ft_compose_service_ids redis)
  printf '%s' "${ids%%$'\n'*}"
}

# The host directory behind /data of redis container $1 (its volume).
ft_move_redis_data_dir() {
  docker inspect -f '{{json .Mounts}}' "$1" | jq -r '.[] | select(.Destination == "/data") | .Source'
}

# {"keys": N, "expires": M} of redis container $1, all databases (INFO keyspace).
ft_move_queue_size() {
  ft_redis_cli "$1" "INFO keyspace" |
    awk -F'[:=,]' '/^db[0-9]+:/ { k += $3; e += $5 } END { printf "{\"keys\": %d, \"expires\": %d}\n", k, e }'
}

# The job queue key by key, for a move with aws on one side (ElastiCache neither hands over nor
# loads a server's files). The aws tasks' queue containers read and write the same files
# (components/aws/move-queue.ts): queue.redis (valkey-cli input, a RESTORE per key) and queue.txt
# (`KEYS EXPIRES FROZEN`, FROZEN true when taken inside a write freeze).
# ft_move_queue_dump ID DIR FROZEN: move/queue-dump.lua run page by page in redis container ID
# writes both into DIR.
ft_move_queue_dump() {
  local id=$1 dir=$2 frozen=$3 extra cursor=0 line keys expires bad
  extra=$(ft_redis_cli "$id" "INFO keyspace" | awk -F: '/^db[0-9]+:/ && $1 != "db0" { print $1 }') ||
    die "redis accepts none of this side's redis passwords: the job queue cannot be read"
  [[ -z $extra ]] ||
    die "redis holds keys outside database 0 ($(echo "$extra" | tr '\n' ' ')), which the app does not use and which would not travel: look at them (valkey-cli -n N), remove them, run this again"
  rm -f "$dir/queue.redis" "$dir/queue.txt"
  : >"$dir/.queue.pages"
  line=$(ft_move_queue_dump_command)
  while :; do
    ft_redis_cli_from "$id" printf '%s %s %s\n' "$line" "$cursor" "$FT_MOVE_QUEUE_PAGE" >"$dir/.queue.out" ||
      die "redis accepts none of this side's redis passwords: the job queue cannot be read"
    read -r cursor <"$dir/.queue.out" || die "redis gave no reply to the job queue's dump"
    [[ $cursor =~ ^[0-9]+$ ]] || die "the job queue's dump failed: $(head -c 300 "$dir/.queue.out")"
    tail -n +2 "$dir/.queue.out" >>"$dir/.queue.pages"
    [[ $cursor != 0 ]] || break
  done
  # SCAN may return a key twice (a rehash between pages): its first copy stays.
  awk '!seen[$2]++' "$dir/.queue.pages" >"$dir/queue.redis"
  rm -f "$dir/.queue.out" "$dir/.queue.pages"
  bad=$(grep -cv '^RESTORE "[^" ]*" [0-9][0-9]* "[^" ]*" REPLACE$' "$dir/queue.redis" || true)
  [[ $bad -eq 0 ]] || die "the job queue's dump is malformed: $bad lines are not a RESTORE"
  keys=$(wc -l <"$dir/queue.redis")
  expires=$(awk '$3 != 0' "$dir/queue.redis" | wc -l)
  printf '%s %s %s\n' "$keys" "$expires" "$frozen" >"$dir/queue.txt"
  log "job queue: $keys keys, $expires of them with a TTL ($(wc -c <"$dir/queue.redis") bytes)"
}

# Keys a page of the dump reads (SCAN's COUNT; QUEUE_PAGE_KEYS in components/aws/move-queue.ts).
FT_MOVE_QUEUE_PAGE=1000

# The EVAL line that runs move/queue-dump.lua, without its two arguments (the SCAN cursor and
# FT_MOVE_QUEUE_PAGE): comment lines dropped, lines joined by a space, what queueDumpCommand in
# components/aws/move-queue.ts makes of the same file.
ft_move_queue_dump_command() {
  local lua=$SCRIPT_RELEASE_DIR/move/queue-dump.lua
  # Without the file the line would be an empty script, and every page of the dump empty.
  [[ -s $lua ]] || die "$lua is missing: this release cannot copy the job queue (bin/deploy puts it back)"
  printf 'EVAL "%s" 0\n' "$(grep -v '^[[:space:]]*--' "$lua" | tr '\n' ' ')"
}

# {"keys", "expires", "frozen"} from a queue.txt of KEYS EXPIRES FROZEN; 1 when it is not that.
ft_move_queue_counts_json() {
  local keys expires frozen
  read -r keys expires frozen <"$1" || true
  [[ $keys =~ ^[0-9]+$ && $expires =~ ^[0-9]+$ && $frozen =~ ^(true|false)$ ]] || return 1
  jq -cn --argjson k "$keys" --argjson e "$expires" --argjson f "$frozen" '{keys: $k, expires: $e, frozen: $f}'
}

# ft_move_queue_load ID FILE KEYS: redis container ID is emptied and loads FILE (queue.redis of
# KEYS keys). No app may run here meanwhile: what it queued would go.
ft_move_queue_load() {
  local id=$1 file=$2 keys=$3 replies n ok
  replies=$(ft_redis_cli_from "$id" ft_move_queue_feed "$file") ||
    die "redis accepts none of this side's redis passwords: the old side's job queue cannot be loaded"
  n=$(grep -c . <<<"$replies" || true)
  ok=$(grep -cx OK <<<"$replies" || true)
  [[ $n -eq $((keys + 1)) && $ok -eq $n ]] ||
    die "redis refused some of the old side's job queue ($ok of $n replies OK): $(grep -vx OK <<<"$replies" | head -n 3)"
}
ft_move_queue_feed() {
  echo FLUSHALL
  cat "$1"
}

# sha256 of a secret file under APP_DIR/secrets (the digest only: the value never leaves the file).
ft_move_secret_digest() {
  local f=$SECRETS_DIR/$1
  [[ -s $f ]] || { printf 'missing'; return 0; }
  sha256sum <"$f" | cut -c1-64
}

# "schema.seq last_value true|false" lines -> {"schema.seq": [last_value, is_called]} (the name
# is everything before the last two fields: a quoted name may hold spaces).
ft_move_sequences_json() {
  jq -R -n '[inputs | select(length > 0) | capture("^(?<k>.+) (?<v>-?[0-9]+) (?<c>true|false)$") | {key: .k, value: [(.v | tonumber), (.c == "true")]}] | from_entries'
}

# {"schema.seq": [last_value, is_called]} from the setval lines of `pg_restore --data-only -f -`.
ft_move_dump_sequences() { ft_move_dump_sequence_lines | ft_move_sequences_json; }

# The same for a live database.
FT_SEQUENCES_SQL="SELECT format('%I.%I', schemaname, sequencename) || ' ' || coalesce(last_value, (SELECT s.seqstart FROM pg_sequence s
  WHERE s.seqrelid = format('%I.%I', schemaname, sequencename)::regclass)) || ' ' || (last_value IS NOT NULL)::text
  FROM pg_sequences ORDER BY 1"
ft_move_db_sequences() { ft_db_query "$1" "$FT_SEQUENCES_SQL" | ft_move_sequences_json; }

# "schema.seq last_value true|false" lines, LC_ALL=C sorted, from the setval lines of
# `pg_restore --data-only -f -`: the same values as ft_move_dump_sequences, as text (no JSON
# number in between, so a bigint keeps every digit). move-export --push-s3 uploads them.
ft_move_dump_sequence_lines() {
  # pg_dump doubles a quote inside the name's literal ('a''b'): matched as such, then undone.
  sed -n "s/^SELECT pg_catalog.setval('\\(\\([^']\\|''\\)*\\)', \\([0-9-]*\\), \\(true\\|false\\));\$/\\1 \\3 \\4/p" | sed "s/''/'/g" | LC_ALL=C sort
}

# ADDRESS with PORT, as a URL and a dial address need it: an IPv6 literal in brackets
# ([2001:db8::20]:443; without them a URL parser takes its last group for the port); an address
# that already names its port (name:8443, [2001:db8::20]:8443) is kept as it is.
ft_move_hostport() {
  local address=$1 port=$2
  case $address in
    \[*\]:*) printf '%s' "$address" ;;
    \[*\]) printf '%s:%s' "$address" "$port" ;;
    *:*:*) printf '[%s]:%s' "$address" "$port" ;;
    *:*) printf '%s' "$address" ;;
    *) printf '%s:%s' "$address" "$port" ;;
  esac
}

# Run directly instead of sourced: only print the usage.
if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
  ft_cli_usage
  exit 0
fi
