// bin/move-export and bin/move-import from a RENDERED vm release (renderBundle), between
// two REAL PostgreSQL 15 clusters and two REAL S3-compatible servers (s3rver), with the
// host's rclone and openssl. Seams: FT_PG_BIN and FT_RCLONE=host (as bin/backup's test),
// the endpoints in release.json .database (the rendered "postgres:5432" only resolves on
// the Compose network), a stubbed docker (logs its calls; `docker ps` answers container
// ids) and a stubbed ssh that runs the old side's forced command locally, exactly as
// sshd would with the line `move-export --authorize` wrote.
import { strict as assert } from "assert";
import * as crypto from "crypto";
import * as fs from "fs";
import * as http from "http";
import * as os from "os";
import * as path from "path";
import { Client } from "pg";
import { parseConfig, USER_SECRET_KEYS } from "../../core/config";
import { renderBundle } from "../../compose/bundle";
import { ageIdentity } from "../../compose/age-identity";
import { run, RunResult, stubDocker, writeSecret } from "../fixtures/bin/harness";

const PG_BIN = "/usr/lib/postgresql/15/bin";
const ADMIN_PW = "adm-" + crypto.randomBytes(8).toString("hex");
const BACKUP_KEY = crypto.randomBytes(32).toString("base64");
const SALT = "SALTVALUE" + crypto.randomBytes(8).toString("hex");
const JWT = "JWTVALUE" + crypto.randomBytes(8).toString("hex");
const MOVE_KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nMOVEKEYDUMMY" + crypto.randomBytes(8).toString("hex") + "\n-----END OPENSSH PRIVATE KEY-----\n";
const HOST_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKq0Yq3mR5m6m0qS5hD9l0b2mE1bqQ1w7zK3p0nq7x8Y";

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const srv = http.createServer();
    srv.listen(0, "127.0.0.1", () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

/** The vm release the program renders (same input shape as the compose-config test). */
function renderedVmRelease(): Record<string, string> {
  const raw: Record<string, string> = {
    target: "vm",
    domain: "app.cold-chain.example",
    operatorEmail: "ops@cold-chain.example",
    backendImage: "ghcr.io/acme/frostguard-backend:1.2.3",
    workerImage: "ghcr.io/acme/frostguard-worker:1.2.3",
    frontendImage: "ghcr.io/acme/frostguard-frontend:1.2.3",
    stackAuthProjectId: "proj-123",
    vmHost: "203.0.113.10",
    vmHostKey: HOST_KEY,
    vmBackupRemoteEndpoint: "https://s3.backups.example",
    vmBackupRemoteBucket: "acme-freshtrack-backups",
    vmBackupRemoteAccessKeyId: "BACKUPKEYID0001",
  };
  // Every credential set, so every secret file is rendered; the registry login needs its server and user.
  Object.assign(raw, { registryServer: "ghcr.io", registryUser: "deploy-bot" });
  for (const k of USER_SECRET_KEYS) raw[k] = `DUMMY-${k}`;
  return renderBundle({
    config: parseConfig(raw, new Set(USER_SECRET_KEYS)),
    target: "vm",
    objectStore: {
      publicEndpoint: "https://s3.app.cold-chain.example",
      internalEndpoint: "http://objectstore:8333",
      region: "us-east-1",
      assetsBucket: "frostguard-assets",
      backupsBucket: "frostguard-backups",
    },
  });
}

interface S3rverInstance {
  run(): Promise<{ address: string; port: number }>;
  close(): Promise<void>;
}
type S3rverCtor = new (opts: Record<string, unknown>) => S3rverInstance;

interface Side {
  root: string;
  appDir: string;
  pgDir: string;
  pgPort: number;
  s3: S3rverInstance;
  s3Port: number;
  rcloneConf: string;
}

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
    for (const v of [ADMIN_PW, BACKUP_KEY, SALT, JWT, MOVE_KEY.split("\n")[1]]) assert.ok(!(r.stdout + r.stderr).includes(v), "a secret value was printed");
  };
  const importFromOld = (args: string[], input = MOVE_KEY) =>
    run(bin(newSide, "move-import"), ["--from", "root@203.0.113.10", "22", HOST_KEY, ...args], { env: { ...env, FT_STUB_SIDE: "new" }, input });

  async function makeSide(name: string, files: Record<string, string>): Promise<Side> {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), `ft-move-${name}-`));
    fs.chmodSync(root, 0o755);
    const appDir = path.join(root, "app");
    const rel = path.join(appDir, "releases", "r1");
    for (const [f, content] of Object.entries(files)) {
      fs.mkdirSync(path.dirname(path.join(rel, f)), { recursive: true });
      fs.writeFileSync(path.join(rel, f), content, { mode: f.startsWith("bin/") ? 0o755 : 0o644 });
    }
    fs.symlinkSync("releases/r1", path.join(appDir, "current"));
    fs.mkdirSync(path.join(appDir, "state"), { recursive: true });
    // PostgreSQL must not run as root: data dir owned by the postgres user.
    const pgDir = path.join(root, "pg");
    fs.mkdirSync(pgDir, { mode: 0o755 });
    fs.writeFileSync(path.join(pgDir, "pw"), ADMIN_PW + "\n");
    await run("chown", ["-R", "postgres:postgres", pgDir]);
    const asPg = (cmd: string, args: string[]) => run("runuser", ["-u", "postgres", "--", cmd, ...args]);
    const init = await asPg(`${PG_BIN}/initdb`, ["-D", `${pgDir}/data`, "-U", "postgres", "--auth=scram-sha-256", `--pwfile=${pgDir}/pw`, "-E", "UTF8"]);
    assert.equal(init.code, 0, init.stderr);
    const pgPort = await freePort();
    const start = await asPg(`${PG_BIN}/pg_ctl`, [
      "-D",
      `${pgDir}/data`,
      "-l",
      `${pgDir}/log`,
      "-w",
      "-o",
      `-p ${pgPort} -k ${pgDir} -c listen_addresses=127.0.0.1 -c fsync=off`,
      "start",
    ]);
    assert.equal(start.code, 0, start.stderr);
    const created = await run(
      `${PG_BIN}/psql`,
      ["-h", "127.0.0.1", "-p", String(pgPort), "-U", "postgres", "-d", "postgres", "-c", "CREATE DATABASE frostguard"],
      { env: { ...process.env, PGPASSWORD: ADMIN_PW } },
    );
    assert.equal(created.code, 0, created.stderr);

    const S3rver = require("s3rver") as S3rverCtor;
    const s3Dir = path.join(root, "s3");
    const s3 = new S3rver({
      port: 0,
      address: "127.0.0.1",
      silent: true,
      directory: s3Dir,
      configureBuckets: [{ name: "frostguard-assets" }, { name: "frostguard-backups" }],
    });
    const { port: s3Port } = await s3.run();

    // Only the endpoints of the rendered release.json change: the rendered names only resolve on the Compose network.
    const relJson = JSON.parse(fs.readFileSync(path.join(rel, "release.json"), "utf8"));
    relJson.database = { ...relJson.database, host: "127.0.0.1", port: pgPort, sslmode: "disable" };
    fs.writeFileSync(path.join(rel, "release.json"), JSON.stringify(relJson, null, 2));
    writeSecret(appDir, "backup/pgpass", `127.0.0.1:${pgPort}:*:postgres:${ADMIN_PW}\n`);
    writeSecret(appDir, "backup/backup.key", BACKUP_KEY + "\n");
    // The age identity bin/backup's setup requires, derived from the backup key as the push writes it.
    writeSecret(appDir, "backup/age.key", ageIdentity(BACKUP_KEY) + "\n");
    const rcloneConf = writeSecret(
      appDir,
      "backup/rclone.conf",
      // Every section release.json names (vm: the backups remote, the host store's backup and admin identities), one server.
      [...new Set([relJson.backup.remote, relJson.backup.store_remote, relJson.backup.admin_remote].filter(Boolean))]
        .map(
          (name) =>
            `[${name}]\ntype = s3\nprovider = Other\nenv_auth = false\naccess_key_id = S3RVER\nsecret_access_key = S3RVER\nendpoint = http://127.0.0.1:${s3Port}\nregion = us-east-1\nforce_path_style = true\n`,
        )
        .join(""),
    );
    writeSecret(appDir, "app/TTN_ENCRYPTION_SALT", SALT);
    writeSecret(appDir, "app/JWT_SECRET", JWT);
    const side = { root, appDir, pgDir, pgPort, s3, s3Port, rcloneConf };
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
    // logs its target and answers 200 (or the codes listed in FT_STUB_CURL_CODES, one per call).
    fs.writeFileSync(
      path.join(stubDir, "curl"),
      `#!/bin/bash
echo "curl \${*: -3}" >>"$FT_STUB_LOG"
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
    dockerLog = path.join(oldSide.root, "docker.log");
    const { AWS_CA_BUNDLE: _ca, ...base } = process.env;
    env = {
      ...base,
      PATH: `${stubDir}:${PG_BIN}:${process.env.PATH}`,
      FT_PG_BIN: PG_BIN,
      FT_RCLONE: "host",
      FT_STUB_LOG: dockerLog,
      FT_MOVE_HOME: path.join(oldSide.root, "home"),
      // A stateful stand-in: one container per service and side; `docker ps` lists the ones not
      // stopped, `stop`/`start` move them in and out of the stopped list. Every call is logged.
      FT_STUB_STOPPED: path.join(oldSide.root, "stopped"),
      FT_STUB_SCRIPT: [
        'touch "$FT_STUB_STOPPED"',
        'case "$*" in',
        '  *"ps -q"*service=backend*|*"ps -q"*service=worker*) svc=backend; case "$*" in *service=worker*) svc=worker ;; esac',
        '    grep -qx "$FT_STUB_SIDE-$svc" "$FT_STUB_STOPPED" || echo "$FT_STUB_SIDE-$svc" ;;',
        '  "inspect -f {{range"*) echo "freshtrack_default " ;;',
        '  *"ps -q"*service=caddy*) echo "$FT_STUB_SIDE-caddy" ;;',
        '  "run -d "*) touch "$FT_STUB_STOPPED.hold-$FT_STUB_SIDE"; echo "$FT_STUB_SIDE-hold" ;;',
        '  *"ps -aq"*service=move-hold*|"ps -q --filter name="*) [ -e "$FT_STUB_STOPPED.hold-$FT_STUB_SIDE" ] && echo "$FT_STUB_SIDE-hold" ;;',
        '  "rm -f "*hold) rm -f "$FT_STUB_STOPPED.hold-$FT_STUB_SIDE" ;;',
        '  "stop "*) shift; for i in "$@"; do echo "$i" >>"$FT_STUB_STOPPED"; done ;;',
        '  "start "*) shift; for i in "$@"; do grep -vx "$i" "$FT_STUB_STOPPED" >"$FT_STUB_STOPPED.t" || true; mv "$FT_STUB_STOPPED.t" "$FT_STUB_STOPPED"; done ;;',
        "esac",
      ].join("\n"),
    };
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
      await run("runuser", ["-u", "postgres", "--", `${PG_BIN}/pg_ctl`, "-D", `${s.pgDir}/data`, "-m", "immediate", "stop"]);
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
    assert.equal(report.secrets_equal, true);
    assert.equal(report.freeze_seconds, null, "no freeze in prepare");
    assert.equal((await pg(newSide, "SELECT count(*)::int AS n FROM readings"))[0].n, 5000);
    const next = await pg(newSide, "SELECT nextval('readings_id_seq')::int AS n");
    assert.equal(next[0].n, 5101, "the sequence continues where the old side's did");
    const calls = fs.readFileSync(dockerLog, "utf8");
    assert.match(calls, /^stop new-backend new-worker$/m, "the new side's app stopped");
    assert.doesNotMatch(calls, /stop old-/, "no freeze on the old side in prepare");
    assert.doesNotMatch(calls, /^start /m, "the new app is not started in prepare");
    const audit = fs.readFileSync(path.join(newSide.appDir, "state", "audit.log"), "utf8");
    assert.match(audit, /"action":"move-import".*"result":"success".*"tables_equal":true/);
  });

  it("cutover: freezes the old side, carries the rows written since, starts the new app, reports the freeze", async () => {
    await pg(oldSide, "INSERT INTO readings (sensor, c) SELECT 2, 1 FROM generate_series(1, 250) g");
    fs.writeFileSync(dockerLog, "");
    // Caddy still counts the new backend as down twice (no upstream, then no answer in time).
    const codes = path.join(oldSide.root, "curl-codes");
    fs.writeFileSync(codes, "503\n000\n");
    env.FT_STUB_CURL_CODES = codes;
    const r = await importFromOld(["--freeze-source", "--start-app"]).finally(() => delete env.FT_STUB_CURL_CODES);
    assert.equal(r.code, 0, r.stderr);
    noSecretsIn(r);
    const report = JSON.parse(r.stdout.trim());
    assert.equal(report.ok, true, r.stdout);
    assert.deepEqual(report.tables["public.readings"], { old: 5250, new: 5250 });
    assert.equal(typeof report.freeze_seconds, "number");
    assert.ok(report.freeze_seconds >= 0 && report.freeze_seconds < 120, String(report.freeze_seconds));
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
    assert.ok(calls.indexOf("stop old-backend") < calls.indexOf("start new-backend"), "freeze before the new app starts");
    // Released only once the new backend answers through the new side's own Caddy (its route and health checks).
    const viaCaddy = calls.search(/^curl --resolve app\.cold-chain\.example:443:127\.0\.0\.1 https:\/\/app\.cold-chain\.example\/health\/live$/m);
    assert.ok(viaCaddy > calls.indexOf("start new-backend"), "checked through Caddy after the new app started");
    assert.ok(viaCaddy < calls.search(/^ssh .* release$/m), "and before the old side was asked to release");
    assert.equal(calls.match(/^curl .*\/health\/live$/gm)?.length, 3, "asked again until Caddy answered 200");
    console.log(
      `      move figures: freeze ${report.freeze_seconds} s, ${Object.keys(report.tables).length} tables, ${report.sequences} sequences, ${report.objects.new.count} objects`,
    );
  });

  it("rollback after cutover: the old side pulls the new side's writes (new side frozen) and starts its own frozen app", async () => {
    // The new side served after cutover and took writes.
    await pg(newSide, "INSERT INTO readings (sensor, c) SELECT 3, 2 FROM generate_series(1, 40) g");
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
    assert.equal((await pg(oldSide, "SELECT count(*)::int AS n FROM readings"))[0].n, 5290);
    const calls = fs.readFileSync(dockerLog, "utf8");
    assert.match(calls, /^stop new-backend new-worker$/m, "the new side is frozen");
    assert.match(calls, /^start old-backend old-worker$/m, "the old side's app, stopped by the cutover's freeze, serves again");
    // Checked through Caddy once, after the marker went: with it, the request would reach the holder.
    assert.equal(calls.match(/^curl /gm)?.length, 1, "one check through Caddy, after the old side routes locally again");
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
      assert.doesNotMatch(calls, /^start new-/m, "the differing new side never serves");
      assert.doesNotMatch(calls, /^curl /m, "no check through the old Caddy while its marker sends requests to the holder");
      // What the holder kept goes to the old backend again, its traffic moves back, the holder goes.
      assert.match(r.stderr, /request holder: kept and later requests go to https:\/\/caddy:443/);
      assert.ok(!fs.existsSync(path.join(oldSide.appDir, "state", "proxy", "move.forward")), "Caddy routes the old side's requests locally again");
      assert.ok(calls.indexOf("start old-backend") < calls.lastIndexOf("stop -t 30 old-hold"), "the holder is removed after the backend is back");
    } finally {
      writeSecret(newSide.appDir, "app/TTN_ENCRYPTION_SALT", SALT);
    }
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
});
