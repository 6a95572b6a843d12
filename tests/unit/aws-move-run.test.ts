// The move's local scripts against aws (components/aws/move-run.ts), run by bash against a fake
// `aws` CLI: the import's run prints the task's report and fails only when asked to; the scale-up
// happens only after an import that compared equal, and anything failing leaves 0 tasks.
import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { FROM_AWS_FORECAST, moveFreezeForecastScript } from "../../components/aws/move-forecast";
import { moveImportRunScript, moveScaleScript } from "../../components/aws/move-run";

const MARKER = "FRESHTRACK_MOVE_IMPORT";
const REPORT = '{"tables_equal": true, "sequences_equal": true, "objects_equal": true, "secrets_equal": true, "ok": true}';

const FAKE_AWS = `#!/bin/bash
echo "$*" >> "$FAKE_DIR/calls"
case "$1 $2" in
  "ecs run-task") printf 'arn:aws:ecs:eu-central-1:1:task/c/abc123\\t0\\n' ;;
  "ecs wait") [ "\${FAKE_WAIT_FAILS:-0}" = 0 ] || exit 255 ;;
  "ecs describe-tasks") case "$*" in *exitCode*) echo "\${FAKE_EXIT:-0}" ;; *) echo "Essential container in task exited" ;; esac ;;
  "logs get-log-events") n=$(cat "$FAKE_DIR/logs" 2>/dev/null || echo 0); echo $((n + 1)) > "$FAKE_DIR/logs"
     if [ "$((n + 1))" -ge "\${FAKE_LOG_AFTER:-1}" ]; then printf '%s\\n' "\${FAKE_LOG_LINE:-None}"; else echo None; fi ;;
  "ecs update-service") [ "\${FAKE_UPDATE_FAILS:-0}" = 0 ] || exit 254; echo "\${*##*--service }" | cut -d' ' -f1 ;;
  "elbv2 describe-target-health") n=$(cat "$FAKE_DIR/th" 2>/dev/null || echo 0); echo $((n + 1)) > "$FAKE_DIR/th"
    IFS=';' read -ra st <<<"\${FAKE_TARGET_STATES:-healthy}"; [ "$n" -lt "\${#st[@]}" ] || n=$((\${#st[@]} - 1)); printf '%s\\n' "\${st[$n]}" ;;
esac
`;

function bash(script: string, env: Record<string, string>) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "fake-aws-move-"));
  fs.writeFileSync(path.join(dir, "aws"), FAKE_AWS, { mode: 0o755 });
  fs.writeFileSync(path.join(dir, "sleep"), "#!/bin/sh\nexit 0\n", { mode: 0o755 }); // the log retries wait 5 s each
  const p = spawnSync("bash", ["-c", script], {
    encoding: "utf8",
    env: { PATH: `${dir}:${process.env.PATH}`, FAKE_DIR: dir, AWS_REGION: "eu-central-1", CLUSTER: "arn:cluster", ...env },
  });
  const calls = fs.existsSync(path.join(dir, "calls")) ? fs.readFileSync(path.join(dir, "calls"), "utf8").trim().split("\n") : [];
  fs.rmSync(dir, { recursive: true, force: true });
  return { status: p.status, stdout: p.stdout, stderr: p.stderr, calls };
}

const importEnv = {
  TASK_DEFINITION: "arn:td:move-import:3",
  CONTAINER: "restore",
  SUBNETS: "subnet-a",
  SECURITY_GROUPS: "sg-1",
  ASSIGN_PUBLIC_IP: "ENABLED",
  LOG_GROUP: "/freshtrack/aws/move-import",
  LOG_STREAM_PREFIX: "restore",
};
const runImport = (env: Record<string, string>) => bash(moveImportRunScript(MARKER), { ...importEnv, ...env });
const lastJson = (out: string) => JSON.parse(out.trim().split("\n").pop()!);

