// bin/deploy and bin/rollback against the REAL Docker engine and Compose v2, with a
// stand-in stack (tests/fixtures/bin/compose.deploy.yml) under its own project name.
// Verifies by container ids: a no-op redeploy restarts nothing; an app-only change never
// recreates data services; backend is replaced with >= 1 healthy container at every
// moment; an unhealthy new version or a failed migration leaves the old one serving, and
// leaves the running release's files, secrets and links as they were (a restarted old
// container gets its own config and secrets); container output stays on the host.
// Secrets are written by the push's own write-secrets.sh, one generation per payload.
import { strict as assert } from "assert";
import { execFileSync, spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { hostScript } from "../../components/shared/host";
import { secretPayloadDigest, serializeSecretPayload } from "../../compose/secret-files";
import { makeAppDir, run } from "../fixtures/bin/harness";

const PROJECT = `ftbin${process.pid}`;
/** Per process: another test run on the same engine re-imports its own image under its own name. */
const TINY = `ft-bintest${process.pid}/tiny`;
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
    execFileSync("sh", ["-c", `tar -C '${root}' -c . | docker import -c 'CMD ["/bin/sleep","infinity"]' - ${TINY}:1 >/dev/null`]);
    execFileSync("docker", ["tag", `${TINY}:1`, `${TINY}:2`]);
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
}

