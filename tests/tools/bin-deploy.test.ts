// bin/deploy and bin/rollback against the REAL Docker engine and Compose v2, with a
// stand-in stack (tests/fixtures/bin/compose.deploy.yml) under its own project name.
// Verifies by container ids: a no-op redeploy restarts nothing; an app-only change never
// recreates data services; backend is replaced with >= 1 healthy container at every
// moment; an unhealthy new version or a failed migration leaves the old one serving.
import { strict as assert } from "assert";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { makeAppDir, run, writeSecret } from "../fixtures/bin/harness";

const PROJECT = `ftbin${process.pid}`;
const FIXTURE = path.resolve(__dirname, "..", "fixtures", "bin", "compose.deploy.yml");
const SERVICES = ["postgres", "redis", "backend", "frontend", "worker", "caddy"];

/** A 2 MB image (dash, sleep, true, cat + libc) imported from host files: no registry needed. */
function buildTinyImage(): void {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "ft-tiny-"));
  try {
    fs.mkdirSync(path.join(root, "bin"));
    fs.mkdirSync(path.join(root, "tmp"));
    for (const b of ["/bin/dash", "/bin/sleep", "/bin/true", "/bin/cat"]) {
      fs.copyFileSync(b, path.join(root, "bin", path.basename(b)));
      fs.chmodSync(path.join(root, "bin", path.basename(b)), 0o755);
      for (const lib of execFileSync("ldd", [b], { encoding: "utf8" }).match(/\/\S+/g) ?? []) {
        fs.mkdirSync(path.join(root, path.dirname(lib)), { recursive: true });
        fs.copyFileSync(fs.realpathSync(lib), path.join(root, lib));
      }
    }
    fs.symlinkSync("dash", path.join(root, "bin", "sh"));
    execFileSync("sh", ["-c", `tar -C '${root}' -c . | docker import -c 'CMD ["/bin/sleep","infinity"]' - ft-bintest/tiny:1 >/dev/null`]);
    execFileSync("docker", ["tag", "ft-bintest/tiny:1", "ft-bintest/tiny:2"]);
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
}

