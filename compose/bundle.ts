// The release directory pushed to a vm/digitalocean host, as path -> content.
// Pure: the same input always renders byte-identical files, so the push's
// content hash changes only when something in the bundle really changed.
// (The one read is of compose/files/, static files that ship verbatim.)
import { createHash } from "crypto";
import * as fs from "fs";
import * as path from "path";
import { FreshtrackConfig } from "../components/shared/config";
import { COMPOSE_FILES, PROJECT_NAME, RELOAD_ON_SECRET_CHANGE, renderComposeDocs, serviceSecrets } from "./render/compose";
import { DB_NAME } from "./render/pgbouncer";
import { imageFor } from "./images";
import { ComposeDoc, normalizeCompose, toYaml } from "./render/compose-types";
import { proxiedServices, renderCaddyJson } from "./render/caddy";
import { DB_CA_FILE, renderPgbouncerIni } from "./render/pgbouncer";
import { renderRedisConf } from "./render/redis";
import { OBSERVABILITY_PROFILE, renderObservability } from "./render/observability";

export interface BundleInput {
  config: FreshtrackConfig;
  target: "vm" | "digitalocean";
  /** Object storage as the app and the backup job see it. */
  objectStore: {
    /** Public endpoint browsers reach (presigned URLs are built from it), e.g. https://s3.app.example */
    publicEndpoint: string;
    /** Endpoint the backup job uses (in-network on vm, Spaces on digitalocean). */
    internalEndpoint: string;
    region: string;
    assetsBucket: string;
    backupsBucket: string;
  };
  /** digitalocean only: the managed database, reached over the private network with TLS. */
  managedDb?: {
    host: string;
    port: number;
    database: string;
    maxConnections: number;
    /** The cluster's CA certificate (PEM, public): PgBouncer verifies the server against it (verify-full). */
    caCert: string;
  };
}

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
  database: { service?: string; host: string; port: number; admin_user: string; admin_db: string; name: string; sslmode: "disable" | "require"; network: string };
  /** Where bin/backup puts encrypted dumps: `<remote>:<bucket>/<prefix>`; `remote` is a section of secrets/backup/rclone.conf. */
  backup: { remote: string; bucket: string; prefix: string; retention_days: number; rclone: "container" | "host" };
  /** service -> signal: services that re-read their secret files (mounted as a directory) on that signal instead of being recreated. */
  reload: Record<string, string>;
  /** Services behind the proxy's slot markers: port and liveness path (bin/deploy checks a new slot through them). */
  proxy: Record<string, { port: number; health: string }>;
  /** Buckets bin/deploy creates when missing (vm: on the self-hosted store; digitalocean: none, Spaces buckets are Pulumi resources). */
  buckets: string[];
}

/** The rclone.conf section bin/backup uses: components/shared/host/secret-files.ts writes it under this name (RCLONE_REMOTE). */
export const BACKUP_RCLONE_REMOTE = "backups";

function listFiles(dir: string, rel = ""): string[] {
  if (!fs.existsSync(dir)) return [];
  const out: string[] = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const r = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory()) out.push(...listFiles(path.join(dir, e.name), r));
    else if (e.isFile()) out.push(r);
  }
  return out;
}

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
  return Object.fromEntries(Object.keys(out).sort().map((k) => [k, out[k]]));
}

function databaseAccess(input: BundleInput): ReleaseManifest["database"] {
  const network = `${PROJECT_NAME}_default`;
  if (input.target === "digitalocean") {
    const db = input.managedDb;
    if (!db) throw new Error("digitalocean bundle needs managedDb");
    return { host: db.host, port: db.port, admin_user: "doadmin", admin_db: db.database, name: DB_NAME, sslmode: "require", network };
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
    reload: Object.fromEntries(Object.entries(RELOAD_ON_SECRET_CHANGE).map(([svc, r]) => [svc, r.signal])),
    database: databaseAccess(input),
    backup: {
      remote: BACKUP_RCLONE_REMOTE,
      bucket: input.objectStore.backupsBucket,
      prefix: "postgres",
      retention_days: input.config.data.backupRetentionDays,
      // vm: the object store is only reachable inside the Compose network.
      rclone: "container",
    },
    proxy: proxiedServices(),
    buckets: input.target === "vm" ? [...new Set([input.objectStore.assetsBucket, input.objectStore.backupsBucket])].sort() : [],
  };
  files["release.json"] = JSON.stringify(release, null, 2) + "\n";

  return Object.fromEntries(Object.keys(files).sort().map((k) => [k, files[k]]));
}
