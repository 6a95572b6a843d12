// The one place where stack config is read and validated. Everything downstream
// receives a typed, already-validated object, so no component re-checks input
// and no resource is declared from a bad value.
import { z } from "zod";
import { IMAGES, unknownOverrideKeys } from "./images";
import { RDS_MAX_BACKUP_DAYS, awsCron } from "./aws-schedule";
import { DEFAULT_RATE_LIMIT_MAX, DEFAULT_RATE_LIMIT_WINDOW_MS } from "./app-contract";
import {
  DO_DB_SIZES,
  DO_DROPLET_SIZES,
  DO_DROPLET_IMAGES,
  DO_REGIONS,
  RDS_INSTANCE_CLASSES,
  ELASTICACHE_NODE_TYPES,
  FARGATE_SIZES,
  AWS_REGIONS,
} from "./catalog";

export const PROJECT = "freshtrack";
export const TARGETS = ["vm", "digitalocean", "aws"] as const;
export type Target = (typeof TARGETS)[number];

/** Keys whose values are credentials: they must be set with `--secret` and are only ever read as Outputs. */
export const USER_SECRET_KEYS = [
  "stackAuthSecretKey",
  "ttnApiKey",
  "ttnAdminApiKey",
  "stripeSecretKey",
  "stripeWebhookSecret",
  "resendApiKey",
  "telnyxApiKey",
  "sentryDsn",
  "alertWebhookUrl",
  "alertHeartbeatUrl",
  "vmSshPrivateKey",
  "registryToken",
  "vmBackupRemoteSecretAccessKey",
] as const;
export type UserSecretKey = (typeof USER_SECRET_KEYS)[number];

/** Phases of a move between targets (components/move, docs/move.md), in the order the operator advances them. */
export const MOVE_PHASES = ["prepare", "cutover", "retire", "rollback"] as const;
export type MovePhase = (typeof MOVE_PHASES)[number];
/** Move credentials: read only as secret Outputs by components/move, never fed to app files. */
export const MOVE_SECRET_KEYS = ["moveVmSshPrivateKey"] as const;

/** Connections PgBouncer never hands out: superuser reserve, migrations, backups, restore checks, admin. */
export const DB_CONNECTION_HEADROOM = 15;

export class ConfigError extends Error {
  constructor(public readonly problems: { key: string; message: string }[]) {
    super("Invalid stack configuration (no resource was declared):\n" + problems.map((p) => `  - ${PROJECT}:${p.key}: ${p.message}`).join("\n"));
    this.name = "ConfigError";
  }
}

// ---- value checks (exported for tests and for other modules) -----------------