describe("tools: bin/deploy and bin/rollback on a real Docker engine", function () {
  this.timeout(240000);
  let app: ReturnType<typeof makeAppDir>;
  let env: NodeJS.ProcessEnv;

  const release = (id: string, o: { backendImage?: string; health?: string; migrateExit?: number } = {}) => {
    const dir = path.join(app.appDir, "releases", id);
    if (!fs.existsSync(dir)) fs.cpSync(app.relDir, dir, { recursive: true });
    const yml = fs.readFileSync(FIXTURE, "utf8")
      .replace(/@BACKEND_IMAGE@/g, o.backendImage ?? "ft-bintest/tiny:1")
      .replace(/@BACKEND_HEALTH@/g, o.health ?? "exit 0")
      .replace(/@MIGRATE_EXIT@/g, String(o.migrateExit ?? 0));
    fs.writeFileSync(path.join(dir, "compose.yml"), yml);
    fs.mkdirSync(path.join(dir, "config"), { recursive: true });
    fs.writeFileSync(path.join(dir, "config", "redis.conf"), "appendonly yes\n");
    return dir;
  };
  const ids = (): Record<string, string[]> => {
    const out: Record<string, string[]> = {};
    for (const s of SERVICES) {
      out[s] = execFileSync("docker", ["ps", "-q", "--no-trunc", "--filter", `label=com.docker.compose.project=${PROJECT}`, "--filter", `label=com.docker.compose.service=${s}`], { encoding: "utf8" }).split("\n").filter(Boolean).sort();
    }
    return out;
  };
  const deploy = (args: string[], script = "deploy") => run("bash", [path.join(app.appDir, "releases", "r1", "bin", script), ...args], { env, timeoutMs: 120000 });
  const link = (name: string) => fs.readlinkSync(path.join(app.appDir, name));
  const lastAudit = () => JSON.parse(fs.readFileSync(path.join(app.appDir, "state/audit.log"), "utf8").trim().split("\n").at(-1)!);

  before(() => {
    buildTinyImage();
    app = makeAppDir({
      target: "vm",
      compose_files: ["compose.yml"],
      profiles: [],
      secrets: { postgres: ["postgres/POSTGRES_PASSWORD"], backend: ["app/JWT_SECRET"], worker: ["app/JWT_SECRET"] },
      backup: { remote: "s3", bucket: "b", schedule: "17 3 * * *", verify_schedule: "17 5 * * *" },
    });
    writeSecret(app.appDir, "postgres/POSTGRES_PASSWORD", "pg-secret-value\n");
    writeSecret(app.appDir, "app/JWT_SECRET", "jwt-secret-value-1\n");
    env = { ...process.env, FT_COMPOSE_PROJECT: PROJECT, FT_PROXY_SETTLE_SECONDS: "0.2", FT_HEALTH_TIMEOUT: "15", FT_CRON_FILE: path.join(app.root, "cron.d", "freshtrack-backup") };
    release("r1");
  });

  after(() => {
    try {
      execFileSync("docker", ["compose", "-p", PROJECT, "-f", path.join(app.appDir, "releases/r1/compose.yml"), "--profile", "*", "down", "-v", "-t", "1", "--remove-orphans"], { env, stdio: "pipe" });
    } catch { /* best effort */ }
    try { execFileSync("docker", ["rmi", "ft-bintest/tiny:1", "ft-bintest/tiny:2"], { stdio: "pipe" }); } catch { /* still used elsewhere */ }
    fs.rmSync(app.root, { recursive: true, force: true });
  });

  let first: Record<string, string[]>;

  it("first deploy starts every service once, switches current, records images and secret digests", async () => {
    const r = await deploy(["r1"]);
    assert.equal(r.code, 0, r.stderr);
    first = ids();
    for (const s of SERVICES) assert.equal(first[s].length, 1, `${s}: ${first[s].length} containers`);
    assert.equal(link("current"), "releases/r1");
    const lock = JSON.parse(fs.readFileSync(path.join(app.appDir, "releases/r1/images.lock"), "utf8"));
    assert.match(lock.backend.digest, /^sha256:/);
    const digests = fs.readFileSync(path.join(app.appDir, "state/secrets.env"), "utf8");
    assert.match(digests, /^FT_SECRETS_POSTGRES=[0-9a-f]{64}$/m);
    assert.ok(!digests.includes("secret-value") && !fs.readFileSync(path.join(app.appDir, "state/audit.log"), "utf8").includes("secret-value"));
    assert.equal(lastAudit().result, "success");
    assert.match(fs.readFileSync(env.FT_CRON_FILE!, "utf8"), /^17 3 \* \* \* root \/bin\/bash \S+\/current\/bin\/backup /m);
  });

  it("redeploying the current release with unchanged digests restarts nothing", async () => {
    const r = await deploy(["r1"]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(ids(), first);
    assert.equal(lastAudit().result, "noop");
  });

  it("an app-only release rolls backend with a healthy container at every moment; data services untouched", async () => {
    release("r2", { backendImage: "ft-bintest/tiny:2" });
    const markers = () => fs.readdirSync(path.join(app.appDir, "state/proxy")).filter((f) => f.startsWith("backend."));
    const nameOf = (id: string) => execFileSync("docker", ["inspect", "-f", "{{.Name}}", id], { encoding: "utf8" }).trim();
    // First start: the backend holds slot blue, and the proxy's marker names it.
    assert.deepEqual(markers(), ["backend.blue"]);
    assert.equal(nameOf(first.backend[0]), `/${PROJECT}-backend-blue`);
    let sampling = true;
    let minHealthy = Infinity;
    const sampler = (async () => {
      while (sampling) {
        const out = execFileSync("docker", ["ps", "--filter", `label=com.docker.compose.project=${PROJECT}`, "--filter", "label=com.docker.compose.service=backend", "--filter", "health=healthy", "-q"], { encoding: "utf8" });
        minHealthy = Math.min(minHealthy, out.split("\n").filter(Boolean).length);
        await new Promise((res) => setTimeout(res, 150));
      }
    })();
    const r = await deploy(["r2"]);
    sampling = false;
    await sampler;
    assert.equal(r.code, 0, r.stderr);
    assert.ok(minHealthy >= 1, "there was a moment without a healthy backend");
    assert.match(r.stderr, /migrate[\s\S]*backend: starting new container/, "migrate must run before the new backend starts");
    // The new container took the other slot and the marker moved to it before the old one was stopped.
    assert.match(r.stderr, /proxy: backend -> green[\s\S]*backend: draining old/, "traffic moves before the old container stops");
    assert.deepEqual(markers(), ["backend.green"]);
    const now = ids();
    for (const s of ["postgres", "redis", "frontend", "caddy"]) assert.deepEqual(now[s], first[s], `${s} was recreated`);
    assert.equal(now.backend.length, 1);
    assert.notDeepEqual(now.backend, first.backend);
    assert.equal(nameOf(now.backend[0]), `/${PROJECT}-backend-green`);
    assert.notDeepEqual(now.worker, first.worker, "worker runs the backend image: it must follow");
    assert.equal(link("current"), "releases/r2");
    assert.equal(link("previous"), "releases/r1");
    first = now;
  });

  it("a changed app secret recreates backend and worker only", async () => {
    writeSecret(app.appDir, "app/JWT_SECRET", "jwt-secret-value-2\n");
    const r = await deploy(["r2"]);
    assert.equal(r.code, 0, r.stderr);
    const now = ids();
    for (const s of ["postgres", "redis", "frontend", "caddy"]) assert.deepEqual(now[s], first[s], `${s} was recreated`);
    assert.notDeepEqual(now.backend, first.backend, r.stderr);
    assert.notDeepEqual(now.worker, first.worker);
    first = now;
  });

  it("an unhealthy new backend is removed; the old one keeps serving; current unchanged", async () => {
    release("r3", { backendImage: "ft-bintest/tiny:1", health: "exit 1" });
    const r = await deploy(["r3"]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /unhealthy/);
    assert.deepEqual(ids().backend, first.backend);
    assert.equal(link("current"), "releases/r2");
    assert.equal(lastAudit().result, "failure");
  });

  it("a failed migration stops the deploy before any backend changes", async () => {
    release("r4", { backendImage: "ft-bintest/tiny:1", migrateExit: 3 });
    const r = await deploy(["r4"]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /migrations failed/);
    assert.deepEqual(ids().backend, first.backend);
    assert.equal(link("current"), "releases/r2");
  });

  it("rollback deploys previous without migrate and swaps current/previous", async () => {
    const r = await deploy([], "rollback");
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /migrate SKIPPED/);
    assert.equal(link("current"), "releases/r1");
    assert.equal(link("previous"), "releases/r2");
    const now = ids();
    for (const s of ["postgres", "redis"]) assert.deepEqual(now[s], first[s], `${s} was recreated`);
    assert.equal(lastAudit().action, "rollback");
  });

  it("a stopped leftover backend container is not restarted in place of the new version", async () => {
    // Leave an exited r1 backend beside the running one (as a crash would).
    const composeArgs = ["compose", "-p", PROJECT, "--project-directory", path.join(app.appDir, "releases/r1"), "-f", path.join(app.appDir, "releases/r1/compose.yml")];
    const before = ids().backend;
    execFileSync("docker", [...composeArgs, "up", "-d", "--no-deps", "--no-recreate", "--scale", "backend=2", "backend"], { env: { ...env, FT_SECRETS_DIR: path.join(app.appDir, "secrets") }, stdio: "pipe" });
    const extra = ids().backend.filter((i) => !before.includes(i));
    assert.equal(extra.length, 1);
    execFileSync("docker", ["stop", "-t", "0", extra[0]], { stdio: "pipe" });
    const r = await deploy(["r2"]);
    assert.equal(r.code, 0, r.stderr);
    const now = ids().backend;
    assert.equal(now.length, 1);
    assert.equal(execFileSync("docker", ["inspect", "-f", "{{.Config.Image}}", now[0]], { encoding: "utf8" }).trim(), "ft-bintest/tiny:2");
  });

  // (issue 12 item 1) A release nothing will back up must not deploy "successfully".
  it("a deploy whose backup schedule cannot be installed fails, also when nothing else changed", async () => {
    const blocker = path.join(app.root, "not-a-dir");
    fs.writeFileSync(blocker, "");
    const r = await run("bash", [path.join(app.appDir, "releases", "r2", "bin", "deploy"), "r2"], { env: { ...env, FT_CRON_FILE: path.join(blocker, "cron.d", "freshtrack-backup") }, timeoutMs: 120000 });
    assert.notEqual(r.code, 0, "the deploy succeeded without a backup schedule");
    assert.match(r.stderr, /backup schedule not installed/);
    assert.equal(lastAudit().result, "failure");
  });
});
