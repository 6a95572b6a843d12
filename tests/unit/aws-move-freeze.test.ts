// The aws side's write freeze (a move off aws; a rollback's copy back onto a host), its undo and
// the check that ends the cutover, run by bash against a fake `aws` CLI and a fake `curl`: the
// freeze turns the every-request rule on, stops backend and worker and says when it began; one
// that cannot puts them back and reports; the undo sets them back and turns the rule off; the
// rollback's unfreeze brings the declared counts back; the check wants 200 through both addresses.
import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { FROM_AWS_FORECAST, moveFreezeForecastScript } from "../../components/aws/move-forecast";
import { FREEZE_NOT_FROZEN, moveFreezeScript, moveUnfreezeScript } from "../../components/aws/move-freeze";
import { moveCutoverUndoScript } from "../../components/aws/move-undo";
import { EXPORT_RUN_IF_FROZEN, NO_EXPORT, exportOf } from "../../components/move/aws-export-run";
import { MOVE_FORWARD_OFF_HOST, moveForwardOffScript } from "../../components/aws/move-forward";
import { forwardCheckScript } from "../../components/move/forward-check";
import { IMPORT_BACK_RUN } from "../../components/move/from-aws-copy-back";

const FAKE_AWS = `#!/bin/bash
echo "$*" >> "$FAKE_DIR/calls"
case "$1 $2" in
  "ecs update-service")
    case "$*" in *"--desired-count 0"*) [ "\${FAKE_STOP_FAILS:-0}" = 0 ] || exit 254 ;; esac
    echo "\${*##*--service }" | cut -d' ' -f1 ;;
  "ecs wait") [ "\${FAKE_WAIT_FAILS:-0}" = 0 ] || exit 255 ;;
  "elbv2 describe-rules") [ "\${FAKE_RULES_FAIL:-0}" = 0 ] || exit 255; echo "\${FAKE_RULE:-arn:aws:elasticloadbalancing:rule/2}" ;;
  "elbv2 modify-rule") [ "\${FAKE_MODIFY_FAILS:-0}" = 0 ] || exit 254; echo "arn:aws:elasticloadbalancing:rule/2" ;;
  "elbv2 describe-target-health") n=$(cat "$FAKE_DIR/th" 2>/dev/null || echo 0); echo $((n + 1)) > "$FAKE_DIR/th"
    IFS=';' read -ra st <<<"\${FAKE_TARGET_STATES:-healthy}"; [ "$n" -lt "\${#st[@]}" ] || n=$((\${#st[@]} - 1)); printf '%s\\n' "\${st[$n]}" ;;
esac
`;
// curl -sS -o /dev/null -w '%{http_code}' -m 10 --connect-to DOMAIN:443:ADDR:443 URL: answers per ADDR.
const FAKE_CURL = `#!/bin/bash
echo "$*" >> "$FAKE_DIR/calls"
while [ $# -gt 0 ]; do case $1 in --connect-to) to=$2; shift ;; esac; shift; done
addr=\${to#*:443:}; addr=\${addr%:443}
case $addr in $FAKE_UP) printf 200 ;; *) printf 502 ;; esac
`;

function bash(script: string, env: Record<string, string>) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "fake-aws-freeze-"));
  fs.writeFileSync(path.join(dir, "aws"), FAKE_AWS, { mode: 0o755 });
  fs.writeFileSync(path.join(dir, "curl"), FAKE_CURL, { mode: 0o755 });
  fs.writeFileSync(path.join(dir, "sleep"), '#!/bin/sh\necho "sleep $*" >> "$FAKE_DIR/calls"\n', { mode: 0o755 });
  const p = spawnSync("bash", ["-c", script], {
    encoding: "utf8",
    env: { PATH: `${dir}:${process.env.PATH}`, FAKE_DIR: dir, AWS_REGION: "eu-central-1", CLUSTER: "arn:cluster", ...env },
  });
  const calls = fs.existsSync(path.join(dir, "calls")) ? fs.readFileSync(path.join(dir, "calls"), "utf8").trim().split("\n") : [];
  fs.rmSync(dir, { recursive: true, force: true });
  return { status: p.status, stdout: p.stdout, stderr: p.stderr, calls };
}

