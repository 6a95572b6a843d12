// A move from a host onto aws, chained from the REAL pieces with nothing hand-made in between:
// the old host's `bin/move-export --push-s3` of a RENDERED vm release (renderBundle, its secret
// files from renderSecretFiles) against a real PostgreSQL 15 and an old uploads bucket (s3rver),
// pushes into an HTTPS S3 stand-in (s3rver, test CA) through the FT_MOVE_S3_ENDPOINT seam (path
// style); then the aws move-import task's fetch script (the command and environment
// moveImportContainerDefinitions gives the fetch container; rclone's AWS provider, virtual-host
// style, reaches the SAME stand-in over HTTPS through a CONNECT proxy, the task role replaced by
// rclone's AWS_* environment) and its restore script (the restore container's command and
// environment; DATABASE_URL as connection-urls.ts builds it) into a second, TLS-only
// PostgreSQL 15 whose app role is not a superuser and owns the database. Both scripts run as
// nobody, in busybox's sh/awk/sed/... when the host has busybox (as in the images). Then the
// divergences the verification must catch: an object missing from the new assets bucket, a
// JWT secret differing between the sides. No secret value may appear in any step's output.
import { strict as assert } from "assert";
import * as crypto from "crypto";
import * as fs from "fs";
import * as http from "http";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import { DB_NAME, DB_USER } from "../../core/naming";
import { renderSecretFiles } from "../../compose/secret-files";
import { databaseUrl, redisUrl } from "../../components/aws/connection-urls";
import { ASSETS_REGION } from "../../components/aws/constants";
import {
  MOVE_ASSETS_SIZE_FILE,
  MOVE_IMPORT_CONTAINERS,
  MOVE_IMPORT_MARKER,
  MOVE_OBJECTS,
  moveFetchScript,
  moveImportContainerDefinitions,
  moveImportLogLine,
  MoveImportReport,
  moveRestoreScript,
} from "../../components/aws/move-import";
import { RDS_CA_ENV, RDS_CA_FILE } from "../../components/aws/rds-ca";
import { run, RunResult, STATEFUL_DOCKER_SCRIPT, stubDocker, writeSecret } from "../fixtures/bin/harness";
import { installRelease, pointAtTestStores, renderedVmRelease } from "../fixtures/move-release";
import { asNobody as runAsNobody, chownToNobody as chownR, imageUserland, NOBODY, ScriptUserland } from "../fixtures/nobody";
import { PG15_BIN as PG_BIN, PgCluster, startPgCluster } from "../fixtures/pg-cluster";
import { addS3rverKey, RCLONE_BASE_ENV as baseEnv, s3rverRcloneConf, S3Standin, startS3rver } from "../fixtures/s3-standin";
import { issueServerCert, makeTestCa } from "../fixtures/test-ca";
import { linkValkeyCli, RedisServer, startRedis } from "../fixtures/redis-server";
import { queueDumpCommand } from "../../components/aws/move-queue";

const rnd = (n = 8) => crypto.randomBytes(n).toString("hex");
// The old side's PostgreSQL superuser, the new side's admin and app role.
const OLD_ADMIN_PW = "oldadm" + rnd();
const NEW_ADMIN_PW = "newadm" + rnd();
const APP_PW = "app" + rnd();
// The new side's ElastiCache AUTH token ([A-Za-z0-9], as the stack makes it) and the old host's redis password.
const REDIS_TOKEN = "tok" + rnd(12);
const HOST_REDIS_PW = "hostredis" + rnd();
// The stack's lasting secrets (one stack: the same on both sides). Shell-special characters on purpose.
const JWT = `jwt $HOME 'q' "d" ${rnd()}`;
const SALT = `salt+/=${rnd()}`;
const BACKUP_KEY = crypto.randomBytes(32).toString("base64");
// The new side's push user and its two buckets.
const AWS_KEY_ID = "AKIA" + rnd().toUpperCase();
const AWS_SECRET = crypto.randomBytes(30).toString("base64");
const KMS_ARN = "arn:aws:kms:eu-central-1:123456789012:key/0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b";
const REGION = "eu-central-1";
const BACKUPS = "ft-aws-backups";
const ASSETS = "ft-aws-assets";
const OLD_ASSETS = "frostguard-assets";

interface ContainerDef {
  name: string;
  command: string[];
  environment: { name: string; value: string }[];
  secrets: { name: string; valueFrom: string }[];
}

