// bin/db-setup.sh, bin/backup and bin/restore against a REAL PostgreSQL 15 and a REAL
// S3-compatible servers (s3rver: one standing in for the host's own object store, one for
// the operator's remote off the host), with the host's rclone and openssl, on the release and
// secret files the program plans for the example vm stack. The only seams used are
// FT_PG_BIN (host client binaries instead of `docker run <postgres image>`) and
// FT_RCLONE=host (retention and the restore's pick also run with rclone "in its container":
// FT_RCLONE=container, and a docker stand-in that reads stdin as `docker run -i` does,
// RCLONE_IN_CONTAINER_SCRIPT); the only edits to what ships are where the database and the object
// store listen (host names that exist only inside the Compose network); every other
// line of the scripts and every other byte of release.json and the secrets is as shipped.
import { strict as assert } from "assert";
import { spawn } from "child_process";
import * as fs from "fs";
import * as http from "http";
import * as os from "os";
import * as path from "path";
import * as ini from "ini";
import { Client } from "pg";
import { RCLONE_IN_CONTAINER_SCRIPT, run, RunResult, stubDocker, writeSecret } from "../fixtures/bin/harness";
import { AppDir, freePort, installPlanned, PG_BIN, plannedRelease, startPostgres } from "../fixtures/bin/release";
import { S3Standin, startS3rver } from "../fixtures/s3-standin";
import { FINAL_BACKUP_ARGS } from "../../components/move/plan";

const MARKER = "plaintext-marker-7f3a"; // must never appear in the uploaded object