describe("tools: bin/deploy and bin/rollback on a real Docker engine", function () {
  this.timeout(240000);
  let app: ReturnType<typeof makeAppDir>;
  let env: NodeJS.ProcessEnv;

  const release = (id: string, o: { backendImage?: string; health?: string; migrateExit?: number; says?: string; redisConf?: string } = {}) => {
    const dir = path.join(app.appDir, "releases", id);
    if (!fs.existsSync(dir)) fs.cpSync(app.relDir, dir, { recursive: true });
    const yml = fs
      .readFileSync(FIXTURE, "utf8")
      .replace(/@BACKEND_IMAGE@/g, o.backendImage ?? "ft-bintest/tiny:1")
      .replace(/ft-bintest\/tiny/g, TINY)
      .replace(/@BACKEND_HEALTH@/g, o.health ?? "exit 0")
      .replace(/@BACKEND_SAYS@/g, o.says ?? "backend-started")
      .replace(/@MIGRATE_EXIT@/g, String(o.migrateExit ?? 0));
    fs.writeFileSync(path.join(dir, "compose.yml"), yml);
    fs.mkdirSync(path.join(dir, "config"), { recursive: true });
    fs.writeFileSync(path.join(dir, "config", "redis.conf"), o.redisConf ?? "appendonly yes\n");
    return dir;
  };
  /** The push's write-secrets step, as the program wires it: payload on stdin, its digest names the generation. */
  const pushSecrets = async (jwt: string): Promise<string> => {
    const payload = serializeSecretPayload({
      "postgres/POSTGRES_PASSWORD": { uid: 0, content: "pg-secret-value\n" },
      "app/JWT_SECRET": { uid: 0, content: jwt },
    });
    const gen = secretPayloadDigest(payload);
    const r = await run("bash", ["-c", hostScript("write-secrets"), "write-secrets", app.appDir, gen], { input: payload });
    assert.equal(r.code, 0, r.stderr);
    return gen;
  };
  const inContainer = (id: string, file: string) => execFileSync("docker", ["exec", id, "cat", file], { encoding: "utf8" });
  const ids = (): Record<string, string[]> => {
    const out: Record<string, string[]> = {};
    for (const s of SERVICES) {
      out[s] = execFileSync(
        "docker",
        ["ps", "-q", "--no-trunc", "--filter", `label=com.docker.compose.project=${PROJECT}`, "--filter", `label=com.docker.compose.service=${s}`],
        { encoding: "utf8" },
      )
        .split("\n")
        .filter(Boolean)
        .sort();
    }
    return out;
  };
  let gen = "";
  const deploy = (args: string[], script = "deploy", generation: string | undefined = gen) =>
    run("bash", [path.join(app.appDir, "releases", "r1", "bin", script), ...args], {
      env: { ...env, ...(generation ? { FT_SECRETS_GENERATION: generation } : {}) },
      timeoutMs: 120000,
    });
  const link = (name: string) => fs.readlinkSync(path.join(app.appDir, name));
  const lastAudit = () => JSON.parse(fs.readFileSync(path.join(app.appDir, "state/audit.log"), "utf8").trim().split("\n").at(-1)!);

  before(async () => {
    buildTinyImage();
    app = makeAppDir({
      target: "vm",
      compose_files: ["compose.yml"],
      profiles: [],
      secrets: { postgres: ["postgres/POSTGRES_PASSWORD"], backend: ["app/JWT_SECRET"], worker: ["app/JWT_SECRET"] },
      backup: { remote: "s3", bucket: "b", schedule: "17 3 * * *", verify_schedule: "17 5 * * *" },
    });
    env = {
      ...process.env,
      FT_COMPOSE_PROJECT: PROJECT,
      FT_PROXY_SETTLE_SECONDS: "0.2",
      FT_HEALTH_TIMEOUT: "15",
      FT_CRON_FILE: path.join(app.root, "cron.d", "freshtrack-backup"),
    };
    gen = await pushSecrets("jwt-secret-value-1\n");
    release("r1");
  });

  after(() => {
    try {
      execFileSync(
        "docker",
        ["compose", "-p", PROJECT, "-f", path.join(app.appDir, "releases/r1/compose.yml"), "--profile", "*", "down", "-v", "-t", "1", "--remove-orphans"],
        { env, stdio: "pipe" },
      );
    } catch {
      /* best effort */
    }
    try {
      execFileSync("docker", ["rmi", `${TINY}:1`, `${TINY}:2`], { stdio: "pipe" });
    } catch {
      /* still used elsewhere */
    }
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
    // The install's first backup ran and failed (this stand-in has no backup set-up): reported, not fatal.
    assert.match(r.stderr, /the install's first backup failed \(see above\); the release is deployed/);
    const audit = fs
      .readFileSync(path.join(app.appDir, "state/audit.log"), "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    assert.deepEqual(
      audit.slice(-2).map((a) => `${a.action}:${a.result}`),
      ["backup:failure", "deploy:success"],
    );
    assert.match(fs.readFileSync(env.FT_CRON_FILE!, "utf8"), /^17 3 \* \* \* root \/bin\/bash \S+\/current\/bin\/backup /m);
    // The deployed generation is now the current one; containers mount its physical path.
    assert.equal(link("secrets"), `secrets.d/${gen}`);
    const mounts = execFileSync("docker", ["inspect", "-f", "{{range .Mounts}}{{println .Source}}{{end}}", first.backend[0]], { encoding: "utf8" });
    assert.ok(mounts.includes(`${app.appDir}/secrets.d/${gen}/app`), mounts);
  });

  it("redeploying the current release with unchanged digests restarts nothing", async () => {
    const r = await deploy(["r1"]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(ids(), first);
    assert.equal(lastAudit().result, "noop", r.stderr);
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
        const out = execFileSync(
          "docker",
          [
            "ps",
            "--filter",
            `label=com.docker.compose.project=${PROJECT}`,
            "--filter",
            "label=com.docker.compose.service=backend",
            "--filter",
            "health=healthy",
            "-q",
          ],
          { encoding: "utf8" },
        );
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
    for (const s of ["postgres", "redis", "frontend", "caddy"]) assert.deepEqual(now[s], first[s], `${s} was recreated: ${r.stderr}`);
    assert.equal(now.backend.length, 1);
    assert.notDeepEqual(now.backend, first.backend);
    assert.equal(nameOf(now.backend[0]), `/${PROJECT}-backend-green`);
    assert.notDeepEqual(now.worker, first.worker, "worker runs the backend image: it must follow");
    assert.equal(link("current"), "releases/r2");
    assert.equal(link("previous"), "releases/r1");
    first = now;
  });

  it("a changed app secret recreates backend and worker only", async () => {
    const before = gen;
    gen = await pushSecrets("jwt-secret-value-2\n");
    assert.equal(link("secrets"), `secrets.d/${before}`, "the push alone changes nothing the running release reads");
    const r = await deploy(["r2"]);
    assert.equal(r.code, 0, r.stderr);
    const now = ids();
    for (const s of ["postgres", "redis", "frontend", "caddy"]) assert.deepEqual(now[s], first[s], `${s} was recreated: ${r.stderr}`);
    assert.notDeepEqual(now.backend, first.backend, r.stderr);
    assert.notDeepEqual(now.worker, first.worker);
    assert.equal(link("secrets"), `secrets.d/${gen}`);
    assert.ok(fs.existsSync(path.join(app.appDir, "secrets.d", before)), "postgres still mounts the first generation: it is kept");
    first = now;
  });

  it("an unhealthy new backend with new secrets and config: the running release, its files, secrets and links stay as they were", async () => {
    const running = gen;
    const snapshot = () => ({
      current: link("current"),
      previous: link("previous"),
      secrets: link("secrets"),
      secretsEnv: fs.readFileSync(path.join(app.appDir, "state/secrets.env"), "utf8"),
      live: fs.readFileSync(path.join(app.appDir, "live/.release"), "utf8"),
      liveRedisConf: fs.readFileSync(path.join(app.appDir, "live/config/redis.conf"), "utf8"),
    });
    const before = snapshot();
    // A new secret, a new config file and a backend that never becomes healthy (and says so in its logs).
    const next = await pushSecrets("jwt-secret-value-3\n");
    release("r3", { backendImage: "ft-bintest/tiny:1", health: "exit 1", says: "CONTAINER-LOG-MARKER-r3", redisConf: "appendonly yes\n# r3\n" });
    const r = await deploy(["r3"], "deploy", next);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /unhealthy/);
    assert.match(r.stderr, /FAILED in step roll .*current is still r2.*bin\/rollback is not needed/);
    assert.deepEqual(ids().backend, first.backend);
    assert.deepEqual(snapshot(), before, "a failed deploy changed what the running release reads");
    assert.equal(lastAudit().result, "failure");
    assert.equal(lastAudit().step, "roll");
    // The failed container's logs are on the host, named in the output, never in it.
    assert.ok(!(r.stdout + r.stderr).includes("CONTAINER-LOG-MARKER-r3"), "container logs reached the command's output");
    const logFile = /logs are on this host in (\S+\.log)/.exec(r.stderr)?.[1];
    assert.ok(logFile && logFile.startsWith(path.join(app.appDir, "state/logs/")), r.stderr);
    assert.match(fs.readFileSync(logFile, "utf8"), /CONTAINER-LOG-MARKER-r3/);
    assert.equal(fs.statSync(logFile).mode & 0o777, 0o600);
    // A restart of the running release's containers (crash, reboot) gets their own secrets and files back.
    execFileSync("docker", ["restart", "-t", "1", first.backend[0], first.redis[0]], { stdio: "pipe" });
    assert.equal(inContainer(first.backend[0], "/run/secrets/env/JWT_SECRET"), "jwt-secret-value-2\n");
    assert.equal(inContainer(first.redis[0], "/etc/redis.conf"), "appendonly yes\n");
    assert.equal(link("secrets"), `secrets.d/${running}`);
    gen = next; // what the push will deploy next
  });

  it("a failed migration stops the deploy before any backend changes; its output stays on the host", async () => {
    release("r4", { backendImage: "ft-bintest/tiny:1", migrateExit: 3 });
    const r = await deploy(["r4"]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /migrations failed/);
    assert.ok(!(r.stdout + r.stderr).includes("migrate-says-3"), "the job's output reached the command's output");
    const logFile = /its output is on this host in (\S+\.log)/.exec(r.stderr)?.[1];
    assert.ok(logFile, r.stderr);
    assert.match(fs.readFileSync(logFile, "utf8"), /migrate-says-3/);
    assert.deepEqual(ids().backend, first.backend);
    assert.equal(link("current"), "releases/r2");
  });

  it("after the failures, a good deploy with the pushed secrets works and switches them", async () => {
    const r = await deploy(["r2"]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(link("secrets"), `secrets.d/${gen}`);
    const now = ids();
    assert.equal(inContainer(now.backend[0], "/run/secrets/env/JWT_SECRET"), "jwt-secret-value-3\n");
    assert.equal(fs.readFileSync(path.join(app.appDir, "live/.release"), "utf8").trim(), "r2");
    first = now;
  });

  it("a deploy whose caller is cut off mid-roll (its output pipes closed) still ends as it would have: failed, what it replaced put back, audited, its output on the host", async () => {
    const before = { current: link("current"), backend: ids().backend };
    const logsDir = path.join(app.appDir, "state", "logs");
    const logsBefore = new Set(fs.readdirSync(logsDir));
    // r3's backend never turns healthy: the deploy must fail in its roll and restore.
    const child = spawn("bash", [path.join(app.appDir, "releases", "r1", "bin", "deploy"), "r3"], {
      env: { ...env, FT_SECRETS_GENERATION: gen },
      stdio: ["ignore", "pipe", "pipe"],
    });
    const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
    let seen = "";
    child.stdout.resume();
    child.stderr.on("data", (d: Buffer) => (seen += d.toString()));
    for (let i = 0; i < 600 && !/backend: starting new container beside/.test(seen); i++) await new Promise((r) => setTimeout(r, 100));
    assert.match(seen, /backend: starting new container beside/);
    // The deploying machine is gone: nothing reads the command's output any more.
    child.stdout.destroy();
    child.stderr.destroy();
    assert.equal(await exited, 1, "it went on to its own end: the roll failed");
    assert.equal(lastAudit().result, "failure");
    assert.equal(lastAudit().step, "roll");
    assert.deepEqual(ids().backend, before.backend, "the running backend serves on");
    assert.equal(link("current"), before.current);
    const logs = fs.readdirSync(logsDir).filter((f) => !logsBefore.has(f) && /-deploy-\d+\.log$/.test(f));
    assert.equal(logs.length, 1, logs.join(" "));
    const text = fs.readFileSync(path.join(logsDir, logs[0]), "utf8");
    assert.match(text, /FAILED in step roll .*current is still r2/, "what the caller never saw");
    assert.equal(fs.statSync(path.join(logsDir, logs[0])).mode & 0o777, 0o600);
  });

  it("rollback deploys previous without migrate and swaps current/previous", async () => {
    const r = await deploy([], "rollback", "");
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
    const composeArgs = [
      "compose",
      "-p",
      PROJECT,
      "--project-directory",
      path.join(app.appDir, "releases/r1"),
      "-f",
      path.join(app.appDir, "releases/r1/compose.yml"),
    ];
    const before = ids().backend;
    execFileSync("docker", [...composeArgs, "up", "-d", "--no-deps", "--no-recreate", "--scale", "backend=2", "backend"], {
      env: { ...env, FT_SECRETS_DIR: path.join(app.appDir, "secrets") },
      stdio: "pipe",
    });
    const extra = ids().backend.filter((i) => !before.includes(i));
    assert.equal(extra.length, 1);
    execFileSync("docker", ["stop", "-t", "0", extra[0]], { stdio: "pipe" });
    const r = await deploy(["r2"], "deploy", "");
    assert.equal(r.code, 0, r.stderr);
    const now = ids().backend;
    assert.equal(now.length, 1);
    assert.equal(execFileSync("docker", ["inspect", "-f", "{{.Config.Image}}", now[0]], { encoding: "utf8" }).trim(), `${TINY}:2`);
  });

  it("during a move whose app is held stopped (state/move-stopped-app), a deploy stops the new backend and worker again and records them for the cutover", async () => {
    const held = path.join(app.appDir, "state", "move-stopped-app");
    const running = ids();
    // As bin/move-import --keep-app-stopped leaves the new side of a move after its prepare.
    execFileSync("docker", ["stop", "-t", "1", ...running.backend, ...running.worker], { stdio: "pipe" });
    fs.writeFileSync(held, [...running.backend, ...running.worker].join("\n") + "\n");
    try {
      // A changed secret: the roll replaces backend and worker (started, health-checked).
      gen = await pushSecrets("jwt-secret-value-5\n");
      const r = await deploy(["r2"]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, /a move holds this side's app stopped \(move-stopped-app\): stopping the new backend and worker again/);
      const now = ids();
      assert.deepEqual([...now.backend, ...now.worker], [], "no backend or worker runs after the deploy: the serving side is the only writer");
      const recorded = fs.readFileSync(held, "utf8").split("\n").filter(Boolean).sort();
      assert.equal(recorded.length, 2, "the new backend and worker");
      // The alert rules read the hold from node-exporter's textfile, written again with the mark.
      assert.match(fs.readFileSync(path.join(app.appDir, "metrics", "move.prom"), "utf8"), /^freshtrack_move_app_held\{state="standby"\} 1$/m);
      for (const id of recorded) {
        assert.ok(!running.backend.includes(id) && !running.worker.includes(id), "the removed containers are no longer named");
        assert.equal(execFileSync("docker", ["inspect", "-f", "{{.State.Status}}", id], { encoding: "utf8" }).trim(), "exited");
      }
      // What the cutover's bin/move-import does with them: they start, with the deployed secret.
      execFileSync("docker", ["start", ...recorded], { stdio: "pipe" });
      const back = ids();
      assert.deepEqual([...back.backend, ...back.worker].sort(), recorded);
      assert.equal(inContainer(back.backend[0], "/run/secrets/env/JWT_SECRET"), "jwt-secret-value-5\n");
    } finally {
      fs.rmSync(held, { force: true });
    }
    // Without the file a deploy leaves the app running (nothing held).
    const r = await deploy(["r2"]);
    assert.equal(r.code, 0, r.stderr);
    assert.doesNotMatch(r.stderr, /a move holds/);
    assert.equal(ids().backend.length, 1);
  });

  // (issue 12 item 1) A release nothing will back up must not deploy "successfully".
  it("a deploy whose backup schedule cannot be installed fails, also when nothing else changed", async () => {
    const blocker = path.join(app.root, "not-a-dir");
    fs.writeFileSync(blocker, "");
    const r = await run("bash", [path.join(app.appDir, "releases", "r2", "bin", "deploy"), "r2"], {
      env: { ...env, FT_CRON_FILE: path.join(blocker, "cron.d", "freshtrack-backup") },
      timeoutMs: 120000,
    });
    assert.notEqual(r.code, 0, "the deploy succeeded without a backup schedule");
    assert.match(r.stderr, /backup schedule not installed/);
    assert.equal(lastAudit().result, "failure");
  });
});
