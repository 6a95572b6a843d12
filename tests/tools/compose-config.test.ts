// The rendered vm and digitalocean bundles checked by the real tools:
// `docker compose config` (Compose v2 merges our -f files exactly as bin/deploy
// will), `dclint` on the files we render, and the merged result's invariants.
import { strict as assert } from "assert";
import { execFileSync, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parseConfig, USER_SECRET_KEYS } from "../../core/config";
import { BundleInput } from "../../compose/bundle-input";
import { ReleaseManifest, renderBundle } from "../../compose/bundle";
import { testManagedDb, testObjectStore } from "../fixtures/config";

const DOMAIN = "app.cold-chain.example";
const DUMMY = "DUMMYSECRETVALUE";
const REPO = path.join(__dirname, "..", "..");

function bundleInput(target: "vm" | "digitalocean"): BundleInput {
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
  };
  const keys = USER_SECRET_KEYS.filter((k) => target === "vm" || k !== "vmSshPrivateKey");
  for (const k of keys) raw[k] = `${DUMMY}-${k}`;
  return {
    config: parseConfig(raw, new Set(keys)),
    target,
    objectStore: testObjectStore(DOMAIN, { assetsBucket: "frostguard-assets", backupsBucket: "frostguard-backups" }),
    managedDb: testManagedDb(target),
  };
}

function writeTree(dir: string, files: Record<string, string>) {
  for (const [rel, content] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    fs.writeFileSync(path.join(dir, rel), content, { mode: 0o600 });
  }
}

interface Merged {
  services: Record<
    string,
    {
      ports?: { target: number; published: string; host_ip?: string }[];
      environment?: Record<string, string | null>;
      labels?: Record<string, string>;
      secrets?: { source: string; target: string }[];
    }
  >;
  secrets: Record<string, { file: string }>;
}