const SERVICES = "backend=2 worker=1";
/** An aws side as the undo and the rollback's steps see it: its services, their target group, the every-request rule. */
const AWS_SIDE = {
  AWS_REGION: "eu-central-1",
  LISTENER_ARN: "arn:listener/https",
  PRIORITY: "2",
  SERVICES,
  SETTLE_SECONDS: "15",
  TARGET_GROUPS: "arn:tg/backend",
};
/** The every-request rule (the freeze turns it on, an undo off). */
const RULE = { LISTENER_ARN: "arn:listener/https", PRIORITY: "2" };
const counts = (calls: string[]) =>
  calls
    .filter((c) => c.startsWith("ecs update-service"))
    .map((c) => `${c.split("--service ")[1].split(" ")[0]}=${c.split("--desired-count ")[1].split(" ")[0]}`);
/** The conditions a modify-rule call set. */
const conditions = (call: string) => JSON.parse(call.split("--conditions ")[1].split(" --query")[0]);

describe("aws move off: the old side's write freeze and its end (fake aws CLI)", () => {
  it("turns the every-request rule on, waits for it to settle, stops backend and worker, waits until stable, prints when the freeze began", () => {
    const before = Math.floor(Date.now() / 1000);
    const r = bash(moveFreezeScript(), { SERVICES, SETTLE_SECONDS: "15", ...RULE });
    assert.equal(r.status, 0, r.stderr);
    // Only the script's own calls (a shell's startup files may run commands of their own).
    const ours = r.calls.filter((c) => c === "sleep 15" || c.startsWith("ecs ") || c.startsWith("elbv2 "));
    assert.match(ours[0], /^elbv2 describe-rules .*--listener-arn arn:listener\/https .*Priority=='2'/);
    assert.match(ours[1], /^elbv2 modify-rule .*--rule-arn arn:aws:elasticloadbalancing:rule\/2 /);
    // As the rule is declared (pathPattern "/*"): an undo of an earlier attempt had turned it off.
    assert.deepEqual(conditions(ours[1]), [{ Field: "path-pattern", PathPatternConfig: { Values: ["/*"] } }]);
    assert.equal(ours[2], "sleep 15", "the settle follows the rule");
    assert.deepEqual(counts(r.calls), ["backend=0", "worker=0"]);
    assert.ok(r.calls.some((c) => c.startsWith("ecs wait services-stable") && c.includes("--services backend worker")));
    assert.ok(!r.calls.some((c) => c.startsWith("elbv2 describe-target-health")), "stopping waits for no healthy target");
    const out = JSON.parse(r.stdout.trim().split("\n").pop()!);
    assert.ok(out.freeze_started >= before && out.freeze_started <= before + 5, JSON.stringify(out));
    assert.equal(out.settle_seconds, 15);
  });
  it("a rule that cannot be turned on (or read, or is gone): nothing frozen, the services untouched, reported and not fatal", () => {
    for (const fail of [{ FAKE_MODIFY_FAILS: "1" }, { FAKE_RULES_FAIL: "1" }, { FAKE_RULE: "None" }] as Record<string, string>[]) {
      const r = bash(moveFreezeScript(), { SERVICES, SETTLE_SECONDS: "1", ...RULE, ...fail });
      assert.equal(r.status, 0, r.stderr);
      assert.deepEqual(counts(r.calls), [], JSON.stringify(fail));
      assert.equal(r.stdout.trim(), FREEZE_NOT_FROZEN, JSON.stringify(fail));
      assert.match(r.stderr, /nothing frozen, this side serves on/);
    }
  });
  it("a freeze that cannot stop the services sets them back and reports, not fails; the export then does not run", () => {
    const r = bash(moveFreezeScript(), { SERVICES, SETTLE_SECONDS: "1", ...RULE, FAKE_STOP_FAILS: "1" });
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(counts(r.calls), ["backend=0", "backend=2", "worker=1"]);
    assert.equal(r.stdout.trim(), FREEZE_NOT_FROZEN);
    assert.doesNotMatch(r.stderr, /rollback/, "no instruction: the undo follows in the same run");
    const skipped = bash(EXPORT_RUN_IF_FROZEN, { FREEZE_REPORT: FREEZE_NOT_FROZEN, FAIL_ON_ERROR: "0" });
    assert.equal(skipped.status, 0, skipped.stderr);
    assert.deepEqual(
      skipped.calls.filter((c) => c.startsWith("ecs ")),
      [],
      "no export task without a freeze",
    );
    assert.deepEqual(JSON.parse(skipped.stdout.trim()), { ok: false, frozen: false });
    // The host then reads no export at all.
    assert.equal(exportOf(skipped.stdout.trim()), NO_EXPORT);
    // After a freeze the export task runs (its wrapper then needs its own environment).
    const ran = bash(EXPORT_RUN_IF_FROZEN, { FREEZE_REPORT: '{"freeze_started": 1700000000, "settle_seconds": 15}', FAIL_ON_ERROR: "0" });
    assert.notEqual(ran.stdout.trim(), '{"ok": false, "frozen": false}');
    assert.match(ran.stderr, /LOG_STREAM_PREFIX|parameter null or not set/, "it went on to the task's run");
  });
  it("services that do not turn stable at 0: set back, reported", () => {
    const r = bash(moveFreezeScript(), { SERVICES, SETTLE_SECONDS: "1", ...RULE, FAKE_WAIT_FAILS: "1" });
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(counts(r.calls), ["backend=0", "worker=0", "backend=2", "worker=1"]);
    assert.equal(r.stdout.trim(), FREEZE_NOT_FROZEN);
  });
  it("the host reads only this attempt's export: its freeze start when the export ran ok, else none", () => {
    const line = (ok: boolean, at: unknown) =>
      JSON.stringify({ task: "arn:task/1", exit: ok ? 0 : 1, seconds: 80, export: { tables: 12, freeze_started: at }, ok });
    assert.equal(exportOf(line(true, 1700000123)), "1700000123");
    assert.equal(exportOf(line(false, 1700000123)), NO_EXPORT, "a failed export");
    assert.equal(exportOf(line(true, null)), NO_EXPORT, "an export outside a freeze (a prepare's)");
    assert.equal(exportOf('{"ok": false, "frozen": false}'), NO_EXPORT);
    assert.equal(exportOf(""), NO_EXPORT);
    assert.equal(exportOf("garbage"), NO_EXPORT);
  });
  it("the rollback's unfreeze: the declared counts, stable, a healthy target in the backend's target group; fails when they do not turn stable", () => {
    const ok = bash(moveUnfreezeScript(), { SERVICES, TARGET_GROUPS: "arn:tg/backend", FAKE_TARGET_STATES: "initial;healthy" });
    assert.equal(ok.status, 0, ok.stderr);
    assert.deepEqual(counts(ok.calls), ["backend=2", "worker=1"]);
    assert.equal(ok.calls.filter((c) => c.startsWith("elbv2 describe-target-health --region eu-central-1 --target-group-arn arn:tg/backend")).length, 2);
    assert.deepEqual(JSON.parse(ok.stdout.trim()), { old_side: "serving" });
    const bad = bash(moveUnfreezeScript(), { SERVICES, FAKE_WAIT_FAILS: "1" });
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /did not turn stable/);
  });
});

