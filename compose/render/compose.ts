// The Compose files of the release directory, as typed documents:
//   compose.yml       services common to vm and digitalocean
//   compose.prod.yml  restart policies, CPU/memory limits, log rotation, stop grace periods
//   compose.vm.yml    vm only: postgres, objectstore, and the vm wiring of db-setup/pgbouncer
//   compose.do.yml    digitalocean only: db-setup/pgbouncer against the managed database
// Later -f files extend earlier ones (maps merge, most lists are appended). No
// file here needs to *remove* what an earlier one declared, so no `!reset` /
// `!override` tag is emitted today; `Tagged` (compose-types.ts) is the way to
// say it if a target ever has to replace a list, because `[]` would remove nothing.
//
// Secrets: only Compose *file* secrets, whose `file:` is
// `${FT_SECRETS_DIR:-<appDir>/secrets}/<name>`: a path, never a value. Values are
// never in environment, labels or interpolation, so `docker inspect` shows none.
import { APP_SECRET_ENV, AppService, appServices } from "../../core/model";
import { imageFor, ImageKey } from "../../core/images";
import type { BundleInput } from "../bundle-input";
import { budgetFor } from "./budget";
import { ComposeDoc, ComposeHealthcheck, ComposeService, DependsOn, literal, PROJECT_NAME, ServiceSecretRef } from "./compose-types";
import {
  DB_CA_CLIENT_PATH,
  DB_CA_FILE,
  DB_CA_PATH,
  DB_NAME,
  MANAGED_DB_SSLMODE,
  DB_USER,
  PGBOUNCER_PORT,
  USERLIST_DIR,
  USERLIST_PATH,
  pgbouncerNofile,
  pgbouncerSettings,
} from "./pgbouncer";
import { HEALTH_LISTEN, HEALTH_PATH, PROXY_STATE_DIR } from "./caddy";
import { REDIS_PASSWORD_PATH, REDIS_STATE_MOUNT } from "./redis";

export { PROJECT_NAME };

export const VOLUMES = {
  pgdata: "freshtrack_pgdata",
  redis: "freshtrack_redis",
  objects: "freshtrack_objects",
  caddyData: "freshtrack_caddy_data",
  caddyConfig: "freshtrack_caddy_config",
} as const;

export const COMPOSE_FILES = {
  base: "compose.yml",
  prod: "compose.prod.yml",
  vm: "compose.vm.yml",
  digitalocean: "compose.do.yml",
} as const;

/** One secret file under APP_DIR/secrets/ (docs/design.md "Secret files"). */
export interface SecretFile {
  /** Compose secret name. */
  name: string;
  /** Relative to APP_DIR/secrets/. */
  file: string;
  /** Absolute mount path inside the container. */
  target: string;
}

const secretName = (file: string) => file.replace(/[^A-Za-z0-9]+/g, "_");
const secret = (file: string, target: string): SecretFile => ({ name: secretName(file), file, target });

/** Where with-secrets looks: every non-empty file here becomes an environment variable. */
export const ENV_SECRETS_DIR = "/run/secrets/env";
export const WITH_SECRETS_PATH = "/usr/local/bin/with-secrets";
export const DB_SETUP_PATH = "/usr/local/bin/db-setup.sh";

/** Secret files each service reads, per target. The single list release.json, labels and mounts come from. */
export function serviceSecrets(target: BundleInput["target"]): Record<string, SecretFile[]> {
  const s: Record<string, SecretFile[]> = {
    backend: APP_SECRET_ENV.map((e) => secret(`app/${e}`, `${ENV_SECRETS_DIR}/${e}`)),
    worker: APP_SECRET_ENV.map((e) => secret(`app/${e}`, `${ENV_SECRETS_DIR}/${e}`)),
    migrate: [secret("migrate/DATABASE_URL", `${ENV_SECRETS_DIR}/DATABASE_URL`)],
    "db-setup": [secret("db-setup/ADMIN_DATABASE_URL", "/run/secrets/ADMIN_DATABASE_URL"), secret("db-setup/APP_DB_PASSWORD", "/run/secrets/APP_DB_PASSWORD")],
    pgbouncer: [secret("pgbouncer/userlist.txt", USERLIST_PATH)],
    // Not mounted: bin/deploy builds redis's ACL file and health password from it (RELOAD_ON_SECRET_CHANGE).
    redis: [secret("redis/password", REDIS_PASSWORD_PATH)],
  };
  if (target === "vm") {
    s.postgres = [secret("postgres/POSTGRES_PASSWORD", "/run/secrets/POSTGRES_PASSWORD")];
    s.objectstore = [secret("objectstore/s3.json", "/run/secrets/s3.json")];
  }
  return s;
}

