// bin/move-export --push-s3 and --conclude (the old host's side of a move to aws) from a
// RENDERED vm release (renderBundle), against a REAL PostgreSQL 15 (the old side's database),
// a REAL S3-compatible server (s3rver) as the old side's object store, and a second s3rver
// over HTTPS (a test CA) standing in for AWS S3 with the new side's BACKUPS and ASSETS buckets,
// with the host's rclone. Seams: FT_PG_BIN and FT_RCLONE=host (as bin/move's test), the
// endpoints in release.json .database, FT_MOVE_S3_ENDPOINT (the AWS stand-in, path style;
// rclone trusts its CA through SSL_CERT_FILE), a stubbed docker (logs its calls; `docker ps`
// answers container ids), and an rclone wrapper on PATH that logs every invocation's
// arguments and environment before running the real rclone. s3rver does not encrypt: what
// is checked is the SSE-KMS headers each upload request carries.
import { strict as assert } from "assert";
import * as crypto from "crypto";
import * as fs from "fs";
import * as http from "http";
import * as os from "os";
import * as path from "path";
import { spawnSync } from "child_process";
import { Client } from "pg";
import { moveFreezeForecastScript, ONTO_AWS_FORECAST } from "../../components/aws/move-forecast";
import { run, RunResult, STATEFUL_DOCKER_SCRIPT, stubDocker, writeSecret } from "../fixtures/bin/harness";
import { auditLines, installRelease, pointAtTestStores, renderedVmRelease } from "../fixtures/move-release";
import { createDatabase, PG15_BIN as PG_BIN, PgCluster, postgresOwnedDir, startPgCluster } from "../fixtures/pg-cluster";
import { addS3rverKey, RCLONE_BASE_ENV, s3rverRcloneConf, S3Standin, startS3rver } from "../fixtures/s3-standin";
import { issueServerCert, makeTestCa } from "../fixtures/test-ca";

const ADMIN_PW = "adm-" + crypto.randomBytes(8).toString("hex");
const BACKUP_KEY = crypto.randomBytes(32).toString("base64");
const SALT = "SALTVALUE" + crypto.randomBytes(8).toString("hex");
const JWT = "JWTVALUE" + crypto.randomBytes(8).toString("hex");
const REDIS_PW = "REDISPW" + crypto.randomBytes(8).toString("hex");
// The new side's push user (registered with the AWS stand-in below).
const AWS_KEY_ID = "AKIA" + crypto.randomBytes(8).toString("hex").toUpperCase();
const AWS_SECRET = crypto.randomBytes(30).toString("base64");
const KMS_ARN = "arn:aws:kms:eu-central-1:123456789012:key/0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b";
const BACKUPS = "ft-aws-backups";
const ASSETS = "ft-aws-assets";
const CONTRACT_FILES = [
  "move/db.dump",
  "move/manifest.json",
  "move/objects.txt",
  "move/queue.redis",
  "move/queue.txt",
  "move/secrets.txt",
  "move/sequences.txt",
  "move/tables.txt",
];
const ALB = "freshtrack-alb-1234567890.eu-central-1.elb.amazonaws.com";

interface SeenRequest {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
}