describe("aws move: the import task's run (fake aws CLI)", () => {
  it("prints the task's report from its log stream, and ok when the task exited 0", () => {
    const r = runImport({ FAIL_ON_ERROR: "1", FAKE_LOG_LINE: `${MARKER} ${REPORT}`, FAKE_LOG_AFTER: "2" });
    assert.equal(r.status, 0, r.stderr);
    const { seconds, ...out } = lastJson(r.stdout);
    assert.deepEqual(out, { task: "arn:aws:ecs:eu-central-1:1:task/c/abc123", exit: 0, import: JSON.parse(REPORT), ok: true });
    // The whole run in whole seconds (sleep is stubbed here): a move off aws forecasts its freeze from it.
    assert.ok(Number.isInteger(seconds) && seconds >= 0 && seconds < 60, String(seconds));
    assert.match(r.stdout.trim(), /"ok": true}$/, "as the scale step reads it");
    assert.ok(
      r.calls.some((c) => c.includes("logs get-log-events") && c.includes("--log-stream-name restore/restore/abc123")),
      "reads the restore container's stream of that task",
    );
  });
  it("a task that exited non-zero: fails the step with FAIL_ON_ERROR=1 (prepare), only reports with 0 (cutover)", () => {
    const failed = '{"tables_equal": false, "ok": false}';
    const strict = runImport({ FAIL_ON_ERROR: "1", FAKE_EXIT: "1", FAKE_LOG_LINE: `${MARKER} ${failed}` });
    assert.equal(strict.status, 1);
    assert.match(strict.stderr, /import task failed.*aws logs tail \/freshtrack\/aws\/move-import/);
    const lenient = runImport({ FAIL_ON_ERROR: "0", FAKE_EXIT: "1", FAKE_LOG_LINE: `${MARKER} ${failed}` });
    assert.equal(lenient.status, 0);
    const { seconds: _s, ...reported } = lastJson(lenient.stdout);
    assert.deepEqual(reported, { task: "arn:aws:ecs:eu-central-1:1:task/c/abc123", exit: 1, import: JSON.parse(failed), ok: false });
  });
  it("the export's run line (the prepare's move-export) is what the cutover's move-forecast reads", () => {
    const r = bash(moveImportRunScript(MARKER, { task: "export" }), { ...importEnv, FAIL_ON_ERROR: "1", FAKE_LOG_LINE: `${MARKER} {"tables": {}}` });
    assert.equal(r.status, 0, r.stderr);
    const line = r.stdout.trim().split("\n").pop()!;
    const f = bash(moveFreezeForecastScript(FROM_AWS_FORECAST), {
      SETTLE_SECONDS: "15",
      MAX_FREEZE: "300",
      EXPORT_LINE: line,
      COPY_LINE: '{"ok":true,"copy_seconds":2.5}',
    });
    assert.equal(f.status, 0, f.stderr);
    assert.equal(JSON.parse(f.stdout.trim()).export_seconds, JSON.parse(line).seconds);
  });
  it("no report in the log: import null, ok from the exit code alone", () => {
    const r = runImport({ FAIL_ON_ERROR: "0" });
    assert.equal(r.status, 0);
    assert.equal(lastJson(r.stdout).import, null);
    assert.equal(lastJson(r.stdout).ok, true);
  });
});

describe("aws move: the scale-up after the import (fake aws CLI)", () => {
  const okReport = `{"task": "t", "exit": 0, "import": ${REPORT}, "ok": true}`;
  const scale = (env: Record<string, string>) => bash(moveScaleScript(), { SERVICES: "backend=2 worker=1", TARGET_GROUPS: "arn:tg/backend", ...env });
  it("scales each service to its count, waits until stable and until the backend's target group has a healthy target, after an import that was ok", () => {
    // Running tasks the load balancer has not seen pass a health check yet: it would answer 503.
    const r = scale({ IMPORT_REPORT: okReport, FAKE_TARGET_STATES: "initial initial;initial healthy" });
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(lastJson(r.stdout), { import: JSON.parse(okReport), scaled: true, ok: true });
    assert.match(r.calls[0], /ecs update-service .*--service backend --desired-count 2/);
    assert.match(r.calls[1], /ecs update-service .*--service worker --desired-count 1/);
    assert.match(r.calls[2], /ecs wait services-stable .*--services backend worker/);
    assert.match(r.calls[3], /^elbv2 describe-target-health --region eu-central-1 --target-group-arn arn:tg\/backend /);
    assert.match(r.calls[4], /^elbv2 describe-target-health /);
    assert.equal(r.calls.length, 5);
    assert.match(r.stderr, /a target is healthy after 2 s/);
  });
  it("a target group that gets no healthy target: back to 0 tasks, not ok (the old side then serves on)", () => {
    const r = scale({ IMPORT_REPORT: okReport, FAKE_TARGET_STATES: "unhealthy" });
    assert.equal(r.status, 0);
    assert.deepEqual(lastJson(r.stdout).scaled, false);
    assert.equal(r.calls.filter((c) => c.startsWith("elbv2 describe-target-health")).length, 301);
    assert.ok(r.calls.some((c) => /--service backend --desired-count 0/.test(c)));
    assert.ok(r.calls.some((c) => /--service worker --desired-count 0/.test(c)));
    assert.match(r.stderr, /no healthy target for them: back to 0 tasks/);
  });
  it("touches nothing after a failed import", () => {
    const r = scale({ IMPORT_REPORT: '{"task": "t", "exit": 1, "import": null, "ok": false}' });
    assert.equal(r.status, 0);
    assert.equal(lastJson(r.stdout).ok, false);
    assert.deepEqual(r.calls, []);
  });
  it("services that never turn stable go back to 0 tasks and the result is not ok (the old side then serves on)", () => {
    const r = scale({ IMPORT_REPORT: okReport, FAKE_WAIT_FAILS: "1" });
    assert.equal(r.status, 0);
    assert.deepEqual(lastJson(r.stdout).scaled, false);
    assert.equal(r.calls.filter((c) => c.startsWith("ecs wait")).length, 3, "three waits of 10 minutes");
    assert.ok(r.calls.some((c) => /--service backend --desired-count 0/.test(c)));
    assert.ok(r.calls.some((c) => /--service worker --desired-count 0/.test(c)));
  });
  it("a failed update-service goes back to 0 tasks too", () => {
    const r = scale({ IMPORT_REPORT: okReport, FAKE_UPDATE_FAILS: "1" });
    assert.equal(lastJson(r.stdout).ok, false);
    assert.ok(!r.calls.some((c) => c.startsWith("ecs wait")));
  });
});
