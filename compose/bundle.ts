// The release directory pushed to a vm/digitalocean host, as path -> content.
// Pure: the same input always renders byte-identical files, so the push's
// content hash changes only when something in the bundle really changed.
// (The one read is of compose/files/, static files that ship verbatim.)
import { createHash } from "crypto";
import * as fs from "fs";
import * as path from "path";
import { BundleInput } from "./bundle-input";
import { COMPOSE_FILES, PROJECT_NAME, RELOAD_ON_SECRET_CHANGE, renderComposeDocs, serviceSecrets } from "./render/compose";
import { DB_NAME } from "./render/pgbouncer";
import { APP_CONTRACT } from "../core/app-contract";
import { imageFor } from "../core/images";
import { listFiles } from "../core/list-files";
import { ComposeDoc, normalizeCompose, toYaml } from "./render/compose-types";
import { proxiedServices, renderCaddyJson } from "./render/caddy";
import { DB_CA_FILE, MANAGED_DB_SSLMODE, renderPgbouncerIni } from "./render/pgbouncer";
import { renderRedisConf } from "./render/redis";
import { renderObservability } from "./render/observability";
import { OBSERVABILITY_PROFILE } from "./render/observability/compose";
import { RCLONE_STORE_ADMIN_REMOTE, RCLONE_STORE_REMOTE, renderSecretFiles } from "./secret-files";

export const OBSERVABILITY_FILE = "compose.observability.yml";
/** Static files shipped verbatim (bin/ scripts, …): compose/files/<rel> -> <rel>. */
export const STATIC_FILES_DIR = path.join(__dirname, "files");

export interface ReleaseManifest {
  target: BundleInput["target"];
  /** In `docker compose -f` order. */
  compose_files: string[];
  profiles: string[];
  /** service -> image reference, plus the `rclone` tool image bin/backup runs. */
  images: Record<string, string>;
  /** service -> secret files it reads, relative to APP_DIR/secrets/ (digested into FT_SECRETS_<SERVICE>). */
  secrets: Record<string, string[]>;
  /** How bin/backup and bin/restore reach the database as admin (password: secrets/backup/pgpass). */
  database: {
    service?: string;
    host: string;
    port: number;
    admin_user: string;
    admin_db: string;
    name: string;
    sslmode: "disable" | "require" | "verify-full";
    /** The CA the server's certificate is verified against, relative to the release directory (digitalocean). */
    sslrootcert?: string;
    network: string;
  };
  /**
   * Where bin/backup puts encrypted dumps: `<remote>:<bucket>/<prefix>`; `remote` is a section of secrets/backup/rclone.conf.
   * `schedule` (config backupSchedule) and `verify_schedule` (the restore check) are the cron lines bin/install-schedule installs.
   */
  backup: {
    remote: string;
    bucket: string;
    prefix: string;
    retention_days: number;
    rclone: "container" | "host";
    schedule: string;
    verify_schedule: string;
    /** The app's uploads: bucket on the same remote, copied with every backup (`<name>.uploads/`). */
    uploads: { bucket: string };
    /**
     * vm only. `offhost`: `remote` is storage off the host (config vmBackupRemote*), false when the
     * operator accepted on-host-only backups (vmBackupOnHostOnly). `store_remote`: the rclone.conf
     * section of the host's own store as the backup job's identity (the uploads are read there);
     * `admin_remote`: its admin identity (bucket creation, restored uploads).
     */
    offhost?: boolean;
    /** false: bin/backup deletes nothing (the off-host bucket's lifecycle rule keeps backupRetentionDays). Absent: it prunes by name. */
    prune?: boolean;
    store_remote?: string;
    admin_remote?: string;
  };
  /** Secret file (relative to APP_DIR/secrets) -> uid that must own it: bin/preflight checks every file against it. */
  secret_owners: Record<string, number>;
  /** The public hostname and how its certificate is obtained: bin/preflight checks that the name resolves to this host (acme needs it). */
  domain: string;
  tls_mode: "acme" | "internal";
  /** TCP ports the stack publishes on the host (bin/preflight: free, or held by our caddy). */
  ports: number[];
  /** Address the domain may resolve to that is not on the host's interfaces (reserved IP, NAT); absent when none is known. */
  public_ip?: string;
  /** service -> how it re-reads its credentials (a signal name, or "ACL LOAD") instead of being recreated (bin/lib/pgbouncer.sh, bin/lib/redis.sh). */
  reload: Record<string, string>;
  /** Services behind the proxy's slot markers: port and liveness path (bin/deploy checks a new slot through them). */
  proxy: Record<string, { port: number; health: string }>;
  /** The app's uploads bucket (reached through the `backup.remote` credentials): bin/move-* copy it. */
  assets_bucket: string;
  /** The app's full health path (database and queues): bin/move-forward --to checks the new side through its public address with it. */
  app_health: string;
  /** Buckets bin/deploy creates when missing (vm: on the self-hosted store; digitalocean: none, Spaces buckets are Pulumi resources). */
  buckets: string[];
}