const HOSTNAME_RE = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)+$/;
const EMAIL_RE = /^[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$/;
const IPV4_RE = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

export function isHostname(s: string): boolean {
  return HOSTNAME_RE.test(s);
}
export function isEmail(s: string): boolean {
  return EMAIL_RE.test(s);
}
export function isIPv4(s: string): boolean {
  return IPV4_RE.test(s);
}
export function isCidr(s: string): boolean {
  const m = /^([^/]+)\/(\d{1,3})$/.exec(s);
  if (!m) return false;
  const prefix = Number(m[2]);
  if (isIPv4(m[1])) return prefix <= 32;
  // IPv6: eight hex groups (or fewer with one "::"), so the world-coverage check reads the same address the cloud API will.
  return /^[0-9a-fA-F:]+$/.test(m[1]) && parseIp(m[1])?.family === "IPv6" && prefix <= 128;
}

export interface ImageRef {
  registry?: string;
  repository: string;
  tag?: string;
  digest?: string;
}

/** Parses `[registry/]repo[:tag][@sha256:hex]`. Returns a reason string when it is not a pinned reference. */
export function parseImageRef(ref: string): ImageRef | string {
  const m =
    /^(?:([a-z0-9.-]+(?::\d+)?)\/)?([a-z0-9]+(?:[._-][a-z0-9]+)*(?:\/[a-z0-9]+(?:[._-][a-z0-9]+)*)*)(?::([A-Za-z0-9_][A-Za-z0-9_.-]{0,127}))?(?:@(sha256:[a-f0-9]{64}))?$/.exec(
      ref,
    );
  if (!m) return `"${ref}" is not an image reference (expected registry/org/name:tag or name@sha256:...)`;
  let registry: string | undefined = m[1];
  let repository = m[2];
  const [, , , tag, digest] = m;
  // "org/name" has no registry: the first part is a registry only if it looks like a host.
  if (registry && !/[.:]/.test(registry) && registry !== "localhost") {
    repository = `${registry}/${repository}`;
    registry = undefined;
  }
  if (!tag && !digest) return `"${ref}" has no tag: pin a version (e.g. :1.4.2) or a digest`;
  if (tag === "latest") return `"${ref}" uses :latest, which changes under you: pin a version`;
  return { registry, repository, tag, digest };
}

/** 5-field cron with numbers, ranges, steps, lists and `*`. */
export function isCron(s: string): boolean {
  const fields = s.trim().split(/\s+/);
  if (fields.length !== 5) return false;
  const limits = [
    [0, 59],
    [0, 23],
    [1, 31],
    [1, 12],
    [0, 7],
  ];
  return fields.every((f, i) =>
    f.split(",").every((part) => {
      const m = /^(\*|(\d+)(?:-(\d+))?)(?:\/(\d+))?$/.exec(part);
      if (!m) return false;
      const [lo, hi] = limits[i];
      const nums = [m[2], m[3]].filter((x) => x !== undefined).map(Number);
      return nums.every((n) => n >= lo && n <= hi) && (m[4] === undefined || Number(m[4]) > 0);
    }),
  );
}

// ---- typed config ----------------------------------------------------------

export interface AppSettings {
  domain: string;
  operatorEmail: string;
  tlsMode: "acme" | "internal";
  images: { backend: string; worker: string; frontend: string };
  /** Infrastructure image replacements, by key of core/images.ts. */
  imageOverrides: Record<string, string>;
  /** Resolve tags to registry digests at preview/up (components/shared/image-digests.ts). */
  imageDigests: boolean;
  /** Private registry login (the token is the secret `registryToken`); absent: public images. */
  registry?: { server: string; user: string };
  logLevel: string;
  stackAuthProjectId: string;
  stackAuthPublishableKey: string;
  ttnApiUrl: string;
  ttnApplicationId: string;
  emailFromAddress: string;
  telnyxPhoneNumber: string;
  telnyxMessagingProfileId: string;
  /** RATE_LIMIT_MAX requests per RATE_LIMIT_WINDOW ms, per backend instance; behind the proxy one bucket holds every webhook. */
  rateLimit: { max: number; windowMs: number; expectedWebhooksPerMinute: number };
}

export interface DataSettings {
  backupRetentionDays: number;
  backupSchedule: string;
  dbMaxConnections: number;
  poolSize: number;
  maxClientConnections: number;
  generations: { dbPassword: number; redisPassword: number; jwtSecret: number };
  observability: boolean;
}

export interface VmSettings {
  host: string;
  port: number;
  user: string;
  hostKey: string;
  appDir: string;
  firewall: boolean;
  purgeOnDelete: boolean;
  /** Where this host's outbound connections come from when not from `host` (a NAT): an IP address or CIDR. The other side of a move accepts the move key from there. */
  egressAddress?: string;
  /** Where bin/backup puts dumps and uploads: an S3-compatible remote off the host (the secret key is vmBackupRemoteSecretAccessKey); absent only with backupOnHostOnly. */
  backupRemote?: BackupRemote;
  /** The operator accepted that backups stay on the host's own disk (no remote): preflight, status and a daily alert say so. */
  backupOnHostOnly: boolean;
}

/** An S3-compatible bucket off the host, as rclone reaches it. */
export interface BackupRemote {
  endpoint: string;
  bucket: string;
  region: string;
  accessKeyId: string;
  /** rclone's s3 `provider` (quirks per provider; "Other" for any S3-compatible service). */
  provider: string;
}

/** rclone s3 providers an operator may name for the off-host remote (vmBackupRemoteProvider). */
export const BACKUP_REMOTE_PROVIDERS = [
  "Other",
  "AWS",
  "Ceph",
  "Cloudflare",
  "DigitalOcean",
  "GCS",
  "IONOS",
  "Minio",
  "Scaleway",
  "SeaweedFS",
  "Wasabi",
] as const;
/** The off-host remote's settings, in the order docs and messages name them. */
export const BACKUP_REMOTE_KEYS = ["vmBackupRemoteEndpoint", "vmBackupRemoteBucket", "vmBackupRemoteAccessKeyId", "vmBackupRemoteSecretAccessKey"] as const;

export interface DoSettings {
  region: string;
  dropletSize: string;
  dropletImage: string;
  dbSize: string;
  dbVersion: string;
  /** max_connections of the chosen plan. */
  dbMaxConnections: number;
  sshCidrs: string[];
  sshKeyFingerprints: string[];
  dropletBackups: "off" | "weekly" | "daily";
  manageDns: boolean;
  dnsZone: string;
  appDir: string;
  purgeOnDelete: boolean;
}

export interface AwsSettings {
  region: string;
  route53ZoneId: string;
  natGateway: boolean;
  architecture: "ARM64" | "X86_64";
  dbInstanceClass: string;
  dbAllocatedStorageGb: number;
  dbEngineVersion: string;
  redisNodeType: string;
  backend: { cpu: number; memory: number; count: number };
  worker: { cpu: number; memory: number };
  frontend: { cpu: number; memory: number };
  logRetentionDays: number;
  containerInsights: boolean;
  ecsExec: boolean;
}

/** A move of this customer from `target` to `to`, declared in config (docs/move.md). */
export interface MoveSettings {
  to: Target;
  phase: MovePhase;
  /** Retire/rollback delete the released side's data too (volumes, database, buckets) instead of keeping them. */
  purge: boolean;
  /** TTL (s) the operator lowers the app's DNS records to during prepare. */
  dnsTtl: number;
  /** TTL (s) the records had before the move: the old side keeps forwarding at least this long after the DNS change. */
  previousDnsTtl: number;
  /** The operator copied the data where the program does not (moveManualDataCopy: a move off aws, a rollback after a cutover onto aws). */
  manualDataCopy: boolean;
  /** Between hosts: the cutover is refused when the prepare's copy (its freeze's forecast) took longer (s). */
  maxFreezeSeconds: number;
  /** vm -> vm: the new host (the old one stays in `vm`). */
  vm?: VmSettings;
  /** PgBouncer pool size on the new side (derived from its database when poolSize is 0). */
  poolSize?: number;
}

export interface FreshtrackConfig {
  target: Target;
  /** Present while a move is declared (moveTo set). */
  move?: MoveSettings;
  app: AppSettings;
  data: DataSettings;
  vm?: VmSettings;
  digitalocean?: DoSettings;
  aws?: AwsSettings;
  /** User-supplied secret keys that have a value in this stack. */
  secretsSet: UserSecretKey[];
}

// ---- parsing ---------------------------------------------------------------

type Raw = Record<string, string | undefined>;

/** Raw config as Pulumi hands it over: strings, with arrays/objects JSON-encoded. */
/**
 * `onDefault` is told the default of every key as it is read (tests/unit/config-defaults.test.ts
 * checks each one equals the default Pulumi.yaml declares, so the two cannot drift).
 */
export function parseConfig(raw: Raw, secretKeys: ReadonlySet<string>, onDefault?: (key: string, dflt: unknown) => void): FreshtrackConfig {
  const problems: { key: string; message: string }[] = [];
  const bad = (key: string, message: string) => problems.push({ key, message });

  const str = (key: string, dflt = ""): string => {
    onDefault?.(key, dflt);
    return (raw[key] ?? dflt).trim();
  };
  const int = (key: string, dflt: number, min: number, max: number): number => {
    onDefault?.(key, dflt);
    const v = raw[key];
    if (v === undefined || v === "") return dflt;
    const n = Number(v);
    if (!Number.isInteger(n) || n < min || n > max) {
      bad(key, `"${v}" must be a whole number from ${min} to ${max}. Fix: pulumi config set ${key} ${dflt}`);
      return dflt;
    }
    return n;
  };
  const bool = (key: string, dflt: boolean): boolean => {
    onDefault?.(key, dflt);
    const v = raw[key];
    if (v === undefined || v === "") return dflt;
    if (v === "true" || v === "false") return v === "true";
    bad(key, `"${v}" must be true or false. Fix: pulumi config set ${key} ${dflt}`);
    return dflt;
  };
  const list = (key: string): string[] => {
    onDefault?.(key, []);
    const v = raw[key];
    if (v === undefined || v === "") return [];
    const parsed = z.array(z.string()).safeParse(safeJson(v));
    if (!parsed.success) {
      bad(key, `must be a list of strings. Fix: pulumi config set --path '${key}[0]' VALUE`);
      return [];
    }
    return parsed.data;
  };
  const oneOf = <T extends string>(key: string, allowed: readonly T[], dflt: T): T => {
    const v = str(key, dflt);
    if ((allowed as readonly string[]).includes(v)) return v as T;
    bad(key, `"${v}" is not one of ${allowed.join(", ")}. Fix: pulumi config set ${key} ${dflt}`);
    return dflt;
  };
  const required = (key: string, what: string, example: string): string => {
    const v = str(key);
    if (!v) bad(key, `is required (${what}). Fix: pulumi config set ${key} ${example}`);
    return v;
  };
  const image = (key: string, example: string): string => {
    const v = required(key, "a pinned image reference", example);
    if (v) {
      const r = parseImageRef(v);
      if (typeof r === "string") bad(key, `${r}. Fix: pulumi config set ${key} ${example}`);
    }
    return v;
  };

  // Secrets: refuse plain-text credentials; they would sit unencrypted in Pulumi.<stack>.yaml.
  const secretsSet: UserSecretKey[] = [];
  for (const key of USER_SECRET_KEYS) {
    onDefault?.(key, "");
    if (!raw[key]) continue;
    if (!secretKeys.has(key)) {
      bad(key, `is a credential but is stored in plain text. Fix: pulumi config rm ${key} && pulumi config set --secret ${key} VALUE`);
    }
    secretsSet.push(key);
  }

  for (const key of MOVE_SECRET_KEYS) {
    if (raw[key] && !secretKeys.has(key))
      bad(key, `is a credential but is stored in plain text. Fix: pulumi config rm ${key} && pulumi config set --secret ${key} VALUE`);
  }

  const rawTarget = str("target", "vm");
  let target: Target = "vm";
  if ((TARGETS as readonly string[]).includes(rawTarget)) target = rawTarget as Target;
  else bad("target", `"${rawTarget}" is not a target we deploy to. Fix: pulumi config set target vm (or digitalocean, aws)`);

  const domain = required("domain", "the public hostname of the app", "app.customer.example").toLowerCase();
  if (domain && !isHostname(domain)) bad("domain", `"${domain}" is not a fully qualified hostname. Fix: pulumi config set domain app.customer.example`);
  const operatorEmail = required("operatorEmail", "certificates and alerts go there", "ops@customer.example");
  if (operatorEmail && !isEmail(operatorEmail))
    bad("operatorEmail", `"${operatorEmail}" is not an email address. Fix: pulumi config set operatorEmail ops@customer.example`);

  const imageOverrides: Record<string, string> = {};
  for (const entry of list("imageOverrides")) {
    const m = /^([a-z0-9-]+)=(.+)$/.exec(entry);
    if (!m) {
      bad("imageOverrides", `"${entry}" must look like NAME=IMAGE. Fix: e.g. postgres=registry.local/postgres:16.10-alpine`);
      continue;
    }
    const r = parseImageRef(m[2]);
    if (typeof r === "string") bad("imageOverrides", `${m[1]}: ${r}. Fix: pin the replacement, e.g. ${m[1]}=registry.local/${m[1]}:1.2.3`);
    imageOverrides[m[1]] = m[2];
  }
  for (const key of APP_IMAGE_OVERRIDE_KEYS.filter((k) => k in imageOverrides)) {
    bad(
      "imageOverrides",
      `"${key}" would be ignored: the app images come from ${key}Image. Fix: pulumi config set ${key}Image ${imageOverrides[key]}, then remove "${key}=..." from imageOverrides`,
    );
  }
  for (const key of unknownOverrideKeys(imageOverrides).filter((k) => !APP_IMAGE_OVERRIDE_KEYS.includes(k))) {
    bad("imageOverrides", `"${key}" names no image we run. Fix: use one of ${Object.keys(IMAGES).join(", ")}`);
  }

  const emailFromAddress = str("emailFromAddress") || (domain ? `alerts@${domain}` : "");
  if (raw["emailFromAddress"] && !isEmail(emailFromAddress))
    bad("emailFromAddress", `"${emailFromAddress}" is not an email address. Fix: pulumi config set emailFromAddress alerts@customer.example`);
  const telnyxPhoneNumber = str("telnyxPhoneNumber");
  if (telnyxPhoneNumber && !/^\+[1-9]\d{6,14}$/.test(telnyxPhoneNumber))
    bad("telnyxPhoneNumber", `"${telnyxPhoneNumber}" is not an E.164 number. Fix: pulumi config set telnyxPhoneNumber +15551234567`);
  const ttnApiUrl = str("ttnApiUrl", "https://eu1.cloud.thethings.network");
  if (!/^https:\/\/[^\s/]+(\/\S*)?$/.test(ttnApiUrl))
    bad("ttnApiUrl", `"${ttnApiUrl}" must be an https:// URL. Fix: pulumi config set ttnApiUrl https://eu1.cloud.thethings.network`);

  // Registry credentials: all three or none, so a half-configured login fails here, not at a pull.
  const registryServer = str("registryServer").toLowerCase();
  const registryUser = str("registryUser");
  let registry: AppSettings["registry"];
  if (registryServer || registryUser || raw["registryToken"]) {
    if (!registryServer) bad("registryServer", "is required with registryUser/registryToken. Fix: pulumi config set registryServer ghcr.io");
    else if (!/^[a-z0-9]([a-z0-9.-]*[a-z0-9])?(:\d{1,5})?$/.test(registryServer))
      bad("registryServer", `"${registryServer}" must be a registry host[:port], without scheme or path. Fix: pulumi config set registryServer ghcr.io`);
    if (!registryUser) bad("registryUser", "is required with registryServer/registryToken. Fix: pulumi config set registryUser deploy-bot");
    else if (/[\s:]/.test(registryUser))
      bad("registryUser", `"${registryUser}" must not contain spaces or ':'. Fix: pulumi config set registryUser deploy-bot`);
    if (!raw["registryToken"]) bad("registryToken", "is required with registryServer/registryUser. Fix: pulumi config set --secret registryToken < token-file");
    registry = { server: registryServer, user: registryUser };
  }

  const app: AppSettings = {
    domain,
    operatorEmail,
    tlsMode: oneOf("tlsMode", ["acme", "internal"] as const, "acme"),
    images: {
      backend: image("backendImage", "ghcr.io/ORG/frostguard-backend:1.2.3"),
      worker: image("workerImage", "ghcr.io/ORG/frostguard-worker:1.2.3"),
      frontend: image("frontendImage", "ghcr.io/ORG/frostguard-frontend:1.2.3"),
    },
    imageOverrides,
    imageDigests: bool("imageDigests", true),
    ...(registry ? { registry } : {}),
    logLevel: oneOf("logLevel", ["trace", "debug", "info", "warn", "error", "fatal"] as const, "info"),
    stackAuthProjectId: required("stackAuthProjectId", "the backend exits at start without it", "YOUR-STACK-AUTH-PROJECT-ID"),
    stackAuthPublishableKey: str("stackAuthPublishableKey"),
    ttnApiUrl,
    ttnApplicationId: str("ttnApplicationId"),
    emailFromAddress,
    telnyxPhoneNumber,
    telnyxMessagingProfileId: str("telnyxMessagingProfileId"),
    rateLimit: {
      max: int("rateLimitMax", DEFAULT_RATE_LIMIT_MAX, 1, 10_000_000),
      windowMs: int("rateLimitWindowMs", DEFAULT_RATE_LIMIT_WINDOW_MS, 1000, 3_600_000),
      expectedWebhooksPerMinute: int("expectedWebhooksPerMinute", 0, 0, 10_000_000),
    },
  };
  {
    // Every webhook shares one bucket behind the proxy: a limit below the fleet's rate refuses readings (lost for good).
    const { max, windowMs, expectedWebhooksPerMinute: perMin } = app.rateLimit;
    const perWindow = Math.ceil((perMin * windowMs) / 60000);
    if (perMin > 0 && max < perWindow) {
      const fit = Math.ceil((perWindow * 2) / 1000) * 1000;
      bad(
        "rateLimitMax",
        `${max} per ${windowMs} ms is below the expected webhook rate (expectedWebhooksPerMinute ${perMin} = ${perWindow} per window): readings beyond it get HTTP 429 and are lost. Fix: pulumi config set rateLimitMax ${fit} (twice the rate: bursts after an outage, UI traffic in the same bucket)`,
      );
    }
  }

  const backupSchedule = str("backupSchedule", "17 3 * * *");
  if (!isCron(backupSchedule))
    bad("backupSchedule", `"${backupSchedule}" is not a 5-field cron expression. Fix: pulumi config set backupSchedule "17 3 * * *"`);
  else if (target === "aws") {
    // Checked whatever the retention: raising backupRetentionDays past 35 later must not fail mid-deploy.
    const problem = awsScheduleProblem(backupSchedule);
    if (problem)
      bad(
        "backupSchedule",
        `${problem}. Fix: one run per day or hour with at most one day field restricted, e.g. pulumi config set backupSchedule "17 3 * * *"`,
      );
  }

  const data: DataSettings = {
    backupRetentionDays: int("backupRetentionDays", 30, 7, 3650),
    backupSchedule,
    dbMaxConnections: int("dbMaxConnections", 100, 25, 5000),
    poolSize: int("poolSize", 0, 0, 1000),
    maxClientConnections: int("maxClientConnections", 1000, 10, 100000),
    generations: {
      dbPassword: int("dbPasswordGeneration", 1, 1, 1_000_000),
      redisPassword: int("redisPasswordGeneration", 1, 1, 1_000_000),
      jwtSecret: int("jwtSecretGeneration", 1, 1, 1_000_000),
    },
    observability: bool("observability", true),
  };

  const cfg: FreshtrackConfig = { target, app, data, secretsSet };
  const moveTo = parseMove(raw, target, cfg, bad, onDefault);
  const appDir = str("vmAppDir", "/opt/freshtrack");
  const systemDir = systemDirectoryOf(appDir);
  if (systemDir)
    bad(
      "vmAppDir",
      `"${appDir}" is the system directory ${systemDir}: removing the stack with vmPurgeOnDelete runs rm -rf on it, and the host keeps its own files there. Fix: pulumi config set vmAppDir /opt/freshtrack (a directory of its own)`,
    );
  else if (!/^\/[A-Za-z0-9._/-]+$/.test(appDir) || appDir.includes(".."))
    bad("vmAppDir", `"${appDir}" must be an absolute path of letters, digits, . _ - and /. Fix: pulumi config set vmAppDir /opt/freshtrack`);
  const purgeOnDelete = bool("vmPurgeOnDelete", false);

  // A move's destination needs its own settings: vm -> digitalocean reads the do* keys, digitalocean -> vm the vm* keys.
  if (target === "vm" || moveTo === "vm") {
    const host = required("vmHost", "the address of the customer's host", "203.0.113.10");
    if (host && !isIPv4(host) && !isHostname(host.toLowerCase()) && !/^[0-9a-fA-F:]+$/.test(host))
      bad("vmHost", `"${host}" is neither an IP address nor a hostname. Fix: pulumi config set vmHost 203.0.113.10`);
    const hostKey = required("vmHostKey", "the host's public SSH key, checked out of band", '"ssh-ed25519 AAAA..."');
    if (hostKey && !/^(ssh-ed25519|ecdsa-sha2-nistp(256|384|521)|ssh-rsa) [A-Za-z0-9+/]+={0,3}( \S.*)?$/.test(hostKey)) {
      bad(
        "vmHostKey",
        `must be one line "TYPE BASE64" as printed by ssh-keyscan (without the host name). Fix: ssh-keyscan -t ed25519 HOST, verify it, then pulumi config set vmHostKey "ssh-ed25519 AAAA..."`,
      );
    } else if (hostKey.startsWith("ssh-rsa ")) {
      bad(
        "vmHostKey",
        `is an ssh-rsa key: the deploy's SSH client (pulumi-command) verifies RSA host keys only with SHA-1 signatures, which current OpenSSH servers refuse to make. Fix: ssh-keyscan -t ed25519 HOST (or -t ecdsa), verify it, then pulumi config set vmHostKey "ssh-ed25519 AAAA..."`,
      );
    }
    if (!raw["vmSshPrivateKey"])
      bad("vmSshPrivateKey", "is required for target vm. Fix: pulumi config set --secret vmSshPrivateKey < ~/.ssh/freshtrack_deploy");
    const user = str("vmUser", "root");
    if (!/^[a-z_][a-z0-9_-]{0,31}$/.test(user)) bad("vmUser", `"${user}" is not a Unix user name. Fix: pulumi config set vmUser root`);
    const egress = egressAddress("vmEgressAddress", str("vmEgressAddress"), bad);
    cfg.vm = {
      host,
      port: int("vmPort", 22, 1, 65535),
      user,
      hostKey,
      appDir,
      firewall: bool("vmFirewall", false),
      purgeOnDelete,
      ...(egress ? { egressAddress: egress } : {}),
      ...parseBackupRemote(raw, str, bool, oneOf, bad),
    };
    if (cfg.move?.vm) Object.assign(cfg.move.vm, { backupRemote: cfg.vm.backupRemote, backupOnHostOnly: cfg.vm.backupOnHostOnly });
  }

  if (target === "digitalocean" || moveTo === "digitalocean") {
    const region = oneOf("doRegion", DO_REGIONS, "fra1");
    const dbSize = oneOf("doDbSize", Object.keys(DO_DB_SIZES), "db-s-1vcpu-1gb");
    const sshCidrs = list("doSshCidrs");
    for (const c of sshCidrs) if (!isCidr(c)) bad("doSshCidrs", `"${c}" is not a CIDR. Fix: e.g. 198.51.100.7/32`);
    const world = worldOpenFamilies(sshCidrs.filter(isCidr));
    if (world.length)
      bad(
        "doSshCidrs",
        `together cover every ${world.join(" and every ")} address, which opens SSH to the whole internet. Fix: list your deploy machine's and operators' addresses, e.g. 198.51.100.7/32`,
      );
    if (sshCidrs.length === 0) bad("doSshCidrs", "is empty, so nothing could deploy over SSH. Fix: pulumi config set --path 'doSshCidrs[0]' 198.51.100.7/32");
    const manageDns = bool("doManageDns", false);
    const dnsZone = str("doDnsZone").toLowerCase();
    if (manageDns && !dnsZone) bad("doDnsZone", "is required when doManageDns is true. Fix: pulumi config set doDnsZone customer.example");
    if (dnsZone && domain && domain !== dnsZone && !domain.endsWith(`.${dnsZone}`))
      bad("doDnsZone", `"${dnsZone}" does not contain the domain ${domain}. Fix: set doDnsZone to the zone the domain lives in`);
    const dbVersion = oneOf("doDbVersion", ["14", "15", "16", "17"] as const, "16");
    // The droplet dumps (bin/backup, bin/move-export) with the release's postgres image (16), and
    // pg_dump refuses a server newer than itself: a 17 cluster could never be backed up or moved.
    if (dbVersion === "17")
      bad(
        "doDbVersion",
        `"17" is newer than the PostgreSQL 16 tools the droplet backs up and moves its database with (pg_dump refuses a newer server). Fix: pulumi config set doDbVersion 16`,
      );
    cfg.digitalocean = {
      region,
      dropletSize: oneOf("doDropletSize", DO_DROPLET_SIZES, "s-2vcpu-4gb"),
      dropletImage: oneOf("doDropletImage", DO_DROPLET_IMAGES, "ubuntu-24-04-x64"),
      dbSize,
      dbVersion,
      dbMaxConnections: DO_DB_SIZES[dbSize]?.maxConnections ?? 25,
      sshCidrs,
      sshKeyFingerprints: list("doSshKeyFingerprints"),
      dropletBackups: oneOf("doDropletBackups", ["off", "weekly", "daily"] as const, "weekly"),
      manageDns,
      dnsZone,
      appDir,
      purgeOnDelete,
    };
  }

  if (target === "aws" || moveTo === "aws") {
    const cpuMem = (prefix: string, dCpu: number, dMem: number) => {
      const cpu = int(`${prefix}Cpu`, dCpu, 256, 16384);
      const memory = int(`${prefix}Memory`, dMem, 512, 122880);
      const allowed = FARGATE_SIZES[cpu];
      if (!allowed)
        bad(`${prefix}Cpu`, `${cpu} is not a Fargate CPU size (${Object.keys(FARGATE_SIZES).join(", ")}). Fix: pulumi config set ${prefix}Cpu ${dCpu}`);
      else if (!allowed.includes(memory))
        bad(
          `${prefix}Memory`,
          `${memory} MiB is not offered with ${cpu} CPU units (from ${allowed[0]} to ${allowed[allowed.length - 1]}). Fix: pulumi config set ${prefix}Memory ${allowed[0]}`,
        );
      return { cpu, memory };
    };
    const zone = str("awsRoute53ZoneId");
    if (zone && !/^Z[A-Z0-9]{4,32}$/.test(zone))
      bad(
        "awsRoute53ZoneId",
        `"${zone}" is not a Route 53 hosted zone id. Fix: aws route53 list-hosted-zones, then pulumi config set awsRoute53ZoneId Z0123456789ABC`,
      );
    cfg.aws = {
      region: oneOf("awsRegion", AWS_REGIONS, "us-east-1"),
      route53ZoneId: zone,
      natGateway: bool("awsNatGateway", false),
      architecture: oneOf("awsArchitecture", ["ARM64", "X86_64"] as const, "ARM64"),
      dbInstanceClass: oneOf("awsDbInstanceClass", RDS_INSTANCE_CLASSES, "db.t4g.micro"),
      dbAllocatedStorageGb: int("awsDbAllocatedStorageGb", 20, 20, 1000),
      dbEngineVersion: oneOf("awsDbEngineVersion", ["15", "16", "17"] as const, "16"),
      redisNodeType: oneOf("awsRedisNodeType", ELASTICACHE_NODE_TYPES, "cache.t4g.micro"),
      backend: { ...cpuMem("awsBackend", 512, 1024), count: int("awsBackendCount", 1, 1, 20) },
      worker: cpuMem("awsWorker", 256, 512),
      frontend: cpuMem("awsFrontend", 256, 512),
      logRetentionDays: int("awsLogRetentionDays", 30, 1, 3653),
      containerInsights: bool("awsContainerInsights", false),
      ecsExec: bool("awsEcsExec", false),
    };
  }

  // PgBouncer must never be able to open more server connections than PostgreSQL accepts.
  // One pool (database frostguard x user frostguard); headroom keeps migrations, backups and admin working.
  // The serving target decides (during a move cfg.digitalocean may describe the new side only).
  const onDo = target === "digitalocean" && cfg.digitalocean;
  const maxConnections = onDo ? cfg.digitalocean!.dbMaxConnections : data.dbMaxConnections;
  const maxKey = onDo ? "doDbSize" : "dbMaxConnections";
  const derivedPool = data.poolSize === 0;
  // poolSize 0 means "derive": the largest pool that keeps the headroom, capped at 20.
  if (derivedPool) data.poolSize = Math.max(1, Math.min(20, maxConnections - DB_CONNECTION_HEADROOM - 1));
  if (cfg.move) {
    // The new side's pool, from its own database (vm -> digitalocean often has fewer connections).
    const newMax = cfg.move.to === "digitalocean" && cfg.digitalocean ? cfg.digitalocean.dbMaxConnections : data.dbMaxConnections;
    cfg.move.poolSize = derivedPool ? Math.max(1, Math.min(20, newMax - DB_CONNECTION_HEADROOM - 1)) : data.poolSize;
    if (cfg.move.to !== "aws" && cfg.move.poolSize >= newMax - DB_CONNECTION_HEADROOM)
      bad(
        "poolSize",
        `${cfg.move.poolSize} leaves no headroom on the new side (max_connections ${newMax}) - ${DB_CONNECTION_HEADROOM}. Fix: pulumi config set poolSize 0 (derived per side), or a larger database on the new side`,
      );
  }
  if (target !== "aws" && data.poolSize >= maxConnections - DB_CONNECTION_HEADROOM) {
    const fit = Math.max(1, maxConnections - DB_CONNECTION_HEADROOM - 1);
    bad(
      "poolSize",
      `${data.poolSize} leaves no headroom: pools x poolSize must be < max_connections (${maxConnections}, from ${maxKey}) - ${DB_CONNECTION_HEADROOM}. Fix: pulumi config set poolSize ${fit}, or a larger ${maxKey}`,
    );
  }
  if (data.maxClientConnections < data.poolSize)
    bad("maxClientConnections", `${data.maxClientConnections} is below poolSize ${data.poolSize}. Fix: pulumi config set maxClientConnections 1000`);

  // The new side must not take the app's DNS name before cutover: the program would flip it at prepare.
  if (cfg.move?.to === "digitalocean" && cfg.target !== "digitalocean" && cfg.digitalocean?.manageDns)
    bad(
      "doManageDns",
      "is true on the new side of a move: its A records would take the domain away from the serving side at prepare. Fix: pulumi config set doManageDns false until the move is finished (docs/move.md)",
    );
  if (cfg.move?.to === "aws" && cfg.target !== "aws" && cfg.aws?.route53ZoneId)
    bad(
      "awsRoute53ZoneId",
      "is set on the new side of a move: its alias records would take the domain away from the serving side at prepare. Fix: pulumi config rm awsRoute53ZoneId until the move is finished (docs/move.md)",
    );
  if (cfg.move?.phase === "retire" && !cfg.move.purge && (cfg.vm?.purgeOnDelete ?? false) && target !== "aws") {
    bad(
      "movePurgeOld",
      `is false but vmPurgeOnDelete is true: removing the old ${target} side after retire would delete its data. Fix: pulumi config set vmPurgeOnDelete false (and pulumi up) before retire, or pulumi config set movePurgeOld true to delete it knowingly`,
    );
  }

  if (problems.length) throw new ConfigError(problems);
  return cfg;
}

/** The move keys (moveTo, movePhase, ...). Sets cfg.move; returns the destination target, if any. */
/** Defaults of the move keys (as declared in Pulumi.yaml; tests/unit/config-defaults.test.ts compares them). */
const MOVE_DEFAULTS = {
  moveTo: "",
  movePhase: "prepare",
  movePurgeOld: false,
  moveDnsTtlSeconds: 60,
  movePreviousDnsTtlSeconds: 3600,
  moveVmHost: "",
  moveVmPort: 22,
  moveVmUser: "root",
  moveVmHostKey: "",
  moveVmSshPrivateKey: "",
  moveVmEgressAddress: "",
  moveManualDataCopy: false,
  moveMaxFreezeSeconds: 300,
};

/**
 * How long a move's request holder keeps a request before answering 503 (s): FT_MOVE_HOLD_MS in
 * compose/files/bin/lib/hold.sh, kept equal by a test. A cutover between hosts may forecast a
 * freeze of at most this less one minute (the new app's start, the database's growth since).
 */
export const MOVE_HOLD_SECONDS = 600;

/**
 * Both sides are hosts (vm, digitalocean): the data moves over SSH, a rollback after cutover
 * copies it back and the cutover forecasts its freeze.
 */
export function moveBetweenHosts(from: Target, to: Target): boolean {
  return from !== "aws" && to !== "aws";
}

/**
 * A rollback after cutover can copy the new side's data back by itself: between hosts over SSH;
 * off aws, the new host pushes into aws's buckets and aws's import task restores it; onto aws,
 * aws's export task and the old host's import, while the load balancer's forwarder sends every
 * request to the old host, verified against the public CAs: not with tlsMode internal, where the
 * operator copies it and says so (moveManualDataCopy).
 */
export function moveCopiesBack(from: Target, to: Target, tlsMode: string): boolean {
  return !(from !== "aws" && to === "aws" && tlsMode !== "acme");
}

function parseMove(
  raw: Raw,
  target: Target,
  cfg: FreshtrackConfig,
  bad: (key: string, message: string) => void,
  onDefault?: (key: string, dflt: unknown) => void,
): Target | undefined {
  for (const [k, d] of Object.entries(MOVE_DEFAULTS)) onDefault?.(k, d);
  const v = (k: string) => (raw[k] ?? "").trim();
  const to = v("moveTo");
  const phase = v("movePhase") || MOVE_DEFAULTS.movePhase;
  if (!to) {
    for (const k of ["movePhase", "movePurgeOld", "moveVmHost", "moveVmHostKey", "moveVmSshPrivateKey", "moveVmEgressAddress", "moveManualDataCopy"]) {
      if (v(k) && !(k === "movePhase" && phase === "prepare") && !((k === "movePurgeOld" || k === "moveManualDataCopy") && v(k) === "false"))
        bad(k, `is set but no move is declared. Fix: pulumi config rm ${k} (or pulumi config set moveTo TARGET to start a move, see docs/move.md)`);
    }
    return undefined;
  }
  if (!(TARGETS as readonly string[]).includes(to)) {
    bad("moveTo", `"${to}" is not a target we deploy to. Fix: pulumi config set moveTo vm (or digitalocean, aws)`);
    return undefined;
  }
  if (to === target && to !== "vm") {
    bad("moveTo", `"${to}" is already this stack's target; only vm -> vm (a new host) moves within a target. Fix: pulumi config rm moveTo`);
    return undefined;
  }
  if (!(MOVE_PHASES as readonly string[]).includes(phase))
    bad("movePhase", `"${phase}" is not one of ${MOVE_PHASES.join(", ")}. Fix: pulumi config set movePhase prepare`);
  const num = (k: string, dflt: number, min: number, max: number) => {
    const x = v(k);
    const n = x === "" ? dflt : Number(x);
    if (!Number.isInteger(n) || n < min || n > max) {
      bad(k, `"${x}" must be a whole number from ${min} to ${max}. Fix: pulumi config set ${k} ${dflt}`);
      return dflt;
    }
    return n;
  };
  // Pairs with aws: the operator copied the data back themselves, so a rollback after a cutover
  // copies nothing (required where the program cannot: components/move/state.ts).
  const manual = v("moveManualDataCopy");
  if (manual && !["true", "false"].includes(manual))
    bad("moveManualDataCopy", `"${manual}" must be true or false. Fix: pulumi config set moveManualDataCopy false`);
  if (moveBetweenHosts(target, to as Target) && manual === "true")
    bad("moveManualDataCopy", `is for pairs with aws only; ${target} -> ${to} copies its data back itself. Fix: pulumi config rm moveManualDataCopy`);
  // An aws old side's load balancer forwards to the new host verified by the public CAs only.
  if (target === "aws" && to !== "aws" && cfg.app.tlsMode !== "acme")
    bad(
      "tlsMode",
      `must be acme for a move off aws: the load balancer's forwarder verifies the new host's certificate against the public CAs, and an internal CA is not one. Fix: pulumi config set tlsMode acme`,
    );
  const purge = v("movePurgeOld") === "true";
  if (v("movePurgeOld") && !["true", "false"].includes(v("movePurgeOld")))
    bad("movePurgeOld", `"${v("movePurgeOld")}" must be true or false. Fix: pulumi config set movePurgeOld false`);
  const move: MoveSettings = {
    to: to as Target,
    phase: phase as MovePhase,
    purge,
    manualDataCopy: manual === "true",
    maxFreezeSeconds: num("moveMaxFreezeSeconds", MOVE_DEFAULTS.moveMaxFreezeSeconds, 5, MOVE_HOLD_SECONDS - 60),
    dnsTtl: num("moveDnsTtlSeconds", MOVE_DEFAULTS.moveDnsTtlSeconds, 30, 3600),
    previousDnsTtl: num("movePreviousDnsTtlSeconds", MOVE_DEFAULTS.movePreviousDnsTtlSeconds, 30, 172800),
  };
  if (to === "vm" && target === "vm") {
    const host = v("moveVmHost");
    if (!host) bad("moveVmHost", "is required for a vm -> vm move (the new host). Fix: pulumi config set moveVmHost 203.0.113.20");
    else if (!isIPv4(host) && !isHostname(host.toLowerCase()) && !/^[0-9a-fA-F:]+$/.test(host))
      bad("moveVmHost", `"${host}" is neither an IP address nor a hostname. Fix: pulumi config set moveVmHost 203.0.113.20`);
    else if (host === v("vmHost"))
      bad("moveVmHost", `is the current host ${host}: a vm -> vm move needs a different host. Fix: pulumi config set moveVmHost NEW-HOST`);
    const hostKey = v("moveVmHostKey");
    if (!/^(ssh-ed25519|ecdsa-sha2-nistp(256|384|521)|ssh-rsa) [A-Za-z0-9+/]+={0,3}( \S.*)?$/.test(hostKey))
      bad(
        "moveVmHostKey",
        `must be the new host's key, one line "TYPE BASE64" as printed by ssh-keyscan. Fix: ssh-keyscan -t ed25519 NEW-HOST, verify it, then pulumi config set moveVmHostKey "ssh-ed25519 AAAA..."`,
      );
    if (!raw["moveVmSshPrivateKey"])
      bad("moveVmSshPrivateKey", "is required for a vm -> vm move. Fix: pulumi config set --secret moveVmSshPrivateKey < ~/.ssh/freshtrack_new_host");
    const user = v("moveVmUser") || MOVE_DEFAULTS.moveVmUser;
    if (!/^[a-z_][a-z0-9_-]{0,31}$/.test(user)) bad("moveVmUser", `"${user}" is not a Unix user name. Fix: pulumi config set moveVmUser root`);
    const appDir = v("vmAppDir") || "/opt/freshtrack";
    const egress = egressAddress("moveVmEgressAddress", v("moveVmEgressAddress"), bad);
    move.vm = {
      host,
      port: num("moveVmPort", MOVE_DEFAULTS.moveVmPort, 1, 65535),
      user,
      hostKey,
      appDir,
      firewall: v("vmFirewall") === "true",
      purgeOnDelete: v("vmPurgeOnDelete") === "true",
      ...(egress ? { egressAddress: egress } : {}),
      // The new host backs up where the old one does: parseConfig copies the vm's backup settings in.
      backupOnHostOnly: false,
    };
  }
  cfg.move = move;
  return to as Target;
}

/** The widest egress range a NAT plausibly leaves from: an IPv4 /16, an IPv6 /48 (one site). */
const EGRESS_MIN_PREFIX = { IPv4: 16, IPv6: 48 } as const;

/**
 * `key`'s value as an egress address (where a host's connections leave from, behind a NAT): one IP
 * address or a CIDR no wider than EGRESS_MIN_PREFIX (a NAT's pool; anything wider would let the
 * move key in from a large part of the internet). Undefined when empty or refused.
 */
function egressAddress(key: string, value: string, bad: (key: string, message: string) => void): string | undefined {
  if (!value) return undefined;
  const ip = parseIp(value);
  const cidr = ip ? `${value}/${ip.family === "IPv4" ? 32 : 128}` : value;
  const fix = `Fix: pulumi config set ${key} 198.51.100.7 (the address the host's connections leave from, as the other host sees them; a CIDR for a NAT's pool)`;
  const family = parseIp(cidr.split("/")[0])?.family;
  if (!isCidr(cidr) || !family) bad(key, `"${value}" is neither an IP address nor a CIDR. ${fix}`);
  else if (Number(cidr.split("/")[1]) < EGRESS_MIN_PREFIX[family])
    bad(key, `"${value}" covers too many addresses (wider than /${EGRESS_MIN_PREFIX[family]}): the move key would be accepted from all of them. ${fix}`);
  else return value;
  return undefined;
}

function safeJson(s: string): unknown {
  try {
    return JSON.parse(s);
  } catch {
    return undefined;
  }
}

// ---- checks of values that parse but are wrong --------------------------------

/** imageOverrides keys that name the app images: those come from backendImage/workerImage/frontendImage. */
const APP_IMAGE_OVERRIDE_KEYS = ["backend", "worker", "frontend"];

/** The address as a number, or undefined. IPv6 with "::" and a dotted IPv4 tail. */
export function parseIp(s: string): { family: "IPv4" | "IPv6"; value: bigint } | undefined {
  if (isIPv4(s)) return { family: "IPv4", value: s.split(".").reduce((a, o) => (a << 8n) | BigInt(o), 0n) };
  if (!/^[0-9a-fA-F:.]+$/.test(s) || !s.includes(":")) return undefined;
  let text = s;
  const tail = /^(.*:)(\d+\.\d+\.\d+\.\d+)$/.exec(s);
  if (tail) {
    if (!isIPv4(tail[2])) return undefined;
    const v4 = tail[2].split(".").map(Number);
    text = `${tail[1]}${((v4[0] << 8) | v4[1]).toString(16)}:${((v4[2] << 8) | v4[3]).toString(16)}`;
  }
  const halves = text.split("::");
  if (halves.length > 2) return undefined;
  const groups = (h: string) => (h === "" ? [] : h.split(":"));
  const head = groups(halves[0]);
  const rest = halves.length === 2 ? groups(halves[1]) : [];
  const missing = 8 - head.length - rest.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return undefined;
  const all = [...head, ...Array<string>(halves.length === 2 ? missing : 0).fill("0"), ...rest];
  if (!all.every((g) => /^[0-9a-fA-F]{1,4}$/.test(g))) return undefined;
  return { family: "IPv6", value: all.reduce((a, g) => (a << 16n) | BigInt(parseInt(g, 16)), 0n) };
}

/**
 * Address families whose whole space the CIDRs cover together (by arithmetic on
 * the ranges, not by spelling: "0.0.0.0/00", "0::/0" and the two /1 halves all count).
 */
export function worldOpenFamilies(cidrs: string[]): ("IPv4" | "IPv6")[] {
  const ranges: Record<"IPv4" | "IPv6", [bigint, bigint][]> = { IPv4: [], IPv6: [] };
  for (const c of cidrs) {
    const [addr, len] = c.split("/");
    const ip = parseIp(addr);
    if (!ip) continue;
    const bits = ip.family === "IPv4" ? 32n : 128n;
    const size = 1n << (bits - BigInt(Number(len)));
    const start = (ip.value / size) * size;
    ranges[ip.family].push([start, start + size]);
  }
  const open: ("IPv4" | "IPv6")[] = [];
  for (const family of ["IPv4", "IPv6"] as const) {
    const total = 1n << (family === "IPv4" ? 32n : 128n);
    // Merge overlapping ranges, then sum what is covered.
    let covered = 0n;
    let end = 0n;
    for (const [s, e] of ranges[family].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))) {
      const from = s > end ? s : end;
      if (e > from) covered += e - from;
      if (e > end) end = e;
    }
    if (covered >= total) open.push(family);
  }
  return open;
}

