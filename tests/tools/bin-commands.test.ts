// with-secrets under dash (strict POSIX, like busybox ash), preflight's checks,
// install-schedule's idempotence and status' lock report. docker is a stub here.
import { strict as assert } from "assert";
import * as fs from "fs";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import { BIN_SRC, makeAppDir, run, stubDocker, writeSecret } from "../fixtures/bin/harness";

describe("tools: bin/with-secrets (POSIX sh)", () => {
  let dir = "";
  before(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), "ft-ws-"))));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const ws = (args: string[]) => run("dash", [path.join(BIN_SRC, "with-secrets"), ...args], { env: { PATH: process.env.PATH, FT_SECRETS_ENV_DIR: dir } });

  it("exports every non-empty file verbatim (minus trailing newlines), skips empty ones, prints nothing", async () => {
    const tricky = "p@ss w/ $(touch /tmp/pwned) `id` 'q' \"dq\" %2F\nsecond line";
    fs.writeFileSync(path.join(dir, "DATABASE_URL"), tricky + "\n\n");
    fs.writeFileSync(path.join(dir, "STRIPE_SECRET_KEY"), "");
    fs.mkdirSync(path.join(dir, "SUBDIR"));
    const r = await ws(["sh", "-c", 'printf "%s|" "$DATABASE_URL"; [ -z "${STRIPE_SECRET_KEY+x}" ] && printf unset']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, tricky + "|unset");
    assert.equal(r.stderr, "");
    assert.equal(fs.existsSync("/tmp/pwned"), false);
  });

  it("refuses a file whose name is not an environment variable name", async () => {
    fs.writeFileSync(path.join(dir, "lower-case"), "x");
    const r = await ws(["true"]);
    assert.equal(r.code, 65);
    assert.match(r.stderr, /lower-case/);
    assert.ok(!r.stderr.includes("x\n") && !r.stderr.includes("p@ss"), "must not print values");
    fs.rmSync(path.join(dir, "lower-case"));
  });

  it("needs a command", async () => {
    assert.equal((await ws([])).code, 64);
  });
});