describe("move off aws: the check that ends the cutover (fake curl)", () => {
  const env = { DOMAIN: "app.example", VIA: "alb-1.elb.amazonaws.com", NEW: "203.0.113.77", HEALTH: "/health", WAIT_SECONDS: "0" };
  it("200 through the load balancer and the new address: ok; the request names the app's domain over TLS", () => {
    const r = bash(forwardCheckScript(), { ...env, FAKE_UP: "*" });
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout.trim());
    assert.deepEqual(out, {
      through_load_balancer: { via: env.VIA, status: 200, seconds: 0 },
      new_side: { via: env.NEW, status: 200, seconds: 0 },
      ok: true,
    });
    assert.ok(r.calls.some((c) => c.includes(`--connect-to app.example:443:${env.VIA}:443 https://app.example/health`)));
  });
  it("either address not answering 200 fails the step, with both figures printed", () => {
    const r = bash(forwardCheckScript(), { ...env, FAKE_UP: env.NEW });
    assert.equal(r.status, 1);
    const out = JSON.parse(r.stdout.trim());
    assert.equal(out.through_load_balancer.status, 502);
    assert.equal(out.new_side.status, 200);
    assert.equal(out.ok, false);
    assert.match(r.stderr, /keeps forwarding/);
  });
});

describe("rollback of a move off aws: the every-request rule turned off, and the import skipped when nothing came back (fake aws CLI)", () => {
  const SCALED = '{"import": {"ok": true}, "scaled": true, "ok": true}';
  const env = AWS_SIDE;
  // Only the script's own calls (a shell's startup files may run commands of their own, sleeps included).
  const ours = (calls: string[]) => calls.filter((c) => c.startsWith("elbv2 ") || c.startsWith("ecs ") || c === "sleep 15");
  it("after a copy back that scaled aws up: the rule at priority 2 matches no request, then the settle; the report carried on, ok", () => {
    const r = bash(moveForwardOffScript(), { ...env, REPORT: SCALED });
    assert.equal(r.status, 0, r.stderr);
    const calls = ours(r.calls);
    assert.match(calls[0], /^elbv2 describe-rules --region eu-central-1 --listener-arn arn:listener\/https --query Rules\[\?Priority=='2'\]\.RuleArn/);
    assert.match(calls[1], /^elbv2 modify-rule --region eu-central-1 --rule-arn arn:aws:elasticloadbalancing:rule\/2 --conditions /);
    const conditions = JSON.parse(calls[1].split("--conditions ")[1].split(" --query")[0]);
    assert.deepEqual(conditions, [{ Field: "host-header", HostHeaderConfig: { Values: [MOVE_FORWARD_OFF_HOST] } }]);
    assert.match(MOVE_FORWARD_OFF_HOST, /\.invalid$/, "a name no request can carry");
    assert.equal(calls[2], "sleep 15", "the load balancer applies the change before the new host sends what it kept");
    assert.deepEqual(counts(r.calls), [], "the services are left as the scale set them");
    assert.deepEqual(JSON.parse(r.stdout.trim()), { copy_back: JSON.parse(SCALED), forward_off: true, ok: true });
  });
  it("a copy back that did not succeed: the rule stays, the report goes on unchanged (the conclude ends the new host's freeze)", () => {
    const failed = '{"import": {"ok": false}, "scaled": false, "ok": false}';
    const r = bash(moveForwardOffScript(), { ...env, REPORT: failed });
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(ours(r.calls), []);
    assert.equal(r.stdout.trim(), failed);
  });
  it("a rule that cannot be turned off: aws's services back to 0 tasks, not ok (the new host serves on)", () => {
    const r = bash(moveForwardOffScript(), { ...env, REPORT: SCALED, FAKE_MODIFY_FAILS: "1" });
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(counts(r.calls), ["backend=0", "worker=0"]);
    const out = JSON.parse(r.stdout.trim());
    assert.equal(out.ok, false);
    assert.equal(out.forward_off, false);
    assert.match(r.stderr, /cannot turn the every-request rule .* off\naws's backend and worker go back to 0 tasks/);
    const unreadable = bash(moveForwardOffScript(), { ...env, REPORT: SCALED, FAKE_RULES_FAIL: "1" });
    assert.equal(JSON.parse(unreadable.stdout.trim()).ok, false);
    assert.deepEqual(counts(unreadable.calls), ["backend=0", "worker=0"]);
  });
  it("no rule at that priority (already gone): nothing to turn off, ok", () => {
    const r = bash(moveForwardOffScript(), { ...env, REPORT: SCALED, FAKE_RULE: "None" });
    assert.equal(r.status, 0, r.stderr);
    assert.ok(!ours(r.calls).some((c) => c.startsWith("elbv2 modify-rule")));
    assert.equal(JSON.parse(r.stdout.trim()).ok, true);
  });
  it("the import back is skipped, reported ok, when the new host never took over (aws's own data is the latest)", () => {
    const r = bash(IMPORT_BACK_RUN, { PUSHED: '{"took_over":false}' });
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(ours(r.calls), [], "no task run");
    assert.deepEqual(JSON.parse(r.stdout.trim()), { copied_back: false, ok: true });
    assert.match(r.stdout.trim(), /"ok": true}$/, "as the scale step reads it");
    // A push's manifest (took over): the import task runs (its wrapper needs its environment first).
    const ran = bash(IMPORT_BACK_RUN, { PUSHED: '{"source":"host","created":1}' });
    assert.notEqual(ran.stdout.trim(), '{"copied_back": false, "ok": true}');
  });
});