/**
 * Services that re-read their credentials in place instead of being recreated: the live
 * copy is a directory bind mount of APP_DIR/state/<stateDir> (new files visible in place),
 * they carry no secrets-digest label (a rotation must not recreate them), and bin/deploy
 * tells them to reload (release.json .reload: the signal, or "ACL LOAD"). PgBouncer:
 * SIGHUP re-reads auth_file and keeps every client and server connection. Redis: ACL
 * LOAD re-reads the aclfile; connections stay. Both accept the old and the new password
 * until the app has rolled.
 */
export const RELOAD_ON_SECRET_CHANGE: Record<string, { reload: "HUP" | "ACL LOAD"; mount: string; stateDir: string }> = {
  // bin/deploy writes the live auth file into APP_DIR/state/pgbouncer (bin/lib/pgbouncer.sh ft_pgbouncer_auth).
  pgbouncer: { reload: "HUP", mount: USERLIST_DIR, stateDir: "pgbouncer" },
  // bin/deploy writes users.acl and the health password into APP_DIR/state/redis (bin/lib/redis.sh ft_redis_acl).
  redis: { reload: "ACL LOAD", mount: REDIS_STATE_MOUNT, stateDir: "redis" },
};

/** `<APP_DIR>/state/<dir>:<mount>:ro`: the live copy of a reloaded service's credentials. */
const reloadMount = (input: BundleInput, service: keyof typeof RELOAD_ON_SECRET_CHANGE) =>
  `${appStateDirExpr(input)}/${RELOAD_ON_SECRET_CHANGE[service].stateDir}:${RELOAD_ON_SECRET_CHANGE[service].mount}:ro`;

/** `FT_SECRETS_<SERVICE>`: the digest bin/deploy exports for a service's secret files (db-setup -> FT_SECRETS_DB_SETUP). */
export const secretsDigestVar = (service: string) => `FT_SECRETS_${service.toUpperCase().replace(/[^A-Z0-9]/g, "_")}`;

export function appDirOf(input: BundleInput): string {
  return input.config.vm?.appDir ?? input.config.digitalocean?.appDir ?? "/opt/freshtrack";
}

/** `${FT_APP_DIR:-/opt/freshtrack}/state`: what bin/deploy maintains on the host. */
export const appStateDirExpr = (input: BundleInput) => `\${FT_APP_DIR:-${appDirOf(input)}}/state`;
/** `${FT_APP_DIR:-/opt/freshtrack}/state/proxy`: the slot markers bin/deploy swaps (bin/lib/proxy.sh ft_proxy_switch). */
export const proxyStateDirExpr = (input: BundleInput) => `${appStateDirExpr(input)}/proxy`;

/** `${FT_SECRETS_DIR:-/opt/freshtrack/secrets}`: bin/deploy sets it; the default is the configured APP_DIR. */
export const secretsDirExpr = (input: BundleInput) => `\${FT_SECRETS_DIR:-${appDirOf(input)}/secrets}`;

// ---- building blocks ---------------------------------------------------------------

const seconds = (n: number) => `${n}s`;

/**
 * Until a container's first check passes (within its start_period), Docker checks it every
 * second instead of every `interval`: `compose up --wait` and the deploy's health gate see a
 * ready service within a second, not up to 10 s later. A service that never gets ready is
 * still found unhealthy exactly as late (failures in the start period do not count).
 * Needs Docker Engine 25 or later (bin/preflight checks it).
 */
export const HEALTH_START_INTERVAL = "1s";
const healthy = { condition: "service_healthy" as const };
const completed = { condition: "service_completed_successfully" as const };

function fromModel(h: NonNullable<AppService["health"]>): ComposeHealthcheck {
  return {
    test: h.test.map(literal),
    interval: seconds(h.intervalSeconds),
    timeout: seconds(h.timeoutSeconds),
    retries: h.retries,
    start_period: seconds(h.startPeriodSeconds),
    start_interval: HEALTH_START_INTERVAL,
  };
}

