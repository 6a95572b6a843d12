// The aws move-import task's shells (components/aws/move-import.ts), run for real as nobody (in
// busybox's sh, awk, sed, grep, sort, sha256sum when the host has busybox, as in the images):
// the fetch script with the host's rclone against an S3 stand-in (s3rver; rclone's own
// RCLONE_S3_ENDPOINT / AWS_* environment instead of the task role), and the restore script
// with the host's PostgreSQL 15 client against a throwaway cluster that only accepts TLS:
// DATABASE_URL as on aws (verify-full, sslrootcert = the file the script writes from
// RDS_CA_BUNDLE; a test CA stands in for the RDS one), the app role a non-superuser owning
// the new database. The push's texts are made here by independent means (SQL on the old
// database, sha256 in node) and cross-checked against the dump as the push reads it.
import { strict as assert } from "assert";
import * as crypto from "crypto";
import * as fs from "fs";
import * as http from "http";
import * as os from "os";
import * as path from "path";
import {
  MOVE_ASSETS_SIZE_FILE,
  MOVE_IMPORT_MARKER,
  MOVE_OBJECTS,
  MOVE_PREFIX,
  moveFetchScript,
  moveImportLogLine,
  moveRestoreScript,
} from "../../components/aws/move-import";
import { QUEUE_LOADED_FILE } from "../../components/aws/move-queue";
import { RDS_CA_ENV } from "../../components/aws/rds-ca";
import { run, RunResult } from "../fixtures/bin/harness";
import { asNobody as runAsNobody, chownToNobody as chownR, imageUserland, ScriptUserland } from "../fixtures/nobody";
import { PG15_BIN as PG_BIN, PgCluster, startPgCluster } from "../fixtures/pg-cluster";
import { RCLONE_BASE_ENV as baseEnv, S3Standin, startS3rver } from "../fixtures/s3-standin";
import { issueServerCert, makeTestCa } from "../fixtures/test-ca";

const ADMIN_PW = "adm" + crypto.randomBytes(8).toString("hex");
const APP_PW = "app" + crypto.randomBytes(8).toString("hex");
const JWT = "JWTVALUE" + crypto.randomBytes(8).toString("hex");
const SALT = "SALTVALUE" + crypto.randomBytes(8).toString("hex");
const APP_ROLE = "frostguard_app";
const DB = "frostguard";

const sha256 = (s: string) => crypto.createHash("sha256").update(s).digest("hex");
/** LC_ALL=C order (bytewise; our names are ASCII). */
const cSorted = (lines: string[]) => [...lines].sort((a, b) => (Buffer.from(a) < Buffer.from(b) ? -1 : Buffer.from(a) > Buffer.from(b) ? 1 : 0));
const text = (lines: string[]) => lines.map((l) => `${l}\n`).join("");

