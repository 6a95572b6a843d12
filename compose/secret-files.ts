// Every secret file of docs/design.md's table, rendered from plain strings. Pure: it
// runs inside pulumi.all(...).apply(...) and in unit tests, so the same values
// always give byte-identical files (no spurious write-secrets runs).
import { createHash, createHmac } from "crypto";
import * as ini from "ini";
import { IMAGES } from "../core/images";
import { APP_SECRET_ENV, APP_UID, AppSecretEnv } from "../core/model";
import { BackupRemote, UserSecretKey } from "../core/config";
import { DB_NAME, DB_USER } from "../core/naming";
import { ageIdentity } from "./age-identity";

/** Relative path (under APP_DIR/secrets) -> owner uid and content. */
export type SecretFiles = Record<string, { uid: number; content: string }>;

/** Name of the rclone remote in backup/rclone.conf; bin/backup and bin/restore address it as `backups:`. */
export const RCLONE_REMOTE = "backups";
/**
 * vm: rclone.conf sections for the host's own object store. `store` is the backup job's
 * identity (reads the app's uploads, writes the on-host backups bucket); `store-admin`
 * creates buckets (bin/deploy) and writes restored uploads back (bin/restore --uploads).
 */
export const RCLONE_STORE_REMOTE = "store";
export const RCLONE_STORE_ADMIN_REMOTE = "store-admin";

/** The on-host object store's identities other than the app's, derived from the lasting backup key (nothing new to keep). */
export function derivedStoreCredential(backupKey: string, role: "backup" | "admin"): { accessKey: string; secretKey: string } {
  const h = (label: string) => createHmac("sha256", backupKey).update(`freshtrack objectstore ${role} ${label}`).digest("hex");
  return { accessKey: `FT${role.toUpperCase()}${h("access").slice(0, 14).toUpperCase()}`, secretKey: h("secret").slice(0, 40) };
}

/**
 * SeaweedFS identities (s3.json) of the vm's object store. An action without ":bucket"
 * applies to every bucket; "Write" also allows DeleteObject and overwriting (SeaweedFS routes
 * DELETE and multi-delete through ACTION_WRITE), so only bucket scoping keeps the app away
 * from the backups: the app's identity names its own bucket and nothing else.
 */
export function objectStoreIdentities(
  app: { accessKey: string; secretKey: string },
  backupKey: string,
  buckets: { assets: string; backups: string },
): { identities: { name: string; credentials: { accessKey: string; secretKey: string }[]; actions: string[] }[] } {
  const scoped = (bucket: string, actions: string[]) => actions.map((a) => `${a}:${bucket}`);
  return {
    identities: [
      { name: "frostguard", credentials: [app], actions: scoped(buckets.assets, ["Read", "Write", "List", "Tagging"]) },
      {
        name: "backup",
        credentials: [derivedStoreCredential(backupKey, "backup")],
        actions: [...scoped(buckets.assets, ["Read", "List"]), ...scoped(buckets.backups, ["Read", "Write", "List"])],
      },
      { name: "admin", credentials: [derivedStoreCredential(backupKey, "admin")], actions: ["Admin", "Read", "Write", "List", "Tagging"] },
    ],
  };
}

export interface ObjectStoreCredentials {
  endpoint: string;
  region: string;
  accessKey: string;
  secretKey: string;
  provider: "SeaweedFS" | "DigitalOcean" | "Other";
}

