// The one place where stack config is read and validated. Everything downstream
// receives a typed, already-validated object, so no component re-checks input
// and no resource is declared from a bad value.
import { z } from "zod";
import { IMAGES, unknownOverrideKeys } from "../../compose/images";
import { DO_DB_SIZES, DO_DROPLET_SIZES, DO_DROPLET_IMAGES, DO_REGIONS, RDS_INSTANCE_CLASSES, ELASTICACHE_NODE_TYPES, FARGATE_SIZES, AWS_REGIONS } from "./catalog";

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
] as const;
export type UserSecretKey = (typeof USER_SECRET_KEYS)[number];

/** Connections PgBouncer never hands out: superuser reserve, migrations, backups, restore checks, admin. */
export const DB_CONNECTION_HEADROOM = 15;

export class ConfigError extends Error {
  constructor(public readonly problems: { key: string; message: string }[]) {
    super(
      "Invalid stack configuration (no resource was declared):\n" +
        problems.map((p) => `  - ${PROJECT}:${p.key}: ${p.message}`).join("\n"),
    );
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
  // IPv6: leave the fine grammar to the cloud API, but insist on hex groups and a sane prefix.
  return /^[0-9a-fA-F:]+$/.test(m[1]) && m[1].includes(":") && prefix <= 128;
}

export interface ImageRef {
  registry?: string;
  repository: string;
  tag?: string;
  digest?: string;
}

/** Parses `[registry/]repo[:tag][@sha256:hex]`. Returns a reason string when it is not a pinned reference. */
export function parseImageRef(ref: string): ImageRef | string {
  const m = /^(?:([a-z0-9.-]+(?::\d+)?)\/)?([a-z0-9]+(?:[._-][a-z0-9]+)*(?:\/[a-z0-9]+(?:[._-][a-z0-9]+)*)*)(?::([A-Za-z0-9_][A-Za-z0-9_.-]{0,127}))?(?:@(sha256:[a-f0-9]{64}))?$/.exec(ref);
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
  /** Infrastructure image replacements, by key of compose/images.ts. */
  imageOverrides: Record<string, string>;
  logLevel: string;
  stackAuthProjectId: string;
  stackAuthPublishableKey: string;
  ttnApiUrl: string;
  ttnApplicationId: string;
  emailFromAddress: string;
  telnyxPhoneNumber: string;
  telnyxMessagingProfileId: string;
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
}

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

export interface FreshtrackConfig {
  target: Target;
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
export function parseConfig(raw: Raw, secretKeys: ReadonlySet<string>): FreshtrackConfig {
  const problems: { key: string; message: string }[] = [];
  const bad = (key: string, message: string) => problems.push({ key, message });

  const str = (key: string, dflt = ""): string => (raw[key] ?? dflt).trim();
  const int = (key: string, dflt: number, min: number, max: number): number => {
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
    const v = raw[key];
    if (v === undefined || v === "") return dflt;
    if (v === "true" || v === "false") return v === "true";
    bad(key, `"${v}" must be true or false. Fix: pulumi config set ${key} ${dflt}`);
    return dflt;
  };
  const list = (key: string): string[] => {
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
    if (!raw[key]) continue;
    if (!secretKeys.has(key)) {
      bad(key, `is a credential but is stored in plain text. Fix: pulumi config rm ${key} && pulumi config set --secret ${key} VALUE`);
    }
    secretsSet.push(key);
  }

  const rawTarget = str("target", "vm");
  let target: Target = "vm";
  if ((TARGETS as readonly string[]).includes(rawTarget)) target = rawTarget as Target;
  else bad("target", `"${rawTarget}" is not a target we deploy to. Fix: pulumi config set target vm (or digitalocean, aws)`);

  const domain = required("domain", "the public hostname of the app", "app.customer.example").toLowerCase();
  if (domain && !isHostname(domain)) bad("domain", `"${domain}" is not a fully qualified hostname. Fix: pulumi config set domain app.customer.example`);
  const operatorEmail = required("operatorEmail", "certificates and alerts go there", "ops@customer.example");
  if (operatorEmail && !isEmail(operatorEmail)) bad("operatorEmail", `"${operatorEmail}" is not an email address. Fix: pulumi config set operatorEmail ops@customer.example`);

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
  for (const key of unknownOverrideKeys(imageOverrides)) {
    bad("imageOverrides", `"${key}" names no image we run. Fix: use one of ${Object.keys(IMAGES).join(", ")}, backend, worker, frontend`);
  }

  const emailFromAddress = str("emailFromAddress") || (domain ? `alerts@${domain}` : "");
  if (raw["emailFromAddress"] && !isEmail(emailFromAddress)) bad("emailFromAddress", `"${emailFromAddress}" is not an email address. Fix: pulumi config set emailFromAddress alerts@customer.example`);
  const telnyxPhoneNumber = str("telnyxPhoneNumber");
  if (telnyxPhoneNumber && !/^\+[1-9]\d{6,14}$/.test(telnyxPhoneNumber)) bad("telnyxPhoneNumber", `"${telnyxPhoneNumber}" is not an E.164 number. Fix: pulumi config set telnyxPhoneNumber +15551234567`);
  const ttnApiUrl = str("ttnApiUrl", "https://eu1.cloud.thethings.network");
  if (!/^https:\/\/[^\s/]+(\/\S*)?$/.test(ttnApiUrl)) bad("ttnApiUrl", `"${ttnApiUrl}" must be an https:// URL. Fix: pulumi config set ttnApiUrl https://eu1.cloud.thethings.network`);

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
    logLevel: oneOf("logLevel", ["trace", "debug", "info", "warn", "error", "fatal"] as const, "info"),
    stackAuthProjectId: required("stackAuthProjectId", "the backend exits at start without it", "YOUR-STACK-AUTH-PROJECT-ID"),
    stackAuthPublishableKey: str("stackAuthPublishableKey"),
    ttnApiUrl,
    ttnApplicationId: str("ttnApplicationId"),
    emailFromAddress,
    telnyxPhoneNumber,
    telnyxMessagingProfileId: str("telnyxMessagingProfileId"),
  };

