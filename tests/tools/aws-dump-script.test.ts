// The AWS dump task's shell (components/aws/dump.ts), run for real: pg_dump,
// pg_restore into a scratch database and the table check against a throwaway
// PostgreSQL 15 cluster (the task runs the same commands from the postgres image).
import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { RESTORE_CHECK_MARKER, SCRATCH_DB, dumpScript } from "../../components/aws/dump";

const PG_BIN = "/usr/lib/postgresql/15/bin";
const NOBODY = 65534;

describe("tools: the AWS dump task's script against a real PostgreSQL", function () {
  this.timeout(120_000);
  let dir = "";
  const port = 54000 + Math.floor(Math.random() * 900);
  const asNobody = (cmd: string, env: Record<string, string> = {}) =>
    spawnSync("runuser", ["-u", "nobody", "--", "env", ...Object.entries(env).map(([k, v]) => `${k}=${v}`), "sh", "-c", cmd], {
      encoding: "utf8",
      timeout: 60_000,
    });
  const psql = (db: string, sql: string) =>
    asNobody(`${PG_BIN}/psql -X -At -v ON_ERROR_STOP=1 -h ${dir} -p ${port} -U postgres -d ${db} -c "$SQL"`, { SQL: sql });
  const runDump = (db: string) =>
    asNobody(dumpScript(db), {
      PATH: `${PG_BIN}:/usr/bin:/bin`,
      PGHOST: dir,
      PGPORT: String(port),
      PGUSER: "postgres",
      PGSSLMODE: "disable",
      DUMP_DIR: path.join(dir, "out"),
    });

  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "ft-awsdump-"));
    fs.chmodSync(dir, 0o755);
    fs.mkdirSync(path.join(dir, "out"));
    fs.chownSync(dir, NOBODY, NOBODY);
    fs.chownSync(path.join(dir, "out"), NOBODY, NOBODY);
    const init = asNobody(`${PG_BIN}/initdb -D ${dir}/data -U postgres --auth=trust --no-sync -E UTF8`);
    assert.equal(init.status, 0, init.stderr);
    const start = asNobody(`${PG_BIN}/pg_ctl -D ${dir}/data -l ${dir}/pg.log -w -o "-p ${port} -k ${dir} -c listen_addresses= -c fsync=off" start`);
    assert.equal(start.status, 0, start.stderr + start.stdout);
    assert.equal(psql("postgres", "CREATE DATABASE frostguard").status, 0);
    const seed = psql(
      "frostguard",
      "CREATE TABLE sensor_readings (id serial primary key, t numeric); INSERT INTO sensor_readings (t) SELECT g FROM generate_series(1, 250) g; CREATE TABLE units (id int); INSERT INTO units VALUES (1), (2)",
    );
    assert.equal(seed.status, 0, seed.stderr);
  });

  after(() => {
    if (dir) {
      asNobody(`${PG_BIN}/pg_ctl -D ${dir}/data -m immediate stop`);
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("dumps, restores into a scratch database, reports every table with its row count, and drops the scratch database", () => {
    const r = runDump("frostguard");
    assert.equal(r.status, 0, r.stderr + r.stdout);
    assert.match(r.stdout, new RegExp(`${RESTORE_CHECK_MARKER} frostguard-\\d{8}T\\d{6}Z\\.dump tables=2`));
    assert.match(r.stdout, /^public\.sensor_readings=250$/m);
    assert.match(r.stdout, /^public\.units=2$/m);
    const name = fs.readFileSync(path.join(dir, "out", "NAME"), "utf8");
    assert.ok(fs.statSync(path.join(dir, "out", name)).size > 0);
    assert.equal(psql("postgres", `SELECT count(*) FROM pg_database WHERE datname = '${SCRATCH_DB}'`).stdout.trim(), "0");
  });

  it("fails (non-zero, no NAME written) when the dump cannot be taken (the check can fail)", () => {
    fs.rmSync(path.join(dir, "out", "NAME"), { force: true });
    const r = runDump("nosuchdb");
    assert.notEqual(r.status, 0);
    assert.ok(!fs.existsSync(path.join(dir, "out", "NAME")));
  });
});