export interface SecretFilesInput {
  target: "vm" | "digitalocean";
  dbAppPassword: string;
  redisPassword: string;
  jwtSecret: string;
  ttnEncryptionSalt: string;
  grafanaAdminPassword: string;
  backupEncryptionKey: string;
  /** User-supplied credentials that are set; unset optional ones become empty files. */
  user: Partial<Record<UserSecretKey, string>>;
  /** PostgreSQL as migrations, db-setup and backups reach it directly (never through PgBouncer). */
  db: {
    host: string;
    port: number;
    /** Appended as `?sslmode=` to direct URLs (digitalocean's managed DB); omitted on vm. */
    sslmode?: string;
    /** Appended as `&sslrootcert=`: the CA file as the client containers see it (libpq and node-postgres read it). */
    sslrootcert?: string;
    adminUser: string;
    adminPassword: string;
    /** Database the admin connects to for db-setup: `postgres` on vm, `defaultdb` on a managed cluster. */
    adminDatabase: string;
  };
  /** S3 credentials: the app's MINIO_* keys (and the backup job's rclone remote when there is no backupStore). */
  objectStore: ObjectStoreCredentials & {
    /** vm: the buckets of the host's own store (the app's identity is limited to `assets`). */
    buckets?: { assets: string; backups: string };
  };
  /** The backup job's own credential for its rclone remote (digitalocean: a key the app never sees). */
  backupStore?: ObjectStoreCredentials;
  /** vm: the S3-compatible remote off the host the backups go to (config vmBackupRemote*); absent: on-host only. */
  backupRemote?: BackupRemote & { secretAccessKey: string };
  /** Private registry login (config registryServer/registryUser; the token is user.registryToken). */
  registry?: { server: string; user: string };
}

/** Where bin/deploy's pull finds the registry login: DOCKER_CONFIG=APP_DIR/secrets/<dir>. */
export const REGISTRY_CONFIG_FILE = "registry/config.json";

/** A Docker client config.json holding one registry login (Docker Hub is keyed by its legacy URL). */
export function dockerRegistryConfig(server: string, user: string, token: string): string {
  const key = server === "docker.io" || server === "index.docker.io" ? "https://index.docker.io/v1/" : server;
  return JSON.stringify({ auths: { [key]: { auth: Buffer.from(`${user}:${token}`, "utf8").toString("base64") } } }, null, 2) + "\n";
}

/** Which user config key fills which app secret (the rest are generated). */
export const USER_SECRET_FOR_ENV: Partial<Record<AppSecretEnv, UserSecretKey>> = {
  STACK_AUTH_SECRET_KEY: "stackAuthSecretKey",
  TTN_API_KEY: "ttnApiKey",
  TTN_ADMIN_API_KEY: "ttnAdminApiKey",
  STRIPE_SECRET_KEY: "stripeSecretKey",
  STRIPE_WEBHOOK_SECRET: "stripeWebhookSecret",
  RESEND_API_KEY: "resendApiKey",
  TELNYX_API_KEY: "telnyxApiKey",
  SENTRY_DSN: "sentryDsn",
};

const enc = encodeURIComponent;

/** postgresql:// URL with every credential URL-encoded (user-supplied ones may hold / + = @ : %). */
export function postgresUrl(user: string, password: string, host: string, port: number, db: string, sslmode?: string, sslrootcert?: string): string {
  const query = [sslmode && `sslmode=${enc(sslmode)}`, sslrootcert && `sslrootcert=${enc(sslrootcert)}`].filter(Boolean).join("&");
  return `postgresql://${enc(user)}:${enc(password)}@${host}:${port}/${enc(db)}${query ? `?${query}` : ""}`;
}

/** PgBouncer auth_file line: fields in double quotes, a double quote inside doubled. */
export function pgbouncerUserlistLine(user: string, password: string): string {
  const q = (s: string) => `"${s.replace(/"/g, '""')}"`;
  return `${q(user)} ${q(password)}`;
}

/**
 * The name the app logs in to PgBouncer with: the role's name plus a digest of the
 * password, so it changes with every rotation. PgBouncer logs in to PostgreSQL as
 * `frostguard` itself (forced user in pgbouncer.ini), so the app's role is unchanged.
 * During a deploy that rotates the password, bin/deploy keeps the previous client
 * entry in PgBouncer's auth file until the old backend is gone: the old backend keeps
 * opening connections with its old credentials while the new one uses the new ones,
 * and no request fails. The entry is removed when the roll is done.
 */
export function pgbouncerClientUser(password: string): string {
  return `${DB_USER}_${createHash("sha256").update(password).digest("hex").slice(0, 8)}`;
}

/** ~/.pgpass field: backslash and colon escaped with a backslash. */
export function pgpassField(s: string): string {
  return s.replace(/\\/g, "\\\\").replace(/:/g, "\\:");
}