/** The rclone.conf section bin/backup uses: compose/secret-files.ts writes it under this name (RCLONE_REMOTE). */
export const BACKUP_RCLONE_REMOTE = "backups";

/** Every file under compose/files/, at its relative path, sorted. */
export function staticFiles(): Record<string, string> {
  const rels = listFiles(STATIC_FILES_DIR).sort();
  return Object.fromEntries(rels.map((r) => [r, fs.readFileSync(path.join(STATIC_FILES_DIR, r), "utf8")]));
}

type LooseDoc = { services?: Record<string, { image?: string; secrets?: unknown }>; secrets?: Record<string, { file: string }> };

/** Secret files of each service, from the documents themselves (so release.json cannot drift from the mounts). */
function secretFilesByService(docs: LooseDoc[]): Record<string, string[]> {
  const fileOf: Record<string, string> = {};
  for (const d of docs) for (const [name, s] of Object.entries(d.secrets ?? {})) fileOf[name] = s.file;
  const rel = (file: string) => {
    // `${FT_SECRETS_DIR:-/opt/freshtrack/secrets}/app/X` or `/srv/freshtrack/secrets/grafana/x` -> `app/X`, `grafana/x`
    const m = /^(?:\$\{FT_SECRETS_DIR:-[^}]*\}|.*\/secrets)\/(.+)$/.exec(file);
    if (!m) throw new Error(`secret file ${file} is not under the secrets directory`);
    return m[1];
  };
  const out: Record<string, Set<string>> = {};
  for (const d of docs) {
    for (const [svc, s] of Object.entries(d.services ?? {})) {
      const refs = Array.isArray(s.secrets) ? s.secrets : [];
      for (const ref of refs) {
        const name = typeof ref === "string" ? ref : (ref as { source: string }).source;
        const file = fileOf[name];
        if (!file) throw new Error(`service ${svc} mounts undeclared secret ${name}`);
        (out[svc] ??= new Set()).add(rel(file));
      }
    }
  }
  return Object.fromEntries(
    Object.keys(out)
      .sort()
      .map((k) => [k, [...out[k]].sort()]),
  );
}

/** Secret files of the services that mount their secrets directory (RELOAD_ON_SECRET_CHANGE). */
function reloadedSecretFiles(input: BundleInput): Record<string, string[]> {
  const all = serviceSecrets(input.target);
  return Object.fromEntries(Object.keys(RELOAD_ON_SECRET_CHANGE).map((svc) => [svc, (all[svc] ?? []).map((f) => f.file).sort()]));
}

function imagesByService(docs: LooseDoc[], input: BundleInput): Record<string, string> {
  const out: Record<string, string> = { rclone: imageFor("rclone", input.config.app.imageOverrides) };
  for (const d of docs) for (const [svc, s] of Object.entries(d.services ?? {})) if (s.image) out[svc] = s.image;
  return Object.fromEntries(
    Object.keys(out)
      .sort()
      .map((k) => [k, out[k]]),
  );
}

