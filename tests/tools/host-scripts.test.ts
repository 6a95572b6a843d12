// The push's shell scripts under real tools: shellcheck, and write-secrets /
// teardown run for real against a scratch APP_DIR (no SSH, no Docker needed).
import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { hostScript, scriptCommand } from "../../components/shared/host";
import { renderSecretFiles, secretPayloadDigest, serializeSecretPayload, SecretFiles } from "../../compose/secret-files";
import { fakeCronDir, installPlanned, plannedRelease } from "../fixtures/bin/release";

const SCRIPTS = path.resolve(__dirname, "..", "..", "components", "shared", "host", "scripts");
const isRoot = process.getuid?.() === 0;

function sh(command: string, stdin = "") {
  return spawnSync("bash", ["-c", command], { input: stdin, encoding: "utf8" });
}

describe("host scripts: shellcheck", () => {
  const scripts = fs.readdirSync(SCRIPTS).filter((f) => f.endsWith(".sh"));
  it("finds the scripts", () => assert.deepEqual(scripts.sort(), ["bootstrap.sh", "teardown.sh", "unpack-bundle.sh", "wait.sh", "write-secrets.sh"]));
  for (const s of scripts) {
    it(`${s} is shellcheck-clean`, () => {
      const r = spawnSync("shellcheck", ["--severity=style", "--shell=bash", path.join(SCRIPTS, s)], { encoding: "utf8" });
      assert.equal(r.error, undefined, "shellcheck must be installed");
      assert.equal(r.status, 0, r.stdout + r.stderr);
    });
  }
});

describe("host scripts: write-secrets against a scratch APP_DIR", function () {
  // chown to other uids needs root; this machine's tests run as root (ENVIRONMENT.md).
  before(function () {
    assert.ok(isRoot, "these tests need root to chown secret files");
  });
  const files: SecretFiles = renderSecretFiles({
    target: "vm",
    dbAppPassword: "p/a+s=s@w:o%rd",
    redisPassword: "REDISPW",
    jwtSecret: "JWT\nwith newline",
    ttnEncryptionSalt: "SALT",
    grafanaAdminPassword: "GRAFANA",
    backupEncryptionKey: "BACKUPKEY",
    user: {},
    db: { host: "postgres", port: 5432, adminUser: "postgres", adminPassword: "ADMINPW", adminDatabase: "postgres" },
    objectStore: {
      endpoint: "http://objectstore:8333",
      region: "us-east-1",
      accessKey: "AK",
      secretKey: "SK",
      provider: "SeaweedFS",
      buckets: { assets: "frostguard-assets", backups: "frostguard-backups" },
    },
  });
  let appDir = "";
  /** As the push runs it: the payload on stdin, its digest names the generation. */
  const run = (payload: string, gen = secretPayloadDigest(payload)) =>
    sh(scriptCommand(hostScript("write-secrets"), "write-secrets", [appDir, gen], false), payload);
  const genDir = (payload: string) => path.join(appDir, "secrets.d", secretPayloadDigest(payload));
  const tree = (dir: string): Record<string, string> => {
    const out: Record<string, string> = {};
    for (const e of fs.readdirSync(dir, { withFileTypes: true, recursive: true })) {
      const p = path.join(e.parentPath, e.name);
      if (e.isFile()) out[path.relative(dir, p)] = `${fs.statSync(p).mtimeMs} ${fs.readFileSync(p, "utf8")}`;
    }
    return out;
  };

  beforeEach(() => {
    appDir = fs.mkdtempSync(path.join(os.tmpdir(), "ft-host-"));
  });
  afterEach(() => fs.rmSync(appDir, { recursive: true, force: true }));

  it("writes one generation: every file 0600, owned by its uid, with the exact content; prints no value", () => {
    const payload = serializeSecretPayload(files);
    const r = run(payload);
    assert.equal(r.status, 0, r.stderr);
    const dir = genDir(payload);
    for (const [rel, f] of Object.entries(files)) {
      const p = path.join(dir, rel);
      const st = fs.statSync(p);
      assert.equal(st.mode & 0o777, 0o600, rel);
      assert.equal(st.uid, f.uid, rel);
      assert.equal(fs.readFileSync(p, "utf8"), f.content, rel);
    }
    assert.equal(fs.statSync(path.join(appDir, "secrets.d")).mode & 0o777, 0o700);
    assert.equal(fs.statSync(dir).mode & 0o777, 0o700);
    assert.equal(fs.statSync(path.join(dir, "redis")).uid, 999, "a reader's directory belongs to the reader");
    for (const v of ["REDISPW", "ADMINPW", "BACKUPKEY", "p/a+s"]) assert.ok(!(r.stdout + r.stderr).includes(v), v);
    assert.match(r.stdout, /generation [0-9a-f]{16}: \d+ files in place/);
    assert.equal(fs.readFileSync(path.join(appDir, "secrets.d", ".staged"), "utf8").trim(), secretPayloadDigest(payload));
    // The current secrets (APP_DIR/secrets) are bin/deploy's to switch, after a successful deploy.
    assert.ok(!fs.existsSync(path.join(appDir, "secrets")), "write-secrets must not touch what the running release reads");
  });

  it("a new payload is a new generation; the earlier one is never rewritten; no staging directory is left", () => {
    const a = serializeSecretPayload(files);
    assert.equal(run(a).status, 0);
    const before = tree(genDir(a));
    const fewer = Object.fromEntries(Object.entries(files).filter(([p]) => !p.startsWith("grafana/")));
    const changed = { ...fewer, "redis/password": { uid: 999, content: "REDISPW2" } };
    const b = serializeSecretPayload(changed);
    const r = run(b);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(tree(genDir(a)), before, "the earlier generation changed");
    assert.equal(fs.readFileSync(path.join(genDir(b), "redis", "password"), "utf8"), "REDISPW2");
    assert.ok(!fs.existsSync(path.join(genDir(b), "grafana")), "a generation holds exactly its payload");
    assert.deepEqual(
      fs.readdirSync(path.join(appDir, "secrets.d")).filter((n) => n.startsWith(".") && n !== ".staged"),
      [],
    );
    // The same payload again: nothing rewritten.
    const again = run(a);
    assert.equal(again.status, 0, again.stderr);
    assert.deepEqual(tree(genDir(a)), before);
    assert.equal(fs.readFileSync(path.join(appDir, "secrets.d", ".staged"), "utf8").trim(), secretPayloadDigest(a));
  });

  it("a malformed or empty payload, or a bad generation name, writes nothing", () => {
    const good = serializeSecretPayload(files);
    assert.equal(run(good).status, 0);
    const before = tree(path.join(appDir, "secrets.d"));
    for (const bad of ["../escape 0 eA==\n", "redis/password 999 !!!notbase64\n", "", "redis/password x eA==\n"]) {
      const r = run(bad);
      assert.notEqual(r.status, 0, JSON.stringify(bad));
      assert.deepEqual(tree(path.join(appDir, "secrets.d")), before, JSON.stringify(bad));
    }
    for (const gen of ["../x", "ABCDEF0123456789", "", "0123"]) assert.notEqual(run(good, gen).status, 0, gen);
    assert.ok(!fs.existsSync(path.join(appDir, "escape")));
    assert.deepEqual(
      fs.readdirSync(path.join(appDir, "secrets.d")).filter((n) => n.startsWith(".staging")),
      [],
    );
  });
});

