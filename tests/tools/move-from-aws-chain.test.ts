// A move from aws onto a host, chained from the REAL pieces with nothing hand-made in between:
// the aws move-export task's own containers (moveExportContainerDefinitions: the dump container's
// command and environment, DATABASE_URL as connection-urls.ts builds it, against an "old"
// TLS-only PostgreSQL 15 whose app role is not a superuser and owns the database; the upload
// container's command and environment, the task role replaced by rclone's AWS_* environment,
// virtual-host style through a forwarding proxy to an S3 stand-in (s3rver) holding the old side's
// backups bucket and its assets bucket), both run as nobody in busybox's sh/awk/sed/... when the
// host has busybox (as in the images); then the new host's `bin/move-import --from-s3` of a
// RENDERED vm release (renderBundle), the pull credential on stdin, reaching the SAME stand-in
// through the FT_MOVE_S3_ENDPOINT seam (path style) with the pull key, restoring into the host's
// own PostgreSQL 17 (the app role exists there, as db-setup makes it) and syncing into the host's
// own object store (a second s3rver). Seams as in bin-move-from-s3's test: FT_PG_BIN, FT_RCLONE=host,
// release.json's endpoints, the stateful docker stand-in.
// Proves: the report's four comparisons hold and the new side equals the old one row for row,
// sequence for sequence, object for object; rows written after the dump (before the upload)
// are in neither the export's texts nor the new database; the run step's freeze start
// (moveExportOverrides) becomes the report's freeze_seconds; an object added to the old
// assets bucket after the upload measured it fails the import and the app stays stopped.
import { strict as assert } from "assert";
import * as crypto from "crypto";
import * as fs from "fs";
import * as http from "http";
import * as os from "os";
import * as path from "path";
import { DB_NAME, DB_USER } from "../../core/naming";
import { renderSecretFiles } from "../../compose/secret-files";
import { databaseUrl, redisUrl } from "../../components/aws/connection-urls";
import {
  MOVE_EXPORT_CONTAINERS,
  MOVE_EXPORT_MARKER,
  MOVE_FREEZE_ENV,
  moveDumpScript,
  moveExportContainerDefinitions,
  moveExportOverrides,
  moveUploadScript,
} from "../../components/aws/move-export";
import { MOVE_OBJECTS, MOVE_PREFIX } from "../../components/aws/move-import";
import { exportOf } from "../../components/move/aws-export-run";
import { RDS_CA_ENV, RDS_CA_FILE } from "../../components/aws/rds-ca";
import { run, RunResult, STATEFUL_DOCKER_SCRIPT, stubDocker, writeSecret } from "../fixtures/bin/harness";
import { auditLines, installRelease, pointAtTestStores, renderedVmRelease, VM_RELEASE_BACKUPS_BUCKET } from "../fixtures/move-release";
import { asNobody as runAsNobody, chownToNobody as chownR, imageUserland, NOBODY, ScriptUserland } from "../fixtures/nobody";
import { PG15_BIN, PgCluster, postgresOwnedDir, startPgCluster } from "../fixtures/pg-cluster";
import { addS3rverKey, RCLONE_BASE_ENV, s3rverRcloneConf, S3Standin, startS3rver } from "../fixtures/s3-standin";
import { issueServerCert, makeTestCa } from "../fixtures/test-ca";
import { linkValkeyCli, RedisServer, startRedis } from "../fixtures/redis-server";

/** The host's PostgreSQL (server and the FT_PG_BIN client): newer than the old side's 15. */
const PG17_BIN = "/usr/lib/postgresql/17/bin";
const rnd = (n = 8) => crypto.randomBytes(n).toString("hex");
const OLD_ADMIN_PW = "oldadm" + rnd();
const NEW_ADMIN_PW = "newadm" + rnd();
/** The app role's password on aws (RDS) and on the host (different databases, different passwords). */
const OLD_APP_PW = "oldapp" + rnd();
// The old side's ElastiCache AUTH token ([A-Za-z0-9], as the stack makes it) and the new host's redis password.
const REDIS_TOKEN = "tok" + rnd(12);
const HOST_REDIS_PW = "hostredis" + rnd();
const NEW_APP_PW = "newapp" + rnd();
// The stack's lasting secrets (one stack: the same on both sides). Shell-special characters on purpose.
const JWT = `jwt $HOME 'q' "d" ${rnd()}`;
const SALT = `salt+/=${rnd()}`;
const BACKUP_KEY = crypto.randomBytes(32).toString("base64");
// The pull user's key (read-only on the old side's buckets), registered with the stand-in.
const PULL_KEY_ID = "AKIA" + rnd().toUpperCase();
const PULL_SECRET = crypto.randomBytes(30).toString("base64");
const KMS_ARN = "arn:aws:kms:eu-central-1:123456789012:key/0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b";
const REGION = "eu-central-1";
const ASSETS_REGION = "eu-west-1";
const OLD_BACKUPS = "ft-old-backups";
const OLD_ASSETS = "ft-old-assets";
const NEW_ASSETS = "frostguard-assets";
// A table named Sensor "Log" it's (a space and both quotes); its identity sequence's name holds the '.
const ODD_TABLE = `"Sensor ""Log"" it's"`;
const ODD_SEQ = `"Sensor ""Log"" it's_id_seq"`;
/** The old side's tables as format('%I.%I') names them (and the export's tables.txt). */
const TABLES = [
  "audit.events",
  `public.${ODD_TABLE}`,
  "public.empty_table",
  "public.photos",
  "public.readings",
  "public.temps_2025",
  "public.temps_2026",
].sort();
/** The same with the partitioned table (its rows are its partitions'). */
const RELATIONS = [...TABLES, "public.temps"].sort();

interface ContainerDef {
  name: string;
  command: string[];
  environment: { name: string; value: string }[];
  secrets: { name: string; valueFrom: string }[];
}
interface SeenRequest {
  method: string;
  host: string;
  url: string;
  authorization: string;
}

