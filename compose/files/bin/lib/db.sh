# shellcheck shell=bash
# db: PostgreSQL client access for backup, restore, preflight and the move, as the admin
# release.json .database names.
# Seam for tests and for hosts without Docker (the ONLY difference from production):
#   FT_PG_BIN=<dir>   run pg_dump/pg_restore/psql from <dir> on the host instead of a
#                     container of the release's postgres image (client version = server's).
# Both paths get the same arguments and stream through stdin/stdout.
# Variables set here are read by the files and commands that source lib.sh:
# shellcheck disable=SC2034

# Sets the connection from release.json .database (PGHOST, PGPORT, PGUSER, PGSSLMODE, DB_NAME,
# ADMIN_DB); the password only ever comes from secrets/backup/pgpass.
# .database.sslrootcert (digitalocean: the cluster CA in the release, with sslmode verify-full)
# is what the server certificate is verified against.
ft_db_connection() {
  PGHOST=$(rj '.database.host // "postgres"')
  PGPORT=$(rj '.database.port // 5432')
  PGUSER=$(rj '.database.admin_user // "postgres"')
  PGSSLMODE=$(rj '.database.sslmode // "prefer"')
  DB_NAME=$(rj '.database.name // "frostguard"')
  ADMIN_DB=$(rj '.database.admin_db // "postgres"')
  PGPASSFILE_HOST=$SECRETS_DIR/backup/pgpass
  PG_CA_HOST=$(rj '.database.sslrootcert // empty')
  export PGHOST PGPORT PGUSER PGSSLMODE PGCONNECT_TIMEOUT=10
  [[ -s $PGPASSFILE_HOST ]] || die "$PGPASSFILE_HOST is missing or empty"
  if [[ -n $PG_CA_HOST ]]; then
    PG_CA_HOST=$REL_DIR/$PG_CA_HOST
    [[ -s $PG_CA_HOST ]] || die "$PG_CA_HOST (release.json .database.sslrootcert) is missing or empty"
  fi
}

# Network for helper containers (PostgreSQL clients, rclone): release.json .database.network,
# else the database container's first network (vm), else the default bridge (digitalocean:
# managed DB).
ft_db_network() {
  local net id
  net=$(rj '.database.network // empty')
  # A managed database (no service) is reachable from any network: before the first deploy
  # has created the project's network (bin/preflight), the default bridge reaches it.
  if [[ -n $net && -z $(rj '.database.service // empty') ]] && ! docker network inspect "$net" >/dev/null 2>&1; then net=bridge; fi
  if [[ -z $net ]]; then
    id=$(compose ps -q "$(rj '.database.service // "postgres"')" 2>/dev/null | head -n1 || true)
    [[ -n $id ]] && net=$(docker inspect -f '{{range $k, $v := .NetworkSettings.Networks}}{{println $k}}{{end}}' "$id" | head -n1)
  fi
  printf '%s' "${net:-bridge}"
}

# The image the PostgreSQL clients run from: release.json .images.postgres, else db-setup's.
ft_db_image() {
  local img
  img=$(rj '.images.postgres // .images["db-setup"] // empty')
  [[ -n $img ]] || img=$(compose config --format json | jq -r '.services["db-setup"].image // empty')
  [[ -n $img ]] || die "release.json has no images.postgres and no db-setup service"
  printf '%s' "$img"
}