describe("tools: bin/move-export --push-s3 / --conclude (old host -> aws) on a real PostgreSQL + S3 stand-ins", function () {
  this.timeout(240000);
  let root: string;
  let appDir: string;
  let pgCluster: PgCluster | undefined;
  let pgPort: number;
  let oldS3: S3Standin | undefined;
  let awsS3: S3Standin | undefined;
  let awsPort: number;
  let oldConf: string;
  let awsConf: string;
  let env: NodeJS.ProcessEnv;
  let dockerLog: string;
  let rcloneLog: string;
  /** Every request the AWS stand-in received (method, path, headers). */
  const awsSaw: SeenRequest[] = [];

  const pg = async (sql: string) => {
    const c = new Client({ host: "127.0.0.1", port: pgPort, user: "postgres", password: ADMIN_PW, database: "frostguard" });
    await c.connect();
    try {
      return (await c.query(sql)).rows;
    } finally {
      await c.end();
    }
  };
  const exportCmd = (args: string[], input: string, extra: NodeJS.ProcessEnv = {}) =>
    run(path.join(appDir, "current", "bin", "move-export"), args, { env: { ...env, ...extra }, input, timeoutMs: 120000 });
  /** The test's own view of the stand-ins (real rclone, not the wrapper, own config). */
  const rcloneAs = (conf: string, args: string[]) => run("/usr/bin/rclone", ["--config", conf, ...args], { env });
  const cred = (over: Record<string, unknown> = {}) =>
    JSON.stringify({
      access_key_id: AWS_KEY_ID,
      secret_access_key: AWS_SECRET,
      region: "eu-central-1",
      backups_bucket: BACKUPS,
      assets_bucket: ASSETS,
      kms_key_arn: KMS_ARN,
      ...over,
    });
  const filesUnder = (dir: string): string[] =>
    fs.readdirSync(dir, { recursive: true, encoding: "utf8" }).filter((f) => fs.statSync(path.join(dir, f)).isFile());
  /** The secret access key, by value: in no output, log, audit line, argument, environment or file left behind. */
  const assertKeyNowhere = (r: RunResult) => {
    assert.ok(!(r.stdout + r.stderr).includes(AWS_SECRET), "the secret access key was printed");
    assert.ok(!fs.readFileSync(dockerLog, "utf8").includes(AWS_SECRET), "the secret access key reached docker");
    const calls = fs.readFileSync(rcloneLog, "utf8");
    assert.ok(!calls.includes(AWS_SECRET), "the secret access key was in rclone's arguments or environment");
    for (const f of filesUnder(appDir)) {
      if (fs.statSync(path.join(appDir, f)).size > 50_000_000) continue;
      assert.ok(!fs.readFileSync(path.join(appDir, f), "utf8").includes(AWS_SECRET), `the secret access key is left in ${f}`);
    }
    assert.deepEqual(
      fs.readdirSync(path.join(appDir, "state", "tmp")).filter((d) => d.startsWith("move-export")),
      [],
      "the work directory (with the rclone config) is gone",
    );
  };
  /** Keys (and bytes) of a bucket through a test config. */
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

  before(async () => {
    const files = renderedVmRelease();
    assert.ok(files["bin/move-export"], "the rendered release ships bin/move-export");
    root = fs.mkdtempSync(path.join(os.tmpdir(), "ft-move-push-"));
    fs.chmodSync(root, 0o755);
    let rel: string;
    ({ appDir, rel } = installRelease(root, files));

    const pgDir = path.join(root, "pg");
    const pwFile = await postgresOwnedDir(pgDir, ADMIN_PW);
    pgCluster = await startPgCluster({ user: "postgres", socketDir: pgDir, dataDir: `${pgDir}/data`, logFile: `${pgDir}/log`, pwFile });
    pgPort = pgCluster.port;
    await createDatabase(pgPort, ADMIN_PW, "frostguard");

    // The old side's object store (plain HTTP, as bin-move.test.ts) and the AWS stand-in (HTTPS, test CA).
    oldS3 = await startS3rver({ directory: path.join(root, "s3-old"), buckets: ["frostguard-assets", "frostguard-backups"] });
    const tls = path.join(root, "tls");
    const ca = makeTestCa(tls, "ft-aws-stand-in-ca");
    const server = issueServerCert(ca, tls, ["localhost"], "aws");
    // The push user's key, known to the stand-in.
    addS3rverKey(AWS_KEY_ID, AWS_SECRET);
    awsS3 = await startS3rver({ directory: path.join(root, "s3-aws"), buckets: [BACKUPS, ASSETS], tls: server });
    awsPort = awsS3.port;
    awsS3.httpServer.prependListener("request", (req: http.IncomingMessage) =>
      awsSaw.push({ method: req.method ?? "", url: decodeURIComponent(req.url ?? ""), headers: req.headers }),
    );

    const stores = pointAtTestStores(appDir, rel, { pgPort, adminPassword: ADMIN_PW, backupKey: BACKUP_KEY, s3Port: oldS3.port });
    const relJson = stores.relJson;
    oldConf = stores.rcloneConf;
    writeSecret(appDir, "app/TTN_ENCRYPTION_SALT", SALT);
    writeSecret(appDir, "app/JWT_SECRET", JWT);
    writeSecret(appDir, "redis/password", REDIS_PW);
    // The test's own view of the AWS stand-in (its built-in key, not the push user's).
    awsConf = path.join(root, "aws-test.conf");
    fs.writeFileSync(awsConf, s3rverRcloneConf(["aws"], `https://localhost:${awsPort}`, "eu-central-1"));

    // Old side's data: a table with a sequence gap, one with an unused sequence, another schema.
    await pg(
      "CREATE TABLE sensors (id serial PRIMARY KEY, name text); CREATE TABLE readings (id bigserial PRIMARY KEY, sensor int REFERENCES sensors, c numeric);" +
        'CREATE SCHEMA audit; CREATE TABLE audit."Events" (id int); CREATE SEQUENCE audit.unused_seq START 42',
    );
    await pg("INSERT INTO sensors (name) SELECT 'fridge-' || g FROM generate_series(1, 5) g");
    await pg("INSERT INTO readings (sensor, c) SELECT 1 + g % 5, g / 10.0 FROM generate_series(1, 3000) g");
    await pg("INSERT INTO readings (sensor, c) SELECT 1, 0 FROM generate_series(1, 70) g; DELETE FROM readings WHERE id > 3000");
    await pg('INSERT INTO audit."Events" SELECT g FROM generate_series(1, 7) g');

    const stubDir = stubDocker(path.join(root, "stub"));
    // rclone wrapper: logs each call's arguments, environment and the mode of its config file
    // and of that file's directory, then runs the real rclone.
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
    dockerLog = path.join(root, "docker.log");
    fs.writeFileSync(dockerLog, "");
    fs.writeFileSync(rcloneLog, "");
    env = {
      ...RCLONE_BASE_ENV,
      PATH: `${stubDir}:${PG_BIN}:${process.env.PATH}`,
      FT_PG_BIN: PG_BIN,
      FT_RCLONE: "host",
      FT_RCLONE_LOG: rcloneLog,
      FT_MOVE_S3_ENDPOINT: `https://localhost:${awsPort}`,
      // Go (rclone) trusts exactly this CA: the stand-in's.
      SSL_CERT_FILE: ca.cert,
      FT_STUB_LOG: dockerLog,
      FT_STUB_SIDE: "old",
      FT_MOVE_SETTLE_SECONDS: "0",
      FT_PROXY_SETTLE_SECONDS: "0",
      // The stateful docker stand-in (as bin-move.test.ts), this side "old".
      FT_STUB_STOPPED: path.join(root, "stopped"),
      FT_STUB_SCRIPT: STATEFUL_DOCKER_SCRIPT,
      // This side's redis (the stand-in's key counts "KEYS EXPIRES"): its queue stays here.
      FT_STUB_REDIS_DIR: path.join(root, "redis"),
    };
    fs.mkdirSync(path.join(root, "redis", "old", "appendonlydir"), { recursive: true });
    fs.writeFileSync(path.join(root, "redis", "old", "appendonlydir", "keys"), "4 1");
    const remote = relJson.backup.store_remote || relJson.backup.remote;
    for (const [i, body] of ["first upload", "y".repeat(70000), "third"].entries()) {
      const f = path.join(root, `obj${i}`);
      fs.writeFileSync(f, body);
      assert.equal((await rcloneAs(oldConf, ["copyto", f, `${remote}:frostguard-assets/org-${i}/photos/u${i}.bin`])).code, 0);
    }
    // Something the new assets bucket holds that the old one does not: the sync removes it.
    fs.writeFileSync(path.join(root, "stale"), "stale");
    assert.equal((await rcloneAs(awsConf, ["copyto", path.join(root, "stale"), `aws:${ASSETS}/stale/left-over.bin`])).code, 0);
  });

  after(async () => {
    await oldS3?.close().catch(() => undefined);
    await awsS3?.close().catch(() => undefined);
    await pgCluster?.stop();
    fs.rmSync(root, { recursive: true, force: true });
  });

  it("--push-s3 uploads exactly the contract's files (SSE-KMS), their texts equal the live database, the assets bucket equals the uploads", async () => {
    awsSaw.length = 0;
    fs.writeFileSync(dockerLog, "");
    fs.writeFileSync(rcloneLog, "");
    const r = await exportCmd(["--push-s3"], cred());
    assert.equal(r.code, 0, r.stderr);
    // The job queue travels key by key (the stand-in's redis answers the dump with a RESTORE per key).
    assert.match(r.stderr, /job queue: 4 keys, 1 of them with a TTL \(\d+ bytes\)/);
    assert.ok(!r.stderr.includes(REDIS_PW) && !fs.readFileSync(dockerLog, "utf8").includes(REDIS_PW), "redis's password in no output and no docker argument");
    /** What the push sent (before the test's own reads below). */
    const saw = [...awsSaw];
    assert.equal((await rcloneAs(awsConf, ["cat", `aws:${BACKUPS}/move/queue.txt`])).stdout, "4 1 false\n", "a prepare's copy: not frozen");
    const restores = (await rcloneAs(awsConf, ["cat", `aws:${BACKUPS}/move/queue.redis`])).stdout.trim().split("\n");
    assert.deepEqual(restores, ['RESTORE "\\x6b0" 60000 "\\x00" REPLACE', ...[1, 2, 3].map((i) => `RESTORE "\\x6b${i}" 0 "\\x00" REPLACE`)]);

    // Exactly the contract's objects under the backups bucket.
    const pushed = await bucketFiles(awsConf, `aws:${BACKUPS}`);
    assert.deepEqual([...pushed.keys()].sort(), CONTRACT_FILES);
    const text = (k: string) => pushed.get(k)!.toString("utf8");

    // tables.txt: `schema.table rows`, LC_ALL=C sorted, computed here from the live database.
    const tables = await pg("SELECT format('%I.%I', schemaname, tablename) AS n FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema')");
    const tableLines: string[] = [];
    for (const { n } of tables) tableLines.push(`${n} ${(await pg(`SELECT count(*)::text AS c FROM ${n}`))[0].c}`);
    const cSort = (a: string[]) => [...a].sort((x, y) => (Buffer.from(x) < Buffer.from(y) ? -1 : Buffer.from(x) > Buffer.from(y) ? 1 : 0));
    assert.equal(text("move/tables.txt"), cSort(tableLines).join("\n") + "\n");
    assert.match(text("move/tables.txt"), /^audit\."Events" 7$/m, "a quoted name as format('%I.%I') prints it");
    assert.match(text("move/tables.txt"), /^public\.readings 3000$/m);
    // sequences.txt: `schema.seq last_value is_called`.
    const seqs = await pg(
      "SELECT format('%I.%I', schemaname, sequencename) || ' ' || coalesce(last_value, start_value) || ' ' || (last_value IS NOT NULL)::text AS l FROM pg_sequences",
    );
    assert.equal(text("move/sequences.txt"), cSort(seqs.map((s) => s.l as string)).join("\n") + "\n");
    assert.match(text("move/sequences.txt"), /^public\.readings_id_seq 3070 true$/m, "the gap: the sequence is past the rows");
    assert.match(text("move/sequences.txt"), /^audit\.unused_seq 42 false$/m);
    // objects.txt: the old uploads bucket, measured here.
    const old = await bucketFiles(oldConf, "backups:frostguard-assets");
    assert.equal(old.size, 3);
    const oldBytes = [...old.values()].reduce((s, b) => s + b.length, 0);
    assert.equal(text("move/objects.txt"), `3 ${oldBytes}\n`);
    // secrets.txt: sha256 of the secret files' contents.
    const sha = (v: string) => crypto.createHash("sha256").update(v).digest("hex");
    assert.equal(text("move/secrets.txt"), `jwt_secret_sha256 ${sha(JWT)}\nttn_encryption_salt_sha256 ${sha(SALT)}\n`);
    // db.dump: a custom-format dump of the app database.
    fs.writeFileSync(path.join(root, "pushed.dump"), pushed.get("move/db.dump")!);
    const list = await run(`${PG_BIN}/pg_restore`, ["--list", path.join(root, "pushed.dump")]);
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, /TABLE DATA public readings/);
    // manifest.json: the last stdout line, the same as the uploaded one (with the push's own time
    // added on stdout: the cutover's freeze forecast reads it); counts from the dump.
    const lines = r.stdout.trim().split("\n");
    const { seconds, ...manifest } = JSON.parse(lines[lines.length - 1]);
    assert.deepEqual(JSON.parse(text("move/manifest.json")), manifest);
    assert.ok(Number.isInteger(seconds) && seconds >= 0 && seconds < 120, String(seconds));
    // The forecast step (deploying machine) fed this very line and an import task's run line:
    // the push's seconds count, at the limit it goes on, a second over it is refused.
    const forecast = (max: number) =>
      spawnSync("bash", ["-c", moveFreezeForecastScript(ONTO_AWS_FORECAST)], {
        encoding: "utf8",
        env: {
          PATH: process.env.PATH,
          PUSH_LINE: lines[lines.length - 1],
          IMPORT_LINE: '{"task": "arn:task/1", "exit": 0, "seconds": 200, "import": {"ok": true}, "ok": true}',
          SETTLE_SECONDS: "0",
          MAX_FREEZE: String(max),
        },
      });
    const at = forecast(200 + seconds);
    assert.equal(at.status, 0, at.stderr);
    assert.deepEqual(JSON.parse(at.stdout.trim()), {
      forecast_seconds: 200 + seconds,
      push_seconds: seconds,
      import_seconds: 200,
      settle_seconds: 0,
      limit: 200 + seconds,
    });
    assert.match(at.stderr, /plus the old app's stop and the start of aws's backend and worker/);
    const over = forecast(199 + seconds);
    assert.equal(over.status, 1);
    assert.match(over.stderr, /cutover refused, nothing frozen or changed: .*the old host's push \d+ s, the prepare's import task 200 s/);
    assert.ok(over.stderr.includes(`pulumi up --replace "$(pulumi stack --show-urns | grep -o 'urn:[^ ]*::move-push')"`), over.stderr);
    assert.equal(manifest.tables["public.readings"], 3000);
    assert.deepEqual(manifest.objects, { count: 3, bytes: oldBytes });
    assert.equal(manifest.freeze_started, null);

    // The assets bucket: the same keys and bytes as the old uploads bucket (the stale object gone).
    const assets = await bucketFiles(awsConf, `aws:${ASSETS}`);
    assert.deepEqual([...assets.keys()].sort(), [...old.keys()].sort());
    for (const [k, b] of old) assert.ok(assets.get(k)!.equals(b), `${k} differs`);

    // Every upload to the backups bucket asks for SSE-KMS with the stack's key; the manifest is the last one.
    const puts = saw.filter((q) => (q.method === "PUT" || q.method === "POST") && q.url.startsWith(`/${BACKUPS}/`));
    assert.deepEqual([...new Set(puts.map((q) => q.url.replace(/\?.*$/, "").slice(BACKUPS.length + 2)))].sort(), CONTRACT_FILES);
    for (const q of puts) {
      assert.equal(q.headers["x-amz-server-side-encryption"], "aws:kms", `${q.method} ${q.url} without SSE-KMS`);
      assert.equal(q.headers["x-amz-server-side-encryption-aws-kms-key-id"], KMS_ARN, `${q.method} ${q.url} with another key`);
    }
    assert.match(puts[puts.length - 1].url, new RegExp(`^/${BACKUPS}/move/manifest\\.json`), "manifest.json is written last");
    // The dump first, then the uploads, then the texts (the contract's order).
    const firstAssetPut = saw.findIndex((q) => q.method === "PUT" && q.url.startsWith(`/${ASSETS}/`));
    assert.ok(firstAssetPut > saw.findIndex((q) => q.method === "PUT" && q.url.startsWith(`/${BACKUPS}/move/db.dump`)));
    assert.ok(firstAssetPut < saw.findIndex((q) => q.method === "PUT" && q.url.startsWith(`/${BACKUPS}/move/tables.txt`)));
    // The assets bucket keeps its own default encryption (the app may not use the backups key).
    for (const q of saw.filter((x) => x.method === "PUT" && x.url.startsWith(`/${ASSETS}/`))) {
      assert.equal(q.headers["x-amz-server-side-encryption"], undefined, `${q.url} asked for SSE`);
    }
    // Only the push user's key was used, over TLS.
    assert.ok(saw.length > 0 && saw.every((q) => String(q.headers.authorization ?? "").includes(`Credential=${AWS_KEY_ID}/`)));

    // The key was only in the 0600 config inside the 0700 work directory, which is gone.
    const confLines = fs.readFileSync(rcloneLog, "utf8").match(/^CONF .*$/gm) ?? [];
    assert.ok(confLines.length >= 4, "rclone ran with a --config");
    for (const l of confLines) {
      const [, mode, dirMode, file] = l.split(" ");
      assert.equal(mode, "600", l);
      assert.equal(dirMode, "700", l);
      assert.match(file, /\/state\/tmp\/move-export\.[^/]+\/rclone\.conf$/);
      assert.ok(!fs.existsSync(file), `${file} is left behind`);
    }
    assertKeyNowhere(r);
    for (const v of [ADMIN_PW, BACKUP_KEY, SALT, JWT]) assert.ok(!r.stdout.includes(v) && !r.stderr.includes(v), "a secret value was printed");
    const audit = auditLines(appDir).filter((a) => a.action === "move-export");
    assert.deepEqual(
      { result: audit[audit.length - 1].result, push: audit[audit.length - 1].push, freeze: audit[audit.length - 1].freeze },
      { result: "success", push: true, freeze: false },
    );
    assert.doesNotMatch(fs.readFileSync(dockerLog, "utf8"), /^stop /m, "no freeze without --freeze");
  });

  it("--push-s3 with a bad credential fails before anything is frozen or uploaded, naming the fields (never their values)", async () => {
    fs.writeFileSync(dockerLog, "");
    awsSaw.length = 0;
    const notJson = await exportCmd(["--push-s3", "--freeze"], "access_key_id=" + AWS_KEY_ID);
    assert.equal(notJson.code, 1);
    assert.match(notJson.stderr, /stdin is not one JSON object: pipe the push credential/);
    const badSecret = "short\nsecret_access_key = injected";
    const bad = await exportCmd(["--push-s3", "--freeze"], cred({ secret_access_key: badSecret, backups_bucket: "Not_A_Bucket", kms_key_arn: undefined }));
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /missing or malformed fields: secret_access_key, backups_bucket, kms_key_arn \(/);
    assert.ok(!bad.stderr.includes("injected") && !bad.stderr.includes(AWS_SECRET));
    const badRegion = await exportCmd(["--push-s3"], cred({ assets_region: "us east" }));
    assert.equal(badRegion.code, 1);
    assert.match(badRegion.stderr, /malformed fields: assets_region \(/);
    assert.doesNotMatch(fs.readFileSync(dockerLog, "utf8"), /^(stop|run -d) /m, "nothing frozen");
    assert.equal(awsSaw.length, 0, "nothing sent to S3");
    assert.ok(!fs.existsSync(path.join(appDir, "state", "proxy", "move.forward")));
    assertKeyNowhere(bad);
  });

  it("--push-s3 --freeze that S3 refuses (a key IAM has not caught up with, a bucket it may not list): tried for 60 s, then refused with nothing frozen or pushed", async () => {
    fs.writeFileSync(dockerLog, "");
    fs.writeFileSync(rcloneLog, "");
    awsSaw.length = 0;
    // sleep returns at once: the 12 tries take no minute here.
    const noWait = path.join(root, "no-wait");
    fs.mkdirSync(noWait, { recursive: true });
    fs.writeFileSync(path.join(noWait, "sleep"), "#!/bin/sh\nexit 0\n", { mode: 0o755 });
    // The stand-in checks no signature: a bucket it does not have stands for S3's refusal.
    const r = await exportCmd(["--push-s3", "--freeze"], cred({ assets_bucket: "not-listable-here" }), { PATH: `${noWait}:${env.PATH}` });
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /the push key is not accepted yet \(a new key takes some seconds\): trying again in 5 s/);
    assert.match(r.stderr, /the push key cannot list not-listable-here after 60 s: nothing frozen or pushed/);
    assert.equal((fs.readFileSync(rcloneLog, "utf8").match(/^ARGS .*\blsf --max-depth 1 /gm) ?? []).length, 12, "12 tries");
    assert.doesNotMatch(fs.readFileSync(dockerLog, "utf8"), /^(stop|run -d) /m, "nothing frozen");
    assert.ok(awsSaw.length > 0 && awsSaw.every((q) => q.method === "GET"), "S3 was asked, nothing written");
    assert.ok(!fs.existsSync(path.join(appDir, "state", "proxy", "move.forward")));
    assertKeyNowhere(r);
  });

  it("--push-s3 --freeze: the freeze first, freeze_started in the manifest; --conclude with ok:false ends the freeze and exits 1", async () => {
    await pg("INSERT INTO readings (sensor, c) SELECT 2, 1 FROM generate_series(1, 30) g");
    fs.writeFileSync(dockerLog, "");
    const r = await exportCmd(["--push-s3", "--freeze"], cred());
    assert.equal(r.code, 0, r.stderr);
    const manifest = JSON.parse(r.stdout.trim().split("\n").pop()!);
    assert.equal(typeof manifest.freeze_started, "number");
    assert.equal(typeof manifest.app_stop_seconds, "number", "how long the old app took to stop");
    assert.equal(manifest.tables["public.readings"], 3030);
    assert.deepEqual(manifest.queue, { keys: 4, expires: 1, frozen: true }, "copied after the freeze");
    assert.equal((await rcloneAs(awsConf, ["cat", `aws:${BACKUPS}/move/queue.txt`])).stdout, "4 1 true\n");
    let calls = fs.readFileSync(dockerLog, "utf8");
    assert.match(calls, /^run -d --name freshtrack-move-hold /m, "the holder started");
    assert.match(calls, /^stop old-backend old-worker$/m, "the writers stopped");
    assert.doesNotMatch(calls, /^start /m, "a successful push leaves the freeze in place");
    // The freeze's start, for the conclude to measure the freeze.
    assert.equal(Math.floor(Number(fs.readFileSync(path.join(appDir, "state", "move-freeze-started"), "utf8"))), Math.floor(manifest.freeze_started));
    assert.ok(fs.existsSync(path.join(appDir, "state", "proxy", "move.forward")));
    const tablesTxt = (await rcloneAs(awsConf, ["cat", `aws:${BACKUPS}/move/tables.txt`])).stdout;
    assert.match(tablesTxt, /^public\.readings 3030$/m, "the final copy has the rows written since the first");
    // The same push run again under that freeze (pulumi up after a cut connection): the freeze
    // it measures is still the first one's.
    const again = await exportCmd(["--push-s3", "--freeze"], cred());
    assert.equal(again.code, 0, again.stderr);
    assert.equal(JSON.parse(again.stdout.trim().split("\n").pop()!).freeze_started, manifest.freeze_started);
    assert.match(again.stderr, /write freeze: under way since \d\d:\d\d:\d\d \(an earlier push began it\)/);
    assert.equal(Math.floor(Number(fs.readFileSync(path.join(appDir, "state", "move-freeze-started"), "utf8"))), Math.floor(manifest.freeze_started));

    fs.writeFileSync(dockerLog, "");
    fs.writeFileSync(path.join(appDir, "state", "move-new-side"), "203.0.113.77\n");
    const report = { ok: false, tables_equal: false, tables: { "public.readings": [3030, 3029] } };
    const c = await exportCmd(["--conclude", ALB], JSON.stringify(report));
    assert.equal(c.code, 1);
    assert.equal(c.stdout, "");
    assert.ok(!fs.existsSync(path.join(appDir, "state", "move-freeze-started")), "the freeze ended: nothing left to measure");
    assert.ok(c.stderr.includes(JSON.stringify(report)), "the report is shown");
    assert.match(
      c.stderr,
      /this side serves again \(freeze ended\)\. Fix the cause the report shows, then try the cutover again from its push: pulumi up --replace .*::move-cutover-push/,
    );
    // The rollback of a move off aws concludes with --back: its new attempt starts from its own push.
    const back = await exportCmd(["--conclude", ALB, "--back"], JSON.stringify(report));
    assert.equal(back.code, 1);
    assert.match(back.stderr, /try the rollback again from its push: pulumi up --replace .*::move-push-back'\)" \(a plain pulumi up repeats only this step/);
    assert.equal((await exportCmd(["--conclude", ALB, "--now"], JSON.stringify(report))).code, 64);
    calls = fs.readFileSync(dockerLog, "utf8");
    assert.match(calls, /^start old-backend old-worker$/m, "backend and worker started again");
    assert.match(calls, /^rm -f old-hold$/m, "the holder removed");
    assert.ok(!fs.existsSync(path.join(appDir, "state", "proxy", "move.forward")), "Caddy routes locally again");
    assert.ok(!fs.existsSync(path.join(appDir, "state", "move-frozen-app")));
    assert.notEqual(fs.readFileSync(path.join(appDir, "state", "move-new-side"), "utf8").trim(), ALB, "no new side recorded");
    const last = auditLines(appDir)
      .filter((a) => a.action === "move-conclude")
      .pop()!;
    assert.deepEqual({ result: last.result, ok: last.ok, unfrozen: last.unfrozen }, { result: "failure", ok: false, unfrozen: true });
  });

  it("--push-s3 --freeze whose upload fails ends the freeze on exit: this side serves again", async () => {
    fs.writeFileSync(dockerLog, "");
    fs.writeFileSync(rcloneLog, "");
    const r = await exportCmd(["--push-s3", "--freeze"], cred({ backups_bucket: "no-such-bucket-here" }));
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /uploading queue\.redis and queue\.txt to no-such-bucket-here\/move\/ failed/);
    assert.match(r.stderr, /the push failed after the write freeze began: ending it/);
    assert.equal(r.stdout, "", "no manifest printed");
    const calls = fs.readFileSync(dockerLog, "utf8");
    assert.ok(calls.search(/^stop old-backend old-worker$/m) >= 0, "the freeze had begun");
    assert.ok(calls.search(/^start old-backend old-worker$/m) > calls.search(/^stop old-backend old-worker$/m), "backend and worker started again");
    assert.match(calls, /^rm -f old-hold$/m, "the holder removed");
    assert.ok(!fs.existsSync(path.join(appDir, "state", "proxy", "move.forward")), "Caddy routes locally again");
    assert.ok(!fs.existsSync(path.join(appDir, "state", "move-frozen-app")));
    const audit = auditLines(appDir);
    const exp = audit.filter((a) => a.action === "move-export").pop()!;
    assert.deepEqual({ result: exp.result, push: exp.push, freeze: exp.freeze }, { result: "failure", push: true, freeze: true });
    assert.equal(audit.filter((a) => a.action === "move-unfreeze").pop()?.result, "success");
    assertKeyNowhere(r);
  });

  it("--conclude ADDRESS with ok:true records the address and sends the holder's requests to https://ADDRESS:443 (system CAs)", async () => {
    // A running holder (the stand-in lists it) and a CA an earlier internal-TLS move stored.
    fs.writeFileSync(path.join(root, "stopped.hold-old"), "");
    fs.mkdirSync(path.join(appDir, "state", "move-hold"), { recursive: true });
    fs.writeFileSync(path.join(appDir, "state", "move-new-side-ca.pem"), "old CA\n");
    fs.writeFileSync(dockerLog, "");
    const report = { ok: true, tables_equal: true, tables: { "public.readings": [3030, 3030] } };
    const bad = await exportCmd(["--conclude", "x;rm -rf /"], JSON.stringify(report));
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /is not a host address/);
    // A freeze that began 42.5 s ago (as --push-s3 --freeze records it): the conclude ends it.
    fs.writeFileSync(path.join(appDir, "state", "move-freeze-started"), `${(Date.now() / 1000 - 42.5).toFixed(9)}\n`);
    const r = await exportCmd(["--conclude", ALB], JSON.stringify(report) + "\n");
    assert.equal(r.code, 0, r.stderr);
    const { freeze_seconds, ...carried } = JSON.parse(r.stdout);
    assert.deepEqual(carried, report);
    assert.ok(freeze_seconds >= 42.5 && freeze_seconds < 60, String(freeze_seconds));
    assert.ok(!fs.existsSync(path.join(appDir, "state", "move-freeze-started")));
    assert.equal(r.stdout.trim().split("\n").length, 1, "one line: the report");
    assert.equal(fs.readFileSync(path.join(appDir, "state", "move-new-side"), "utf8"), `${ALB}\n`);
    assert.deepEqual(JSON.parse(fs.readFileSync(path.join(appDir, "state", "move-hold", "target.json"), "utf8")), { url: `https://${ALB}:443`, ca: null });
    assert.ok(!fs.existsSync(path.join(appDir, "state", "move-new-side-ca.pem")), "no stale internal CA for the load balancer");
    assert.doesNotMatch(fs.readFileSync(dockerLog, "utf8"), /^(start|stop|rm) /m, "the new side serves: nothing of the freeze undone");
    const last = auditLines(appDir)
      .filter((a) => a.action === "move-conclude")
      .pop()!;
    assert.deepEqual(
      { result: last.result, ok: last.ok, to: last.to, freeze: last.freeze_seconds },
      { result: "success", ok: true, to: ALB, freeze: freeze_seconds },
    );
    // The same conclude run again (pulumi up after a cut connection): the freeze it ended, again.
    const again = await exportCmd(["--conclude", ALB], JSON.stringify(report) + "\n");
    assert.equal(again.code, 0, again.stderr);
    assert.equal(JSON.parse(again.stdout).freeze_seconds, freeze_seconds);
  });

  it("after a conclude with ok:true every push is refused (it would overwrite the new side's newer writes) until --unfreeze", async () => {
    assert.equal(fs.readFileSync(path.join(appDir, "state", "move-concluded"), "utf8"), `${ALB}\n`, "left by the ok conclude before");
    fs.writeFileSync(dockerLog, "");
    for (const args of [["--push-s3"], ["--push-s3", "--freeze"]]) {
      const r = await exportCmd(args, cred());
      assert.equal(r.code, 1, args.join(" "));
      assert.match(r.stderr, new RegExp(`refused: this side handed over to ${ALB.replace(/\./g, "\\.")}`));
    }
    assert.doesNotMatch(fs.readFileSync(dockerLog, "utf8"), /^(stop|run) /m, "nothing frozen, no holder started");
    const u = await exportCmd(["--unfreeze"], "");
    assert.equal(u.code, 0, u.stderr);
    assert.ok(!fs.existsSync(path.join(appDir, "state", "move-concluded")), "this side serves again: it may push again");
    const again = await exportCmd(["--push-s3"], cred());
    assert.equal(again.code, 0, again.stderr);
  });

  it("--conclude with stdin that is not a report (no boolean ok) fails as not ok", async () => {
    fs.writeFileSync(dockerLog, "");
    for (const input of ["FRESHTRACK_MOVE_IMPORT garbage", JSON.stringify({ ok: "true" })]) {
      const r = await exportCmd(["--conclude", ALB], input);
      assert.equal(r.code, 1, input);
      assert.match(r.stderr, /stdin is not an import report \(a JSON object with a boolean ok\)/);
    }
  });
  it("--push-s3 --freeze --back (the new host of a move off aws, at a rollback): only when this side took over; otherwise nothing frozen or pushed; an ok conclude ends its having taken over", async () => {
    const tookOver = path.join(appDir, "state", "move-took-over");
    assert.ok(!fs.existsSync(path.join(appDir, "state", "move-concluded")));
    fs.rmSync(tookOver, { force: true });
    fs.writeFileSync(dockerLog, "");
    fs.writeFileSync(rcloneLog, "");
    const skipped = await exportCmd(["--push-s3", "--freeze", "--back"], cred());
    assert.equal(skipped.code, 0, skipped.stderr);
    assert.deepEqual(JSON.parse(skipped.stdout.trim()), { took_over: false });
    assert.match(skipped.stderr, /never took over from the aws side/);
    assert.doesNotMatch(fs.readFileSync(dockerLog, "utf8"), /^(stop|run) /m, "nothing frozen, no holder started");
    assert.equal(fs.readFileSync(rcloneLog, "utf8"), "", "nothing pushed");
    const bogus = await exportCmd(["--push-s3", "--bogus"], cred());
    assert.equal(bogus.code, 64);

    // As bin/move-import --from-s3 --start-app leaves it.
    fs.writeFileSync(tookOver, "2026-12-03T12:00:00Z\n");
    await pg("INSERT INTO readings (sensor, c) SELECT 4, 4 FROM generate_series(1, 11) g");
    const rows = Number((await pg("SELECT count(*)::int AS n FROM readings"))[0].n);
    const r = await exportCmd(["--push-s3", "--freeze", "--back"], cred());
    assert.equal(r.code, 0, r.stderr);
    const manifest = JSON.parse(r.stdout.trim().split("\n").pop()!);
    assert.equal(typeof manifest.freeze_started, "number", "pushed under the freeze");
    assert.equal(manifest.tables["public.readings"], rows);
    assert.match(fs.readFileSync(dockerLog, "utf8"), /^stop old-backend old-worker$/m);
    const tablesTxt = (await rcloneAs(awsConf, ["cat", `aws:${BACKUPS}/move/tables.txt`])).stdout;
    assert.match(tablesTxt, new RegExp(`^public\\.readings ${rows}$`, "m"));
    assertKeyNowhere(r);

    const c = await exportCmd(["--conclude", ALB], JSON.stringify({ ok: true }));
    assert.equal(c.code, 0, c.stderr);
    assert.ok(!fs.existsSync(tookOver), "handed back: nothing newer here to push back");
    assert.equal((await exportCmd(["--unfreeze"], "")).code, 0);
  });
});