/** The old side's secret files as the program renders them (the values the restore container must get too). */
const OLD_SECRET_FILES = renderSecretFiles({
  target: "vm",
  dbAppPassword: "olddbapp" + rnd(),
  redisPassword: "redis" + rnd(),
  jwtSecret: JWT,
  ttnEncryptionSalt: SALT,
  grafanaAdminPassword: "grafana" + rnd(),
  backupEncryptionKey: BACKUP_KEY,
  user: {},
  db: { host: "postgres", port: 5432, adminUser: "postgres", adminPassword: OLD_ADMIN_PW, adminDatabase: "postgres" },
  objectStore: {
    endpoint: "http://objectstore:8333",
    region: "us-east-1",
    accessKey: "AK" + rnd(),
    secretKey: "SK" + rnd(),
    provider: "SeaweedFS",
    buckets: { assets: OLD_ASSETS, backups: "frostguard-backups" },
  },
});

describe("tools: a move onto aws end to end: bin/move-export --push-s3 -> move-import fetch -> restore (real PostgreSQL x2, one S3 stand-in)", function () {
  this.timeout(300_000);
  let root = "";
  let appDir = "";
  let oldPort = 0;
  let newPort = 0;
  let oldS3: S3Standin | undefined;
  let awsS3: S3Standin | undefined;
  const clusters: PgCluster[] = [];
  let userland: ScriptUserland;
  let awsPort = 0;
  let proxy: http.Server | undefined;
  let proxyPort = 0;
  /** Host names the fetch asked the proxy to connect to (CONNECT host:port). */
  const tunnels: string[] = [];
  let caCert = "";
  let rdsCaPem = "";
  let oldConf = "";
  /** The old side's store remote (release.json). */
  let oldRemote = "";
  let awsConf = "";
  let pushEnv: NodeJS.ProcessEnv = {};
  /** What the docker stand-in's redis answers the dump with for each key (valkey-cli escapes). */
  let stubPayload = "";
  let fetchDef: ContainerDef;
  let restoreDef: ContainerDef;
  let queueDef: ContainerDef;
  /** The new side's ElastiCache stand-in (TLS only, the AUTH token) and the CA the queue container trusts. */
  let redis: RedisServer;
  let redisCa = "";
  /** Every output of the chain's three steps (checked for secret values). */
  const outputs: { step: string; r: RunResult }[] = [];

  const asNobody = (cmd: string, env: Record<string, string> = {}, shell = "sh") => runAsNobody(cmd, env, shell, 180_000);
  const scriptShell = () => userland.shell;
  const scriptPath = (rest: string) => userland.path(rest);
  /** psql as the cluster's superuser over the unix socket (port: which cluster). */
  const q = async (port: number, db: string, sql: string) => {
    const pw = port === oldPort ? OLD_ADMIN_PW : NEW_ADMIN_PW;
    const r = await asNobody(`${PG_BIN}/psql -X -At -v ON_ERROR_STOP=1 -h ${root} -p ${port} -U postgres -d ${db} -c "$SQL"`, { SQL: sql, PGPASSWORD: pw });
    assert.equal(r.code, 0, r.stderr);
    return r.stdout.split("\n").filter((l) => l.length > 0);
  };
  const oldQ = (sql: string) => q(oldPort, DB_NAME, sql);
  const newQ = (sql: string) => q(newPort, DB_NAME, sql);
  /** The test's own view of a bucket (the real rclone, its own config). */
  const rcloneAs = (conf: string, args: string[]) => run("/usr/bin/rclone", ["--config", conf, ...args], { env: pushEnv });

  const cred = () =>
    JSON.stringify({
      access_key_id: AWS_KEY_ID,
      secret_access_key: AWS_SECRET,
      region: REGION,
      assets_region: ASSETS_REGION,
      backups_bucket: BACKUPS,
      assets_bucket: ASSETS,
      kms_key_arn: KMS_ARN,
    });
  const push = async () => {
    const r = await run(path.join(appDir, "current", "bin", "move-export"), ["--push-s3"], { env: pushEnv, input: cred(), timeoutMs: 180_000 });
    outputs.push({ step: "push", r });
    assert.equal(r.code, 0, r.stderr);
    return r;
  };
  const envOf = (def: ContainerDef) => Object.fromEntries(def.environment.map((e) => [e.name, e.value]));
  /** The fetch container: its own command and environment; the scratch volume and the task role replaced. */
  const fetch = async (name: string) => {
    const moveDir = path.join(root, name);
    fs.mkdirSync(moveDir);
    chownR(moveDir);
    const env = {
      ...envOf(fetchDef),
      MOVE_DIR: moveDir,
      RCLONE_CONFIG: path.join(moveDir, ".rclone.conf"),
      XDG_CACHE_HOME: path.join(moveDir, ".cache"),
      PATH: scriptPath("/usr/bin:/bin"),
      // The task role's stand-in: rclone's env_auth reads these; AWS S3 is the stand-in over HTTPS.
      AWS_ACCESS_KEY_ID: "S3RVER",
      AWS_SECRET_ACCESS_KEY: "S3RVER",
      RCLONE_S3_ENDPOINT: "https://s3.standin.test",
      HTTPS_PROXY: `http://127.0.0.1:${proxyPort}`,
      NO_PROXY: "",
      SSL_CERT_FILE: caCert,
    };
    const r = await asNobody(fetchDef.command[0], env, scriptShell());
    outputs.push({ step: `fetch ${name}`, r });
    return { r, moveDir };
  };
  /** The queue container (then the restore container, as the task runs them): REDIS_URL as connection-urls.ts builds it. */
  const restore = async (moveDir: string, over: Record<string, string> = {}) => {
    const q = await asNobody(
      queueDef.command[0],
      {
        ...envOf(queueDef),
        MOVE_DIR: moveDir,
        PATH: scriptPath(`${path.join(root, "valkey-bin")}:/usr/bin:/bin`),
        REDIS_URL: redisUrl(REDIS_TOKEN, "localhost").replace(":6379", `:${redis.port}`),
        REDIS_CA_FILE: redisCa,
      },
      scriptShell(),
    );
    outputs.push({ step: "queue", r: q });
    assert.equal(q.code, 0, q.stderr + q.stdout);
    return restoreOnly(moveDir, over);
  };
  /** The restore container: its command and environment, its secrets from the old side's rendered files. */
  const restoreOnly = async (moveDir: string, over: Record<string, string> = {}) => {
    const env = {
      ...envOf(restoreDef),
      MOVE_DIR: moveDir,
      PGSSLROOTCERT: caFile(),
      TMPDIR: path.join(root, "tmp"),
      PATH: scriptPath(`${PG_BIN}:/usr/bin:/bin`),
      DATABASE_URL: restoreDatabaseUrl(),
      // What the old host's secret files hold (one stack: Secrets Manager has the same values).
      JWT_SECRET: fs.readFileSync(path.join(appDir, "secrets", "app", "JWT_SECRET"), "utf8"),
      TTN_ENCRYPTION_SALT: fs.readFileSync(path.join(appDir, "secrets", "app", "TTN_ENCRYPTION_SALT"), "utf8"),
      ...over,
    };
    assert.deepEqual(
      Object.keys(env).filter((k) => restoreDef.secrets.some((s) => s.name === k)),
      ["DATABASE_URL", "JWT_SECRET", "TTN_ENCRYPTION_SALT"],
      "every secret the container gets is set",
    );
    const r = await asNobody(restoreDef.command[0], env, scriptShell());
    outputs.push({ step: "restore", r });
    return r;
  };
  const caFile = () => path.join(root, "tmp", "rds-ca.pem");
  /** DATABASE_URL as connection-urls.ts builds it for the app role; only port, CA file and (no DNS here) hostaddr differ. */
  const restoreDatabaseUrl = () => {
    const aws = databaseUrl(DB_USER, APP_PW, "localhost", DB_NAME);
    const url = aws.replace(":5432/", `:${newPort}/`).replace(encodeURIComponent(RDS_CA_FILE), encodeURIComponent(caFile()));
    assert.notEqual(url, aws);
    return `${url}&hostaddr=127.0.0.1`;
  };
  const reportOf = (r: RunResult): MoveImportReport => {
    const lines = r.stdout.split("\n").filter((l) => l.startsWith(`${MOVE_IMPORT_MARKER} `));
    assert.equal(lines.length, 1, `one report line expected:\n${r.stdout}\n${r.stderr}`);
    const json = JSON.parse(lines[0].slice(MOVE_IMPORT_MARKER.length + 1));
    assert.deepEqual(moveImportLogLine(r.stdout), json);
    return json;
  };
  /** `schema.table -> rows` of the old database, counted here (quote_ident names). */
  const oldCounts = async () => {
    const out: Record<string, [number, number]> = {};
    const names = await oldQ(
      "SELECT quote_ident(schemaname) || '.' || quote_ident(tablename) FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema')",
    );
    for (const t of names) {
      const n = Number((await oldQ(`SELECT count(*) FROM ${t}`))[0]);
      out[t] = [n, n];
    }
    return out;
  };
  const uploadsSize = async (conf: string, remote: string) => {
    const r = await rcloneAs(conf, ["size", "--json", "--fast-list", remote]);
    assert.equal(r.code, 0, r.stderr);
    const s = JSON.parse(r.stdout) as { count: number; bytes: number };
    return [s.count, s.bytes];
  };

  before(async () => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), "ft-move-aws-chain-"));
    fs.chmodSync(root, 0o755);
    // nobody runs both clusters (data directories and sockets here) and the task's scripts.
    fs.chownSync(root, NOBODY, NOBODY);
    fs.mkdirSync(path.join(root, "tmp"));
    userland = imageUserland(path.join(root, "bb"));

    // The rendered vm release, as bin/deploy unpacks it.
    const files = renderedVmRelease();
    assert.ok(files["bin/move-export"], "the rendered release ships bin/move-export");
    let rel: string;
    ({ appDir, rel } = installRelease(root, files));

    // TLS: one test CA for the AWS S3 stand-in (path style at localhost for the push, virtual-host
    // style under s3.standin.test for the fetch) and another standing in for the RDS roots.
    const tls = path.join(root, "tls");
    const s3Ca = makeTestCa(tls, "ft-aws-s3-stand-in-ca", "s3ca");
    const s3Cert = issueServerCert(s3Ca, tls, ["localhost", "s3.standin.test", "*.s3.standin.test"], "s3");
    caCert = s3Ca.cert;
    const rdsCa = makeTestCa(tls, "Test RDS Root CA", "rdsca");
    const pgCert = issueServerCert(rdsCa, tls, ["localhost"], "pg");
    rdsCaPem = fs.readFileSync(rdsCa.cert, "utf8");
    // The ElastiCache stand-in: TLS only under a CA of its own, the AUTH token.
    const redisTlsCa = makeTestCa(tls, "Test ElastiCache CA", "redisca");
    const redisCert = issueServerCert(redisTlsCa, tls, ["localhost"], "redis");
    redisCa = redisTlsCa.cert;
    redis = await startRedis(root, "aws-redis", REDIS_TOKEN, { ...redisCert, ca: redisTlsCa.cert });
    linkValkeyCli(path.join(root, "valkey-bin"));
    // A payload as a host's redis dumps it (the old host's redis is the docker stand-in's).
    redis.cli(["SET", "k", "queued"]);
    const dumped = redis
      .cli(["EVAL", queueDumpCommand().slice('EVAL "'.length, -" 0".length - 1), "0", "0", "10"])
      .toString()
      .split("\n")[1];
    stubPayload = dumped.replace(/^RESTORE "[^"]*" 0 "([^"]*)" REPLACE$/, "$1");
    assert.notEqual(stubPayload, dumped);
    redis.cli(["FLUSHALL"]);
    fs.writeFileSync(path.join(root, "oldpw"), OLD_ADMIN_PW + "\n");
    fs.writeFileSync(path.join(root, "newpw"), NEW_ADMIN_PW + "\n");
    chownR(path.join(root, "oldpw"));
    chownR(path.join(root, "newpw"));
    chownR(path.join(root, "tmp"));
    chownR(path.join(root, "bb"));
    chownR(tls);

    // Two PostgreSQL 15 clusters as nobody: the old host's (plain TCP, as release.json says)
    // and the new side's (TLS only over TCP: the RDS stand-in).
    const cluster = async (name: string, pwFile: string, tls?: { cert: string; key: string; only: boolean }) => {
      const c = await startPgCluster({
        user: "nobody",
        socketDir: root,
        dataDir: `${root}/${name}`,
        logFile: `${root}/${name}.log`,
        pwFile,
        noSync: true,
        tls,
      });
      clusters.push(c);
      return c.port;
    };
    oldPort = await cluster("pg-old", path.join(root, "oldpw"));
    newPort = await cluster("pg-new", path.join(root, "newpw"), { ...pgCert, only: true });

    // The old side's data: a serial with a gap, a bigserial, a quoted table (mixed case, a space) with an
    // identity column, an empty table, a sequence never called, a second schema.
    await q(oldPort, "postgres", `CREATE DATABASE ${DB_NAME}`);
    await oldQ(
      [
        "CREATE TABLE sensors (id serial PRIMARY KEY, name text)",
        "INSERT INTO sensors (name) SELECT 'fridge-' || g FROM generate_series(1, 12) g",
        "DELETE FROM sensors WHERE id > 9",
        "CREATE TABLE readings (id bigserial PRIMARY KEY, sensor int REFERENCES sensors, c numeric)",
        "INSERT INTO readings (sensor, c) SELECT 1 + g % 9, g / 10.0 FROM generate_series(1, 1500) g",
        'CREATE TABLE "Sensor Log" (id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, note text)',
        `INSERT INTO "Sensor Log" (note) VALUES ('a'), ('b'), (E'multi\\nline')`,
        "CREATE TABLE empty_table (x int)",
        "CREATE SCHEMA audit",
        "CREATE TABLE audit.events (id int, what text)",
        "INSERT INTO audit.events SELECT g, 'e' || g FROM generate_series(1, 7) g",
        "CREATE SEQUENCE audit.never_called_seq START 42",
      ].join("; "),
    );

    // The new side: a non-superuser app role owning the app database, whose migrations already ran once.
    await q(newPort, "postgres", `CREATE ROLE ${DB_USER} LOGIN PASSWORD '${APP_PW}'`);
    await q(newPort, "postgres", `CREATE DATABASE ${DB_NAME} OWNER ${DB_USER}`);
    const mig = await asNobody(`${PG_BIN}/psql -X -v ON_ERROR_STOP=1 -d "$URL" -c 'CREATE TABLE readings (id serial PRIMARY KEY)'`, {
      URL: `postgresql://${DB_USER}@localhost:${newPort}/${DB_NAME}?hostaddr=127.0.0.1&sslmode=verify-full&sslrootcert=${encodeURIComponent(rdsCa.cert)}`,
      PGPASSWORD: APP_PW,
    });
    assert.equal(mig.code, 0, mig.stderr);

    // The old side's object store (plain HTTP) and the AWS S3 stand-in (HTTPS).
    oldS3 = await startS3rver({ directory: path.join(root, "s3-old"), buckets: [OLD_ASSETS, "frostguard-backups"] });
    // The push user's key, known to the stand-in.
    addS3rverKey(AWS_KEY_ID, AWS_SECRET);
    // BUCKET.s3.standin.test: rclone's provider AWS always speaks virtual-host style.
    awsS3 = await startS3rver({ directory: path.join(root, "s3-aws"), buckets: [BACKUPS, ASSETS], tls: s3Cert, serviceEndpoint: "standin.test" });
    awsPort = awsS3.port;
    // "DNS" for *.standin.test: a CONNECT proxy that tunnels every such name to the stand-in (TLS end to end).
    proxy = http.createServer((_req, res) => res.writeHead(405).end());
    proxy.on("connect", (req: http.IncomingMessage, client: net.Socket, head: Buffer) => {
      const target = req.url ?? "";
      tunnels.push(target);
      if (!/^[a-z0-9.-]+\.standin\.test:443$/.test(target)) {
        client.end("HTTP/1.1 403 Forbidden\r\n\r\n");
        return;
      }
      const up = net.connect(awsPort, "127.0.0.1", () => {
        client.write("HTTP/1.1 200 Connection Established\r\n\r\n");
        if (head.length) up.write(head);
        up.pipe(client);
        client.pipe(up);
      });
      up.on("error", () => client.destroy());
      client.on("error", () => up.destroy());
    });
    await new Promise<void>((resolve) => proxy!.listen(0, "127.0.0.1", resolve));
    proxyPort = (proxy.address() as { port: number }).port;

    // The old host: release.json's database at the old cluster, its secret files.
    const stores = pointAtTestStores(appDir, rel, { pgPort: oldPort, adminPassword: OLD_ADMIN_PW, backupKey: BACKUP_KEY, s3Port: oldS3.port });
    const relJson = stores.relJson;
    oldConf = stores.rcloneConf;
    assert.equal(relJson.assets_bucket, OLD_ASSETS);
    // The lasting secrets exactly as the program renders them (no trailing newline).
    for (const f of ["app/JWT_SECRET", "app/TTN_ENCRYPTION_SALT"]) writeSecret(appDir, f, OLD_SECRET_FILES[f].content);
    writeSecret(appDir, "redis/password", HOST_REDIS_PW);
    // The host's redis (the docker stand-in's: "KEYS EXPIRES" per side, each key's payload stubPayload).
    for (const [side, counts] of [
      ["old", "3 1"],
      ["new", "5 2"],
    ]) {
      fs.mkdirSync(path.join(root, "redis", side, "appendonlydir"), { recursive: true });
      fs.writeFileSync(path.join(root, "redis", side, "appendonlydir", "keys"), counts);
    }
    assert.equal(fs.readFileSync(path.join(appDir, "secrets", "app", "JWT_SECRET"), "utf8"), JWT);
    awsConf = path.join(root, "aws-test.conf");
    fs.writeFileSync(awsConf, s3rverRcloneConf(["aws"], `https://localhost:${awsPort}`, REGION));

    const stubDir = stubDocker(path.join(root, "stub"));
    pushEnv = {
      ...baseEnv,
      PATH: `${stubDir}:${PG_BIN}:${process.env.PATH}`,
      FT_PG_BIN: PG_BIN,
      FT_RCLONE: "host",
      FT_MOVE_S3_ENDPOINT: `https://localhost:${awsPort}`,
      // Go (rclone) trusts exactly the stand-in's CA.
      SSL_CERT_FILE: caCert,
      FT_STUB_LOG: path.join(root, "docker.log"),
      FT_MOVE_SETTLE_SECONDS: "0",
      FT_STUB_REDIS_DIR: path.join(root, "redis"),
      FT_STUB_REDIS_PAYLOAD: stubPayload,
    };

    // The old uploads bucket; and something stale in the new assets bucket (the sync removes it).
    const remote = relJson.backup.store_remote || relJson.backup.remote;
    oldRemote = remote;
    for (const [i, body] of ["first upload", crypto.randomBytes(70_000), "third", ""].entries()) {
      const f = path.join(root, `obj${i}`);
      fs.writeFileSync(f, body);
      assert.equal((await rcloneAs(oldConf, ["copyto", f, `${remote}:${OLD_ASSETS}/org-${i}/photos/u${i}.bin`])).code, 0);
    }
    fs.writeFileSync(path.join(root, "stale"), "stale");
    assert.equal((await rcloneAs(awsConf, ["copyto", path.join(root, "stale"), `aws:${ASSETS}/stale/left-over.bin`])).code, 0);

    // The aws task's containers as the program defines them.
    const defs = JSON.parse(
      moveImportContainerDefinitions({
        postgresImage: "postgres:15-alpine",
        rcloneImage: "rclone/rclone:1.66",
        redisImage: "valkey/valkey:8.1.3-alpine@sha256:cccc",
        dbName: DB_NAME,
        rdsCa: rdsCaPem,
        backupsBucket: BACKUPS,
        assetsBucket: ASSETS,
        region: REGION,
        assetsRegion: ASSETS_REGION,
        logGroup: "/freshtrack/test/move-import",
        secretArns: Object.fromEntries(
          ["DATABASE_URL", "JWT_SECRET", "TTN_ENCRYPTION_SALT", "REDIS_URL"].map((e) => [e, `arn:aws:secretsmanager:${REGION}:1:secret:${e}`]),
        ),
      }),
    ) as ContainerDef[];
    fetchDef = defs.find((d) => d.name === MOVE_IMPORT_CONTAINERS.fetch)!;
    queueDef = defs.find((d) => d.name === MOVE_IMPORT_CONTAINERS.queue)!;
    restoreDef = defs.find((d) => d.name === MOVE_IMPORT_CONTAINERS.restore)!;
    assert.equal(fetchDef.command[0], moveFetchScript());
    assert.equal(restoreDef.command[0], moveRestoreScript(DB_NAME));
    assert.equal(envOf(restoreDef)[RDS_CA_ENV], rdsCaPem);
  });

  after(async () => {
    redis?.stop();
    proxy?.close();
    await oldS3?.close().catch(() => undefined);
    await awsS3?.close().catch(() => undefined);
    if (root) {
      for (const c of clusters) await c.stop();
      fs.rmSync(root, { recursive: true, force: true });
    }
  });

  it("push -> fetch -> restore: every text equal, ok, exit 0; rows, sequences and owners as on the old side", async () => {
    const expectedTables = await oldCounts();
    assert.deepEqual(Object.keys(expectedTables).sort(), ["audit.events", 'public."Sensor Log"', "public.empty_table", "public.readings", "public.sensors"]);
    const oldObjects = await uploadsSize(oldConf, `${oldRemote}:${OLD_ASSETS}`);
    assert.deepEqual(oldObjects, [4, 12 + 70_000 + 5]);

    const pushed = await push();
    const manifest = JSON.parse(pushed.stdout.trim().split("\n").pop()!);
    assert.deepEqual(manifest.objects, { count: 4, bytes: 70_017 });

    const { r: f, moveDir } = await fetch("fetched");
    assert.equal(f.code, 0, f.stderr + f.stdout);
    assert.match(f.stdout, new RegExp(`s3://${ASSETS} holds 4 objects, 70017 bytes`));
    assert.deepEqual(
      [...new Set(tunnels.map((t) => t.replace(/:443$/, "")))].sort(),
      [`${ASSETS}.s3.standin.test`, `${BACKUPS}.s3.standin.test`],
      "the fetch reached both buckets through the stand-in, virtual-host style over TLS",
    );
    for (const o of Object.values(MOVE_OBJECTS)) assert.ok(fs.existsSync(path.join(moveDir, o)), `${o} fetched`);
    assert.equal(fs.readFileSync(path.join(moveDir, MOVE_ASSETS_SIZE_FILE), "utf8"), "4 70017\n");

    const r = await restore(moveDir);
    assert.equal(r.code, 0, `${r.stderr}\n${r.stdout}`);
    assert.deepEqual(reportOf(r), {
      tables_equal: true,
      sequences_equal: true,
      objects_equal: true,
      secrets_equal: true,
      tables: expectedTables,
      objects: { old: oldObjects, new: oldObjects },
      // No redis runs on this old host (the plain docker stand-in): no queue travelled.
      queue: null,
      queue_equal: null,
      ok: true,
    });
    assert.deepEqual(expectedTables["public.readings"], [1500, 1500]);
    assert.deepEqual(expectedTables["public.sensors"], [9, 9]);

    // Row counts on the new side, counted here.
    for (const [t, [n]] of Object.entries(expectedTables)) assert.deepEqual(await newQ(`SELECT count(*) FROM ${t}`), [String(n)], t);
    // Every sequence continues where the old side stopped (nextval on both sides).
    const seqs = await oldQ(
      "SELECT n FROM (SELECT quote_ident(schemaname) || '.' || quote_ident(sequencename) AS n FROM pg_sequences) s ORDER BY n COLLATE \"C\"",
    );
    assert.deepEqual(seqs, ["audit.never_called_seq", 'public."Sensor Log_id_seq"', "public.readings_id_seq", "public.sensors_id_seq"]);
    const nextvals = (run: (sql: string) => Promise<string[]>) => run(`SELECT ${seqs.map((s) => `nextval('${s.replace(/'/g, "''")}')`).join(", ")}`);
    const newNext = await nextvals(newQ);
    assert.deepEqual(newNext, await nextvals(oldQ));
    assert.deepEqual(newNext, ["42|4|1501|13"], "never called: its start; the gap of sensors kept");
    // Everything restored belongs to the app role, which is no superuser.
    assert.deepEqual(
      await newQ(
        "SELECT DISTINCT tableowner FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema') UNION SELECT DISTINCT sequenceowner FROM pg_sequences",
      ),
      [DB_USER],
    );
    assert.deepEqual(await newQ(`SELECT rolsuper FROM pg_roles WHERE rolname = '${DB_USER}'`), ["f"]);
  });

  it("rows written on the old side after the push do not fail the import: it verifies the push (a snapshot)", async () => {
    await oldQ("INSERT INTO readings (sensor, c) SELECT 1, 0 FROM generate_series(1, 25) g");
    const { r: f, moveDir } = await fetch("fetched-after-writes");
    assert.equal(f.code, 0, f.stderr);
    const r = await restore(moveDir);
    assert.equal(r.code, 0, `${r.stderr}\n${r.stdout}`);
    const report = reportOf(r);
    assert.equal(report.ok, true);
    assert.deepEqual(report.tables["public.readings"], [1500, 1500], "the pushed snapshot, not the live old database");
  });

  it("an object missing from the new assets bucket after the push: objects_equal false, ok false, exit != 0", async () => {
    const pushed = await push();
    const manifest = JSON.parse(pushed.stdout.trim().split("\n").pop()!);
    assert.equal(manifest.tables["public.readings"], 1525, "the second push has the rows written since the first");
    const del = await rcloneAs(awsConf, ["deletefile", `aws:${ASSETS}/org-2/photos/u2.bin`]);
    assert.equal(del.code, 0, del.stderr);
    const { r: f, moveDir } = await fetch("fetched-missing-object");
    assert.equal(f.code, 0, f.stderr);
    const r = await restore(moveDir);
    assert.notEqual(r.code, 0);
    const report = reportOf(r);
    assert.deepEqual(
      { t: report.tables_equal, s: report.sequences_equal, o: report.objects_equal, x: report.secrets_equal, ok: report.ok },
      { t: true, s: true, o: false, x: true, ok: false },
    );
    assert.deepEqual(report.objects, { old: [4, 70_017], new: [3, 70_012] });
    assert.match(r.stderr, /the assets bucket holds 3 objects, 70012 bytes; the old side had 4, 70017/);
    assert.equal(report.tables["public.readings"][1], 1525, "the restore itself went through");
  });

  it("a JWT secret differing between the sides: secrets_equal false, ok false, exit != 0 (values never shown)", async () => {
    // Put the object back (the push again), so that only the secret differs.
    await push();
    const { r: f, moveDir } = await fetch("fetched-secret");
    assert.equal(f.code, 0, f.stderr);
    const r = await restore(moveDir, { JWT_SECRET: JWT + "-rotated" });
    assert.notEqual(r.code, 0);
    const report = reportOf(r);
    assert.deepEqual(
      { t: report.tables_equal, s: report.sequences_equal, o: report.objects_equal, x: report.secrets_equal, ok: report.ok },
      { t: true, s: true, o: true, x: false, ok: false },
    );
    assert.match(r.stderr, /the sha256 of JWT_SECRET or TTN_ENCRYPTION_SALT differs from the old side's \(the values are not shown\)/);
  });

  // The same scripts on the NEW host of a move off aws, at a rollback after its cutover: it pushes
  // its writes back only once it took over (bin/move-import --from-s3 --start-app marked it).
  it("rollback of a move off aws: --push-s3 --freeze --back pushes nothing from a host that never took over; from one that did, fetch -> restore of its push: ok, its rows in RDS", async () => {
    const state = (...p: string[]) => path.join(appDir, "state", ...p);
    const backEnv = {
      ...pushEnv,
      FT_STUB_SCRIPT: STATEFUL_DOCKER_SCRIPT,
      FT_STUB_STOPPED: path.join(root, "stopped"),
      FT_STUB_SIDE: "new",
      FT_STUB_STATE: state(),
      FT_PROXY_SETTLE_SECONDS: "0",
    };
    const pushBack = async () => {
      const r = await run(path.join(appDir, "current", "bin", "move-export"), ["--push-s3", "--freeze", "--back"], {
        env: backEnv,
        input: cred(),
        timeoutMs: 180_000,
      });
      outputs.push({ step: "push back", r });
      return r;
    };
    fs.rmSync(state("move-took-over"), { force: true });
    const none = await pushBack();
    assert.equal(none.code, 0, none.stderr);
    assert.deepEqual(JSON.parse(none.stdout.trim()), { took_over: false });

    fs.writeFileSync(state("move-took-over"), "2026-12-03T12:00:00Z\n");
    await oldQ("INSERT INTO readings (sensor, c) SELECT 2, 5 FROM generate_series(1, 40) g");
    const expectedTables = await oldCounts();
    const pushed = await pushBack();
    assert.equal(pushed.code, 0, pushed.stderr);
    assert.equal(typeof JSON.parse(pushed.stdout.trim().split("\n").pop()!).freeze_started, "number", "pushed under its freeze");
    assert.match(fs.readFileSync(path.join(root, "docker.log"), "utf8"), /^stop new-backend new-worker$/m);
    const { r: f, moveDir } = await fetch("fetched-back");
    assert.equal(f.code, 0, f.stderr);
    const r = await restore(moveDir);
    assert.equal(r.code, 0, `${r.stderr}\n${r.stdout}`);
    const report = reportOf(r);
    assert.equal(report.ok, true, r.stdout);
    assert.deepEqual(report.tables, expectedTables);
    // Pushed under the freeze: the queue is judged (the new side's 5 keys, 2 with a TTL).
    assert.deepEqual([report.queue, report.queue_equal], [{ old: [5, 2], new: [5, 2] }, true]);
    assert.equal(redis.cli(["DBSIZE"]).toString().trim(), "5");
    assert.equal(redis.cli(["GET", "k4"]).toString().trim(), "queued", "a payload as a host's redis dumps it, restored");
    for (const [t, [n]] of Object.entries(expectedTables)) assert.deepEqual(await newQ(`SELECT count(*) FROM ${t}`), [String(n)], t);
  });

  it("no secret value in any step's output (push credential, JWT, salt, database passwords)", () => {
    assert.ok(outputs.some((o) => o.step === "push") && outputs.some((o) => o.step.startsWith("fetch")) && outputs.some((o) => o.step === "restore"));
    const secrets: [string, string][] = [
      ["the push's secret access key", AWS_SECRET],
      ["the JWT secret", JWT],
      ["the rotated JWT secret", JWT + "-rotated"],
      ["the TTN salt", SALT],
      ["the old side's PostgreSQL password", OLD_ADMIN_PW],
      ["the new side's admin password", NEW_ADMIN_PW],
      ["the app role's password", APP_PW],
      ["the old side's app database password", OLD_SECRET_FILES["db-setup/APP_DB_PASSWORD"].content],
      ["the backup key", BACKUP_KEY],
      ["the ElastiCache AUTH token", REDIS_TOKEN],
      ["the old host's redis password", HOST_REDIS_PW],
    ];
    for (const { step, r } of outputs)
      for (const [what, v] of secrets) assert.ok(!(r.stdout + r.stderr).includes(v), `${what} appears in the output of ${step}`);
  });
});