/**
 * Directories the host itself owns. APP_DIR is purged with rm -rf when the stack
 * is removed with vmPurgeOnDelete, so it must be a directory of its own.
 */
export const SYSTEM_DIRECTORIES = [
  "/",
  "/bin",
  "/boot",
  "/dev",
  "/etc",
  "/home",
  "/lib",
  "/lib32",
  "/lib64",
  "/libx32",
  "/lost+found",
  "/media",
  "/mnt",
  "/opt",
  "/proc",
  "/root",
  "/run",
  "/sbin",
  "/snap",
  "/srv",
  "/sys",
  "/tmp",
  "/usr",
  "/usr/bin",
  "/usr/lib",
  "/usr/libexec",
  "/usr/local",
  "/usr/local/bin",
  "/usr/local/lib",
  "/usr/local/sbin",
  "/usr/local/share",
  "/usr/sbin",
  "/usr/share",
  "/usr/src",
  "/var",
  "/var/backups",
  "/var/cache",
  "/var/lib",
  "/var/lib/docker",
  "/var/local",
  "/var/log",
  "/var/mail",
  "/var/opt",
  "/var/run",
  "/var/spool",
  "/var/tmp",
  "/var/www",
];
/** Trees where an app directory is wrong whatever its name: kernel and runtime filesystems, boot, system config, Docker's own state. */
const SYSTEM_TREES = ["/proc", "/sys", "/dev", "/run", "/boot", "/etc", "/var/lib/docker"];

