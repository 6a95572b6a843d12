// The aws move-export task's shells (components/aws/move-export.ts), run for real as nobody (in
// busybox's sh, awk, sed, grep, sort, sha256sum when the host has busybox, as in the images): the
// dump script with the host's PostgreSQL 15 client against a throwaway cluster that only accepts
// TLS (DATABASE_URL as on aws: verify-full, sslrootcert = the file the script writes from
// RDS_CA_BUNDLE; a test CA stands in for the RDS one; the app role a non-superuser owning the
// database), and the upload script with the host's rclone against an S3 stand-in (s3rver; rclone's
// own RCLONE_S3_ENDPOINT / AWS_* environment instead of the task role). The texts must equal what
// a HOST computes (compose/files/bin: ft_db_dump_counts, ft_move_dump_sequence_lines,
// ft_move_secret_digest over the secret files the program renders) and what the new side's
// verification computes on the live database (FT_COUNT_SQL, FT_SEQUENCES_SQL).
import { strict as assert } from "assert";
import * as crypto from "crypto";
import * as fs from "fs";
import * as http from "http";
import * as os from "os";
import * as path from "path";
import { renderSecretFiles } from "../../compose/secret-files";
import { MOVE_EXPORT_MARKER, moveDumpScript, moveUploadScript } from "../../components/aws/move-export";
import { MOVE_COUNT_SQL, MOVE_OBJECTS, MOVE_PREFIX, MOVE_SEQUENCES_SQL } from "../../components/aws/move-import";
import { RDS_CA_ENV } from "../../components/aws/rds-ca";
import { BIN_SRC, run, RunResult } from "../fixtures/bin/harness";
import { asNobody as runAsNobody, chownToNobody as chownR, imageUserland, ScriptUserland } from "../fixtures/nobody";
import { PG15_BIN as PG_BIN, PgCluster, startPgCluster } from "../fixtures/pg-cluster";
import { RCLONE_BASE_ENV as baseEnv, S3Standin, startS3rver } from "../fixtures/s3-standin";
import { issueServerCert, makeTestCa } from "../fixtures/test-ca";

const rnd = () => crypto.randomBytes(8).toString("hex");
const ADMIN_PW = "adm" + rnd();
const APP_PW = "app" + rnd();
// Shell-special characters on purpose: the value must be hashed as it is.
const JWT = `jwt $HOME 'q' "d" ${rnd()}`;
const SALT = `salt+/=${rnd()}`;
const APP_ROLE = "frostguard_app";
const DB = "frostguard";
// A table named Sensor "Log" it's: a space and both quotes (its COPY line quotes it, doubling the ").
const ODD_IDENT = `"Sensor ""Log"" it's"`;
const FREEZE = "1767225600.123456789";

/** LC_ALL=C order (bytewise). */
const cSorted = (lines: string[]) => [...lines].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
const text = (lines: string[]) => lines.map((l) => `${l}\n`).join("");

