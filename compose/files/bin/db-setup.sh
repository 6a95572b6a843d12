#!/bin/sh
#/ Usage: db-setup.sh
#/
#/ One-shot job run in a container of the postgres image (vm: against the postgres
#/ service; digitalocean: against the managed database). Waits for the server, then
#/ idempotently creates role "frostguard" (LOGIN, never superuser) and database
#/ "frostguard" owned by it, sets the role's password from a secret FILE and grants
#/ USAGE, CREATE on schema public (PostgreSQL 15+ no longer grants CREATE to PUBLIC).
#/ Also sets the role's statement_timeout (FT_APP_STATEMENT_TIMEOUT, default 30s): the app
#/ asks for it as a startup parameter, which PgBouncer must ignore, so the server applies
#/ it from the role instead (the app's node-postgres pool asks for statement_timeout 30000).
#/ The admin need not be a superuser: CREATEDB and CREATEROLE suffice (DigitalOcean's doadmin;
#/ tested against PostgreSQL 15 and 17), it grants itself membership in the app role to hand
#/ it the database.
#/
#/ Admin connection, first match wins (no secret ever in argv):
#/   $FT_ADMIN_DATABASE_URL_FILE (default /run/secrets/ADMIN_DATABASE_URL):
#/       postgres://user:pass@host:port/db?sslmode=...&sslrootcert=...  (percent-encoded),
#/       parsed into PGHOST/PGPORT/PGUSER/PGDATABASE/PGSSLMODE/PGSSLROOTCERT/PGPASSWORD
#/       (environment only)
#/   otherwise the libpq environment as given (PGHOST, PGUSER, PGPASSFILE, ...).
#/ App password file: $FT_APP_DB_PASSWORD_FILE (default /run/secrets/APP_DB_PASSWORD).
#/ Names: $FT_APP_DB_NAME, $FT_APP_DB_ROLE (default frostguard). Wait: $FT_WAIT_SECONDS (120).
set -eu

usage() { sed -n 's/^#\/ \{0,1\}//p' "$0"; }
case "${1:-}" in -h | --help) usage; exit 0 ;; esac

log() { echo "db-setup: $*" >&2; }
die() { log "ERROR: $*"; exit 1; }

ADMIN_URL_FILE=${FT_ADMIN_DATABASE_URL_FILE:-/run/secrets/ADMIN_DATABASE_URL}
APP_PW_FILE=${FT_APP_DB_PASSWORD_FILE:-/run/secrets/APP_DB_PASSWORD}
DB_NAME=${FT_APP_DB_NAME:-frostguard}
DB_ROLE=${FT_APP_DB_ROLE:-frostguard}
WAIT_SECONDS=${FT_WAIT_SECONDS:-120}
STATEMENT_TIMEOUT=${FT_APP_STATEMENT_TIMEOUT:-30s}

# %XX -> byte, POSIX printf only (busybox and dash); passwords are URL-encoded in the URL.
pct_decode() {
  s=$1 out=
  while :; do
    case $s in
      *%[0-9A-Fa-f][0-9A-Fa-f]*)
        out=$out${s%%\%*}
        s=${s#*%}
        hh=$(printf '%.2s' "$s")
        s=${s#??}
        # shellcheck disable=SC2059 # the format is the octal escape we just built
        out=$out$(printf "\\$(printf '%03o' "0x$hh")")
        ;;
      *) printf '%s' "$out$s"; return 0 ;;
    esac
  done
}

# Splits the admin URL into libpq environment variables (the env of a process is not world-readable, argv is).
admin_env_from_url() {
  url=$(cat "$1")
  case $url in
    postgres://* | postgresql://*) rest=${url#*://} ;;
    *) die "$1 is not a postgres:// URL" ;;
  esac
  query=
  case $rest in *\?*) query=${rest#*\?}; rest=${rest%%\?*} ;; esac
  userinfo=
  case $rest in *@*) userinfo=${rest%@*}; rest=${rest##*@} ;; esac
  hostport=${rest%%/*}
  db=
  case $rest in */*) db=${rest#*/} ;; esac
  case $hostport in
    *:*) PGHOST=${hostport%:*}; PGPORT=${hostport##*:} ;;
    *) PGHOST=$hostport; PGPORT=5432 ;;
  esac
  if [ -n "$userinfo" ]; then
    case $userinfo in
      *:*) PGUSER=$(pct_decode "${userinfo%%:*}"); PGPASSWORD=$(pct_decode "${userinfo#*:}"); export PGPASSWORD ;;
      *) PGUSER=$(pct_decode "$userinfo") ;;
    esac
    export PGUSER
  fi
  PGDATABASE=$(pct_decode "${db:-postgres}")
  export PGHOST PGPORT PGDATABASE
  old_ifs=$IFS; IFS='&'
  for kv in $query; do
    case $kv in
      sslmode=*) PGSSLMODE=$(pct_decode "${kv#sslmode=}"); export PGSSLMODE ;;
      sslrootcert=*) PGSSLROOTCERT=$(pct_decode "${kv#sslrootcert=}"); export PGSSLROOTCERT ;;
    esac
  done
  IFS=$old_ifs
  unset url rest userinfo
}