/** The system directory `dir` resolves to (after "..", "." and repeated or trailing slashes), or undefined. */
export function systemDirectoryOf(dir: string): string | undefined {
  if (!dir.startsWith("/")) return undefined;
  const parts: string[] = [];
  for (const p of dir.split("/")) {
    if (p === "" || p === ".") continue;
    if (p === "..") parts.pop();
    else parts.push(p);
  }
  const norm = `/${parts.join("/")}`;
  if (SYSTEM_DIRECTORIES.includes(norm)) return norm;
  // A user's home directory (/home/NAME) holds that user's files.
  if (parts.length === 2 && parts[0] === "home") return norm;
  const tree = SYSTEM_TREES.find((t) => norm.startsWith(`${t}/`));
  return tree ? `${norm} (inside ${tree})` : undefined;
}

/** S3 bucket names as every provider accepts them (3-63 of a-z 0-9 . -, starting and ending with a letter or digit). */
const BUCKET_RE = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

/** http:// is accepted only for an address that never leaves a private network (a stand-in or an in-house store). */
function isPrivateHttpHost(host: string): boolean {
  return /^(127\.|10\.|192\.168\.|172\.(1[6-9]|2\d|3[01])\.)/.test(host) && isIPv4(host);
}

/**
 * vm backups leave the host by default: an S3-compatible remote (all four keys), or the operator's
 * explicit vmBackupOnHostOnly. Neither is refused, with one message naming both fixes.
 */