describe("tools: the aws move-export task's dump and upload scripts (real PostgreSQL over verified TLS, real rclone + S3 stand-in)", function () {
  this.timeout(300_000);
  let dir = "";
  let port = 0;
  let pg: PgCluster | undefined;
  let s3: S3Standin | undefined;
  let proxy: http.Server | undefined;
  let proxyPort = 0;
  let userland: ScriptUserland;
  let caPem = "";
  let secretsDir = "";
  /** What the dump container wrote (the scratch volume /move). */
  let moved = "";
  /** Mutating requests the stand-in got, in order: "PUT backups/move/db.dump". */
  let writes: string[] = [];

  const asNobody = (cmd: string, env: Record<string, string> = {}, shell = "sh") => runAsNobody(cmd, env, shell, 120_000);
  const q = async (db: string, sql: string) => {
    const r = await asNobody(`${PG_BIN}/psql -X -At -v ON_ERROR_STOP=1 -h ${dir} -p ${port} -U postgres -d ${db} -c "$SQL"`, {
      SQL: sql,
      PGPASSWORD: ADMIN_PW,
    });
    assert.equal(r.code, 0, r.stderr);
    return r.stdout.split("\n").filter((l) => l.length > 0);
  };
  const caFile = () => path.join(dir, "tmp", "rds-ca.pem");
  /** The URL as connection-urls.ts builds it (verify-full, sslrootcert URL-encoded), plus hostaddr (no DNS here). */
  const databaseUrl = (db = DB) =>
    `postgresql://${APP_ROLE}:${APP_PW}@localhost:${port}/${db}?hostaddr=127.0.0.1&sslmode=verify-full&sslrootcert=${encodeURIComponent(caFile())}`;
  const dumpEnv = (moveDir: string, over: Record<string, string> = {}) => ({
    PATH: userland.path(`${PG_BIN}:/usr/bin:/bin`),
    MOVE_DIR: moveDir,
    TMPDIR: path.join(dir, "tmp"),
    DATABASE_URL: databaseUrl(),
    JWT_SECRET: JWT,
    TTN_ENCRYPTION_SALT: SALT,
    PGSSLMODE: "verify-full",
    PGSSLROOTCERT: caFile(),
    [RDS_CA_ENV]: caPem,
    ...over,
  });
  /** rclone's own environment: the stand-in's endpoint (through the proxy) and key instead of the task role. */
  const s3Env = () => ({
    AWS_ACCESS_KEY_ID: "S3RVER",
    AWS_SECRET_ACCESS_KEY: "S3RVER",
    RCLONE_S3_ENDPOINT: "http://s3.standin.test",
    HTTP_PROXY: `http://127.0.0.1:${proxyPort}`,
    NO_PROXY: "",
  });
  const uploadEnv = (moveDir: string, over: Record<string, string> = {}) => ({
    PATH: userland.path("/usr/bin:/bin"),
    MOVE_DIR: moveDir,
    BUCKET: "backups",
    AWS_REGION: "us-east-1",
    SSE_KMS_ARN: "arn:aws:kms:us-east-1:123456789012:key/0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b",
    ASSETS_BUCKET: "assets",
    ASSETS_REGION: "us-east-1",
    RCLONE_CONFIG: path.join(moveDir, ".rclone.conf"),
    XDG_CACHE_HOME: path.join(moveDir, ".cache"),
    ...s3Env(),
    ...over,
  });
  const noSecretsIn = (r: RunResult) => {
    for (const v of [ADMIN_PW, APP_PW, JWT, SALT]) assert.ok(!(r.stdout + r.stderr).includes(v), "a secret value was printed");
  };
  /** rclone against the stand-in as the test (not as the scripts). */
  const rclone = async (...args: string[]) => {
    const r = await run("rclone", [...args, "--s3-provider", "AWS", "--s3-env-auth"], { env: { ...baseEnv, ...s3Env() } });
    assert.equal(r.code, 0, r.stderr);
    return r.stdout;
  };
  /** The stand-in's objects under a bucket's prefix: name -> content. */
  const objects = async (bucket: string, prefix = "") => {
    const out: Record<string, string> = {};
    for (const name of (await rclone("lsf", "-R", "--files-only", `:s3:${bucket}/${prefix}`)).split("\n").filter(Boolean))
      out[name] = await rclone("cat", `:s3:${bucket}/${prefix}${name}`);
    return out;
  };
  /** An earlier export in move/ (and a database dump beside it that must not be touched). */
  const seedPreviousExport = async () => {
    const d = fs.mkdtempSync(path.join(dir, "seed-"));
    fs.mkdirSync(path.join(d, MOVE_PREFIX));
    fs.mkdirSync(path.join(d, "postgres"));
    for (const f of [...Object.values(MOVE_OBJECTS), "stale.txt"]) fs.writeFileSync(path.join(d, MOVE_PREFIX, f), `old ${f}\n`);
    fs.writeFileSync(path.join(d, "postgres", "frostguard-20260101T000000Z.dump"), "a scheduled dump\n");
    await rclone("copy", d, ":s3:backups");
    fs.rmSync(d, { recursive: true, force: true });
  };
  const reportOf = (r: RunResult) => {
    const lines = r.stdout.split("\n").filter((l) => l.startsWith(`${MOVE_EXPORT_MARKER} `));
    assert.equal(lines.length, 1, `one report line expected:\n${r.stdout}\n${r.stderr}`);
    assert.equal(r.stdout.trim(), lines[0], "nothing else on stdout");
    return JSON.parse(lines[0].slice(MOVE_EXPORT_MARKER.length + 1));
  };
  /** A fresh scratch volume owned by nobody. */
  const scratch = (name: string) => {
    const d = path.join(dir, name);
    fs.mkdirSync(d);
    chownR(d);
    return d;
  };

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "ft-awsexport-"));
    fs.chmodSync(dir, 0o755);
    fs.mkdirSync(path.join(dir, "tmp"));
    userland = imageUserland(path.join(dir, "bb"));
    const ca = makeTestCa(path.join(dir, "ca"), "Test RDS Root CA");
    const server = issueServerCert(ca, path.join(dir, "ca"), ["localhost"]);
    caPem = fs.readFileSync(ca.cert, "utf8");
    fs.writeFileSync(path.join(dir, "pw"), ADMIN_PW + "\n");
    chownR(dir);
    // TLS only over TCP: a connection without it is refused, so the script's verify-full is what got it in.
    pg = await startPgCluster({
      user: "nobody",
      socketDir: dir,
      dataDir: `${dir}/data`,
      logFile: `${dir}/pg.log`,
      pwFile: path.join(dir, "pw"),
      noSync: true,
      tls: { ...server, only: true },
    });
    port = pg.port;

    // This side's app database, made by its non-superuser app role (as its migrations would): a
    // serial, the odd name with an identity, an empty table, a sequence never called, a
    // descending one, a second schema.
    await q("postgres", `CREATE ROLE ${APP_ROLE} LOGIN PASSWORD '${APP_PW}'`);
    await q("postgres", `CREATE DATABASE ${DB} OWNER ${APP_ROLE}`);
    const made = await asNobody(`${PG_BIN}/psql -X -q -v ON_ERROR_STOP=1 -d "$URL" -c "$SQL"`, {
      URL: `postgresql://${APP_ROLE}@localhost:${port}/${DB}?hostaddr=127.0.0.1&sslmode=verify-full&sslrootcert=${encodeURIComponent(ca.cert)}`,
      PGPASSWORD: APP_PW,
      SQL: [
        "CREATE TABLE readings (id serial PRIMARY KEY, c numeric)",
        "INSERT INTO readings (c) SELECT g / 10.0 FROM generate_series(1, 250) g",
        "DELETE FROM readings WHERE id > 240",
        `CREATE TABLE ${ODD_IDENT} (id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, note text)`,
        // A row that looks like a setval line and one with a newline: data, never counted as anything else.
        `INSERT INTO ${ODD_IDENT} (note) VALUES ('a'), (E'multi\\nline'), ('SELECT pg_catalog.setval(''public.fake'', 9, true);')`,
        "CREATE TABLE empty_table (x int)",
        "CREATE SEQUENCE never_called_seq START 42",
        "CREATE SEQUENCE down_seq INCREMENT -1 MINVALUE -100 MAXVALUE -1 START -5",
        "SELECT nextval('down_seq')",
        "CREATE SCHEMA audit",
        "CREATE TABLE audit.events (id int, what text)",
        "INSERT INTO audit.events SELECT g, 'e' || g FROM generate_series(1, 7) g",
      ].join("; "),
    });
    assert.equal(made.code, 0, made.stderr);
    assert.deepEqual(await q("postgres", `SELECT rolsuper FROM pg_roles WHERE rolname = '${APP_ROLE}'`), ["f"]);

    // The host's lasting secret files, as the program renders them for a vm.
    const files = renderSecretFiles({
      target: "vm",
      dbAppPassword: "dbapp" + rnd(),
      redisPassword: "redis" + rnd(),
      jwtSecret: JWT,
      ttnEncryptionSalt: SALT,
      grafanaAdminPassword: "grafana" + rnd(),
      backupEncryptionKey: crypto.randomBytes(32).toString("base64"),
      user: {},
      db: { host: "postgres", port: 5432, adminUser: "postgres", adminPassword: ADMIN_PW, adminDatabase: "postgres" },
      objectStore: {
        endpoint: "http://objectstore:8333",
        region: "us-east-1",
        accessKey: "AK" + rnd(),
        secretKey: "SK" + rnd(),
        provider: "SeaweedFS",
        buckets: { assets: "frostguard-assets", backups: "frostguard-backups" },
      },
    });
    secretsDir = path.join(dir, "secrets");
    for (const f of ["app/JWT_SECRET", "app/TTN_ENCRYPTION_SALT"]) {
      fs.mkdirSync(path.dirname(path.join(secretsDir, f)), { recursive: true });
      fs.writeFileSync(path.join(secretsDir, f), files[f].content, { mode: 0o600 });
    }

    // The S3 stand-in: this side's backups bucket and its assets bucket with 3 objects.
    // rclone's provider AWS always speaks virtual-host style: BUCKET.s3.standin.test (.test never resolves).
    s3 = await startS3rver({ directory: path.join(dir, "s3"), buckets: ["backups", "first", "assets"], serviceEndpoint: "standin.test" });
    s3.httpServer.on("request", (req: http.IncomingMessage) => {
      if (req.method === "GET" || req.method === "HEAD") return;
      // Virtual-host style names the bucket in Host (s3rver may have put it into the path already).
      const bucket = (req.headers.host ?? "").split(".")[0];
      const p = decodeURIComponent((req.url ?? "").replace(/^\//, ""));
      writes.push(`${req.method} ${p.startsWith(`${bucket}/`) ? p : `${bucket}/${p}`}`);
    });
    const s3Port = s3.port;
    // rclone reaches "http://s3.standin.test" only through this proxy, which hands every request to the
    // stand-in unchanged (path, Host and the signature over them).
    proxy = http.createServer((req, res) => {
      const fwd = http.request(
        { host: "127.0.0.1", port: s3Port, method: req.method, path: (req.url ?? "/").replace(/^http:\/\/[^/]+/, ""), headers: req.headers },
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
    const assets = path.join(dir, "assets");
    fs.mkdirSync(path.join(assets, "org-1"), { recursive: true });
    fs.writeFileSync(path.join(assets, "org-1", "a.jpg"), crypto.randomBytes(70_000));
    fs.writeFileSync(path.join(assets, "org-1", "b.pdf"), crypto.randomBytes(4_000));
    fs.writeFileSync(path.join(assets, "c.txt"), crypto.randomBytes(97));
    await rclone("copy", assets, ":s3:assets");
  });

  after(async () => {
    if (proxy) proxy.close();
    if (s3) await s3.close();
    if (dir) {
      await pg?.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  /** What a host's bin/move-export computes from this dump and its secret files (step_count, step_push_texts). */
  const hostTexts = async (dump: string) => {
    const work = fs.mkdtempSync(path.join(dir, "host-"));
    const r = await run(
      "bash",
      [
        "-c",
        [
          "set -Eeuo pipefail",
          'source "$1/move-lib.sh"',
          "SECRETS_DIR=$3",
          '"$4/pg_restore" --data-only -f - "$2" > "$5/data.sql"',
          'ft_db_dump_counts < "$5/data.sql" | LC_ALL=C sort > "$5/tables.txt"',
          'ft_move_dump_sequence_lines < "$5/data.sql" > "$5/sequences.txt"',
          `printf 'jwt_secret_sha256 %s\\nttn_encryption_salt_sha256 %s\\n' "$(ft_move_secret_digest app/JWT_SECRET)" "$(ft_move_secret_digest app/TTN_ENCRYPTION_SALT)" > "$5/secrets.txt"`,
        ].join("\n"),
        "host",
        BIN_SRC,
        dump,
        secretsDir,
        PG_BIN,
        work,
      ],
      { timeoutMs: 60_000 },
    );
    assert.equal(r.code, 0, r.stderr);
    const read = (f: string) => fs.readFileSync(path.join(work, f), "utf8");
    const out = { tables: read("tables.txt"), sequences: read("sequences.txt"), secrets: read("secrets.txt") };
    fs.rmSync(work, { recursive: true, force: true });
    return out;
  };

  it("dump: pg_dump as the app role over verified TLS; tables and secrets texts exactly as a host computes them", async () => {
    moved = scratch("move");
    const r = await asNobody(moveDumpScript(DB), dumpEnv(moved), userland.shell);
    assert.equal(r.code, 0, r.stderr + r.stdout);
    noSecretsIn(r);
    assert.match(r.stderr, new RegExp(`dumped ${DB} as ${APP_ROLE}: \\d+ bytes`));
    assert.equal(fs.readFileSync(caFile(), "utf8"), caPem + "\n", "the CA written where PGSSLROOTCERT and the URL point");
    assert.deepEqual(fs.readdirSync(moved).sort(), [MOVE_OBJECTS.dump, MOVE_OBJECTS.secrets, MOVE_OBJECTS.sequences, MOVE_OBJECTS.tables].sort());
    const read = (f: string) => fs.readFileSync(path.join(moved, f), "utf8");

    const host = await hostTexts(path.join(moved, MOVE_OBJECTS.dump));
    assert.equal(read(MOVE_OBJECTS.tables), host.tables);
    assert.equal(read(MOVE_OBJECTS.tables), `audit.events 7\npublic.${ODD_IDENT} 3\npublic.empty_table 0\npublic.readings 240\n`);
    const sha = (s: string) => crypto.createHash("sha256").update(s).digest("hex");
    assert.equal(read(MOVE_OBJECTS.secrets), host.secrets);
    assert.equal(read(MOVE_OBJECTS.secrets), `jwt_secret_sha256 ${sha(JWT)}\nttn_encryption_salt_sha256 ${sha(SALT)}\n`);

    // What the new side's verification computes on the live database (nothing wrote since the dump).
    assert.equal(read(MOVE_OBJECTS.tables), text(cSorted(await q(DB, MOVE_COUNT_SQL))));
    assert.equal(read(MOVE_OBJECTS.sequences), text(cSorted(await q(DB, MOVE_SEQUENCES_SQL))));
    assert.equal(
      read(MOVE_OBJECTS.sequences),
      `public.${ODD_IDENT.replace(/"$/, '_id_seq"')} 3 true\npublic.down_seq -5 true\npublic.never_called_seq 42 false\npublic.readings_id_seq 250 true\n`,
    );
    // The host's own reading of the same dump (move-lib.sh, used by bin/move-export --push-s3): the
    // same lines, the name with a ' (doubled by pg_dump in its string literal) included.
    assert.equal(read(MOVE_OBJECTS.sequences), host.sequences);
  });

  it("dump: the counts describe the dump, not the database after it (the app writes on during prepare)", async () => {
    // pg_dump's snapshot vs rows written right after: a pg_dump that inserts once it has dumped.
    const d = scratch("move-racing");
    const wrapper = path.join(dir, "racing-bin");
    fs.mkdirSync(wrapper);
    fs.writeFileSync(
      path.join(wrapper, "pg_dump"),
      `#!/bin/sh\n"${PG_BIN}/pg_dump" "$@" || exit $?\n"${PG_BIN}/psql" -X -q -v ON_ERROR_STOP=1 -d "$DATABASE_URL" -c 'INSERT INTO readings (c) VALUES (1), (2)'\n`,
      { mode: 0o755 },
    );
    chownR(wrapper);
    const r = await asNobody(moveDumpScript(DB), { ...dumpEnv(d), PATH: userland.path(`${wrapper}:${PG_BIN}:/usr/bin:/bin`) }, userland.shell);
    assert.equal(r.code, 0, r.stderr);
    assert.match(fs.readFileSync(path.join(d, MOVE_OBJECTS.tables), "utf8"), /^public\.readings 240$/m);
    assert.match(fs.readFileSync(path.join(d, MOVE_OBJECTS.sequences), "utf8"), /^public\.readings_id_seq 250 true$/m);
    assert.deepEqual(await q(DB, "SELECT count(*) FROM readings"), ["242"]);
    await q(DB, "DELETE FROM readings WHERE id > 250");
    await q(DB, "SELECT setval('readings_id_seq', 250)");
  });

  it("upload: the previous export goes (manifest.json first), the eight objects arrive, manifest.json last; the marker line", async () => {
    // What the queue container leaves (tests/tools/move-queue.test.ts runs it against a redis-server).
    fs.writeFileSync(path.join(moved, MOVE_OBJECTS.queue), 'RESTORE "\\x61" 0 "\\x00" REPLACE\nRESTORE "\\x62" 5000 "\\x00" REPLACE\n');
    fs.writeFileSync(path.join(moved, MOVE_OBJECTS.queueCounts), "2 1 true\n");
    await seedPreviousExport();
    writes = [];
    const r = await asNobody(moveUploadScript(), uploadEnv(moved, { MOVE_FREEZE_STARTED: FREEZE }), userland.shell);
    assert.equal(r.code, 0, r.stderr + r.stdout);
    noSecretsIn(r);

    const exported = await objects("backups", `${MOVE_PREFIX}/`);
    assert.deepEqual(Object.keys(exported).sort(), Object.values(MOVE_OBJECTS).sort(), "exactly the eight: stale.txt is gone");
    for (const f of [MOVE_OBJECTS.tables, MOVE_OBJECTS.sequences, MOVE_OBJECTS.secrets, MOVE_OBJECTS.queue, MOVE_OBJECTS.queueCounts])
      assert.equal(exported[f], fs.readFileSync(path.join(moved, f), "utf8"), f);
    const dumpBytes = fs.statSync(path.join(moved, MOVE_OBJECTS.dump)).size;
    await rclone("copyto", `:s3:backups/${MOVE_PREFIX}/${MOVE_OBJECTS.dump}`, path.join(dir, "downloaded.dump"));
    assert.deepEqual(fs.readFileSync(path.join(dir, "downloaded.dump")), fs.readFileSync(path.join(moved, MOVE_OBJECTS.dump)));
    assert.equal(exported[MOVE_OBJECTS.objects], `3 ${70_000 + 4_000 + 97}\n`, "COUNT BYTES as the host writes it");
    const manifest = JSON.parse(exported[MOVE_OBJECTS.manifest]);
    assert.deepEqual(Object.keys(manifest), ["source", "created", "freeze_started"]);
    assert.equal(manifest.source, "aws");
    assert.ok(Math.abs(manifest.created - Date.now() / 1000) < 300, `created ${manifest.created}`);
    assert.equal(manifest.freeze_started, Number(FREEZE));
    assert.deepEqual(await objects("backups", "postgres/"), { "frostguard-20260101T000000Z.dump": "a scheduled dump\n" }, "the dumps untouched");

    // Order: every delete before any upload, the old manifest the first delete, the new one the last upload.
    const all = writes.join("\n");
    const deletes = [...Object.values(MOVE_OBJECTS), "stale.txt"].map((f) => `DELETE backups/${MOVE_PREFIX}/${f}`);
    const firstPut = writes.findIndex((w) => w.startsWith("PUT "));
    assert.equal(writes[0], `DELETE backups/${MOVE_PREFIX}/${MOVE_OBJECTS.manifest}`, all);
    // The deletes as a set: the same DELETE may reach the stand-in twice (idempotent; seen now and then).
    assert.deepEqual([...new Set(writes.slice(0, firstPut))].sort(), deletes.sort(), all);
    assert.deepEqual(
      writes.slice(firstPut),
      [
        MOVE_OBJECTS.dump,
        MOVE_OBJECTS.queue,
        MOVE_OBJECTS.queueCounts,
        MOVE_OBJECTS.tables,
        MOVE_OBJECTS.sequences,
        MOVE_OBJECTS.objects,
        MOVE_OBJECTS.secrets,
        MOVE_OBJECTS.manifest,
      ].map((f) => `PUT backups/${MOVE_PREFIX}/${f}`),
      all,
    );

    assert.deepEqual(reportOf(r), {
      tables: 4,
      sequences: 4,
      objects: { count: 3, bytes: 74097 },
      queue: { keys: 2, expires: 1 },
      dump_bytes: dumpBytes,
      freeze_started: Number(FREEZE),
    });
  });

  it("upload: without a freeze (prepare) freeze_started is null; a re-run replaces the export", async () => {
    const r = await asNobody(moveUploadScript(), uploadEnv(moved), userland.shell);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(reportOf(r).freeze_started, null);
    const exported = await objects("backups", `${MOVE_PREFIX}/`);
    assert.equal(JSON.parse(exported[MOVE_OBJECTS.manifest]).freeze_started, null);
    assert.deepEqual(Object.keys(exported).sort(), Object.values(MOVE_OBJECTS).sort());
  });

  it("upload: the first export (nothing under move/ yet, an empty bucket) goes through the same way", async () => {
    writes = [];
    const r = await asNobody(moveUploadScript(), uploadEnv(moved, { BUCKET: "first" }), userland.shell);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(reportOf(r).tables, 4);
    assert.deepEqual(Object.keys(await objects("first", `${MOVE_PREFIX}/`)).sort(), Object.values(MOVE_OBJECTS).sort());
    assert.equal(writes[writes.length - 1], `PUT first/${MOVE_PREFIX}/${MOVE_OBJECTS.manifest}`);
    assert.ok(!writes.some((w) => w.startsWith("DELETE ")), writes.join("\n"));
  });

  const refusals: [string, Record<string, string>, RegExp][] = [
    ["a MOVE_FREEZE_STARTED that is not epoch seconds", { MOVE_FREEZE_STARTED: "1767225600; rm -rf /" }, /not epoch seconds: nothing uploaded/],
    ["an assets bucket that cannot be measured", { ASSETS_BUCKET: "no-such-bucket" }, /cannot measure s3:\/\/no-such-bucket: nothing uploaded/],
  ];
  it("upload: without the queue container's queue.txt -> exit != 0, nothing uploaded", async () => {
    const partial = scratch("no-queue");
    for (const f of fs.readdirSync(moved))
      if (f !== MOVE_OBJECTS.queueCounts && fs.statSync(path.join(moved, f)).isFile()) fs.copyFileSync(path.join(moved, f), path.join(partial, f));
    chownR(partial);
    const before = await objects("backups", `${MOVE_PREFIX}/`);
    writes = [];
    const r = await asNobody(moveUploadScript(), uploadEnv(partial), userland.shell);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /queue\.txt is missing \(the queue container did not finish\): nothing uploaded/);
    assert.deepEqual(writes, []);
    assert.deepEqual(await objects("backups", `${MOVE_PREFIX}/`), before);
  });

  for (const [what, env, message] of refusals) {
    it(`upload: ${what} -> exit != 0, the previous export untouched`, async () => {
      const before = await objects("backups", `${MOVE_PREFIX}/`);
      writes = [];
      const r = await asNobody(moveUploadScript(), uploadEnv(moved, env), userland.shell);
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, message);
      assert.ok(!r.stdout.includes(MOVE_EXPORT_MARKER));
      assert.deepEqual(writes, []);
      assert.deepEqual(await objects("backups", `${MOVE_PREFIX}/`), before);
    });
  }

  const failedDumps: [string, (d: string) => Record<string, string>, RegExp][] = [
    [
      "a server certificate from another CA (verify-full)",
      () => ({ [RDS_CA_ENV]: fs.readFileSync(makeTestCa(path.join(dir, "other-ca"), "Another CA").cert, "utf8") }),
      /certificate verify failed/,
    ],
    [
      "a DATABASE_URL naming another database",
      () => ({ DATABASE_URL: databaseUrl("postgres") }),
      /names the database postgres, not frostguard: nothing exported/,
    ],
    [
      "a pg_dump that fails midway",
      () => {
        const bin = path.join(dir, "failing-bin");
        fs.mkdirSync(bin, { recursive: true });
        fs.writeFileSync(path.join(bin, "pg_dump"), `#!/bin/sh\n"${PG_BIN}/pg_dump" "$@"\nexit 1\n`, { mode: 0o755 });
        chownR(bin);
        return { PATH: userland.path(`${bin}:${PG_BIN}:/usr/bin:/bin`) };
      },
      /pg_dump of frostguard as frostguard_app failed/,
    ],
  ];
  for (const [what, env, message] of failedDumps) {
    it(`a failed dump (${what}): exit != 0, no texts; the upload then refuses and touches nothing`, async () => {
      const d = scratch(`move-failed-${failedDumps.findIndex((f) => f[0] === what)}`);
      // Left over from an earlier run in the same volume: must not pass for this one's.
      for (const f of [MOVE_OBJECTS.tables, MOVE_OBJECTS.sequences, MOVE_OBJECTS.secrets]) fs.writeFileSync(path.join(d, f), "stale\n");
      chownR(d);
      const dumped = await asNobody(moveDumpScript(DB), dumpEnv(d, env(d)), userland.shell);
      assert.notEqual(dumped.code, 0);
      assert.match(dumped.stderr, message);
      noSecretsIn(dumped);
      for (const f of [MOVE_OBJECTS.tables, MOVE_OBJECTS.sequences, MOVE_OBJECTS.secrets]) assert.ok(!fs.existsSync(path.join(d, f)), f);

      const before = await objects("backups", `${MOVE_PREFIX}/`);
      writes = [];
      const r = await asNobody(moveUploadScript(), uploadEnv(d), userland.shell);
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, /is missing \(the dump container did not finish\): nothing uploaded/);
      assert.ok(!r.stdout.includes(MOVE_EXPORT_MARKER));
      assert.deepEqual(writes, []);
      assert.deepEqual(await objects("backups", `${MOVE_PREFIX}/`), before);
    });
  }
});