describe("tools: a move off aws end to end: the export task's dump + upload -> bin/move-import --from-s3 (real PostgreSQL 15 -> 17, S3 stand-ins)", function () {
  this.timeout(300_000);
  let root = "";
  let appDir = "";
  let oldPort = 0;
  let newPort = 0;
  const clusters: PgCluster[] = [];
  let oldS3: S3Standin | undefined;
  let ownS3: S3Standin | undefined;
  let proxy: http.Server | undefined;
  let proxyPort = 0;
  let userland: ScriptUserland;
  let rdsCaPem = "";
  let oldConf = "";
  let ownConf = "";
  let importEnv: NodeJS.ProcessEnv = {};
  let dockerLog = "";
  let dumpDef: ContainerDef;
  let uploadDef: ContainerDef;
  let queueDef: ContainerDef;
  /** The old side's ElastiCache stand-in (TLS only, the AUTH token) and the CA the queue container trusts. */
  let redis: RedisServer;
  let redisCa = "";
  /** Every request the old side's stand-in received. */
  const oldSaw: SeenRequest[] = [];
  /** Every step's output (checked for secret values at the end). */
  const outputs: { step: string; r: RunResult }[] = [];

  const asNobody = (cmd: string, env: Record<string, string> = {}, shell = "sh") => runAsNobody(cmd, env, shell, 180_000);
  /** psql as the old cluster's superuser over its unix socket (TCP there is TLS only). */
  const oldQ = async (sql: string, db = DB_NAME) => {
    const r = await asNobody(`${PG15_BIN}/psql -X -At -v ON_ERROR_STOP=1 -h ${root} -p ${oldPort} -U postgres -d ${db} -c "$SQL"`, {
      SQL: sql,
      PGPASSWORD: OLD_ADMIN_PW,
      PGTZ: "UTC",
    });
    assert.equal(r.code, 0, r.stderr);
    return r.stdout;
  };
  /** psql as the host cluster's superuser over TCP (as release.json points the host's scripts there). */
  const newQ = async (sql: string, db = DB_NAME, user = "postgres", pw = NEW_ADMIN_PW) => {
    const r = await run(`${PG17_BIN}/psql`, ["-X", "-At", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-p", String(newPort), "-U", user, "-d", db, "-c", sql], {
      env: { ...process.env, PGPASSWORD: pw, PGTZ: "UTC" },
    });
    assert.equal(r.code, 0, r.stderr);
    return r.stdout;
  };
  const lines = (s: string) => s.split("\n").filter((l) => l.length > 0);
  const count = async (q: (sql: string) => Promise<string>, table: string) => Number((await q(`SELECT count(*) FROM ${table}`)).trim());
  /** Every row of every table, as text in bytewise order: table -> rows. */
  const allRows = async (q: (sql: string) => Promise<string>) => {
    const out: Record<string, string> = {};
    for (const t of TABLES) out[t] = await q(`SELECT t::text FROM ${t} t ORDER BY t::text COLLATE "C"`);
    return out;
  };
  /** Every sequence's definition and state (pg_sequences: last_value null when never called). */
  const sequenceState = (q: (sql: string) => Promise<string>) =>
    q(
      "SELECT format('%I.%I', schemaname, sequencename), data_type, start_value, min_value, max_value, increment_by, cycle, last_value FROM pg_sequences ORDER BY format('%I.%I', schemaname, sequencename) COLLATE \"C\"",
    ).then(lines);
  const tableNames = async (q: (sql: string) => Promise<string>) =>
    lines(
      await q(
        "SELECT format('%I.%I', n.nspname, c.relname) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%' ORDER BY format('%I.%I', n.nspname, c.relname) COLLATE \"C\"",
      ),
    );

  /** The test's own view of a bucket (the real rclone, its own config): key -> bytes. */
  const rcloneAs = (conf: string, args: string[]) => run("/usr/bin/rclone", ["--config", conf, ...args], { env: RCLONE_BASE_ENV });
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
  const putOld = async (remotePath: string, content: string | Buffer) => {
    const f = path.join(root, "upload.tmp");
    fs.writeFileSync(f, content);
    const r = await rcloneAs(oldConf, ["copyto", f, `old:${remotePath}`]);
    assert.equal(r.code, 0, r.stderr);
  };

  const envOf = (def: ContainerDef) => Object.fromEntries(def.environment.map((e) => [e.name, e.value]));
  const caFile = () => path.join(root, "tmp", "rds-ca.pem");
  /** DATABASE_URL as connection-urls.ts builds it for the app role; only port, CA file and (no DNS here) hostaddr differ. */
  const dumpDatabaseUrl = () => {
    const aws = databaseUrl(DB_USER, OLD_APP_PW, "localhost", DB_NAME);
    const url = aws.replace(":5432/", `:${oldPort}/`).replace(encodeURIComponent(RDS_CA_FILE), encodeURIComponent(caFile()));
    assert.notEqual(url, aws);
    return `${url}&hostaddr=127.0.0.1`;
  };
  /** A fresh scratch volume (/move) owned by nobody. */
  const scratch = (name: string) => {
    const d = path.join(root, name);
    fs.mkdirSync(d);
    chownR(d);
    return d;
  };
  /** The dump container: its own command and environment; its secrets as Secrets Manager holds them. */
  const dump = async (moveDir: string) => {
    const env = {
      ...envOf(dumpDef),
      MOVE_DIR: moveDir,
      PGSSLROOTCERT: caFile(),
      TMPDIR: path.join(root, "tmp"),
      PATH: userland.path(`${PG15_BIN}:/usr/bin:/bin`),
      DATABASE_URL: dumpDatabaseUrl(),
      JWT_SECRET: JWT,
      TTN_ENCRYPTION_SALT: SALT,
    };
    assert.deepEqual(
      Object.keys(env).filter((k) => dumpDef.secrets.some((s) => s.name === k)),
      ["DATABASE_URL", "JWT_SECRET", "TTN_ENCRYPTION_SALT"],
      "every secret the container gets is set",
    );
    const r = await asNobody(dumpDef.command[0], env, userland.shell);
    outputs.push({ step: "dump", r });
    assert.equal(r.code, 0, r.stderr + r.stdout);
    return r;
  };
  /**
   * The upload container: its command and environment (plus what the run step's overrides add);
   * the task role's stand-in is rclone's env_auth over AWS_*, AWS S3 the stand-in through the proxy.
   */
  const upload = async (moveDir: string, overrides?: string) => {
    const over: Record<string, Record<string, string>> = { [queueDef.name]: {}, [uploadDef.name]: {} };
    if (overrides) {
      const o = JSON.parse(overrides) as { containerOverrides: { name: string; environment: { name: string; value: string }[] }[] };
      for (const c of o.containerOverrides) {
        assert.ok(c.name in over, c.name);
        for (const e of c.environment) over[c.name][e.name] = e.value;
      }
    }
    // The queue container first (the task runs it between dump and upload).
    const q = await asNobody(
      queueDef.command[0],
      {
        ...envOf(queueDef),
        ...over[queueDef.name],
        MOVE_DIR: moveDir,
        PATH: userland.path(`${path.join(root, "valkey-bin")}:/usr/bin:/bin`),
        REDIS_URL: redisUrl(REDIS_TOKEN, "localhost").replace(":6379", `:${redis.port}`),
        REDIS_CA_FILE: redisCa,
      },
      userland.shell,
    );
    outputs.push({ step: "queue", r: q });
    assert.equal(q.code, 0, q.stderr + q.stdout);
    const env = {
      ...envOf(uploadDef),
      ...over[uploadDef.name],
      MOVE_DIR: moveDir,
      RCLONE_CONFIG: path.join(moveDir, ".rclone.conf"),
      XDG_CACHE_HOME: path.join(moveDir, ".cache"),
      PATH: userland.path("/usr/bin:/bin"),
      AWS_ACCESS_KEY_ID: "S3RVER",
      AWS_SECRET_ACCESS_KEY: "S3RVER",
      RCLONE_S3_ENDPOINT: "http://s3.standin.test",
      HTTP_PROXY: `http://127.0.0.1:${proxyPort}`,
      NO_PROXY: "",
    };
    const r = await asNobody(uploadDef.command[0], env, userland.shell);
    outputs.push({ step: "upload", r });
    assert.equal(r.code, 0, r.stderr + r.stdout);
    const marked = r.stdout.split("\n").filter((l) => l.startsWith(`${MOVE_EXPORT_MARKER} `));
    assert.equal(marked.length, 1, r.stdout);
    return JSON.parse(marked[0].slice(MOVE_EXPORT_MARKER.length + 1)) as {
      tables: number;
      sequences: number;
      objects: { count: number; bytes: number };
      dump_bytes: number;
      freeze_started: number | null;
    };
  };
  const cred = () =>
    JSON.stringify({
      access_key_id: PULL_KEY_ID,
      secret_access_key: PULL_SECRET,
      region: REGION,
      assets_region: ASSETS_REGION,
      backups_bucket: OLD_BACKUPS,
      assets_bucket: OLD_ASSETS,
      kms_key_arn: KMS_ARN,
    });
  interface Report {
    ok: boolean;
    tables_equal: boolean;
    sequences_equal: boolean;
    objects_equal: boolean;
    secrets_equal: boolean;
    tables: Record<string, { old: number; new: number }>;
    sequences: number;
    objects: { old: { count: number; bytes: number }; new: { count: number; bytes: number } };
    queue: { old: { keys: number; expires: number }; new: { keys: number; expires: number } } | null;
    queue_equal: boolean | null;
    app: string;
    freeze_seconds: number | null;
    /** bin/backup's name of this side's first backup once its app serves (null otherwise). */
    first_backup: string | null;
  }
  /** The new host's import as the program runs it: the prepare's copy, or the cutover's with this attempt's export (`exportOf` of the export step's line). */
  const importCmd = async (mode: "--keep-app-stopped" | "--start-app", exportLine?: string) => {
    fs.writeFileSync(dockerLog, "");
    oldSaw.length = 0;
    const args = mode === "--start-app" ? [mode, "--report-failure", "--export-of", exportOf(exportLine ?? "")] : [mode];
    const r = await run(path.join(appDir, "current", "bin", "move-import"), ["--from-s3", ...args], { env: importEnv, input: cred(), timeoutMs: 240_000 });
    outputs.push({ step: `move-import ${mode}`, r });
    const out = r.stdout.trim().split("\n");
    // One line, the report; a cutover that failed before serving adds its reported failure.
    const failure = out.length === 2 ? (JSON.parse(out[1]) as { ok: boolean; served: boolean; exit: number; import: unknown }) : undefined;
    assert.ok(out.length === 1 || failure?.served === false, `one line, the report:\n${r.stdout}\n${r.stderr}`);
    return { r, report: JSON.parse(out[0]) as Report, failure };
  };
  /** What the import asked of the old side's stand-in: only reads, only with the pull key, each bucket in its region. */
  const assertOnlyRead = () => {
    const pulled = oldSaw.filter((q) => q.authorization.includes(`Credential=${PULL_KEY_ID}/`));
    assert.ok(
      pulled.some((q) => q.url.startsWith(`/${OLD_BACKUPS}/${MOVE_PREFIX}/${MOVE_OBJECTS.dump}`)),
      "the dump was read",
    );
    assert.ok(
      pulled.some((q) => q.url.startsWith(`/${OLD_ASSETS}`)),
      "the assets were read",
    );
    assert.deepEqual(
      oldSaw.filter((q) => !q.authorization.includes(`Credential=${PULL_KEY_ID}/`)).map((q) => `${q.method} ${q.url}`),
      [],
      "the import used the pull key only",
    );
    assert.deepEqual(
      pulled.filter((q) => !["GET", "HEAD"].includes(q.method)).map((q) => `${q.method} ${q.url}`),
      [],
      "nothing written to or deleted from the old side",
    );
    for (const q of pulled) {
      const region = q.url.startsWith(`/${OLD_ASSETS}`) ? ASSETS_REGION : REGION;
      assert.ok(q.authorization.includes(`/${region}/s3/`), `${q.method} ${q.url} not signed for ${region}`);
    }
  };
  const exported = async (f: string) => (await bucketFiles(oldConf, `old:${OLD_BACKUPS}/${MOVE_PREFIX}`)).get(f)!.toString("utf8");

  before(async () => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), "ft-move-from-aws-chain-"));
    fs.chmodSync(root, 0o755);
    fs.mkdirSync(path.join(root, "tmp"));
    userland = imageUserland(path.join(root, "bb"));

    // The rendered vm release, as bin/deploy unpacks it (root's, as on a host).
    const files = renderedVmRelease();
    assert.ok(files["bin/move-import"] && files["bin/move-lib.sh"], "the rendered release ships bin/move-import");
    let rel: string;
    ({ appDir, rel } = installRelease(root, files));

    // The old side: RDS's stand-in, TLS only over TCP, its CA standing in for the RDS roots.
    const tls = path.join(root, "tls");
    const rdsCa = makeTestCa(tls, "Test RDS Root CA", "rdsca");
    const pgCert = issueServerCert(rdsCa, tls, ["localhost"], "pg");
    rdsCaPem = fs.readFileSync(rdsCa.cert, "utf8");
    // The ElastiCache stand-in: TLS only under a CA of its own, the AUTH token; 3 keys of a queue, 1 with a TTL.
    const redisTlsCa = makeTestCa(tls, "Test ElastiCache CA", "redisca");
    const redisCert = issueServerCert(redisTlsCa, tls, ["localhost"], "redis");
    redisCa = redisTlsCa.cert;
    redis = await startRedis(root, "aws-redis", REDIS_TOKEN, { ...redisCert, ca: redisTlsCa.cert });
    linkValkeyCli(path.join(root, "valkey-bin"));
    redis.cli(["RPUSH", "bull:alerts:wait", "1", "2"]);
    redis.cli(["HSET", "bull:alerts:1", "name", "sms"]);
    redis.cli(["SET", "bull:alerts:1:lock", "t", "PX", "600000"]);
    fs.writeFileSync(path.join(root, "oldpw"), OLD_ADMIN_PW + "\n");
    for (const p of ["oldpw", "tmp", "bb", "tls"]) chownR(path.join(root, p));
    // nobody runs the old cluster (socket in root) and the task's scripts.
    fs.lchownSync(root, NOBODY, NOBODY);
    const old = await startPgCluster({
      user: "nobody",
      socketDir: root,
      dataDir: `${root}/pg-old`,
      logFile: `${root}/pg-old.log`,
      pwFile: path.join(root, "oldpw"),
      noSync: true,
      tls: { ...pgCert, only: true },
    });
    clusters.push(old);
    oldPort = old.port;
    // The host's cluster (PostgreSQL 17, run by postgres; plain TCP on loopback as release.json says).
    const pgDir = path.join(root, "pg-new");
    const pwFile = await postgresOwnedDir(pgDir, NEW_ADMIN_PW);
    const host = await startPgCluster({
      user: "postgres",
      bin: PG17_BIN,
      socketDir: pgDir,
      dataDir: `${pgDir}/data`,
      logFile: `${pgDir}/log`,
      pwFile,
      noSync: true,
    });
    clusters.push(host);
    newPort = host.port;

    // The old side's app database, made by its non-superuser app role (as its migrations would):
    // a serial with a gap, the odd name with an identity, an empty table, a partitioned table,
    // bytea, a sequence never called, a descending one, one whose name holds a ', a second schema.
    await oldQ(`CREATE ROLE ${DB_USER} LOGIN PASSWORD '${OLD_APP_PW}'`, "postgres");
    await oldQ(`CREATE DATABASE ${DB_NAME} OWNER ${DB_USER}`, "postgres");
    const made = await asNobody(`${PG15_BIN}/psql -X -q -v ON_ERROR_STOP=1 -d "$URL" -c "$SQL"`, {
      URL: `postgresql://${DB_USER}@localhost:${oldPort}/${DB_NAME}?hostaddr=127.0.0.1&sslmode=verify-full&sslrootcert=${encodeURIComponent(rdsCa.cert)}`,
      PGPASSWORD: OLD_APP_PW,
      SQL: [
        "CREATE TABLE readings (id serial PRIMARY KEY, c numeric, at timestamptz DEFAULT '2026-01-02 03:04:05.678+00')",
        "INSERT INTO readings (c) SELECT g / 10.0 FROM generate_series(1, 250) g",
        "DELETE FROM readings WHERE id > 240",
        `CREATE TABLE ${ODD_TABLE} (id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, note text)`,
        // A row that looks like a setval line, one like a COPY end, one with a newline: data, never counted as anything else.
        `INSERT INTO ${ODD_TABLE} (note) VALUES ('a'), (E'multi\\nline'), ('SELECT pg_catalog.setval(''public.fake'', 9, true);'), (E'\\\\.')`,
        "CREATE TABLE empty_table (x int)",
        "CREATE TABLE photos (k text PRIMARY KEY, body bytea, meta jsonb)",
        `INSERT INTO photos VALUES ('p1', decode('00ff10', 'hex'), '{"a": [1, 2]}'), ('p 2', '', 'null')`,
        "CREATE TABLE temps (at date NOT NULL, c real) PARTITION BY RANGE (at)",
        "CREATE TABLE temps_2025 PARTITION OF temps FOR VALUES FROM ('2025-01-01') TO ('2026-01-01')",
        "CREATE TABLE temps_2026 PARTITION OF temps FOR VALUES FROM ('2026-01-01') TO ('2027-01-01')",
        "INSERT INTO temps SELECT DATE '2025-12-20' + g, g / 4.0 FROM generate_series(0, 30) g",
        "CREATE SEQUENCE never_called_seq START 42",
        "CREATE SEQUENCE down_seq INCREMENT -1 MINVALUE -100 MAXVALUE -1 START -5",
        "SELECT nextval('down_seq')",
        `CREATE SEQUENCE "o'clock seq" START 5`,
        `SELECT setval('"o''clock seq"', 17)`,
        "CREATE SCHEMA audit",
        "CREATE TABLE audit.events (id int, what text)",
        "INSERT INTO audit.events SELECT g, 'e' || g FROM generate_series(1, 7) g",
      ].join("; "),
    });
    assert.equal(made.code, 0, made.stderr);
    assert.deepEqual(lines(await oldQ(`SELECT rolsuper FROM pg_roles WHERE rolname = '${DB_USER}'`)), ["f"]);
    assert.deepEqual(await tableNames(oldQ), RELATIONS);

    // The host: its app role and database (as db-setup makes them), whose migrations ran once: an
    // older schema the restore replaces.
    await newQ(`CREATE ROLE ${DB_USER} LOGIN PASSWORD '${NEW_APP_PW}'`, "postgres");
    await newQ(`CREATE DATABASE ${DB_NAME} OWNER ${DB_USER}`, "postgres");
    await newQ("CREATE TABLE readings (id serial PRIMARY KEY); INSERT INTO readings DEFAULT VALUES", DB_NAME, DB_USER, NEW_APP_PW);

    // The old side's AWS S3: backups bucket and assets bucket. rclone's provider AWS (the export's
    // upload) speaks virtual-host style (BUCKET.s3.standin.test, reached through the proxy below);
    // the import's seam speaks path style at 127.0.0.1 to the same server.
    addS3rverKey(PULL_KEY_ID, PULL_SECRET);
    oldS3 = await startS3rver({ directory: path.join(root, "s3-old"), buckets: [OLD_BACKUPS, OLD_ASSETS], serviceEndpoint: "standin.test" });
    oldS3.httpServer.prependListener("request", (req: http.IncomingMessage) =>
      oldSaw.push({
        method: req.method ?? "",
        host: String(req.headers.host ?? ""),
        url: decodeURIComponent(req.url ?? ""),
        authorization: String(req.headers.authorization ?? ""),
      }),
    );
    const oldS3Port = oldS3.port;
    // "http://s3.standin.test" only through this proxy, which hands every request to the stand-in unchanged.
    proxy = http.createServer((req, res) => {
      const fwd = http.request(
        { host: "127.0.0.1", port: oldS3Port, method: req.method, path: (req.url ?? "/").replace(/^http:\/\/[^/]+/, ""), headers: req.headers },
        (up) => {
          res.writeHead(up.statusCode ?? 502, up.headers);
          up.pipe(res);
        },
      );
      fwd.on("error", () => res.destroy());
      req.pipe(fwd);
    });
    await new Promise<void>((resolve) => proxy!.listen(0, "127.0.0.1", resolve));
    proxyPort = (proxy.address() as { port: number }).port;
    oldConf = path.join(root, "old-test.conf");
    fs.writeFileSync(oldConf, s3rverRcloneConf(["old"], `http://127.0.0.1:${oldS3Port}`, REGION));
    // The old side's uploads (keys as the app writes them; one with a space, one empty).
    for (const [k, body] of [
      ["org-1/photos/u1.jpg", "first upload"],
      ["org-1/photos/big one.bin", crypto.randomBytes(70_000)],
      ["org-2/reports/r.pdf", crypto.randomBytes(4_321)],
      ["org-2/empty.txt", ""],
    ] as const)
      await putOld(`${OLD_ASSETS}/${k}`, body);

    // The host's own object store, with something only it holds (the sync removes it).
    ownS3 = await startS3rver({ directory: path.join(root, "s3-own"), buckets: [NEW_ASSETS, "frostguard-backups", VM_RELEASE_BACKUPS_BUCKET] });
    const stores = pointAtTestStores(appDir, rel, { pgPort: newPort, adminPassword: NEW_ADMIN_PW, backupKey: BACKUP_KEY, s3Port: ownS3.port });
    ownConf = stores.rcloneConf;
    assert.equal(stores.relJson.assets_bucket, NEW_ASSETS);
    fs.writeFileSync(path.join(root, "stale"), "stale");
    assert.equal((await rcloneAs(ownConf, ["copyto", path.join(root, "stale"), `backups:${NEW_ASSETS}/stale/left-over.bin`])).code, 0);
    // The host's lasting secrets exactly as the program renders them (the same stack's values).
    const secretFiles = renderSecretFiles({
      target: "vm",
      dbAppPassword: NEW_APP_PW,
      redisPassword: "redis" + rnd(),
      jwtSecret: JWT,
      ttnEncryptionSalt: SALT,
      grafanaAdminPassword: "grafana" + rnd(),
      backupEncryptionKey: BACKUP_KEY,
      user: {},
      db: { host: "postgres", port: 5432, adminUser: "postgres", adminPassword: NEW_ADMIN_PW, adminDatabase: "postgres" },
      objectStore: {
        endpoint: "http://objectstore:8333",
        region: "us-east-1",
        accessKey: "AK" + rnd(),
        secretKey: "SK" + rnd(),
        provider: "SeaweedFS",
        buckets: { assets: NEW_ASSETS, backups: "frostguard-backups" },
      },
    });
    for (const f of ["app/JWT_SECRET", "app/TTN_ENCRYPTION_SALT"]) writeSecret(appDir, f, secretFiles[f].content);
    writeSecret(appDir, "redis/password", HOST_REDIS_PW);
    fs.mkdirSync(path.join(root, "redis", "new", "appendonlydir"), { recursive: true });
    fs.writeFileSync(path.join(root, "redis", "new", "appendonlydir", "keys"), "1 0");
    assert.equal(fs.readFileSync(path.join(appDir, "secrets", "app", "JWT_SECRET"), "utf8"), JWT);

    const stubDir = stubDocker(path.join(root, "stub"));
    dockerLog = path.join(root, "docker.log");
    fs.writeFileSync(dockerLog, "");
    importEnv = {
      ...RCLONE_BASE_ENV,
      PATH: `${stubDir}:${PG17_BIN}:${process.env.PATH}`,
      FT_PG_BIN: PG17_BIN,
      FT_RCLONE: "host",
      FT_MOVE_S3_ENDPOINT: `http://127.0.0.1:${oldS3Port}`,
      FT_STUB_LOG: dockerLog,
      FT_STUB_STATE: path.join(appDir, "state"),
      FT_STUB_SIDE: "new",
      // This host's redis (the docker stand-in's counts): it takes the old side's queue.
      FT_STUB_REDIS_DIR: path.join(root, "redis"),
      FT_PROXY_SETTLE_SECONDS: "0",
      FT_STUB_STOPPED: path.join(root, "stopped"),
      FT_STUB_SCRIPT: STATEFUL_DOCKER_SCRIPT,
    };

    // The aws export task's containers as the program defines them.
    const defs = JSON.parse(
      moveExportContainerDefinitions({
        postgresImage: "postgres:15.14-alpine",
        rcloneImage: "rclone/rclone:1.66",
        redisImage: "valkey/valkey:8.1.3-alpine@sha256:cccc",
        dbName: DB_NAME,
        rdsCa: rdsCaPem,
        backupsBucket: OLD_BACKUPS,
        assetsBucket: OLD_ASSETS,
        kmsKeyArn: KMS_ARN,
        region: REGION,
        assetsRegion: ASSETS_REGION,
        logGroup: "/freshtrack/test/move-export",
        secretArns: Object.fromEntries(
          ["DATABASE_URL", "JWT_SECRET", "TTN_ENCRYPTION_SALT", "REDIS_URL"].map((e) => [e, `arn:aws:secretsmanager:${REGION}:1:secret:${e}`]),
        ),
      }),
    ) as ContainerDef[];
    dumpDef = defs.find((d) => d.name === MOVE_EXPORT_CONTAINERS.dump)!;
    uploadDef = defs.find((d) => d.name === MOVE_EXPORT_CONTAINERS.upload)!;
    queueDef = defs.find((d) => d.name === MOVE_EXPORT_CONTAINERS.queue)!;
    assert.equal(dumpDef.command[0], moveDumpScript(DB_NAME));
    assert.equal(uploadDef.command[0], moveUploadScript());
    assert.equal(envOf(dumpDef)[RDS_CA_ENV], rdsCaPem);
    assert.equal(envOf(uploadDef).BUCKET, OLD_BACKUPS);
  });

  after(async () => {
    redis?.stop();
    proxy?.close();
    await oldS3?.close().catch(() => undefined);
    await ownS3?.close().catch(() => undefined);
    if (root) {
      for (const c of clusters) await c.stop();
      fs.rmSync(root, { recursive: true, force: true });
    }
  });

  it("export (dump, queue, upload) -> move-import --from-s3 --keep-app-stopped: every comparison equal; rows, sequences, owners, uploads and the job queue as on the old side", async () => {
    const oldRows = await allRows(oldQ);
    const oldSeqs = await sequenceState(oldQ);
    const oldObjects = await bucketFiles(oldConf, `old:${OLD_ASSETS}`);
    const oldBytes = [...oldObjects.values()].reduce((s, b) => s + b.length, 0);
    assert.deepEqual([oldObjects.size, oldBytes], [4, 12 + 70_000 + 4_321]);

    const moveDir = scratch("move-1");
    const d = await dump(moveDir);
    assert.match(d.stderr, new RegExp(`dumped ${DB_NAME} as ${DB_USER}: \\d+ bytes`));
    const exp = await upload(moveDir);
    assert.deepEqual(exp.objects, { count: 4, bytes: oldBytes });
    assert.equal(exp.tables, TABLES.length);
    assert.equal(exp.freeze_started, null);
    assert.equal(
      await exported(MOVE_OBJECTS.tables),
      `audit.events 7\npublic.${ODD_TABLE} 4\npublic.empty_table 0\npublic.photos 2\npublic.readings 240\npublic.temps_2025 12\npublic.temps_2026 19\n`,
    );

    assert.equal(await exported("queue.txt"), "3 1 false\n", "ElastiCache's 3 keys, 1 with a TTL; no freeze");
    const { r, report } = await importCmd("--keep-app-stopped");
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(
      { ok: report.ok, t: report.tables_equal, s: report.sequences_equal, o: report.objects_equal, x: report.secrets_equal },
      { ok: true, t: true, s: true, o: true, x: true },
      r.stdout,
    );
    // This host's redis was emptied (its 1 key went) and took the 3 keys.
    assert.deepEqual(report.queue, { old: { keys: 3, expires: 1 }, new: { keys: 3, expires: 1 } });
    assert.equal(report.queue_equal, null, "not judged outside a freeze");
    assert.match(r.stderr, /job queue: loading the old side's 3 keys into redis/);
    const expectedTables: Record<string, { old: number; new: number }> = {};
    for (const t of TABLES) {
      const n = await count(oldQ, t);
      expectedTables[t] = { old: n, new: n };
    }
    assert.deepEqual(report.tables, expectedTables);
    assert.equal(report.sequences, oldSeqs.length);
    assert.equal(report.sequences, exp.sequences);
    assert.deepEqual(report.objects, { old: { count: 4, bytes: oldBytes }, new: { count: 4, bytes: oldBytes } });
    assert.equal(report.app, "stopped");
    assert.equal(report.freeze_seconds, null, "no freeze: the prepare's export");

    // The database: every row, every sequence (its definition, its value, never called or not) as on the old side.
    assert.deepEqual(await tableNames(newQ), RELATIONS, "the older schema replaced, nothing else left");
    assert.deepEqual(await allRows(newQ), oldRows);
    assert.match(oldRows[`public.${ODD_TABLE}`], /multi\nline/);
    assert.deepEqual(await sequenceState(newQ), oldSeqs);
    assert.equal(oldSeqs.length, 5);
    assert.ok(
      oldSeqs.some((s) => s.startsWith("public.never_called_seq|") && s.endsWith("|")),
      "one sequence never called (last_value null)",
    );
    // What the app gets next on the new side: the gap of readings kept, the never-called one at its start.
    const seqNames = ["public.never_called_seq", "public.down_seq", `public."o'clock seq"`, `public.${ODD_SEQ}`, "public.readings_id_seq"];
    assert.deepEqual(lines(await newQ(`SELECT ${seqNames.map((s) => `nextval('${s.replace(/'/g, "''")}')`).join(", ")}`)), ["42|-6|18|5|251"]);
    // Everything restored belongs to the app role (owners kept), which is no superuser there either.
    assert.deepEqual(
      lines(
        await newQ(
          "SELECT DISTINCT tableowner FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema') UNION SELECT DISTINCT sequenceowner FROM pg_sequences",
        ),
      ),
      [DB_USER],
    );

    // The uploads: the host's bucket equals the old side's, key for key, byte for byte (the stale object gone).
    const own = await bucketFiles(ownConf, `backups:${NEW_ASSETS}`);
    assert.deepEqual([...own.keys()].sort(), [...oldObjects.keys()].sort());
    for (const [k, b] of oldObjects) assert.ok(own.get(k)!.equals(b), `${k} differs`);

    const calls = fs.readFileSync(dockerLog, "utf8");
    assert.match(calls, /^stop new-backend new-worker$/m, "the app here stopped before the restore");
    assert.doesNotMatch(calls, /^start /m, "and stays stopped (prepare)");
    assertOnlyRead();
    const audit = auditLines(appDir).filter((a) => a.action === "move-import");
    assert.equal(audit[audit.length - 1].result, "success");
  });

  it("rows written after the dump, before the upload: the export and the import describe the dump; the freeze start becomes freeze_seconds (--start-app)", async () => {
    // The app writes on: rows before this export's dump are in it ...
    await oldQ("INSERT INTO audit.events SELECT g, 'late' || g FROM generate_series(8, 10) g");
    const moveDir = scratch("move-2");
    await dump(moveDir);
    const dumpedRows = await allRows(oldQ);
    const dumpedSeqs = await sequenceState(oldQ);
    const dumpedTables = Object.fromEntries(await Promise.all(TABLES.map(async (t) => [t, await count(oldQ, t)] as const)));
    // ... rows written after it are not, whatever the upload finds in the live database meanwhile.
    await oldQ("INSERT INTO readings (c) SELECT 0 FROM generate_series(1, 25) g");
    await oldQ(`INSERT INTO ${ODD_TABLE} (note) VALUES ('late')`);
    await oldQ("INSERT INTO temps VALUES ('2026-06-01', 1)");
    assert.equal(await count(oldQ, "readings"), 265);

    // The run step hands the upload container the time the old side's write freeze began.
    // Epoch seconds, as the freeze step prints them (date +%s).
    const freeze = String(Math.floor(Date.now() / 1000) - 30);
    const overrides = moveExportOverrides(freeze);
    assert.ok(overrides.includes(MOVE_FREEZE_ENV));
    const exp = await upload(moveDir, overrides);
    assert.equal(exp.freeze_started, Number(freeze));
    assert.equal(JSON.parse(await exported(MOVE_OBJECTS.manifest)).freeze_started, Number(freeze));
    assert.match(await exported(MOVE_OBJECTS.tables), /^public\.readings 240$/m, "the dump's count, not the live one");

    const t0 = Date.now() / 1000;
    // The export step's line as moveImportRunScript prints it around the task's report.
    const { r, report } = await importCmd("--start-app", JSON.stringify({ task: "arn:task/2", exit: 0, seconds: 70, export: exp, ok: true }));
    const t1 = Date.now() / 1000;
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(
      { ok: report.ok, t: report.tables_equal, s: report.sequences_equal, o: report.objects_equal, x: report.secrets_equal },
      { ok: true, t: true, s: true, o: true, x: true },
      r.stdout,
    );
    assert.deepEqual(report.tables, Object.fromEntries(Object.entries(dumpedTables).map(([t, n]) => [t, { old: n, new: n }])));
    assert.deepEqual(report.tables["public.readings"], { old: 240, new: 240 });
    assert.deepEqual(report.tables["audit.events"], { old: 10, new: 10 }, "this export's dump, not the first one's");
    assert.deepEqual(await allRows(newQ), dumpedRows);
    assert.deepEqual(await sequenceState(newQ), dumpedSeqs, "readings_id_seq as dumped (250), not as the later inserts left it");
    assert.equal(await count(newQ, "readings"), 240);
    assert.equal(await count(oldQ, "readings"), 265);

    // freeze_seconds: from the freeze start to the app's start here (within this import's run).
    assert.equal(report.app, "started");
    assert.equal(typeof report.freeze_seconds, "number", r.stdout);
    const f = report.freeze_seconds!;
    assert.ok(
      f >= t0 - Number(freeze) - 0.1 && f <= t1 - Number(freeze) + 0.1,
      `freeze_seconds ${f}, expected within [${t0 - Number(freeze)}, ${t1 - Number(freeze)}]`,
    );
    assert.match(fs.readFileSync(dockerLog, "utf8"), /^start new-backend new-worker$/m, "the backend and worker the prepare stopped started");
    // Serving now: backed up at once, into this host's own backups store (nothing written to aws's).
    assert.match(String(report.first_backup), /^frostguard-\d{8}T\d{6}Z$/, r.stdout);
    assertOnlyRead();
    // The same step run again (pulumi up after a caller cut off at the end): this run's report
    // again, and no import over what this side wrote since.
    await newQ("INSERT INTO readings (c) VALUES (4242)");
    const again = await importCmd("--start-app", JSON.stringify({ task: "arn:task/2", exit: 0, seconds: 70, export: exp, ok: true }));
    assert.equal(again.r.code, 0, again.r.stderr);
    assert.deepEqual(again.report, report, "the finished run's own report");
    assert.match(again.r.stderr, /no new import/);
    assert.doesNotMatch(fs.readFileSync(dockerLog, "utf8"), /^(start|stop) /m, "nothing stopped or started");
    assert.equal(await count(newQ, "readings"), 241, "this side's write kept");
    // A new attempt below: as a new move's prepare (--keep-app-stopped) or this side's freeze would.
    fs.rmSync(path.join(appDir, "state", "move-served.json"));
  });

  it("an upload added to the old assets bucket after the upload measured it: objects_equal false, ok false, reported as not served, the app not started", async () => {
    const moveDir = scratch("move-3");
    await dump(moveDir);
    const exp = await upload(moveDir, moveExportOverrides(String(Math.floor(Date.now() / 1000) - 10)));
    await putOld(`${OLD_ASSETS}/org-3/late.jpg`, "written after the export");
    const { r, report, failure } = await importCmd("--start-app", JSON.stringify({ task: "arn:task/4", exit: 0, seconds: 60, export: exp, ok: true }));
    // Reported, not fatal: the deploying machine's undo reads this line.
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(failure, { ok: false, served: false, exit: 1, import: report });
    assert.deepEqual(
      { ok: report.ok, t: report.tables_equal, s: report.sequences_equal, o: report.objects_equal, x: report.secrets_equal },
      { ok: false, t: true, s: true, o: false, x: true },
    );
    assert.deepEqual(report.objects, { old: exp.objects, new: { count: exp.objects.count + 1, bytes: exp.objects.bytes + 24 } });
    assert.equal(report.app, "stopped");
    assert.match(r.stderr, /differs from the old side's manifest/);
    const calls = fs.readFileSync(dockerLog, "utf8");
    assert.match(calls, /^stop new-backend new-worker$/m);
    assert.doesNotMatch(calls, /^start /m, "a new side that differs never serves");
  });

  // The same scripts on the OLD host of a move onto aws, at a rollback after its cutover: this host
  // handed over (bin/move-export --conclude), its app frozen, its holder sending everything to the
  // load balancer; the "old" PostgreSQL 15 stands in for RDS, which took writes since.
  it("rollback of a move onto aws: move-export --take-back keeps requests here, the export task's dump + upload, then move-import --from-s3 --start-app --take-back: every comparison equal, the frozen app serves again", async () => {
    const state = (...p: string[]) => path.join(appDir, "state", ...p);
    const lb = "ft-alb-123.eu-central-1.elb.amazonaws.com";
    fs.writeFileSync(path.join(root, "stopped.hold-new"), "");
    fs.mkdirSync(state("move-hold"), { recursive: true });
    fs.mkdirSync(state("proxy"), { recursive: true });
    fs.writeFileSync(state("move-hold", "target.json"), JSON.stringify({ url: `https://${lb}:443`, ca: null }));
    fs.writeFileSync(state("proxy", "move.forward"), "");
    fs.writeFileSync(state("move-concluded"), `${lb}\n`);
    fs.writeFileSync(state("move-frozen-app"), "new-backend\nnew-worker\n");
    fs.appendFileSync(path.join(root, "stopped"), "new-backend\nnew-worker\n");
    const take = await run(path.join(appDir, "current", "bin", "move-export"), ["--take-back"], { env: importEnv, timeoutMs: 60_000 });
    outputs.push({ step: "move-export --take-back", r: take });
    assert.equal(take.code, 0, take.stderr);
    const taken = JSON.parse(take.stdout.trim());
    assert.deepEqual({ handed_over: taken.handed_over, from: taken.from }, { handed_over: true, from: lb });
    assert.equal(typeof taken.at, "number", "its time: a new attempt's freeze re-runs after it");
    assert.ok(!fs.existsSync(state("move-hold", "target.json")) && fs.existsSync(state("proxy", "move.forward")), "kept here, sent nowhere");

    // aws served meanwhile, then froze (its services at 0): the export of what it holds now.
    await oldQ("INSERT INTO readings (c) SELECT 7 FROM generate_series(1, 33) g");
    const moveDir = scratch("move-back");
    await dump(moveDir);
    const awsRows = await allRows(oldQ);
    const awsSeqs = await sequenceState(oldQ);
    const freeze = String(Math.floor(Date.now() / 1000) - 20);
    const back = await upload(moveDir, moveExportOverrides(freeze));

    fs.writeFileSync(dockerLog, "");
    oldSaw.length = 0;
    // As move-copy-back runs it: reported, not fatal, and this attempt's export only.
    const backLine = JSON.stringify({ task: "arn:task/3", exit: 0, seconds: 65, export: back, ok: true });
    const r = await run(
      path.join(appDir, "current", "bin", "move-import"),
      ["--from-s3", "--start-app", "--take-back", "--report-failure", "--export-of", exportOf(backLine)],
      {
        env: importEnv,
        input: cred(),
        timeoutMs: 240_000,
      },
    );
    outputs.push({ step: "move-import --take-back", r });
    assert.equal(r.code, 0, r.stderr);
    const report = JSON.parse(r.stdout.trim().split("\n").pop()!) as Report & { copied_back: boolean };
    assert.deepEqual(
      { ok: report.ok, back: report.copied_back, t: report.tables_equal, s: report.sequences_equal, o: report.objects_equal, x: report.secrets_equal },
      { ok: true, back: true, t: true, s: true, o: true, x: true },
      r.stdout,
    );
    assert.deepEqual(await allRows(newQ), awsRows, "every row aws took is here");
    assert.deepEqual(await sequenceState(newQ), awsSeqs);
    assert.ok(report.freeze_seconds! >= 20, String(report.freeze_seconds));
    const calls = fs.readFileSync(dockerLog, "utf8");
    assert.match(calls, /^start new-backend new-worker$/m, "the app the cutover froze serves again");
    assert.match(calls, /^rm -f new-hold$/m, "then the holder goes");
    assert.ok(!fs.existsSync(state("proxy", "move.forward")), "this side serves every request itself");
    assert.ok(!fs.existsSync(state("move-concluded")), "it may move again");
    assert.match(String(report.first_backup), /^frostguard-\d{8}T\d{6}Z$/, "serving again, with aws's writes: backed up at once");
    assertOnlyRead();
  });

  it("no secret value in any step's output; the pull key in no file left behind", () => {
    assert.ok(
      ["dump", "upload", "move-import --keep-app-stopped", "move-import --start-app", "move-export --take-back", "move-import --take-back"].every((s) =>
        outputs.some((o) => o.step === s),
      ),
    );
    const secrets: [string, string][] = [
      ["the pull key's secret", PULL_SECRET],
      ["the JWT secret", JWT],
      ["the TTN salt", SALT],
      ["the old side's admin password", OLD_ADMIN_PW],
      ["the host's admin password", NEW_ADMIN_PW],
      ["the old app role's password", OLD_APP_PW],
      ["the new app role's password", NEW_APP_PW],
      ["the backup key", BACKUP_KEY],
      ["the ElastiCache AUTH token", REDIS_TOKEN],
      ["the new host's redis password", HOST_REDIS_PW],
    ];
    for (const { step, r } of outputs)
      for (const [what, v] of secrets) assert.ok(!(r.stdout + r.stderr).includes(v), `${what} appears in the output of ${step}`);
    for (const f of fs.readdirSync(appDir, { recursive: true, encoding: "utf8" })) {
      const p = path.join(appDir, f);
      if (fs.lstatSync(p).isFile()) assert.ok(!fs.readFileSync(p).includes(PULL_SECRET), `the pull key's secret is left in ${f}`);
    }
    assert.ok(!fs.readFileSync(dockerLog, "utf8").includes(PULL_SECRET));
  });
});
