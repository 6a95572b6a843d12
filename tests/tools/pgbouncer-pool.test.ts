// The rendered pgbouncer.ini run by the real PgBouncer 1.18 in front of a real
// PostgreSQL 15 (max_connections=50), both as `nobody` on 127.0.0.1 in a temp
// dir. Only listen address/port, server host/port and the auth_file path are
// adapted; everything else is the file the bundle ships.
import { strict as assert } from "assert";
import { ChildProcess, spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import { Client, Pool } from "pg";
import { parseConfig } from "../../core/config";
import type { BundleInput } from "../../compose/bundle-input";
import { pgbouncerSettings, PgbouncerSettings, serializePgbouncerIni } from "../../compose/render/pgbouncer";
import { COLD_CHAIN_RAW, COLD_CHAIN_VM_HOST, testObjectStore } from "../fixtures/config";
import { freePort } from "../fixtures/free-port";

const PG_BIN = "/usr/lib/postgresql/15/bin";
const NOBODY = 65534;
const SERVER_MAX_CONNECTIONS = 50;
const SUPER_PW = "super-test-pw";
const APP_PW = "app-test-pw";

function bundleInput(): BundleInput {
  const raw: Record<string, string> = {
    target: "vm",
    ...COLD_CHAIN_RAW,
    ...COLD_CHAIN_VM_HOST,
    vmSshPrivateKey: "k",
    vmBackupOnHostOnly: "true",
    dbMaxConnections: String(SERVER_MAX_CONNECTIONS),
  };
  return {
    config: parseConfig(raw, new Set(["vmSshPrivateKey"])),
    target: "vm",
    objectStore: testObjectStore(raw.domain),
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitForPort(port: number, proc: ChildProcess, what: string, timeoutMs = 30000) {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
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

/** Runs as nobody in its own process group, so the whole group can be stopped. */
function startAsNobody(cmd: string, logFile: string): ChildProcess {
  const out = fs.openSync(logFile, "a");
  const p = spawn("runuser", ["-u", "nobody", "--", "sh", "-c", cmd], { detached: true, stdio: ["ignore", out, out] });
  fs.closeSync(out);
  return p;
}

async function stop(p: ChildProcess | undefined, signal: NodeJS.Signals) {
  if (!p || p.exitCode !== null || p.pid === undefined) return;
  const exited = new Promise((r) => p.once("exit", r));
  try {
    process.kill(-p.pid, signal);
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

describe("rendered pgbouncer.ini under real PgBouncer 1.18 + PostgreSQL 15", function () {
  this.timeout(120000);
  let dir: string;
  let pgPort: number;
  let postgres: ChildProcess | undefined;
  const bouncers: ChildProcess[] = [];
  let settings: PgbouncerSettings;

  const adapt = (s: PgbouncerSettings, port: number, over: Record<string, string | number> = {}): string => {
    const adapted: PgbouncerSettings = {
      databases: { frostguard: `host=127.0.0.1 port=${pgPort} dbname=frostguard` },
      pgbouncer: { ...s.pgbouncer, listen_addr: "127.0.0.1", listen_port: port, auth_file: path.join(dir, "userlist.txt"), ...over },
    };
    return serializePgbouncerIni(adapted);
  };

  async function startBouncer(name: string, over: Record<string, string | number> = {}): Promise<number> {
    const port = await freePort();
    const ini = path.join(dir, `${name}.ini`);
    fs.writeFileSync(ini, adapt(settings, port, over));
    fs.chownSync(ini, NOBODY, NOBODY);
    // max_client_conn 1000 needs more descriptors than the default soft limit of 1024.
    const p = startAsNobody(`ulimit -n 4096 && exec /usr/sbin/pgbouncer ${ini}`, path.join(dir, `${name}.log`));
    bouncers.push(p);
    await waitForPort(port, p, `pgbouncer ${name}`);
    return port;
  }

  const superClient = () => new Client({ host: "127.0.0.1", port: pgPort, user: "postgres", password: SUPER_PW, database: "postgres" });

  before(async () => {
    settings = pgbouncerSettings(bundleInput());
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "ft-pgbouncer-"));
    fs.chownSync(dir, NOBODY, NOBODY);
    fs.writeFileSync(path.join(dir, "pw"), SUPER_PW);
    fs.writeFileSync(path.join(dir, "userlist.txt"), `"frostguard" "${APP_PW}"\n`);
    for (const f of ["pw", "userlist.txt"]) fs.chownSync(path.join(dir, f), NOBODY, NOBODY);
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
      `exec ${PG_BIN}/postgres -D ${dir}/data -p ${pgPort} -k ${dir} -c listen_addresses=127.0.0.1 -c max_connections=${SERVER_MAX_CONNECTIONS} -c fsync=off -c shared_buffers=16MB`,
      path.join(dir, "postgres.log"),
    );
    await waitForPort(pgPort, postgres, "postgres");
    // The port opens before recovery ends ("the database system is starting up"): retry briefly.
    let c = superClient();
    for (let attempt = 0; ; attempt++) {
      try {
        await c.connect();
        break;
      } catch (e) {
        await c.end().catch(() => undefined);
        if (attempt > 50) throw e;
        await sleep(200);
        c = superClient();
      }
    }
    await c.query(`CREATE ROLE frostguard LOGIN PASSWORD '${APP_PW}'`);
    await c.query("CREATE DATABASE frostguard OWNER frostguard");
    await c.end();
  });

  after(async () => {
    for (const b of bouncers) await stop(b, "SIGINT");
    await stop(postgres, "SIGINT");
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  const appPool = (port: number, max: number) =>
    new Pool({
      host: "127.0.0.1",
      port,
      user: "frostguard",
      password: APP_PW,
      database: "frostguard",
      max,
      statement_timeout: 30000,
      connectionTimeoutMillis: 60000,
    });

  it("the pool settings under test come from config (poolSize below max_connections - 15)", () => {
    assert.equal(settings.pgbouncer.pool_mode, "transaction");
    assert.ok(Number(settings.pgbouncer.default_pool_size) < SERVER_MAX_CONNECTIONS - 15);
  });

  it("accepts node-postgres with statement_timeout in the Pool config", async () => {
    const port = await startBouncer("main");
    const pool = appPool(port, 2);
    try {
      const r = await pool.query("SELECT current_user AS u, current_database() AS d");
      assert.deepEqual(r.rows[0], { u: "frostguard", d: "frostguard" });
    } finally {
      await pool.end();
    }
  });

  it("without statement_timeout in ignore_startup_parameters the same client is refused (the check can fail)", async () => {
    const port = await startBouncer("old", { ignore_startup_parameters: "extra_float_digits" });
    const pool = appPool(port, 1);
    try {
      await assert.rejects(pool.query("SELECT 1"), /unsupported startup parameter/);
    } finally {
      await pool.end();
    }
  });

  it("serves 500 concurrent clients while PostgreSQL sees at most default_pool_size app connections", async () => {
    // Earlier bouncers keep idle server connections: stop them so the count below is this pool's alone.
    for (const b of bouncers) await stop(b, "SIGINT");
    const port = await startBouncer("load");
    const poolSize = Number(settings.pgbouncer.default_pool_size);
    const monitor = superClient();
    await monitor.connect();
    let peak = 0;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const r = await monitor.query("SELECT count(*)::int AS n FROM pg_stat_activity WHERE usename = 'frostguard'");
        peak = Math.max(peak, r.rows[0].n as number);
        await sleep(50);
      }
    })();
    const clients = Array.from(
      { length: 500 },
      () =>
        new Client({
          host: "127.0.0.1",
          port,
          user: "frostguard",
          password: APP_PW,
          database: "frostguard",
          statement_timeout: 30000,
          connectionTimeoutMillis: 60000,
        }),
    );
    try {
      const results = await Promise.allSettled(
        clients.map(async (c, i) => {
          await c.connect();
          const r = await c.query("SELECT $1::int AS i, pg_sleep(0.02)", [i]);
          return r.rows[0].i as number;
        }),
      );
      const failed = results.filter((r) => r.status === "rejected") as PromiseRejectedResult[];
      assert.equal(
        failed.length,
        0,
        failed
          .slice(0, 3)
          .map((f) => String(f.reason))
          .join("; "),
      );
      assert.deepEqual(
        results.map((r) => (r as PromiseFulfilledResult<number>).value),
        clients.map((_, i) => i),
      );
    } finally {
      sampling = false;
      await sampler;
      await monitor.end();
      await Promise.allSettled(clients.map((c) => c.end()));
    }
    assert.ok(peak > 0, "the sampler saw the load");
    assert.ok(peak <= poolSize, `PostgreSQL saw ${peak} app connections, pool is ${poolSize}`);
  });

  it("the same load straight at PostgreSQL would be refused (why the pool exists)", async () => {
    const direct = Array.from(
      { length: SERVER_MAX_CONNECTIONS + 5 },
      () => new Client({ host: "127.0.0.1", port: pgPort, user: "frostguard", password: APP_PW, database: "frostguard" }),
    );
    try {
      const res = await Promise.allSettled(direct.map((c) => c.connect()));
      const refused = res.filter((r) => r.status === "rejected") as PromiseRejectedResult[];
      assert.ok(refused.length > 0);
      assert.match(String(refused[0].reason), /too many clients|remaining connection slots/);
    } finally {
      await Promise.allSettled(direct.map((c) => c.end()));
    }
  });
});