function parseBackupRemote(
  raw: Raw,
  str: (key: string, dflt?: string) => string,
  bool: (key: string, dflt: boolean) => boolean,
  oneOf: <T extends string>(key: string, allowed: readonly T[], dflt: T) => T,
  bad: (key: string, message: string) => void,
): { backupRemote?: BackupRemote; backupOnHostOnly: boolean } {
  const onHostOnly = bool("vmBackupOnHostOnly", false);
  const endpoint = str("vmBackupRemoteEndpoint").replace(/\/+$/, "");
  const bucket = str("vmBackupRemoteBucket");
  const accessKeyId = str("vmBackupRemoteAccessKeyId");
  const region = str("vmBackupRemoteRegion", "us-east-1");
  const provider = oneOf("vmBackupRemoteProvider", BACKUP_REMOTE_PROVIDERS, "Other");
  const given = {
    vmBackupRemoteEndpoint: !!endpoint,
    vmBackupRemoteBucket: !!bucket,
    vmBackupRemoteAccessKeyId: !!accessKeyId,
    vmBackupRemoteSecretAccessKey: !!raw["vmBackupRemoteSecretAccessKey"],
  };
  const any = Object.values(given).some(Boolean);
  if (!any) {
    if (!onHostOnly)
      bad(
        "vmBackupRemoteEndpoint",
        "is not set, so the vm's backups would stay on the disk they protect (a lost disk loses the data and its backups together). Fix: name an S3-compatible bucket off this host: pulumi config set vmBackupRemoteEndpoint https://s3.eu-central-1.wasabisys.com, vmBackupRemoteBucket, vmBackupRemoteAccessKeyId and pulumi config set --secret vmBackupRemoteSecretAccessKey (docs/backup.md); or accept on-host-only backups knowingly: pulumi config set vmBackupOnHostOnly true",
      );
    return { backupOnHostOnly: onHostOnly };
  }
  for (const key of BACKUP_REMOTE_KEYS)
    if (!given[key]) {
      const how = key === "vmBackupRemoteSecretAccessKey" ? `pulumi config set --secret ${key} < key-file` : `pulumi config set ${key} VALUE`;
      bad(key, `is required with the other vmBackupRemote* keys (the off-host backup remote needs all four). Fix: ${how}`);
    }
  if (onHostOnly) bad("vmBackupOnHostOnly", "is true but an off-host remote is configured: backups go to the remote. Fix: pulumi config rm vmBackupOnHostOnly");
  if (endpoint) {
    const m = /^(https?):\/\/([^/:\s]+)(:\d{1,5})?(\/\S*)?$/.exec(endpoint);
    if (!m)
      bad("vmBackupRemoteEndpoint", `"${endpoint}" is not an https:// URL. Fix: pulumi config set vmBackupRemoteEndpoint https://s3.REGION.provider.example`);
    else if (m[1] === "http" && !isPrivateHttpHost(m[2]))
      bad(
        "vmBackupRemoteEndpoint",
        `"${endpoint}" is plain http to a public address: credentials and backups would cross the internet unencrypted. Fix: use the provider's https:// endpoint`,
      );
  }
  if (bucket && !BUCKET_RE.test(bucket))
    bad(
      "vmBackupRemoteBucket",
      `"${bucket}" is not an S3 bucket name (3-63 of a-z 0-9 . -). Fix: pulumi config set vmBackupRemoteBucket acme-freshtrack-backups`,
    );
  if (region && !/^[a-z0-9-]{1,40}$/.test(region))
    bad("vmBackupRemoteRegion", `"${region}" is not a region name. Fix: pulumi config set vmBackupRemoteRegion us-east-1`);
  if (accessKeyId && !/^[\x21-\x7e]{3,256}$/.test(accessKeyId))
    bad("vmBackupRemoteAccessKeyId", "must be one word of printable characters. Fix: pulumi config set vmBackupRemoteAccessKeyId YOURKEYID");
  return { backupRemote: { endpoint, bucket, region, accessKeyId, provider }, backupOnHostOnly: onHostOnly };
}

/** Why AWS Backup could not run `schedule` (the aws target's plan for a backupRetentionDays beyond RDS's 35 days). */
export function awsScheduleProblem(schedule: string): string | undefined {
  try {
    awsCron(schedule);
    return undefined;
  } catch (e) {
    return `${(e as Error).message}; on aws, AWS Backup runs this schedule once backupRetentionDays exceeds the ${RDS_MAX_BACKUP_DAYS} days RDS keeps`;
  }
}