describe("a cutover off aws that failed before the new host served: undone in the same run (fake aws CLI)", () => {
  const env = AWS_SIDE;
  // What bin/move-import --from-s3 --start-app --report-failure prints (jq -c).
  const NOT_SERVED = '{"ok":false,"served":false,"exit":1,"import":{"ok":false,"tables_equal":false}}';
  const SERVED = '{"ok":true,"app":"started","freeze_seconds":31.2}';
  const ours = (calls: string[]) => calls.filter((c) => c.startsWith("elbv2 ") || c.startsWith("ecs ") || c === "sleep 15");
  it("the new host served: nothing undone, the report carried on", () => {
    const r = bash(moveCutoverUndoScript(), { ...env, CUTOVER: SERVED });
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(ours(r.calls), []);
    assert.deepEqual(JSON.parse(r.stdout.trim()), { cutover: JSON.parse(SERVED), undone: false });
  });
  it("not served: the old backend and worker at their counts and stable, then a healthy target, then the rule off and the settle; undone", () => {
    // The load balancer answers 503 while no target of the group has passed a health check.
    const r = bash(moveCutoverUndoScript(), { ...env, CUTOVER: NOT_SERVED, FAKE_TARGET_STATES: "initial;initial draining;healthy draining" });
    assert.equal(r.status, 0, r.stderr);
    const calls = ours(r.calls);
    assert.deepEqual(counts(r.calls), ["backend=2", "worker=1"]);
    const stable = calls.findIndex((c) => c.startsWith("ecs wait services-stable"));
    const health = calls.map((c, i) => (c.startsWith("elbv2 describe-target-health") ? i : -1)).filter((i) => i >= 0);
    const modify = calls.findIndex((c) => c.startsWith("elbv2 modify-rule"));
    assert.equal(health.length, 3, "asked until a target was healthy");
    assert.ok(
      stable >= 0 && health[0] > stable && modify > health[2],
      "the old side serves, and the load balancer sends it requests, before the rule stops forwarding",
    );
    assert.match(r.stderr, /arn:tg\/backend: a target is healthy after 4 s/);
    assert.deepEqual(conditions(calls[modify]), [{ Field: "host-header", HostHeaderConfig: { Values: [MOVE_FORWARD_OFF_HOST] } }]);
    assert.equal(calls[modify + 1], "sleep 15", "applied before the new host sends back what it kept");
    assert.deepEqual(JSON.parse(r.stdout.trim()), { cutover: JSON.parse(NOT_SERVED), undone: true });
  });
  it("services whose target group gets no healthy target: the rule stays (the new host keeps holding), not undone", () => {
    const r = bash(moveCutoverUndoScript(), { ...env, CUTOVER: NOT_SERVED, FAKE_TARGET_STATES: "unhealthy" });
    assert.equal(r.status, 0, r.stderr);
    assert.ok(!ours(r.calls).some((c) => c.startsWith("elbv2 modify-rule")), "the rule is left forwarding");
    assert.equal(r.calls.filter((c) => c.startsWith("elbv2 describe-target-health")).length, 301, "every 2 s for 600 s");
    assert.equal(JSON.parse(r.stdout.trim()).undone, false);
    assert.match(r.stderr, /no healthy target after 600 s/);
  });
  it("services that do not turn stable: the rule stays (the new host keeps holding), not undone", () => {
    const r = bash(moveCutoverUndoScript(), { ...env, CUTOVER: NOT_SERVED, FAKE_WAIT_FAILS: "1" });
    assert.equal(r.status, 0, r.stderr);
    assert.ok(!ours(r.calls).some((c) => c.startsWith("elbv2 modify-rule")), "the rule is left forwarding");
    assert.equal(JSON.parse(r.stdout.trim()).undone, false);
    assert.match(r.stderr, /did not turn stable/);
  });
  it("a rule that cannot be turned off (or read): not undone", () => {
    for (const fail of [{ FAKE_MODIFY_FAILS: "1" }, { FAKE_RULES_FAIL: "1" }] as Record<string, string>[]) {
      const r = bash(moveCutoverUndoScript(), { ...env, CUTOVER: NOT_SERVED, ...fail });
      assert.equal(r.status, 0, r.stderr);
      assert.equal(JSON.parse(r.stdout.trim()).undone, false, JSON.stringify(fail));
      assert.match(r.stderr, /still forwards every request to the host, which holds them/);
    }
  });
  it("a copy back (a rollback onto a host): the same line from the old host is undone; nothing to take back is not", () => {
    const r = bash(moveCutoverUndoScript(), { ...env, CUTOVER: '{"ok":false,"served":false,"exit":1,"import":null}' });
    assert.deepEqual(counts(r.calls), ["backend=2", "worker=1"]);
    assert.equal(JSON.parse(r.stdout.trim()).undone, true);
    const nothing = bash(moveCutoverUndoScript(), { ...env, CUTOVER: '{"copied_back": false}' });
    assert.deepEqual(ours(nothing.calls), []);
    assert.deepEqual(JSON.parse(nothing.stdout.trim()), { cutover: { copied_back: false }, undone: false });
  });
  it("a line that is not JSON is carried as null; only a report of a failure before serving is undone", () => {
    const r = bash(moveCutoverUndoScript(), { ...env, CUTOVER: "garbage" });
    assert.deepEqual(JSON.parse(r.stdout.trim()), { cutover: null, undone: false });
    assert.deepEqual(ours(r.calls), []);
  });
});

