// with-secrets under dash (strict POSIX, like busybox ash), preflight's checks,
// install-schedule's idempotence and status' lock report, on the release and secret files
// the program plans for the example vm stack. docker is a stub here; the database is a
// real PostgreSQL 15 (FT_PG_BIN seam). Last, bin/rollback: into a release older than its own
// ft_log_outlive, outliving a cut connection; and --to, which a second run cannot undo.
import { strict as assert } from "assert";
import { spawn } from "child_process";
import * as fs from "fs";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import { pgpassField } from "../../compose/secret-files";
import type { ReleaseManifest } from "../../compose/bundle";
import { BIN_SRC, makeAppDir, run, stubDocker } from "../fixtures/bin/harness";
import { AppDir, fakeCronDir, freePort as getFreePort, installPlanned, PG_BIN, plannedRelease, startPostgres } from "../fixtures/bin/release";

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

describe("tools: bin/preflight, bin/install-schedule, bin/status on the planned vm release", function () {
  this.timeout(120000);
  let app: AppDir;
  let env: NodeJS.ProcessEnv;
  let pg: Awaited<ReturnType<typeof startPostgres>>;
  let planned: ReturnType<typeof plannedRelease>;
  const relJson = () => path.join(app.relDir, "release.json");
  let good = "";
  const editRelease = (f: (r: ReleaseManifest) => void) => {
    const r = JSON.parse(good) as ReleaseManifest;
    f(r);
    fs.writeFileSync(relJson(), JSON.stringify(r));
  };
  // Ports 80/443 of this shared machine may be taken by other tests' containers: use ports
  // the kernel hands out (a fixed range collided with another test's listener in CI).
  let freePort = 0;
  let busy: net.Server | undefined;
  // The stubbed engine: running, its version ($FT_STUB_ENGINE), Compose v2, data root, the database container of the release.
  const STUB =
    'case "$*" in "compose version --short") echo 2.26.1 ;; "info --format {{.ServerVersion}}") echo "${FT_STUB_ENGINE:-26.1.5}" ;; "info -f {{.DockerRootDir}}") echo /var/tmp ;; ps*service=postgres*) echo cid-pg ;; esac';

  before(async () => {
    planned = plannedRelease("vm");
    freePort = await getFreePort();
    pg = await startPostgres();
    app = installPlanned(planned, {
      // What differs on a test machine: where the database listens, free ports, and the
      // example domain does not resolve here (internal TLS: a DNS mismatch only warns).
      patch: (r) => {
        r.database.host = "127.0.0.1";
        r.database.port = pg.port;
        r.ports = [freePort];
        r.tls_mode = "internal";
      },
      secretOverrides: { "backup/pgpass": `127.0.0.1:${pg.port}:*:postgres:${pgpassField(pg.adminPassword)}\n` },
    });
    good = fs.readFileSync(relJson(), "utf8");
    const stub = stubDocker(path.join(app.root, "stub"));
    fakeCronDir(stub);
    env = {
      ...process.env,
      PATH: `${stub}:${process.env.PATH}`,
      FT_PG_BIN: PG_BIN,
      FT_CRON_FILE: path.join(app.root, "cron.d", "freshtrack-backup"),
      FT_STUB_SCRIPT: STUB,
    };
  });
  after(async () => {
    busy?.close();
    await pg?.stop();
    if (app) fs.rmSync(app.root, { recursive: true, force: true });
  });
  afterEach(() => fs.writeFileSync(relJson(), good));

  const preflight = (extra: NodeJS.ProcessEnv = {}) => run("bash", [path.join(app.relDir, "bin/preflight")], { env: { ...env, ...extra } });

  it("the planned release carries what preflight and install-schedule need", () => {
    const r = planned.release;
    assert.equal(r.domain, "freshtrack.acme-foods.example");
    assert.equal(r.tls_mode, "acme");
    assert.deepEqual(r.ports, [80, 443]);
    assert.equal(r.backup.schedule, "17 3 * * *");
    assert.equal(r.backup.verify_schedule, "17 5 * * *");
    // Every secret a service reads has an owner, and it is the uid write-secrets gives the file.
    for (const f of new Set(Object.values(r.secrets).flat())) assert.equal(r.secret_owners[f], planned.secrets[f].uid, f);
  });

  it("preflight passes on a good host: owners, database, schedule and a 5 GB disk threshold checked", async () => {
    const r = await preflight();
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /WARNING: freshtrack\.acme-foods\.example does not resolve \(tls_mode internal\)/);
    assert.match(r.stderr, new RegExp(`ok: port ${freePort} free`));
    assert.match(r.stderr, /ok: disk \S+: \d+ MB free, \d+% used \(need 5120 MB\)/);
    assert.match(r.stderr, /ok: checked \d+ secret files/);
    assert.match(r.stderr, new RegExp(`ok: database 127\\.0\\.0\\.1:${pg.port} answers as postgres`));
    assert.match(r.stderr, /ok: backup schedule valid/);
    assert.match(r.stderr, /ok: tee -p present/);
    assert.match(r.stderr, /ok: docker engine 26\.1\.5/);
    assert.doesNotMatch(r.stderr, /FAIL|not checked/);
  });

  // Compose refuses the release's health checks (start_interval) on an engine older than 25.
  it("preflight fails on a Docker engine older than 25, and says how to upgrade it; 25.0.0 passes", async () => {
    const old = await preflight({ FT_STUB_ENGINE: "24.0.7" });
    assert.equal(old.code, 1);
    assert.match(
      old.stderr,
      /FAIL: docker engine 24\.0\.7 is older than 25\.0, which the release's health checks need: upgrade it from Docker's apt repository \(docs\/vm\.md\)/,
    );
    assert.match(old.stderr, /preflight FAILED: 1 problem/);
    const edge = await preflight({ FT_STUB_ENGINE: "25.0.0" });
    assert.equal(edge.code, 0, edge.stderr);
    assert.match(edge.stderr, /ok: docker engine 25\.0\.0/);
  });

  it("preflight fails on a host whose tee has no -p (a step's command would die with its connection)", async () => {
    // busybox's tee, say: it knows -a and -i only.
    const stub = fs.mkdtempSync(path.join(os.tmpdir(), "ft-tee-"));
    fs.writeFileSync(path.join(stub, "tee"), '#!/bin/sh\ncase "$1" in -p) echo "tee: unrecognized option: p" >&2; exit 1 ;; esac\nexec cat\n', { mode: 0o755 });
    try {
      const r = await preflight({ PATH: `${stub}:${env.PATH}` });
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, /FAIL: tee has no -p \(GNU coreutils 8\.24 or newer\): install coreutils/);
    } finally {
      fs.rmSync(stub, { recursive: true, force: true });
    }
  });

  it("preflight fails where logind would end a step with its connection (KillUserProcesses, KillOnlyUsers), and names the drop-in that fixes it", async () => {
    // loginctl show-session prints the manager's properties; empty lists print as "Key=".
    const stub = fs.mkdtempSync(path.join(os.tmpdir(), "ft-loginctl-"));
    fs.writeFileSync(
      path.join(stub, "loginctl"),
      '#!/bin/sh\n[ "$1" = show-session ] || exit 1\nprintf "KillUserProcesses=%s\\nKillOnlyUsers=%s\\nKillExcludeUsers=%s\\n" "$KILL" "$ONLY" "$EXCLUDE"\n',
      { mode: 0o755 },
    );
    const session = (user: string, kill: string, only = "", exclude = "") =>
      preflight({ PATH: `${stub}:${env.PATH}`, SUDO_USER: user, KILL: kill, ONLY: only, EXCLUDE: exclude });
    try {
      let r = await session("deploy", "yes");
      assert.notEqual(r.code, 0);
      assert.match(
        r.stderr,
        /FAIL: logind ends deploy's processes when the connection drops \(KillUserProcesses=yes\): a step cut off would stop half-way\. Fix: mkdir -p \/etc\/systemd\/logind\.conf\.d && printf '\[Login\]\\nKillExcludeUsers=root deploy\\n' >\/etc\/systemd\/logind\.conf\.d\/freshtrack\.conf && systemctl restart systemd-logind/,
      );
      // KillOnlyUsers wins over KillUserProcesses=no; an existing exclusion list is kept in the fix.
      r = await session("deploy", "no", "deploy ops", "root ops");
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, /FAIL: logind ends deploy's processes .*\(KillOnlyUsers=deploy ops\).*KillExcludeUsers=root ops deploy\\n/);
      for (const [user, kill, only, exclude, why] of [
        ["deploy", "no", "", "root", "KillUserProcesses=no"],
        ["deploy", "yes", "", "root deploy", "KillExcludeUsers"],
        ["deploy", "yes", "deploy", "deploy", "KillExcludeUsers"],
        ["deploy", "yes", "ops", "root", "KillOnlyUsers names others only"],
        // root is excluded while the list is empty (logind's own default).
        ["root", "yes", "", "", "KillExcludeUsers"],
      ]) {
        r = await session(user, kill, only, exclude);
        assert.equal(r.code, 0, `${user} ${kill} [${only}] [${exclude}]: ${r.stderr}`);
        assert.match(r.stderr, new RegExp(`ok: logind keeps ${user}'s processes when a connection drops \\(${why}\\)`));
      }
    } finally {
      fs.rmSync(stub, { recursive: true, force: true });
    }
    // With no logind to ask: fine where systemd is not running (this machine), a failure where it is.
    const r = await preflight();
    if (fs.existsSync("/run/systemd/system")) assert.match(r.stderr, /FAIL: logind's settings could not be read|ok: logind keeps/);
    else assert.match(r.stderr, /ok: no systemd here: no logind session ends a step/);
  });

  it("preflight reports every problem (secrets, DNS under acme, disk, port, database, schedule), then fails", async () => {
    const jwt = path.join(app.appDir, "secrets/app/JWT_SECRET");
    const pgpw = path.join(app.appDir, "secrets/postgres/POSTGRES_PASSWORD");
    const key = path.join(app.appDir, "secrets/backup/backup.key");
    const deadPort = await getFreePort(); // nothing listens there
    try {
      // Inside the try: whatever fails here, the finally puts the host back for the next cases.
      fs.chmodSync(jwt, 0o644);
      fs.chownSync(pgpw, 0, 0);
      fs.renameSync(key, path.join(app.root, "backup.key"));
      busy = net.createServer();
      await new Promise<void>((res) => busy!.listen(0, "0.0.0.0", () => res()));
      const busyPort = (busy.address() as net.AddressInfo).port;
      editRelease((r) => {
        r.ports = [freePort, busyPort];
        r.domain = "freshtrack-test.invalid";
        r.tls_mode = "acme";
        r.secrets.worker = [...r.secrets.worker, "app/MISSING"];
        r.secret_owners["app/MISSING"] = 1001;
        r.database.port = deadPort;
        r.backup.verify_schedule = "weekly";
      });
      const r = await preflight({ FT_MIN_FREE_MB: "999999999" });
      assert.equal(r.code, 1);
      assert.match(r.stderr, /FAIL: secret app\/JWT_SECRET: mode 644, expected 600/);
      assert.match(r.stderr, /FAIL: secret postgres\/POSTGRES_PASSWORD: owned by uid 0, expected 70/);
      assert.match(r.stderr, /FAIL: secret app\/MISSING: missing/);
      assert.match(r.stderr, /FAIL: freshtrack-test\.invalid does not resolve \(tls_mode acme\)/);
      assert.match(r.stderr, /FAIL: only \d+ MB free/);
      assert.match(r.stderr, new RegExp(`FAIL: port ${busyPort} is in use by another process`));
      assert.doesNotMatch(r.stderr, new RegExp(`FAIL: port ${freePort}`));
      assert.match(r.stderr, /FAIL: secret backup\/backup.key: missing/);
      assert.match(r.stderr, new RegExp(`FAIL: database 127\\.0\\.0\\.1:${deadPort} not reachable as postgres: psql: error: .*Connection refused`));
      assert.match(r.stderr, /FAIL: backup schedule cannot be installed/);
      assert.match(r.stderr, /preflight FAILED: 10 problem/);
    } finally {
      busy?.close();
      busy = undefined;
      if (fs.existsSync(path.join(app.root, "backup.key"))) fs.renameSync(path.join(app.root, "backup.key"), key);
      fs.chmodSync(jwt, 0o600);
      fs.chownSync(pgpw, 70, 70);
    }
  });

  // A hand-written release of the old shape: the failure case it exists for.
  it("a check preflight cannot run is a failure, not a warning (no secret_owners, domain, tls_mode, ports; database down)", async () => {
    editRelease((r) => {
      const o = r as unknown as Record<string, unknown>;
      for (const k of ["secret_owners", "domain", "tls_mode", "ports"]) delete o[k];
    });
    fs.symlinkSync("releases/r1", path.join(app.appDir, "current"));
    try {
      const r = await preflight({ FT_STUB_SCRIPT: 'case "$*" in "compose version --short") echo 2.26.1 ;; esac' });
      assert.equal(r.code, 1);
      assert.match(r.stderr, /FAIL: release\.json has no secret_owners/);
      assert.match(r.stderr, /FAIL: release\.json has no domain/);
      assert.match(r.stderr, /FAIL: release\.json has no ports/);
      assert.match(r.stderr, /FAIL: Docker's data root is unknown/);
      assert.match(r.stderr, /FAIL: docker engine version unknown \('' from docker info\): the release's health checks need Engine 25\.0 or later/);
      assert.match(r.stderr, /FAIL: database service postgres is not running \(current release releases\/r1\)/);
      assert.doesNotMatch(r.stderr, /preflight: WARNING/);
    } finally {
      fs.unlinkSync(path.join(app.appDir, "current"));
    }
  });

  it("preflight before the first deploy on vm: the database container does not exist yet and is created by the deploy", async () => {
    const r = await preflight({ FT_STUB_SCRIPT: STUB.replace("ps*service=postgres*) echo cid-pg ;; ", "") });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /ok: database: first deploy, service postgres is created by it/);
  });

  it("install-schedule installs both planned schedules once and leaves an unchanged file alone", async () => {
    const r1 = await run("bash", [path.join(app.relDir, "bin/install-schedule")], { env });
    assert.equal(r1.code, 0, r1.stderr);
    const cron = fs.readFileSync(env.FT_CRON_FILE!, "utf8");
    assert.match(cron, new RegExp(`^17 3 \\* \\* \\* root /bin/bash ${app.appDir}/current/bin/backup --scheduled >>`, "m"));
    assert.match(cron, new RegExp(`^17 5 \\* \\* \\* root /bin/bash ${app.appDir}/current/bin/restore --check --scheduled >>`, "m"));
    const ino = fs.statSync(env.FT_CRON_FILE!).ino;
    const r2 = await run("bash", [path.join(app.relDir, "bin/install-schedule")], { env });
    assert.equal(r2.code, 0);
    assert.match(r2.stderr, /schedule unchanged/);
    assert.equal(fs.statSync(env.FT_CRON_FILE!).ino, ino, "an unchanged schedule must not be rewritten");
    for (const bad of [{ schedule: "every night" }, { verify_schedule: undefined }]) {
      editRelease((r) => Object.assign(r.backup, bad));
      const b = await run("bash", [path.join(app.relDir, "bin/install-schedule")], { env });
      assert.notEqual(b.code, 0, JSON.stringify(bad));
      assert.equal(fs.readFileSync(env.FT_CRON_FILE!, "utf8"), cron);
    }
  });

  it("install-schedule fails when no cron daemon is installed (the backup would never run); --check writes nothing", async () => {
    fs.rmSync(env.FT_CRON_FILE!, { force: true });
    // PATH without the fake cron and without /usr/sbin (where a real one would be).
    const noCron = { ...env, PATH: "/usr/local/bin:/usr/bin:/bin" };
    const r = await run("bash", [path.join(app.relDir, "bin/install-schedule")], { env: noCron });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /no cron daemon is installed/);
    assert.ok(!fs.existsSync(env.FT_CRON_FILE!));
    const c = await run("bash", [path.join(app.relDir, "bin/install-schedule"), "--check"], { env });
    assert.equal(c.code, 0, c.stderr);
    assert.ok(!fs.existsSync(env.FT_CRON_FILE!), "--check must not write the cron file");
  });

  it("status shows releases, backup age and the live lock holder without taking the lock", async () => {
    fs.symlinkSync("releases/r1", path.join(app.appDir, "current"));
    fs.writeFileSync(
      path.join(app.appDir, "metrics/backup.prom"),
      `freshtrack_backup_last_success_timestamp_seconds ${Math.floor(Date.now() / 1000) - 7200}\n`,
    );
    fs.writeFileSync(
      path.join(app.appDir, "state/deploy.lock.owner"),
      `user=alice\npid=${process.pid}\nhost=h\naction=deploy r9\nsince=2026-01-01T00:00:00Z\n`,
    );
    try {
      const r = await run("bash", [path.join(app.relDir, "bin/status")], { env });
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /^current: {2}releases\/r1$/m);
      assert.match(r.stdout, /^previous: none$/m);
      assert.match(r.stdout, /^last backup: 2 h ago/m);
      assert.match(r.stdout, /^last restore check: never$/m);
      assert.match(r.stdout, /deploy lock: HELD by\n {2}user=alice/);
      assert.doesNotMatch(r.stdout, /move lock/, "no move on this host: not shown");
      // A cutover's import that outlived its caller: who, since when, and its log.
      fs.writeFileSync(path.join(app.appDir, "state/move.lock"), "");
      fs.writeFileSync(
        path.join(app.appDir, "state/move.lock.owner"),
        `user=root\npid=${process.pid}\nhost=h\naction=move-import\nsince=2026-01-01T00:00:00Z\nlog=${app.appDir}/state/logs/x-move-import-1.log\n`,
      );
      const moving = await run("bash", [path.join(app.relDir, "bin/status")], { env });
      assert.equal(moving.code, 0, moving.stderr);
      fs.unlinkSync(path.join(app.appDir, "state/move.lock.owner"));
      assert.match(moving.stdout, /move lock: HELD by\n {2}user=root\n(.*\n){4} {2}log=\S+-move-import-1\.log$/m);
      const after = await run("bash", [path.join(app.relDir, "bin/status")], { env });
      fs.unlinkSync(path.join(app.appDir, "state/move.lock"));
      assert.match(after.stdout, /^move lock: free$/m);
      // The schedule install-schedule wrote (the earlier test removed it: reinstall).
      assert.match(r.stdout, /^backup schedule: MISSING/m);
      assert.equal((await run("bash", [path.join(app.relDir, "bin/install-schedule")], { env })).code, 0);
      const again = await run("bash", [path.join(app.relDir, "bin/status")], { env });
      assert.match(again.stdout, new RegExp(`^ {2}17 3 \\* \\* \\* {2}${app.appDir}/current/bin/backup$`, "m"));
      assert.match(again.stdout, new RegExp(`^ {2}17 5 \\* \\* \\* {2}${app.appDir}/current/bin/restore$`, "m"));
      assert.match(again.stdout, /^ {2}cron: (running|NOT RUNNING)/m);
      assert.doesNotMatch(again.stdout, /SKIPPED/);
      // A move's new side before its cutover: the scheduled runs skip, and status says so.
      fs.writeFileSync(path.join(app.appDir, "state/move-stopped-app"), "cid-backend\n");
      const held = await run("bash", [path.join(app.relDir, "bin/status")], { env });
      fs.unlinkSync(path.join(app.appDir, "state/move-stopped-app"));
      assert.match(held.stdout, /^ {2}SKIPPED while a move holds this side's app \(standby since \d{4}-\d\d-\d\dT[0-9:]+Z\): the serving side backs up/m);
    } finally {
      fs.unlinkSync(path.join(app.appDir, "current"));
    }
  });
});