export function renderSecretFiles(i: SecretFilesInput): SecretFiles {
  const files: SecretFiles = {};
  const put = (path: string, uid: number, content: string) => {
    files[path] = { uid, content };
  };
  const directDb = (user: string, password: string, db: string) => postgresUrl(user, password, i.db.host, i.db.port, db, i.db.sslmode, i.db.sslrootcert);

  // ---- backend / worker: one file per env var, named after it -----------------
  const generated: Partial<Record<AppSecretEnv, string>> = {
    // Through PgBouncer (transaction pooling) on both targets; PgBouncer itself reaches the database.
    DATABASE_URL: postgresUrl(pgbouncerClientUser(i.dbAppPassword), i.dbAppPassword, "pgbouncer", 5432, DB_NAME),
    REDIS_URL: `redis://:${enc(i.redisPassword)}@redis:6379/0`,
    JWT_SECRET: i.jwtSecret,
    TTN_ENCRYPTION_SALT: i.ttnEncryptionSalt,
    MINIO_ROOT_USER: i.objectStore.accessKey,
    MINIO_ROOT_PASSWORD: i.objectStore.secretKey,
  };
  for (const env of APP_SECRET_ENV) {
    const userKey = USER_SECRET_FOR_ENV[env];
    const value = generated[env] ?? (userKey ? (i.user[userKey] ?? "") : undefined);
    // A new name in APP_SECRET_ENV must be mapped here, not silently shipped empty.
    if (value === undefined) throw new Error(`secret-files: no source for app secret ${env}`);
    put(`app/${env}`, APP_UID, value);
  }
  // Migrations bypass the pooler (docs/app-contract.md): direct to PostgreSQL.
  put("migrate/DATABASE_URL", APP_UID, directDb(DB_USER, i.dbAppPassword, DB_NAME));

  // ---- database -------------------------------------------------------------
  const pgUid: number = IMAGES.postgres.uid;
  if (i.target === "vm") put("postgres/POSTGRES_PASSWORD", pgUid, i.db.adminPassword);
  put("db-setup/APP_DB_PASSWORD", pgUid, i.dbAppPassword);
  put("db-setup/ADMIN_DATABASE_URL", pgUid, directDb(i.db.adminUser, i.db.adminPassword, i.db.adminDatabase));
  // First line: the server login (forced user frostguard); second: the app's client login for this password.
  put(
    "pgbouncer/userlist.txt",
    IMAGES.pgbouncer.uid,
    [pgbouncerUserlistLine(DB_USER, i.dbAppPassword), pgbouncerUserlistLine(pgbouncerClientUser(i.dbAppPassword), i.dbAppPassword)].join("\n") + "\n",
  );

  // ---- redis: bin/deploy builds its ACL file (hash only) and health password from this --
  put("redis/password", IMAGES.redis.uid, i.redisPassword);

  // ---- object store (vm runs its own SeaweedFS) -----------------------------
  const app = { accessKey: i.objectStore.accessKey, secretKey: i.objectStore.secretKey };
  if (i.target === "vm") {
    // Without the bucket names the app's identity could not be limited to its own bucket.
    if (!i.objectStore.buckets) throw new Error("secret-files: the vm object store's buckets are required (objectStore.buckets)");
    const identities = objectStoreIdentities(app, i.backupEncryptionKey, i.objectStore.buckets);
    put("objectstore/s3.json", IMAGES.objectstore.uid, JSON.stringify(identities, null, 2) + "\n");
  }

  // ---- backups ----------------------------------------------------------------
  // Never create buckets from the backup job: a typo must fail, not scatter dumps.
  const s3 = (endpoint: string, region: string, provider: string, cred: { accessKey: string; secretKey: string }) => ({
    type: "s3",
    provider,
    access_key_id: cred.accessKey,
    secret_access_key: cred.secretKey,
    endpoint,
    region,
    force_path_style: "true",
    no_check_bucket: "true",
  });
  const store = (role: "backup" | "admin") =>
    s3(i.objectStore.endpoint, i.objectStore.region, i.objectStore.provider, derivedStoreCredential(i.backupEncryptionKey, role));
  const r = i.backupRemote;
  // digitalocean: the backup-only Spaces key when given, else the app's key.
  const dob = i.backupStore ?? i.objectStore;
  const rclone: Record<string, Record<string, string>> = i.target === "vm"
    ? {
        // Where dumps go: the operator's remote off the host, else the host's own store.
        [RCLONE_REMOTE]: r ? s3(r.endpoint, r.region, r.provider, { accessKey: r.accessKeyId, secretKey: r.secretAccessKey }) : store("backup"),
        [RCLONE_STORE_REMOTE]: store("backup"),
        [RCLONE_STORE_ADMIN_REMOTE]: store("admin"),
      }
    : { [RCLONE_REMOTE]: s3(dob.endpoint, dob.region, dob.provider, dob) };
  put("backup/rclone.conf", 0, ini.stringify(rclone));
  // Legacy: decrypts the AES-256-CBC dumps written before age (bin/restore keeps them restorable).
  put("backup/backup.key", 0, i.backupEncryptionKey);
  // The age identity dumps and their sealed manifests are encrypted with, derived from the same lasting key.
  put("backup/age.key", 0, ageIdentity(i.backupEncryptionKey) + "\n");
  const pgpass = (db: string, user: string, password: string) => [i.db.host, String(i.db.port), db, user, password].map(pgpassField).join(":");
  // The app role dumps its own database; the admin line lets restore recreate it.
  put("backup/pgpass", 0, `${pgpass(DB_NAME, DB_USER, i.dbAppPassword)}\n${pgpass("*", i.db.adminUser, i.db.adminPassword)}\n`);

  // ---- observability / notifications ------------------------------------------
  put("grafana/admin_password", IMAGES.grafana.uid, i.grafanaAdminPassword);
  put("alertmanager/webhook_url", IMAGES.alertmanager.uid, i.user.alertWebhookUrl ?? "");
  // Alertmanager's SMTP password for Resend's relay is the customer's Resend API key.
  put("alertmanager/smtp_password", IMAGES.alertmanager.uid, i.user.resendApiKey ?? "");
  put("alertmanager/heartbeat_url", IMAGES.alertmanager.uid, i.user.alertHeartbeatUrl ?? "");
  put("notify/webhook_url", 0, i.user.alertWebhookUrl ?? "");

  // ---- registry login: root only, read by bin/deploy's pull and nothing else ------
  if (i.registry && i.user.registryToken) put(REGISTRY_CONFIG_FILE, 0, dockerRegistryConfig(i.registry.server, i.registry.user, i.user.registryToken));

  return Object.fromEntries(Object.entries(files).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

// ---- stdin payload of the write-secrets step ------------------------------------

/** Paths write-secrets accepts: relative, no `..`, no hidden or empty segments. Same rule as the script. */
export const SECRET_PATH_RE = /^[A-Za-z0-9_][A-Za-z0-9_.-]*(\/[A-Za-z0-9_][A-Za-z0-9_.-]*)*$/;

/** `<relative-path> <uid> <base64(content)>` per line, sorted by path (docs/design.md). */
export function serializeSecretPayload(files: SecretFiles): string {
  const lines = Object.keys(files)
    .sort()
    .map((path) => {
      const { uid, content } = files[path];
      if (!SECRET_PATH_RE.test(path)) throw new Error(`secret-files: refusing path "${path}"`);
      if (!Number.isInteger(uid) || uid < 0 || uid > 2147483647) throw new Error(`secret-files: bad uid ${uid} for ${path}`);
      return `${path} ${uid} ${Buffer.from(content, "utf8").toString("base64")}`;
    });
  return lines.join("\n") + "\n";
}

/** Inverse of serializeSecretPayload (tests, and the e2e harness's checks). */
export function parseSecretPayload(payload: string): SecretFiles {
  const out: SecretFiles = {};
  for (const line of payload.split("\n")) {
    if (line === "") continue;
    const m = /^(\S+) (\d+) ([A-Za-z0-9+/]*={0,2})$/.exec(line);
    if (!m || !SECRET_PATH_RE.test(m[1])) throw new Error("secret payload: malformed line");
    out[m[1]] = { uid: Number(m[2]), content: Buffer.from(m[3], "base64").toString("utf8") };
  }
  return out;
}

/** Truncated SHA-256 of the payload: changes whenever any secret file changes. */
export function secretPayloadDigest(payload: string): string {
  return createHash("sha256").update(payload).digest("hex").slice(0, 16);
}