describe("a move off aws: the cutover's freeze forecast from the prepare's export and copy", () => {
  // The prepare's export run line (moveImportRunScript) and the new host's report (jq -c).
  const exportLine = (seconds: number) => `{"task": "arn:task/1", "exit": 0, "seconds": ${seconds}, "export": {"tables": {}}, "ok": true}`;
  const copyLine = (seconds: number) => `{"tables_equal":true,"ok":true,"app":"stopped","copy_seconds":${seconds},"freeze_seconds":null}`;
  const env = { SETTLE_SECONDS: "15", MAX_FREEZE: "300" };
  it("under the limit: the forecast (settle + export + copy, rounded up) is printed and the cutover goes on", () => {
    const r = bash(moveFreezeForecastScript(FROM_AWS_FORECAST), { ...env, EXPORT_LINE: exportLine(95), COPY_LINE: copyLine(41.2) });
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout.trim()), { forecast_seconds: 152, export_seconds: 95, copy_seconds: 41.2, settle_seconds: 15, limit: 300 });
    assert.match(r.stderr, /about 152 s plus the old services' stop/);
  });
  it("over the limit: refused before anything of the cutover, saying how to go on", () => {
    const r = bash(moveFreezeForecastScript(FROM_AWS_FORECAST), { ...env, EXPORT_LINE: exportLine(180), COPY_LINE: copyLine(120) });
    assert.equal(r.status, 1);
    assert.equal(JSON.parse(r.stdout.trim()).forecast_seconds, 315);
    assert.match(r.stderr, /cutover refused, nothing frozen or changed: the write freeze would last about 315 s .* moveMaxFreezeSeconds \(300 s\)/);
    assert.match(r.stderr, /raise moveMaxFreezeSeconds \(up to 540/);
    assert.ok(r.stderr.includes(`pulumi up --replace "$(pulumi stack --show-urns | grep -o 'urn:[^ ]*::move-export')"`), r.stderr);
    assert.equal(
      bash(moveFreezeForecastScript(FROM_AWS_FORECAST), { ...env, MAX_FREEZE: "315", EXPORT_LINE: exportLine(180), COPY_LINE: copyLine(120) }).status,
      0,
      "at the limit",
    );
  });
  it("a prepare that did not report its times (an older release's lines): no forecast, a warning, the cutover goes on", () => {
    const r = bash(moveFreezeForecastScript(FROM_AWS_FORECAST), {
      ...env,
      EXPORT_LINE: '{"task": "t", "exit": 0, "export": {}, "ok": true}',
      COPY_LINE: copyLine(3),
    });
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout.trim()), { forecast_seconds: null, export_seconds: null, copy_seconds: 3, settle_seconds: 15, limit: 300 });
    assert.match(r.stderr, /cannot be forecast/);
  });
});