describe("host scripts: teardown (stack removal)", () => {
  let appDir = "";
  const fakeBins: string[] = [];
  beforeEach(() => {
    appDir = fs.mkdtempSync(path.join(os.tmpdir(), "ft-host-"));
  });
  afterEach(() => {
    for (const d of [appDir, ...fakeBins.splice(0)]) fs.rmSync(d, { recursive: true, force: true });
  });
  const teardown = (...args: string[]) => sh(scriptCommand(hostScript("teardown"), "teardown", args, false));

  /** A fake `docker` first on PATH: records its arguments instead of touching a daemon. */
  function withFakeDocker(): { env: NodeJS.ProcessEnv; calls: () => string[] } {
    // Outside APP_DIR: purge deletes APP_DIR.
    const bin = fs.mkdtempSync(path.join(os.tmpdir(), "ft-fakebin-"));
    fakeBins.push(bin);
    const log = path.join(bin, "calls.log");
    fs.writeFileSync(path.join(bin, "docker"), `#!/bin/sh\necho "$*" >> '${log}'\n`, { mode: 0o755 });
    return {
      env: { ...process.env, PATH: `${bin}:${process.env.PATH}` },
      calls: () => (fs.existsSync(log) ? fs.readFileSync(log, "utf8").trim().split("\n") : []),
    };
  }
  const teardownWith = (env: NodeJS.ProcessEnv, ...args: string[]) =>
    spawnSync("bash", ["-c", scriptCommand(hostScript("teardown"), "teardown", args, false)], { encoding: "utf8", env });
  const withRelease = () => {
    const rel = path.join(appDir, "releases", "abc");
    fs.mkdirSync(rel, { recursive: true });
    fs.writeFileSync(path.join(rel, "release.json"), JSON.stringify({ compose_files: ["compose.yml", "compose.vm.yml"], profiles: ["observability"] }));
    fs.symlinkSync("releases/abc", path.join(appDir, "current"));
  };

  it("stack removal stops the release's services and keeps volumes and data", () => {
    const docker = withFakeDocker();
    withRelease();
    // A finished move's records on this host: a later deploy here must not find them.
    const moveState = ["proxy/move.forward", "move-stopped-app", "move-frozen-app"].map((f) => path.join(appDir, "state", f));
    for (const f of moveState) {
      fs.mkdirSync(path.dirname(f), { recursive: true });
      fs.writeFileSync(f, "0123abcd\n");
    }
    assert.equal(teardownWith(docker.env, "arm", appDir, "tok", "false").status, 0);
    const r = teardownWith(docker.env, "run", appDir, "tok", "false");
    assert.equal(r.status, 0, r.stderr);
    for (const f of moveState) assert.ok(!fs.existsSync(f), `${f} removed`);
    const cur = path.join(appDir, "current");
    assert.deepEqual(docker.calls(), [
      `compose -p freshtrack -f ${cur}/compose.yml -f ${cur}/compose.vm.yml --profile observability down --remove-orphans --timeout 90`,
    ]);
    assert.ok(fs.existsSync(path.join(appDir, "releases", "abc", "release.json")), "data stays");
    assert.match(fs.readFileSync(path.join(appDir, "state", "audit.log"), "utf8"), /"event":"teardown"/);
  });

  it("purgeOnDelete also removes the volumes and APP_DIR", () => {
    const docker = withFakeDocker();
    withRelease();
    assert.equal(teardownWith(docker.env, "arm", appDir, "tok", "true").status, 0);
    const r = teardownWith(docker.env, "run", appDir, "tok", "true");
    assert.equal(r.status, 0, r.stderr);
    const calls = docker.calls();
    assert.match(calls[0], / down --remove-orphans --timeout 90 --volumes$/);
    assert.match(calls[1], /^volume ls -q --filter label=com.docker.compose.project=freshtrack$/);
    assert.ok(!fs.existsSync(path.join(appDir, "releases")), "APP_DIR removed");
  });

  // (issue 12 item 13) Left behind, the schedule fails every night against stopped services and alerts forever.
  it("stack removal removes this APP_DIR's backup schedule (installed by the planned release), not another one's", function () {
    this.timeout(60000);
    const app = installPlanned(plannedRelease("vm"));
    fakeBins.push(app.root);
    fs.symlinkSync("releases/r1", path.join(app.appDir, "current"));
    const cronDir = path.join(app.root, "cron.d");
    const docker = withFakeDocker();
    const env = {
      ...docker.env,
      PATH: `${fakeCronDir(path.join(app.root, "fakecron"))}:${docker.env.PATH}`,
      FT_CRON_FILE: path.join(cronDir, "freshtrack-backup"),
    };
    const inst = spawnSync("bash", [path.join(app.relDir, "bin", "install-schedule")], { encoding: "utf8", env });
    assert.equal(inst.status, 0, inst.stderr);
    assert.ok(fs.existsSync(env.FT_CRON_FILE));
    // Another deployment's schedule (other APP_DIR) under the same name: not ours to remove.
    assert.equal(teardownWith(env, "arm", appDir, "tok", "false").status, 0);
    const other = teardownWith(env, "run", appDir, "tok", "false");
    assert.equal(other.status, 0, other.stderr);
    assert.ok(fs.existsSync(env.FT_CRON_FILE), "removed the schedule of another APP_DIR");
    assert.equal(teardownWith(env, "arm", app.appDir, "tok", "false").status, 0);
    const r = teardownWith(env, "run", app.appDir, "tok", "false");
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /backup schedule .* removed/);
    assert.ok(!fs.existsSync(env.FT_CRON_FILE), "the backup schedule is left behind");
  });

  it("a replaced deployment's delete finds a newer token and stops nothing", () => {
    assert.equal(teardown("arm", appDir, "old", "true").status, 0);
    assert.equal(teardown("arm", appDir, "new", "true").status, 0);
    fs.writeFileSync(path.join(appDir, "keep-me"), "data");
    const r = teardown("run", appDir, "old", "true");
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /another deployment owns this host/);
    assert.ok(fs.existsSync(path.join(appDir, "keep-me")), "purge must not run for a superseded deployment");
  });
});