wait_for_server() {
  waited=0
  until pg_isready -q -t 3 >/dev/null 2>&1; do
    # pg_isready only says "no response"; one psql attempt says why (certificate not verified, DNS, refused).
    [ "$waited" -lt "$WAIT_SECONDS" ] || die "server ${PGHOST:-?}:${PGPORT:-5432} not ready after ${WAIT_SECONDS}s: $(psql -X -At -c 'SELECT 1' 2>&1 >/dev/null | head -n 3)"
    sleep 2
    waited=$((waited + 2))
  done
}

# All SQL in one psql session; the password enters through psql's backtick from the file.
setup_role_and_database() {
  psql -X -q -v ON_ERROR_STOP=1 -v role="$DB_ROLE" -v db="$DB_NAME" -v pwfile="$APP_PW_FILE" -v stmt_timeout="$STATEMENT_TIMEOUT" <<'SQL'
\set pw `cat :'pwfile'`
SELECT current_setting('server_version_num')::int >= 160000 AS pg16 \gset
SELECT NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'role') AS need_role \gset
\if :need_role
  CREATE ROLE :"role" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE;
\endif
-- PostgreSQL 16+: an admin that is not a superuser manages only roles it holds ADMIN OPTION on
-- (those it created). Say so plainly instead of failing on the first ALTER ROLE.
SELECT :'pg16'::boolean AND NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user)
  AND NOT pg_has_role(current_user, :'role', 'MEMBER WITH ADMIN OPTION') AS no_admin_option \gset
\if :no_admin_option
  \warn db-setup: the admin role may not manage the app role (no ADMIN OPTION on it; PostgreSQL 16+). Fix: as a superuser, or as the role that created it, GRANT the app role TO the admin WITH ADMIN OPTION
  DO $$ BEGIN RAISE EXCEPTION 'admin lacks ADMIN OPTION on the app role'; END $$;
\endif
-- No NOSUPERUSER here: managed databases refuse any SUPERUSER clause from non-superusers.
ALTER ROLE :"role" WITH LOGIN PASSWORD :'pw';
\unset pw
-- What the app's Pool asks for as a startup parameter (PgBouncer ignores it): enforced by the server.
ALTER ROLE :"role" SET statement_timeout = :'stmt_timeout';
SELECT rolsuper AS is_super FROM pg_roles WHERE rolname = :'role' \gset
\if :is_super
  DO $$ BEGIN RAISE EXCEPTION 'app role is a SUPERUSER: run ALTER ROLE ... NOSUPERUSER as a superuser'; END $$;
\endif
-- Handing the database to the role needs the admin to be able to SET ROLE to it. A
-- superuser can; an admin with CREATEROLE only (DigitalOcean's doadmin) holds ADMIN
-- OPTION on the roles it creates from PostgreSQL 16 on, not SET: it grants itself
-- membership first (on 14/15 CREATEROLE may grant any role that is not a superuser).
\if :pg16
  SELECT NOT pg_has_role(current_user, :'role', 'SET') AS need_member \gset
\else
  SELECT NOT pg_has_role(current_user, :'role', 'MEMBER') AS need_member \gset
\endif
\if :need_member
  GRANT :"role" TO CURRENT_USER;
\endif
SELECT NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = :'db') AS need_db \gset
\if :need_db
  CREATE DATABASE :"db" OWNER :"role";
\endif
ALTER DATABASE :"db" OWNER TO :"role";
\c :"db"
GRANT USAGE, CREATE ON SCHEMA public TO :"role";
SQL
}

main() {
  [ -s "$APP_PW_FILE" ] || die "app password file $APP_PW_FILE is missing or empty"
  case $DB_NAME$DB_ROLE in *[!a-z0-9_]*) die "database and role names must be [a-z0-9_]" ;; esac
  case $STATEMENT_TIMEOUT in "" | *[!0-9a-z]*) die "FT_APP_STATEMENT_TIMEOUT must look like 30s or 30000" ;; esac
  if [ -f "$ADMIN_URL_FILE" ]; then admin_env_from_url "$ADMIN_URL_FILE"; fi
  wait_for_server
  setup_role_and_database
  log "role $DB_ROLE and database $DB_NAME are in place"
}

main "$@"
