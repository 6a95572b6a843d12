// bin/move-export and bin/move-import from a RENDERED vm release (renderBundle), between
// two REAL PostgreSQL 15 clusters and two REAL S3-compatible servers (s3rver), with the
// host's rclone and openssl. Seams: FT_PG_BIN and FT_RCLONE=host (as bin/backup's test),
// the endpoints in release.json .database (the rendered "postgres:5432" only resolves on
// the Compose network), a stubbed docker (logs its calls; `docker ps` answers container
// ids) and a stubbed ssh that runs the old side's forced command locally, exactly as
// sshd would with the line `move-export --authorize` wrote.
import { strict as assert } from "assert";
import { spawn, spawnSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { Client } from "pg";
import { run, RunResult, STATEFUL_DOCKER_SCRIPT, stubDocker, writeSecret } from "../fixtures/bin/harness";
import { COLD_CHAIN_VM_HOST } from "../fixtures/config";
import { auditLines, installRelease, pointAtTestStores, renderedVmRelease, VM_RELEASE_BACKUPS_BUCKET } from "../fixtures/move-release";
import { createDatabase, PG15_BIN as PG_BIN, pgBinWith, PgCluster, postgresOwnedDir, startPgCluster } from "../fixtures/pg-cluster";
import { S3Standin, startS3rver } from "../fixtures/s3-standin";

const ADMIN_PW = "adm-" + crypto.randomBytes(8).toString("hex");
const BACKUP_KEY = crypto.randomBytes(32).toString("base64");
const SALT = "SALTVALUE" + crypto.randomBytes(8).toString("hex");
const JWT = "JWTVALUE" + crypto.randomBytes(8).toString("hex");
const REDIS_PW = "REDISPW" + crypto.randomBytes(8).toString("hex");
const MOVE_KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nMOVEKEYDUMMY" + crypto.randomBytes(8).toString("hex") + "\n-----END OPENSSH PRIVATE KEY-----\n";
// The rendered release pins this host key: the ssh stub checks it.
const HOST_KEY = COLD_CHAIN_VM_HOST.vmHostKey;

interface Side {
  root: string;
  appDir: string;
  pg: PgCluster;
  pgPort: number;
  s3: S3Standin;
  s3Port: number;
  rcloneConf: string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Shell lines of a stand-in that waits up to 30 s for a line of the docker log ($FT_STUB_LOG)
 * matching the ERE `word` (one quoted shell word), else fails, saying that `who` waited.
 */
const awaitInStubLog = (word: string, who: string) =>
  `for _ in $(seq 1 300); do grep -Eq ${word} "$FT_STUB_LOG" && break; sleep 0.1; done
grep -Eq ${word} "$FT_STUB_LOG" || { echo "${who} waited 30 s for "${word} >&2; exit 1; }`;

describe("tools: bin/move-export | bin/move-import between two real PostgreSQL + S3 sides", function () {
  this.timeout(240000);
  const sides: Side[] = [];
  let oldSide: Side;
  let newSide: Side;
  let env: NodeJS.ProcessEnv;
  let dockerLog = "";

  const pg = async (s: Side, sql: string, params: unknown[] = []) => {
    const c = new Client({ host: "127.0.0.1", port: s.pgPort, user: "postgres", password: ADMIN_PW, database: "frostguard" });
    await c.connect();
    try {
      return (await c.query(sql, params)).rows;
    } finally {
      await c.end();
    }
  };
  const bin = (s: Side, name: string) => path.join(s.appDir, "current", "bin", name);
  const rclone = (s: Side, args: string[]) => run("rclone", ["--config", s.rcloneConf, ...args], { env });
  const noSecretsIn = (r: RunResult) => {
    for (const v of [ADMIN_PW, BACKUP_KEY, SALT, JWT, REDIS_PW, MOVE_KEY.split("\n")[1]])
      assert.ok(!(r.stdout + r.stderr).includes(v), "a secret value was printed");
  };
  /** What a side's bin/move-import served (a run again of that cutover copies nothing). */
  const servedMark = (side: Side) => path.join(side.appDir, "state", "move-served.json");
  const importFromOld = (args: string[], input = MOVE_KEY) =>
    run(bin(newSide, "move-import"), ["--from", "root@203.0.113.10", "22", HOST_KEY, ...args], { env: { ...env, FT_STUB_SIDE: "new" }, input });

  /** Where a side's bin/backup writes (release.json .backup): REMOTE:BUCKET/PREFIX. */
  const backupBase = (side: Side): string => {
    const b = JSON.parse(fs.readFileSync(path.join(side.appDir, "current", "release.json"), "utf8")).backup;
    return `${b.remote}:${b.bucket}/${b.prefix}`;
  };
  /** The backups in a side's backups store, by name. */
  const backupsOf = async (side: Side): Promise<string[]> => {
    const r = await rclone(side, ["lsf", "--include", "frostguard-*.manifest.json", backupBase(side)]);
    assert.equal(r.code, 0, r.stderr);
    return r.stdout
      .split("\n")
      .filter(Boolean)
      .map((f) => f.replace(/\.manifest\.json$/, ""))
      .sort();
  };
  /** The cron's runs (bin/install-schedule) on a side a move holds: nothing backed up or checked, an audit line each. */
  const scheduledRunsSkip = async (side: Side, state: string) => {
    const before = await backupsOf(side);
    for (const [cmd, args, action] of [
      ["backup", ["--scheduled"], "backup"],
      ["restore", ["--check", "--scheduled"], "restore-check"],
    ] as const) {
      const r = await run(bin(side, cmd), [...args], { env });
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, new RegExp(`scheduled ${action} skipped: a move holds this side's app \\(${state} since `));
      const audit = fs
        .readFileSync(path.join(side.appDir, "state", "audit.log"), "utf8")
        .trim()
        .split("\n");
      assert.match(audit[audit.length - 1], new RegExp(`"action":"${action}".*"result":"skipped".*"move_hold":"${state}"`));
    }
    assert.deepEqual(await backupsOf(side), before, "no backup written");
  };

  /** metrics/move.prom as node-exporter reads it: "STATE VALUE" of freshtrack_move_app_held, or "absent". */
  const held = (side: Side): string => {
    const f = path.join(side.appDir, "metrics", "move.prom");
    if (!fs.existsSync(f)) return "absent";
    const text = fs.readFileSync(f, "utf8");
    assert.equal(fs.statSync(f).mode & 0o777, 0o644, "node-exporter (uid 65534) reads it");
    const lint = spawnSync("promtool", ["check", "metrics"], { input: text, encoding: "utf8" });
    assert.equal(lint.status, 0, `promtool check metrics: ${lint.stdout}${lint.stderr}`);
    const since = Number(/^freshtrack_move_app_held_since_seconds (\d+)$/m.exec(text)?.[1]);
    const [, state, value] = /^freshtrack_move_app_held\{state="(\w+)"\} ([01])$/m.exec(text) ?? [];
    // Set when held (when the mark was written: within this test run), 0 when not.
    assert.ok(value === "1" ? Math.abs(since - Date.now() / 1000) < 600 : since === 0, text);
    return `${state} ${value}`;
  };

  /** Writes a side's redis append-only files (stand-ins): a manifest text and "KEYS EXPIRES". */
  function queueOn(side: string, manifest: string, keys: string): void {
    const dir = path.join(env.FT_STUB_REDIS_DIR!, side, "appendonlydir");
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, "appendonly.aof.manifest"), manifest);
    fs.writeFileSync(path.join(dir, "keys"), keys);
  }
  const queueManifestOn = (side: string): string =>
    fs.readFileSync(path.join(env.FT_STUB_REDIS_DIR!, side, "appendonlydir", "appendonly.aof.manifest"), "utf8");

  async function makeSide(name: string, files: Record<string, string>): Promise<Side> {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), `ft-move-${name}-`));
    fs.chmodSync(root, 0o755);
    const { appDir, rel } = installRelease(root, files);
    const pgDir = path.join(root, "pg");
    const pwFile = await postgresOwnedDir(pgDir, ADMIN_PW);
    const pg = await startPgCluster({ user: "postgres", socketDir: pgDir, dataDir: `${pgDir}/data`, logFile: `${pgDir}/log`, pwFile });
    const pgPort = pg.port;
    await createDatabase(pgPort, ADMIN_PW, "frostguard");

    // The release's backups bucket too (the stack's off-host one): bin/backup writes there.
    const s3 = await startS3rver({ directory: path.join(root, "s3"), buckets: ["frostguard-assets", "frostguard-backups", VM_RELEASE_BACKUPS_BUCKET] });
    const s3Port = s3.port;

    // Only the endpoints of the rendered release.json change, and the secret files say where the stores are.
    const { rcloneConf } = pointAtTestStores(appDir, rel, { pgPort, adminPassword: ADMIN_PW, backupKey: BACKUP_KEY, s3Port });
    writeSecret(appDir, "app/TTN_ENCRYPTION_SALT", SALT);
    writeSecret(appDir, "app/JWT_SECRET", JWT);
    writeSecret(appDir, "redis/password", REDIS_PW);
    const side = { root, appDir, pg, pgPort, s3, s3Port, rcloneConf };
    sides.push(side);
    return side;
  }

  before(async () => {
    const files = renderedVmRelease();
    assert.ok(files["bin/move-export"] && files["bin/move-import"] && files["bin/move-forward"], "the rendered release ships bin/move-*");
    assert.equal(JSON.parse(files["release.json"]).assets_bucket, "frostguard-assets");
    oldSide = await makeSide("old", files);
    newSide = await makeSide("new", files);

    // Old side's data: readings with a sequence, sensors, uploads.
    await pg(
      oldSide,
      "CREATE TABLE sensors (id serial PRIMARY KEY, name text); CREATE TABLE readings (id bigserial PRIMARY KEY, sensor int REFERENCES sensors, t timestamptz DEFAULT now(), c numeric)",
    );
    await pg(oldSide, "INSERT INTO sensors (name) SELECT 'fridge-' || g FROM generate_series(1, 5) g");
    await pg(oldSide, "INSERT INTO readings (sensor, c) SELECT 1 + g % 5, g / 10.0 FROM generate_series(1, 5000) g");
    // A gap in the sequence (deleted rows): the new side must continue after 5100, not after the row count.
    await pg(oldSide, "INSERT INTO readings (sensor, c) SELECT 1, 0 FROM generate_series(1, 100) g; DELETE FROM readings WHERE id > 5000");
    // The new side's migrations already created the schema (an older, empty one).
    await pg(newSide, "CREATE TABLE sensors (id serial PRIMARY KEY, name text)");

    const stubDir = stubDocker(path.join(oldSide.root, "stub"));
    // curl stand-in for the check through the side's own Caddy (loopback, the app's host name):
    // logs its target and the old side's move state (its marker; where its holder sends what it keeps), and answers 200 (or the codes listed in FT_STUB_CURL_CODES, one per call).
    const oldState = path.join(oldSide.appDir, "state");
    fs.writeFileSync(
      path.join(stubDir, "curl"),
      `#!/bin/bash
m=0; t=0
[ -e "${oldState}/proxy/move.forward" ] && m=1
[ -e "${oldState}/move-hold/target.json" ] && t=$(jq -r .url "${oldState}/move-hold/target.json")
echo "curl \${*: -3} old: marker=$m target=$t" >>"$FT_STUB_LOG"
codes=\${FT_STUB_CURL_CODES:-}
if [ -n "$codes" ] && [ -s "$codes" ]; then code=$(head -n1 "$codes"); sed -i 1d "$codes"; else code=200; fi
printf '%s' "$code"
`,
      { mode: 0o755 },
    );
    // ssh stand-in: checks the pinned host key and key file, then runs the forced command of the
    // authorized_keys line on the "old host" with the requested mode as SSH_ORIGINAL_COMMAND.
    fs.writeFileSync(
      path.join(stubDir, "ssh"),
      `#!/bin/bash
set -eu
echo "ssh $*" >>"$FT_STUB_LOG"
key=; kh=; strict=; port=22
while [ $# -gt 1 ]; do
  case $1 in
    -i) key=$2; shift 2 ;;
    -o) case $2 in UserKnownHostsFile=*) kh=\${2#*=} ;; StrictHostKeyChecking=yes) strict=1 ;; esac; shift 2 ;;
    -p) port=$2; shift 2 ;;
    *) break ;;
  esac
done
[ -n "$strict" ] || { echo "ssh stub: host key checking off" >&2; exit 255; }
# The pinned key must be found the way OpenSSH looks the host up: bare name on port 22, else [name]:port.
lookup=\${1#*@}; [ "$port" = 22 ] || lookup="[$lookup]:$port"
ssh-keygen -F "$lookup" -f "$kh" | grep -q '${HOST_KEY}' || { echo "ssh stub: host key not pinned for $lookup" >&2; exit 255; }
[ "$(stat -c %a "$key")" = 600 ] || { echo "ssh stub: key file not 0600" >&2; exit 255; }
line=$(grep ' freshtrack-move$' "$FT_MOVE_HOME/.ssh/authorized_keys") || { echo "ssh stub: key not authorized" >&2; exit 255; }
forced=$(printf '%s' "$line" | sed -n 's/.*command="\\([^"]*\\)".*/\\1/p')
shift
# sshd starts the forced command with a fresh environment: nothing of the new side leaks in.
exec env -u FT_APP_DIR -u FT_SECRETS_DIR SSH_ORIGINAL_COMMAND="$*" FT_STUB_SIDE=\${FT_STUB_REMOTE_SIDE:-old} $forced
`,
      { mode: 0o755 },
    );
    // rclone stand-in: the real one, except a `copy` on a side listed in FT_STUB_RCLONE_SIDE
    // (FT_STUB_SIDE), which logs its begin (with its pid) and end, takes FT_STUB_RCLONE_COPY_SLEEP
    // seconds longer (ending at once on SIGTERM), with FT_STUB_RCLONE_AWAIT (an ERE, SIDE standing
    // for the side) first waits up to 30 s for a line of the docker log that matches it (else
    // fails), and with FT_STUB_RCLONE_COPY_FAIL fails.
    const realRclone = spawnSync("sh", ["-c", "command -v rclone"], { encoding: "utf8" }).stdout.trim();
    assert.ok(realRclone, "rclone is installed");
    fs.writeFileSync(
      path.join(stubDir, "rclone"),
      `#!/bin/bash
copy=
for a in "$@"; do [ "$a" = copy ] && copy=1; done
case " \${FT_STUB_RCLONE_SIDE:-} " in *" \${FT_STUB_SIDE:-} "*) ;; *) copy= ;; esac
[ -n "$copy" ] || exec ${realRclone} "$@"
echo "rclone copy begins ($FT_STUB_SIDE) pid $$" >>"$FT_STUB_LOG"
if [ -n "\${FT_STUB_RCLONE_COPY_SLEEP:-}" ]; then
  sleep "$FT_STUB_RCLONE_COPY_SLEEP" &
  s=$!
  trap 'kill $s; exit 143' TERM
  wait $s
fi
if [ -n "\${FT_STUB_RCLONE_AWAIT:-}" ]; then
  pat=\${FT_STUB_RCLONE_AWAIT//SIDE/$FT_STUB_SIDE}
  ${awaitInStubLog('"$pat"', "rclone stub: the copy")}
fi
if [ -n "\${FT_STUB_RCLONE_COPY_FAIL:-}" ]; then echo "rclone stub: copy failed" >&2; exit 1; fi
rc=0
${realRclone} "$@" || rc=$?
echo "rclone copy ends ($FT_STUB_SIDE)" >>"$FT_STUB_LOG"
exit $rc
`,
      { mode: 0o755 },
    );
    dockerLog = path.join(oldSide.root, "docker.log");
    const { AWS_CA_BUNDLE: _ca, ...base } = process.env;
    env = {
      ...base,
      PATH: `${stubDir}:${PG_BIN}:${process.env.PATH}`,
      FT_PG_BIN: PG_BIN,
      FT_RCLONE: "host",
      FT_STUB_LOG: dockerLog,
      FT_MOVE_HOME: path.join(oldSide.root, "home"),
      // A stateful stand-in (every call is logged).
      FT_STUB_STOPPED: path.join(oldSide.root, "stopped"),
      FT_STUB_SCRIPT: STATEFUL_DOCKER_SCRIPT,
      FT_STUB_REDIS_DIR: path.join(oldSide.root, "redis"),
    };
    // Each side's redis /data: the append-only files stand-in, with the key counts the stub reports.
    queueOn("old", "old side's 1", "5 1");
    queueOn("new", "new side's own", "1 0");
    for (const [i, body] of ["first upload", "x".repeat(70000), "third"].entries()) {
      const f = path.join(oldSide.root, `obj${i}`);
      fs.writeFileSync(f, body);
      // Keys as the app writes them (organisation/kind/name): two levels of prefixes.
      assert.equal((await rclone(oldSide, ["copyto", f, `backups:frostguard-assets/org-${i}/photos/u${i}.bin`])).code, 0);
    }
  });

  after(async () => {
    for (const s of sides) {
      await s.s3.close().catch(() => undefined);
      await s.pg.stop();
      fs.rmSync(s.root, { recursive: true, force: true });
    }
  });

  it("--authorize: the key may run move-export --ssh only, only from the new host; --deauthorize removes it", async () => {
    const r = await run(bin(oldSide, "move-export"), ["--authorize", "203.0.113.77"], {
      env,
      input: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMOVEKEYMOVEKEYMOVEKEYMOVEKEYMOVEKEYMOVEKEY1\n",
    });
    assert.equal(r.code, 0, r.stderr);
    const keys = fs.readFileSync(path.join(env.FT_MOVE_HOME!, ".ssh", "authorized_keys"), "utf8");
    assert.match(keys, /^restrict,from="203\.0\.113\.77",command="\S+\/bin\/move-export --ssh" ssh-ed25519 AAAA\S+ freshtrack-move$/m);
    assert.equal(fs.statSync(path.join(env.FT_MOVE_HOME!, ".ssh", "authorized_keys")).mode & 0o777, 0o600);
    const refused = await run(bin(oldSide, "move-export"), ["--ssh"], { env: { ...env, SSH_ORIGINAL_COMMAND: "cat /etc/shadow" } });
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /may only run 'stream'/);
    assert.equal((await run(bin(oldSide, "move-export"), ["--authorize", "x;rm"], { env, input: "ssh-ed25519 AAAA\n" })).code === 0, false);
  });

  it("--authorize FROM PUBLIC (a droplet): the pull is accepted from its own address, --release goes to the public one", async () => {
    const key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMOVEKEYMOVEKEYMOVEKEYMOVEKEYMOVEKEYMOVEKEY1\n";
    const recorded = path.join(oldSide.appDir, "state", "move-new-side");
    const before = fs.readFileSync(recorded, "utf8");
    const keysFile = path.join(env.FT_MOVE_HOME!, ".ssh", "authorized_keys");
    const keysBefore = fs.readFileSync(keysFile, "utf8");
    try {
      const r = await run(bin(oldSide, "move-export"), ["--authorize", "203.0.113.10", "203.0.113.20"], { env, input: key });
      assert.equal(r.code, 0, r.stderr);
      assert.match(fs.readFileSync(keysFile, "utf8"), /^restrict,from="203\.0\.113\.10",command=/m);
      assert.equal(fs.readFileSync(recorded, "utf8"), "203.0.113.20\n");
      const bad = await run(bin(oldSide, "move-export"), ["--authorize", "203.0.113.10", "x;rm"], { env, input: key });
      assert.notEqual(bad.code, 0);
    } finally {
      fs.writeFileSync(recorded, before);
      fs.writeFileSync(keysFile, keysBefore);
    }
  });

  it("prepare: copies tables, sequences and uploads; the new app stays stopped; the report says all equal", async () => {
    fs.writeFileSync(dockerLog, "");
    const r = await importFromOld(["--keep-app-stopped"]);
    assert.equal(r.code, 0, r.stderr);
    noSecretsIn(r);
    const report = JSON.parse(r.stdout.trim());
    assert.equal(report.ok, true, r.stdout);
    assert.deepEqual(report.tables["public.readings"], { old: 5000, new: 5000 });
    assert.deepEqual(report.objects.new, { count: 3, bytes: "first upload".length + 70000 + "third".length });
    assert.deepEqual(report.objects_travelled, report.objects.new, "the new side held no upload: all of them travelled");
    assert.equal(report.objects_compared, "each object: path, size, MD5");
    assert.equal(report.secrets_equal, true);
    assert.equal(report.freeze_seconds, null, "no freeze in prepare");
    // The job queue travelled (redis's append-only files); copied while the old app ran, so its counts are shown, not compared.
    assert.deepEqual(report.queue, { old: { keys: 5, expires: 1 }, new: { keys: 5, expires: 1 } });
    assert.equal(report.queue_equal, null);
    assert.equal(queueManifestOn("new"), "old side's 1", "the new side's redis holds the old side's queue");
    assert.equal((await pg(newSide, "SELECT count(*)::int AS n FROM readings"))[0].n, 5000);
    const next = await pg(newSide, "SELECT nextval('readings_id_seq')::int AS n");
    assert.equal(next[0].n, 5101, "the sequence continues where the old side's did");
    const calls = fs.readFileSync(dockerLog, "utf8");
    assert.match(calls, /^stop new-backend new-worker$/m, "the new side's app stopped");
    assert.doesNotMatch(calls, /stop old-/, "no freeze on the old side in prepare");
    assert.doesNotMatch(calls, /^start (new|old)-(backend|worker)/m, "the new app is not started in prepare");
    const audit = fs.readFileSync(path.join(newSide.appDir, "state", "audit.log"), "utf8");
    assert.match(audit, /"action":"move-import".*"result":"success".*"tables_equal":true/);
    // Its backend is down by design until the cutover: the alert rules read this (no page).
    assert.equal(held(newSide), "standby 1");
    assert.equal(held(oldSide), "absent", "the old side serves: nothing held there");
    // Its database is a copy that ages: its scheduled backups wait for its cutover.
    await scheduledRunsSkip(newSide, "standby");
    assert.equal(report.first_backup, null, "no backup of a side that does not serve");
  });

  it("prepare records its copy time; a cutover whose forecast (that time) exceeds --max-freeze is refused before any freeze", async () => {
    const record = path.join(newSide.appDir, "state", "move-prepare.json");
    const prepared = JSON.parse(fs.readFileSync(record, "utf8"));
    assert.equal(prepared.from, "root@203.0.113.10");
    assert.ok(Math.abs(prepared.at - Date.now() / 1000) < 600, "when it was measured");
    assert.equal(typeof prepared.copy_seconds, "number");
    assert.ok(prepared.copy_seconds > 0 && prepared.copy_seconds < 300, String(prepared.copy_seconds));
    console.log(`      figure: prepare copy ${prepared.copy_seconds} s (5,000 readings, 3 objects): the cutover's forecast freeze`);
    const before = fs.readFileSync(record, "utf8");
    try {
      fs.writeFileSync(record, JSON.stringify({ ...prepared, copy_seconds: 301.5 }));
      fs.writeFileSync(dockerLog, "");
      const r = await importFromOld(["--freeze-source", "--max-freeze", "300", "--start-app"]);
      assert.equal(r.code, 1, r.stderr);
      assert.match(
        r.stderr,
        /cutover refused, nothing frozen or changed: the prepare's copy from root@203\.0\.113\.10 took 301\.5 s.*moveMaxFreezeSeconds \(300 s\)\. Fix: /,
      );
      // A plain up in prepare repeats no copy (the step is in the state): the prepare's copy is replaced.
      assert.ok(r.stderr.includes(`pulumi up --replace "$(pulumi stack --show-urns | grep -o 'urn:[^ ]*::move-copy')"`), r.stderr);
      const calls = fs.readFileSync(dockerLog, "utf8");
      assert.doesNotMatch(calls, /^ssh /m, "the old side was never asked for anything");
      assert.doesNotMatch(calls, /^(stop|start) /m, "no container stopped or started on either side");
      assert.ok(!fs.existsSync(path.join(oldSide.appDir, "state", "proxy", "move.forward")), "the old side serves as before");
      // The limit is a cutover's: without --freeze-source it is refused as a usage error.
      assert.equal((await importFromOld(["--max-freeze", "300", "--start-app"])).code, 1, "--max-freeze needs --freeze-source");
    } finally {
      fs.writeFileSync(record, before);
    }
  });

  it("cutover: freezes the old side, carries the rows written since, starts the new app, reports the freeze", async () => {
    await pg(oldSide, "INSERT INTO readings (sensor, c) SELECT 2, 1 FROM generate_series(1, 250) g");
    // Uploads since the prepare: one added, one rewritten with the same size, one deleted. Only
    // the first two may travel; the third must go from the new side too.
    const changed = "FIRST UPLOAD";
    assert.equal(changed.length, "first upload".length, "same size: only the MD5 tells them apart");
    for (const [key, body] of [
      ["org-0/photos/u0.bin", changed],
      ["org-3/photos/u3.bin", "added after the prepare"],
    ]) {
      const f = path.join(oldSide.root, "obj-since");
      fs.writeFileSync(f, body);
      assert.equal((await rclone(oldSide, ["copyto", f, `backups:frostguard-assets/${key}`])).code, 0);
    }
    assert.equal((await rclone(oldSide, ["deletefile", "backups:frostguard-assets/org-2/photos/u2.bin"])).code, 0);
    fs.writeFileSync(dockerLog, "");
    // Caddy still counts the new backend as down twice (no upstream, then no answer in time).
    const codes = path.join(oldSide.root, "curl-codes");
    fs.writeFileSync(codes, "503\n000\n");
    env.FT_STUB_CURL_CODES = codes;
    // A prepare of yesterday: the forecast still counts, with a warning that the database grew since.
    const record = path.join(newSide.appDir, "state", "move-prepare.json");
    fs.writeFileSync(record, JSON.stringify({ ...JSON.parse(fs.readFileSync(record, "utf8")), at: Math.floor(Date.now() / 1000) - 30 * 3600 }));
    // Jobs queued on the old side since the prepare: they must travel too.
    queueOn("old", "old side's 2", "7 2");
    // The old worker does not end on SIGTERM: Docker kills it at the end of its stop grace.
    env.FT_STUB_WORKER_EXIT = "137";
    const r = await importFromOld(["--freeze-source", "--max-freeze", "300", "--start-app"]).finally(() => {
      delete env.FT_STUB_CURL_CODES;
      delete env.FT_STUB_WORKER_EXIT;
    });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    noSecretsIn(r);
    const report = JSON.parse(r.stdout.trim());
    assert.equal(report.ok, true, r.stdout);
    assert.deepEqual(report.tables["public.readings"], { old: 5250, new: 5250 });
    assert.deepEqual(report.objects_travelled, { count: 2, bytes: "FIRST UPLOAD".length + "added after the prepare".length }, "only what changed travelled");
    assert.deepEqual(report.objects.new, { count: 3, bytes: "FIRST UPLOAD".length + 70000 + "added after the prepare".length });
    assert.equal(report.objects_equal, true);
    const newKeys = (await rclone(newSide, ["lsf", "-R", "--files-only", "--fast-list", "backups:frostguard-assets"])).stdout
      .split("\n")
      .filter(Boolean)
      .sort();
    assert.deepEqual(newKeys, ["org-0/photos/u0.bin", "org-1/photos/u1.bin", "org-3/photos/u3.bin"], "the deleted upload is gone from the new side");
    assert.equal(
      (await rclone(newSide, ["cat", "backups:frostguard-assets/org-0/photos/u0.bin"])).stdout,
      "FIRST UPLOAD",
      "the rewritten upload has its new content",
    );
    assert.equal(typeof report.freeze_seconds, "number");
    assert.match(r.stderr, /forecast write freeze: about [0-9.]+ s \(the prepare's copy, 30 h ago; limit 300 s\)/);
    assert.match(r.stderr, /the prepare's copy is 30 h old: the freeze will be longer than forecast/);
    assert.equal(typeof report.copy_seconds, "number");
    assert.ok(report.freeze_seconds >= 0 && report.freeze_seconds < 120, String(report.freeze_seconds));
    // Where the freeze went: each old container's stop, timed from Docker's record of its exit.
    assert.match(r.stderr, /write freeze: old-backend stopped after [0-9.]+ s \(exit 0\)/);
    assert.match(r.stderr, /write freeze: old-worker stopped after [0-9.]+ s \(exit 137\)/);
    assert.match(r.stderr, /WARNING: old-worker did not stop on SIGTERM within its stop grace and was killed/);
    assert.equal(typeof report.old_app_stop_seconds, "number");
    // The queue as it was at the freeze, loaded by a restarted redis before the new app started.
    assert.deepEqual(report.queue, { old: { keys: 7, expires: 2 }, new: { keys: 7, expires: 2 } });
    assert.equal(report.queue_equal, true);
    assert.equal(queueManifestOn("new"), "old side's 2");
    assert.match(r.stderr, /move-export: job queue: 7 keys, 2 of them with a TTL; redis's append-only files \d+ KiB/);
    assert.ok(report.old_app_stop_seconds >= 0 && report.old_app_stop_seconds <= report.freeze_seconds, r.stdout);
    const calls = fs.readFileSync(dockerLog, "utf8");
    assert.match(calls, /^stop old-backend old-worker$/m, "the old side's writers stopped (freeze)");
    // The holder first (the backend's image, on Caddy's network, as nobody), and every request sent to it.
    const hold = calls.search(
      /^run -d --name freshtrack-move-hold .*--network freshtrack_default --user 65534:65534 --read-only .*--entrypoint node \S+frostguard-backend\S+ \/hold\.js$/m,
    );
    assert.ok(hold >= 0 && hold < calls.indexOf("stop old-backend"), "the request holder starts before the freeze");
    assert.ok(fs.existsSync(path.join(oldSide.appDir, "state", "proxy", "move.forward")), "Caddy sends the old side's requests to the holder");
    // The new backend answers: the old side is asked to send what its holder kept, to the authorized address.
    assert.match(r.stderr, /request holder: kept and later requests go to https:\/\/[0-9.]+:443/);
    assert.match(calls, /^start new-backend new-worker$/m, "the new app started with the containers stopped in prepare");
    assert.ok(!calls.includes(REDIS_PW), "redis's password reaches valkey-cli on stdin, never in docker's argv");
    const [redisStop, redisStart] = [calls.indexOf("stop new-redis"), calls.indexOf("start new-redis")];
    assert.ok(redisStop >= 0 && redisStop < redisStart && redisStart < calls.indexOf("start new-backend"), "redis loads the queue before the app starts");
    assert.ok(calls.indexOf("stop old-backend") < calls.indexOf("start new-backend"), "freeze before the new app starts");
    // Released only once the new backend answers through the new side's own Caddy (its route and health checks).
    const viaCaddy = calls.search(
      /^curl --resolve app\.cold-chain\.example:443:127\.0\.0\.1 https:\/\/app\.cold-chain\.example\/health\/live old: marker=1 target=0$/m,
    );
    assert.ok(viaCaddy > calls.indexOf("start new-backend"), "checked through Caddy after the new app started");
    assert.ok(viaCaddy < calls.search(/^ssh .* release$/m), "and before the old side was asked to release");
    assert.equal(calls.match(/^curl .*\/health\/live /gm)?.length, 3, "asked again until Caddy answered 200");
    assert.equal(held(oldSide), "frozen 1", "the old side's backend is stopped by design from now on");
    assert.equal(JSON.parse(fs.readFileSync(servedMark(newSide), "utf8")).from, "root@203.0.113.10", "kept: a run again hands over without a new copy");
    assert.equal(held(newSide), "none 0", "the new side serves: its backend down would page again");
    // The new side's first backup, at once (its standby skipped every scheduled one): off the host, with the rows it took over.
    assert.match(report.first_backup, /^frostguard-\d{8}T\d{6}Z$/, r.stdout);
    assert.ok((await backupsOf(newSide)).includes(report.first_backup), "in the new side's backups store");
    const manifest = JSON.parse((await rclone(newSide, ["cat", `${backupBase(newSide)}/${report.first_backup}.manifest.json`])).stdout);
    assert.equal(manifest.reason, "move-takeover");
    assert.equal(manifest.tables["public.readings"], 5250, JSON.stringify(manifest.tables));
    assert.match(fs.readFileSync(path.join(newSide.appDir, "metrics", "backup.prom"), "utf8"), /^freshtrack_backup_last_success_timestamp_seconds \d+/m);
    // The frozen old side: the cron's runs skip (the new side backs up); by hand it still backs up.
    await scheduledRunsSkip(oldSide, "frozen");
    const byHand = await run(bin(oldSide, "backup"), [], { env });
    assert.equal(byHand.code, 0, byHand.stderr);
    assert.ok((await backupsOf(oldSide)).includes(byHand.stdout.trim()), byHand.stdout);
    console.log(
      `      move figures: freeze ${report.freeze_seconds} s, ${Object.keys(report.tables).length} tables, ${report.sequences} sequences, ${report.objects.new.count} objects`,
    );
  });

  it("rollback after cutover: the old side pulls the new side's writes (new side frozen) and starts its own frozen app", async () => {
    // The new side served after cutover and took writes.
    await pg(newSide, "INSERT INTO readings (sensor, c) SELECT 3, 2 FROM generate_series(1, 40) g");
    queueOn("new", "new side's since the cutover", "8 2");
    const backHome = path.join(newSide.root, "home");
    const auth = await run(bin(newSide, "move-export"), ["--authorize", "203.0.113.10"], {
      env: { ...env, FT_MOVE_HOME: backHome },
      input: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMOVEKEYMOVEKEYMOVEKEYMOVEKEYMOVEKEYMOVEKEY1\n",
    });
    assert.equal(auth.code, 0, auth.stderr);
    fs.writeFileSync(dockerLog, "");
    const r = await run(bin(oldSide, "move-import"), ["--from", "root@203.0.113.77", "22", HOST_KEY, "--freeze-source", "--start-app"], {
      env: { ...env, FT_MOVE_HOME: backHome, FT_STUB_SIDE: "old", FT_STUB_REMOTE_SIDE: "new" },
      input: MOVE_KEY,
    });
    assert.equal(r.code, 0, r.stderr);
    const report = JSON.parse(r.stdout.trim());
    assert.equal(report.ok, true, r.stdout);
    assert.deepEqual(report.tables["public.readings"], { old: 5290, new: 5290 }, "'old'/'new' in the report are the export's and the import's side");
    assert.deepEqual(report.objects_travelled, { count: 0, bytes: 0 }, "the uploads the old side holds are the new side's: none travels back");
    // The new side's queue (what its app queued since the cutover) comes back with the data.
    assert.equal(report.queue_equal, true, r.stdout);
    assert.deepEqual(report.queue.new, { keys: 8, expires: 2 });
    assert.equal(queueManifestOn("old"), "new side's since the cutover", "the old side's redis holds the new side's queue");
    assert.equal(report.objects_equal, true);
    assert.equal((await pg(oldSide, "SELECT count(*)::int AS n FROM readings"))[0].n, 5290);
    const calls = fs.readFileSync(dockerLog, "utf8");
    assert.match(calls, /^stop new-backend new-worker$/m, "the new side is frozen");
    assert.match(calls, /^start old-backend old-worker$/m, "the old side's app, stopped by the cutover's freeze, serves again");
    // Checked through Caddy (possible only once the marker went: with it, the request would reach
    // the holder) before what this side's holder kept goes to Caddy, and again before the new side
    // is asked to release what it holds.
    const checks = calls.match(/^curl .*$/gm) ?? [];
    assert.equal(checks.length, 2, calls);
    assert.match(checks[0], / old: marker=0 target=https:\/\/[0-9.]+:443$/, "the first check: Caddy routes locally, the holder's requests not yet sent to it");
    assert.match(checks[1], / old: marker=0 target=https:\/\/caddy:443$/, "the second: the holder's requests go to Caddy");
    assert.equal(held(newSide), "frozen 1");
    assert.equal(held(oldSide), "none 0");
    assert.ok(!fs.existsSync(servedMark(newSide)), "the new side's freeze ends what it took over: its cutover, run again, copies");
    // Serving again, with writes its own backups never had: backed up at once.
    assert.ok((await backupsOf(oldSide)).includes(report.first_backup), r.stdout);
  });

  it("a cutover onto a new side whose lasting secrets differ fails, never starts the new app, and ends the old side's freeze", async () => {
    // A regenerated TTN salt would make every stored TTN credential unreadable.
    writeSecret(newSide.appDir, "app/TTN_ENCRYPTION_SALT", "A-DIFFERENT-SALT");
    fs.writeFileSync(dockerLog, "");
    try {
      const r = await importFromOld(["--freeze-source", "--start-app"]);
      assert.notEqual(r.code, 0);
      assert.equal(JSON.parse(r.stdout.trim()).secrets_equal, false);
      assert.match(r.stderr, /differs from the old side's manifest/);
      const calls = fs.readFileSync(dockerLog, "utf8");
      assert.match(calls, /^stop old-backend old-worker$/m);
      assert.match(calls, /^start old-backend old-worker$/m, "the old side serves again");
      assert.doesNotMatch(calls, /^start new-(backend|worker)/m, "the differing new side never serves");
      // The old backend answered through Caddy (its marker gone) before the holder's requests went there.
      assert.deepEqual(
        calls.match(/^curl .*$/gm)?.map((c) => c.replace(/^.* old: /, "")),
        ["marker=0 target=0"],
        calls,
      );
      // What the holder kept goes to the old backend again, its traffic moves back, the holder goes.
      assert.match(r.stderr, /request holder: kept and later requests go to https:\/\/caddy:443/);
      assert.ok(!fs.existsSync(path.join(oldSide.appDir, "state", "proxy", "move.forward")), "Caddy routes the old side's requests locally again");
      assert.ok(calls.indexOf("start old-backend") < calls.lastIndexOf("stop -t 30 old-hold"), "the holder is removed after the backend is back");
    } finally {
      writeSecret(newSide.appDir, "app/TTN_ENCRYPTION_SALT", SALT);
    }
  });

  it("a cutover whose new redis lacks a key of the old side's queue fails, never starts the new app, and ends the old side's freeze", async () => {
    env.FT_STUB_REDIS_SHORT = "new";
    fs.writeFileSync(dockerLog, "");
    try {
      const r = await importFromOld(["--freeze-source", "--start-app"]);
      assert.notEqual(r.code, 0);
      const report = JSON.parse(r.stdout.trim());
      assert.equal(report.queue_equal, false, r.stdout);
      assert.equal(report.ok, false);
      assert.equal(report.tables_equal, true, "only the queue differs");
      const calls = fs.readFileSync(dockerLog, "utf8");
      assert.doesNotMatch(calls, /^start new-(backend|worker)/m, "the new side never serves");
      assert.match(calls, /^start old-backend old-worker$/m, "the old side serves again");
    } finally {
      delete env.FT_STUB_REDIS_SHORT;
    }
  });

  it("a cutover whose old side has no redis running at the freeze fails before the copy is used, never starts the new app, and ends the old side's freeze", async () => {
    // The new side would start on the prepare's copy of the queue: jobs run since would run again.
    fs.appendFileSync(env.FT_STUB_STOPPED!, "old-redis\n");
    fs.writeFileSync(dockerLog, "");
    try {
      const r = await importFromOld(["--freeze-source", "--start-app"]);
      assert.notEqual(r.code, 0);
      assert.match(
        r.stderr,
        /no redis runs here at the freeze: the job queue cannot travel\. Start it \(bin\/deploy on this host\), then run the cutover again/,
      );
      const calls = fs.readFileSync(dockerLog, "utf8");
      assert.match(calls, /^stop old-backend old-worker$/m);
      assert.doesNotMatch(calls, /^start new-(backend|worker)/m, "the new side never serves");
      assert.match(calls, /^start old-backend old-worker$/m, "the old side serves again");
    } finally {
      const stopped = fs
        .readFileSync(env.FT_STUB_STOPPED!, "utf8")
        .split("\n")
        .filter((l) => l && l !== "old-redis");
      fs.writeFileSync(env.FT_STUB_STOPPED!, stopped.map((l) => `${l}\n`).join(""));
    }
  });

  /**
   * A cutover onto the new side, killed (SIGTERM) `afterMs` after the docker log shows `reached`:
   * `stubEnv` makes the stand-in pause there.
   */
  async function cutoverKilledAt(
    stubEnv: Record<string, string>,
    reached: RegExp,
    afterMs = 0,
  ): Promise<{ code: number | null; stderr: string; calls: string }> {
    fs.writeFileSync(dockerLog, "");
    const child = spawn(bin(newSide, "move-import"), ["--from", "root@203.0.113.10", "22", HOST_KEY, "--freeze-source", "--start-app"], {
      env: { ...env, FT_STUB_SIDE: "new", ...stubEnv },
      stdio: ["pipe", "pipe", "pipe"],
    });
    let stderr = "";
    child.stdout.resume();
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.stdin.end(MOVE_KEY);
    const exited = new Promise<number | null>((resolve) => child.on("close", (code) => resolve(code)));
    const there = () => reached.test(fs.readFileSync(dockerLog, "utf8"));
    for (let i = 0; i < 600 && !there(); i++) await sleep(100);
    assert.ok(there(), stderr);
    await sleep(afterMs);
    child.kill("SIGTERM");
    const code = await exited;
    return { code, stderr, calls: fs.readFileSync(dockerLog, "utf8") };
  }
  /** Killed once its app started, while a request from its Caddy is under way. */
  const cutoverKilledAfterAppStart = () => cutoverKilledAt({ FT_STUB_WGET_SLEEP: "3", FT_STUB_WGET_SIDE: "new" }, /^start new-backend/m, 500);

  it("a cutover killed while it loads the queue (SIGTERM: stopped on purpose) fails, ends the old side's freeze and starts this side's redis again", async () => {
    // The old side is frozen and this side's redis is stopping: the kill comes in that window.
    const { code, stderr, calls } = await cutoverKilledAt({ FT_STUB_REDIS_STOP_SLEEP: "3" }, /^stop new-redis$/m);
    assert.equal(code, 143, stderr);
    assert.match(calls, /^stop old-backend old-worker$/m);
    assert.match(calls, /^start old-backend old-worker$/m, `the old side serves again\n${stderr}`);
    assert.doesNotMatch(calls, /^start new-(backend|worker)/m, "the new side never serves");
    assert.ok(calls.lastIndexOf("start new-redis") > calls.lastIndexOf("stop new-redis"), "this side's redis runs again");
    const last = auditLines(newSide.appDir)
      .filter((a) => a.action === "move-import")
      .pop()!;
    assert.equal(last.result, "failure");
  });

  /** The old side with nothing recorded frozen but its requests diverted to a running holder; returns Caddy's marker. */
  const divertedNothingFrozen = () => {
    const marker = path.join(oldSide.appDir, "state", "proxy", "move.forward");
    fs.rmSync(path.join(oldSide.appDir, "state", "move-frozen-app"), { force: true });
    fs.mkdirSync(path.dirname(marker), { recursive: true });
    fs.writeFileSync(marker, "");
    fs.writeFileSync(`${env.FT_STUB_STOPPED}.hold-old`, ""); // the holder runs
    fs.writeFileSync(dockerLog, "");
    return marker;
  };

  it("--unfreeze with nothing recorded but requests diverted to the holder (a freeze that died between the two) routes them back to the running backend", async () => {
    const marker = divertedNothingFrozen();
    const r = await run(bin(oldSide, "move-export"), ["--unfreeze"], { env: { ...env, FT_STUB_SIDE: "old", FT_PROXY_SETTLE_SECONDS: "0" } });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /nothing frozen here/);
    assert.ok(!fs.existsSync(marker), "Caddy routes locally again");
    assert.match(fs.readFileSync(dockerLog, "utf8"), /^rm -f old-hold$/m, "the holder removed");
    assert.doesNotMatch(fs.readFileSync(dockerLog, "utf8"), /^start /m, "nothing to start");
  });

  it("an archive from another stack (other backup key) is refused before the database is touched", async () => {
    const before = (await pg(newSide, "SELECT count(*)::int AS n FROM readings"))[0].n;
    writeSecret(newSide.appDir, "backup/backup.key", "another-stacks-key\n");
    try {
      const r = await importFromOld(["--keep-app-stopped"]);
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, /cannot decrypt/);
    } finally {
      writeSecret(newSide.appDir, "backup/backup.key", BACKUP_KEY + "\n");
    }
    assert.equal((await pg(newSide, "SELECT count(*)::int AS n FROM readings"))[0].n, before);
  });

  it("the pulling side's listing decides what travels: what it holds with the same MD5 and size stays; a listing that is not one sends everything", async () => {
    const listing = (await rclone(oldSide, ["lsjson", "-R", "--files-only", "--fast-list", "--hash-type", "MD5", "backups:frostguard-assets"])).stdout;
    const held = (JSON.parse(listing) as { Path: string; Size: number; Hashes: { md5: string } }[]).map((o) => [o.Hashes.md5, o.Size, o.Path] as const);
    assert.equal(held.length, 3);
    /** The archive `move-export --ssh` streams for this listing on stdin: its manifest and the objects in it. */
    // Asynchronous: the S3 stand-ins answer from this process.
    const pull = async (stdin: string) => {
      const dir = fs.mkdtempSync(path.join(oldSide.root, "pulled-"));
      const archive = path.join(dir, "archive.enc");
      const out = await run("bash", ["-c", '"$0" --ssh >"$1"', bin(oldSide, "move-export"), archive], {
        env: { ...env, SSH_ORIGINAL_COMMAND: "stream", FT_STUB_SIDE: "old" },
        input: stdin,
      });
      assert.equal(out.code, 0, out.stderr);
      const keyFile = path.join(dir, "key");
      fs.writeFileSync(keyFile, BACKUP_KEY + "\n");
      const plain = spawnSync(
        "openssl",
        ["enc", "-d", "-aes-256-cbc", "-pbkdf2", "-iter", "200000", "-md", "sha256", "-pass", `file:${keyFile}`, "-in", archive],
        { maxBuffer: 1 << 28 },
      );
      assert.equal(plain.status, 0, plain.stderr.toString());
      const names = spawnSync("tar", ["-t"], { input: plain.stdout, maxBuffer: 1 << 28 })
        .stdout.toString()
        .split("\n");
      const manifest = JSON.parse(spawnSync("tar", ["-x", "-O", "./manifest.json"], { input: plain.stdout, maxBuffer: 1 << 28 }).stdout.toString());
      fs.rmSync(dir, { recursive: true, force: true });
      return { manifest, objects: names.filter((n) => n.startsWith("./objects/") && !n.endsWith("/")).sort(), stderr: out.stderr };
    };
    const line = (o: readonly [string, number, string]) => JSON.stringify(o);
    // Holds all three, one of them with an MD5 its store did not know (a multipart upload): that one travels.
    const [first, ...rest] = held;
    const some = await pull([line(["", first[1], first[2]]), ...rest.map(line)].join("\n") + "\n");
    assert.deepEqual(some.objects, [`./objects/${first[2]}`]);
    assert.deepEqual(some.manifest.objects_travelled, { count: 1, bytes: first[1] });
    assert.deepEqual(some.manifest.objects, { count: 3, bytes: held.reduce((n, o) => n + o[1], 0) }, "the manifest describes the whole bucket");
    // Holds the same paths and sizes, other content: all travel.
    assert.equal((await pull(held.map((o) => line(["0".repeat(32), o[1], o[2]])).join("\n"))).objects.length, 3);
    // Nothing, or not a listing: everything travels.
    assert.equal((await pull("")).objects.length, 3);
    const bad = await pull(`${line(held[0])}\n{"path": "x"}\n`);
    assert.equal(bad.objects.length, 3);
    assert.match(bad.stderr, /listing of its uploads is not valid: every upload travels/);
  });

  // The freeze repeats this copy: how it grows with the readings (docs/move.md "Large databases").
  // The rows are shaped as the app's sensor_readings are (uuid key, a sensor, measurements, the
  // uplink as jsonb, two timestamps, two indexes besides the key): narrow rows copy faster and
  // would make the forecast an operator reads from this figure too kind.
  it("figure: the copy of a prepare with 1,000,000 more readings (its time, the cutover's forecast freeze)", async function () {
    this.timeout(600_000);
    await pg(
      oldSide,
      `CREATE TABLE wide_readings (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), sensor int NOT NULL REFERENCES sensors,
         temperature numeric(7,2) NOT NULL, humidity numeric(5,2), battery int, signal int, payload jsonb,
         recorded_at timestamptz NOT NULL, received_at timestamptz NOT NULL DEFAULT now());
       CREATE INDEX ON wide_readings (sensor, recorded_at); CREATE INDEX ON wide_readings (recorded_at);
       INSERT INTO wide_readings (sensor, temperature, humidity, battery, signal, payload, recorded_at)
         SELECT 1 + g % 5, (g % 1000) / 100.0, (g % 10000) / 100.0, 90, -80, jsonb_build_object('f_cnt', g, 'rssi', -80, 'snr', 7.5),
                now() - g * interval '1 second'
         FROM generate_series(1, 1000000) g`,
    );
    const [{ n, bytes }] = await pg(oldSide, "SELECT count(*)::int AS n, pg_database_size(current_database())::bigint AS bytes FROM wide_readings");
    fs.writeFileSync(dockerLog, "");
    const r = await importFromOld(["--keep-app-stopped"]);
    assert.equal(r.code, 0, r.stderr);
    const report = JSON.parse(r.stdout.trim());
    assert.equal(report.ok, true, r.stdout);
    assert.equal(report.tables["public.wide_readings"].new, n);
    const recorded = JSON.parse(fs.readFileSync(path.join(newSide.appDir, "state", "move-prepare.json"), "utf8"));
    assert.equal(recorded.copy_seconds, report.copy_seconds, "the cutover's guard reads this copy's time");
    console.log(
      `      figure: prepare copy of ${n.toLocaleString("en-US")} readings (database ${(Number(bytes) / 1e6).toFixed(0)} MB): ${report.copy_seconds} s`,
    );
  });

  it("--ssh unfreeze (a failed cutover's undo, asked by the new host) whose connection is gone at once still ends the freeze", async () => {
    const marker = divertedNothingFrozen();
    // As sshd starts the forced command: the mode in SSH_ORIGINAL_COMMAND.
    const child = spawn(bin(oldSide, "move-export"), ["--ssh"], {
      env: { ...env, FT_STUB_SIDE: "old", FT_PROXY_SETTLE_SECONDS: "0", SSH_ORIGINAL_COMMAND: "unfreeze" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    // Nothing reads its output: its first message would have killed it.
    child.stdout.destroy();
    child.stderr.destroy();
    const code = await new Promise<number | null>((resolve) => child.on("exit", (c) => resolve(c)));
    assert.equal(code, 0);
    assert.ok(!fs.existsSync(marker), "Caddy routes locally again");
    assert.match(fs.readFileSync(dockerLog, "utf8"), /^rm -f old-hold$/m, "the holder removed");
  });

  const newMarker = () => path.join(newSide.appDir, "state", "proxy", "move.forward");
  const unfreezeOld = async () => {
    const u = await run(bin(oldSide, "move-export"), ["--unfreeze"], { env: { ...env, FT_STUB_SIDE: "old", FT_PROXY_SETTLE_SECONDS: "0" } });
    assert.equal(u.code, 0, u.stderr);
  };

  it("a cutover that fails after the new app serves (killed while it asks the old side to hand over) leaves the old side frozen: never two apps on two copies", async () => {
    // No holder on the new side: its app serves as soon as it started.
    fs.rmSync(newMarker(), { force: true });
    fs.rmSync(`${env.FT_STUB_STOPPED}.hold-new`, { force: true });
    const { code, stderr, calls } = await cutoverKilledAfterAppStart();
    assert.equal(code, 143, stderr);
    assert.match(calls, /^stop old-backend old-worker$/m);
    assert.doesNotMatch(calls, /^start old-backend/m, `the old side stays frozen: the new side serves\n${stderr}`);
    assert.doesNotMatch(calls, /^stop new-backend/m, "the new side keeps serving");
    assert.match(
      stderr,
      /failed after this side's app started: this side serves the copied data; the other side stays frozen\. Run pulumi up again: this step then finishes the hand-over/,
    );
    assert.ok(fs.existsSync(path.join(oldSide.appDir, "state", "proxy", "move.forward")), "the old side still sends its requests to its holder");
    // What the new side wrote since it served must survive the re-run: no second copy.
    await pg(newSide, "INSERT INTO readings (sensor, c) VALUES (2, 7777)");
    fs.writeFileSync(dockerLog, "");
    const again = await importFromOld(["--freeze-source", "--start-app"]);
    assert.equal(again.code, 0, again.stderr);
    noSecretsIn(again);
    assert.match(again.stderr, /finishing the hand-over, no new copy/);
    assert.doesNotMatch(again.stderr, /pg_restore|pulling the export/, "no second copy");
    assert.equal((await pg(newSide, "SELECT count(*)::int AS n FROM readings WHERE c = 7777"))[0].n, 1, "the new side's write kept");
    const report = JSON.parse(again.stdout.trim().split("\n").pop()!);
    assert.equal(report.ok, true);
    assert.equal(report.app, "started");
    assert.match(again.stderr, /request holder: kept and later requests go to https:\/\//, "the old side hands over what it holds");
    assert.doesNotMatch(fs.readFileSync(dockerLog, "utf8"), /^(start|stop) (old|new)-(backend|worker)/m, "no app started or stopped");
    // Finished, and still no new copy when run once more (a caller that never got this report).
    const third = await importFromOld(["--freeze-source", "--start-app"]);
    assert.equal(third.code, 0, third.stderr);
    assert.match(third.stderr, /finishing the hand-over, no new copy/);
    assert.equal((await pg(newSide, "SELECT count(*)::int AS n FROM readings WHERE c = 7777"))[0].n, 1, "the new side's write kept");
    await unfreezeOld();
    // The old side serves again (by hand here; a rollback freezes this side, which clears the mark).
    fs.rmSync(servedMark(newSide));
  });

  it("a cutover killed after the new app started but before it served (its backend taking back what its holder kept) stops that app again and ends the old side's freeze", async () => {
    // The new side holds requests (as after a rollback away from it): its backend must take them back first.
    fs.mkdirSync(path.dirname(newMarker()), { recursive: true });
    fs.writeFileSync(newMarker(), "");
    fs.writeFileSync(`${env.FT_STUB_STOPPED}.hold-new`, "");
    const { code, stderr, calls } = await cutoverKilledAfterAppStart();
    assert.equal(code, 143, stderr);
    const started = /^start (new-backend new-worker|new-worker new-backend)$/m.exec(calls);
    assert.ok(started, calls);
    assert.match(calls.slice(started.index), /^stop new-(backend|worker) new-(backend|worker)$/m, `this side's app stopped again\n${stderr}`);
    assert.match(calls, /^start old-backend old-worker$/m, "the old side serves again");
    assert.ok(calls.lastIndexOf("stop new-") < calls.lastIndexOf("start old-backend"), "this side's app stops before the old side's starts");
    const recorded = fs.readFileSync(path.join(newSide.appDir, "state", "move-stopped-app"), "utf8");
    assert.match(recorded, /new-backend/, "recorded again: a later cutover starts them");
  });

  it("a cutover whose caller is cut off mid-freeze (its output pipes closed) finishes on its own; run again at once, it waits for that run and copies nothing", async () => {
    fs.rmSync(newMarker(), { force: true });
    fs.rmSync(`${env.FT_STUB_STOPPED}.hold-new`, { force: true });
    await pg(oldSide, "INSERT INTO readings (sensor, c) VALUES (4, 4242)");
    fs.writeFileSync(dockerLog, "");
    const logsDir = path.join(newSide.appDir, "state", "logs");
    const logsBefore = new Set(fs.existsSync(logsDir) ? fs.readdirSync(logsDir) : []);
    // The deploying machine's SSH session: its stdout and stderr are pipes. Redis's stop is slowed
    // so that the cut lands inside the freeze, before the copy is loaded.
    const child = spawn(bin(newSide, "move-import"), ["--from", "root@203.0.113.10", "22", HOST_KEY, "--freeze-source", "--start-app"], {
      env: { ...env, FT_STUB_SIDE: "new", FT_STUB_REDIS_STOP_SLEEP: "2" },
      stdio: ["pipe", "pipe", "pipe"],
    });
    child.stdin.end(MOVE_KEY);
    const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
    const frozen = () => /^stop old-backend old-worker$/m.test(fs.readFileSync(dockerLog, "utf8"));
    for (let i = 0; i < 600 && !frozen(); i++) await sleep(100);
    assert.ok(frozen(), "the old side froze");
    // The connection is gone: nothing reads the command's output any more.
    child.stdout.destroy();
    child.stderr.destroy();
    // pulumi up again at once, while the first run still works alone.
    const again = importFromOld(["--freeze-source", "--start-app"]);
    const code = await exited;
    assert.equal(code, 0, "the cut-off run went on to its end");
    const r = await again;
    assert.equal(r.code, 0, r.stderr);
    noSecretsIn(r);
    assert.match(r.stderr, /move lock is held .*waiting up to 1800 s/, "the run again waited for the first");
    assert.match(r.stderr, /finishing the hand-over, no new copy/);
    const report = JSON.parse(r.stdout.trim().split("\n").pop()!);
    assert.equal(report.ok, true, r.stdout);
    const calls = fs.readFileSync(dockerLog, "utf8");
    assert.equal(calls.match(/^stop old-backend old-worker$/gm)?.length, 1, `one freeze, one copy\n${calls}`);
    assert.match(calls, /^start new-backend new-worker$/m, "the new side serves");
    assert.doesNotMatch(calls, /^start old-backend/m, "the old side stays frozen, its requests sent here");
    assert.equal((await pg(newSide, "SELECT count(*)::int AS n FROM readings WHERE c = 4242"))[0].n, 1, "the row written before the freeze arrived");
    // What the cut-off caller never saw is on the host: its whole output, the report last.
    const logs = fs.readdirSync(logsDir).filter((f) => !logsBefore.has(f) && /-move-import-\d+\.log$/.test(f));
    assert.equal(logs.length, 2, logs.join(" "));
    const first = logs.map((f) => fs.readFileSync(path.join(logsDir, f), "utf8")).find((t) => /pulling the export/.test(t))!;
    assert.ok(first, "the first run's log");
    assert.equal((fs.statSync(path.join(logsDir, logs[0])).mode & 0o777).toString(8), "600");
    assert.match(first, /request holder: kept and later requests go to https:\/\//, "it asked the old side to hand over");
    assert.equal(JSON.parse(first.trim().split("\n").pop()!).ok, true, "its report, last");
    const audit = auditLines(newSide.appDir).filter((a) => a.action === "move-import");
    assert.deepEqual(
      audit.slice(-2).map((a) => a.result),
      ["success", "success"],
    );
    await unfreezeOld();
  });

  /** An upload added on the old side (so that one travels at the next cutover), and a new side that copies again. */
  const beforeCutover = async (key: string) => {
    fs.rmSync(servedMark(newSide), { force: true });
    const f = path.join(oldSide.root, "obj-travels");
    fs.writeFileSync(f, `${key} ${Date.now()}`);
    assert.equal((await rclone(oldSide, ["copyto", f, `backups:frostguard-assets/${key}`])).code, 0);
    fs.writeFileSync(dockerLog, "");
  };
  /** A cutover onto the new side with the stand-ins' settings `stubEnv` (they reach the old side's export too). */
  const cutoverWith = (stubEnv: Record<string, string>) =>
    run(bin(newSide, "move-import"), ["--from", "root@203.0.113.10", "22", HOST_KEY, "--freeze-source", "--start-app"], {
      env: { ...env, FT_STUB_SIDE: "new", ...stubEnv },
      input: MOVE_KEY,
    });
  /** Where `line` first is in the stand-ins' log `calls` (it must be there): for checks of order. */
  const callAt = (calls: string) => (line: string) => {
    const i = calls.indexOf(line);
    assert.ok(i >= 0, `${line} in:\n${calls}`);
    return i;
  };
  it("a cutover's uploads travel beside the work of the freeze: the old side's beside its dump and queue, the new side's beside its restore and queue load", async () => {
    await beforeCutover("org-5/photos/beside.bin");
    // Each side's copy ends only once that side's queue step ran (the old side's redis rewrite,
    // after its dump and counts; the new side's redis restarted on the old side's files, after the
    // restore). Done one after the other, the queue steps would wait for the copies: the copies
    // would give up after 30 s, and the cutover fail.
    const r = await cutoverWith({ FT_STUB_RCLONE_SIDE: "old new", FT_STUB_RCLONE_AWAIT: "^(exec -i SIDE-redis valkey-cli|start SIDE-redis)$" });
    assert.equal(r.code, 0, r.stderr);
    const report = JSON.parse(r.stdout.trim().split("\n").pop()!);
    assert.equal(report.ok, true, r.stdout);
    assert.equal(report.objects_equal, true);
    assert.equal(report.objects_travelled.count, 1, "the one upload added since");
    const calls = fs.readFileSync(dockerLog, "utf8");
    const at = callAt(calls);
    assert.ok(at("exec -i old-redis valkey-cli") < at("rclone copy ends (old)"), calls);
    assert.ok(at("start new-redis") < at("rclone copy ends (new)"), calls);
    assert.ok(at("rclone copy ends (new)") < at("start new-backend"), "the app starts once the uploads are in");
    await unfreezeOld();
  });

  /**
   * FT_PG_BIN for one cutover: PostgreSQL 15's programs, except that the old side's pg_dump and the
   * new side's single-transaction pg_restore first wait up to 30 s for a line of the docker log
   * (awaitDump, awaitRestore: EREs; else they fail), log their end, and with failRestore the
   * restore fails.
   */
  const cutoverPgBin = (o: { awaitDump?: string; awaitRestore?: string; failRestore?: boolean }): string => {
    const wrap = (tool: string, side: string, when: string, pat: string | undefined, fail: boolean) => `#!/bin/bash
# Only the ${side} side's ${tool}${when ? " with " + when : ""}: any other runs as it is.
if [ "\${FT_STUB_SIDE:-}" != ${side} ]${when ? ` || [[ " $* " != *" ${when} "* ]]` : ""}; then exec ${PG_BIN}/${tool} "$@"; fi
${pat ? awaitInStubLog(`'${pat}'`, `${tool} stub:`) : ""}
${fail ? `echo "${tool} stub: failed" >&2; exit 1` : ""}
rc=0
${PG_BIN}/${tool} "$@" || rc=$?
echo "${tool} ends (${side})" >>"$FT_STUB_LOG"
exit $rc
`;
    return pgBinWith(fs.mkdtempSync(path.join(oldSide.root, "pg-bin-")), {
      pg_dump: wrap("pg_dump", "old", "", o.awaitDump, false),
      pg_restore: wrap("pg_restore", "new", "--single-transaction", o.awaitRestore, o.failRestore ?? false),
    });
  };

  it("a cutover's freeze does its work side by side: the old side's queue rewrite beside its dump, the new side's restore beside its queue load", async () => {
    await beforeCutover("org-8/photos/side-by-side.bin");
    // The old side's dump ends only once its redis was asked for the queue's rewrite; the new
    // side's restore only once its redis restarted on the old side's files. Done one after the
    // other (the queue after the dump, after the restore), each would wait 30 s and fail.
    const r = await cutoverWith({ FT_PG_BIN: cutoverPgBin({ awaitDump: "^exec -i old-redis valkey-cli", awaitRestore: "^start new-redis$" }) });
    assert.equal(r.code, 0, r.stderr);
    const report = JSON.parse(r.stdout.trim().split("\n").pop()!);
    assert.equal(report.ok, true, r.stdout);
    assert.equal(report.tables_equal, true);
    assert.equal(report.queue_equal, true);
    const calls = fs.readFileSync(dockerLog, "utf8");
    const at = callAt(calls);
    assert.ok(at("exec -i old-redis valkey-cli") < at("pg_dump ends (old)"), calls);
    assert.ok(at("start new-redis") < at("pg_restore ends (new)"), calls);
    assert.ok(at("pg_restore ends (new)") < at("start new-backend"), "the app starts once the database is restored");
    await unfreezeOld();
  });

  it("a cutover whose restore fails beside the queue load fails: the new app never starts, the old side serves again, this side's redis runs", async () => {
    await beforeCutover("org-9/photos/restore-fails.bin");
    const r = await cutoverWith({ FT_PG_BIN: cutoverPgBin({ failRestore: true }) });
    assert.notEqual(r.code, 0, r.stdout);
    assert.match(r.stderr, /pg_restore stub: failed/);
    assert.match(r.stderr, /move-import: ERROR: pg_restore failed; the transaction was rolled back, this database is unchanged/);
    assert.match(
      r.stderr,
      /move-import: ERROR: restoring the database or making the uploads bucket frostguard-assets equal to the old side's failed \(above\)/,
    );
    const calls = fs.readFileSync(dockerLog, "utf8");
    assert.match(calls, /^stop old-backend old-worker$/m, "frozen first");
    assert.match(calls, /^start old-backend old-worker$/m, `the old side serves again\n${r.stderr}`);
    assert.doesNotMatch(calls, /^start new-(backend|worker)/m, "the new side never serves");
    assert.ok(calls.lastIndexOf("start new-redis") >= calls.lastIndexOf("stop new-redis"), "this side's redis runs");
  });

  for (const [side, error] of [
    ["old", /move-export: ERROR: copying the uploads bucket frostguard-assets or the job queue failed \(above\)/],
    ["new", /move-import: ERROR: restoring the database or making the uploads bucket frostguard-assets equal to the old side's failed \(above\)/],
  ] as const) {
    it(`a cutover whose uploads copy fails on the ${side} side, beside the rest of the freeze, fails: the new app never starts, the old side serves again`, async () => {
      await beforeCutover(`org-6/photos/fails-${side}.bin`);
      const r = await cutoverWith({ FT_STUB_RCLONE_SIDE: side, FT_STUB_RCLONE_COPY_FAIL: "1" });
      assert.notEqual(r.code, 0, r.stdout);
      assert.match(r.stderr, /rclone stub: copy failed/);
      assert.match(r.stderr, error);
      const calls = fs.readFileSync(dockerLog, "utf8");
      assert.match(calls, /^stop old-backend old-worker$/m, "frozen first");
      assert.match(calls, /^start old-backend old-worker$/m, `the old side serves again\n${r.stderr}`);
      assert.doesNotMatch(calls, /^start new-(backend|worker)/m, "the new side never serves");
      assert.ok(calls.lastIndexOf("start new-redis") >= calls.lastIndexOf("stop new-redis"), "this side's redis runs");
    });
  }

  it("a cutover killed while its uploads copy runs in the background ends that copy too, and the old side's freeze", async () => {
    await beforeCutover("org-7/photos/killed.bin");
    const { code, stderr, calls } = await cutoverKilledAt(
      { FT_STUB_RCLONE_SIDE: "new", FT_STUB_RCLONE_COPY_SLEEP: "60" },
      /^rclone copy begins \(new\)/m,
      1000,
    );
    assert.equal(code, 143, stderr);
    const pid = Number(/^rclone copy begins \(new\) pid (\d+)$/m.exec(calls)![1]);
    const alive = () => {
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    };
    assert.equal(alive(), false, "the copy ended with the command that spawned it");
    assert.doesNotMatch(calls, /^rclone copy ends \(new\)/m, "it never finished");
    assert.match(calls, /^start old-backend old-worker$/m, `the old side serves again\n${stderr}`);
    assert.doesNotMatch(calls, /^start new-(backend|worker)/m, "the new side never serves");
  });
});
