// config/pgbouncer.ini, rendered from typed settings.
// Transaction pooling in front of PostgreSQL for backend and worker only;
// migrations and backups connect to PostgreSQL directly (docs/app-contract.md).
import { DB_CONNECTION_HEADROOM } from "../../core/config";
import type { BundleInput } from "../bundle-input";

export const DB_NAME = "frostguard";
export const DB_USER = "frostguard";
/**
 * The auth file in the pgbouncer container. bin/deploy builds it in APP_DIR/state/pgbouncer/
 * (bind-mounted as a *directory*, so a new file is visible in place) from the push's
 * secrets/pgbouncer/userlist.txt plus, while a password rotation rolls the app, the
 * previous client login; then it reloads PgBouncer (SIGHUP) instead of recreating it:
 * pooled connections survive, and neither the old nor the new backend is refused.
 * Every client login maps to the server role `frostguard` (`user=` in [databases]).
 */
export const USERLIST_DIR = "/run/secrets/pgbouncer";
export const USERLIST_PATH = `${USERLIST_DIR}/userlist.txt`;
export const PGBOUNCER_PORT = 5432;
/** digitalocean: the managed cluster's CA certificate, shipped in the bundle (public) and mounted read-only. */
export const DB_CA_FILE = "config/db-ca.crt";
export const DB_CA_PATH = "/etc/pgbouncer/db-ca.crt";
/** digitalocean: where db-setup and migrate see the same CA (libpq's and node-postgres' `sslrootcert`). */
export const DB_CA_CLIENT_PATH = "/etc/freshtrack/db-ca.crt";
/** digitalocean: every direct connection to the managed cluster verifies its certificate and host name. */
export const MANAGED_DB_SSLMODE = "verify-full";
/**
 * node-postgres sends `statement_timeout` (Pool config) and `extra_float_digits`
 * as startup parameters; PgBouncer refuses the connection for any it does not know
 * unless it is listed here (listing only extra_float_digits refuses node-postgres at connect).
 */
export const IGNORED_STARTUP_PARAMETERS = ["extra_float_digits", "statement_timeout"];

export interface PgbouncerSettings {
  databases: Record<string, string>;
  pgbouncer: Record<string, string | number>;
}

export interface PoolBudget {
  maxConnections: number;
  poolSize: number;
  headroom: number;
  /** Server connections PgBouncer may open in the worst case (one pool: frostguard x frostguard). */
  serverConnections: number;
  ok: boolean;
}

/**
 * The pool may never exhaust PostgreSQL: pools x pool size must stay below
 * max_connections - DB_CONNECTION_HEADROOM (superuser reserve, migrations,
 * backups, restore checks, admin). config.ts refuses configs that break it;
 * this is the same formula, exported so tests and the README can state it.
 */
export function poolBudget(maxConnections: number, poolSize: number, pools = 1): PoolBudget {
  const serverConnections = pools * poolSize;
  return { maxConnections, poolSize, headroom: DB_CONNECTION_HEADROOM, serverConnections, ok: serverConnections < maxConnections - DB_CONNECTION_HEADROOM };
}

/** max_connections of the database this bundle's PgBouncer talks to. */
export function serverMaxConnections(input: BundleInput): number {
  return input.target === "digitalocean"
    ? (input.managedDb?.maxConnections ?? input.config.digitalocean?.dbMaxConnections ?? 25)
    : input.config.data.dbMaxConnections;
}