function databaseAccess(input: BundleInput): ReleaseManifest["database"] {
  const network = `${PROJECT_NAME}_default`;
  if (input.target === "digitalocean") {
    const db = input.managedDb;
    if (!db) throw new Error("digitalocean bundle needs managedDb");
    return {
      host: db.host,
      port: db.port,
      admin_user: "doadmin",
      admin_db: db.database,
      name: DB_NAME,
      sslmode: MANAGED_DB_SSLMODE,
      sslrootcert: DB_CA_FILE,
      network,
    };
  }
  return { service: "postgres", host: "postgres", port: 5432, admin_user: "postgres", admin_db: "postgres", name: DB_NAME, sslmode: "disable", network };
}

/**
 * Label `freshtrack.config: <sha256>` on every service that bind-mounts files of
 * the release (`./config/…`, `./bin/…`), over those files' paths and contents.
 * The mount *source* changes with every release directory, so Compose's own
 * config hash changes on every deploy; this label changes only when what the
 * service actually reads changed, which lets bin/deploy leave an unchanged
 * caddy/redis/pgbouncer running (`up --no-recreate`) instead of restarting it.
 */
export const CONFIG_DIGEST_LABEL = "freshtrack.config";

function addConfigDigests(docs: [string, ComposeDoc | object][], files: Record<string, string>): void {
  type S = { volumes?: string[]; labels?: Record<string, string> };
  const mounts: Record<string, Set<string>> = {};
  const firstDoc: Record<string, S> = {};
  for (const [, d] of docs) {
    for (const [name, svc] of Object.entries((d as { services?: Record<string, S> }).services ?? {})) {
      firstDoc[name] ??= svc;
      for (const v of svc.volumes ?? []) {
        const m = /^\.\/([^:]+):/.exec(v);
        if (!m) continue;
        // A directory mount covers every bundle file under it.
        const rels = Object.keys(files).filter((f) => f === m[1] || f.startsWith(`${m[1]}/`));
        if (!rels.length) throw new Error(`${name} mounts ./${m[1]}, which the bundle does not contain`);
        for (const r of rels) (mounts[name] ??= new Set()).add(r);
      }
    }
  }
  for (const [name, rels] of Object.entries(mounts)) {
    const h = createHash("sha256");
    for (const r of [...rels].sort()) h.update(`${r}\0${createHash("sha256").update(files[r]).digest("hex")}\n`);
    const svc = firstDoc[name];
    svc.labels = { ...(svc.labels ?? {}), [CONFIG_DIGEST_LABEL]: h.digest("hex") };
  }
}

/**
 * The restore check's schedule: every day, two hours after a daily backup (a backup
 * of a large database may run for a while), so every night's dump is proven restorable
 * the same morning. A backup schedule whose hour is not one number (e.g. every 6 hours)
 * gets the check daily at 04:47. Daily, not weekly: a dump that cannot be restored is
 * found within a day, well inside the 8-day restore-check alert.
 */
export function verifySchedule(backupSchedule: string): string {
  const [min, hour] = backupSchedule.trim().split(/\s+/);
  if (/^\d+$/.test(min) && /^\d+$/.test(hour)) return `${Number(min)} ${(Number(hour) + 2) % 24} * * *`;
  return "47 4 * * *";
}

/**
 * Owner uid of every secret file the push writes: the uids renderSecretFiles assigns
 * (they do not depend on the values, so placeholders stand in for them here).
 */
export function secretOwners(target: BundleInput["target"]): Record<string, number> {
  const files = renderSecretFiles({
    target,
    dbAppPassword: "-",
    redisPassword: "-",
    jwtSecret: "-",
    ttnEncryptionSalt: "-",
    grafanaAdminPassword: "-",
    backupEncryptionKey: "-",
    user: {},
    db: { host: "-", port: 1, adminUser: "-", adminPassword: "-", adminDatabase: "-" },
    objectStore: { endpoint: "-", region: "-", accessKey: "-", secretKey: "-", provider: "Other", buckets: { assets: "-", backups: "-" } },
  });
  return Object.fromEntries(Object.entries(files).map(([f, { uid }]) => [f, uid]));
}