const check = (test: string[], interval = 10, timeout = 5, retries = 5, startPeriod = 10): ComposeHealthcheck => ({
  test: test.map(literal),
  interval: seconds(interval),
  timeout: seconds(timeout),
  retries,
  start_period: seconds(startPeriod),
  start_interval: HEALTH_START_INTERVAL,
});

function mountSecrets(service: string, files: SecretFile[]): Pick<ComposeService, "secrets" | "labels"> {
  return {
    secrets: files.map((f): ServiceSecretRef => ({ source: f.name, target: f.target })),
    // bin/deploy exports a digest per service: a rotated secret changes this label, so Compose recreates exactly its readers.
    labels: { "freshtrack.secrets": `\${${secretsDigestVar(service)}:-none}` },
  };
}

const hardened = { security_opt: ["no-new-privileges:true"], cap_drop: ["ALL"] };

/** The Compose service of an app model entry (ECS has its own renderer over the same entry: components/aws/container-definitions.ts). */
export function appService(m: AppService, secrets: SecretFile[]): ComposeService {
  const usesSecrets = m.secretEnv.length > 0;
  return {
    image: m.image,
    ...(usesSecrets ? { entrypoint: ["/bin/sh", WITH_SECRETS_PATH] } : {}),
    ...(m.command ? { command: m.command.map(literal) } : {}),
    ...(m.user ? { user: m.user } : {}),
    ...(Object.keys(m.environment).length ? { environment: Object.fromEntries(Object.entries(m.environment).map(([k, v]) => [k, literal(v)])) } : {}),
    ...(usesSecrets ? { volumes: [`./bin/with-secrets:${WITH_SECRETS_PATH}:ro`] } : {}),
    ...(usesSecrets ? mountSecrets(m.name, secrets) : {}),
    read_only: true,
    tmpfs: m.writablePaths,
    security_opt: hardened.security_opt,
    // Every app service runs as its own uid (frontend: nginx's 101), with no capability.
    ...(m.user ? { cap_drop: hardened.cap_drop } : {}),
    healthcheck: m.health ? fromModel(m.health) : { disable: true },
  };
}

// ---- the four documents ---------------------------------------------------------------

export interface ComposeDocs {
  base: ComposeDoc;
  prod: ComposeDoc;
  target: ComposeDoc;
}