export function pgbouncerSettings(input: BundleInput): PgbouncerSettings {
  const { poolSize, maxClientConnections } = input.config.data;
  const budget = poolBudget(serverMaxConnections(input), poolSize);
  // config.ts already refused this; a second guard keeps a hand-built input from rendering it.
  if (!budget.ok) throw new Error(`poolSize ${poolSize} leaves no headroom below max_connections ${budget.maxConnections} - ${budget.headroom}`);

  let server: string;
  let tls: Record<string, string>;
  if (input.target === "digitalocean") {
    const db = input.managedDb;
    if (!db) throw new Error("digitalocean bundle needs managedDb (the managed database's private host)");
    // The app database lives on the managed cluster (db-setup creates it there); private network, TLS
    // verified against the cluster's own CA and the host name (verify-full).
    if (!/-----BEGIN CERTIFICATE-----/.test(db.caCert)) throw new Error("digitalocean bundle needs managedDb.caCert (the cluster's CA certificate, PEM)");
    server = `host=${db.host} port=${db.port} dbname=${DB_NAME} user=${DB_USER}`;
    tls = { server_tls_sslmode: "verify-full", server_tls_ca_file: DB_CA_PATH };
  } else {
    server = `host=postgres port=5432 dbname=${DB_NAME} user=${DB_USER}`;
    // Same Docker network, PostgreSQL container without TLS.
    tls = { server_tls_sslmode: "disable" };
  }

  return {
    databases: { [DB_NAME]: server },
    pgbouncer: {
      listen_addr: "0.0.0.0",
      listen_port: PGBOUNCER_PORT,
      // Room for every client to connect at once (the app's pools reconnecting after a restart):
      // at PgBouncer's default of 128 a slow accept loop overflows the queue and the kernel resets
      // the rest (read ECONNRESET). The kernel caps it at net.core.somaxconn (4096 by default).
      listen_backlog: Math.min(maxClientConnections, LISTEN_BACKLOG_CAP),
      // No Unix socket: the container filesystem is read-only and nothing local connects.
      unix_socket_dir: "",
      auth_type: "scram-sha-256",
      auth_file: USERLIST_PATH,
      pool_mode: "transaction",
      max_client_conn: maxClientConnections,
      default_pool_size: poolSize,
      // Hard cap per database: the budget above holds even if another user/pool appeared.
      max_db_connections: poolSize,
      min_pool_size: 0,
      reserve_pool_size: 0,
      ignore_startup_parameters: IGNORED_STARTUP_PARAMETERS.join(","),
      ...tls,
      client_tls_sslmode: "disable",
      // Admin console: nobody is listed, so neither SHOW nor PAUSE/KILL is reachable over the network.
      admin_users: "",
      stats_users: "",
      server_check_query: "select 1",
      server_idle_timeout: 300,
      // Give up on a client waiting for a server connection after 2 minutes (default 120 s made explicit).
      query_wait_timeout: 120,
      log_connections: 0,
      log_disconnections: 0,
      log_pooler_errors: 1,
      stats_period: 60,
    },
  };
}

/** Linux's default net.core.somaxconn (5.4 and later): a larger listen backlog is silently cut to it. */
export const LISTEN_BACKLOG_CAP = 4096;

/** Descriptors PgBouncer keeps for itself: listening sockets, log, DNS, reload. */
export const PGBOUNCER_FD_RESERVE = 100;

/**
 * Open-file limit the pgbouncer container needs: one descriptor per client
 * (max_client_conn) plus one per server connection (max_db_connections), plus
 * PgBouncer's own (PgBouncer's docs: max_client_conn + pool size x databases x
 * users). Docker's default soft limit can be 1024, which leaves no room for 1000
 * clients, the pool and PgBouncer's own descriptors: past it, clients are refused.
 * Rounded up to a multiple of 1024.
 */
export function pgbouncerNofile(settings: PgbouncerSettings): number {
  const { max_client_conn, max_db_connections } = settings.pgbouncer;
  const need = Number(max_client_conn) + Number(max_db_connections) * Object.keys(settings.databases).length + PGBOUNCER_FD_RESERVE;
  return Math.ceil(need / 1024) * 1024;
}

export const PGBOUNCER_HEADER = "; Generated by FreshTrack Deploy (compose/render/pgbouncer.ts). Edits on the host are replaced at the next deploy.\n";

/**
 * Serialises settings in PgBouncer's INI dialect (also used by the real-PgBouncer
 * test after adapting paths and ports). Not `ini.stringify`: that package wraps
 * any value containing `=` in double quotes, and PgBouncer 1.18 takes the quotes
 * literally ("unrecognized connection parameter: \"host"), so every [databases]
 * line would break. Values are checked instead of escaped: PgBouncer has no
 * escaping, so a value that could change the file's structure is refused.
 * The `ini` package reads the result back in the unit tests.
 */
export function serializePgbouncerIni(settings: PgbouncerSettings): string {
  const lines: string[] = [];
  for (const [section, entries] of Object.entries(settings) as [string, Record<string, string | number>][]) {
    if (lines.length) lines.push("");
    lines.push(`[${section}]`);
    for (const [key, raw] of Object.entries(entries)) {
      const value = String(raw);
      if (!/^[A-Za-z0-9_.*-]+$/.test(key)) throw new Error(`pgbouncer.ini: bad key ${JSON.stringify(key)}`);
      if (/[\r\n;#"]/.test(value) || value !== value.trim())
        throw new Error(`pgbouncer.ini: value of ${key} cannot be written safely: ${JSON.stringify(value)}`);
      lines.push(`${key} = ${value}`);
    }
  }
  return PGBOUNCER_HEADER + lines.join("\n") + "\n";
}

export function renderPgbouncerIni(input: BundleInput): string {
  return serializePgbouncerIni(pgbouncerSettings(input));
}
