// The Compose bundle, rendered from real parsed config (no mocks): routing,
// per-service invariants, budget, secrets never inlined, release.json.
import { strict as assert } from "assert";
import { parse, parseDocument, isNode, visit } from "yaml";
import * as ini from "ini";
import { parseConfig, USER_SECRET_KEYS, DB_CONNECTION_HEADROOM } from "../../core/config";
import { BundleInput } from "../../compose/bundle-input";
import { renderBundle, ReleaseManifest, STATIC_FILES_DIR, staticFiles, verifySchedule } from "../../compose/bundle";
import {
  appRoutes,
  BACKEND_PATHS,
  caddyConfig,
  MOVE_FORWARD_MARKER,
  MOVE_HOLD_CONTAINER,
  MOVE_HOLD_PORT,
  PROXY_STATE_DIR,
  UPSTREAM_IDLE_TIMEOUT,
} from "../../compose/render/caddy";
import { budgetSum, budgetTable, HOST, OS_RESERVE_MB } from "../../compose/render/budget";
import { RELOAD_ON_SECRET_CHANGE, renderComposeDocs, serviceSecrets, secretsDigestVar } from "../../compose/render/compose";
import { override, reset, toYaml, literal } from "../../compose/render/compose-types";
import { poolBudget, renderPgbouncerIni, serializePgbouncerIni } from "../../compose/render/pgbouncer";
import { renderRedisConf } from "../../compose/render/redis";
import { APP_SECRET_ENV, appServices } from "../../core/model";
import * as fs from "fs";
import * as path from "path";
import { IMAGES } from "../../core/images";

const DOMAIN = "app.cold-chain.example";
const DUMMY = "DUMMYSECRETVALUE";

export function bundleInput(target: "vm" | "digitalocean", over: Record<string, string> = {}): BundleInput {
  const raw: Record<string, string> = {
    target,
    domain: DOMAIN,
    operatorEmail: "ops@cold-chain.example",
    backendImage: "ghcr.io/acme/frostguard-backend:1.2.3",
    workerImage: "ghcr.io/acme/frostguard-worker:1.2.3",
    frontendImage: "ghcr.io/acme/frostguard-frontend:1.2.3",
    stackAuthProjectId: "proj-123",
    registryServer: "ghcr.io",
    registryUser: "deploy-bot",
    ...(target === "vm"
      ? {
          vmHost: "203.0.113.10",
          vmHostKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKq0Yq3mR5m6m0qS5hD9l0b2mE1bqQ1w7zK3p0nq7x8Y",
          vmBackupRemoteEndpoint: "https://s3.backups.example",
          vmBackupRemoteBucket: "acme-freshtrack-backups",
          vmBackupRemoteAccessKeyId: "BACKUPKEYID0001",
        }
      : { doSshCidrs: JSON.stringify(["198.51.100.7/32"]) }),
    ...over,
  };
  // Every user secret gets a recognisable value: none may reach a rendered file.
  const keys = USER_SECRET_KEYS.filter((k) => target === "vm" || k !== "vmSshPrivateKey");
  for (const k of keys) raw[k] = `${DUMMY}-${k}`;
  const config = parseConfig(raw, new Set(keys));
  return {
    config,
    target,
    objectStore:
      target === "vm"
        ? {
            publicEndpoint: `https://s3.${DOMAIN}`,
            internalEndpoint: "http://objectstore:8333",
            region: "us-east-1",
            assetsBucket: "frostguard-assets",
            backupsBucket: "frostguard-backups",
          }
        : {
            publicEndpoint: "https://fra1.digitaloceanspaces.com",
            internalEndpoint: "https://fra1.digitaloceanspaces.com",
            region: "us-east-1",
            assetsBucket: "fg-assets",
            backupsBucket: "fg-backups",
          },
    managedDb:
      target === "digitalocean"
        ? {
            host: "private-db-do-user-1.b.db.ondigitalocean.com",
            port: 25060,
            database: "defaultdb",
            maxConnections: 25,
            caCert: "-----BEGIN CERTIFICATE-----\nTESTDOCA\n-----END CERTIFICATE-----\n",
          }
        : undefined,
  };
}

type Svc = Record<string, unknown> & {
  image?: string;
  ports?: unknown[];
  healthcheck?: { test?: string[]; disable?: boolean; interval?: string; start_period?: string; start_interval?: string };
  restart?: string;
  deploy?: { resources: { limits: { cpus: string; memory: string } } };
  logging?: { driver: string; options: Record<string, string> };
  stop_grace_period?: string;
  volumes?: string[];
  secrets?: { source: string; target: string }[];
  labels?: Record<string, string>;
  depends_on?: Record<string, { condition: string }>;
  environment?: Record<string, string>;
  entrypoint?: string[];
  command?: string[];
};

