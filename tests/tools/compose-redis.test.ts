// The rendered redis.conf run by a real redis-server (7.0, the protocol and
// config grammar Valkey 8 keeps), as `nobody` on 127.0.0.1 in a temp dir. Only
// bind/port/dir and the aclfile path are adapted; the ACL file is the one
// bin/deploy's bin/lib/redis.sh (ft_redis_acl) writes. Also runs the healthcheck's auth
// mechanism (REDISCLI_AUTH read from the password file) with redis-cli, and a
// password rotation by bin/deploy's own ft_redis_reload (ACL LOAD, no restart).
import { strict as assert } from "assert";
import { ChildProcess, spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import Redis from "ioredis";
import { redisDirectives, REDIS_ACL_PATH, RedisDirective } from "../../compose/render/redis";
import { BIN_SRC } from "../fixtures/bin/harness";
import { redisDockerShim } from "../fixtures/redis-server";
import { WORKER_QUEUE_CHECK } from "../../core/model";

const NOBODY = 65534;
const PASSWORD = "redis-test-pw";
const NEW_PASSWORD = "redis-test-pw-2";

/** Runs lib.sh's ft_redis_acl MODE with APP_DIR=$app (secrets under $app/secrets, state under $app/state). */
function redisAcl(app: string, mode: "keep-previous" | "current-only"): void {
  const r = spawnSync("bash", ["-c", 'set -Eeuo pipefail; source "$1/lib.sh"; ft_paths_resolve; ft_redis_acl "$2" || true', "t", BIN_SRC, mode], {
    env: { ...process.env, FT_APP_DIR: app },
    encoding: "utf8",
  });
  assert.equal(r.status, 0, r.stderr);
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Runs bin/deploy's ft_redis_reload (lib.sh) against the server on `port`: a docker stand-in on
 * PATH lists one redis container and turns `docker exec -i <id> valkey-cli` into redis-cli on
 * that port; each docker argv is appended to $app/docker.argv.
 */
function redisReload(app: string, port: number): { status: number | null; out: string } {
  const shim = redisDockerShim(path.join(app, "shim"));
  fs.mkdirSync(path.join(app, "release"), { recursive: true });
  fs.writeFileSync(path.join(app, "release", "release.json"), JSON.stringify({ reload: { redis: "ACL LOAD" } }));
  const r = spawnSync("bash", ["-c", 'set -Eeuo pipefail; source "$1/lib.sh"; ft_paths_resolve; REL_DIR=$FT_TEST_APP/release; ft_redis_reload', "t", BIN_SRC], {
    env: {
      ...process.env,
      FT_APP_DIR: app,
      FT_TEST_APP: app,
      FT_TEST_REDIS_PORT: String(port),
      FT_TEST_DOCKER_LOG: path.join(app, "docker.argv"),
      PATH: `${shim}:${process.env.PATH}`,
    },
    encoding: "utf8",
  });
  return { status: r.status, out: r.stdout + r.stderr };
}

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
    // The secret file as the push writes it; lib.sh builds state/redis/{users.acl,password} from it.
    fs.mkdirSync(path.join(dir, "secrets", "redis"), { recursive: true });
    fs.writeFileSync(path.join(dir, "secrets", "redis", "password"), PASSWORD, { mode: 0o600 });
    fs.chownSync(path.join(dir, "secrets", "redis", "password"), NOBODY, NOBODY);
    redisAcl(dir, "keep-previous");
    const adapted = redisDirectives().map((d): RedisDirective => {
      if (d[0] === "bind") return ["bind", "127.0.0.1"];
      if (d[0] === "port") return ["port", port];
      if (d[0] === "dir") return ["dir", dir];
      if (d[0] === "aclfile") return ["aclfile", path.join(dir, "state", "redis", "users.acl")];
      return d;
    });
    assert.ok(redisDirectives().some((d) => d[0] === "aclfile" && d[1] === REDIS_ACL_PATH));
    fs.writeFileSync(path.join(dir, "redis.conf"), adapted.map((d) => d.join(" ")).join("\n") + "\n");
    spawnSync("chown", ["-R", `${NOBODY}:${NOBODY}`, dir]);
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

  it("requires a password (users come from the ACL file)", () => {
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
    const pwFile = path.join(dir, "state", "redis", "password");
    const ok = spawnSync("runuser", [
      "-u",
      "nobody",
      "--",
      "sh",
      "-c",
      `REDISCLI_AUTH="$(cat ${pwFile})" redis-cli -h 127.0.0.1 -p ${port} ping | grep -q PONG`,
    ]);
    assert.equal(ok.status, 0);
    // Without the password the same check fails (it can fail).
    const bad = spawnSync("sh", ["-c", `redis-cli -h 127.0.0.1 -p ${port} ping | grep -q PONG`]);
    assert.notEqual(bad.status, 0);
  });

  it("the worker's healthcheck (node, AUTH + PING to REDIS_URL) passes against it, and fails on a wrong password or no server", () => {
    const check = (url: string) =>
      spawnSync(process.execPath, ["-e", WORKER_QUEUE_CHECK], { env: { PATH: process.env.PATH, REDIS_URL: url }, encoding: "utf8", timeout: 10000 }).status;
    // Passwords with URL-special characters arrive percent-encoded, as secret-files.ts writes them.
    assert.equal(check(`redis://:${encodeURIComponent(PASSWORD)}@127.0.0.1:${port}/0`), 0);
    assert.notEqual(check(`redis://:wrong@127.0.0.1:${port}/0`), 0, "a wrong password must fail the check");
    assert.notEqual(check("redis://:x@127.0.0.1:1/0"), 0, "no server must fail the check");
    assert.ok(!WORKER_QUEUE_CHECK.includes("$"), "no dollar sign: Compose would interpolate it");
  });

  it("rotation as bin/deploy does it (ft_redis_reload): both passwords while the app rolls, then only the new one; no restart, connections kept", async () => {
    const auth = (pw: string) =>
      spawnSync("redis-cli", ["-h", "127.0.0.1", "-p", String(port)], { input: `AUTH ${pw}\nPING\n`, encoding: "utf8" }).stdout.trim();
    const acl = path.join(dir, "state", "redis", "users.acl");
    const loaded = path.join(dir, "state", "redis.loaded");
    const health = path.join(dir, "state", "redis", "password");
    assert.ok(!fs.readFileSync(acl, "utf8").includes(PASSWORD), "the ACL file holds hashes, never a password");
    const old = new Redis({ host: "127.0.0.1", port, password: PASSWORD, maxRetriesPerRequest: 1 });
    try {
      assert.equal(await old.lpush("q", "before"), 1);
      // The push writes the new password; bin/deploy keeps the old one beside it, then ACL LOAD.
      // Redis accepts only the old password yet: the reload authenticates with the healthcheck's.
      fs.writeFileSync(path.join(dir, "secrets", "redis", "password"), NEW_PASSWORD);
      redisAcl(dir, "keep-previous");
      let r = redisReload(dir, port);
      assert.equal(r.status, 0, r.out);
      assert.match(r.out, /redis: ACL reloaded \(no restart, connections kept\)/);
      assert.equal(auth(NEW_PASSWORD), "OK\nPONG", "the new password works while the app rolls");
      assert.equal(auth(PASSWORD), "OK\nPONG", "the old password still works while the app rolls");
      assert.equal(fs.readFileSync(health, "utf8"), NEW_PASSWORD, "the healthcheck follows the deployed password");
      assert.equal(fs.readFileSync(loaded, "utf8").trim(), spawnSync("sha256sum", [acl], { encoding: "utf8" }).stdout.slice(0, 64));
      // Nothing changed since: no second ACL LOAD.
      fs.rmSync(path.join(dir, "docker.argv"));
      r = redisReload(dir, port);
      assert.equal(r.status, 0, r.out);
      assert.doesNotMatch(fs.readFileSync(path.join(dir, "docker.argv"), "utf8"), /exec/);
      // App rolled: only the new one.
      redisAcl(dir, "current-only");
      r = redisReload(dir, port);
      assert.equal(r.status, 0, r.out);
      assert.match(auth(PASSWORD), /WRONGPASS/, "the old password is refused afterwards");
      assert.equal(auth(NEW_PASSWORD), "OK\nPONG");
      assert.ok(!fs.readFileSync(acl, "utf8").includes(NEW_PASSWORD));
      // Same server process, and the connection opened with the old password still works.
      assert.equal(server!.exitCode, null);
      assert.equal(await old.lpush("q", "after"), 2);
      // No password in any docker argument, nor in the script's output.
      const argv = fs.readFileSync(path.join(dir, "docker.argv"), "utf8");
      assert.match(argv, /exec -i redis-test valkey-cli/);
      for (const pw of [PASSWORD, NEW_PASSWORD]) {
        assert.ok(!argv.includes(pw), "a password in docker's argv");
        assert.ok(!r.out.includes(pw), "a password in the output");
      }
    } finally {
      old.disconnect();
    }
  });

  it("a reload redis refuses (no password of this host accepted) stops the deploy with what to check, and records nothing", () => {
    const loaded = path.join(dir, "state", "redis.loaded");
    const before = fs.readFileSync(loaded, "utf8");
    const secret = path.join(dir, "secrets", "redis", "password");
    const health = path.join(dir, "state", "redis", "password");
    const [s0, h0] = [fs.readFileSync(secret, "utf8"), fs.readFileSync(health, "utf8")];
    try {
      fs.writeFileSync(secret, "not-this-servers-pw");
      fs.writeFileSync(health, "nor-this-one");
      redisAcl(dir, "keep-previous"); // users.acl changes: a reload is due
      const r = redisReload(dir, port);
      assert.notEqual(r.status, 0);
      assert.match(
        r.out,
        /redis: it accepts none of this host's redis passwords, so state\/redis\/users\.acl was not loaded \(redis keeps its previous ACL\); check .*secrets\/redis\/password/,
      );
      assert.equal(fs.readFileSync(loaded, "utf8"), before, "redis.loaded unchanged: the next deploy tries again");
      assert.ok(!r.out.includes("not-this-servers-pw") && !r.out.includes("nor-this-one"));
    } finally {
      fs.writeFileSync(secret, s0);
      fs.writeFileSync(health, h0);
      redisAcl(dir, "current-only");
    }
  });
});