export function renderComposeDocs(input: BundleInput): ComposeDocs {
  const over = input.config.app.imageOverrides;
  const img = (k: ImageKey) => imageFor(k, over);
  const secrets = serviceSecrets(input.target);
  const model = appServices({ app: input.config.app, objectStoreEndpoint: input.objectStore.publicEndpoint, assetsBucket: input.objectStore.assetsBucket });

  const appDeps: DependsOn = { migrate: completed, pgbouncer: healthy, redis: healthy };

  const base: Record<string, ComposeService> = {
    caddy: {
      image: img("caddy"),
      command: ["caddy", "run", "--config", "/etc/caddy/caddy.json"],
      // The only published ports of the stack.
      ports: [
        // Explicitly every interface: this is the public entry point (the host firewall decides who reaches it).
        { target: 80, host_ip: "0.0.0.0", published: "80", protocol: "tcp", mode: "host" },
        { target: 443, host_ip: "0.0.0.0", published: "443", protocol: "tcp", mode: "host" },
      ],
      volumes: [
        "./config/caddy.json:/etc/caddy/caddy.json:ro",
        `${VOLUMES.caddyData}:/data`,
        `${VOLUMES.caddyConfig}:/config`,
        // Slot markers: bin/deploy moves traffic between containers here, without a config reload.
        `${proxyStateDirExpr(input)}:${PROXY_STATE_DIR}:ro`,
      ],
      tmpfs: ["/tmp"],
      read_only: true,
      security_opt: hardened.security_opt,
      cap_drop: hardened.cap_drop,
      cap_add: ["NET_BIND_SERVICE"],
      // Caddy starts only once it has somewhere healthy to send traffic.
      depends_on: { backend: healthy, frontend: healthy },
      healthcheck: check(["CMD", "wget", "-q", "-T", "3", "-O", "/dev/null", `http://${HEALTH_LISTEN}${HEALTH_PATH}`]),
    },
    backend: { ...appService(model.backend, secrets.backend), depends_on: appDeps },
    worker: { ...appService(model.worker, secrets.worker), depends_on: appDeps },
    frontend: appService(model.frontend, []),
    migrate: { ...appService(model.migrate, secrets.migrate), depends_on: { "db-setup": completed } },
    "db-setup": {
      // The PostgreSQL image for its psql client; the script (bin/db-setup.sh) creates/alters role and database idempotently.
      image: img("postgres"),
      entrypoint: ["/bin/sh", DB_SETUP_PATH],
      user: "70:70",
      // Names read by bin/db-setup.sh (its defaults are the same; stated here so the contract is visible).
      environment: { FT_APP_DB_NAME: DB_NAME, FT_APP_DB_ROLE: DB_USER, PGCONNECT_TIMEOUT: "10" },
      volumes: [`./bin/db-setup.sh:${DB_SETUP_PATH}:ro`],
      ...mountSecrets("db-setup", secrets["db-setup"]),
      read_only: true,
      tmpfs: ["/tmp"],
      ...hardened,
      healthcheck: { disable: true },
    },
    pgbouncer: {
      image: img("pgbouncer"),
      // The image's default command runs /etc/pgbouncer/pgbouncer.ini; its entrypoint generates nothing when the file exists.
      user: "70:70",
      volumes: ["./config/pgbouncer.ini:/etc/pgbouncer/pgbouncer.ini:ro", reloadMount(input, "pgbouncer")],
      read_only: true,
      tmpfs: ["/tmp"],
      ...hardened,
      healthcheck: check(["CMD", "nc", "-z", "127.0.0.1", String(PGBOUNCER_PORT)]),
      // One descriptor per client and server connection: max_client_conn (1000) does not fit Docker's default 1024.
      ulimits: { nofile: { soft: pgbouncerNofile(pgbouncerSettings(input)), hard: pgbouncerNofile(pgbouncerSettings(input)) } },
    },
    redis: {
      image: img("redis"),
      command: ["valkey-server", "/etc/valkey/valkey.conf"],
      // uid 999 owns the fresh volume (copied from the image's /data) and the secret files.
      user: "999:999",
      volumes: ["./config/redis.conf:/etc/valkey/valkey.conf:ro", `${VOLUMES.redis}:/data`, reloadMount(input, "redis")],
      read_only: true,
      tmpfs: ["/tmp"],
      ...hardened,
      // The password is read from the live file inside the check: never in argv, never in the container's env.
      healthcheck: check([
        "CMD-SHELL",
        `REDISCLI_AUTH="$(cat ${REDIS_PASSWORD_PATH})" VALKEYCLI_AUTH="$(cat ${REDIS_PASSWORD_PATH})" valkey-cli -h 127.0.0.1 ping | grep -q PONG`,
      ]),
    },
  };

  // Long-running services get restart/limits/logging/grace in compose.prod.yml; jobs run once.
  const prodEntry = (service: string, grace: number, job = false): ComposeService => {
    const b = budgetFor(service);
    return {
      restart: job ? "no" : "unless-stopped",
      stop_grace_period: seconds(grace),
      deploy: { resources: { limits: { cpus: b.cpus.toFixed(2), memory: `${b.memoryMb}M` } } },
      logging: { driver: "json-file", options: { "max-size": "10m", "max-file": "5" } },
    };
  };
  const prodServices: Record<string, ComposeService> = {
    caddy: prodEntry("caddy", 35),
    backend: prodEntry("backend", model.backend.stopGraceSeconds),
    worker: prodEntry("worker", model.worker.stopGraceSeconds),
    frontend: prodEntry("frontend", model.frontend.stopGraceSeconds),
    migrate: prodEntry("migrate", model.migrate.stopGraceSeconds, true),
    "db-setup": prodEntry("db-setup", 10, true),
    pgbouncer: prodEntry("pgbouncer", 30),
    redis: prodEntry("redis", 30),
  };

  let targetServices: Record<string, ComposeService>;
  if (input.target === "vm") {
    const maxConnections = input.config.data.dbMaxConnections;
    targetServices = {
      postgres: {
        image: img("postgres"),
        command: ["postgres", "-c", `max_connections=${maxConnections}`, "-c", "password_encryption=scram-sha-256"],
        // The entrypoint supports a non-root user when the data directory is owned by it (fresh volume: it is).
        user: "70:70",
        environment: {
          POSTGRES_PASSWORD_FILE: "/run/secrets/POSTGRES_PASSWORD",
          POSTGRES_USER: "postgres",
          POSTGRES_DB: "postgres",
          PGDATA: "/var/lib/postgresql/data/pgdata",
        },
        volumes: [`${VOLUMES.pgdata}:/var/lib/postgresql/data`],
        ...mountSecrets("postgres", secrets.postgres),
        tmpfs: ["/tmp", "/var/run/postgresql"],
        ...hardened,
        // Over TCP: the init-time server listens on the socket only, so this stays red until the real start.
        healthcheck: check(["CMD", "pg_isready", "-h", "127.0.0.1", "-U", "postgres", "-d", "postgres"], 5, 5, 10, 30),
      },
      objectstore: {
        // SeaweedFS in single-server mode (master + volume + filer + S3 gateway), S3 on 8333.
        image: img("objectstore"),
        entrypoint: ["weed"],
        command: [
          "-logtostderr=true",
          "server",
          "-dir=/data",
          "-ip.bind=0.0.0.0",
          "-volume.max=0",
          "-master.volumeSizeLimitMB=1024",
          "-s3",
          "-s3.port=8333",
          // Static identities and keys; buckets are path-style, region us-east-1 (docs/app-contract.md).
          "-s3.config=/run/secrets/s3.json",
        ],
        volumes: [`${VOLUMES.objects}:/data`],
        ...mountSecrets("objectstore", secrets.objectstore),
        ...hardened,
        healthcheck: check(["CMD", "wget", "-q", "-T", "3", "-O", "/dev/null", "http://127.0.0.1:8333/healthz"], 10, 5, 5, 30),
      },
      "db-setup": { depends_on: { postgres: healthy } },
      pgbouncer: { depends_on: { postgres: healthy } },
    };
    prodServices.postgres = prodEntry("postgres", 60);
    prodServices.objectstore = prodEntry("objectstore", 30);
  } else {
    // The managed database, always verify-full against the cluster CA (shipped in the bundle, mounted read-only):
    // pgbouncer through the private host in pgbouncer.ini; db-setup and migrate through their URLs
    // (sslmode=verify-full&sslrootcert=DB_CA_CLIENT_PATH). db-setup's environment says the same, so libpq
    // verifies even if the URL forgot it.
    const caMount = `./${DB_CA_FILE}:${DB_CA_CLIENT_PATH}:ro`;
    targetServices = {
      "db-setup": { environment: { PGSSLMODE: MANAGED_DB_SSLMODE, PGSSLROOTCERT: DB_CA_CLIENT_PATH }, volumes: [caMount] },
      migrate: { volumes: [caMount] },
      pgbouncer: { volumes: [`./${DB_CA_FILE}:${DB_CA_PATH}:ro`] },
    };
  }

  const secretDecls = (services: string[]) => {
    const out: Record<string, { file: string }> = {};
    for (const svc of services) {
      if (svc in RELOAD_ON_SECRET_CHANGE) continue; // mounted as a directory, not a Compose secret
      for (const f of secrets[svc] ?? []) out[f.name] = { file: `${secretsDirExpr(input)}/${f.file}` };
    }
    return Object.fromEntries(Object.entries(out).sort(([a], [b]) => (a < b ? -1 : 1)));
  };
  const baseNames = Object.keys(base);
  const targetOnly = Object.keys(secrets).filter((s) => !baseNames.includes(s));

  return {
    base: {
      name: PROJECT_NAME,
      services: base,
      volumes: {
        [VOLUMES.caddyData]: { name: VOLUMES.caddyData },
        [VOLUMES.caddyConfig]: { name: VOLUMES.caddyConfig },
        [VOLUMES.redis]: { name: VOLUMES.redis },
      },
      secrets: secretDecls(baseNames),
    },
    prod: { name: PROJECT_NAME, services: prodServices },
    target:
      input.target === "vm"
        ? {
            name: PROJECT_NAME,
            services: targetServices,
            volumes: { [VOLUMES.pgdata]: { name: VOLUMES.pgdata }, [VOLUMES.objects]: { name: VOLUMES.objects } },
            secrets: secretDecls(targetOnly),
          }
        : { name: PROJECT_NAME, services: targetServices },
  };
}