for (const target of ["vm", "digitalocean"] as const) {
  describe(`rendered ${target} bundle under docker compose and dclint`, () => {
    let tmp: string;
    let rel: string;
    let secretsDir: string;
    let release: ReleaseManifest;

    before(() => {
      tmp = fs.mkdtempSync(path.join(os.tmpdir(), `ft-compose-${target}-`));
      rel = path.join(tmp, "releases", "r1");
      secretsDir = path.join(tmp, "secrets");
      const bundle = renderBundle(bundleInput(target));
      writeTree(rel, bundle);
      release = JSON.parse(bundle["release.json"]);
      // Dummy secret files for every file release.json names, with a recognisable value.
      const files = [...new Set(Object.values(release.secrets).flat())];
      writeTree(secretsDir, Object.fromEntries(files.map((f) => [f, `${DUMMY}-file-${f}\n`])));
    });
    after(() => fs.rmSync(tmp, { recursive: true, force: true }));

    const compose = (args: string[], env: Record<string, string> = {}) =>
      spawnSync(
        "docker",
        [
          "compose",
          "-p",
          "freshtrack",
          "--project-directory",
          rel,
          ...release.compose_files.flatMap((f) => ["-f", path.join(rel, f)]),
          ...release.profiles.flatMap((p) => ["--profile", p]),
          ...args,
        ],
        {
          encoding: "utf8",
          env: { ...process.env, FT_SECRETS_DIR: secretsDir, ...env },
        },
      );

    it("`docker compose config -q` accepts the merged files", () => {
      const r = compose(["config", "-q"]);
      assert.equal(r.status, 0, r.stderr);
    });

    if (target === "digitalocean")
      it("merged: db-setup and migrate keep their own mounts and get the cluster CA read-only where their URLs' sslrootcert points", () => {
        const r = compose(["config", "--format", "json"]);
        assert.equal(r.status, 0, r.stderr);
        type Vol = { type: string; source: string; target: string; read_only?: boolean };
        const m = JSON.parse(r.stdout) as { services: Record<string, { volumes?: Vol[]; environment?: Record<string, string> }> };
        for (const svc of ["db-setup", "migrate"]) {
          const vols = m.services[svc].volumes ?? [];
          const ca = vols.find((v) => v.target === "/etc/freshtrack/db-ca.crt");
          assert.deepEqual([ca?.type, ca?.source, ca?.read_only], ["bind", path.join(rel, "config", "db-ca.crt"), true], svc);
          assert.ok(vols.length >= 2, `${svc} lost its base mounts: ${JSON.stringify(vols)}`);
        }
        assert.equal(m.services["db-setup"].environment?.PGSSLMODE, "verify-full");
      });

    it("merged: only caddy publishes, on 80/443; secrets resolve into FT_SECRETS_DIR; digests land in labels; no value leaks", () => {
      const r = compose(["config", "--format", "json"], { FT_SECRETS_BACKEND: "abc123" });
      assert.equal(r.status, 0, r.stderr);
      const m = JSON.parse(r.stdout) as Merged;
      for (const [name, s] of Object.entries(m.services)) {
        if (name === "caddy")
          assert.deepEqual(
            s.ports?.map((p) => [p.target, p.published]),
            [
              [80, "80"],
              [443, "443"],
            ],
          );
        else assert.equal(s.ports, undefined, `${name} publishes ports`);
      }
      for (const [name, s] of Object.entries(m.secrets)) assert.ok(s.file.startsWith(secretsDir + "/"), `${name}: ${s.file}`);
      assert.equal(m.services.backend.labels?.["freshtrack.secrets"], "abc123");
      assert.equal(m.services.worker.labels?.["freshtrack.secrets"], "none");
      assert.ok(!r.stdout.includes(DUMMY), "a secret value reached the merged config");
      // What `docker inspect` would show as Config.Env is this environment: no secret names in it.
      for (const [name, s] of Object.entries(m.services))
        for (const k of Object.keys(s.environment ?? {})) assert.doesNotMatch(k, /PASSWORD$|SECRET|_KEY$|^DATABASE_URL$|^REDIS_URL$|AUTH$/, `${name}: ${k}`);
      assert.deepEqual(
        m.services.backend.secrets?.find((s) => s.target === "/run/secrets/env/DATABASE_URL") &&
          m.secrets[m.services.backend.secrets!.find((s) => s.target === "/run/secrets/env/DATABASE_URL")!.source].file,
        path.join(secretsDir, "app/DATABASE_URL"),
      );
    });

    it("keeps the redis healthcheck's `$(cat …)` literal (escaped, not interpolated)", () => {
      const r = compose(["config", "--format", "json"]);
      assert.equal(r.status, 0, r.stderr);
      const m = JSON.parse(r.stdout) as { services: Record<string, { healthcheck?: { test?: string[] } }> };
      // `config` prints a Compose file again, so the literal `$` comes back escaped as `$$`;
      // an unescaped `$(` in our file would have failed with "invalid interpolation format".
      assert.match(m.services.redis.healthcheck?.test?.[1] ?? "", /REDISCLI_AUTH="\$\$\(cat \/run\/ft-redis\/password\)"/);
    });

    it("dclint finds nothing in the files this renderer owns", () => {
      const own = ["compose.yml", "compose.prod.yml", target === "vm" ? "compose.vm.yml" : "compose.do.yml"].map((f) => path.join(rel, f));
      // dclint runs with its default rules: the renderer orders keys and services the way it expects
      // and binds caddy's ports to an explicit interface (0.0.0.0, the public entry point).
      const r = spawnSync(path.join(REPO, "node_modules", ".bin", "dclint"), own, { encoding: "utf8", cwd: REPO });
      assert.equal(r.status, 0, r.stdout + r.stderr);
      assert.equal(r.stdout.trim(), "", r.stdout);
    });
  });
}

describe("the tools themselves", () => {
  it("docker compose is the v2 plugin", () => {
    assert.match(execFileSync("docker", ["compose", "version", "--short"], { encoding: "utf8" }), /^v?2\./);
  });

  it("dclint does flag a broken file (the lint check can fail)", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ft-dclint-"));
    try {
      const bad = path.join(dir, "bad.yml");
      fs.writeFileSync(bad, "services:\n  b:\n    image: x\n    ports:\n      - 5432:5432\n  a:\n    image: y:latest\n");
      const r = spawnSync(path.join(REPO, "node_modules", ".bin", "dclint"), [bad], { encoding: "utf8", cwd: REPO });
      assert.notEqual(r.status, 0);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