describe("tools: bin/preflight, bin/install-schedule, bin/status", function () {
  this.timeout(60000);
  let app: ReturnType<typeof makeAppDir>;
  let env: NodeJS.ProcessEnv;
  const relJson = () => path.join(app.relDir, "release.json");
  const setRelease = (o: object) => fs.writeFileSync(relJson(), JSON.stringify(o));
  // Ports 80/443 of this shared machine may be taken by other tests' containers: use our own.
  const freePort = 48000 + (process.pid % 1000);
  const busyPort = freePort + 1;
  let busy: net.Server | undefined;
  const base = {
    ports: [freePort],
    target: "vm",
    compose_files: ["compose.yml"],
    profiles: [],
    domain: "localhost",
    tls_mode: "internal",
    secrets: { backend: ["app/JWT_SECRET"], postgres: ["postgres/POSTGRES_PASSWORD"] },
    secret_owners: { "app/JWT_SECRET": 0, "postgres/POSTGRES_PASSWORD": 0 },
    backup: { remote: "s3", bucket: "b", schedule: "17 3 * * *" },
  };

  before(() => {
    app = makeAppDir(base);
    const stub = stubDocker(path.join(app.root, "stub"));
    // Stubbed engine: running, Compose v2, nothing published.
    env = {
      ...process.env,
      PATH: `${stub}:${process.env.PATH}`,
      FT_MIN_FREE_MB: "1",
      FT_CRON_FILE: path.join(app.root, "cron.d", "freshtrack-backup"),
      FT_STUB_SCRIPT: 'case "$*" in "compose version --short") echo 2.26.1 ;; esac',
    };
    writeSecret(app.appDir, "app/JWT_SECRET", "x");
    writeSecret(app.appDir, "postgres/POSTGRES_PASSWORD", "y");
    for (const f of ["backup/rclone.conf", "backup/backup.key", "backup/pgpass"]) writeSecret(app.appDir, f, "z");
  });
  after(() => {
    busy?.close();
    fs.rmSync(app.root, { recursive: true, force: true });
  });

  const preflight = () => run("bash", [path.join(app.relDir, "bin/preflight")], { env });

  it("preflight passes on a good host (DNS mismatch only warns with tls_mode internal)", async () => {
    const r = await preflight();
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /WARNING: localhost resolves to 127\.0\.0\.1 which is not this host/);
    assert.match(r.stderr, new RegExp(`ok: port ${freePort} free`));
  });

  it("preflight reports every bad secret (mode, owner, missing), bad DNS under acme and low disk, then fails", async () => {
    fs.chmodSync(path.join(app.appDir, "secrets/app/JWT_SECRET"), 0o644);
    fs.renameSync(path.join(app.appDir, "secrets/backup/backup.key"), path.join(app.root, "backup.key"));
    busy = net.createServer();
    await new Promise<void>((res) => busy!.listen(busyPort, "0.0.0.0", () => res()));
    setRelease({
      ...base,
      ports: [freePort, busyPort],
      domain: "freshtrack-test.invalid",
      tls_mode: "acme",
      secrets: { ...base.secrets, worker: ["app/MISSING"] },
      secret_owners: { ...base.secret_owners, "postgres/POSTGRES_PASSWORD": 70, "app/MISSING": 1001 },
    });
    try {
      const r = await run("bash", [path.join(app.relDir, "bin/preflight")], { env: { ...env, FT_MIN_FREE_MB: "999999999" } });
      assert.equal(r.code, 1);
      assert.match(r.stderr, /FAIL: secret app\/JWT_SECRET: mode 644, expected 600/);
      assert.match(r.stderr, /FAIL: secret postgres\/POSTGRES_PASSWORD: owned by uid 0, expected 70/);
      assert.match(r.stderr, /FAIL: secret app\/MISSING: missing/);
      assert.match(r.stderr, /FAIL: freshtrack-test\.invalid does not resolve \(tls_mode acme\)/);
      assert.match(r.stderr, /FAIL: only \d+ MB free/);
      assert.match(r.stderr, new RegExp(`FAIL: port ${busyPort} is in use by another process`));
      assert.doesNotMatch(r.stderr, new RegExp(`FAIL: port ${freePort}`));
      assert.match(r.stderr, /FAIL: secret backup\/backup.key: missing/);
      assert.match(r.stderr, /preflight FAILED: 7 problem/);
    } finally {
      busy.close();
      busy = undefined;
      fs.renameSync(path.join(app.root, "backup.key"), path.join(app.appDir, "secrets/backup/backup.key"));
      fs.chmodSync(path.join(app.appDir, "secrets/app/JWT_SECRET"), 0o600);
      setRelease(base);
    }
  });

  it("install-schedule writes the cron entry once and leaves an unchanged file alone", async () => {
    const r1 = await run("bash", [path.join(app.relDir, "bin/install-schedule")], { env });
    assert.equal(r1.code, 0, r1.stderr);
    const cron = fs.readFileSync(env.FT_CRON_FILE!, "utf8");
    assert.match(cron, new RegExp(`^17 3 \\* \\* \\* root /bin/bash ${app.appDir}/current/bin/backup >>`, "m"));
    assert.match(cron, new RegExp(`^47 4 \\* \\* 0 root /bin/bash ${app.appDir}/current/bin/restore --check`, "m"));
    const ino = fs.statSync(env.FT_CRON_FILE!).ino;
    const r2 = await run("bash", [path.join(app.relDir, "bin/install-schedule")], { env });
    assert.equal(r2.code, 0);
    assert.match(r2.stderr, /schedule unchanged/);
    assert.equal(fs.statSync(env.FT_CRON_FILE!).ino, ino, "an unchanged schedule must not be rewritten");
    setRelease({ ...base, backup: { ...base.backup, schedule: "every night" } });
    try {
      const bad = await run("bash", [path.join(app.relDir, "bin/install-schedule")], { env });
      assert.notEqual(bad.code, 0);
      assert.equal(fs.readFileSync(env.FT_CRON_FILE!, "utf8"), cron);
    } finally {
      setRelease(base);
    }
  });

  it("status shows releases, backup age and the live lock holder without taking the lock", async () => {
    fs.symlinkSync("releases/r1", path.join(app.appDir, "current"));
    fs.mkdirSync(path.join(app.appDir, "metrics"), { recursive: true });
    fs.writeFileSync(path.join(app.appDir, "metrics/backup.prom"), `freshtrack_backup_last_success_timestamp_seconds ${Math.floor(Date.now() / 1000) - 7200}\n`);
    fs.writeFileSync(path.join(app.appDir, "state/deploy.lock.owner"), `user=alice\npid=${process.pid}\nhost=h\naction=deploy r9\nsince=2026-01-01T00:00:00Z\n`);
    const r = await run("bash", [path.join(app.relDir, "bin/status")], { env });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^current: {2}releases\/r1$/m);
    assert.match(r.stdout, /^previous: none$/m);
    assert.match(r.stdout, /^last backup: 2 h ago/m);
    assert.match(r.stdout, /^last restore check: never$/m);
    assert.match(r.stdout, /deploy lock: HELD by\n {2}user=alice/);
  });
});