/** Compose's merge for the keys we use: maps merge, lists (volumes/secrets) append; last scalar wins. */
function merged(bundle: Record<string, string>): {
  services: Record<string, Svc>;
  volumes: Record<string, { name: string }>;
  secrets: Record<string, { file: string }>;
} {
  const rel = JSON.parse(bundle["release.json"]) as ReleaseManifest;
  const out = { services: {} as Record<string, Svc>, volumes: {} as Record<string, { name: string }>, secrets: {} as Record<string, { file: string }> };
  const deepMerge = (a: Record<string, unknown>, b: Record<string, unknown>): Record<string, unknown> => {
    const r: Record<string, unknown> = { ...a };
    for (const [k, v] of Object.entries(b)) {
      const cur = r[k];
      if (Array.isArray(cur) && Array.isArray(v) && ["volumes", "secrets", "tmpfs"].includes(k)) r[k] = [...cur, ...v];
      else if (cur && v && typeof cur === "object" && typeof v === "object" && !Array.isArray(v))
        r[k] = deepMerge(cur as Record<string, unknown>, v as Record<string, unknown>);
      else r[k] = v;
    }
    return r;
  };
  for (const f of rel.compose_files) {
    const doc = parse(bundle[f]) as { services?: Record<string, Svc>; volumes?: Record<string, { name: string }>; secrets?: Record<string, { file: string }> };
    for (const [n, s] of Object.entries(doc.services ?? {})) out.services[n] = deepMerge(out.services[n] ?? {}, s) as Svc;
    Object.assign(out.volumes, doc.volumes ?? {});
    Object.assign(out.secrets, doc.secrets ?? {});
  }
  return out;
}

const JOBS = ["migrate", "db-setup"];