# ft_db_tool TOOL ARGS...: a PostgreSQL client tool; stdin/stdout pass through.
ft_db_tool() {
  local tool=$1
  shift
  local ca=()
  if [[ -n ${FT_PG_BIN:-} ]]; then
    [[ -z ${PG_CA_HOST:-} ]] || ca=(PGSSLROOTCERT="$PG_CA_HOST")
    env PGPASSFILE="$PGPASSFILE_HOST" "${ca[@]}" "$FT_PG_BIN/$tool" "$@"
  elif [[ -n ${FT_DB_TOOL_KEPT:-} ]]; then
    [[ -z ${PG_CA_HOST:-} ]] || ca=(-e PGSSLROOTCERT=/run/ft/db-ca.crt)
    docker exec -i -e PGHOST -e PGPORT -e PGUSER -e PGSSLMODE -e PGCONNECT_TIMEOUT -e PGPASSFILE=/run/ft/pgpass "${ca[@]}" \
      "$FT_DB_TOOL_KEPT" "$tool" "$@"
  else
    [[ -z ${PG_CA_HOST:-} ]] || ca=(-e PGSSLROOTCERT=/run/ft/db-ca.crt -v "$PG_CA_HOST:/run/ft/db-ca.crt:ro")
    docker run --rm -i --network "$(ft_db_network)" --user 0 --entrypoint "$tool" \
      -e PGHOST -e PGPORT -e PGUSER -e PGSSLMODE -e PGCONNECT_TIMEOUT -e PGPASSFILE=/run/ft/pgpass "${ca[@]}" \
      -v "$PGPASSFILE_HOST:/run/ft/pgpass:ro" "$(ft_db_image)" "$@"
  fi
}

# ft_db_tool_keep NAME: until ft_db_tool_drop, ft_db_tool runs its programs in one container,
# NAME, with the same image, network, user and mounts (ft_util_keep_container), instead of a
# container per call: a move's write freeze makes about five calls. If it cannot start, every
# call starts its own container, as without it.
ft_db_tool_keep() {
  [[ -z ${FT_PG_BIN:-} && -z ${FT_DB_TOOL_KEPT:-} ]] || return 0
  local ca=()
  [[ -z ${PG_CA_HOST:-} ]] || ca=(-v "$PG_CA_HOST:/run/ft/db-ca.crt:ro")
  if ft_util_keep_container "$1" --network "$(ft_db_network)" --user 0 -v "$PGPASSFILE_HOST:/run/ft/pgpass:ro" "${ca[@]}" \
    "$(ft_db_image)"; then
    FT_DB_TOOL_KEPT=$1
  else
    warn "could not start $1 for the PostgreSQL clients: each call starts its own container"
  fi
}

# ft_db_tool_drop: removes ft_db_tool_keep's container.
ft_db_tool_drop() {
  ft_util_drop_container "${FT_DB_TOOL_KEPT:-}"
  FT_DB_TOOL_KEPT=
}

# ft_db_query DB SQL: psql as the admin on database DB, tuples-only unaligned output,
# stops on the first error.
ft_db_query() { ft_db_tool psql -X -q -At -v ON_ERROR_STOP=1 -d "$1" -c "$2"; }

# "schema.table count" for every ordinary table, as pg_dump sees them: partitions counted as
# their leaves, tables that belong to an extension left out (their rows come from the extension).
FT_COUNT_SQL="SELECT format('%I.%I', n.nspname, c.relname) || ' ' ||
  (xpath('/row/c/text()', query_to_xml(format('SELECT count(*) AS c FROM %I.%I', n.nspname, c.relname), false, true, '')))[1]::text
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'
    AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
  ORDER BY 1"

# "table count" lines -> {"table": count} JSON. The count is after the LAST space: a quoted
# table name may hold spaces.
ft_db_counts_json() { jq -R -n '[inputs | select(length > 0) | capture("^(?<k>.+) (?<v>[0-9]+)$") | {key: .k, value: (.v | tonumber)}] | from_entries'; }

# "table count" lines from `pg_restore --data-only -f -` on stdin: the rows of each COPY block,
# named as its COPY line names the table (schema.table, quoted where needed, as format('%I.%I')
# does): up to the first space outside double quotes, since a quoted name may hold spaces.
ft_db_dump_counts() {
  awk 'function copy_name(s,   i, c, quoted, out) {
         for (i = 1; i <= length(s); i++) {
           c = substr(s, i, 1)
           if (c == "\"") quoted = !quoted
           else if (c == " " && !quoted) break
           out = out c
         }
         return out
       }
       /^COPY / { t = copy_name(substr($0, 6)); n = 0; inside = 1; next }
       inside && /^\\\.$/ { print t, n; inside = 0; next }
       inside { n++ }'
}