describe("tools: bin/rollback", function () {
  this.timeout(30000);
  /** releases/r1 beside the real release r2: a release.json and `deploy` as given (a stand-in for r1's own). */
  const stubPrevious = (app: ReturnType<typeof makeAppDir>, deploy: string) => {
    const r1 = path.join(app.appDir, "releases", "r1");
    fs.mkdirSync(path.join(r1, "bin"), { recursive: true });
    fs.writeFileSync(path.join(r1, "release.json"), "{}");
    fs.writeFileSync(path.join(r1, "bin", "deploy"), deploy, { mode: 0o755 });
  };

  it("into a release from before ft_log_outlive: a rollback whose caller is cut off runs the older release's deploy to its end, its output on the host", async () => {
    const app = makeAppDir({ target: "vm" }, "r2");
    try {
      // r1's deploy as releases before ft_log_outlive had it: every message on the caller's pipe.
      stubPrevious(
        app,
        '#!/usr/bin/env bash\nset -Eeuo pipefail\nfor i in $(seq 1 20); do echo "old deploy $* step $i" >&2; sleep 0.1; done\necho finished >"$MARK"\n',
      );
      fs.symlinkSync("releases/r2", path.join(app.appDir, "current"));
      fs.symlinkSync("releases/r1", path.join(app.appDir, "previous"));
      const mark = path.join(app.root, "finished");
      const child = spawn("bash", [path.join(app.relDir, "bin", "rollback")], { env: { ...process.env, MARK: mark }, stdio: ["ignore", "pipe", "pipe"] });
      const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
      let seen = "";
      child.stdout.resume();
      child.stderr.on("data", (d: Buffer) => (seen += d.toString()));
      for (let i = 0; i < 100 && !/old deploy --rollback r1 step 2\b/.test(seen); i++) await new Promise((r) => setTimeout(r, 50));
      assert.match(seen, /rolling back to r1[\s\S]*old deploy --rollback r1 step 2\b/);
      // The deploying machine is gone: nothing reads the command's output any more.
      child.stdout.destroy();
      child.stderr.destroy();
      assert.equal(await exited, 0, "the older deploy died with the connection");
      assert.equal(fs.readFileSync(mark, "utf8"), "finished\n");
      const logsDir = path.join(app.appDir, "state", "logs");
      const logs = fs.readdirSync(logsDir).filter((f) => new RegExp(`-rollback-${child.pid}\\.log$`).test(f));
      assert.equal(logs.length, 1, fs.readdirSync(logsDir).join(" "));
      const text = fs.readFileSync(path.join(logsDir, logs[0]), "utf8");
      assert.match(text, /rolling back to r1/);
      assert.match(text, /old deploy --rollback r1 step 20\n/, "what the caller never saw");
      assert.equal(fs.statSync(path.join(logsDir, logs[0])).mode & 0o777, 0o600);
    } finally {
      fs.rmSync(app.root, { recursive: true, force: true });
    }
  });

  it("--to RELEASE: rolls back to it only while it is the previous one, changes nothing once it is current, refuses any other", async () => {
    const app = makeAppDir({ target: "vm" }, "r2");
    try {
      // r1's deploy only records how it was called (the rollback's procedure is bin-deploy's).
      const calls = path.join(app.root, "calls");
      stubPrevious(app, `#!/usr/bin/env bash\necho "$*" >>${calls}\n`);
      const link = (name: string, rel: string) => {
        fs.rmSync(path.join(app.appDir, name), { force: true });
        fs.symlinkSync(`releases/${rel}`, path.join(app.appDir, name));
      };
      const rollback = (...args: string[]) => run("bash", [path.join(app.relDir, "bin", "rollback"), ...args]);
      const called = () => (fs.existsSync(calls) ? fs.readFileSync(calls, "utf8") : "");
      link("current", "r2");
      link("previous", "r1");

      // Another release than the previous one: refused, nothing run.
      const other = await rollback("--to", "r0");
      assert.equal(other.code, 1, other.stderr);
      assert.match(other.stderr, /--to r0: the previous release is r1 and the current one r2; a rollback goes to the previous one only/);
      assert.equal(called(), "");
      // The previous one: the rollback runs (r1's own deploy, --rollback r1).
      const ok = await rollback("--to", "r1");
      assert.equal(ok.code, 0, ok.stderr);
      assert.equal(called(), "--rollback r1\n");
      // That rollback finished (current and previous swapped): the same command again changes nothing.
      link("current", "r1");
      link("previous", "r2");
      const again = await rollback("--to", "r1");
      assert.equal(again.code, 0, again.stderr);
      assert.match(again.stderr, /release r1 is already current: nothing to roll back/);
      assert.equal(called(), "--rollback r1\n", "a second rollback ran");
      // A malformed call: usage, exit 64.
      assert.equal((await rollback("--to")).code, 64);
      assert.equal((await rollback("r1")).code, 64);
    } finally {
      fs.rmSync(app.root, { recursive: true, force: true });
    }
  });
});
