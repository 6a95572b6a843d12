// The one-off run-task script, run by bash against a fake `aws` CLI: it must
// fail `pulumi up` (non-zero) unless the task's container exited 0.
import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { runTaskScript } from "../../components/aws/one-off";

const FAKE_AWS = `#!/bin/bash
echo "$*" >> "$FAKE_DIR/calls"
case "$2" in
  run-task) if [ "$FAKE_NO_TASK" = 1 ]; then printf 'None\\t1\\n'; else printf 'arn:aws:ecs:us-east-1:1:task/c/abc\\t0\\n'; fi ;;
  wait) n=$(cat "$FAKE_DIR/waits" 2>/dev/null || echo 0); echo $((n + 1)) > "$FAKE_DIR/waits"; [ "$((n + 1))" -ge "\${FAKE_WAIT_FAILS:-0}" ] || exit 255; [ "\${FAKE_WAIT_FAILS:-0}" -lt 99 ] || exit 255 ;;
  describe-tasks) case "$*" in *exitCode*) echo "\${FAKE_EXIT:-0}" ;; *) echo "Essential container in task exited" ;; esac ;;
esac
`;

function run(env: Record<string, string>) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "fake-aws-"));
  fs.writeFileSync(path.join(dir, "aws"), FAKE_AWS, { mode: 0o755 });
  const p = spawnSync("bash", ["-c", runTaskScript()], {
    encoding: "utf8",
    env: {
      PATH: `${dir}:${process.env.PATH}`,
      FAKE_DIR: dir,
      AWS_REGION: "us-east-1",
      CLUSTER: "arn:cluster",
      TASK_DEFINITION: "arn:td:7",
      CONTAINER: "migrate",
      SUBNETS: "subnet-a,subnet-b",
      SECURITY_GROUPS: "sg-1",
      ASSIGN_PUBLIC_IP: "ENABLED",
      LOG_GROUP: "/freshtrack/t/migrate",
      ...env,
    },
  });
  const calls = fs.existsSync(path.join(dir, "calls")) ? fs.readFileSync(path.join(dir, "calls"), "utf8").trim().split("\n") : [];
  fs.rmSync(dir, { recursive: true, force: true });
  return { status: p.status, stdout: p.stdout, stderr: p.stderr, calls };
}

describe("aws one-off run-task script (fake aws CLI)", () => {
  it("succeeds when the container exits 0, after run-task, wait and describe", () => {
    const r = run({});
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.calls[0], /^ecs run-task .*--task-definition arn:td:7 .*subnets=\[subnet-a,subnet-b\],securityGroups=\[sg-1\],assignPublicIp=ENABLED/);
    assert.match(r.calls[1], /^ecs wait tasks-stopped .*--tasks arn:aws:ecs:us-east-1:1:task\/c\/abc/);
    assert.ok(r.calls.some((c) => /describe-tasks/.test(c)));
  });
  it("fails when the container exits non-zero, naming the logs", () => {
    const r = run({ FAKE_EXIT: "1" });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /exit code 1/);
    assert.match(r.stderr, /aws logs tail \/freshtrack\/t\/migrate/);
  });
  it("fails when the container never ran (no exit code)", () => {
    assert.equal(run({ FAKE_EXIT: "None" }).status, 1);
  });
  it("fails when ECS starts no task", () => {
    const r = run({ FAKE_NO_TASK: "1" });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /started no task/);
    assert.equal(r.calls.length, 1, "no wait on a task that does not exist");
  });
  it("keeps waiting past the waiter's 10-minute limit, gives up after an hour", () => {
    assert.equal(run({ FAKE_WAIT_FAILS: "3" }).status, 0);
    const r = run({ FAKE_WAIT_FAILS: "99" });
    assert.equal(r.status, 1);
    assert.equal(r.calls.filter((c) => c.startsWith("ecs wait")).length, 6);
  });
  it("refuses to start without its ids", () => {
    const r = run({ TASK_DEFINITION: "" });
    assert.notEqual(r.status, 0);
    assert.equal(r.calls.length, 0);
  });
});
