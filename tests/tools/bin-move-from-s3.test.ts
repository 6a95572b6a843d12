// bin/move-import --from-s3 (the new host of a move off aws) and bin/move-forward --hold, from a
// RENDERED vm release (renderBundle), against a REAL PostgreSQL 15 (one cluster: the old aws
// side's database, from which the test builds the export, and this host's app database), a REAL
// S3-compatible server (s3rver) as this host's own object store, and a second s3rver standing in
// for the old side's AWS S3 (its backups bucket with the export under move/, its assets bucket
// with the uploads), reached through the FT_MOVE_S3_ENDPOINT seam (path style), with the host's
// rclone. The export's six objects are built here from the old database with independent SQL
// (pg_dump -Fc, counts, sequences), never by the code under test. Seams as in bin-move-push's
// test: FT_PG_BIN and FT_RCLONE=host, the endpoints in release.json .database, a stateful docker
// stand-in (logs its calls; `docker ps` answers container ids), an rclone wrapper that logs every
// invocation's arguments and environment before running the real rclone, and a curl stand-in for
// the check through this side's own Caddy (and the operator's webhook).
import { strict as assert } from "assert";
import { spawn, spawnSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as http from "http";
import * as os from "os";
import * as path from "path";
import { Client } from "pg";
import { FROM_AWS_FORECAST, moveFreezeForecastScript } from "../../components/aws/move-forecast";
import { moveCutoverUndoScript } from "../../components/aws/move-undo";
import { run, RunResult, STATEFUL_DOCKER_SCRIPT, stubDocker, writeSecret } from "../fixtures/bin/harness";
import { auditLines, installRelease, pointAtTestStores, renderedVmRelease, VM_RELEASE_BACKUPS_BUCKET } from "../fixtures/move-release";
import { createDatabase, PG15_BIN as PG_BIN, pgBinWith, PgCluster, postgresOwnedDir, startPgCluster } from "../fixtures/pg-cluster";
import { addS3rverKey, RCLONE_BASE_ENV, s3rverRcloneConf, S3Standin, startS3rver } from "../fixtures/s3-standin";

const ADMIN_PW = "adm-" + crypto.randomBytes(8).toString("hex");
const BACKUP_KEY = crypto.randomBytes(32).toString("base64");
const SALT = "SALTVALUE" + crypto.randomBytes(8).toString("hex");
const JWT = "JWTVALUE" + crypto.randomBytes(8).toString("hex");
// The key that reads the old side's buckets (registered with the AWS stand-in below).
const AWS_KEY_ID = "AKIA" + crypto.randomBytes(8).toString("hex").toUpperCase();
const AWS_SECRET = crypto.randomBytes(30).toString("base64");
const KMS_ARN = "arn:aws:kms:eu-central-1:123456789012:key/0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b";
const OLD_BACKUPS = "ft-old-backups";
const OLD_ASSETS = "ft-old-assets";
const WEBHOOK = "https://hooks.example/services/T0/B0/" + crypto.randomBytes(8).toString("hex");

interface SeenRequest {
  method: string;
  url: string;
  authorization: string;
}

describe("tools: bin/move-import --from-s3 (aws -> host) and bin/move-forward --hold on a real PostgreSQL + S3 stand-ins", function () {
  this.timeout(300000);
  let root: string;
  let appDir: string;
  let pgCluster: PgCluster | undefined;
  let pgPort: number;
  let ownS3: S3Standin | undefined;
  let awsS3: S3Standin | undefined;
  let ownConf: string;
  let awsConf: string;
  let env: NodeJS.ProcessEnv;
  let dockerLog: string;
  let rcloneLog: string;
  let stubDir: string;
  /** Every request the AWS stand-in received. */
  const awsSaw: SeenRequest[] = [];

  const pg = async (db: string, sql: string) => {
    const c = new Client({ host: "127.0.0.1", port: pgPort, user: "postgres", password: ADMIN_PW, database: db });
    await c.connect();
    try {
      return (await c.query(sql)).rows;
    } finally {
      await c.end();
    }
  };
  const oldDb = (sql: string) => pg("oldaws", sql);
  const newDb = (sql: string) => pg("frostguard", sql);
  const count = async (db: string, table: string) => Number((await pg(db, `SELECT count(*)::int AS n FROM ${table}`))[0].n);
  const state = (...p: string[]) => path.join(appDir, "state", ...p);
  const marker = () => state("proxy", "move.forward");
  const holding = () => fs.existsSync(path.join(root, "stopped.hold-new"));
  const cred = (over: Record<string, unknown> = {}) =>
    JSON.stringify({
      access_key_id: AWS_KEY_ID,
      secret_access_key: AWS_SECRET,
      region: "eu-central-1",
      assets_region: "eu-west-1",
      backups_bucket: OLD_BACKUPS,
      assets_bucket: OLD_ASSETS,
      kms_key_arn: KMS_ARN,
      ...over,
    });
  const importCmd = (args: string[], input: string, extra: NodeJS.ProcessEnv = {}) =>
    run(path.join(appDir, "current", "bin", "move-import"), args, { env: { ...env, ...extra }, input, timeoutMs: 180000 });
  const forwardCmd = (args: string[]) => run(path.join(appDir, "current", "bin", "move-forward"), args, { env, timeoutMs: 60000 });
  const exportCmd = (args: string[]) => run(path.join(appDir, "current", "bin", "move-export"), args, { env, timeoutMs: 60000 });
  /** The test's own view of a stand-in (real rclone, not the wrapper, its own config). */
  const rcloneAs = (conf: string, args: string[]) => run("/usr/bin/rclone", ["--config", conf, ...args], { env: RCLONE_BASE_ENV });
  const put = async (remotePath: string, content: string | Buffer) => {
    const f = path.join(root, "upload.tmp");
    fs.writeFileSync(f, content);
    const r = await rcloneAs(awsConf, ["copyto", f, `aws:${remotePath}`]);
    assert.equal(r.code, 0, r.stderr);
  };
  const filesUnder = (dir: string): string[] =>
    fs.readdirSync(dir, { recursive: true, encoding: "utf8" }).filter((f) => fs.statSync(path.join(dir, f)).isFile());
  /** Keys and bytes of a bucket through a test config. */
  const bucketFiles = async (conf: string, remote: string): Promise<Map<string, Buffer>> => {
    const ls = await rcloneAs(conf, ["lsf", "-R", "--files-only", "--fast-list", remote]);
    assert.equal(ls.code, 0, ls.stderr);
    const out = new Map<string, Buffer>();
    for (const k of ls.stdout.split("\n").filter(Boolean)) {
      const dl = path.join(root, "dl");
      fs.rmSync(dl, { force: true });
      const c = await rcloneAs(conf, ["copyto", `${remote}/${k}`, dl]);
      assert.equal(c.code, 0, c.stderr);
      out.set(k, fs.readFileSync(dl));
    }
    return out;
  };
  /** The secret access key, by value: in no output, log, audit line, argument, environment or file left behind. */
  const assertKeyNowhere = (r: RunResult) => {
    assert.ok(!(r.stdout + r.stderr).includes(AWS_SECRET), "the secret access key was printed");
    assert.ok(!fs.readFileSync(dockerLog, "utf8").includes(AWS_SECRET), "the secret access key reached docker or curl");
    assert.ok(!fs.readFileSync(rcloneLog, "utf8").includes(AWS_SECRET), "the secret access key was in rclone's arguments or environment");
    for (const f of filesUnder(appDir)) {
      assert.ok(!fs.readFileSync(path.join(appDir, f)).includes(AWS_SECRET), `the secret access key is left in ${f}`);
    }
    assert.deepEqual(
      fs.readdirSync(state("tmp")).filter((d) => d.startsWith("move-import")),
      [],
      "the work directory (with the rclone config) is gone",
    );
    for (const v of [ADMIN_PW, BACKUP_KEY, SALT, JWT, WEBHOOK]) assert.ok(!(r.stdout + r.stderr).includes(v), "a secret value was printed");
  };
  const cSort = (a: string[]) => [...a].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)));
  const sha = (v: string) => crypto.createHash("sha256").update(v).digest("hex");

  /** What the aws side's export writes: the five files under move/ of its backups bucket (manifest.json apart). */
  const exportTexts = async (): Promise<Record<string, string | Buffer>> => {
    const dump = path.join(root, "old.dump");
    const d = await run(`${PG_BIN}/pg_dump`, ["-Fc", "-h", "127.0.0.1", "-p", String(pgPort), "-U", "postgres", "-d", "oldaws", "-f", dump], {
      env: { ...process.env, PGPASSWORD: ADMIN_PW },
    });
    assert.equal(d.code, 0, d.stderr);
    const tables = await oldDb(
      "SELECT format('%I.%I', schemaname, tablename) AS n FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema')",
    );
    const tableLines: string[] = [];
    for (const { n } of tables) tableLines.push(`${n} ${await count("oldaws", n)}`);
    const seqs = await oldDb(
      "SELECT format('%I.%I', schemaname, sequencename) || ' ' || coalesce(last_value, start_value) || ' ' || (last_value IS NOT NULL)::text AS l FROM pg_sequences",
    );
    const assets = await bucketFiles(awsConf, `aws:${OLD_ASSETS}`);
    const bytes = [...assets.values()].reduce((s, b) => s + b.length, 0);
    return {
      "db.dump": fs.readFileSync(dump),
      "tables.txt": cSort(tableLines).join("\n") + "\n",
      "sequences.txt": cSort(seqs.map((s) => s.l as string)).join("\n") + "\n",
      "objects.txt": `${assets.size} ${bytes}\n`,
      "secrets.txt": `jwt_secret_sha256 ${sha(JWT)}\nttn_encryption_salt_sha256 ${sha(SALT)}\n`,
    };
  };
  /** The export as the aws side writes it: the five files, then manifest.json (left out with `manifest: false`). */
  const writeExport = async (o: { freezeStarted?: number | null; manifest?: boolean } = {}) => {
    await rcloneAs(awsConf, ["delete", `aws:${OLD_BACKUPS}/move`]);
    const texts = await exportTexts();
    for (const [k, v] of Object.entries(texts)) await put(`${OLD_BACKUPS}/move/${k}`, v);
    if (o.manifest !== false) {
      await put(`${OLD_BACKUPS}/move/manifest.json`, JSON.stringify({ source: "aws", created: Date.now() / 1000, freeze_started: o.freezeStarted ?? null }));
    }
    return texts;
  };
  const calls = () => fs.readFileSync(dockerLog, "utf8");
  /** This host as the OLD host of a move onto aws after its cutover: frozen, handed over to a load balancer (bin/move-export --push-s3 --freeze, --conclude). */
  const handedOver = async () => {
    const lb = "ft-alb-123.eu-central-1.elb.amazonaws.com";
    if (!holding()) assert.equal((await forwardCmd(["--hold"])).code, 0);
    fs.writeFileSync(state("move-hold", "target.json"), JSON.stringify({ url: `https://${lb}:443`, ca: null }));
    fs.writeFileSync(marker(), "");
    fs.writeFileSync(state("move-concluded"), `${lb}\n`);
    fs.appendFileSync(env.FT_STUB_STOPPED!, "new-backend\nnew-worker\n");
    fs.writeFileSync(state("move-frozen-app"), "new-backend\nnew-worker\n");
    // Its freeze ended what it once took over (move-export's step_freeze).
    fs.rmSync(state("move-served.json"), { force: true });
    return lb;
  };
  /** The deploying machine's undo step (move-undo.ts) fed a host's import line, against a fake aws CLI that accepts every call. */
  const undoOf = (importLine: string) => {
    const fakeBin = path.join(root, "fake-aws-bin");
    fs.mkdirSync(fakeBin, { recursive: true });
    fs.writeFileSync(
      path.join(fakeBin, "aws"),
      '#!/bin/sh\ncase "$1 $2" in "ecs update-service") echo svc ;; "elbv2 describe-rules") echo arn:rule/2 ;; "elbv2 modify-rule") echo arn:rule/2 ;; esac\n',
      { mode: 0o755 },
    );
    fs.writeFileSync(path.join(fakeBin, "sleep"), "#!/bin/sh\nexit 0\n", { mode: 0o755 });
    const env = { AWS_REGION: "eu-central-1", CLUSTER: "arn:cluster", SERVICES: "backend=2 worker=1", LISTENER_ARN: "arn:listener", PRIORITY: "2" };
    return spawnSync("bash", ["-c", moveCutoverUndoScript()], {
      encoding: "utf8",
      env: { PATH: `${fakeBin}:${process.env.PATH}`, ...env, SETTLE_SECONDS: "15", CUTOVER: importLine },
    });
  };
  const clearLogs = () => {
    fs.writeFileSync(dockerLog, "");
    fs.writeFileSync(rcloneLog, "");
    awsSaw.length = 0;
  };

  before(async () => {
    const files = renderedVmRelease();
    assert.ok(files["bin/move-import"] && files["bin/move-forward"] && files["bin/move-lib.sh"], "the rendered release ships bin/move-*");
    root = fs.mkdtempSync(path.join(os.tmpdir(), "ft-move-from-s3-"));
    fs.chmodSync(root, 0o755);
    let rel: string;
    ({ appDir, rel } = installRelease(root, files));

    const pgDir = path.join(root, "pg");
    const pwFile = await postgresOwnedDir(pgDir, ADMIN_PW);
    pgCluster = await startPgCluster({ user: "postgres", socketDir: pgDir, dataDir: `${pgDir}/data`, logFile: `${pgDir}/log`, pwFile, noSync: true });
    pgPort = pgCluster.port;
    await createDatabase(pgPort, ADMIN_PW, "frostguard");
    await createDatabase(pgPort, ADMIN_PW, "oldaws");

    // This host's own object store, and the old side's AWS S3 (plain HTTP: the seam takes any http(s) URL).
    ownS3 = await startS3rver({ directory: path.join(root, "s3-own"), buckets: ["frostguard-assets", "frostguard-backups", VM_RELEASE_BACKUPS_BUCKET] });
    addS3rverKey(AWS_KEY_ID, AWS_SECRET);
    awsS3 = await startS3rver({ directory: path.join(root, "s3-aws"), buckets: [OLD_BACKUPS, OLD_ASSETS] });
    awsS3.httpServer.prependListener("request", (req: http.IncomingMessage) =>
      awsSaw.push({ method: req.method ?? "", url: decodeURIComponent(req.url ?? ""), authorization: String(req.headers.authorization ?? "") }),
    );
    const stores = pointAtTestStores(appDir, rel, { pgPort, adminPassword: ADMIN_PW, backupKey: BACKUP_KEY, s3Port: ownS3.port });
    ownConf = stores.rcloneConf;
    writeSecret(appDir, "app/TTN_ENCRYPTION_SALT", SALT);
    writeSecret(appDir, "app/JWT_SECRET", JWT);
    // The test's own view of the AWS stand-in (its built-in key, not the reading key).
    awsConf = path.join(root, "aws-test.conf");
    fs.writeFileSync(awsConf, s3rverRcloneConf(["aws"], `http://127.0.0.1:${awsS3.port}`, "eu-central-1"));

    // The old side's data: a sequence gap, a table with a space in its name, a quoted name in
    // another schema, a sequence never used.
    await oldDb(
      "CREATE TABLE sensors (id serial PRIMARY KEY, name text); CREATE TABLE readings (id bigserial PRIMARY KEY, sensor int REFERENCES sensors, c numeric);" +
        'CREATE TABLE "cold room" (id serial PRIMARY KEY, label text); CREATE SCHEMA audit; CREATE TABLE audit."Events" (id int);' +
        "CREATE SEQUENCE audit.unused_seq START 42",
    );
    await oldDb("INSERT INTO sensors (name) SELECT 'fridge-' || g FROM generate_series(1, 5) g");
    await oldDb("INSERT INTO readings (sensor, c) SELECT 1 + g % 5, g / 10.0 FROM generate_series(1, 4000) g");
    await oldDb("INSERT INTO readings (sensor, c) SELECT 1, 0 FROM generate_series(1, 60) g; DELETE FROM readings WHERE id > 4000");
    await oldDb(`INSERT INTO "cold room" (label) SELECT 'shelf ' || g FROM generate_series(1, 9) g`);
    await oldDb('INSERT INTO audit."Events" SELECT g FROM generate_series(1, 7) g');
    // This host's database: the older, emptier schema its migrations made.
    await newDb("CREATE TABLE sensors (id serial PRIMARY KEY, name text); INSERT INTO sensors (name) VALUES ('placeholder')");

    // The old side's uploads (keys as the app writes them), and something only this host's bucket holds.
    for (const [i, body] of ["first upload", "z".repeat(70000), "third"].entries()) await put(`${OLD_ASSETS}/org-${i}/photos/u${i}.bin`, body);
    fs.writeFileSync(path.join(root, "stale"), "stale");
    assert.equal((await rcloneAs(ownConf, ["copyto", path.join(root, "stale"), "backups:frostguard-assets/stale/left-over.bin"])).code, 0);

    stubDir = stubDocker(path.join(root, "stub"));
    // rclone wrapper: logs each call's arguments, environment and the modes of its config file and
    // that file's directory, then runs the real rclone.
    rcloneLog = path.join(root, "rclone.log");
    fs.writeFileSync(
      path.join(stubDir, "rclone"),
      `#!/bin/bash
{
  printf 'ARGS %s\\n' "$*"
  env | sed 's/^/ENV /'
  prev=
  for a in "$@"; do
    if [ "$prev" = --config ]; then printf 'CONF %s %s %s\\n' "$(stat -c %a "$a")" "$(stat -c %a "$(dirname "$a")")" "$a"; fi
    prev=$a
  done
} >>"$FT_RCLONE_LOG"
exec /usr/bin/rclone "$@"
`,
      { mode: 0o755 },
    );
    // curl stand-in. The check through this side's Caddy (-w): logs its target and whether the move
    // marker and the holder's target existed at that moment, answers 200 (or the codes listed in
    // FT_STUB_CURL_CODES, one per call). The webhook (-K -): reads its config from stdin, logs the payload.
    fs.writeFileSync(
      path.join(stubDir, "curl"),
      `#!/bin/bash
case " $* " in
  *" -K - "*)
    cat >/dev/null
    echo "notify \${*: -1}" >>"$FT_STUB_LOG" ;;
  *)
    m=0; t=0
    [ -e "$FT_STUB_STATE/proxy/move.forward" ] && m=1
    [ -s "$FT_STUB_STATE/move-hold/target.json" ] && t=1
    echo "curl \${*: -3} marker=$m target=$t" >>"$FT_STUB_LOG"
    codes=\${FT_STUB_CURL_CODES:-}
    if [ -n "$codes" ] && [ -s "$codes" ]; then code=$(head -n1 "$codes"); sed -i 1d "$codes"; else code=200; fi
    printf '%s' "$code" ;;
esac
`,
      { mode: 0o755 },
    );
    dockerLog = path.join(root, "docker.log");
    fs.writeFileSync(dockerLog, "");
    fs.writeFileSync(rcloneLog, "");
    env = {
      ...RCLONE_BASE_ENV,
      PATH: `${stubDir}:${PG_BIN}:${process.env.PATH}`,
      FT_PG_BIN: PG_BIN,
      FT_RCLONE: "host",
      FT_RCLONE_LOG: rcloneLog,
      FT_MOVE_S3_ENDPOINT: `http://127.0.0.1:${awsS3.port}`,
      FT_STUB_LOG: dockerLog,
      FT_STUB_STATE: path.join(appDir, "state"),
      FT_STUB_SIDE: "new",
      FT_PROXY_SETTLE_SECONDS: "0",
      // The stateful docker stand-in (as bin-move.test.ts), this side "new".
      FT_STUB_STOPPED: path.join(root, "stopped"),
      FT_STUB_SCRIPT: STATEFUL_DOCKER_SCRIPT,
    };
  });

  after(async () => {
    await ownS3?.close().catch(() => undefined);
    await awsS3?.close().catch(() => undefined);
    await pgCluster?.stop();
    if (root) fs.rmSync(root, { recursive: true, force: true });
  });

  it("a bad read credential is refused before anything is read or stopped, naming the fields (never their values)", async () => {
    clearLogs();
    const notJson = await importCmd(["--from-s3", "--keep-app-stopped"], "access_key_id=" + AWS_KEY_ID);
    assert.equal(notJson.code, 1);
    assert.match(notJson.stderr, /stdin is not one JSON object: pipe the read credential \{access_key_id, .*\} into move-import --from-s3/);
    const bad = await importCmd(["--from-s3", "--keep-app-stopped"], cred({ secret_access_key: "short\nx = injected", assets_bucket: "Bad_Bucket" }));
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /the read credential on stdin has missing or malformed fields: secret_access_key, assets_bucket \(/);
    assert.ok(!bad.stderr.includes("injected"));
    assert.equal(awsSaw.length, 0, "nothing asked of the old side's S3");
    assert.doesNotMatch(calls(), /^(stop|start|run) /m, "nothing stopped");
    const usage = await importCmd(["--from-s3", "--freeze-source"], cred());
    assert.equal(usage.code, 64, "--freeze-source asks an old host: not with --from-s3");
    assertKeyNowhere(bad);
  });

  it("without move/manifest.json (the export did not complete) the import is refused and nothing here changes; so is a manifest not of an aws export", async () => {
    await writeExport({ manifest: false });
    clearLogs();
    const r = await importCmd(["--from-s3", "--keep-app-stopped"], cred());
    assert.equal(r.code, 1, r.stderr);
    assert.match(
      r.stderr,
      /ft-old-backups\/move\/manifest\.json is missing \(or unreadable with this credential\): the old side's export did not complete; nothing changed here/,
    );
    assert.equal(r.stdout, "");
    assert.deepEqual(
      awsSaw.filter((q) => q.url.includes("/move/") && !q.url.includes("manifest.json")),
      [],
      "no other file of the export was read",
    );

    // A push's manifest (an old host's export onto aws, left in the bucket) is not this side's export.
    await put(`${OLD_BACKUPS}/move/manifest.json`, JSON.stringify({ created: "2025-01-01T00:00:00Z", target: "vm", freeze_started: null, tables: {} }));
    const push = await importCmd(["--from-s3", "--keep-app-stopped"], cred());
    assert.equal(push.code, 1);
    assert.match(push.stderr, /manifest\.json is not an aws side's export manifest/);

    // Nothing here changed: the app, the database, the uploads bucket.
    assert.doesNotMatch(calls(), /^(stop|start|run) /m, "backend and worker untouched");
    assert.deepEqual(await newDb("SELECT name FROM sensors"), [{ name: "placeholder" }]);
    assert.equal((await newDb("SELECT to_regclass('public.readings') AS t"))[0].t, null, "nothing restored");
    assert.deepEqual([...(await bucketFiles(ownConf, "backups:frostguard-assets")).keys()], ["stale/left-over.bin"]);
    const audit = auditLines(appDir).filter((a) => a.action === "move-import");
    assert.equal(audit[audit.length - 1].result, "failure");
    assert.ok(!calls().includes("notify"), "no webhook configured yet: nothing sent");
    assertKeyNowhere(r);
    assertKeyNowhere(push);
  });

  it("--from-s3 --keep-app-stopped restores the dump, copies the old assets bucket and reports every comparison equal; the key stays in the 0600 config", async () => {
    const texts = await writeExport();
    clearLogs();
    // Left by an earlier move off aws onto this host: a new prepare clears it.
    fs.writeFileSync(state("move-took-over"), "2026-01-01T00:00:00Z\n");
    const r = await importCmd(["--from-s3", "--keep-app-stopped"], cred());
    assert.equal(r.code, 0, r.stderr);
    assert.ok(!fs.existsSync(state("move-took-over")), "a new move's prepare: this side has not taken over (yet)");
    const report = JSON.parse(r.stdout.trim());
    assert.equal(r.stdout.trim().split("\n").length, 1, "one line: the report");
    assert.equal(report.ok, true, r.stdout);
    // The cutover's move-forecast reads this prepare's copy time from the very line.
    const forecast = spawnSync("bash", ["-c", moveFreezeForecastScript(FROM_AWS_FORECAST)], {
      encoding: "utf8",
      env: {
        PATH: process.env.PATH,
        SETTLE_SECONDS: "15",
        MAX_FREEZE: "300",
        COPY_LINE: r.stdout.trim(),
        EXPORT_LINE: '{"task": "t", "exit": 0, "seconds": 60, "export": {}, "ok": true}',
      },
    });
    assert.equal(forecast.status, 0, forecast.stderr);
    assert.equal(JSON.parse(forecast.stdout.trim()).copy_seconds, report.copy_seconds);
    assert.equal(typeof report.copy_seconds, "number");
    assert.deepEqual(
      { tables: report.tables_equal, sequences: report.sequences_equal, objects: report.objects_equal, secrets: report.secrets_equal },
      { tables: true, sequences: true, objects: true, secrets: true },
    );
    assert.deepEqual(report.tables["public.readings"], { old: 4000, new: 4000 });
    assert.deepEqual(report.tables['public."cold room"'], { old: 9, new: 9 }, "a table name with a space compares whole");
    assert.deepEqual(report.tables['audit."Events"'], { old: 7, new: 7 });
    assert.equal(report.sequences, String(texts["sequences.txt"]).trim().split("\n").length);
    const bytes = "first upload".length + 70000 + "third".length;
    assert.deepEqual(report.objects, { old: { count: 3, bytes }, new: { count: 3, bytes } });
    assert.equal(report.app, "stopped");
    assert.equal(report.freeze_seconds, null);
    assert.equal(report.first_backup, null, "a side that does not serve is not backed up");
    // The aws side's export carries every upload and no listing: compared by count and bytes.
    assert.equal(report.objects_compared, "count and bytes");
    assert.equal(report.objects_travelled, null);
    // Neither an app stop timed on a host nor a job queue comes from aws (ElastiCache's stays there).
    assert.equal(report.old_app_stop_seconds, null);
    assert.equal(report.queue, null);
    assert.equal(report.queue_equal, null);
    assert.deepEqual(Object.keys(report).sort(), [
      "app",
      "copy_seconds",
      "first_backup",
      "freeze_seconds",
      "objects",
      "objects_compared",
      "objects_equal",
      "objects_travelled",
      "ok",
      "old_app_stop_seconds",
      "queue",
      "queue_equal",
      "secrets_equal",
      "sequences",
      "sequences_equal",
      "tables",
      "tables_equal",
    ]);

    // The data: rows, the sequence past the gap, the unused sequence at its start.
    assert.equal(await count("frostguard", "readings"), 4000);
    assert.equal(await count("frostguard", '"cold room"'), 9);
    assert.equal((await newDb("SELECT nextval('readings_id_seq')::int AS n"))[0].n, 4061);
    assert.equal((await newDb("SELECT nextval('audit.unused_seq')::int AS n"))[0].n, 42);
    assert.deepEqual(await newDb("SELECT count(*)::int AS n FROM sensors WHERE name = 'placeholder'"), [{ n: 0 }], "the older schema replaced");
    // The uploads: this host's bucket equals the old side's (the stale object gone).
    const old = await bucketFiles(awsConf, `aws:${OLD_ASSETS}`);
    const own = await bucketFiles(ownConf, "backups:frostguard-assets");
    assert.deepEqual([...own.keys()].sort(), [...old.keys()].sort());
    for (const [k, b] of old) assert.ok(own.get(k)!.equals(b), `${k} differs`);

    assert.match(calls(), /^stop new-backend new-worker$/m, "the app here stopped before the restore");
    assert.doesNotMatch(calls(), /^start /m, "and stays stopped (prepare)");
    // The old side's buckets were only read, with the reading key, each in its own region.
    const sawNow = [...awsSaw].filter((q) => !q.authorization.includes("Credential=S3RVER/"));
    assert.ok(sawNow.length > 0);
    assert.deepEqual(
      sawNow.filter((q) => !["GET", "HEAD"].includes(q.method)),
      [],
      "nothing written to or deleted from the old side's buckets",
    );
    for (const q of sawNow) {
      assert.ok(q.authorization.includes(`Credential=${AWS_KEY_ID}/`), `${q.method} ${q.url} without the reading key`);
      const region = q.url.startsWith(`/${OLD_ASSETS}`) ? "eu-west-1" : "eu-central-1";
      assert.ok(q.authorization.includes(`/${region}/s3/`), `${q.method} ${q.url} not signed for ${region}`);
    }
    assert.ok(sawNow.some((q) => q.url.startsWith(`/${OLD_BACKUPS}/move/db.dump`)));
    assert.ok(sawNow.some((q) => q.url.startsWith(`/${OLD_ASSETS}`)));
    // The key: only in a 0600 config in the 0700 work directory, gone afterwards.
    const confLines = fs.readFileSync(rcloneLog, "utf8").match(/^CONF .*$/gm) ?? [];
    assert.ok(confLines.length >= 8, "rclone ran with a --config");
    for (const l of confLines) {
      const [, mode, dirMode, file] = l.split(" ");
      assert.equal(mode, "600", l);
      assert.equal(dirMode, "700", l);
      assert.match(file, /\/state\/tmp\/move-import\.[^/]+\/rclone\.conf$/);
      assert.ok(!fs.existsSync(file), `${file} is left behind`);
    }
    assertKeyNowhere(r);
    const audit = auditLines(appDir).filter((a) => a.action === "move-import");
    const last = audit[audit.length - 1] as { result: string; move: { ok: boolean } };
    assert.deepEqual({ result: last.result, ok: last.move.ok }, { result: "success", ok: true });
  });

  it("a tampered tables.txt: the report is not ok, exit 1, and the app is not started", async () => {
    const texts = await writeExport({ freezeStarted: Date.now() / 1000 - 5 });
    const tampered = String(texts["tables.txt"]).replace(/^public\.readings 4000$/m, "public.readings 4001");
    assert.notEqual(tampered, texts["tables.txt"]);
    await put(`${OLD_BACKUPS}/move/tables.txt`, tampered);
    clearLogs();
    const r = await importCmd(["--from-s3", "--start-app"], cred());
    assert.equal(r.code, 1, r.stderr);
    const report = JSON.parse(r.stdout.trim());
    assert.equal(report.ok, false);
    assert.equal(report.tables_equal, false);
    assert.deepEqual(report.tables["public.readings"], { old: 4001, new: 4000 });
    assert.equal(report.sequences_equal, true);
    assert.equal(report.app, "stopped");
    assert.match(r.stderr, /differs from the old side's manifest/);
    assert.doesNotMatch(calls(), /^start /m, "a new side that differs never serves");
    assert.doesNotMatch(r.stderr, /movePhase rollback/, "no holder here: nothing held");
    assertKeyNowhere(r);
  });

  it("move-forward --hold starts the holder and sends it every request, with no target; again changes nothing; refused while the holder forwards elsewhere", async () => {
    clearLogs();
    const r = await forwardCmd(["--hold"]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(calls(), /^run -d --name freshtrack-move-hold .*--user 65534:65534 --read-only .*--entrypoint node \S+ \/hold\.js$/m);
    // Its drain on SIGTERM is the `docker stop -t 30` that removes it (one constant in bin/lib/hold.sh).
    assert.match(calls(), /^run -d .* -e FT_HOLD_DRAIN_MS=30000 /m);
    assert.ok(fs.existsSync(marker()), "Caddy sends every request for the app's hosts to the holder");
    assert.ok(!fs.existsSync(state("move-hold", "target.json")), "no target: the requests are kept");
    const again = await forwardCmd(["--hold"]);
    assert.equal(again.code, 0, again.stderr);
    assert.equal(calls().match(/^run -d /gm)?.length, 1, "the running holder is kept");
    assert.ok(fs.existsSync(marker()) && !fs.existsSync(state("move-hold", "target.json")));
    const audit = auditLines(appDir).filter((a) => a.action === "move-forward");
    assert.deepEqual(
      audit.slice(-2).map((a) => [a.result, a.mode]),
      [
        ["success", "hold"],
        ["success", "hold"],
      ],
    );

    fs.writeFileSync(state("move-hold", "target.json"), JSON.stringify({ url: "https://203.0.113.9:443", ca: null }));
    try {
      const refused = await forwardCmd(["--hold"]);
      assert.equal(refused.code, 1);
      assert.match(refused.stderr, /the request holder here sends requests to https:\/\/203\.0\.113\.9:443: refused/);
    } finally {
      fs.rmSync(state("move-hold", "target.json"));
    }
  });

  it("--from-s3 --start-app failing while the holder holds: it keeps holding (marker in place, no target), the operator is told to roll back", async () => {
    writeSecret(appDir, "notify/webhook_url", WEBHOOK);
    assert.ok(holding() && fs.existsSync(marker()), "held since move-forward --hold");
    const texts = await writeExport({ freezeStarted: Date.now() / 1000 - 5 });
    await put(`${OLD_BACKUPS}/move/tables.txt`, String(texts["tables.txt"]).replace(/^public\.readings 4000$/m, "public.readings 3999"));
    clearLogs();
    const r = await importCmd(["--from-s3", "--start-app"], cred());
    assert.equal(r.code, 1, r.stderr);
    assert.equal(JSON.parse(r.stdout.trim()).ok, false);
    assert.match(r.stderr, /stay held \(answered 503 after 600 s\): set movePhase rollback and run pulumi up NOW/);
    assert.ok(holding(), "the holder keeps the requests");
    assert.ok(fs.existsSync(marker()), "Caddy still sends them to it");
    assert.ok(!fs.existsSync(state("move-hold", "target.json")), "sent nowhere");
    assert.doesNotMatch(calls(), /^(start|rm -f) /m, "neither the app started nor the holder removed");
    assert.match(
      calls(),
      /^notify .*FreshTrack move import FAILED \(exit 1\) while this side holds the requests .*set movePhase rollback and run pulumi up NOW/m,
    );
    assertKeyNowhere(r);
  });

  it("--from-s3 --start-app with the holder: the app starts, the marker goes, the backend answers through Caddy, only then are the kept requests sent there", async () => {
    // Rows written on the old side since the prepare, up to its freeze.
    await oldDb("INSERT INTO readings (sensor, c) SELECT 2, 1 FROM generate_series(1, 150) g");
    const frozeAt = Date.now() / 1000 - 5;
    await writeExport({ freezeStarted: frozeAt });
    assert.ok(holding() && fs.existsSync(marker()));
    // An earlier rollback handed this host's writes back (move-export --conclude): a stale mark.
    fs.writeFileSync(state("move-concluded"), "ft-alb-1.eu-central-1.elb.amazonaws.com\n");
    clearLogs();
    // Caddy counts the just-started backend as down once more.
    const codes = path.join(root, "curl-codes");
    fs.writeFileSync(codes, "503\n");
    const r = await importCmd(["--from-s3", "--start-app"], cred(), { FT_STUB_CURL_CODES: codes });
    assert.equal(r.code, 0, r.stderr);
    const report = JSON.parse(r.stdout.trim());
    assert.equal(report.ok, true, r.stdout);
    assert.equal(report.app, "started");
    assert.deepEqual(report.tables["public.readings"], { old: 4150, new: 4150 });
    assert.ok(report.freeze_seconds >= 5 && report.freeze_seconds < 120, String(report.freeze_seconds));
    assert.equal(await count("frostguard", "readings"), 4150);

    const log = calls();
    const started = log.search(/^start new-backend new-worker$/m);
    const checks = [...log.matchAll(/^curl --resolve app\.cold-chain\.example:443:127\.0\.0\.1 https:\/\/app\.cold-chain\.example\/health\/live (.*)$/gm)];
    assert.ok(started >= 0, "the app started (stopped by the prepare)");
    assert.equal(checks.length, 2, "asked through Caddy until it answered 200");
    for (const c of checks) {
      assert.ok(c.index! > started, "after the start");
      assert.equal(c[1], "marker=0 target=0", "through Caddy's own route (no marker), the kept requests not yet released");
    }
    assert.match(r.stderr, /request holder: kept and later requests go to https:\/\/caddy:443/);
    const removed = log.search(/^rm -f new-hold$/m);
    assert.ok(removed > checks[1].index!, "the holder goes after the release");
    assert.ok(!holding() && !fs.existsSync(marker()), "this side serves every request itself");
    assert.ok(!fs.existsSync(state("move-hold", "target.json")));
    assert.ok(!log.includes("notify "), "success: no notification");
    assert.ok(fs.existsSync(state("move-took-over")), "this side took over: a rollback pushes its writes back (move-export --push-s3 --back)");
    assert.ok(!fs.existsSync(state("move-concluded")), "an earlier hand-back's mark would refuse that push");
    assert.match(String(report.first_backup), /^frostguard-\d{8}T\d{6}Z$/, "serving now: its first backup at once");
    assert.ok(fs.existsSync(path.join(appDir, "metrics", "backup.prom")), "the backup's freshness metric is there (no missing-backup alert)");
    assertKeyNowhere(r);
    // Kept with this run's report: a run again (its caller cut off) prints it and imports nothing.
    assert.deepEqual(JSON.parse(fs.readFileSync(state("move-served.json"), "utf8")).final, report);
    // The tests below are new attempts: as a new move's prepare (--keep-app-stopped) clears it.
    fs.rmSync(state("move-served.json"));
  });

  it("--from-s3 --start-app whose backend never answers: the marker stays and the holder keeps holding", async () => {
    assert.equal((await forwardCmd(["--hold"])).code, 0);
    await writeExport({ freezeStarted: Date.now() / 1000 - 5 });
    clearLogs();
    // The backend never answers the caddy container; sleep returns at once (the waits are 2 minutes).
    const noWait = path.join(root, "no-wait");
    fs.mkdirSync(noWait, { recursive: true });
    fs.writeFileSync(path.join(noWait, "sleep"), "#!/bin/sh\nexit 0\n", { mode: 0o755 });
    const r = await importCmd(["--from-s3", "--start-app"], cred(), {
      PATH: `${noWait}:${env.PATH}`,
      FT_STUB_SCRIPT: `case "$*" in "exec "*wget*backend*) exit 1 ;; esac\n${STATEFUL_DOCKER_SCRIPT}`,
    });
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /the backend does not answer after its start/);
    assert.match(r.stderr, /set movePhase rollback and run pulumi up NOW/);
    const log = calls();
    assert.match(log, /^start new-backend new-worker$/m);
    assert.match(
      log.slice(log.search(/^start new-backend new-worker$/m)),
      /^stop new-backend new-worker$/m,
      "stopped again: it never served, so its worker must not run the copied queue beside the old side's",
    );
    assert.doesNotMatch(log, /^curl /m, "no check through Caddy: the backend never answered the caddy container");
    assert.doesNotMatch(r.stderr, /goes to the request holder/, "the marker was never taken away: new requests kept reaching the holder");
    assert.ok(fs.existsSync(marker()), "Caddy sends the requests to the holder again");
    assert.ok(holding() && !fs.existsSync(state("move-hold", "target.json")), "the holder keeps them, sent nowhere");
    assert.match(log, /^notify .*set movePhase rollback/m);
    assertKeyNowhere(r);
  });
  it("--from-s3 --start-app refuses an export not taken under the freeze (the prepare's: freeze_started null), before anything changes", async () => {
    await writeExport();
    const readingsHere = await count("frostguard", "readings");
    clearLogs();
    const r = await importCmd(["--from-s3", "--start-app"], cred());
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /an export taken while the old side served \(freeze_started null\)/);
    assert.doesNotMatch(calls(), /^(stop|start) /m, "the app neither stopped nor started");
    assert.equal(await count("frostguard", "readings"), readingsHere, "nothing restored");
    assertKeyNowhere(r);
  });

  let failedLine = "";
  it("--report-failure (the cutover of a move off aws): a failure before this side served is reported and exits 0; its app stopped again, the holder keeps holding", async () => {
    if (!holding()) assert.equal((await forwardCmd(["--hold"])).code, 0);
    // Left by the successful --start-app above; a real cutover follows a prepare, which clears it.
    fs.rmSync(state("move-took-over"), { force: true });
    // The cutover's export did not complete: no manifest (the export task removes it first).
    await writeExport({ manifest: false });
    clearLogs();
    const noExport = await importCmd(["--from-s3", "--start-app", "--report-failure"], cred());
    assert.equal(noExport.code, 0, noExport.stderr);
    assert.deepEqual(JSON.parse(noExport.stdout.trim().split("\n").pop()!), { ok: false, served: false, exit: 1, import: null });
    assert.match(noExport.stderr, /manifest\.json is missing/);
    assert.match(noExport.stderr, /stay held \(answered 503 after 600 s\): the deploying machine undoes the cutover next/);
    assert.doesNotMatch(calls(), /^start /m);
    assert.ok(holding() && fs.existsSync(marker()) && !fs.existsSync(state("move-hold", "target.json")), "held, sent nowhere");
    assert.match(calls(), /^notify .*undoes the cutover, the aws side serves again/m);

    // The app started but its backend never answers: stopped again, then reported.
    await writeExport({ freezeStarted: Date.now() / 1000 - 5 });
    clearLogs();
    const noWait = path.join(root, "no-wait");
    fs.mkdirSync(noWait, { recursive: true });
    fs.writeFileSync(path.join(noWait, "sleep"), "#!/bin/sh\nexit 0\n", { mode: 0o755 });
    const r = await importCmd(["--from-s3", "--start-app", "--report-failure"], cred(), {
      PATH: `${noWait}:${env.PATH}`,
      FT_STUB_SCRIPT: `case "$*" in "exec "*wget*backend*) exit 1 ;; esac\n${STATEFUL_DOCKER_SCRIPT}`,
    });
    assert.equal(r.code, 0, r.stderr);
    failedLine = r.stdout.trim().split("\n").pop()!;
    const line = JSON.parse(failedLine);
    assert.deepEqual({ ok: line.ok, served: line.served, exit: line.exit }, { ok: false, served: false, exit: 1 });
    const log = calls();
    assert.match(log.slice(log.search(/^start new-backend new-worker$/m)), /^stop new-backend new-worker$/m, "started, then stopped again");
    assert.ok(holding() && fs.existsSync(marker()) && !fs.existsSync(state("move-hold", "target.json")));
    assert.ok(!fs.existsSync(state("move-took-over")), "it never took over");
    assert.equal(
      auditLines(appDir)
        .filter((a) => a.action === "move-import")
        .pop()!.result,
      "failure",
    );
    assertKeyNowhere(r);

    const wrong = await importCmd(["--from-s3", "--keep-app-stopped", "--report-failure"], cred());
    assert.equal(wrong.code, 1);
    assert.match(wrong.stderr, /--report-failure goes with --from-s3 --start-app/);
    for (const args of [
      ["--from-s3", "--keep-app-stopped", "--export-of", "1700000000"],
      ["--from-s3", "--start-app", "--export-of", "soon"],
    ]) {
      const bad = await importCmd(args, cred());
      assert.equal(bad.code, 1, args.join(" "));
      assert.match(bad.stderr, /--export-of goes with --from-s3 --start-app and takes the freeze start/);
    }
  });

  it("move-export --give-back: a cutover that served changes nothing; one undone sends what the holder kept to the load balancer and fails saying what next; one not undone keeps holding and says NOW", async () => {
    const lb = "ft-alb-9.eu-central-1.elb.amazonaws.com";
    const giveBack = (input: string) => run(path.join(appDir, "current", "bin", "move-export"), ["--give-back", lb], { env, input, timeoutMs: 60000 });
    if (!holding()) assert.equal((await forwardCmd(["--hold"])).code, 0);
    const served = { ok: true, app: "started" };
    const ok = await giveBack(JSON.stringify({ cutover: served, undone: false }));
    assert.equal(ok.code, 0, ok.stderr);
    assert.deepEqual(JSON.parse(ok.stdout.trim()), served);
    assert.ok(!fs.existsSync(state("move-hold", "target.json")), "nothing sent anywhere");

    const failed = { ok: false, served: false, exit: 1, import: null };
    const notUndone = await giveBack(JSON.stringify({ cutover: failed, undone: false }));
    assert.equal(notUndone.code, 1);
    assert.match(notUndone.stderr, /could not undo it .* set movePhase rollback and run pulumi up NOW/);
    assert.ok(holding() && !fs.existsSync(state("move-hold", "target.json")), "still holding");
    assert.match(calls(), /^notify .*could not be undone.*pulumi up NOW/m);
    const garbage = await giveBack("not json");
    assert.equal(garbage.code, 1);
    assert.match(garbage.stderr, /not the undo's result/);

    fs.writeFileSync(state("move-new-side-ca.pem"), "an internal CA of an earlier move");
    clearLogs();
    // The deploying machine's undo (against a fake aws CLI) reads the line the import printed above.
    const undo = undoOf(failedLine);
    assert.equal(undo.status, 0, undo.stderr);
    assert.deepEqual(JSON.parse(undo.stdout.trim()), { cutover: JSON.parse(failedLine), undone: true });
    const undone = await giveBack(undo.stdout.trim());
    assert.equal(undone.code, 1);
    assert.match(undone.stderr, /failed before this side served and was undone: the aws side's backend and worker serve again/);
    assert.match(undone.stderr, /pulumi config set movePhase rollback && pulumi up/);
    assert.deepEqual(JSON.parse(fs.readFileSync(state("move-hold", "target.json"), "utf8")), { url: `https://${lb}:443`, ca: null });
    assert.equal(fs.readFileSync(state("move-new-side"), "utf8").trim(), lb);
    assert.ok(!fs.existsSync(state("move-new-side-ca.pem")), "the load balancer is verified with the public CAs");
    assert.ok(!fs.existsSync(state("move-concluded")), "not a hand-over: a later move may still push from here");
    assert.doesNotMatch(calls(), /^start /m, "this side's app stays stopped");
    assert.match(calls(), /^notify .*was undone: aws serves again/m);
    const audit = auditLines(appDir).filter((a) => a.action === "move-give-back");
    assert.deepEqual(
      audit.map((a) => [a.result, a.undone]),
      [
        ["failure", false],
        ["success", true],
      ],
    );
    assert.equal(fs.readFileSync(state("move-gave-back"), "utf8").trim(), lb);
    // The next cutover's hold takes the holder back from the load balancer; elsewhere it is still refused.
    const held = await forwardCmd(["--hold"]);
    assert.equal(held.code, 0, held.stderr);
    assert.match(held.stderr, /after an undone cutover: it keeps requests again/);
    assert.ok(holding() && fs.existsSync(marker()) && !fs.existsSync(state("move-hold", "target.json")), "holding, sent nowhere");
    assert.ok(!fs.existsSync(state("move-gave-back")));
    fs.writeFileSync(state("move-hold", "target.json"), JSON.stringify({ url: `https://${lb}:443`, ca: null }));
    const refused = await forwardCmd(["--hold"]);
    assert.equal(refused.code, 1, "without the give-back's mark a holder sending elsewhere is not taken back");
    // The next test starts from a holder that keeps requests.
    fs.rmSync(state("move-hold", "target.json"));
  });

  // The OLD host of a move onto aws, at a rollback after its cutover: this host (its scripts are the
  // same on every host) handed over to the load balancer (bin/move-export --conclude), its app
  // frozen, its holder sending everything there; the "oldaws" database stands in for the aws side,
  // which took writes since.
  it("rollback of a move onto aws: a side that never handed over takes nothing back; move-export --take-back keeps requests here, move-import --take-back copies the aws side's data back, starts the frozen app and serves what was kept", async () => {
    const readingsHere = await count("frostguard", "readings");
    assert.ok(!fs.existsSync(state("move-concluded")));
    clearLogs();
    const notTaken = await exportCmd(["--take-back"]);
    assert.equal(notTaken.code, 0, notTaken.stderr);
    assert.deepEqual(JSON.parse(notTaken.stdout.trim()), { handed_over: false });
    const notCopied = await importCmd(["--from-s3", "--start-app", "--take-back"], cred());
    assert.equal(notCopied.code, 0, notCopied.stderr);
    assert.deepEqual(JSON.parse(notCopied.stdout.trim()), { copied_back: false });
    assert.equal(calls(), "", "nothing stopped, started or held");
    assert.equal(fs.readFileSync(rcloneLog, "utf8"), "", "nothing read from the aws side");
    assert.equal(awsSaw.length, 0);
    assert.equal(await count("frostguard", "readings"), readingsHere, "this side's data is untouched");
    const wrong = await importCmd(["--from-s3", "--keep-app-stopped", "--take-back"], cred());
    assert.equal(wrong.code, 1);
    assert.match(wrong.stderr, /--take-back goes with --from-s3 --start-app/);

    // Handed over: as bin/move-export --freeze and --conclude left it.
    const lb = await handedOver();
    await oldDb("INSERT INTO readings (sensor, c) SELECT 3, 2 FROM generate_series(1, 77) g");
    await writeExport({ freezeStarted: Date.now() / 1000 - 3 });
    const awsReadings = await count("oldaws", "readings");
    clearLogs();

    const taken = await exportCmd(["--take-back"]);
    assert.equal(taken.code, 0, taken.stderr);
    const takenLine = JSON.parse(taken.stdout.trim());
    assert.deepEqual({ ...takenLine, at: 0 }, { handed_over: true, from: lb, at: 0 });
    assert.ok(Math.abs(takenLine.at - Date.now() / 1000) < 60, "its time: each attempt's line differs, so the freeze after it runs again");
    assert.ok(!fs.existsSync(state("move-hold", "target.json")), "the holder no longer sends requests to the load balancer");
    assert.ok(fs.existsSync(marker()) && holding(), "Caddy sends every request to the holder, which keeps it");
    assert.doesNotMatch(calls(), /^run -d /m, "the running holder is kept (what it forwards meanwhile finishes)");
    assert.deepEqual(
      auditLines(appDir)
        .filter((a) => a.action === "move-take-back")
        .map((a) => [a.result, a.from]),
      [["success", lb]],
    );

    clearLogs();
    const r = await importCmd(["--from-s3", "--start-app", "--take-back"], cred());
    assert.equal(r.code, 0, r.stderr);
    const report = JSON.parse(r.stdout.trim());
    assert.equal(report.ok, true, r.stdout);
    assert.equal(report.copied_back, true);
    assert.equal(report.app, "started");
    assert.ok(report.freeze_seconds >= 3 && report.freeze_seconds < 120, String(report.freeze_seconds));
    assert.equal(await count("frostguard", "readings"), awsReadings, "the aws side's writes are here");
    const log = calls();
    assert.match(log, /^start new-backend new-worker$/m, "the app the cutover froze runs again");
    assert.ok(log.search(/^rm -f new-hold$/m) > log.search(/^start new-backend new-worker$/m), "the holder goes once the app serves");
    assert.ok(!fs.existsSync(marker()) && !holding(), "this side serves every request itself");
    assert.ok(!fs.existsSync(state("move-concluded")), "a later move may push from this side again");
    assert.ok(!fs.existsSync(state("move-frozen-app")));
    assertKeyNowhere(r);
  });
  // The same OLD host, a later rollback whose copy back fails before this side serves: the
  // deploying machine undoes it (aws serves again), this side gives back what it kept, and the
  // next attempt (move-take-back replaced) copies back this attempt's export only.
  it("rollback of a move onto aws, copy back failing before this side serves: reported, undone, what was kept goes back to aws; the retry reads only its own attempt's export", async () => {
    const lb = await handedOver();
    // An earlier attempt's export is in move/; aws took writes since.
    const earlier = Math.floor(Date.now() / 1000) - 600;
    await writeExport({ freezeStarted: earlier });
    await oldDb("INSERT INTO readings (sensor, c) SELECT 4, 1 FROM generate_series(1, 31) g");
    const readingsHere = await count("frostguard", "readings");
    assert.equal((await exportCmd(["--take-back"])).code, 0);
    assert.ok(holding() && !fs.existsSync(state("move-hold", "target.json")), "holding");

    // This attempt's freeze or export did not happen (none), or its export is not the one in move/: refused before anything changes.
    for (const [of, why] of [
      ["none", /write freeze or its export did not happen in this attempt/],
      [String(earlier + 300), new RegExp(`the export of the freeze that began at ${earlier}, not this attempt's \\(${earlier + 300}\\)`)],
    ] as [string, RegExp][]) {
      clearLogs();
      const r = await importCmd(["--from-s3", "--start-app", "--take-back", "--report-failure", "--export-of", of], cred());
      assert.equal(r.code, 0, r.stderr);
      const line = JSON.parse(r.stdout.trim().split("\n").pop()!);
      assert.deepEqual({ ok: line.ok, served: line.served }, { ok: false, served: false }, of);
      assert.match(r.stderr, why);
      assert.match(r.stderr, /the deploying machine undoes the copy back next \(move-undo-back, move-give-back\)/);
      assert.doesNotMatch(calls(), /^(start|stop) new-/m, "the app neither started nor stopped");
      assert.equal(await count("frostguard", "readings"), readingsHere, "nothing restored");
      assert.ok(holding() && fs.existsSync(marker()) && !fs.existsSync(state("move-hold", "target.json")), "still holding");
      assert.ok(fs.existsSync(state("move-concluded")), "still handed over");
      assertKeyNowhere(r);
      if (of === "none") assert.equal(awsSaw.length, 0, "nothing read from the aws side");
    }
    assert.match(calls(), /^notify .*undoes the copy back, the aws side serves again/m);

    // The deploying machine's undo (fake aws CLI) reads that line; the give-back reads the undo's.
    const failedLine = JSON.stringify({ ok: false, served: false, exit: 1, import: null });
    const undo = undoOf(failedLine);
    assert.equal(undo.status, 0, undo.stderr);
    assert.equal(JSON.parse(undo.stdout.trim()).undone, true);
    const giveBack = (input: string) =>
      run(path.join(appDir, "current", "bin", "move-export"), ["--give-back", lb, "--rollback"], { env, input, timeoutMs: 60000 });
    clearLogs();
    const given = await giveBack(undo.stdout.trim());
    assert.equal(given.code, 1);
    assert.match(given.stderr, /the rollback's copy back failed before this side served and was undone: the aws side's backend and worker serve again/);
    assert.match(given.stderr, /pulumi up --replace .*move-take-back/);
    assert.deepEqual(JSON.parse(fs.readFileSync(state("move-hold", "target.json"), "utf8")), { url: `https://${lb}:443`, ca: null });
    assert.doesNotMatch(calls(), /^start /m, "this side's app stays stopped");
    assert.ok(fs.existsSync(state("move-concluded")), "still handed over: the retry takes back again, and no push from here overwrites aws");
    assert.ok(!fs.existsSync(state("move-gave-back")), "the mark is a new host's (bin/move-forward --hold)");
    const audit = auditLines(appDir)
      .filter((a) => a.action === "move-give-back")
      .pop()!;
    assert.deepEqual([audit.result, audit.side, audit.undone, audit.to], ["success", "old", true, lb]);
    // Not undone: still holding, told what to do NOW; nothing to take back: nothing to give.
    const notUndone = await giveBack(JSON.stringify({ cutover: JSON.parse(failedLine), undone: false }));
    assert.equal(notUndone.code, 1);
    assert.match(notUndone.stderr, /could not undo it .*run the rollback again at once: pulumi up --replace/);
    const nothing = await giveBack(JSON.stringify({ cutover: { copied_back: false }, undone: false }));
    assert.equal(nothing.code, 0, nothing.stderr);
    assert.deepEqual(JSON.parse(nothing.stdout.trim()), { copied_back: false });
    const wrongFlag = await run(path.join(appDir, "current", "bin", "move-export"), ["--give-back", lb, "--now"], { env, input: "{}", timeoutMs: 60000 });
    assert.equal(wrongFlag.code, 64);

    // The retry: the take-back holds again; this attempt's export (aws's writes since included) comes back.
    const retryTaken = await exportCmd(["--take-back"]);
    assert.equal(retryTaken.code, 0, retryTaken.stderr);
    assert.ok(holding() && !fs.existsSync(state("move-hold", "target.json")), "holding again");
    await oldDb("INSERT INTO readings (sensor, c) SELECT 5, 1 FROM generate_series(1, 12) g");
    const now = Math.floor(Date.now() / 1000) - 2;
    await writeExport({ freezeStarted: now });
    const awsReadings = await count("oldaws", "readings");
    clearLogs();
    const r = await importCmd(["--from-s3", "--start-app", "--take-back", "--report-failure", "--export-of", String(now)], cred());
    assert.equal(r.code, 0, r.stderr);
    const report = JSON.parse(r.stdout.trim());
    assert.deepEqual([report.ok, report.copied_back, report.app], [true, true, "started"], r.stdout);
    assert.equal(await count("frostguard", "readings"), awsReadings, "every write aws took, those after the undo too");
    assert.ok(!fs.existsSync(marker()) && !holding(), "this side serves every request itself");
    assert.ok(!fs.existsSync(state("move-concluded")));
    // The give-back after a copy back that served: nothing to do.
    const after = await giveBack(JSON.stringify({ cutover: report, undone: false }));
    assert.equal(after.code, 0, after.stderr);
    assertKeyNowhere(r);
  });
  // The new host of a move off aws whose cutover served, then failed (killed during its first
  // backup, as a cut connection would): run again, as pulumi up does, it must import nothing over
  // the writes this side took since.
  it("--from-s3 --start-app killed after this side served: run again, it imports nothing (this side's writes kept), finishes and reports; a prepare's copy clears the mark", async () => {
    // A stale mark of an earlier cutover: a new prepare's copy clears it.
    fs.writeFileSync(state("move-served.json"), JSON.stringify({ from: "aws", report: { ok: true } }));
    await writeExport();
    const prep = await importCmd(["--from-s3", "--keep-app-stopped"], cred());
    assert.equal(prep.code, 0, prep.stderr);
    assert.ok(!fs.existsSync(state("move-served.json")), "the prepare's copy cleared the earlier mark");
    assert.equal((await forwardCmd(["--hold"])).code, 0);
    const frozeAt = Math.floor(Date.now() / 1000) - 5;
    await oldDb("INSERT INTO readings (sensor, c) SELECT 2, 3 FROM generate_series(1, 20) g");
    await writeExport({ freezeStarted: frozeAt });
    const args = ["--from-s3", "--start-app", "--report-failure", "--export-of", String(frozeAt)];
    clearLogs();
    // The kill must land while the first backup runs. Its log line reaches this process through
    // the log's tee, late on a loaded machine: a kill sent on it once came after the backup, and
    // the step ended on another path. So the backup's pg_dump says when it began and waits for
    // the kill before it dumps (bash runs the TERM trap once the backup it waits for ends).
    const slowDump = path.join(root, "pg-bin-waiting-dump");
    const [began, go] = [path.join(slowDump, "dump-began"), path.join(slowDump, "dump-go")];
    pgBinWith(slowDump, {
      pg_dump: `#!/bin/sh\n: >${began}\ni=0\nwhile [ ! -e ${go} ] && [ $i -lt 600 ]; do /bin/sleep 0.1; i=$((i + 1)); done\nexec ${PG_BIN}/pg_dump "$@"\n`,
    });
    const child = spawn(path.join(appDir, "current", "bin", "move-import"), args, { env: { ...env, FT_PG_BIN: slowDump }, stdio: ["pipe", "pipe", "pipe"] });
    let stderr = "";
    const exited = new Promise<number | null>((resolve) => child.on("close", (code) => resolve(code)));
    child.stdout.resume();
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.stdin.end(cred());
    for (let i = 0; i < 600 && !fs.existsSync(began); i++) await new Promise((r) => setTimeout(r, 100));
    assert.ok(fs.existsSync(began), `the first backup's dump never began:\n${stderr}`);
    child.kill("SIGTERM");
    fs.writeFileSync(go, "");
    assert.equal(await exited, 143, stderr);
    assert.match(stderr, /failed after this side's app started: this side serves the copied data; the other side stays frozen\. Run pulumi up again/);
    assert.equal(JSON.parse(fs.readFileSync(state("move-served.json"), "utf8")).from, "aws");
    // This side serves and takes writes.
    await newDb("INSERT INTO readings (sensor, c) SELECT 1, 9 FROM generate_series(1, 7) g");
    const readingsHere = await count("frostguard", "readings");

    clearLogs();
    const again = await importCmd(args, cred());
    assert.equal(again.code, 0, again.stderr);
    const report = JSON.parse(again.stdout.trim());
    assert.deepEqual([report.ok, report.app], [true, "started"], again.stdout);
    assert.match(again.stderr, /finishing, no new import/);
    assert.equal(await count("frostguard", "readings"), readingsHere, "the writes this side took since are kept");
    assert.doesNotMatch(calls(), /^(stop|start) new-/m, "the app neither stopped nor started again");
    assert.equal(awsSaw.length, 0, "nothing read from the aws side");
    assert.equal(
      JSON.parse(fs.readFileSync(state("move-served.json"), "utf8")).final.ok,
      true,
      "kept, now with its report: a third run imports nothing either",
    );
    assert.ok(fs.existsSync(state("move-took-over")), "this side took over: a rollback pushes its writes back");
    // The deploying machine's undo reads an ok line: nothing to undo.
    assert.equal(JSON.parse(undoOf(again.stdout.trim()).stdout.trim()).undone, false);
    assertKeyNowhere(again);
  });
  it("--take-back run again after its copy back served (the mark of a take-back, not of a cutover): no new import, the holder goes, copied back", async () => {
    await handedOver();
    assert.equal((await exportCmd(["--take-back"])).code, 0);
    const frozeAt = Math.floor(Date.now() / 1000) - 4;
    await writeExport({ freezeStarted: frozeAt });
    // A cutover's mark is not this step's: it is not resumed from (the import runs as usual).
    fs.writeFileSync(state("move-served.json"), JSON.stringify({ from: "aws", report: { ok: true } }));
    const args = ["--from-s3", "--start-app", "--take-back", "--report-failure", "--export-of", String(frozeAt)];
    const first = await importCmd(args, cred());
    assert.equal(first.code, 0, first.stderr);
    assert.doesNotMatch(first.stderr, /no new import/);
    assert.equal(JSON.parse(first.stdout.trim()).copied_back, true);
    // As a copy back that served and then failed leaves it: handed over no more, the holder still running.
    await handedOver();
    fs.rmSync(state("move-concluded"));
    fs.writeFileSync(state("move-hold", "target.json"), JSON.stringify({ url: "https://caddy:443", ca: null }));
    fs.writeFileSync(state("move-served.json"), JSON.stringify({ from: "aws:take-back", report: JSON.parse(first.stdout.trim()) }));
    await newDb("INSERT INTO readings (sensor, c) SELECT 1, 8 FROM generate_series(1, 5) g");
    const readingsHere = await count("frostguard", "readings");
    clearLogs();
    const again = await importCmd(args, cred());
    assert.equal(again.code, 0, again.stderr);
    const report = JSON.parse(again.stdout.trim());
    assert.deepEqual([report.ok, report.copied_back], [true, true], again.stdout);
    assert.match(again.stderr, /no new import/);
    assert.equal(await count("frostguard", "readings"), readingsHere);
    assert.ok(!holding(), "the holder goes");
    assert.equal(JSON.parse(fs.readFileSync(state("move-served.json"), "utf8")).from, "aws:take-back", "kept: run again, it imports nothing");
  });
});
