// Two deploys at once: the second fails FAST (no waiting) and names the holder; the same
// deploy run again (pulumi up after its connection was cut) waits for the first instead; once
// the holder is gone the lock is free again (flock dies with its process; the owner file is
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
  const auditLines = () =>
    fs.existsSync(path.join(app.appDir, "state/audit.log"))
      ? fs.readFileSync(path.join(app.appDir, "state/audit.log"), "utf8").trim().split("\n").filter(Boolean).length
      : 0;
  const lastAudit = () => JSON.parse(fs.readFileSync(path.join(app.appDir, "state/audit.log"), "utf8").trim().split("\n").at(-1)!);

  const owner = () => path.join(app.appDir, "state/deploy.lock.owner");
  /** A deploy of r1 that hangs in its pull, holding the lock, in its own process group. */
  const holdingDeploy = async () => {
    const first = spawn(path.join(app.relDir, "bin/deploy"), ["r1"], {
      env: { ...env, FT_STUB_SCRIPT: 'case "$*" in *" pull "*) sleep 25 ;; esac' },
      detached: true, // own process group: the test kills deploy and its stubbed docker together
      stdio: "ignore",
    });
    const exited = new Promise<void>((r) => first.on("exit", () => r()));
    // An earlier test's killed holder leaves its owner file: wait for this one's.
    const holds = () => fs.existsSync(owner()) && fs.readFileSync(owner(), "utf8").includes(`pid=${first.pid}\n`);
    for (let i = 0; i < 50 && !holds(); i++) await sleep(100);
    return { first, exited, holds, kill: () => process.kill(-first.pid!, "SIGKILL") };
  };

  it("a second deploy while one runs exits at once with the holder's user, pid and action", async () => {
    const { first, exited, holds, kill } = await holdingDeploy();
    try {
      assert.ok(holds(), "first deploy never took the lock");
      const holder = fs.readFileSync(owner(), "utf8");
      assert.match(holder, new RegExp(`^pid=${first.pid}$`, "m"));
      // Where that run's output goes, should its caller be gone (it outlives the connection).
      assert.match(holder, new RegExp(`^log=${app.appDir}/state/logs/\\d{8}T\\d{6}Z-deploy-${first.pid}\\.log$`, "m"));

      // Another release: an operator's deploy beside the running one.
      const second = await run(path.join(app.relDir, "bin/deploy"), ["r2"], { env });
      assert.ok(second.ms < 2000, `second deploy took ${second.ms} ms: it waited for the lock`);
      assert.equal(second.code, 75, second.stderr);
      assert.match(second.stderr, /lock is held/);
      assert.match(second.stderr, new RegExp(`pid=${first.pid}`));
      assert.match(second.stderr, /action=deploy r1/);
      assert.match(second.stderr, /user=\S+/);
      assert.match(second.stderr, /since=\d{4}-\d\d-\d\dT/);
      assert.match(second.stderr, /log=\S+-deploy-\d+\.log/);
      assert.match(second.stderr, /Run this again once that holder has ended/);
      assert.equal(fs.readFileSync(owner(), "utf8"), holder, "the refused deploy must not overwrite the holder");
      // Neither a rollback nor a production restore waits either.
      const rollback = await run(path.join(app.relDir, "bin/deploy"), ["--rollback", "r1"], { env });
      assert.equal(rollback.code, 75, rollback.stderr);
      assert.ok(rollback.ms < 2000, `rollback took ${rollback.ms} ms: it waited for the lock`);
    } finally {
      kill();
      await exited;
    }
  });

  it("the same deploy run again (pulumi up after a cut connection) waits for the one still running, then goes on", async () => {
    const { exited, holds, kill } = await holdingDeploy();
    try {
      assert.ok(holds(), "first deploy never took the lock");
      // Its wait runs out while the first still holds: exit 75, naming the holder.
      const short = await run(path.join(app.relDir, "bin/deploy"), ["r1"], { env: { ...env, FT_DEPLOY_LOCK_WAIT: "1" } });
      assert.equal(short.code, 75, short.stderr);
      assert.ok(short.ms >= 1000, `it gave up after ${short.ms} ms: it did not wait`);
      assert.match(short.stderr, /deploy lock is held \(an earlier run, perhaps one that outlived its connection\); waiting up to 1 s for it to end/);
      assert.match(short.stderr, /ERROR: deploy lock is held; still, after 1 s/);
      // The first ends (here: killed) while the second waits: the second takes the lock.
      const audited = auditLines();
      const again = run(path.join(app.relDir, "bin/deploy"), ["r1"], { env });
      await sleep(1500);
      kill();
      await exited;
      const r = await again;
      assert.match(r.stderr, /waiting up to 1800 s/);
      assert.doesNotMatch(r.stderr, /ERROR: deploy lock is held/);
      assert.ok(r.ms >= 1500, `the run again took ${r.ms} ms: it never waited`);
      // Past the lock it is a deploy like any other (the stub knows no services: it fails later, audited).
      assert.equal(auditLines(), audited + 1, "the run again's own audit line");
      assert.equal(lastAudit().action, "deploy");
    } finally {
      kill();
      await exited;
    }
  });

  it("after the holder dies the lock is free: the next deploy gets past it", async () => {
    const r = await run(path.join(app.relDir, "bin/deploy"), ["r1"], { env });
    assert.doesNotMatch(r.stderr, /lock is held/);
    // The stub knows no services, so this deploy fails later, and says so in the audit log.
    assert.notEqual(r.code, 0);
    const last = lastAudit();
    assert.equal(last.action, "deploy");
    assert.equal(last.result, "failure");
    assert.equal(fs.existsSync(path.join(app.appDir, "state/deploy.lock.owner")), false, "owner file must go with the lock");
  });
});
