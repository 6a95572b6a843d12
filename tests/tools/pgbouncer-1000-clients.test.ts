// 1,000 concurrent clients through the pgbouncer.ini the program renders for the
// vm example stack, under the real PgBouncer (Debian) in front of a real
// PostgreSQL 15, with the open-file limit the rendered Compose file gives the
// pgbouncer container. Only paths and ports in the ini are adapted (listen
// address/port, server host/port, auth_file); the clients log in with the
// rendered DATABASE_URL's user and password. Prints the figures.
import { strict as assert } from "assert";
import { ChildProcess, spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import { parse as parseIni } from "ini";
import { Client } from "pg";
import { parse as parseYaml } from "yaml";
import { copiedFiles } from "../../components/shared/host/bundle-payload";
import { parseSecretPayload } from "../../compose/secret-files";
import { PgbouncerSettings, serializePgbouncerIni } from "../../compose/render/pgbouncer";
import { stackConfig } from "../../scripts/lib/program";
import { mustPlan, one } from "../helpers/plan";
import { freePort } from "../fixtures/bin/release";

const PG_BIN = "/usr/lib/postgresql/15/bin";
const NOBODY = 65534;
const CLIENTS = 1000;
const SUPER_PW = "super-test-pw";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function waitForPort(port: number, proc: ChildProcess, what: string) {
  for (const end = Date.now() + 30000; Date.now() < end;) {
    if (proc.exitCode !== null) throw new Error(`${what} exited with ${proc.exitCode}`);
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, "127.0.0.1");
      s.once("connect", () => (s.destroy(), resolve(true)));
      s.once("error", () => resolve(false));
    });
    if (ok) return;
    await sleep(100);
  }
  throw new Error(`${what} did not listen on ${port}`);
}

function startAsNobody(cmd: string, logFile: string): ChildProcess {
  const out = fs.openSync(logFile, "a");
  const p = spawn("runuser", ["-u", "nobody", "--", "sh", "-c", cmd], { detached: true, stdio: ["ignore", out, out] });
  fs.closeSync(out);
  return p;
}

async function stop(p: ChildProcess | undefined) {
  if (!p || p.exitCode !== null || p.pid === undefined) return;
  const exited = new Promise((r) => p.once("exit", r));
  try {
    process.kill(-p.pid, "SIGINT");
  } catch {
    return;
  }
  await Promise.race([exited, sleep(10000)]);
  if (p.exitCode === null) {
    try {
      process.kill(-p.pid, "SIGKILL");
    } catch {
      /* already gone */
    }
  }
}