  const backupSchedule = str("backupSchedule", "17 3 * * *");
  if (!isCron(backupSchedule)) bad("backupSchedule", `"${backupSchedule}" is not a 5-field cron expression. Fix: pulumi config set backupSchedule "17 3 * * *"`);

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
  const appDir = str("vmAppDir", "/opt/freshtrack");
  if (!/^\/[A-Za-z0-9._/-]+$/.test(appDir) || appDir.includes("..")) bad("vmAppDir", `"${appDir}" must be an absolute path of letters, digits, . _ - and /. Fix: pulumi config set vmAppDir /opt/freshtrack`);
  const purgeOnDelete = bool("vmPurgeOnDelete", false);

  if (target === "vm") {
    const host = required("vmHost", "the address of the customer's host", "203.0.113.10");
    if (host && !isIPv4(host) && !isHostname(host.toLowerCase()) && !/^[0-9a-fA-F:]+$/.test(host)) bad("vmHost", `"${host}" is neither an IP address nor a hostname. Fix: pulumi config set vmHost 203.0.113.10`);
    const hostKey = required("vmHostKey", "the host's public SSH key, checked out of band", '"ssh-ed25519 AAAA..."');
    if (hostKey && !/^(ssh-ed25519|ecdsa-sha2-nistp(256|384|521)|ssh-rsa) [A-Za-z0-9+/]+={0,3}( \S.*)?$/.test(hostKey)) {
      bad("vmHostKey", `must be one line "TYPE BASE64" as printed by ssh-keyscan (without the host name). Fix: ssh-keyscan -t ed25519 HOST, verify it, then pulumi config set vmHostKey "ssh-ed25519 AAAA..."`);
    }
    if (!raw["vmSshPrivateKey"]) bad("vmSshPrivateKey", "is required for target vm. Fix: pulumi config set --secret vmSshPrivateKey < ~/.ssh/freshtrack_deploy");
    const user = str("vmUser", "root");
    if (!/^[a-z_][a-z0-9_-]{0,31}$/.test(user)) bad("vmUser", `"${user}" is not a Unix user name. Fix: pulumi config set vmUser root`);
    cfg.vm = { host, port: int("vmPort", 22, 1, 65535), user, hostKey, appDir, firewall: bool("vmFirewall", false), purgeOnDelete };
  }