describe("tools: bin/backup and bin/restore against real PostgreSQL 15 + S3 (s3rver)", function () {
  this.timeout(180000);
  let pg: Awaited<ReturnType<typeof startPostgres>> | undefined;
  let pgPort = 0;
  let ADMIN_PW = "";
  let APP_PW = "";
  let BACKUP_KEY = "";
  /** `<remote>:<bucket>/<prefix>` of the planned release. */
  let BASE = "";
  /** `<store remote>:<assets bucket>`: the app's uploads, on the host's own store. */
  let UPLOADS = "";
  let remoteS3: S3Standin | undefined;
  let remoteDir = "";
  const PHOTO = Buffer.from(Array.from({ length: 3000 }, (_, i) => (i * 7) % 256)); // binary, every byte value
  let s3: S3Standin | undefined;
  let s3Dir = "";
  let hook: http.Server | undefined;
  const hookBodies: string[] = [];
  let app: AppDir;
  let env: NodeJS.ProcessEnv;
  let rcloneConf = "";

  const bin = (name: string) => path.join(app.relDir, "bin", name);
  const pgAs = async (user: string, password: string, database: string) => {
    const c = new Client({ host: "127.0.0.1", port: pgPort, user, password, database });
    await c.connect();
    return c;
  };
  const noSecretsIn = (r: RunResult) => {
    for (const s of [ADMIN_PW, APP_PW, BACKUP_KEY]) assert.ok(!(r.stdout + r.stderr).includes(s), "a secret value was printed");
  };
  const counts = async (database: string) => {
    const c = await pgAs("postgres", ADMIN_PW, database);
    try {
      const r1 = await c.query("SELECT count(*)::int AS n FROM public.readings");
      const r2 = await c.query("SELECT count(*)::int AS n FROM public.sensors");
      return { readings: r1.rows[0].n as number, sensors: r2.rows[0].n as number };
    } finally {
      await c.end();
    }
  };
  const rcloneLs = async () => {
    const r = await run("rclone", ["--config", rcloneConf, "lsf", "-R", BASE], { env });
    assert.equal(r.code, 0, r.stderr);
    return r.stdout.split("\n").filter(Boolean).sort();
  };

  before(async () => {
    const planned = plannedRelease("vm");
    const shipped = (f: string) => planned.secrets[f].content;
    ADMIN_PW = shipped("postgres/POSTGRES_PASSWORD");
    APP_PW = shipped("db-setup/APP_DB_PASSWORD");
    BACKUP_KEY = shipped("backup/backup.key");
    pg = await startPostgres(ADMIN_PW);
    pgPort = pg.port;
    const { bucket, prefix, remote, uploads, store_remote: storeRemote } = planned.release.backup;
    assert.equal(planned.release.backup.offhost, true, "the example vm stack names an off-host remote");
    assert.ok(storeRemote, "release.json names the host store's rclone section");
    BASE = `${remote}:${bucket}/${prefix}`;
    UPLOADS = `${storeRemote}:${uploads.bucket}`;

    s3Dir = fs.mkdtempSync(path.join(os.tmpdir(), "ft-s3-"));
    s3 = await startS3rver({ directory: s3Dir, buckets: [uploads.bucket] });
    const s3Port = s3.port;
    remoteDir = fs.mkdtempSync(path.join(os.tmpdir(), "ft-s3-remote-"));
    remoteS3 = await startS3rver({ directory: remoteDir, buckets: [bucket] });
    const remotePort = remoteS3.port;

    hook = http.createServer((req, res) => {
      let b = "";
      req.on("data", (d: Buffer) => (b += d.toString()));
      req.on("end", () => {
        hookBodies.push(b);
        res.end("ok");
      });
    });
    await new Promise<void>((r) => hook!.listen(0, "127.0.0.1", () => r()));
    const hookPort = (hook.address() as { port: number }).port;

    // Host names of the Compose network -> where this test's servers listen.
    const here = (text: string) => text.replace(/\bpostgres:5432\b/g, `127.0.0.1:${pgPort}`);
    // s3rver accepts any key whose secret is S3RVER. The off-host remote's section -> the
    // remote stand-in, the host store's sections -> the store stand-in; nothing else changes.
    const sections = ini.parse(shipped("backup/rclone.conf")) as Record<string, Record<string, string>>;
    assert.deepEqual(Object.keys(sections), [remote, storeRemote, planned.release.backup.admin_remote]);
    for (const [name, sec] of Object.entries(sections))
      Object.assign(sec, { endpoint: `http://127.0.0.1:${name === remote ? remotePort : s3Port}`, access_key_id: "S3RVER", secret_access_key: "S3RVER" });
    // The example's remote is Wasabi; s3rver is not, and rclone 1.60's Wasabi quirks hang on it.
    sections[remote].provider = "Other";
    const rclone = ini.stringify(sections);
    app = installPlanned(planned, {
      patch: (r) => {
        r.database.host = "127.0.0.1";
        r.database.port = pgPort;
      },
      secretOverrides: {
        "backup/pgpass": here(shipped("backup/pgpass")),
        "db-setup/ADMIN_DATABASE_URL": here(shipped("db-setup/ADMIN_DATABASE_URL")),
        "backup/rclone.conf": rclone,
        // The example stack sets no alertWebhookUrl: this test listens for notifications.
        "notify/webhook_url": `http://127.0.0.1:${hookPort}/hook\n`,
      },
    });
    rcloneConf = path.join(app.appDir, "secrets/backup/rclone.conf");
    // A stubbed docker proves the seam is complete: any docker call would be logged.
    const stubDir = stubDocker(path.join(app.root, "stub"));
    // rclone 1.60's S3 backend fails with any AWS_CA_BUNDLE set ("unsupported transport"); this machine sets one.
    const { AWS_CA_BUNDLE: _ca, ...base } = process.env;
    env = { ...base, PATH: `${stubDir}:${PG_BIN}:${process.env.PATH}`, FT_PG_BIN: PG_BIN, FT_RCLONE: "host", FT_STUB_LOG: path.join(app.root, "docker.log") };
  });

  after(async () => {
    await pg?.stop();
    await s3?.close();
    await remoteS3?.close();
    hook?.close();
    for (const d of [s3Dir, remoteDir, app?.root]) if (d) fs.rmSync(d, { recursive: true, force: true });
  });

  it("db-setup.sh creates role frostguard (not superuser) and its database, idempotently, password from a file", async () => {
    const dbEnv = {
      ...env,
      FT_ADMIN_DATABASE_URL_FILE: path.join(app.appDir, "secrets/db-setup/ADMIN_DATABASE_URL"),
      FT_APP_DB_PASSWORD_FILE: path.join(app.appDir, "secrets/db-setup/APP_DB_PASSWORD"),
    };
    for (let i = 0; i < 2; i++) {
      const r = await run("sh", [path.join(app.relDir, "bin/db-setup.sh")], { env: dbEnv });
      assert.equal(r.code, 0, r.stderr);
      noSecretsIn(r);
    }
    const c = await pgAs("frostguard", APP_PW, "frostguard");
    try {
      const role = await c.query("SELECT rolsuper FROM pg_roles WHERE rolname = 'frostguard'");
      assert.equal(role.rows[0].rolsuper, false);
      // The app's statement_timeout, lost as a startup parameter behind PgBouncer, is the role's default.
      assert.equal((await c.query("SHOW statement_timeout")).rows[0].statement_timeout, "30s");
      const owner = await c.query("SELECT pg_get_userbyid(datdba) AS o FROM pg_database WHERE datname = 'frostguard'");
      assert.equal(owner.rows[0].o, "frostguard");
      // The app role creates its schema in public (PG15 no longer lets PUBLIC create there).
      await c.query("CREATE TABLE public.sensors (id serial PRIMARY KEY, name text NOT NULL)");
      await c.query("CREATE TABLE public.readings (id bigserial PRIMARY KEY, sensor_id int REFERENCES sensors(id), celsius numeric, note text)");
      await c.query("INSERT INTO sensors (name) SELECT 'fridge-' || g FROM generate_series(1, 7) g");
      await c.query(
        `INSERT INTO readings (sensor_id, celsius, note) SELECT 1 + g % 7, g / 10.0, CASE WHEN g = 5 THEN E'multi\\nline ${MARKER}' ELSE '${MARKER}' END FROM generate_series(1, 1234) g`,
      );
    } finally {
      await c.end();
    }
  });

  it("db-setup.sh fails when the admin password is wrong (the check can fail)", async () => {
    const bad = writeSecret(app.appDir, "db-setup/BAD_URL", `postgres://postgres:wrong@127.0.0.1:${pgPort}/postgres\n`);
    const r = await run("sh", [path.join(app.relDir, "bin/db-setup.sh")], {
      env: {
        ...env,
        FT_WAIT_SECONDS: "2",
        FT_ADMIN_DATABASE_URL_FILE: bad,
        FT_APP_DB_PASSWORD_FILE: path.join(app.appDir, "secrets/db-setup/APP_DB_PASSWORD"),
      },
    });
    assert.notEqual(r.code, 0);
  });

  it("backup --first (bin/deploy's): backs up a new install once; leaves a backups place that already holds a backup, and a side a move holds, as they are", async () => {
    // Its own prefix of the off-host bucket, empty: the other cases here count the shipped prefix's backups.
    const file = path.join(app.relDir, "release.json");
    const shippedJson = fs.readFileSync(file, "utf8");
    const rel = JSON.parse(shippedJson);
    rel.backup.prefix = "first-deploy-case";
    fs.writeFileSync(file, JSON.stringify(rel, null, 2) + "\n");
    const place = `${rel.backup.remote}:${rel.backup.bucket}/first-deploy-case`;
    const prom = path.join(app.appDir, "metrics/backup.prom");
    const hold = path.join(app.appDir, "state/move-stopped-app");
    const manifests = async () => {
      const r = await run("rclone", ["--config", rcloneConf, "lsf", "--include", "*.manifest.json", place], { env });
      return r.code === 3 ? [] : r.stdout.split("\n").filter(Boolean);
    };
    const auditLast = () => JSON.parse(fs.readFileSync(path.join(app.appDir, "state/audit.log"), "utf8").trim().split("\n").at(-1)!);
    try {
      fs.rmSync(prom, { force: true });
      // A move holds this side (a standby new side): no backup of its stale copy, an audit line says why.
      fs.mkdirSync(path.dirname(hold), { recursive: true });
      fs.writeFileSync(hold, "c0ffee\n");
      const held = await run(bin("backup"), ["--first"], { env });
      assert.equal(held.code, 0, held.stderr);
      assert.equal(held.stdout, "");
      assert.match(held.stderr, /first backup skipped: a move holds this side's app \(standby since /);
      assert.deepEqual([auditLast().result, auditLast().move_hold, auditLast().run], ["skipped", "standby", "first"]);
      assert.deepEqual(await manifests(), []);
      fs.rmSync(hold);

      // A new install: nothing on this host, nothing in the place (not even its prefix).
      const first = await run(bin("backup"), ["--first"], { env });
      assert.equal(first.code, 0, first.stderr);
      noSecretsIn(first);
      const name = first.stdout.trim();
      assert.match(name, /^frostguard-\d{8}T\d{6}Z$/);
      assert.match(first.stderr, /first backup of this install \(the backups place .* holds none\)/);
      assert.deepEqual(await manifests(), [`${name}.manifest.json`]);
      const manifest = JSON.parse((await run("rclone", ["--config", rcloneConf, "cat", `${place}/${name}.manifest.json`], { env })).stdout);
      assert.equal(manifest.reason, "first-deploy");
      assert.deepEqual(manifest.tables, { "public.readings": 1234, "public.sensors": 7 });
      assert.ok(fs.existsSync(prom), "no backup.prom after the first backup");
      assert.deepEqual([auditLast().action, auditLast().result, auditLast().reason], ["backup", "success", "first-deploy"]);

      // Every later deploy: this host has a backup: nothing to do, nothing said.
      const again = await run(bin("backup"), ["--first"], { env });
      assert.deepEqual([again.code, again.stdout, again.stderr], [0, "", ""]);

      // A host rebuilt onto the same place (its disk, metrics included, is new): the place's newest
      // backup stays the newest, so bin/restore takes it and not this host's empty database.
      fs.rmSync(prom);
      const rebuilt = await run(bin("backup"), ["--first"], { env });
      assert.equal(rebuilt.code, 0, rebuilt.stderr);
      assert.equal(rebuilt.stdout, "");
      assert.match(rebuilt.stderr, new RegExp(`no first backup: .* already holds 1 backup\\(s\\), the newest ${name};`));
      assert.deepEqual(await manifests(), [`${name}.manifest.json`]);
      assert.ok(!fs.existsSync(prom), "backup.prom written without a backup");
    } finally {
      fs.writeFileSync(file, shippedJson);
      fs.rmSync(hold, { force: true });
    }
  });

  it("backup uploads an encrypted dump + manifest and the uploads (from the host store) to the off-host remote, leaves its retention to the bucket's lifecycle rule, writes backup.prom; on-host-only prunes by name", async () => {
    // An expired backup (2020 by its name: dump and uploads folder) that retention must delete, and a foreign object it must keep.
    const old = path.join(app.root, "frostguard-20200101T000000Z.dump.enc");
    fs.writeFileSync(old, "old");
    for (const obj of ["frostguard-20200101T000000Z.dump.enc", "frostguard-20200101T000000Z.uploads/a/b.txt", "README.txt"]) {
      assert.equal((await run("rclone", ["--config", rcloneConf, "copyto", old, `${BASE}/${obj}`], { env })).code, 0);
    }
    // The app's uploads: a nested binary object and a small one (an old one: its modification time must not matter).
    fs.writeFileSync(path.join(app.root, "photo.jpg"), PHOTO);
    fs.utimesSync(path.join(app.root, "photo.jpg"), new Date("2019-06-01"), new Date("2019-06-01"));
    assert.equal(
      (await run("rclone", ["--config", rcloneConf, "copyto", path.join(app.root, "photo.jpg"), `${UPLOADS}/org-1/sensors/photo.jpg`], { env })).code,
      0,
    );
    // Streamed, without rclone's modification-time metadata: as the app's presigned PUTs arrive.
    assert.equal((await run("rclone", ["--config", rcloneConf, "rcat", `${UPLOADS}/org-1/report.csv`], { env, input: "old" })).code, 0);

    const t0 = Math.floor(Date.now() / 1000);
    const r = await run(bin("backup"), [], { env });
    assert.equal(r.code, 0, r.stderr);
    noSecretsIn(r);
    const objects = await rcloneLs();
    const dumps = objects.filter((o) => /^frostguard-\d{8}T\d{6}Z\.dump\.age$/.test(o));
    assert.equal(dumps.length, 1, objects.join(","));
    assert.ok(objects.includes(dumps[0].replace(".dump.age", ".manifest.json")));
    assert.ok(objects.includes(dumps[0].replace(".dump.age", ".manifest.age")), "no sealed manifest");
    // Off-host: bin/backup deletes nothing (the remote's credential need not be able to).
    assert.ok(objects.includes("frostguard-20200101T000000Z.dump.enc"), "bin/backup deleted from the off-host remote");
    assert.match(r.stderr, /retention: left to the lifecycle rule of /);
    const name = dumps[0].replace(".dump.age", "");
    assert.ok(objects.includes(`${name}.uploads/org-1/sensors/photo.jpg`) && objects.includes(`${name}.uploads/org-1/report.csv`), objects.join(","));
    assert.ok(objects.includes("README.txt"), "retention deleted a file that is not a backup");

    const enc = (await run("rclone", ["--config", rcloneConf, "cat", `${BASE}/${dumps[0]}`], { env })).stdout;
    assert.ok(enc.startsWith("age-encryption.org/v1\n-> X25519 "), "dump is not age-encrypted (X25519)");
    assert.ok(!enc.includes(MARKER) && !enc.includes("fridge-"), "plaintext in the uploaded dump");
    const manifest = JSON.parse(
      (await run("rclone", ["--config", rcloneConf, "cat", `${BASE}/${dumps[0].replace(".dump.age", ".manifest.json")}`], { env })).stdout,
    );
    assert.deepEqual(manifest.tables, { "public.readings": 1234, "public.sensors": 7 });
    assert.deepEqual(
      { ...manifest.uploads, listing_sha256: undefined },
      { bucket: "frostguard-assets", folder: `${name}.uploads/`, objects: 2, bytes: PHOTO.length + 3, listing_sha256: undefined },
    );
    assert.match(manifest.uploads.listing_sha256, /^[0-9a-f]{64}$/);

    const prom = fs.readFileSync(path.join(app.appDir, "metrics/backup.prom"), "utf8");
    const ts = Number(/^freshtrack_backup_last_success_timestamp_seconds (\d+)$/m.exec(prom)?.[1]);
    assert.ok(ts >= t0 && ts <= t0 + 120, `timestamp ${ts} is not Unix seconds of now`);
    assert.ok(Number(/^freshtrack_backup_last_size_bytes (\d+)$/m.exec(prom)?.[1]) > 0);
    assert.equal(fs.statSync(path.join(app.appDir, "metrics/backup.prom")).mode & 0o777, 0o644, "node-exporter (uid 65534) must read it");
    assert.match(prom, /^freshtrack_backup_offhost 1$/m);
    const audit = fs
      .readFileSync(path.join(app.appDir, "state/audit.log"), "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    assert.deepEqual(Object.keys(audit.at(-1)).slice(0, 6), ["time", "action", "release", "user", "host", "result"]);
    assert.equal(audit.at(-1).action, "backup");
    assert.equal(audit.at(-1).result, "success");
    assert.ok(!fs.readFileSync(path.join(app.appDir, "state/audit.log"), "utf8").includes(ADMIN_PW));
    assert.ok(!fs.existsSync(path.join(app.root, "docker.log")), "the seam leaked: docker was called");
    assert.deepEqual(fs.readdirSync(path.join(app.appDir, "state/tmp")), [], "temp files left behind");
  });

  it("on-host-only (release.json as a vmBackupOnHostOnly stack renders it): prunes expired backups by name, writes freshtrack_backup_offhost 0, warns; with rclone in its container, as a vm runs it", async () => {
    const file = path.join(app.relDir, "release.json");
    const shippedJson = fs.readFileSync(file, "utf8");
    const rel = JSON.parse(shippedJson);
    rel.backup.offhost = false;
    delete rel.backup.prune;
    fs.writeFileSync(file, JSON.stringify(rel, null, 2) + "\n");
    try {
      // Two expired entries (a dump, an uploads folder): `docker run -i` inside the retention loop
      // would read the loop's input and stop it after the first.
      const r = await run(bin("backup"), [], { env: { ...env, FT_RCLONE: "container", FT_STUB_SCRIPT: RCLONE_IN_CONTAINER_SCRIPT } });
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, /backups are ON THIS HOST ONLY/);
      const objects = await rcloneLs();
      assert.ok(!objects.includes("frostguard-20200101T000000Z.dump.enc"), "retention kept an expired dump");
      assert.ok(
        !objects.some((o) => o.startsWith("frostguard-20200101T000000Z.uploads/")),
        `retention kept an expired uploads folder: ${objects.join(",")}\n${r.stderr}`,
      );
      assert.ok(objects.includes("README.txt"), "retention deleted a file that is not a backup");
      assert.match(fs.readFileSync(path.join(app.appDir, "metrics/backup.prom"), "utf8"), /^freshtrack_backup_offhost 0$/m);
    } finally {
      fs.writeFileSync(file, shippedJson);
    }
  });

  it("restore --check restores the newest dump into a scratch database, counts match, writes restore_check.prom", async () => {
    const c = await pgAs("frostguard", APP_PW, "frostguard");
    await c.query("INSERT INTO readings (sensor_id, celsius) VALUES (1, 4.0), (2, 5.0)"); // after the backup
    await c.end();
    const r = await run(bin("restore"), ["--check"], { env });
    assert.equal(r.code, 0, r.stderr);
    noSecretsIn(r);
    assert.match(r.stderr, /public\.readings\s+1234\s+1234/);
    assert.match(r.stderr, /uploads match the manifest \(2 objects, 3003 bytes\)/);
    assert.match(
      fs.readFileSync(path.join(app.appDir, "metrics/restore_check.prom"), "utf8"),
      /^freshtrack_restore_check_last_success_timestamp_seconds \d+$/m,
    );
    const c2 = await pgAs("postgres", ADMIN_PW, "postgres");
    const left = await c2.query("SELECT 1 FROM pg_database WHERE datname = 'frostguard_restore_check'");
    await c2.end();
    assert.equal(left.rowCount, 0, "--check must drop its scratch database");
  });

  it("restore (default) leaves the scratch database for inspection with the backup's row counts", async () => {
    const r = await run(bin("restore"), [], { env });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(await counts("frostguard_restore_check"), { readings: 1234, sensors: 7 });
    assert.deepEqual(await counts("frostguard"), { readings: 1236, sensors: 7 }, "production must be untouched");
  });

  it("restore --into-production refuses without --yes-really, then restores with backend/worker stopped and started", async () => {
    const no = await run(bin("restore"), ["--into-production"], { env });
    assert.notEqual(no.code, 0);
    assert.match(no.stderr, /--yes-really/);
    assert.deepEqual(await counts("frostguard"), { readings: 1236, sensors: 7 });
    const log = path.join(app.root, "docker.log");
    // The stub answers `docker ps` for the two app services with a container id each.
    const psScript = 'case "$*" in ps*service=backend*) echo cid-backend ;; ps*service=worker*) echo cid-worker ;; esac';
    const r = await run(bin("restore"), ["--into-production", "--yes-really"], { env: { ...env, FT_STUB_SCRIPT: psScript }, timeoutMs: 240000 });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(await counts("frostguard"), { readings: 1234, sensors: 7 });
    const restored = /backup: \S+\/(frostguard-\d{8}T\d{6}Z)$/m.exec(r.stderr)?.[1];
    assert.ok(restored, `the restore names no backup:\n${r.stderr}`);
    const calls = fs.readFileSync(log, "utf8");
    // The very containers are stopped and started again (not `compose start`, which would try to start migrate).
    assert.match(calls, /^stop cid-backend cid-worker$/m);
    assert.match(calls, /^start cid-backend cid-worker$/m);
    assert.ok(calls.indexOf("stop cid-backend") < calls.indexOf("start cid-backend"));
    assert.ok(
      hookBodies.some((b) => b.includes("restored from")),
      "production restore must notify",
    );
    fs.rmSync(log);

    // (issue 12 item 5) The database it replaced was dumped first: encrypted, uploaded, in the audit log.
    const safety = /safety dump: \S+\/(frostguard-\d{8}T\d{6}Z)$/m.exec(r.stderr)?.[1];
    assert.ok(safety, `no safety dump named:\n${r.stderr}`);
    assert.match(r.stderr, new RegExp(`to go back .*\\n.*bin/restore --into-production --yes-really --dump ${safety}$`, "m"));
    const objects = await rcloneLs();
    assert.ok(objects.includes(`${safety}.dump.age`) && objects.includes(`${safety}.manifest.json`), objects.join(","));
    const enc = (await run("rclone", ["--config", rcloneConf, "cat", `${BASE}/${safety}.dump.age`], { env })).stdout;
    assert.ok(enc.startsWith("age-encryption.org/v1") && !enc.includes(MARKER), "the safety dump is not encrypted");
    const manifest = JSON.parse((await run("rclone", ["--config", rcloneConf, "cat", `${BASE}/${safety}.manifest.json`], { env })).stdout);
    assert.deepEqual(manifest.tables, { "public.readings": 1236, "public.sensors": 7 }, "the safety dump holds the replaced database");
    assert.match(manifest.reason, /safety dump before restoring frostguard-/);
    const audit = fs
      .readFileSync(path.join(app.appDir, "state/audit.log"), "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    const restoreLine = audit.filter((a) => a.action === "restore-production").at(-1);
    assert.equal(restoreLine.result, "success");
    assert.equal(restoreLine.safety_dump, safety);
    // Going back works: the printed command restores the replaced database (readings and all).
    const back = await run(bin("restore"), ["--into-production", "--yes-really", "--dump", safety!], { env, timeoutMs: 240000 });
    assert.equal(back.code, 0, back.stderr);
    assert.deepEqual(await counts("frostguard"), { readings: 1236, sensors: 7 });

    // The store's two newest are now safety dumps; a restore by default passes them over and takes
    // the backup restored above (the newest of the others), not the database a restore replaced.
    const byDefault = await run(bin("restore"), ["--check"], { env });
    assert.equal(byDefault.code, 0, byDefault.stderr);
    assert.match(byDefault.stderr, new RegExp(`passing over ${safety}: a safety dump before restoring ${restored} into production`));
    assert.equal((byDefault.stderr.match(/passing over frostguard-/g) ?? []).length, 2, byDefault.stderr);
    assert.match(byDefault.stderr, new RegExp(`backup: \\S+/${restored}$`, "m"));
    assert.match(byDefault.stderr, /public\.readings\s+1234\s+1234/);
  });

  it("restore by default passes over a move's final dump of the side it retired (on vm -> vm the newest in the bucket the serving host backs up to)", async () => {
    const backup = async (args: string[]) => {
      const r = await run(bin("backup"), args, { env, timeoutMs: 120000 });
      assert.equal(r.code, 0, r.stderr);
      return r.stdout.trim();
    };
    const c = await pgAs("postgres", ADMIN_PW, "frostguard");
    const readings = async () => Number((await c.query("SELECT count(*) AS n FROM readings")).rows[0].n);
    let taken: string[] = [];
    try {
      // The serving side's backup, then the retired side's final dump (move-final-backup's own arguments), newer.
      const serving = await backup([]);
      const before = await readings();
      await c.query("INSERT INTO readings (sensor_id, celsius) VALUES (3, 7.5)");
      await new Promise((r) => setTimeout(r, 1100)); // names are by the second
      const retired = await backup(FINAL_BACKUP_ARGS);
      taken = [serving, retired];
      assert.notEqual(serving, retired);
      const manifest = JSON.parse((await run("rclone", ["--config", rcloneConf, "cat", `${BASE}/${retired}.manifest.json`], { env })).stdout);
      assert.equal(manifest.reason, "move-retire");

      const byDefault = await run(bin("restore"), ["--check"], { env });
      assert.equal(byDefault.code, 0, byDefault.stderr);
      assert.match(byDefault.stderr, new RegExp(`passing over ${retired}: the final dump of a side a move retired .*--dump ${retired}\\)`));
      assert.match(byDefault.stderr, new RegExp(`backup: \\S+/${serving}$`, "m"));
      assert.match(byDefault.stderr, new RegExp(`public\\.readings\\s+${before}\\s+${before}`));
      // The same with rclone in its container, as a vm runs it: each manifest read is a `docker run`,
      // which with -i would read the rest of the list the pick walks.
      const inContainer = await run(bin("restore"), ["--check"], { env: { ...env, FT_RCLONE: "container", FT_STUB_SCRIPT: RCLONE_IN_CONTAINER_SCRIPT } });
      assert.equal(inContainer.code, 0, inContainer.stderr);
      assert.match(inContainer.stderr, new RegExp(`passing over ${retired}: the final dump`));
      assert.match(inContainer.stderr, new RegExp(`backup: \\S+/${serving}$`, "m"));
      // Named, it is restored as any backup.
      const named = await run(bin("restore"), ["--check", "--dump", retired], { env });
      assert.equal(named.code, 0, named.stderr);
      assert.match(named.stderr, new RegExp(`public\\.readings\\s+${before + 1}\\s+${before + 1}`));
    } finally {
      await c.query("DELETE FROM readings WHERE sensor_id = 3 AND celsius = 7.5 AND note IS NULL");
      await c.end();
      // The cases below count this prefix's backups as they left them.
      for (const name of taken)
        for (const ext of ["dump.age", "manifest.age", "manifest.json"])
          await run("rclone", ["--config", rcloneConf, "deletefile", `${BASE}/${name}.${ext}`], { env });
      for (const name of taken) await run("rclone", ["--config", rcloneConf, "purge", `${BASE}/${name}.uploads`], { env });
    }
  });

  it("restore --into-production restores nothing when the safety dump cannot be taken", async () => {
    const before = await counts("frostguard");
    const lockFile = path.join(app.appDir, "state/backup.lock");
    // A running backup holds the backup lock: bin/backup (the safety dump) fails fast.
    const holder = spawn("flock", [lockFile, "sleep", "60"], { stdio: "ignore", detached: true });
    await new Promise((r) => setTimeout(r, 300));
    try {
      const r = await run(
        bin("restore"),
        ["--into-production", "--yes-really", "--dump", (await rcloneLs()).find((o) => o.endsWith(".manifest.json") && !o.includes("2020"))!],
        { env },
      );
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, /safety dump failed: nothing was restored/);
    } finally {
      process.kill(-holder.pid!, "SIGKILL"); // flock and its sleep, which holds the lock too
    }
    assert.deepEqual(await counts("frostguard"), before, "the database changed without a safety dump");
  });

  // (issue 15 item 2) The uploads are restorable, and checked like the database.
  it("restore --uploads brings deleted uploads back byte for byte and keeps newer ones; no database change", async () => {
    const newest = (await rcloneLs())
      .filter((o) => o.endsWith(".manifest.json"))
      .sort()
      .at(-1)!
      .replace(".manifest.json", "");
    const before = await counts("frostguard");
    assert.equal((await run("rclone", ["--config", rcloneConf, "deletefile", `${UPLOADS}/org-1/sensors/photo.jpg`], { env })).code, 0);
    fs.writeFileSync(path.join(app.root, "new.txt"), "uploaded after the backup");
    assert.equal((await run("rclone", ["--config", rcloneConf, "copyto", path.join(app.root, "new.txt"), `${UPLOADS}/org-2/new.txt`], { env })).code, 0);
    const r = await run(bin("restore"), ["--uploads", "--dump", newest], { env });
    assert.equal(r.code, 0, r.stderr);
    const back = await run("bash", ["-c", `rclone --config '${rcloneConf}' cat '${UPLOADS}/org-1/sensors/photo.jpg' | base64 -w0`], { env });
    assert.ok(Buffer.from(back.stdout.trim(), "base64").equals(PHOTO), "the restored upload differs");
    assert.equal((await run("rclone", ["--config", rcloneConf, "cat", `${UPLOADS}/org-2/new.txt`], { env })).stdout, "uploaded after the backup");
    assert.deepEqual(await counts("frostguard"), before);
  });

  it("the restore check fails when the backup's uploads folder lost or changed an object", async () => {
    const newest = (await rcloneLs())
      .filter((o) => o.endsWith(".manifest.json"))
      .sort()
      .at(-1)!
      .replace(".manifest.json", "");
    const obj = `${BASE}/${newest}.uploads/org-1/report.csv`;
    const saved = path.join(app.root, "report.csv");
    assert.equal((await run("rclone", ["--config", rcloneConf, "copyto", obj, saved], { env })).code, 0);
    assert.equal((await run("rclone", ["--config", rcloneConf, "deletefile", obj], { env })).code, 0);
    try {
      const r = await run(bin("restore"), ["--check", "--dump", newest], { env });
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, /uploads of \S+ differ from the manifest/);
    } finally {
      assert.equal((await run("rclone", ["--config", rcloneConf, "copyto", saved, obj], { env })).code, 0);
    }
  });

  // (issue 15 item 4) Authenticated encryption: nothing changed in the bucket is restored.
  describe("tampering is refused (age-sealed manifest, authenticated dump)", () => {
    let newest = "";
    const cat = async (obj: string) => (await run("rclone", ["--config", rcloneConf, "cat", `${BASE}/${obj}`], { env })).stdout;
    /** An object's exact bytes (through base64: the runner decodes stdout as text). */
    const get = async (obj: string) =>
      Buffer.from((await run("bash", ["-c", `rclone --config '${rcloneConf}' cat '${BASE}/${obj}' | base64 -w0`], { env })).stdout.trim(), "base64");
    const put = async (obj: string, content: string | Buffer) => {
      const f = path.join(app.root, "upload");
      fs.writeFileSync(f, content);
      assert.equal((await run("rclone", ["--config", rcloneConf, "copyto", f, `${BASE}/${obj}`], { env })).code, 0);
    };
    /** Replaces objects, runs restore --check, puts the originals back. */
    const refusedWith = async (changes: Record<string, string | Buffer>, message: RegExp) => {
      const originals: Record<string, Buffer> = {};
      for (const o of Object.keys(changes)) originals[o] = await get(o);
      try {
        for (const [o, c] of Object.entries(changes)) await put(o, c);
        const r = await run(bin("restore"), ["--check", "--dump", newest], { env });
        assert.notEqual(r.code, 0, `restored a tampered backup: ${Object.keys(changes).join(", ")}`);
        assert.match(r.stderr, message);
      } finally {
        for (const [o, c] of Object.entries(originals)) await put(o, c);
      }
    };
    before(async () => {
      newest = (await rcloneLs())
        .filter((o) => o.endsWith(".manifest.json"))
        .sort()
        .at(-1)!
        .replace(".manifest.json", "");
      const ok = await run(bin("restore"), ["--check", "--dump", newest], { env });
      assert.equal(ok.code, 0, `the untouched backup must restore: ${ok.stderr}`);
    });

    it("a changed byte in the dump", async () => {
      const dump = await get(`${newest}.dump.age`);
      dump[dump.length - 20] ^= 1;
      await refusedWith({ [`${newest}.dump.age`]: dump }, /sha256 of \S+ does not match its manifest/);
    });

    it("a changed manifest.json (row counts, or the sha256 of a substituted dump)", async () => {
      const m = JSON.parse(await cat(`${newest}.manifest.json`));
      await refusedWith(
        { [`${newest}.manifest.json`]: JSON.stringify({ ...m, tables: { ...m.tables, "public.readings": 1 } }) },
        /differs from its sealed copy: tampered/,
      );
      // A dump encrypted with another age key, its sha256 written into manifest.json.
      const forged = path.join(app.root, "forged");
      await run("bash", ["-c", `age-keygen -o '${forged}.key' 2>/dev/null; echo not-our-dump | age -e -i '${forged}.key' > '${forged}'`]);
      const bytes = fs.readFileSync(forged);
      const sha = (await run("sha256sum", [forged])).stdout.slice(0, 64);
      await refusedWith(
        { [`${newest}.dump.age`]: bytes, [`${newest}.manifest.json`]: JSON.stringify({ ...m, sha256: sha, size_bytes: bytes.length }) },
        /differs from its sealed copy/,
      );
    });

    it("a sealed manifest written with another key, or missing", async () => {
      const other = path.join(app.root, "other.key");
      await run("age-keygen", ["-o", other]);
      const m = await cat(`${newest}.manifest.json`);
      const sealed = (await run("bash", ["-c", `age -e -i '${other}' -a`], { env, input: m })).stdout;
      await refusedWith({ [`${newest}.manifest.age`]: sealed }, /does not decrypt with secrets\/backup\/age\.key/);
      await refusedWith({ [`${newest}.manifest.age`]: "" }, /does not decrypt|cannot download/);
    });

    it("a manifest.json rewritten to the legacy unauthenticated format (downgrade)", async () => {
      const m = JSON.parse(await cat(`${newest}.manifest.json`));
      await refusedWith(
        { [`${newest}.manifest.json`]: JSON.stringify({ ...m, dump: `${newest}.dump.enc` }) },
        /names a legacy dump but a sealed manifest exists/,
      );
    });
  });

  it("a legacy AES-256-CBC backup (written before age, backup.key, no sealed manifest) is still restored and checked", async () => {
    const name = "frostguard-20250101T000000Z";
    const dir = fs.mkdtempSync(path.join(app.root, "legacy-"));
    // Exactly what bin/backup wrote before age: pg_dump -Fc, openssl enc with backup.key, manifest with the sha256.
    const mk = await run(
      "bash",
      [
        "-c",
        [
          `PGPASSFILE='${app.appDir}/secrets/backup/pgpass' '${PG_BIN}/pg_dump' -h 127.0.0.1 -p ${pgPort} -U postgres -Fc -d frostguard > '${dir}/dump'`,
          `openssl enc -aes-256-cbc -pbkdf2 -iter 200000 -md sha256 -salt -pass 'file:${app.appDir}/secrets/backup/backup.key' -in '${dir}/dump' -out '${dir}/dump.enc'`,
        ].join(" && "),
      ],
      { env },
    );
    assert.equal(mk.code, 0, mk.stderr);
    const enc = fs.readFileSync(path.join(dir, "dump.enc"));
    assert.equal(enc.subarray(0, 8).toString(), "Salted__");
    const sha = (await run("sha256sum", [path.join(dir, "dump.enc")])).stdout.slice(0, 64);
    const manifest = {
      name,
      created: "2025-01-01T00:00:00Z",
      database: "frostguard",
      release: "old",
      dump: `${name}.dump.enc`,
      size_bytes: enc.length,
      sha256: sha,
      format: "pg_dump -Fc",
      encryption: "openssl enc -aes-256-cbc -pbkdf2 -iter 200000 -md sha256 -salt",
      tables: await counts("frostguard").then((c) => ({ "public.readings": c.readings, "public.sensors": c.sensors })),
    };
    for (const [obj, file] of [
      [`${name}.dump.enc`, path.join(dir, "dump.enc")],
      [`${name}.manifest.json`, path.join(dir, "manifest.json")],
    ]) {
      if (obj.endsWith(".json")) fs.writeFileSync(file, JSON.stringify(manifest));
      assert.equal((await run("rclone", ["--config", rcloneConf, "copyto", file, `${BASE}/${obj}`], { env })).code, 0);
    }
    const r = await run(bin("restore"), ["--check", "--dump", name], { env });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /legacy backup \(AES-256-CBC, not authenticated\)/);
    assert.match(r.stderr, /row counts match the manifest/);
    // ...and a tampered legacy dump is still refused by its sha256.
    fs.writeFileSync(path.join(dir, "bad"), "Salted__garbage");
    assert.equal((await run("rclone", ["--config", rcloneConf, "copyto", path.join(dir, "bad"), `${BASE}/${name}.dump.enc`], { env })).code, 0);
    const bad = await run(bin("restore"), ["--check", "--dump", name], { env });
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /sha256/);
  });

  it("a failed backup exits non-zero, notifies the webhook and leaves backup.prom unchanged", async () => {
    const promBefore = fs.readFileSync(path.join(app.appDir, "metrics/backup.prom"), "utf8");
    hookBodies.length = 0;
    const relJson = path.join(app.relDir, "release.json");
    const good = fs.readFileSync(relJson, "utf8");
    const broken = JSON.parse(good);
    broken.database.port = await freePort(); // nothing listens there
    fs.writeFileSync(relJson, JSON.stringify(broken));
    try {
      const r = await run(bin("backup"), [], { env });
      assert.notEqual(r.code, 0);
      noSecretsIn(r);
    } finally {
      fs.writeFileSync(relJson, good);
    }
    assert.equal(fs.readFileSync(path.join(app.appDir, "metrics/backup.prom"), "utf8"), promBefore);
    assert.ok(
      hookBodies.some((b) => JSON.parse(b).text.includes("backup FAILED")),
      `no failure notification: ${hookBodies.join("|")}`,
    );
    const last = JSON.parse(fs.readFileSync(path.join(app.appDir, "state/audit.log"), "utf8").trim().split("\n").at(-1)!);
    assert.equal(last.result, "failure");
  });
});
