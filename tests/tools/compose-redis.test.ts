// The rendered redis.conf run by a real redis-server (7.0, the protocol and
// config grammar Valkey 8 keeps), as `nobody` on 127.0.0.1 in a temp dir. Only
// bind/port/dir and the include path are adapted. Also runs the healthcheck's
// auth mechanism (REDISCLI_AUTH read from the password file) with redis-cli.
import { strict as assert } from "assert";
import { ChildProcess, spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import Redis from "ioredis";
import { redisDirectives, REDIS_AUTH_CONF_PATH, RedisDirective } from "../../compose/render/redis";
import { WORKER_QUEUE_CHECK } from "../../compose/model";

const NOBODY = 65534;
const PASSWORD = "redis-test-pw";
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("rendered redis.conf under a real redis-server", function () {
  this.timeout(60000);
  let dir: string;
  let port: number;
  let server: ChildProcess | undefined;

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "ft-redis-"));
    port = await new Promise<number>((resolve) => {
      const s = net.createServer().listen(0, "127.0.0.1", () => {
        const p = (s.address() as net.AddressInfo).port;
        s.close(() => resolve(p));
      });
    });
    fs.writeFileSync(path.join(dir, "redis-auth.conf"), `requirepass ${PASSWORD}\n`);
    fs.writeFileSync(path.join(dir, "password"), `${PASSWORD}\n`);
    const adapted = redisDirectives().map((d): RedisDirective => {
      if (d[0] === "bind") return ["bind", "127.0.0.1"];
      if (d[0] === "port") return ["port", port];
      if (d[0] === "dir") return ["dir", dir];
      if (d[0] === "include") return ["include", path.join(dir, "redis-auth.conf")];
      return d;
    });
    assert.ok(redisDirectives().some((d) => d[0] === "include" && d[1] === REDIS_AUTH_CONF_PATH));
    fs.writeFileSync(path.join(dir, "redis.conf"), adapted.map((d) => d.join(" ")).join("\n") + "\n");
    spawnSync("chown", ["-R", `${NOBODY}:${NOBODY}`, dir]);
    fs.chmodSync(path.join(dir, "password"), 0o600);
    const log = fs.openSync(path.join(dir, "redis.log"), "a");
    server = spawn("runuser", ["-u", "nobody", "--", "redis-server", path.join(dir, "redis.conf")], { detached: true, stdio: ["ignore", log, log] });
    fs.closeSync(log);
    for (let i = 0; i < 100; i++) {
      if (server.exitCode !== null) throw new Error(`redis-server exited: ${fs.readFileSync(path.join(dir, "redis.log"), "utf8")}`);
      const r = spawnSync("redis-cli", ["-p", String(port), "ping"], { encoding: "utf8" });
      if (/NOAUTH|PONG/.test(r.stdout + r.stderr)) break;
      await sleep(100);
    }
  });

  after(async () => {
    if (server && server.exitCode === null && server.pid) {
      const exited = new Promise((r) => server!.once("exit", r));
      process.kill(-server.pid, "SIGTERM");
      await Promise.race([exited, sleep(10000)]);
    }
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it("requires the password from the included secret file", () => {
    const anon = spawnSync("redis-cli", ["-h", "127.0.0.1", "-p", String(port), "set", "k", "v"], { encoding: "utf8" });
    assert.match(anon.stdout + anon.stderr, /NOAUTH/);
  });

  it("persists with AOF and never evicts", async () => {
    const r = new Redis({ host: "127.0.0.1", port, password: PASSWORD, maxRetriesPerRequest: 1 });
    try {
      assert.deepEqual(await r.config("GET", "appendonly"), ["appendonly", "yes"]);
      assert.deepEqual(await r.config("GET", "maxmemory-policy"), ["maxmemory-policy", "noeviction"]);
      assert.equal(await r.set("bull:q:1", "job"), "OK");
    } finally {
      r.disconnect();
    }
  });

  it("the healthcheck's way of authenticating (REDISCLI_AUTH from the file, nothing in argv) works", () => {
    const pwFile = path.join(dir, "password");
    const ok = spawnSync("runuser", ["-u", "nobody", "--", "sh", "-c", `REDISCLI_AUTH="$(cat ${pwFile})" redis-cli -h 127.0.0.1 -p ${port} ping | grep -q PONG`]);
    assert.equal(ok.status, 0);
    // Without the password the same check fails (it can fail).
    const bad = spawnSync("sh", ["-c", `redis-cli -h 127.0.0.1 -p ${port} ping | grep -q PONG`]);
    assert.notEqual(bad.status, 0);
  });

  it("the worker's healthcheck (node, AUTH + PING to REDIS_URL) passes against it, and fails on a wrong password or no server", () => {
    const check = (url: string) => spawnSync(process.execPath, ["-e", WORKER_QUEUE_CHECK], { env: { PATH: process.env.PATH, REDIS_URL: url }, encoding: "utf8", timeout: 10000 }).status;
    // Passwords with URL-special characters arrive percent-encoded, as secret-files.ts writes them.
    assert.equal(check(`redis://:${encodeURIComponent(PASSWORD)}@127.0.0.1:${port}/0`), 0);
    assert.notEqual(check(`redis://:wrong@127.0.0.1:${port}/0`), 0, "a wrong password must fail the check");
    assert.notEqual(check("redis://:x@127.0.0.1:1/0"), 0, "no server must fail the check");
    assert.ok(!WORKER_QUEUE_CHECK.includes("$"), "no dollar sign: Compose would interpolate it");
  });
});