/** TCP ports published on the host by any service of the documents. */
function publishedTcpPorts(docs: LooseDoc[]): number[] {
  const out = new Set<number>();
  for (const d of docs)
    for (const s of Object.values(d.services ?? {}))
      for (const p of ((s as { ports?: unknown[] }).ports ?? []) as { published?: string; protocol?: string }[])
        if (p.published && (p.protocol ?? "tcp") === "tcp") out.add(Number(p.published));
  return [...out].sort((a, b) => a - b);
}

/** Renders every file of the release directory. */
export function renderBundle(input: BundleInput): Record<string, string> {
  const compose = renderComposeDocs(input);
  const targetFile = input.target === "vm" ? COMPOSE_FILES.vm : COMPOSE_FILES.digitalocean;
  const docs: [string, ComposeDoc | object][] = [
    [COMPOSE_FILES.base, compose.base],
    [COMPOSE_FILES.prod, compose.prod],
    [targetFile, compose.target],
  ];
  const files: Record<string, string> = {};
  const profiles: string[] = [];
  if (input.config.data.observability) {
    const obs = renderObservability(input);
    docs.push([OBSERVABILITY_FILE, obs.compose]);
    Object.assign(files, obs.files);
    profiles.push(OBSERVABILITY_PROFILE);
  }
  files["config/caddy.json"] = renderCaddyJson(input);
  files["config/pgbouncer.ini"] = renderPgbouncerIni(input);
  if (input.target === "digitalocean") files[DB_CA_FILE] = input.managedDb?.caCert ?? "";
  files["config/redis.conf"] = renderRedisConf();

  for (const [rel, content] of Object.entries(staticFiles())) {
    if (rel in files) throw new Error(`compose/files/${rel} collides with a rendered file`);
    files[rel] = content;
  }

  addConfigDigests(docs, files);
  for (const [name, doc] of docs) files[name] = toYaml(normalizeCompose(doc as ComposeDoc));

  const loose = docs.map(([, d]) => d as LooseDoc);
  const release: ReleaseManifest = {
    target: input.target,
    compose_files: docs.map(([name]) => name),
    profiles,
    images: imagesByService(loose, input),
    secrets: Object.fromEntries(Object.entries({ ...secretFilesByService(loose), ...reloadedSecretFiles(input) }).sort(([a], [b]) => (a < b ? -1 : 1))),
    reload: Object.fromEntries(Object.entries(RELOAD_ON_SECRET_CHANGE).map(([svc, r]) => [svc, r.reload])),
    database: databaseAccess(input),
    backup: {
      remote: BACKUP_RCLONE_REMOTE,
      // vm: the operator's bucket off the host when configured, else the host store's backups bucket.
      bucket: (input.target === "vm" && input.config.vm?.backupRemote?.bucket) || input.objectStore.backupsBucket,
      prefix: "postgres",
      retention_days: input.config.data.backupRetentionDays,
      // vm: the object store is only reachable inside the Compose network.
      rclone: "container",
      schedule: input.config.data.backupSchedule,
      verify_schedule: verifySchedule(input.config.data.backupSchedule),
      // digitalocean: on the same remote (the Spaces key of both); vm: read from store_remote.
      uploads: { bucket: input.objectStore.assetsBucket },
      ...(input.target === "vm"
        ? {
            offhost: !!input.config.vm?.backupRemote,
            ...(input.config.vm?.backupRemote ? { prune: false } : {}),
            store_remote: RCLONE_STORE_REMOTE,
            admin_remote: RCLONE_STORE_ADMIN_REMOTE,
          }
        : {}),
    },
    secret_owners: secretOwners(input.target),
    domain: input.config.app.domain,
    tls_mode: input.config.app.tlsMode,
    ports: publishedTcpPorts(loose),
    ...(input.publicIp ? { public_ip: input.publicIp } : {}),
    proxy: proxiedServices(),
    assets_bucket: input.objectStore.assetsBucket,
    app_health: APP_CONTRACT.health.full.path,
    buckets: input.target === "vm" ? [...new Set([input.objectStore.assetsBucket, input.objectStore.backupsBucket])].sort() : [],
  };
  files["release.json"] = JSON.stringify(release, null, 2) + "\n";

  return Object.fromEntries(
    Object.keys(files)
      .sort()
      .map((k) => [k, files[k]]),
  );
}