  if (target === "digitalocean") {
    const region = oneOf("doRegion", DO_REGIONS, "fra1");
    const dbSize = oneOf("doDbSize", Object.keys(DO_DB_SIZES), "db-s-1vcpu-1gb");
    const sshCidrs = list("doSshCidrs");
    for (const c of sshCidrs) if (!isCidr(c)) bad("doSshCidrs", `"${c}" is not a CIDR. Fix: e.g. 198.51.100.7/32`);
    if (sshCidrs.some((c) => c === "0.0.0.0/0" || c === "::/0")) bad("doSshCidrs", "must not open SSH to the whole internet. Fix: list your deploy machine's and operators' addresses, e.g. 198.51.100.7/32");
    if (sshCidrs.length === 0) bad("doSshCidrs", "is empty, so nothing could deploy over SSH. Fix: pulumi config set --path 'doSshCidrs[0]' 198.51.100.7/32");
    const manageDns = bool("doManageDns", false);
    const dnsZone = str("doDnsZone").toLowerCase();
    if (manageDns && !dnsZone) bad("doDnsZone", "is required when doManageDns is true. Fix: pulumi config set doDnsZone customer.example");
    if (dnsZone && domain && domain !== dnsZone && !domain.endsWith(`.${dnsZone}`)) bad("doDnsZone", `"${dnsZone}" does not contain the domain ${domain}. Fix: set doDnsZone to the zone the domain lives in`);
    const dbVersion = oneOf("doDbVersion", ["14", "15", "16", "17"] as const, "16");
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

  if (target === "aws") {
    const cpuMem = (prefix: string, dCpu: number, dMem: number) => {
      const cpu = int(`${prefix}Cpu`, dCpu, 256, 16384);
      const memory = int(`${prefix}Memory`, dMem, 512, 122880);
      const allowed = FARGATE_SIZES[cpu];
      if (!allowed) bad(`${prefix}Cpu`, `${cpu} is not a Fargate CPU size (${Object.keys(FARGATE_SIZES).join(", ")}). Fix: pulumi config set ${prefix}Cpu ${dCpu}`);
      else if (!allowed.includes(memory)) bad(`${prefix}Memory`, `${memory} MiB is not offered with ${cpu} CPU units (from ${allowed[0]} to ${allowed[allowed.length - 1]}). Fix: pulumi config set ${prefix}Memory ${allowed[0]}`);
      return { cpu, memory };
    };
    const zone = str("awsRoute53ZoneId");
    if (zone && !/^Z[A-Z0-9]{4,32}$/.test(zone)) bad("awsRoute53ZoneId", `"${zone}" is not a Route 53 hosted zone id. Fix: aws route53 list-hosted-zones, then pulumi config set awsRoute53ZoneId Z0123456789ABC`);
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
  const maxConnections = cfg.digitalocean ? cfg.digitalocean.dbMaxConnections : data.dbMaxConnections;
  const maxKey = cfg.digitalocean ? "doDbSize" : "dbMaxConnections";
  // poolSize 0 means "derive": the largest pool that keeps the headroom, capped at 20.
  if (data.poolSize === 0) data.poolSize = Math.max(1, Math.min(20, maxConnections - DB_CONNECTION_HEADROOM - 1));
  if (target !== "aws" && data.poolSize >= maxConnections - DB_CONNECTION_HEADROOM) {
    const fit = Math.max(1, maxConnections - DB_CONNECTION_HEADROOM - 1);
    bad("poolSize", `${data.poolSize} leaves no headroom: pools x poolSize must be < max_connections (${maxConnections}, from ${maxKey}) - ${DB_CONNECTION_HEADROOM}. Fix: pulumi config set poolSize ${fit}, or a larger ${maxKey}`);
  }
  if (data.maxClientConnections < data.poolSize) bad("maxClientConnections", `${data.maxClientConnections} is below poolSize ${data.poolSize}. Fix: pulumi config set maxClientConnections 1000`);

  if (problems.length) throw new ConfigError(problems);
  return cfg;
}

function safeJson(s: string): unknown {
  try {
    return JSON.parse(s);
  } catch {
    return undefined;
  }
}
