// A move off aws: the freeze of the old side's services and the check that ends the cutover,
// run by bash against a fake `aws` CLI and a fake `curl`: the freeze stops the old backend and
// worker and says when it began, a freeze that cannot stop them puts them back and fails; the
// rollback's unfreeze brings the declared counts back; the check wants 200 through both addresses.
import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { moveFreezeScript, moveUnfreezeScript } from "../../components/aws/move-freeze";
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
const counts = (calls: string[]) =>
  calls
    .filter((c) => c.startsWith("ecs update-service"))
    .map((c) => `${c.split("--service ")[1].split(" ")[0]}=${c.split("--desired-count ")[1].split(" ")[0]}`);

describe("aws move off: the old side's write freeze and its end (fake aws CLI)", () => {
  it("waits for the rule to settle, stops backend and worker, waits until stable, prints when the freeze began", () => {
    const before = Math.floor(Date.now() / 1000);
    const r = bash(moveFreezeScript(), { SERVICES, SETTLE_SECONDS: "15" });
    assert.equal(r.status, 0, r.stderr);
    // Only the script's own calls (a shell's startup files may run commands of their own).
    const ours = r.calls.filter((c) => c === "sleep 15" || c.startsWith("ecs "));
    assert.equal(ours[0], "sleep 15", "the settle comes first");
    assert.deepEqual(counts(r.calls), ["backend=0", "worker=0"]);
    assert.ok(r.calls.some((c) => c.startsWith("ecs wait services-stable") && c.includes("--services backend worker")));
    const out = JSON.parse(r.stdout.trim().split("\n").pop()!);
    assert.ok(out.freeze_started >= before && out.freeze_started <= before + 5, JSON.stringify(out));
    assert.equal(out.settle_seconds, 15);
  });
  it("a freeze that cannot stop the services sets them back to their counts and fails, saying to roll back", () => {
    const r = bash(moveFreezeScript(), { SERVICES, SETTLE_SECONDS: "1", FAKE_STOP_FAILS: "1" });
    assert.equal(r.status, 1);
    assert.deepEqual(counts(r.calls), ["backend=0", "backend=2", "worker=1"]);
    assert.match(r.stderr, /movePhase rollback && pulumi up NOW/);
    assert.equal(r.stdout.trim(), "", "no freeze time: nothing was frozen");
  });
  it("services that do not turn stable at 0: set back, step fails", () => {
    const r = bash(moveFreezeScript(), { SERVICES, SETTLE_SECONDS: "1", FAKE_WAIT_FAILS: "1" });
    assert.equal(r.status, 1);
    assert.deepEqual(counts(r.calls), ["backend=0", "worker=0", "backend=2", "worker=1"]);
  });
  it("the rollback's unfreeze: the declared counts, stable; fails when they do not turn stable", () => {
    const ok = bash(moveUnfreezeScript(), { SERVICES });
    assert.equal(ok.status, 0, ok.stderr);
    assert.deepEqual(counts(ok.calls), ["backend=2", "worker=1"]);
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
  const env = { AWS_REGION: "eu-central-1", LISTENER_ARN: "arn:listener/https", PRIORITY: "2", SERVICES, SETTLE_SECONDS: "15" };
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
    assert.match(r.stderr, /cannot turn the every-request rule .* off: aws's backend and worker go back to 0 tasks/);
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