describe("tools: 1,000 concurrent clients through the rendered pgbouncer.ini and the container's nofile limit", function () {
  this.timeout(300000);
  let dir = "";
  let pgPort = 0;
  let postgres: ChildProcess | undefined;
  const bouncers: ChildProcess[] = [];
  let ini: PgbouncerSettings;
  let nofile: { soft: number; hard: number };
  let login: { user: string; password: string; database: string };
  let dbMaxConnections = 0;

  before(async () => {
    // What the program ships for the vm example stack.
    const plan = mustPlan("vm");
    const bundle = copiedFiles(one(plan, "command:remote:CopyToRemote", "copy-bundle").inputs.source);
    const secrets = parseSecretPayload((one(plan, "command:remote:Command", "write-secrets").inputs.stdin as { $secret: string }).$secret);
    const compose = parseYaml(bundle["compose.yml"]) as { services: Record<string, { ulimits?: { nofile: { soft: number; hard: number } } }> };
    nofile = compose.services.pgbouncer.ulimits?.nofile ?? { soft: 0, hard: 0 };
    const parsed = parseIni(bundle["config/pgbouncer.ini"]) as { databases: Record<string, string>; pgbouncer: Record<string, string> };
    ini = { databases: parsed.databases, pgbouncer: parsed.pgbouncer };
    const url = new URL(secrets["app/DATABASE_URL"].content.trim());
    login = { user: decodeURIComponent(url.username), password: decodeURIComponent(url.password), database: url.pathname.slice(1) };
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "ft-pgb1000-"));
    fs.chownSync(dir, NOBODY, NOBODY);
    fs.writeFileSync(path.join(dir, "userlist.txt"), secrets["pgbouncer/userlist.txt"].content);
    fs.writeFileSync(path.join(dir, "pw"), SUPER_PW);
    for (const f of ["pw", "userlist.txt"]) fs.chownSync(path.join(dir, f), NOBODY, NOBODY);

    // PostgreSQL with the max_connections the stack's config declares (dbMaxConnections).
    dbMaxConnections = Number(stackConfig({ stack: "vm" }).config["freshtrack:dbMaxConnections"]);
    assert.ok(dbMaxConnections > Number(ini.pgbouncer.default_pool_size));
    const init = spawnSync(
      "runuser",
      [
        "-u",
        "nobody",
        "--",
        `${PG_BIN}/initdb`,
        "-D",
        path.join(dir, "data"),
        "-U",
        "postgres",
        "--auth=scram-sha-256",
        `--pwfile=${path.join(dir, "pw")}`,
        "--no-sync",
        "-E",
        "UTF8",
      ],
      { encoding: "utf8" },
    );
    assert.equal(init.status, 0, init.stderr);
    pgPort = await freePort();
    postgres = startAsNobody(
      `exec ${PG_BIN}/postgres -D ${dir}/data -p ${pgPort} -k ${dir} -c listen_addresses=127.0.0.1 -c max_connections=${dbMaxConnections} -c fsync=off -c shared_buffers=16MB`,
      path.join(dir, "postgres.log"),
    );
    await waitForPort(pgPort, postgres, "postgres");
    const appPassword = secrets["db-setup/APP_DB_PASSWORD"].content;
    for (let attempt = 0; ; attempt++) {
      const c = new Client({ host: "127.0.0.1", port: pgPort, user: "postgres", password: SUPER_PW, database: "postgres" });
      try {
        await c.connect();
        await c.query(`CREATE ROLE frostguard LOGIN PASSWORD '${appPassword}'`);
        await c.query("CREATE DATABASE frostguard OWNER frostguard");
        await c.end();
        break;
      } catch (e) {
        await c.end().catch(() => undefined);
        if (attempt > 50) throw e;
        await sleep(200);
      }
    }
  });

  after(async () => {
    for (const b of bouncers) await stop(b);
    await stop(postgres);
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  /** Starts PgBouncer on the rendered ini (paths and ports adapted, then `extra`) with `ulimit -n limit`, as Docker applies ulimits. */
  async function bouncer(name: string, limit: number, extra: Record<string, number> = {}): Promise<number> {
    const port = await freePort();
    const server = ini.databases.frostguard.replace(/host=\S+/, "host=127.0.0.1").replace(/port=\d+/, `port=${pgPort}`);
    const file = path.join(dir, `${name}.ini`);
    fs.writeFileSync(
      file,
      serializePgbouncerIni({
        databases: { frostguard: server },
        pgbouncer: { ...ini.pgbouncer, listen_addr: "127.0.0.1", listen_port: port, auth_file: path.join(dir, "userlist.txt"), ...extra },
      }),
    );
    fs.chownSync(file, NOBODY, NOBODY);
    const p = startAsNobody(`ulimit -n ${limit} && exec /usr/sbin/pgbouncer ${file}`, path.join(dir, `${name}.log`));
    bouncers.push(p);
    await waitForPort(port, p, `pgbouncer ${name}`);
    return port;
  }

  /** CLIENTS clients connected at the same time, each running a query while all are open. */
  async function load(port: number): Promise<{ ok: number; errors: number; firstError?: string; ms: number }> {
    const t0 = Date.now();
    const clients = Array.from(
      { length: CLIENTS },
      () => new Client({ host: "127.0.0.1", port, ...login, statement_timeout: 30000, connectionTimeoutMillis: 120000 }),
    );
    const connected = await Promise.allSettled(clients.map((c) => c.connect()));
    const queried = await Promise.allSettled(
      clients.map(async (c, i) => {
        if (connected[i].status === "rejected") throw (connected[i] as PromiseRejectedResult).reason;
        const r = await c.query("SELECT $1::int AS i, pg_sleep(0.05)", [i]);
        assert.equal(r.rows[0].i, i);
      }),
    );
    await Promise.allSettled(clients.map((c) => c.end()));
    const failed = queried.filter((r) => r.status === "rejected") as PromiseRejectedResult[];
    return { ok: CLIENTS - failed.length, errors: failed.length, firstError: failed[0] ? String(failed[0].reason) : undefined, ms: Date.now() - t0 };
  }

  it("the rendered Compose file gives pgbouncer a nofile limit that fits max_client_conn + the pool", () => {
    assert.equal(Number(ini.pgbouncer.max_client_conn), CLIENTS);
    const need = Number(ini.pgbouncer.max_client_conn) + Number(ini.pgbouncer.max_db_connections);
    assert.ok(nofile.soft > need && nofile.hard === nofile.soft, `nofile ${JSON.stringify(nofile)} for ${need} connections`);
    // All clients may connect at once: a backlog of PgBouncer's default 128 overflowed under load in CI.
    assert.equal(Number(ini.pgbouncer.listen_backlog), CLIENTS);
  });

  it(`${CLIENTS} concurrent clients with the rendered limit: 0 errors`, async () => {
    const port = await bouncer("rendered", nofile.soft);
    const r = await load(port);
    console.log(
      `      figure: ${CLIENTS} concurrent clients through the rendered pgbouncer.ini (max_client_conn ${ini.pgbouncer.max_client_conn}, pool ${ini.pgbouncer.default_pool_size}, nofile ${nofile.soft}): ${r.ok} ok, ${r.errors} errors, ${r.ms} ms`,
    );
    assert.equal(r.errors, 0, r.firstError);
    assert.doesNotMatch(fs.readFileSync(path.join(dir, "rendered.log"), "utf8"), /Too many open files/);
  });

  it("the same load with a limit below max_client_conn fails (the check can fail)", async () => {
    // At Docker's common default of 1024 the outcome depends on timing (1000 clients + 20
    // server connections + PgBouncer's own descriptors is just above it); half the clients is not.
    for (const b of bouncers) await stop(b);
    const limit = CLIENTS / 2;
    // A client it cannot serve fails at client_login_timeout (60 s by default): 10 s here, so
    // the refusals show sooner; the limit decides which clients fail, not this timeout.
    const port = await bouncer("low-limit", limit, { client_login_timeout: 10 });
    const r = await load(port);
    console.log(`      figure: the same ${CLIENTS} clients with nofile ${limit}: ${r.ok} ok, ${r.errors} errors (${r.firstError ?? "none"})`);
    assert.ok(r.errors > 0, `expected refusals at nofile ${limit}`);
    // The limit is what failed them: PgBouncer ran out of descriptors.
    const log = fs.readFileSync(path.join(dir, "low-limit.log"), "utf8");
    assert.match(log, /Too many open files/, log.slice(-2000));
  });
});
