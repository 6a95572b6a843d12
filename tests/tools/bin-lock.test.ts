// Two deploys at once: the second fails FAST (no waiting) and names the holder; once the
// holder is gone the lock is free again (flock dies with its process; the owner file is
// informational only). docker is a stub on PATH that makes the first deploy hang in `pull`.
import { strict as assert } from "assert";
import { spawn } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { makeAppDir, run, stubDocker } from "../fixtures/bin/harness";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("tools: bin/deploy lock", function () {
  this.timeout(30000);
  let app: ReturnType<typeof makeAppDir>;
  let env: NodeJS.ProcessEnv;

  before(() => {
    app = makeAppDir({ target: "vm", compose_files: ["compose.yml"], profiles: [], secrets: {} });
    const stub = stubDocker(path.join(app.root, "stub"));
    env = { ...process.env, PATH: `${stub}:${process.env.PATH}`, FT_STUB_LOG: path.join(app.root, "docker.log") };
  });
  after(() => fs.rmSync(app.root, { recursive: true, force: true }));

  it("a second deploy while one runs exits at once with the holder's user, pid and action", async () => {
    const owner = path.join(app.appDir, "state/deploy.lock.owner");
    const first = spawn(path.join(app.relDir, "bin/deploy"), ["r1"], {
      env: { ...env, FT_STUB_SCRIPT: 'case "$*" in *" pull "*) sleep 25 ;; esac' },
      detached: true, // own process group: the test kills deploy and its stubbed docker together
      stdio: "ignore",
    });
    const exited = new Promise<void>((r) => first.on("exit", () => r()));
    try {
      for (let i = 0; i < 50 && !fs.existsSync(owner); i++) await sleep(100);
      assert.ok(fs.existsSync(owner), "first deploy never took the lock");
      const holder = fs.readFileSync(owner, "utf8");
      assert.match(holder, new RegExp(`^pid=${first.pid}$`, "m"));
      // Where that run's output goes, should its caller be gone (it outlives the connection).
      assert.match(holder, new RegExp(`^log=${app.appDir}/state/logs/\\d{8}T\\d{6}Z-deploy-${first.pid}\\.log$`, "m"));

      const second = await run(path.join(app.relDir, "bin/deploy"), ["r1"], { env });
      assert.ok(second.ms < 2000, `second deploy took ${second.ms} ms: it waited for the lock`);
      assert.equal(second.code, 75, second.stderr);
      assert.match(second.stderr, /lock is held/);
      assert.match(second.stderr, new RegExp(`pid=${first.pid}`));
      assert.match(second.stderr, /action=deploy r1/);
      assert.match(second.stderr, /user=\S+/);
      assert.match(second.stderr, /since=\d{4}-\d\d-\d\dT/);
      assert.match(second.stderr, /log=\S+-deploy-\d+\.log/);
      assert.match(second.stderr, /Run this again once that holder has ended/);
      assert.equal(fs.readFileSync(owner, "utf8"), holder, "the refused deploy must not overwrite the holder");
    } finally {
      process.kill(-first.pid!, "SIGKILL");
      await exited;
    }
  });

  it("after the holder dies the lock is free: the next deploy gets past it", async () => {
    const r = await run(path.join(app.relDir, "bin/deploy"), ["r1"], { env });
    assert.doesNotMatch(r.stderr, /lock is held/);
    // The stub knows no services, so this deploy fails later, and says so in the audit log.
    assert.notEqual(r.code, 0);
    const last = JSON.parse(fs.readFileSync(path.join(app.appDir, "state/audit.log"), "utf8").trim().split("\n").at(-1)!);
    assert.equal(last.action, "deploy");
    assert.equal(last.result, "failure");
    assert.equal(fs.existsSync(path.join(app.appDir, "state/deploy.lock.owner")), false, "owner file must go with the lock");
  });
});