describe("tools: the aws move-import task's fetch and restore scripts (real rclone + S3 stand-in, real PostgreSQL over verified TLS)", function () {
  this.timeout(180_000);
  let dir = "";
  let port = 0;
  let s3: S3Standin | undefined;
  let pg: PgCluster | undefined;
  let userland: ScriptUserland;
  let proxy: http.Server | undefined;
  let proxyPort = 0;
  let caPem = "";
  /** What the fetch wrote: the push's files and assets-size.txt. */
  let fetched = "";
  const push: Record<string, string> = {};

  const asNobody = (cmd: string, env: Record<string, string> = {}, shell = "sh") => runAsNobody(cmd, env, shell, 120_000);
  const scriptShell = () => userland.shell;
  const scriptPath = (rest: string) => userland.path(rest);
  const psql = (db: string, sql: string) =>
    asNobody(`${PG_BIN}/psql -X -At -v ON_ERROR_STOP=1 -h ${dir} -p ${port} -U postgres -d ${db} -c "$SQL"`, { SQL: sql, PGPASSWORD: ADMIN_PW });
  const q = async (db: string, sql: string) => {
    const r = await psql(db, sql);
    assert.equal(r.code, 0, r.stderr);
    return r.stdout.split("\n").filter((l) => l.length > 0);
  };
  const caFile = () => path.join(dir, "tmp", "rds-ca.pem");
  /** The URL as connection-urls.ts builds it (verify-full, sslrootcert URL-encoded), plus hostaddr (no DNS here). */
  const databaseUrl = (db = DB) =>
    `postgresql://${APP_ROLE}:${APP_PW}@localhost:${port}/${db}?hostaddr=127.0.0.1&sslmode=verify-full&sslrootcert=${encodeURIComponent(caFile())}`;
  const restoreEnv = (moveDir: string, over: Record<string, string> = {}) => ({
    PATH: scriptPath(`${PG_BIN}:/usr/bin:/bin`),
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
  const noSecretsIn = (r: RunResult) => {
    for (const v of [ADMIN_PW, APP_PW, JWT, SALT]) assert.ok(!(r.stdout + r.stderr).includes(v), "a secret value was printed");
  };
  /** A copy of the fetched directory with some files replaced (owned by nobody). */
  const variant = (name: string, files: Record<string, string>) => {
    const d = path.join(dir, name);
    fs.cpSync(fetched, d, { recursive: true });
    for (const [f, content] of Object.entries(files)) fs.writeFileSync(path.join(d, f), content);
    chownR(d);
    return d;
  };
  const reportOf = (r: RunResult) => {
    const lines = r.stdout.split("\n").filter((l) => l.startsWith(`${MOVE_IMPORT_MARKER} `));
    assert.equal(lines.length, 1, `one report line expected:\n${r.stdout}\n${r.stderr}`);
    const json = JSON.parse(lines[0].slice(MOVE_IMPORT_MARKER.length + 1));
    assert.deepEqual(moveImportLogLine(r.stdout), json);
    return json;
  };

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "ft-awsmove-"));
    fs.chmodSync(dir, 0o755);
    for (const d of ["tmp", "push", "fetched"]) fs.mkdirSync(path.join(dir, d));
    userland = imageUserland(path.join(dir, "bb"));
    // A CA of the test's own stands in for the region's RDS roots; the server certificate names localhost.
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

    // The old side's database: a serial, a mixed-case identity table (quoted names), an empty
    // table, a sequence never called, a second schema.
    await q("postgres", "CREATE DATABASE oldfg");
    await q(
      "oldfg",
      [
        "CREATE TABLE readings (id serial PRIMARY KEY, c numeric)",
        "INSERT INTO readings (c) SELECT g / 10.0 FROM generate_series(1, 250) g",
        "DELETE FROM readings WHERE id > 240",
        'CREATE TABLE "SensorLog" (id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, note text)',
        `INSERT INTO "SensorLog" (note) VALUES ('a'), ('b'), (E'multi\\nline')`,
        "CREATE TABLE empty_table (x int)",
        "CREATE SEQUENCE never_called_seq START 42",
        "CREATE SCHEMA audit",
        "CREATE TABLE audit.events (id int, what text)",
        "INSERT INTO audit.events SELECT g, 'e' || g FROM generate_series(1, 7) g",
      ].join("; "),
    );
    const dump = await asNobody(`${PG_BIN}/pg_dump -Fc -h ${dir} -p ${port} -U postgres -d oldfg -f ${dir}/push/db.dump`, { PGPASSWORD: ADMIN_PW });
    assert.equal(dump.code, 0, dump.stderr);

    // The push's texts, independently: SQL on the old database (quote_ident names, exact counts) and node's sha256.
    const tables = await q(
      "oldfg",
      "SELECT quote_ident(schemaname) || '.' || quote_ident(tablename) FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema')",
    );
    const counted: string[] = [];
    for (const t of tables) counted.push(`${t} ${(await q("oldfg", `SELECT count(*) FROM ${t}`))[0]}`);
    push[MOVE_OBJECTS.tables] = text(cSorted(counted));
    push[MOVE_OBJECTS.sequences] = text(
      cSorted(
        await q(
          "oldfg",
          "SELECT quote_ident(schemaname) || '.' || quote_ident(sequencename) || ' ' || coalesce(last_value, start_value) || ' ' || (last_value IS NOT NULL) FROM pg_sequences",
        ),
      ),
    );
    push[MOVE_OBJECTS.objects] = "3 74097\n";
    push[MOVE_OBJECTS.secrets] = `jwt_secret_sha256 ${sha256(JWT)}\nttn_encryption_salt_sha256 ${sha256(SALT)}\n`;
    push[MOVE_OBJECTS.manifest] = JSON.stringify({ note: "the same manifest --stream writes" }) + "\n";
    // The old host's job queue under its freeze, as ft_move_queue_dump writes it (move-queue.test.ts runs that).
    push[MOVE_OBJECTS.queue] = 'RESTORE "\\x61" 0 "\\x00" REPLACE\nRESTORE "\\x62" 5000 "\\x00" REPLACE\n';
    push[MOVE_OBJECTS.queueCounts] = "2 1 true\n";
    for (const [f, content] of Object.entries(push)) fs.writeFileSync(path.join(dir, "push", f), content);
    assert.equal(
      push[MOVE_OBJECTS.tables],
      'audit.events 7\npublic."SensorLog" 3\npublic.empty_table 0\npublic.readings 240\n',
      "the test's own old side (a wrong fixture would prove nothing)",
    );
    assert.equal(push[MOVE_OBJECTS.sequences], 'public."SensorLog_id_seq" 3 true\npublic.never_called_seq 42 false\npublic.readings_id_seq 250 true\n');

    // The new side: a non-superuser app role owning the app database, whose migrations already made an older schema.
    await q("postgres", `CREATE ROLE ${APP_ROLE} LOGIN PASSWORD '${APP_PW}'`);
    await q("postgres", `CREATE DATABASE ${DB} OWNER ${APP_ROLE}`);
    const mig = await asNobody(`${PG_BIN}/psql -X -v ON_ERROR_STOP=1 -d "$URL" -c 'CREATE TABLE readings (id serial PRIMARY KEY)'`, {
      URL: `postgresql://${APP_ROLE}@localhost:${port}/${DB}?hostaddr=127.0.0.1&sslmode=verify-full&sslrootcert=${encodeURIComponent(ca.cert)}`,
      PGPASSWORD: APP_PW,
    });
    assert.equal(mig.code, 0, mig.stderr);

    // The S3 stand-in: the new side's backups bucket with the push under move/, its assets bucket with 3 objects.
    // rclone's provider AWS always speaks virtual-host style: BUCKET.s3.standin.test (.test never resolves).
    s3 = await startS3rver({ directory: path.join(dir, "s3"), buckets: ["backups", "backups-partial", "assets"], serviceEndpoint: "standin.test" });
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
    const up = async (src: string, dst: string) => {
      const r = await run("rclone", ["copy", src, dst, "--s3-provider", "AWS", "--s3-env-auth"], { env: { ...baseEnv, ...s3Env() } });
      assert.equal(r.code, 0, r.stderr);
    };
    await up(path.join(dir, "push"), `:s3:backups/${MOVE_PREFIX}/`);
    await up(assets, ":s3:assets");
    fs.rmSync(path.join(dir, "push", MOVE_OBJECTS.secrets));
    await up(path.join(dir, "push"), `:s3:backups-partial/${MOVE_PREFIX}/`);
  });

  /** rclone's own environment: the stand-in's endpoint (through the proxy) and key instead of the task role. */
  const s3Env = () => ({
    AWS_ACCESS_KEY_ID: "S3RVER",
    AWS_SECRET_ACCESS_KEY: "S3RVER",
    RCLONE_S3_ENDPOINT: "http://s3.standin.test",
    HTTP_PROXY: `http://127.0.0.1:${proxyPort}`,
    NO_PROXY: "",
  });
  const fetchEnv = (moveDir: string, bucket: string) => ({
    PATH: scriptPath("/usr/bin:/bin"),
    MOVE_DIR: moveDir,
    BUCKET: bucket,
    AWS_REGION: "us-east-1",
    ASSETS_BUCKET: "assets",
    ASSETS_REGION: "us-east-1",
    RCLONE_CONFIG: path.join(moveDir, ".rclone.conf"),
    XDG_CACHE_HOME: path.join(moveDir, ".cache"),
    ...s3Env(),
  });

  after(async () => {
    if (proxy) proxy.close();
    if (s3) await s3.close();
    if (dir) {
      await pg?.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("the push's texts equal what the old host reads from the dump (COPY blocks, setval lines)", async () => {
    const r = await asNobody(`${PG_BIN}/pg_restore --data-only -f - ${dir}/push/db.dump`);
    assert.equal(r.code, 0, r.stderr);
    const copies: string[] = [];
    let current: string | undefined;
    let n = 0;
    for (const line of r.stdout.split("\n")) {
      if (current === undefined) {
        if (line.startsWith("COPY ")) [current, n] = [line.split(" ")[1], 0];
      } else if (line === "\\.") {
        copies.push(`${current} ${n}`);
        current = undefined;
      } else n++;
    }
    assert.equal(text(cSorted(copies)), push[MOVE_OBJECTS.tables]);
    const setvals = [...r.stdout.matchAll(/^SELECT pg_catalog\.setval\('([^']*)', ([0-9-]*), (true|false)\);$/gm)].map((m) => `${m[1]} ${m[2]} ${m[3]}`);
    assert.equal(text(cSorted(setvals)), push[MOVE_OBJECTS.sequences]);
  });

  it("fetch: copies move/ and measures the assets bucket (count and bytes)", async () => {
    fetched = path.join(dir, "fetched");
    const r = await asNobody(moveFetchScript(), fetchEnv(fetched, "backups"), scriptShell());
    assert.equal(r.code, 0, r.stderr + r.stdout);
    assert.deepEqual(fs.readFileSync(path.join(fetched, MOVE_OBJECTS.dump)), fs.readFileSync(path.join(dir, "push", MOVE_OBJECTS.dump)));
    for (const [f, content] of Object.entries(push)) assert.equal(fs.readFileSync(path.join(fetched, f), "utf8"), content, f);
    assert.equal(fs.readFileSync(path.join(fetched, MOVE_ASSETS_SIZE_FILE), "utf8"), `3 ${70_000 + 4_000 + 97}\n`);
    assert.match(r.stdout, /s3:\/\/assets holds 3 objects, 74097 bytes/);
    // What the queue container then writes: the new side's redis holds the 2 keys, 1 with a TTL.
    fs.writeFileSync(path.join(fetched, QUEUE_LOADED_FILE), "2 1\n");
    chownR(fetched);
  });

  it("fetch: an incomplete push fails clearly (names the missing object)", async () => {
    const d = path.join(dir, "fetched-partial");
    fs.mkdirSync(d);
    chownR(d);
    const r = await asNobody(moveFetchScript(), fetchEnv(d, "backups-partial"), scriptShell());
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /incomplete, missing: move\/secrets\.txt/);
    assert.ok(!fs.existsSync(path.join(d, MOVE_ASSETS_SIZE_FILE)));
  });

  it("restore: restores as the app role over verified TLS, every text equal, ok, exit 0 (and again: a re-run over its own restore)", async () => {
    for (let pass = 1; pass <= 2; pass++) {
      const r = await asNobody(moveRestoreScript(DB), restoreEnv(fetched), scriptShell());
      assert.equal(r.code, 0, `pass ${pass}: ${r.stderr}\n${r.stdout}`);
      noSecretsIn(r);
      assert.deepEqual(reportOf(r), {
        tables_equal: true,
        sequences_equal: true,
        objects_equal: true,
        secrets_equal: true,
        tables: { "audit.events": [7, 7], 'public."SensorLog"': [3, 3], "public.empty_table": [0, 0], "public.readings": [240, 240] },
        objects: { old: [3, 74097], new: [3, 74097] },
        queue: { old: [2, 1], new: [2, 1] },
        queue_equal: true,
        ok: true,
      });
    }
    assert.equal(fs.readFileSync(caFile(), "utf8"), caPem + "\n", "the CA written where PGSSLROOTCERT and the URL point");
    const owners = await q(
      DB,
      "SELECT DISTINCT tableowner FROM pg_tables WHERE schemaname IN ('public', 'audit') UNION SELECT DISTINCT sequenceowner FROM pg_sequences",
    );
    assert.deepEqual(owners, [APP_ROLE]);
    assert.deepEqual(await q(DB, `SELECT rolsuper FROM pg_roles WHERE rolname = '${APP_ROLE}'`), ["f"]);
    // The restored sequences continue where the old side stopped (the never-called one at its start).
    assert.deepEqual(await q(DB, "SELECT nextval('readings_id_seq'), nextval('never_called_seq')"), ["251|42"]);
  });

  const broken: [string, Record<string, string>, Record<string, string>, string][] = [
    ["a row missing in tables.txt", { [MOVE_OBJECTS.tables]: 'audit.events 7\npublic."SensorLog" 3\npublic.readings 240\n' }, {}, "tables_equal"],
    [
      "a wrong sequence value",
      { [MOVE_OBJECTS.sequences]: 'public."SensorLog_id_seq" 3 true\npublic.never_called_seq 42 false\npublic.readings_id_seq 251 true\n' },
      {},
      "sequences_equal",
    ],
    ["a different JWT_SECRET", {}, { JWT_SECRET: JWT + "x" }, "secrets_equal"],
    ["an empty TTN_ENCRYPTION_SALT", {}, { TTN_ENCRYPTION_SALT: "" }, "secrets_equal"],
    ["the assets bucket one object short", { [MOVE_ASSETS_SIZE_FILE]: "2 74000\n" }, {}, "objects_equal"],
    ["redis short of a key without a TTL", { [QUEUE_LOADED_FILE]: "1 1\n" }, {}, "queue_equal"],
  ];
  for (const [what, files, env, flag] of broken) {
    it(`restore: ${what} -> ${flag} false, ok false, exit != 0, no secret printed`, async () => {
      const d = variant(`v-${flag}-${Object.keys(env).join("")}`, files);
      const r = await asNobody(moveRestoreScript(DB), restoreEnv(d, env), scriptShell());
      assert.notEqual(r.code, 0);
      noSecretsIn(r);
      const report = reportOf(r);
      assert.equal(report.ok, false);
      for (const f of ["tables_equal", "sequences_equal", "objects_equal", "secrets_equal", "queue_equal"])
        assert.equal(report[f], f !== flag, `${f}: ${r.stderr}`);
      if (flag === "queue_equal") assert.deepEqual(report.queue, { old: [2, 1], new: [1, 1] });
      if (flag === "tables_equal") assert.deepEqual(report.tables["public.empty_table"], [null, 0]);
      if (flag === "objects_equal") assert.deepEqual(report.objects, { old: [3, 74097], new: [2, 74000] });
    });
  }

  it("restore: a DATABASE_URL naming another database restores nothing and reports nothing", async () => {
    const r = await asNobody(moveRestoreScript(DB), restoreEnv(fetched, { DATABASE_URL: databaseUrl("postgres") }), scriptShell());
    assert.notEqual(r.code, 0);
    noSecretsIn(r);
    assert.match(r.stderr, /names the database postgres, not frostguard: nothing restored/);
    assert.equal(moveImportLogLine(r.stdout), undefined);
  });

  it("restore: a server certificate from another CA is refused (verify-full)", async () => {
    const other = makeTestCa(path.join(dir, "other-ca"), "Another CA");
    const r = await asNobody(moveRestoreScript(DB), restoreEnv(fetched, { [RDS_CA_ENV]: fs.readFileSync(other.cert, "utf8") }), scriptShell());
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /certificate verify failed/);
    assert.equal(moveImportLogLine(r.stdout), undefined);
  });
});