for (const target of ["vm", "digitalocean"] as const) {
  describe(`compose bundle (${target})`, () => {
    const input = bundleInput(target);
    const bundle = renderBundle(input);
    const m = merged(bundle);
    const release = JSON.parse(bundle["release.json"]) as ReleaseManifest;

    it("renders the same bytes twice (deterministic)", () => {
      assert.deepEqual(renderBundle(bundleInput(target)), bundle);
      assert.deepEqual(Object.keys(bundle), Object.keys(bundle).slice().sort());
    });

    it("lists compose files in -f order, with the target file third and observability as a profile", () => {
      assert.deepEqual(release.compose_files, [
        "compose.yml",
        "compose.prod.yml",
        target === "vm" ? "compose.vm.yml" : "compose.do.yml",
        "compose.observability.yml",
      ]);
      assert.deepEqual(release.profiles, ["observability"]);
      for (const f of release.compose_files) assert.ok(bundle[f], f);
      const off = renderBundle(bundleInput(target, { observability: "false" }));
      assert.deepEqual((JSON.parse(off["release.json"]) as ReleaseManifest).profiles, []);
      assert.equal(off["compose.observability.yml"], undefined);
    });

    it("has the expected services per target", () => {
      const core = ["backend", "caddy", "db-setup", "frontend", "migrate", "pgbouncer", "redis", "worker"];
      const own = Object.keys(renderComposeDocs(input).base.services).concat(Object.keys(renderComposeDocs(input).target.services));
      assert.deepEqual([...new Set(own)].sort(), (target === "vm" ? [...core, "objectstore", "postgres"] : core).sort());
    });

    it("publishes ports only on caddy, and only 80/443", () => {
      for (const [name, s] of Object.entries(m.services)) {
        if (name === "caddy")
          assert.deepEqual(
            (s.ports as { target: number }[]).map((p) => p.target),
            [80, 443],
          );
        else assert.equal(s.ports, undefined, `${name} publishes a port`);
        assert.equal(s.network_mode, undefined, `${name} uses host networking`);
      }
    });

    it("gives every service a healthcheck (jobs: explicitly disabled), restart, limits, log rotation, grace period", () => {
      for (const [name, s] of Object.entries(m.services)) {
        if (JOBS.includes(name)) {
          assert.deepEqual(s.healthcheck, { disable: true }, name);
          assert.equal(s.restart, "no", name);
        } else if (release.profiles.length && Object.keys(parse(bundle["compose.observability.yml"]).services).includes(name)) {
          assert.ok(s.healthcheck?.test?.length, name);
          assert.equal(s.restart, "unless-stopped", name);
        } else {
          assert.ok(s.healthcheck?.test && s.healthcheck.test.length > 1, `${name} healthcheck`);
          assert.equal(s.restart, "unless-stopped", name);
        }
        assert.match(s.deploy?.resources.limits.cpus ?? "", /^\d+\.\d+$/, `${name} cpus`);
        assert.match(s.deploy?.resources.limits.memory ?? "", /^\d+M$/, `${name} memory`);
        assert.equal(s.logging?.driver, "json-file", name);
        assert.ok(s.logging?.options["max-size"] && s.logging.options["max-file"], `${name} log rotation`);
      }
    });

    // A ready service is seen within a second (compose up --wait, the deploy's health gate), not
    // an interval later; without a start period, start_interval would never apply.
    it("checks every service each second until its first check passes (start_interval within a start period)", () => {
      const secs = (d?: string) => Number(/^(\d+)s$/.exec(d ?? "")?.[1] ?? NaN);
      for (const [name, s] of Object.entries(m.services)) {
        if (JOBS.includes(name)) continue;
        assert.equal(s.healthcheck?.start_interval, "1s", name);
        assert.ok(secs(s.healthcheck?.start_period) > 1, `${name}: start_period ${s.healthcheck?.start_period}`);
        assert.ok(secs(s.healthcheck?.interval) > 1, `${name}: interval ${s.healthcheck?.interval}`);
      }
    });

    it("uses healthcheck tools that the images ship", () => {
      const tool = (s: Svc) => (s.healthcheck?.test ?? [])[1] ?? "";
      assert.equal(tool(m.services.caddy), "wget");
      assert.equal(tool(m.services.pgbouncer), "nc");
      assert.match(tool(m.services.redis), /valkey-cli/);
      assert.match(tool(m.services.backend), /^wget /);
      assert.match(tool(m.services.frontend), /^wget /);
      if (target === "vm") {
        assert.equal(tool(m.services.postgres), "pg_isready");
        assert.equal(tool(m.services.objectstore), "wget");
      }
    });

    it("stop grace periods are at least the model's", () => {
      const model = appServices({ app: input.config.app, objectStoreEndpoint: "", assetsBucket: "" });
      for (const s of Object.values(model)) assert.ok(parseInt(m.services[s.name].stop_grace_period ?? "0", 10) >= s.stopGraceSeconds, s.name);
    });

    it("waits on health and job completion (depends_on)", () => {
      assert.deepEqual(m.services.backend.depends_on, {
        migrate: { condition: "service_completed_successfully" },
        pgbouncer: { condition: "service_healthy" },
        redis: { condition: "service_healthy" },
      });
      assert.deepEqual(m.services.migrate.depends_on, { "db-setup": { condition: "service_completed_successfully" } });
      assert.equal(m.services.caddy.depends_on?.backend.condition, "service_healthy");
      if (target === "vm") {
        assert.equal(m.services["db-setup"].depends_on?.postgres.condition, "service_healthy");
        assert.equal(m.services.pgbouncer.depends_on?.postgres.condition, "service_healthy");
      } else {
        assert.equal(m.services["db-setup"].depends_on, undefined);
        assert.equal(m.services.pgbouncer.depends_on, undefined);
      }
      for (const [name, s] of Object.entries(m.services))
        for (const dep of Object.keys(s.depends_on ?? {})) assert.ok(m.services[dep], `${name} depends on undefined ${dep}`);
    });

    it("names every volume explicitly and mounts only named volumes or release files", () => {
      for (const [k, v] of Object.entries(m.volumes)) assert.equal(v.name, k);
      const own = renderComposeDocs(input);
      for (const doc of [own.base, own.target])
        for (const [name, s] of Object.entries(doc.services))
          for (const vol of s.volumes ?? []) {
            // Reloaded services mount the live copy bin/deploy keeps in APP_DIR/state/<dir> (RELOAD_ON_SECRET_CHANGE), read-only.
            const live = name in RELOAD_ON_SECRET_CHANGE ? `\${FT_APP_DIR:-/opt/freshtrack}/state/${RELOAD_ON_SECRET_CHANGE[name].stateDir}:` : undefined;
            if (live && vol.startsWith(live)) {
              assert.equal(vol, `${live}${RELOAD_ON_SECRET_CHANGE[name].mount}:ro`);
              continue;
            }
            if (name === "caddy" && vol === `\${FT_APP_DIR:-/opt/freshtrack}/state/proxy:${PROXY_STATE_DIR}:ro`) continue; // slot markers
            const src = vol.split(":")[0];
            assert.ok(src.startsWith("./") || m.volumes[src], `${name}: ${vol} is neither a release file nor a named volume`);
            if (src.startsWith("./")) assert.match(vol, /:ro$/, `${name}: release files are read-only`);
          }
      const expected =
        target === "vm"
          ? ["freshtrack_caddy_config", "freshtrack_caddy_data", "freshtrack_objects", "freshtrack_pgdata", "freshtrack_redis"]
          : ["freshtrack_caddy_config", "freshtrack_caddy_data", "freshtrack_redis"];
      for (const v of expected) assert.ok(m.volumes[v], v);
    });

    it("pins every image (no latest, no untagged) and takes them from images.ts / config", () => {
      for (const [svc, img] of Object.entries(release.images)) {
        assert.doesNotMatch(img, /:latest$/, svc);
        assert.match(img, /:[A-Za-z0-9_.-]+$|@sha256:/, svc);
      }
      assert.equal(release.images.caddy, IMAGES.caddy.image);
      assert.equal(release.images.redis, IMAGES.redis.image);
      assert.equal(release.images.backend, "ghcr.io/acme/frostguard-backend:1.2.3");
      assert.equal(release.images.migrate, "ghcr.io/acme/frostguard-backend:1.2.3");
    });

    it("applies imageOverrides", () => {
      const o = renderBundle(
        bundleInput(target, {
          imageOverrides: JSON.stringify(["caddy=registry.local/caddy:9.9.9", "redis=registry.local/valkey:1.0.0", "postgres=registry.local/pg:16.1"]),
        }),
      );
      const r = JSON.parse(o["release.json"]) as ReleaseManifest;
      assert.equal(r.images.caddy, "registry.local/caddy:9.9.9");
      assert.equal(r.images.redis, "registry.local/valkey:1.0.0");
      assert.equal(r.images["db-setup"], "registry.local/pg:16.1");
      if (target === "vm") assert.equal(r.images.postgres, "registry.local/pg:16.1");
      assert.doesNotMatch(o["compose.yml"], /caddy:2\.10/);
    });

    it("never inlines a secret: values absent everywhere, only file secrets under FT_SECRETS_DIR", () => {
      for (const [file, content] of Object.entries(bundle)) assert.ok(!content.includes(DUMMY), `${file} contains a secret value`);
      for (const [name, s] of Object.entries(m.secrets)) {
        assert.deepEqual(Object.keys(s), ["file"], name);
        if (!name.startsWith("grafana") && !name.startsWith("alertmanager"))
          assert.match(s.file, /^\$\{FT_SECRETS_DIR:-\/opt\/freshtrack\/secrets\}\/[a-z-]+\/[A-Za-z0-9_.-]+$/, name);
      }
      // No secret-named variable in any environment: secrets travel only as files.
      const secretEnv = new Set<string>([...APP_SECRET_ENV, "POSTGRES_PASSWORD", "REDIS_PASSWORD", "REDISCLI_AUTH", "AWS_SECRET_ACCESS_KEY"]);
      for (const [name, s] of Object.entries(m.services))
        for (const k of Object.keys(s.environment ?? {})) assert.ok(!secretEnv.has(k), `${name} has ${k} in its environment`);
      // No interpolation other than the secrets dir, the digest labels and the app dir (proxy slot markers).
      for (const f of ["compose.yml", "compose.prod.yml", target === "vm" ? "compose.vm.yml" : "compose.do.yml"]) {
        const vars = [...bundle[f].matchAll(/(?<!\$)\$\{([A-Z_]+)/g)].map((x) => x[1]);
        for (const v of vars) assert.match(v, /^(FT_SECRETS_|FT_APP_DIR$)/, `${f} interpolates ${v}`);
      }
    });

    it("mounts app secrets at /run/secrets/env/<NAME> behind the with-secrets wrapper", () => {
      for (const svc of ["backend", "worker"]) {
        const s = m.services[svc];
        assert.deepEqual(s.entrypoint, ["/bin/sh", "/usr/local/bin/with-secrets"]);
        assert.ok(s.volumes?.includes("./bin/with-secrets:/usr/local/bin/with-secrets:ro"));
        assert.deepEqual(s.secrets?.map((x) => x.target).sort(), APP_SECRET_ENV.map((e) => `/run/secrets/env/${e}`).sort());
        assert.equal(m.secrets[s.secrets![0].source].file.endsWith(`/app/${s.secrets![0].target.split("/").pop()}`), true);
      }
      assert.deepEqual(m.services.backend.command, ["node", "dist/src/index.js"]);
      const mig = m.services.migrate;
      assert.deepEqual(
        mig.secrets?.map((x) => [m.secrets[x.source].file.replace(/^.*\}\//, ""), x.target]),
        [["migrate/DATABASE_URL", "/run/secrets/env/DATABASE_URL"]],
      );
      assert.deepEqual(mig.command, ["node", "dist/src/db/migrate.js"]);
      assert.ok(bundle["bin/with-secrets"] !== undefined || Object.keys(staticFiles()).length === 0, "the wrapper ships in the bundle");
    });

    it("labels every secret reader with its FT_SECRETS_<SERVICE> digest (reloaded ones: none, and a .reload way) and lists the same files in release.json", () => {
      const per = serviceSecrets(target);
      for (const [svc, files] of Object.entries(per)) {
        if (svc in RELOAD_ON_SECRET_CHANGE) {
          assert.equal(m.services[svc].labels?.["freshtrack.secrets"], undefined, `${svc}: a rotation must not recreate it`);
          assert.equal(m.services[svc].secrets, undefined, `${svc}: a Compose file secret would pin the old inode`);
          assert.equal(release.reload[svc], RELOAD_ON_SECRET_CHANGE[svc].reload);
        } else assert.equal(m.services[svc].labels?.["freshtrack.secrets"], `\${${secretsDigestVar(svc)}:-none}`, svc);
        assert.deepEqual(release.secrets[svc], files.map((f) => f.file).sort(), svc);
      }
      assert.equal(secretsDigestVar("db-setup"), "FT_SECRETS_DB_SETUP");
      assert.equal(m.services.frontend.labels, undefined, "frontend reads no secret");
    });

    it("never puts the redis password in argv or env: the healthcheck reads the file", () => {
      const test = m.services.redis.healthcheck?.test ?? [];
      assert.equal(test[0], "CMD-SHELL");
      assert.match(test[1], /REDISCLI_AUTH="\$\$\(cat \/run\/ft-redis\/password\)"/);
      assert.deepEqual(m.services.redis.command, ["valkey-server", "/etc/valkey/valkey.conf"]);
    });

    it("redis reloads its ACL on a rotation instead of being recreated: state/redis mounted read-only, no secrets label", () => {
      assert.equal(release.reload.redis, "ACL LOAD");
      assert.ok(m.services.redis.volumes?.includes("${FT_APP_DIR:-/opt/freshtrack}/state/redis:/run/ft-redis:ro"), JSON.stringify(m.services.redis.volumes));
      assert.equal(m.services.redis.labels?.["freshtrack.secrets"], undefined);
      assert.deepEqual(release.secrets.redis, ["redis/password"]);
    });

    it("postgres (vm) reads its password from a file and gets max_connections from config", () => {
      if (target !== "vm") return assert.equal(m.services.postgres, undefined);
      const pg = m.services.postgres;
      assert.equal(pg.environment?.POSTGRES_PASSWORD_FILE, "/run/secrets/POSTGRES_PASSWORD");
      assert.ok(pg.command?.includes(`max_connections=${input.config.data.dbMaxConnections}`));
      assert.ok(pg.volumes?.includes("freshtrack_pgdata:/var/lib/postgresql/data"));
    });

    it("release.json tells bin/backup how to reach the database and the backup bucket", () => {
      assert.equal(release.target, target);
      assert.equal(release.database.name, "frostguard");
      assert.equal(release.database.sslmode, target === "vm" ? "disable" : "verify-full");
      // digitalocean: bin/backup and bin/restore verify the cluster against the CA the release ships.
      assert.equal(release.database.sslrootcert, target === "vm" ? undefined : "config/db-ca.crt");
      assert.equal(release.database.host, target === "vm" ? "postgres" : input.managedDb!.host);
      // vm: the off-host remote's bucket (this input names one); digitalocean: the Spaces backups bucket.
      assert.equal(release.backup.bucket, target === "vm" ? input.config.vm?.backupRemote?.bucket : input.objectStore.backupsBucket);
      assert.equal(release.backup.retention_days, input.config.data.backupRetentionDays);
      assert.equal(release.images.rclone, IMAGES.rclone.image);
    });

    it("release.json gives install-schedule both schedules and preflight what it checks (owners, domain, TLS mode, ports)", () => {
      assert.equal(release.backup.schedule, input.config.data.backupSchedule);
      assert.equal(release.backup.verify_schedule, "17 5 * * *", "daily, two hours after the default 03:17 backup");
      assert.equal(release.domain, DOMAIN);
      assert.equal(release.tls_mode, input.config.app.tlsMode);
      assert.deepEqual(release.ports, [80, 443]);
      for (const f of new Set(Object.values(release.secrets).flat())) assert.equal(typeof release.secret_owners[f], "number", `no owner for ${f}`);
      assert.equal(release.secret_owners["backup/backup.key"], 0);
      assert.equal(release.secret_owners["app/JWT_SECRET"], 1001);
    });

    it("ships every static file of compose/files verbatim", () => {
      for (const [rel, content] of Object.entries(staticFiles())) assert.equal(bundle[rel], content, rel);
    });
  });
}

describe("verifySchedule: the restore check after the backup", () => {
  for (const [backup, check] of [
    ["17 3 * * *", "17 5 * * *"],
    ["0 23 * * *", "0 1 * * *"],
    ["5 2 * * 0", "5 4 * * *"],
    ["0 */6 * * *", "47 4 * * *"],
    ["*/30 1,13 * * *", "47 4 * * *"],
  ])
    it(`${backup} -> ${check}`, () => assert.equal(verifySchedule(backup), check));
});

describe("freshtrack.config digest label", () => {
  const labels = (b: Record<string, string>) => {
    const m = merged(b);
    return Object.fromEntries(Object.entries(m.services).map(([n, s]) => [n, s.labels?.["freshtrack.config"]]));
  };
  const a = labels(renderBundle(bundleInput("vm")));

  it("is set on exactly the services that mount release files", () => {
    for (const svc of ["caddy", "redis", "pgbouncer", "backend", "worker", "migrate", "db-setup"]) assert.match(a[svc] ?? "", /^[0-9a-f]{64}$/, svc);
    for (const svc of ["postgres", "objectstore", "frontend"]) assert.equal(a[svc], undefined, svc);
  });

  it("changes only for the service whose file changed", () => {
    const b = labels(renderBundle(bundleInput("vm", { tlsMode: "internal" })));
    assert.notEqual(b.caddy, a.caddy);
    for (const svc of ["redis", "pgbouncer", "backend"]) assert.equal(b[svc], a[svc], svc);
    const c = labels(renderBundle(bundleInput("vm", { poolSize: "10" })));
    assert.notEqual(c.pgbouncer, a.pgbouncer);
    assert.equal(c.caddy, a.caddy);
  });
});

describe("caddy.json", () => {
  type Handler = Record<string, unknown> & { handler: string; routes?: Route[] };
  type Route = { match?: { host?: string[]; path?: string[] }[]; handle: Handler[] };
  const cfg = (target: "vm" | "digitalocean", over: Record<string, string> = {}) =>
    caddyConfig(bundleInput(target, over)) as {
      apps: {
        http: { servers: Record<string, { listen: string[]; routes: Route[] }> };
        tls: { automation: { policies: { subjects: string[]; issuers: Record<string, unknown>[] }[] } };
      };
    };

  it("routes exactly the app contract's backend paths to the backend, everything else to the frontend", () => {
    assert.deepEqual([...BACKEND_PATHS], ["/api/*", "/trpc/*", "/socket.io/*", "/health*", "/unsubscribe*"]);
    const app = cfg("vm").apps.http.servers.public.routes[1];
    assert.deepEqual(app.match, [{ host: [DOMAIN] }]);
    const sub = app.handle.find((h) => h.handler === "subroute")!.routes!;
    assert.deepEqual(sub[0].match, [{ path: [...BACKEND_PATHS] }]);
    const dials = (h: Handler) => (h.routes ?? []).map((r) => (r.handle[0].upstreams as { dial: string }[]).map((u) => u.dial));
    assert.deepEqual(dials(sub[0].handle[0]), [
      ["freshtrack-backend-blue:3000", "backend:3000"],
      ["freshtrack-backend-green:3000", "backend:3000"],
      ["backend:3000"],
    ]);
    assert.equal(sub[1].match, undefined, "the frontend route is the catch-all");
    assert.deepEqual(dials(sub[1].handle[0]), [
      ["freshtrack-frontend-blue:8080", "frontend:8080"],
      ["freshtrack-frontend-green:8080", "frontend:8080"],
      ["frontend:8080"],
    ]);
    assert.deepEqual(
      appRoutes().map((r) => r.upstream.service),
      ["backend", "frontend"],
    );
  });

  // The transport every upstream gets: a stopping backend must never wait on a connection Caddy keeps
  // unused (Caddy's default keeps one 2 minutes, beyond the backend's stop grace).
  const UPSTREAM_TRANSPORT_RENDERED = {
    protocol: "http",
    dial_timeout: "2s",
    keep_alive: { probe_interval: "30s", max_idle_conns_per_host: 32, idle_timeout: "2s" },
  };
  it("every upstream closes idle connections within 2 s, below the app's keep-alive and its stop grace, Caddy's other defaults kept", () => {
    for (const target of ["vm", "digitalocean"] as const) {
      const proxies: Handler[] = [];
      const walk = (v: unknown): void => {
        if (Array.isArray(v)) v.forEach(walk);
        else if (v && typeof v === "object") {
          if ((v as Handler).handler === "reverse_proxy") proxies.push(v as Handler);
          Object.values(v).forEach(walk);
        }
      };
      walk(cfg(target));
      // 2 services x 3 slot routes, the move's holder, and on vm the object store.
      assert.equal(proxies.length, target === "vm" ? 8 : 7, target);
      for (const p of proxies) assert.deepEqual(p.transport, UPSTREAM_TRANSPORT_RENDERED, JSON.stringify(p.upstreams));
    }
    assert.equal(UPSTREAM_IDLE_TIMEOUT, UPSTREAM_TRANSPORT_RENDERED.keep_alive.idle_timeout);
    // Node's default keep-alive is 5 s, the backend's stop grace 45 s: Caddy closes first, and before either.
    assert.ok(parseFloat(UPSTREAM_IDLE_TIMEOUT) < 5);
    const backend = appServices({ app: bundleInput("vm").config.app, objectStoreEndpoint: "", assetsBucket: "" }).backend;
    assert.ok(parseFloat(UPSTREAM_IDLE_TIMEOUT) < backend.stopGraceSeconds);
  });

  it("never rewrites the path", () => {
    const text = JSON.stringify(cfg("vm"));
    for (const bad of ["rewrite", "strip_path_prefix", "strip_path_suffix", "uri_substring", "path_regexp"]) assert.ok(!text.includes(bad), bad);
  });

  it("picks the serving slot by marker file (no reload, no DNS race), retries dials, never buffers bodies", () => {
    const sub = cfg("vm").apps.http.servers.public.routes[1].handle.find((h) => h.handler === "subroute")!.routes!;
    for (const [i, svc] of ["backend", "frontend"].entries()) {
      const slots = sub[i].handle[0];
      assert.equal(slots.handler, "subroute");
      const routes = slots.routes as (Route & { terminal?: boolean; match?: { file?: { root: string; try_files: string[] } }[] })[];
      assert.deepEqual(
        routes.map((r) => r.match?.[0]?.file),
        [{ root: PROXY_STATE_DIR, try_files: [`${svc}.blue`] }, { root: PROXY_STATE_DIR, try_files: [`${svc}.green`] }, undefined],
      );
      for (const r of routes) {
        assert.equal(r.terminal, true);
        const rp = r.handle[0];
        assert.equal(rp.handler, "reverse_proxy");
        assert.equal(rp.dynamic_upstreams, undefined, "no DNS upstreams: a closing container would stay in rotation");
        const lb = rp.load_balancing as Record<string, unknown>;
        assert.deepEqual(lb.selection_policy, { policy: "first" }, "the slot's container first, the service name only as a fallback");
        assert.ok(parseInt(String(lb.try_duration), 10) >= 10, "retry window covers a container restart");
        assert.ok(Number(lb.retries) > 0);
        // A retried body is replayed wrongly by Caddy (empty, or another request's): never buffer for retries.
        assert.equal(rp.buffer_requests, undefined);
        assert.equal(rp.request_buffers, undefined);
        // Health is checked in the background (never on a request's time), faster than bin/deploy's 3 s settle.
        assert.deepEqual(rp.health_checks, {
          active: { uri: svc === "backend" ? "/health/live" : "/health", interval: "1s", timeout: "2s", expect_status: 200 },
        });
      }
    }
    const settle = Number(/FT_PROXY_SETTLE_SECONDS:-(\d+)/.exec(fs.readFileSync(path.join(STATIC_FILES_DIR, "bin", "deploy"), "utf8"))![1]);
    assert.ok(settle > 1 + 1, `bin/deploy settles ${settle} s: longer than one health-check interval plus a check`);
    // The idle slot fails its check every second by design: that logger stays out of the log.
    assert.deepEqual((cfg("vm") as unknown as { logging: unknown }).logging, {
      logs: { default: { exclude: ["http.handlers.reverse_proxy.health_checker.active"] } },
    });
  });

  it("a move's cutover sends every request for every app host to the move's holder, switched by a marker file (no config load)", () => {
    for (const [target, hosts] of [
      ["vm", [DOMAIN, `s3.${DOMAIN}`]],
      ["digitalocean", [DOMAIN]],
    ] as const) {
      const first = cfg(target).apps.http.servers.public.routes[0] as Route & { terminal?: boolean; match: Record<string, unknown>[] };
      assert.deepEqual(first.match, [{ host: hosts, file: { root: PROXY_STATE_DIR, try_files: [MOVE_FORWARD_MARKER] } }], target);
      assert.equal(first.terminal, true);
      assert.deepEqual(first.handle, [
        { handler: "reverse_proxy", upstreams: [{ dial: `${MOVE_HOLD_CONTAINER}:${MOVE_HOLD_PORT}` }], transport: UPSTREAM_TRANSPORT_RENDERED },
      ]);
    }
    // bin/lib/hold.sh names the same container, port and marker.
    const lib = fs.readFileSync(path.join(STATIC_FILES_DIR, "bin", "lib", "hold.sh"), "utf8");
    assert.match(lib, /ft_hold_name\(\) \{ printf '%s-move-hold' "\$FT_PROJECT"; \}/);
    assert.equal(`${"freshtrack"}-move-hold`, MOVE_HOLD_CONTAINER);
    assert.match(lib, new RegExp(`^FT_MOVE_HOLD_PORT=${MOVE_HOLD_PORT}$`, "m"));
    assert.match(lib, new RegExp(`mv -f "\\$dir/\\.${MOVE_FORWARD_MARKER.replace(".", "\\.")}\\.tmp" "\\$dir/${MOVE_FORWARD_MARKER.replace(".", "\\.")}"`));
  });

  it("mounts the slot markers into caddy read-only from APP_DIR/state/proxy", () => {
    const docs = renderComposeDocs(bundleInput("vm"));
    assert.ok(docs.base.services.caddy.volumes?.includes(`\${FT_APP_DIR:-/opt/freshtrack}/state/proxy:${PROXY_STATE_DIR}:ro`));
  });

  it("sets HSTS, ACME with the operator email, and the internal issuer when asked", () => {
    const acme = cfg("vm");
    assert.deepEqual(acme.apps.tls.automation.policies[0].issuers, [{ module: "acme", email: "ops@cold-chain.example" }]);
    assert.deepEqual(acme.apps.tls.automation.policies[0].subjects, [DOMAIN, `s3.${DOMAIN}`]);
    const internal = cfg("vm", { tlsMode: "internal" });
    assert.deepEqual(internal.apps.tls.automation.policies[0].issuers, [{ module: "internal" }]);
    for (const r of acme.apps.http.servers.public.routes.slice(1)) {
      const h = r.handle[0] as { handler: string; response?: { set: Record<string, string[]> } };
      assert.equal(h.handler, "headers");
      assert.match(h.response!.set["Strict-Transport-Security"][0], /^max-age=\d{7,}/);
    }
    // Redirects come from automatic HTTPS: it must not be switched off on the public server.
    assert.ok(!("automatic_https" in acme.apps.http.servers.public));
    assert.deepEqual(acme.apps.http.servers.public.listen, [":443"]);
  });

  it("proxies s3.<domain> to the object store on vm only, for the assets bucket only", () => {
    const vm = cfg("vm").apps.http.servers.public.routes;
    assert.deepEqual(vm[2].match, [{ host: [`s3.${DOMAIN}`] }]);
    const sub = (
      vm[2].handle[1] as unknown as { routes: { match?: { path?: string[] }[]; handle: { handler: string; upstreams?: unknown; status_code?: number }[] }[] }
    ).routes;
    const proxied = sub.filter((r) => r.handle.some((h) => h.handler === "reverse_proxy"));
    assert.equal(proxied.length, 1);
    assert.deepEqual(proxied[0].match, [{ path: ["/frostguard-assets/*"] }]);
    assert.deepEqual(proxied[0].handle[0].upstreams, [{ dial: "objectstore:8333" }]);
    assert.equal(sub[sub.length - 1].handle[0].status_code, 403, "everything else is refused");
    assert.equal(cfg("digitalocean").apps.http.servers.public.routes.length, 2);
  });
});

describe("pgbouncer.ini", () => {
  it("pools in transaction mode with sizes from config and ignores node-postgres's startup parameters", () => {
    const input = bundleInput("vm", { dbMaxConnections: "80", poolSize: "30", maxClientConnections: "2000" });
    const p = ini.parse(renderPgbouncerIni(input));
    assert.equal(p.pgbouncer.pool_mode, "transaction");
    assert.equal(p.pgbouncer.max_client_conn, "2000");
    assert.equal(p.pgbouncer.default_pool_size, "30");
    assert.equal(p.pgbouncer.max_db_connections, "30");
    assert.equal(p.pgbouncer.reserve_pool_size, "0");
    assert.deepEqual(p.pgbouncer.ignore_startup_parameters.split(",").sort(), ["extra_float_digits", "statement_timeout"]);
    assert.equal(p.pgbouncer.auth_type, "scram-sha-256");
    assert.equal(p.pgbouncer.auth_file, "/run/secrets/pgbouncer/userlist.txt");
    assert.equal(p.pgbouncer.admin_users, "");
    assert.equal(p.pgbouncer.stats_users, "");
    assert.equal(p.pgbouncer.listen_addr, "0.0.0.0");
    assert.equal(p.databases.frostguard, "host=postgres port=5432 dbname=frostguard user=frostguard");
  });

  it("sslmode per target: verify-full against the managed cluster's CA on digitalocean (shipped in the bundle, mounted read-only); disable in the vm's own network", () => {
    const input = bundleInput("digitalocean");
    const p = ini.parse(renderPgbouncerIni(input));
    assert.equal(p.databases.frostguard, "host=private-db-do-user-1.b.db.ondigitalocean.com port=25060 dbname=frostguard user=frostguard");
    assert.equal(p.pgbouncer.server_tls_sslmode, "verify-full");
    assert.equal(p.pgbouncer.server_tls_ca_file, "/etc/pgbouncer/db-ca.crt");
    const files = renderBundle(input);
    assert.equal(files["config/db-ca.crt"], input.managedDb!.caCert);
    const target = parse(files["compose.do.yml"]) as { services: { pgbouncer: { volumes: string[] } } };
    assert.ok(target.services.pgbouncer.volumes.includes("./config/db-ca.crt:/etc/pgbouncer/db-ca.crt:ro"));
    // db-setup and migrate connect directly: the same CA, at the path their URLs' sslrootcert names; libpq's environment says verify-full too.
    const direct = parse(files["compose.do.yml"]) as { services: Record<string, { volumes?: string[]; environment?: Record<string, string> }> };
    for (const svc of ["db-setup", "migrate"]) assert.ok(direct.services[svc].volumes?.includes("./config/db-ca.crt:/etc/freshtrack/db-ca.crt:ro"), svc);
    assert.deepEqual(direct.services["db-setup"].environment, { PGSSLMODE: "verify-full", PGSSLROOTCERT: "/etc/freshtrack/db-ca.crt" });
    // No CA, no bundle: the program never falls back to an unverified connection.
    assert.throws(() => renderPgbouncerIni({ ...input, managedDb: { ...input.managedDb!, caCert: "" } }), /caCert/);
    const vm = ini.parse(renderPgbouncerIni(bundleInput("vm")));
    assert.equal(vm.pgbouncer.server_tls_sslmode, "disable");
    assert.equal(renderBundle(bundleInput("vm"))["config/db-ca.crt"], undefined);
  });

  it("poolBudget keeps DB_CONNECTION_HEADROOM free", () => {
    assert.equal(DB_CONNECTION_HEADROOM, 15);
    assert.equal(poolBudget(50, 34).ok, true);
    assert.equal(poolBudget(50, 35).ok, false);
    assert.equal(poolBudget(100, 20, 2).serverConnections, 40);
    // The default derived by config.ts fits.
    const cfg = bundleInput("vm", { dbMaxConnections: "50" }).config.data;
    assert.equal(poolBudget(50, cfg.poolSize).ok, true);
  });

  it("refuses values that would change the file's structure", () => {
    assert.throws(() => serializePgbouncerIni({ databases: { x: "host=a\n[pgbouncer]" }, pgbouncer: {} }));
    assert.throws(() => serializePgbouncerIni({ databases: {}, pgbouncer: { admin_users: "a;b" } }));
  });
});

describe("redis.conf", () => {
  const conf = renderRedisConf();
  it("persists (AOF), never evicts, and takes its users from the ACL file bin/deploy keeps (no password in it)", () => {
    assert.match(conf, /^appendonly yes$/m);
    assert.match(conf, /^maxmemory-policy noeviction$/m);
    assert.match(conf, /^aclfile \/run\/ft-redis\/users.acl$/m);
    assert.doesNotMatch(conf, /^include /m);
    assert.doesNotMatch(conf, /requirepass/);
    assert.doesNotMatch(conf, /allkeys/);
  });
});

describe("compose YAML writer", () => {
  it("emits !reset and !override tags that survive a round trip", () => {
    const text = toYaml({ services: { a: { depends_on: reset({}), secrets: override([{ source: "x", target: "/y" }]) } } });
    assert.match(text, /depends_on: !reset \{\}/);
    assert.match(text, /secrets: !override\n/);
    const tags: string[] = [];
    visit(
      parseDocument(text, {
        customTags: [
          { tag: "!reset", resolve: (v: unknown) => v },
          { tag: "!override", resolve: (v: unknown) => v },
        ] as never,
      }),
      {
        Node(_, n) {
          if (isNode(n) && n.tag) tags.push(n.tag);
        },
      },
    );
    assert.deepEqual(tags.sort(), ["!override", "!reset"]);
  });

  it("doubles literal dollars so Compose does not interpolate them", () => {
    assert.equal(literal('a="$(cat f)" $HOME'), 'a="$$(cat f)" $$HOME');
  });
});

describe("resource budget (2 vCPU / 4 GB reference host)", () => {
  it("every long-running service and job has a row; the model and the compose limits agree", () => {
    const rows = budgetTable();
    const input = bundleInput("vm");
    const m = merged(renderBundle(input));
    for (const [name, s] of Object.entries(m.services)) {
      const row = rows.find((r) => r.service === name);
      assert.ok(row, `${name} has no budget row`);
      assert.equal(Number(s.deploy?.resources.limits.cpus), row.cpus, name);
      assert.equal(s.deploy?.resources.limits.memory, `${row.memoryMb}M`, name);
    }
  });

  for (const target of ["vm", "digitalocean"] as const) {
    it(`fits on ${target}: app services ≤ 2 vCPU, peak memory (with observability and a deploy's extra container) ≤ 4 GB minus the OS reserve`, () => {
      const s = budgetSum(target);
      assert.ok(s.serviceCpus <= HOST.cpus, `cpus ${s.serviceCpus}`);
      assert.ok(s.peakMemoryMb <= HOST.memoryMb - OS_RESERVE_MB, `memory ${s.peakMemoryMb}`);
    });
  }

  it("the README section shows the sums budgetSum() computes", () => {
    const readme = fs.readFileSync(path.join(__dirname, "..", "..", "docs", "compose.md"), "utf8");
    for (const target of ["vm", "digitalocean"] as const) {
      const b = budgetSum(target);
      const row = `| ${target} | ${b.serviceCpus.toFixed(2)} | ${b.serviceMemoryMb} MB | ${b.observabilityMemoryMb} MB | ${b.peakMemoryMb} MB | ${b.memoryAvailableMb} MB |`;
      assert.ok(readme.includes(row), `README lacks: ${row}`);
    }
    for (const r of budgetTable().filter((x) => x.kind !== "observability")) {
      assert.ok(
        readme.includes(`| ${r.service} | ${r.kind} | ${r.targets.join(", ")} | ${r.cpus.toFixed(2)} | ${r.memoryMb} |`),
        `README row for ${r.service}`,
      );
    }
  });
});
