// Moves between targets under mocks, for every pair: each phase is planned with
// the previous phase's outputs as the stack's last deployment (what the
// program's self-reference reads), and compared by URN with the plan before it,
// as `pulumi preview` would compare the program with the state.
import { strict as assert } from "assert";
import type { PlanResult, UrnEntry } from "../../scripts/lib/program";
import { mustPlan, plan } from "../helpers/plan";

type T = "vm" | "digitalocean" | "aws";
const STACK: Record<T, string> = { vm: "vm", digitalocean: "do", aws: "aws" };
const NEW_HOST_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINEWHOSTNEWHOSTNEWHOSTNEWHOSTNEWHOSTNEWHOST12";
/** Settings of the new side, given alongside moveTo (vm -> vm: under the moveVm* keys). */
function destination(from: T, to: T): { set: Record<string, string | number | boolean | string[]>; secret: Record<string, string> } {
  if (to === "vm" && from === "vm")
    return { set: { moveVmHost: "203.0.113.77", moveVmHostKey: NEW_HOST_KEY }, secret: { moveVmSshPrivateKey: "NEWHOSTKEYDUMMY" } };
  // A vm side backs up off the host too: its remote is part of the new side's settings.
  if (to === "vm")
    return {
      set: {
        vmHost: "203.0.113.77",
        vmHostKey: NEW_HOST_KEY,
        vmBackupRemoteEndpoint: "https://s3.us-east-1.wasabisys.com",
        vmBackupRemoteBucket: "acme-moved-backups",
        vmBackupRemoteAccessKeyId: "MOVEDBACKUPKEY",
      },
      secret: { vmSshPrivateKey: "NEWHOSTKEYDUMMY", vmBackupRemoteSecretAccessKey: "MOVEDBACKUPSECRET" },
    };
  if (to === "digitalocean") return { set: { doSshCidrs: ["198.51.100.7/32"], doManageDns: false }, secret: {} };
  return { set: {}, secret: {} };
}

const entries = (r: PlanResult) => new Map<string, UrnEntry>(r.byUrn.map((e) => [e.urn, e]));
const underMove = (urn: string) => urn.includes("::freshtrack:move:Move$") || urn.endsWith("::freshtrack:move:Move::move");
const json = (v: unknown) => JSON.stringify(v);

/** The old side's app record, which a move points at the new side where the program manages DNS: checked on its own (below). */
const appDnsRecord = (urn: string) => /[$:]digitalocean:index\/dnsRecord:DnsRecord::dns-app-a$|[$:]aws:route53\/record:Record::app$/.test(urn);

/** Every resource of `before` is in `after` with the same URN, the same inputs and the same protection (the app's DNS record: the same URN). */
function assertUnchanged(before: PlanResult, after: PlanResult, what: string, sameOptions = true) {
  const a = entries(after);
  for (const e of before.byUrn) {
    const x = a.get(e.urn);
    assert.ok(x, `${what}: ${e.urn} would be deleted`);
    if (appDnsRecord(e.urn)) continue;
    assert.equal(json(x!.inputs), json(e.inputs), `${what}: inputs of ${e.urn} changed (update or replace)`);
    if (sameOptions) assert.equal(x!.protect, e.protect, `${what}: protection of ${e.urn} changed`);
  }
}

type Settings = Record<string, string | number | boolean | string[]>;
/** `old`: settings of the serving side, from its first deploy on; `moving`: further settings given with the move keys. */
function phases(from: T, to: T, old: Settings = {}, moving: Settings = {}) {
  const d = destination(from, to);
  const baseline = mustPlan(STACK[from], old, {}, { target: from });
  const step = (phase: string, previous: PlanResult) =>
    mustPlan(STACK[from], { ...d.set, ...old, ...moving, moveTo: to, movePhase: phase }, d.secret, previous.outputs);
  const prepare = step("prepare", baseline);
  const cutover = step("cutover", prepare);
  const retire = step("retire", cutover);
  return { d, baseline, prepare, cutover, retire, step };
}

const PAIRS: [T, T][] = [
  ["vm", "vm"],
  ["vm", "digitalocean"],
  ["digitalocean", "vm"],
  ["vm", "aws"],
  ["aws", "vm"],
  ["digitalocean", "aws"],
  ["aws", "digitalocean"],
];

describe("move digitalocean -> vm: rollback after cutover (mocks)", function () {
  this.timeout(600_000);
  it("the droplet (old side) pulls the new host's data back: its firewall lets SSH out to that host during the rollback, and the copy waits for it", () => {
    const p = phases("digitalocean", "vm");
    const rb = mustPlan("do", { ...p.d.set, moveTo: "vm", movePhase: "rollback" }, p.d.secret, p.cutover.outputs);
    const sshOut = (r: PlanResult) =>
      (
        r.resources.find((x) => x.type === "digitalocean:index/firewall:Firewall" && !x.parent?.includes("move"))?.inputs.outboundRules as {
          portRange?: string;
          destinationAddresses: string[];
        }[]
      ).filter((x) => x.portRange === "22");
    assert.deepEqual(sshOut(p.cutover), [], "no SSH out while the droplet serves");
    assert.deepEqual(
      sshOut(rb).map((x) => x.destinationAddresses),
      [["203.0.113.77/32"]],
    );
    const copyBack = rb.resources.find((r) => r.type === "command:remote:Command" && r.name === "move-copy-back")!;
    assert.ok(copyBack, "move-copy-back declared");
    assert.ok(
      (copyBack.options.dependsOn ?? []).some((u: string) => u.includes("freshtrack:digitalocean:Target")),
      "move-copy-back waits for the droplet's own update",
    );
  });
});

describe("move between hosts behind a NAT: vmEgressAddress, moveVmEgressAddress (mocks)", function () {
  this.timeout(600_000);
  const OLD_EGRESS = "198.51.100.16/28";
  const NEW_EGRESS = "192.0.2.44";
  const createOf = (r: PlanResult, name: string) => String(r.resources.find((x) => x.type === "command:remote:Command" && x.name === name)!.inputs.create);

  it("vm -> vm: the old host accepts the pull from the new host's egress; a rollback's copy back, the new host from the old one's", () => {
    const p = phases("vm", "vm", { vmEgressAddress: OLD_EGRESS }, { moveVmEgressAddress: NEW_EGRESS });
    assert.match(createOf(p.prepare, "move-authorize"), /'--authorize' '192\.0\.2\.44' '203\.0\.113\.77'$/);
    const rb = p.step("rollback", p.cutover);
    assert.match(createOf(rb, "move-authorize-back"), /'--authorize' '198\.51\.100\.16\/28' '203\.0\.113\.10'$/);
  });

  it("vm -> digitalocean rolled back: the droplet lets SSH in from the old host's egress CIDR, not from vmHost", () => {
    const p = phases("vm", "digitalocean", { vmEgressAddress: OLD_EGRESS });
    const rb = p.step("rollback", p.cutover);
    const sshIn = (
      rb.resources.find((x) => x.type === "digitalocean:index/firewall:Firewall")!.inputs.inboundRules as { portRange?: string; sourceAddresses: string[] }[]
    ).find((x) => x.portRange === "22")!.sourceAddresses;
    assert.deepEqual(sshIn, ["198.51.100.7/32", OLD_EGRESS]);
    assert.match(createOf(rb, "move-authorize-back"), /'--authorize' '198\.51\.100\.16\/28' '203\.0\.113\.10'$/);
  });
});

for (const [from, to] of PAIRS) {
  describe(`move ${from} -> ${to} (mocks)`, function () {
    this.timeout(600_000);
    let p: ReturnType<typeof phases>;
    before(() => {
      p = phases(from, to);
    });

    it("a plain target change is refused before any resource is declared", () => {
      if (from === to) return; // vm -> vm has no plain target change; the new host is only reachable through moveVm*
      const o = plan(STACK[from], { ...p.d.set, target: to }, p.d.secret, { target: from });
      assert.equal(o.ok, false);
      assert.match(o.stderr, new RegExp(`target changed from ${from} \\(deployed\\) to ${to}`));
      assert.match(o.stderr, /moveTo/);
      assert.match(o.stderr, /plan: 0 resources declared/);
    });

    it("the move starts only on the program, config and secrets last deployed: refused before any resource otherwise", () => {
      assert.match(
        String((p.baseline.outputs.deployedWith as { program?: string } | undefined)?.program),
        /^[0-9a-f]{64}$/,
        "the deployment records its program",
      );
      const start = { ...p.d.set, moveTo: to, movePhase: "prepare" };
      // A stack an older program deployed (no deployedWith output): its serving side would change with the prepare.
      const older = plan(STACK[from], start, p.d.secret, { target: from, move: null });
      assert.equal(older.ok, false);
      assert.match(older.stderr, /an older program deployed it/);
      assert.match(older.stderr, /plan: 0 resources declared/);
      // Another setting of the serving side changed in the same run as the move's start.
      const changed = plan(STACK[from], { ...start, rateLimitMax: 500 }, p.d.secret, p.baseline.outputs);
      assert.equal(changed.ok, false);
      assert.match(changed.stderr, /config other than the move keys changed since the last deployment \(app settings\)/);
      assert.match(changed.stderr, /plan: 0 resources declared/);
      // A secret set (or rotated) in the same run as the move's start: recorded as a secret output, compared by digest.
      assert.ok(!JSON.stringify(p.baseline.outputs.deployedWith).includes("DUMMYSECRET"));
      assert.ok(p.baseline.outputs.deployedSecrets && "$secret" in (p.baseline.outputs.deployedSecrets as object), "deployedSecrets is a secret output");
      const rotated = plan(STACK[from], start, { ...p.d.secret, ttnApiKey: "ROTATEDTTNKEY" }, p.baseline.outputs);
      assert.equal(rotated.ok, false);
      assert.match(rotated.stderr, /secrets changed since the last deployment \(ttnApiKey: set, removed or given another value\)/);
      assert.ok(!rotated.stderr.includes("ROTATEDTTNKEY"));
      assert.match(rotated.stderr, /plan: 0 resources declared/);
    });

    it("prepare: the old side is unchanged (same URNs, inputs, protection); the new side is created under the move", () => {
      assertUnchanged(p.baseline, p.prepare, "prepare");
      const created = p.prepare.byUrn.filter((e) => !entries(p.baseline).has(e.urn));
      assert.ok(created.length > 5, `new side created (${created.length})`);
      for (const e of created) assert.ok(underMove(e.urn) || e.urn.includes("StackReference"), `created outside the move: ${e.urn}`);
      assert.ok(
        created.some((e) => e.urn.endsWith(`freshtrack:move:Move$freshtrack:${to}:Target::${STACK[from] === "do" ? "do" : STACK[from]}`)),
        "the new target component",
      );
      assert.deepEqual((p.prepare.outputs.move as { phase: string }).phase, "prepare");
      assert.equal(p.prepare.outputs.target, from, "target output stays the serving side");
    });

    it("cutover: the old side is still unchanged; nothing of prepare is deleted", () => {
      assertUnchanged(p.baseline, p.cutover, "cutover");
      const c = entries(p.cutover);
      const gone = p.prepare.byUrn.filter((e) => !c.has(e.urn)).map((e) => e.urn);
      assert.deepEqual(gone, []);
      if (from !== "aws" && to !== "aws") {
        const steps = p.cutover.byUrn.filter((e) => /command:remote:Command::move-/.test(e.urn)).map((e) => e.urn.split("::").pop());
        assert.deepEqual(steps.sort(), ["move-acme", "move-authorize", "move-copy", "move-cutover", "move-forward"]);
      }
    });

    it("retire: the old side keeps its URNs and inputs; its protected resources become unprotected and retained", () => {
      assertUnchanged(p.baseline, p.retire, "retire", false);
      const r = entries(p.retire);
      const protectedOld = p.baseline.byUrn.filter((e) => e.protect && !underMove(e.urn) && !e.urn.includes("random:index/randomPassword"));
      if (from !== "vm") assert.ok(protectedOld.length > 0, "the old cloud side has protected data resources");
      for (const e of protectedOld) {
        assert.equal(r.get(e.urn)!.protect, false, `${e.urn} unprotected`);
        assert.equal(r.get(e.urn)!.retainOnDelete, true, `${e.urn} kept in the cloud when removed`);
      }
      // The lasting secrets are no side's: still protected.
      for (const e of p.retire.byUrn.filter((x) => /random:index\/randomPassword:RandomPassword::(ttn-encryption-salt|backup-encryption-key)$/.test(x.urn)))
        assert.equal(e.protect, true, e.urn);
      // The new side keeps its protection.
      for (const e of p.prepare.byUrn.filter((x) => underMove(x.urn) && x.protect)) assert.equal(r.get(e.urn)!.protect, true, e.urn);
    });
  });
}

describe("move vm -> digitalocean: finish and rollback (mocks)", function () {
  this.timeout(600_000);
  const d = destination("vm", "digitalocean");
  let p: ReturnType<typeof phases>;
  before(() => {
    p = phases("vm", "digitalocean");
  });

  it("the move's steps carry secrets only on stdin (marked secret, logging off for it), never in a command line", () => {
    const steps = p.cutover.resources.filter((r) => r.type === "command:remote:Command" && r.name.startsWith("move-"));
    assert.deepEqual(steps.map((r) => r.name).sort(), ["move-acme", "move-authorize", "move-copy", "move-cutover", "move-forward"]);
    for (const r of steps) {
      const plainText = JSON.stringify({ create: r.inputs.create, delete: r.inputs.delete, triggers: r.inputs.triggers });
      assert.doesNotMatch(plainText, /RNDSECRET|DUMMYSECRET|PRIVATE KEY/, `${r.name}: a secret in its command line`);
      assert.ok((r.inputs.connection as Record<string, unknown>).$secret, `${r.name}: connection (private key) is secret`);
    }
    // The cutover is refused on the host, before any freeze, when the prepare's copy took longer than moveMaxFreezeSeconds.
    assert.match(String(steps.find((x) => x.name === "move-cutover")!.inputs.create), / '--freeze-source' '--max-freeze' '300' '--start-app'$/);
    assert.doesNotMatch(String(steps.find((x) => x.name === "move-copy")!.inputs.create), /--max-freeze/);
    // The retire's last dump says why, and is not a scheduled one (a frozen side's scheduled runs skip).
    const finalBackup = p.retire.resources.find((r) => r.type === "command:remote:Command" && r.name === "move-final-backup");
    assert.match(String(finalBackup?.inputs.create), /\/current\/bin\/backup' '--reason' 'move-retire'$/);
    for (const name of ["move-copy", "move-cutover"]) {
      const r = steps.find((x) => x.name === name)!;
      assert.match(JSON.stringify(r.inputs.stdin), /^\{"\$secret":"-----BEGIN OPENSSH PRIVATE KEY/, `${name}: the pull key arrives on stdin, as a secret`);
      assert.equal(r.inputs.logging, "stdout", `${name}: stdin and stderr not logged`);
      assert.ok(r.options.additionalSecretOutputs?.includes("stdin"), name);
    }
  });

  it("the droplet's steps log in as root (the push's login: the deploy user has no sudo); the pull is authorized from the droplet's own IPv4, the forward goes to its reserved IP", () => {
    const step = (name: string) => p.cutover.resources.find((r) => r.type === "command:remote:Command" && r.name === name)!;
    for (const name of ["move-copy", "move-cutover"]) {
      const conn = (step(name).inputs.connection as { $secret: { user: string; host: string } }).$secret;
      assert.equal(conn.user, "root", `${name} logs in as root`);
      assert.equal(conn.host, "203.0.113.20", `${name} reaches the droplet at its reserved IP`);
      assert.doesNotMatch(String(step(name).inputs.create), /^sudo /, `${name} needs no sudo`);
    }
    // The droplet's cloud firewall lets the pull out to the old host's SSH port during prepare and cutover only.
    const sshOut = (r: PlanResult) =>
      (
        r.resources.find((x) => x.type === "digitalocean:index/firewall:Firewall")?.inputs.outboundRules as {
          portRange?: string;
          destinationAddresses: string[];
        }[]
      ).filter((x) => x.portRange === "22");
    const oldHost = "203.0.113.10"; // vmHost of Pulumi.vm.yaml
    assert.deepEqual(
      sshOut(p.prepare).map((x) => x.destinationAddresses),
      [[`${oldHost}/32`]],
    );
    assert.deepEqual(
      sshOut(p.cutover).map((x) => x.destinationAddresses),
      [[`${oldHost}/32`]],
    );
    assert.deepEqual(sshOut(p.retire), []);
    // A droplet's outbound traffic leaves from its own public IPv4, not from the reserved IP (mocks: 203.0.113.30 / .20).
    assert.match(String(step("move-authorize").inputs.create), /'--authorize' '203\.0\.113\.30' '203\.0\.113\.20'$/);
  });

  it("finish (target digitalocean, move keys removed): deletes exactly the old side and the move steps; nothing protected", () => {
    const fin = mustPlan("vm", { ...d.set, target: "digitalocean" }, d.secret, p.retire.outputs);
    const f = entries(fin);
    const aliased = (urn: string) => urn.replace("::freshtrack:move:Move$", "::");
    // The new side is the same resources, moved to the top level by the alias: same inputs, no replacement.
    for (const e of p.retire.byUrn.filter((x) => underMove(x.urn) && x.urn.includes("freshtrack:digitalocean:Target"))) {
      const x = f.get(aliased(e.urn));
      assert.ok(x, `new side resource ${e.urn} kept`);
      assert.equal(json(x!.inputs), json(e.inputs), `inputs of ${e.urn}`);
    }
    const kept = new Set(fin.byUrn.map((e) => e.urn));
    const deleted = p.retire.byUrn.filter((e) => !kept.has(e.urn) && !kept.has(aliased(e.urn)));
    for (const e of deleted) {
      assert.equal(e.protect, false, `protected resource in the delete set: ${e.urn}`);
      assert.ok(e.urn.includes("::freshtrack:vm:Target") || e.urn.includes("freshtrack:move:Move"), `unexpected delete ${e.urn}`);
    }
    assert.ok(
      deleted.some((e) => e.urn.endsWith("::teardown")),
      "the old host's teardown runs (services stop, data kept)",
    );
    assert.equal(fin.outputs.target, "digitalocean");
    assert.equal(fin.outputs.move, null);
  });

  it("rollback after cutover: the old side stays; the new side is released (unprotected, retained); data comes back first", () => {
    const rb = mustPlan("vm", { ...d.set, moveTo: "digitalocean", movePhase: "rollback" }, d.secret, p.cutover.outputs);
    assertUnchanged(p.baseline, rb, "rollback");
    const steps = rb.byUrn.filter((e) => /command:remote:Command::move-/.test(e.urn)).map((e) => e.urn.split("::").pop());
    assert.deepEqual(steps.sort(), ["move-authorize-back", "move-copy-back", "move-unforward"]);
    for (const e of rb.byUrn.filter((x) => underMove(x.urn) && x.urn.includes("digitalocean:index/databaseCluster"))) {
      assert.equal(e.protect, false);
      assert.equal(e.retainOnDelete, true);
    }
    // The old vm pulls the data back from the droplet (the only droplet here): its firewall lets SSH in from the old host, only for the rollback.
    const sshIn = (r: PlanResult) =>
      (
        r.resources.find((x) => x.type === "digitalocean:index/firewall:Firewall")!.inputs.inboundRules as {
          portRange?: string;
          sourceAddresses: string[];
        }[]
      ).find((x) => x.portRange === "22")!.sourceAddresses;
    assert.deepEqual(sshIn(p.cutover), ["198.51.100.7/32"], "no extra source while the droplet is the new side");
    assert.deepEqual(sshIn(rb), ["198.51.100.7/32", "203.0.113.10/32"], "the old vm host (Pulumi.vm.yaml vmHost) may SSH in for the copy back");
  });
});

const AWS_STEPS = {
  prepare: ["move-import", "move-push"],
  cutover: ["move-conclude", "move-cutover-import", "move-cutover-push", "move-forecast", "move-forward", "move-import", "move-push", "move-scale"],
  retire: ["move-final-backup", "move-forward"],
};

for (const from of ["vm", "digitalocean"] as T[]) {
  describe(`move ${from} -> aws: the data path (mocks)`, function () {
    this.timeout(600_000);
    let p: ReturnType<typeof phases>;
    before(() => {
      p = phases(from, "aws");
    });
    const steps = (r: PlanResult) =>
      r.resources
        .filter((x) => /^command:(remote|local):Command$/.test(x.type) && x.name.startsWith("move-"))
        .map((x) => x.name)
        .sort();
    // One aws side in these pairs: the new one, under the move.
    const res = (r: PlanResult, type: string, name: string) => r.resources.find((x) => x.type === type && x.name === name);
    const step = (r: PlanResult, name: string) => r.resources.find((x) => x.type.startsWith("command:") && x.name === name)!;
    const service = (r: PlanResult, name: string) => res(r, "aws:ecs/service:Service", name)!;

    it("declares per phase: push and import at prepare; the final push, import, scale, conclude and forward at cutover; forward and the final backup at retire", () => {
      assert.deepEqual(steps(p.prepare), AWS_STEPS.prepare);
      assert.deepEqual(steps(p.cutover), AWS_STEPS.cutover);
      assert.deepEqual(steps(p.retire), AWS_STEPS.retire);
      assert.match(String((p.cutover.outputs.moveStatus as { dataPath: string }).dataPath), /push-s3/);
    });

    it("backend and worker of the new side start with 0 tasks and are left to the move until retire (the frontend serves nothing stateful)", () => {
      for (const r of [p.prepare, p.cutover]) {
        for (const name of ["backend", "worker"]) {
          assert.equal(service(r, name).inputs.desiredCount, 0, `${name}: no task before the import`);
          assert.deepEqual(service(r, name).options.ignoreChanges, ["desiredCount"], `${name}: the move scales it`);
        }
      }
      // Retire: the declared count is the one move-scale set (aws backend count 2 in Pulumi.aws.yaml? whatever it is, not 0), no diff ignored.
      for (const name of ["backend", "worker"]) {
        assert.ok(Number(service(p.retire, name).inputs.desiredCount) >= 1, name);
        assert.equal(service(p.retire, name).options.ignoreChanges, undefined, name);
      }
      // The expected "no healthy backend" notifies nobody until then; it alarms again from retire on.
      const alarm = (r: PlanResult) => res(r, "aws:cloudwatch/metricAlarm:MetricAlarm", "alarm-backend-no-healthy-hosts")!.inputs;
      for (const r of [p.prepare, p.cutover]) assert.equal(alarm(r).actionsEnabled, false);
      assert.equal(alarm(p.retire).actionsEnabled, undefined);
      assert.ok((alarm(p.retire).alarmActions as unknown[]).length === 1);
      const scaleEnv = step(p.cutover, "move-scale").inputs.environment as Record<string, string>;
      assert.match(scaleEnv.SERVICES, new RegExp(`^backend=${service(p.retire, "backend").inputs.desiredCount} worker=1$`));
      // The held requests go to the load balancer only once the backend's target group has a healthy target.
      const backendTgs = (service(p.cutover, "backend").inputs.loadBalancers as { targetGroupArn: string }[]).map((l) => l.targetGroupArn);
      assert.equal(backendTgs.length, 1);
      assert.ok(backendTgs[0], "the backend's target group");
      assert.equal(scaleEnv.TARGET_GROUPS, backendTgs[0], "the backend's target group (the worker has none)");
    });

    it("the push key may only write the move's objects and sync the assets bucket; it exists only in prepare and cutover", () => {
      for (const r of [p.prepare, p.cutover]) {
        const policy = JSON.parse(String(res(r, "aws:iam/userPolicy:UserPolicy", "move-push")!.inputs.policy));
        const actions = policy.Statement.flatMap((x: { Action: string[] | string }) => [x.Action].flat());
        for (const a of actions) assert.doesNotMatch(a, /\*/, `no wildcard action: ${a}`);
        assert.ok(res(r, "aws:iam/accessKey:AccessKey", "move-push"));
        assert.ok(res(r, "aws:ecs/taskDefinition:TaskDefinition", "move-import"));
      }
      for (const type of ["aws:iam/user:User", "aws:iam/accessKey:AccessKey", "aws:ecs/taskDefinition:TaskDefinition"])
        assert.equal(res(p.retire, type, type.endsWith("TaskDefinition") ? "move-import" : "move-push"), undefined, `${type} gone at retire`);
    });

    it("secrets: the push key reaches the old host on stdin only (secret, not logged); the local steps see ids and ARNs only", () => {
      for (const name of ["move-push", "move-cutover-push"]) {
        const r = step(p.cutover, name);
        assert.ok(JSON.stringify(r.inputs.stdin).startsWith('{"$secret":'), `${name}: stdin is secret`);
        assert.equal(r.inputs.logging, "stdout", `${name}: stdin not logged`);
        assert.ok(r.options.additionalSecretOutputs?.includes("stdin"), name);
        assert.match(String(r.inputs.create), name === "move-push" ? /'--push-s3'$/ : /'--push-s3' '--freeze'$/);
      }
      for (const name of ["move-import", "move-forecast", "move-cutover-import", "move-scale"]) {
        const r = step(p.cutover, name);
        assert.equal(r.type, "command:local:Command");
        const env = JSON.stringify(r.inputs.environment);
        assert.doesNotMatch(env, /\$secret|secret_access_key|mock-secret|RNDSECRET/, `${name}: environment is not secret`);
      }
      assert.equal((step(p.prepare, "move-import").inputs.environment as Record<string, string>).FAIL_ON_ERROR, "1", "a failed first import fails prepare");
      assert.equal(
        (step(p.cutover, "move-cutover-import").inputs.environment as Record<string, string>).FAIL_ON_ERROR,
        "0",
        "the cutover's import only reports",
      );
    });

    it("order at cutover: the freeze forecast -> final push (freeze) -> import -> scale -> conclude (old host) -> forward", () => {
      const keyOf = (name: string) => `${step(p.cutover, name).type}::${name}`;
      const after = (name: string, before: string) =>
        assert.ok((step(p.cutover, name).options.dependsOn ?? []).includes(keyOf(before)), `${name} waits for ${before}`);
      after("move-forecast", "move-import");
      after("move-cutover-push", "move-forecast");
      // The prepare's push and import times against moveMaxFreezeSeconds (no settle: the old host freezes itself).
      const forecastEnv = step(p.cutover, "move-forecast").inputs.environment as Record<string, string>;
      assert.deepEqual({ max: forecastEnv.MAX_FREEZE, settle: forecastEnv.SETTLE_SECONDS }, { max: "300", settle: "0" });
      assert.ok("PUSH_LINE" in forecastEnv && "IMPORT_LINE" in forecastEnv);
      assert.match(String(step(p.cutover, "move-forecast").inputs.create), /PUSH_LINE/);
      const limited = mustPlan(
        STACK[from],
        { ...destination(from, "aws").set, moveTo: "aws", movePhase: "cutover", moveMaxFreezeSeconds: 120 },
        destination(from, "aws").secret,
        p.prepare.outputs,
      );
      assert.equal((step(limited, "move-forecast").inputs.environment as Record<string, string>).MAX_FREEZE, "120");
      after("move-cutover-import", "move-cutover-push");
      after("move-scale", "move-cutover-import");
      after("move-conclude", "move-scale");
      after("move-forward", "move-conclude");
      // Each local step re-runs when the one before it did (a replaced push is always imported again).
      for (const name of ["move-import", "move-forecast", "move-cutover-import", "move-scale"])
        assert.equal((step(p.cutover, name).inputs.triggers as unknown[]).length, 1, name);
      // The old side forwards to the load balancer, the same address at cutover and at retire (no re-run).
      assert.match(String(step(p.cutover, "move-conclude").inputs.create), /'--conclude' '[^']+'$/);
      assert.equal(step(p.retire, "move-forward").inputs.create, step(p.cutover, "move-forward").inputs.create);
      assert.match(String(step(p.retire, "move-final-backup").inputs.create), /\/current\/bin\/backup' '--reason' 'move-retire'$/);
    });

    it("rollback after cutover copies the aws side's data back: the old host keeps every request, aws's load balancer forwards there, aws stops, exports, the old host imports and serves", () => {
      const d = destination(from, "aws");
      const rb = mustPlan(STACK[from], { ...d.set, moveTo: "aws", movePhase: "rollback" }, d.secret, p.cutover.outputs);
      assertUnchanged(p.baseline, rb, "rollback");
      // (move-forward-ready: the forwarder's health wait before its rule, as on a move off aws.)
      assert.deepEqual(steps(rb), [
        "move-copy-back",
        "move-export-back",
        "move-forward-ready",
        "move-freeze-back",
        "move-give-back",
        "move-take-back",
        "move-undo-back",
        "move-unfreeze",
      ]);
      const create = (name: string) => String(step(rb, name).inputs.create);
      assert.match(create("move-take-back"), /move-export' '--take-back'$/);
      // Reported, not fatal, and only this attempt's export (under mocks none ran).
      assert.match(create("move-copy-back"), /move-import' '--from-s3' '--start-app' '--take-back' '--report-failure' '--export-of' 'none'$/);
      // What the old host kept goes back to where its conclude sent it: aws's load balancer.
      const lb = /'--conclude' '([^']+)'$/.exec(String(step(p.cutover, "move-conclude").inputs.create))![1];
      assert.equal(create("move-give-back").split(" ").slice(-3).join(" "), `'--give-back' '${lb}' '--rollback'`);
      assert.match(create("move-unfreeze"), /'--unfreeze'$/);
      // Order: the forwarder runs -> the old host keeps requests -> every request forwarded to it -> aws stops -> export -> import
      // -> undo when the old host did not serve -> give back -> unfreeze.
      const keyOf = (name: string) => {
        const x = rb.resources.find((y) => y.name === name && y.type.startsWith("command:")) ?? rb.resources.find((y) => y.name === name)!;
        return `${x.type}::${name}`;
      };
      const waits = (name: string, before: string) =>
        assert.ok((step(rb, name).options.dependsOn ?? []).includes(before.includes("::") ? before : keyOf(before)), `${name} waits for ${before}`);
      waits("move-take-back", "aws:ecs/service:Service::move-forward");
      const all = res(rb, "aws:lb/listenerRule:ListenerRule", "move-forward-all")!;
      assert.ok((all.options.dependsOn ?? []).includes(keyOf("move-take-back")), "the rule waits for the old host to hold");
      waits("move-freeze-back", "aws:lb/listenerRule:ListenerRule::move-forward-all");
      waits("move-export-back", "move-freeze-back");
      waits("move-copy-back", "move-export-back");
      waits("move-undo-back", "move-copy-back");
      waits("move-give-back", "move-undo-back");
      waits("move-unfreeze", "move-give-back");
      // Nothing before the old host serves fails the run; a new attempt (move-take-back replaced) runs every step again.
      const env = (name: string) => step(rb, name).inputs.environment as Record<string, string>;
      assert.equal(env("move-export-back").FAIL_ON_ERROR, "0");
      for (const name of ["move-freeze-back", "move-export-back", "move-copy-back", "move-undo-back"])
        assert.equal((step(rb, name).inputs.triggers as unknown[]).length, 1, `${name} re-runs when the step before it did`);
      // The undo sets back what the freeze stopped and turns off the rule the freeze turned on.
      for (const k of ["SERVICES", "TARGET_GROUPS", "LISTENER_ARN", "PRIORITY", "SETTLE_SECONDS"])
        assert.equal(env("move-undo-back")[k], env("move-freeze-back")[k], k);
      assert.ok(env("move-undo-back").TARGET_GROUPS, "the undo waits for a healthy backend target before the rule stops forwarding");
      assert.ok(env("move-undo-back").LISTENER_ARN, "the HTTPS listener");
      // The forwarder sends to the old host's own address.
      const defs = JSON.parse(String(res(rb, "aws:ecs/taskDefinition:TaskDefinition", "move-forward")!.inputs.containerDefinitions)) as {
        name: string;
        environment: { name: string; value: string }[];
      }[];
      const forwardTo = JSON.parse(defs.find((c) => c.name === "forward")!.environment.find((e) => e.name === "FT_HOLD_TARGET")!.value).url;
      const oldHost = String(p.baseline.outputs.hostAddress);
      assert.match(oldHost, /^203\.0\.113\.\d+$/);
      assert.equal(forwardTo, `https://${oldHost}:443`, "the forwarder sends every request to the old host");
      // Secrets: the read key reaches the old host on stdin only; the local steps see ids and ARNs only.
      const copy = step(rb, "move-copy-back");
      assert.ok(JSON.stringify(copy.inputs.stdin).startsWith('{"$secret":'));
      assert.equal(copy.inputs.logging, "stdout");
      for (const name of ["move-freeze-back", "move-export-back", "move-undo-back"])
        assert.doesNotMatch(JSON.stringify(step(rb, name).inputs.environment), /\$secret|secret_access_key|mock-secret|RNDSECRET/, name);
      assert.match((step(rb, "move-freeze-back").inputs.environment as Record<string, string>).SERVICES, /^backend[^ ]*=\d+ worker[^ ]*=1$/);
      // aws's backend and worker are left to the freeze (no update stops them before the old host holds).
      for (const name of ["backend", "worker"]) {
        assert.equal(json(service(rb, name).inputs), json(service(p.cutover, name).inputs), `${name}: inputs as at cutover`);
        assert.deepEqual(service(rb, name).options.ignoreChanges, ["desiredCount"], name);
      }
      // The aws side is released: nothing of it is protected, its data resources retained (the next up removes them from the stack only).
      const awsSide = rb.byUrn.filter((e) => underMove(e.urn));
      const db = awsSide.find((e) => e.urn.endsWith("aws:rds/instance:Instance::db") || /aws:rds\/instance:Instance::/.test(e.urn));
      assert.ok(db, "the aws side's database is under the move");
      assert.equal(db!.protect, false);
      assert.equal(db!.retainOnDelete, true, "retained: its data is kept");
      assert.ok(
        awsSide.every((e) => !e.protect),
        "nothing of the aws side is protected",
      );
      // moveManualDataCopy (the operator copied it): no copy back; the old side's freeze ends, aws runs nothing.
      const manual = mustPlan(STACK[from], { ...d.set, moveTo: "aws", movePhase: "rollback", moveManualDataCopy: true }, d.secret, p.cutover.outputs);
      assert.deepEqual(steps(manual), ["move-unfreeze"]);
      for (const name of ["backend", "worker"]) assert.equal(service(manual, name).inputs.desiredCount, 0, name);
      // Before the cutover nothing was written on aws: no copy back, no key, and aws runs nothing.
      const early = mustPlan(STACK[from], { ...d.set, moveTo: "aws", movePhase: "rollback" }, d.secret, p.prepare.outputs);
      assert.deepEqual(steps(early), []);
      for (const name of ["backend", "worker"]) {
        assert.equal(service(early, name).inputs.desiredCount, 0, `${name}: released side runs nothing`);
        assert.equal(service(early, name).options.ignoreChanges, undefined, name);
      }
    });

    it("rollback after cutover with tlsMode internal (the forwarder could not verify the old host): refused until the operator copied the data back; then only the old side's freeze ends", () => {
      const d = destination(from, "aws");
      const internal = { ...d.set, tlsMode: "internal" };
      const cut = mustPlan(STACK[from], { ...internal, moveTo: "aws", movePhase: "cutover" }, d.secret, p.prepare.outputs);
      const refused = plan(STACK[from], { ...internal, moveTo: "aws", movePhase: "rollback" }, d.secret, cut.outputs);
      assert.equal(refused.ok, false);
      assert.match(refused.stderr, /does not copy the aws side's data back/);
      assert.match(refused.stderr, /plan: 0 resources declared/);
      const rb = mustPlan(STACK[from], { ...internal, moveTo: "aws", movePhase: "rollback", moveManualDataCopy: true }, d.secret, cut.outputs);
      assert.deepEqual(steps(rb), ["move-unfreeze"]);
      for (const name of ["backend", "worker"]) assert.equal(service(rb, name).inputs.desiredCount, 0, `${name}: released side runs nothing`);
    });
  });
}

const FROM_AWS_STEPS = {
  prepare: ["move-copy", "move-export"],
  cutover: [
    "move-check",
    "move-copy",
    "move-cutover",
    "move-cutover-export",
    "move-export",
    "move-forecast",
    "move-freeze",
    "move-give-back",
    "move-hold",
    "move-undo",
  ],
};
const FORWARDER = ["aws:ecs/service:Service::move-forward", "aws:lb/targetGroup:TargetGroup::move-forward", "aws:lb/targetGroup:TargetGroup::move-acme"];

for (const to of ["vm", "digitalocean"] as T[]) {
  describe(`move aws -> ${to}: the data path and the forward (mocks)`, function () {
    this.timeout(600_000);
    let p: ReturnType<typeof phases>;
    before(() => {
      p = phases("aws", to);
    });
    // The move's own resources (its steps and the old side's move resources), not the new target's.
    const own = (r: PlanResult) => r.resources.filter((x) => x.parent?.endsWith("freshtrack:move:Move::move") && !x.type.startsWith("freshtrack:"));
    const steps = (r: PlanResult) =>
      own(r)
        .filter((x) => /^command:(remote|local):Command$/.test(x.type) && x.name.startsWith("move-") && x.name !== "move-forward-ready")
        .map((x) => x.name)
        .sort();
    const named = (r: PlanResult, type: string, name: string) => own(r).find((x) => x.type === type && x.name === name);
    const step = (r: PlanResult, name: string) => own(r).find((x) => x.type.startsWith("command:") && x.name === name)!;
    const rules = (r: PlanResult) =>
      own(r)
        .filter((x) => x.type === "aws:lb/listenerRule:ListenerRule")
        .map((x) => x.name)
        .sort();
    // A step's key (an export step and the export's task definition share the name).
    const keyOf = (r: PlanResult, name: string) => {
      const x = own(r).find(
        (y) => y.name === name && (y.type.startsWith("command:") || !own(r).some((z) => z.name === name && z.type.startsWith("command:"))),
      )!;
      return `${x.type}::${name}`;
    };
    const after = (r: PlanResult, name: string, before: string) =>
      assert.ok((step(r, name).options.dependsOn ?? []).includes(keyOf(r, before)), `${name} waits for ${before}`);

    it("declares per phase: export and copy at prepare; hold, freeze, final export, cutover and check at cutover; only the forwarder at retire", () => {
      assert.deepEqual(steps(p.prepare), FROM_AWS_STEPS.prepare);
      assert.deepEqual(steps(p.cutover), FROM_AWS_STEPS.cutover);
      assert.deepEqual(steps(p.retire), []);
      assert.match(String((p.cutover.outputs.moveStatus as { dataPath: string }).dataPath), /export task .* --from-s3/);
      // The export and the pull key exist while data moves; the forwarder until the old side is removed.
      for (const r of [p.prepare, p.cutover]) {
        assert.ok(named(r, "aws:ecs/taskDefinition:TaskDefinition", "move-export"));
        assert.ok(named(r, "aws:iam/accessKey:AccessKey", "move-pull"));
      }
      assert.equal(named(p.retire, "aws:iam/accessKey:AccessKey", "move-pull"), undefined, "the pull key is gone at retire");
      assert.equal(named(p.retire, "aws:ecs/taskDefinition:TaskDefinition", "move-export"), undefined);
      for (const r of [p.prepare, p.cutover, p.retire])
        for (const k of FORWARDER)
          assert.ok(
            own(r).some((x) => `${x.type}::${x.name}` === k),
            `${k} declared`,
          );
    });

    it("the listener rules: ACME challenges from prepare, every request from cutover, both ahead of the app's own rules, on the old listener", () => {
      assert.deepEqual(rules(p.prepare), ["move-acme", "move-forward-standby"]);
      assert.deepEqual(rules(p.cutover), ["move-acme", "move-forward-all", "move-forward-standby"]);
      assert.deepEqual(rules(p.retire), rules(p.cutover));
      const appRules = p.cutover.resources.filter((x) => x.type === "aws:lb/listenerRule:ListenerRule" && x.name.startsWith("to-backend-"));
      assert.ok(appRules.length > 0);
      const lowestApp = Math.min(...appRules.map((x) => Number(x.inputs.priority)));
      for (const name of ["move-acme", "move-forward-all"]) {
        const rule = named(p.cutover, "aws:lb/listenerRule:ListenerRule", name)!;
        assert.ok(Number(rule.inputs.priority) < lowestApp, `${name} is evaluated before the app's rules`);
        assert.equal(rule.inputs.listenerArn, appRules[0].inputs.listenerArn, `${name} on the old side's HTTPS listener`);
      }
      const all = named(p.cutover, "aws:lb/listenerRule:ListenerRule", "move-forward-all")!;
      assert.deepEqual((all.inputs.conditions as { pathPattern: { values: string[] } }[])[0].pathPattern.values, ["/*"]);
      // Steps turn it off (an undone cutover, a copy back): a refresh must not turn it on again.
      assert.deepEqual(all.options.ignoreChanges, ["conditions"]);
      assert.equal(named(p.cutover, "aws:lb/listenerRule:ListenerRule", "move-acme")!.options.ignoreChanges, undefined);
      // The same rule at retire: no replacement while clients still reach the load balancer.
      assert.equal(json(named(p.retire, "aws:lb/listenerRule:ListenerRule", "move-forward-all")!.inputs), json(all.inputs));
    });

    it("order at cutover: the freeze forecast -> the new host holds -> every request forwarded -> freeze -> final export -> import and start -> undo if it did not serve -> give back -> check", () => {
      const all = named(p.cutover, "aws:lb/listenerRule:ListenerRule", "move-forward-all")!;
      assert.ok((all.options.dependsOn ?? []).includes(keyOf(p.cutover, "move-hold")), "the rule waits for the new host to hold");
      assert.ok((all.options.dependsOn ?? []).includes(keyOf(p.cutover, "move-forward-ready")), "the rule waits for a healthy forwarder");
      assert.ok((step(p.cutover, "move-freeze").options.dependsOn ?? []).includes(`aws:lb/listenerRule:ListenerRule::move-forward-all`));
      after(p.cutover, "move-forecast", "move-copy");
      after(p.cutover, "move-hold", "move-forecast");
      const forecastEnv = step(p.cutover, "move-forecast").inputs.environment as Record<string, string>;
      assert.deepEqual({ max: forecastEnv.MAX_FREEZE, settle: forecastEnv.SETTLE_SECONDS }, { max: "300", settle: "15" }, "moveMaxFreezeSeconds' default");
      after(p.cutover, "move-cutover-export", "move-freeze");
      after(p.cutover, "move-cutover", "move-cutover-export");
      after(p.cutover, "move-undo", "move-cutover");
      after(p.cutover, "move-give-back", "move-undo");
      after(p.cutover, "move-check", "move-give-back");
      after(p.prepare, "move-copy", "move-export");
      assert.match(String(step(p.prepare, "move-copy").inputs.create), /move-import' '--from-s3' '--keep-app-stopped'$/);
      // The export of this attempt only (its freeze's start; under mocks no export ran: none).
      assert.match(String(step(p.cutover, "move-cutover").inputs.create), /move-import' '--from-s3' '--start-app' '--report-failure' '--export-of' 'none'$/);
      assert.match(String(step(p.cutover, "move-give-back").inputs.create), /move-export' '--give-back' '[^']+'$/);
      assert.match(String(step(p.cutover, "move-hold").inputs.create), /move-forward' '--hold'$/);
      // Each import re-runs when its export did (a new export is always imported again), and so does what follows.
      for (const name of ["move-copy", "move-cutover", "move-cutover-export", "move-undo", "move-check"])
        assert.equal((step(p.cutover, name).inputs.triggers as unknown[]).length, 1, name);
      // Until the new host serves nothing fails the run: the export reports after a freeze that did not happen.
      const exportEnv = step(p.cutover, "move-cutover-export").inputs.environment as Record<string, string>;
      assert.equal(exportEnv.FAIL_ON_ERROR, "0");
      assert.match(String(step(p.cutover, "move-cutover-export").inputs.create), /FREEZE_REPORT/);
      assert.equal((step(p.prepare, "move-export").inputs.environment as Record<string, string>).FAIL_ON_ERROR, "1", "the prepare's export fails its step");
      const undoEnv = step(p.cutover, "move-undo").inputs.environment as Record<string, string>;
      for (const k of ["AWS_REGION", "CLUSTER", "SERVICES", "TARGET_GROUPS", "LISTENER_ARN", "PRIORITY", "SETTLE_SECONDS"])
        assert.ok(undoEnv[k], `move-undo: ${k}`);
      assert.equal(undoEnv.SERVICES, (step(p.cutover, "move-freeze").inputs.environment as Record<string, string>).SERVICES);
      const freezeEnv = step(p.cutover, "move-freeze").inputs.environment as Record<string, string>;
      assert.match(freezeEnv.SERVICES, /^backend[^ ]*=\d+ worker[^ ]*=1$/);
      assert.equal(freezeEnv.SETTLE_SECONDS, "15");
      // The freeze turns the every-request rule on first (the same rule the undo turns off).
      assert.deepEqual([freezeEnv.LISTENER_ARN, freezeEnv.PRIORITY], [undoEnv.LISTENER_ARN, undoEnv.PRIORITY]);
      const check = step(p.cutover, "move-check").inputs.environment as Record<string, string>;
      assert.equal(check.DOMAIN, "app.dairy-coop.example");
      assert.equal(check.HEALTH, "/health");
    });

    it("from cutover the old backend and worker ignore desiredCount drift (the freeze set them to 0), with their inputs unchanged", () => {
      const old = (r: PlanResult, name: string) =>
        r.resources.find((x) => x.type === "aws:ecs/service:Service" && x.name === name && !x.parent?.endsWith("freshtrack:move:Move::move"))!;
      for (const name of ["backend", "worker"]) {
        assert.equal(old(p.prepare, name).options.ignoreChanges, undefined, `${name}: prepare changes nothing`);
        for (const r of [p.cutover, p.retire]) {
          assert.ok(old(r, name).options.ignoreChanges?.includes("desiredCount"), name);
          assert.equal(json(old(r, name).inputs), json(old(p.baseline, name).inputs), `${name}: inputs unchanged`);
        }
      }
    });

    it("secrets: the pull key reaches the new host on stdin only (secret, not logged), may only read; the local steps see ids and ARNs only", () => {
      for (const name of ["move-copy", "move-cutover"]) {
        const r = step(p.cutover, name);
        assert.ok(JSON.stringify(r.inputs.stdin).startsWith('{"$secret":'), `${name}: stdin is secret`);
        assert.equal(r.inputs.logging, "stdout", `${name}: stdin not logged`);
        assert.ok(r.options.additionalSecretOutputs?.includes("stdin"), name);
      }
      for (const name of ["move-export", "move-forecast", "move-freeze", "move-cutover-export", "move-undo", "move-check"]) {
        const env = JSON.stringify(step(p.cutover, name).inputs.environment);
        assert.doesNotMatch(env, /\$secret|secret_access_key|mock-secret|RNDSECRET/, `${name}: environment is not secret`);
      }
      const policy = JSON.parse(String(named(p.cutover, "aws:iam/userPolicy:UserPolicy", "move-pull")!.inputs.policy));
      const actions: string[] = policy.Statement.flatMap((x: { Action: string[] | string }) => [x.Action].flat());
      for (const a of actions) assert.match(a, /^(s3:GetObject|s3:ListBucket|kms:Decrypt)$/, `read only: ${a}`);
    });

    it("rollback: before cutover nothing to copy and the forwarder goes; after it the new host's writes come back: push (its freeze) -> import -> scale -> rule off -> conclude", () => {
      const d = destination("aws", to);
      const early = mustPlan("aws", { ...d.set, moveTo: to, movePhase: "rollback" }, d.secret, p.prepare.outputs);
      assert.deepEqual(steps(early), []);
      for (const k of FORWARDER) assert.ok(!own(early).some((x) => `${x.type}::${x.name}` === k), `${k} removed`);
      assertUnchanged(p.baseline, early, "rollback");

      const rb = mustPlan("aws", { ...d.set, moveTo: to, movePhase: "rollback" }, d.secret, p.cutover.outputs);
      assertUnchanged(p.baseline, rb, "rollback");
      assert.deepEqual(steps(rb), ["move-conclude-back", "move-import-back", "move-push-back", "move-scale-back", "move-unforward-back"]);
      // The forwarder and its rules are not declared: Pulumi deletes them at the end of the run, after every step.
      assert.deepEqual(rules(rb), []);
      for (const k of FORWARDER) assert.ok(!own(rb).some((x) => `${x.type}::${x.name}` === k), `${k} goes at the end`);
      // The push key and the import task for the way back; the export key and task are gone.
      assert.ok(named(rb, "aws:iam/accessKey:AccessKey", "move-push"));
      assert.ok(named(rb, "aws:ecs/taskDefinition:TaskDefinition", "move-import"));
      assert.equal(named(rb, "aws:iam/accessKey:AccessKey", "move-pull"), undefined);
      after(rb, "move-import-back", "move-push-back");
      after(rb, "move-scale-back", "move-import-back");
      after(rb, "move-unforward-back", "move-scale-back");
      after(rb, "move-conclude-back", "move-unforward-back");
      assert.match(String(step(rb, "move-push-back").inputs.create), /move-export' '--push-s3' '--freeze' '--back'$/);
      assert.match(String(step(rb, "move-conclude-back").inputs.create), /move-export' '--conclude' '[^']+' '--back'$/);
      const push = step(rb, "move-push-back");
      assert.ok(JSON.stringify(push.inputs.stdin).startsWith('{"$secret":'), "the push key on stdin, secret");
      assert.equal(push.inputs.logging, "stdout");
      for (const name of ["move-import-back", "move-scale-back", "move-unforward-back"]) {
        const env = JSON.stringify(step(rb, name).inputs.environment);
        assert.doesNotMatch(env, /\$secret|secret_access_key|mock-secret|RNDSECRET/, `${name}: environment is not secret`);
        assert.equal((step(rb, name).inputs.triggers as unknown[]).length, 1, `${name} re-runs when the step before it did`);
      }
      const offEnv = step(rb, "move-unforward-back").inputs.environment as Record<string, string>;
      assert.equal(offEnv.PRIORITY, "2", "the every-request rule's priority");
      assert.match(offEnv.SERVICES, /^backend[^ ]*=\d+ worker[^ ]*=1$/);
      // The old services are left to the copy back (the scale step starts them), their inputs unchanged.
      const old = (r: PlanResult, name: string) =>
        r.resources.find((x) => x.type === "aws:ecs/service:Service" && x.name === name && !x.parent?.endsWith("freshtrack:move:Move::move"))!;
      for (const name of ["backend", "worker"]) {
        assert.ok(old(rb, name).options.ignoreChanges?.includes("desiredCount"), name);
        assert.equal(json(old(rb, name).inputs), json(old(p.baseline, name).inputs), `${name}: inputs unchanged`);
      }

      // moveManualDataCopy (the operator copied it back): the old services come back first, then the rules go.
      const manual = mustPlan("aws", { ...d.set, moveTo: to, movePhase: "rollback", moveManualDataCopy: true }, d.secret, p.cutover.outputs);
      assert.deepEqual(steps(manual), ["move-unfreeze"]);
      assert.match(String(step(manual, "move-unfreeze").inputs.create), /desired-count/);
      assert.deepEqual(rules(manual), [], "the rules go (after the services are back: deletes run last)");
      for (const name of ["backend", "worker"]) assert.equal(old(manual, name).options.ignoreChanges, undefined, name);
    });
  });
}

/**
 * The old side's own DNS record (doManageDns on the droplet, awsRoute53ZoneId on aws). Where the new
 * side has an address an A record holds, the program lowers the TTL at prepare and points it there
 * at cutover; otherwise the operator changes it by hand (moveStatus.dns) and the program neither puts
 * it back nor deletes it. Either way the finish leaves it in the zone.
 */
describe("move off a side whose DNS the program manages: the app's record (mocks)", function () {
  this.timeout(600_000);
  const DO_RECORD = { type: "digitalocean:index/dnsRecord:DnsRecord", name: "dns-app-a" };
  const R53_RECORD = { type: "aws:route53/record:Record", name: "app" };
  const ZONE = { awsRoute53ZoneId: "Z0123456789ABCDEFGHIJ" };
  /** The phases, a rollback after cutover, and the finishing run after retire. */
  function run(from: T, to: T, old: Settings) {
    const p = phases(from, to, old);
    const rollback = p.step("rollback", p.cutover);
    const finish = mustPlan(STACK[from], { ...p.d.set, ...old, target: to }, p.d.secret, p.retire.outputs);
    return { ...p, rollback, finish };
  }
  const record = (r: PlanResult, rec: { type: string; name: string }) =>
    r.resources.find((x) => x.type === rec.type && x.name === rec.name && !x.parent?.endsWith("freshtrack:move:Move::move"));
  // URNs name the parent type chain: "...$TYPE::NAME".
  const entry = (r: PlanResult, rec: { type: string; name: string }) => r.byUrn.find((e) => e.urn.endsWith(`$${rec.type}::${rec.name}`) && !underMove(e.urn));
  const newAddress = (r: PlanResult) => String((r.outputs.moveStatus as { newHostAddress: string }).newHostAddress);
  const without = (o: unknown, ...keys: string[]) => Object.fromEntries(Object.entries(o as Record<string, unknown>).filter(([k]) => !keys.includes(k)));

  it("digitalocean -> vm (host given as IPv4): TTL lowered at prepare, the A record pointed at the new host at cutover, retained at retire, back at the droplet in a rollback, left in the zone by the finish", () => {
    const p = run("digitalocean", "vm", {});
    const base = record(p.baseline, DO_RECORD)!.inputs;
    assert.equal(base.ttl, 300);
    assert.deepEqual(record(p.prepare, DO_RECORD)!.inputs, { ...base, ttl: 60 }, "prepare: the TTL only");
    for (const r of [p.cutover, p.retire]) assert.deepEqual(record(r, DO_RECORD)!.inputs, { ...base, ttl: 60, value: "203.0.113.77" });
    assert.equal(newAddress(p.cutover), "203.0.113.77");
    assert.deepEqual(record(p.rollback, DO_RECORD)!.inputs, base, "rollback: the droplet's reserved IP and TTL again");
    for (const [phase, r] of Object.entries({ prepare: p.prepare, cutover: p.cutover, retire: p.retire, rollback: p.rollback })) {
      assert.equal(record(r, DO_RECORD)!.options.ignoreChanges, undefined, `${phase}: the program's record`);
      assert.equal(entry(r, DO_RECORD)!.retainOnDelete, phase === "retire", `${phase}: retained only once retired`);
    }
    assert.equal(p.finish.outputs.target, "vm");
    assert.equal(record(p.finish, DO_RECORD), undefined, "no longer declared: the retire run's state says retain, the engine leaves it in the zone");
    const dns = (r: PlanResult) => ((r.outputs.moveStatus as { dns: string[] }).dns ?? []).join(" ");
    assert.match(dns(p.prepare), /This run lowers the TTL of app\.\S+ to 60 s/);
    assert.match(dns(p.cutover), /This run points app\.\S+ at the new side once every cutover step succeeded: A \S+ -> 203\.0\.113\.77/);
  });

  it("aws -> vm and aws -> digitalocean (Route 53): the alias untouched at prepare, an A record to the new address at cutover, retained at retire, the alias again in a rollback", () => {
    for (const to of ["vm", "digitalocean"] as T[]) {
      const p = run("aws", to, ZONE);
      const base = record(p.baseline, R53_RECORD)!.inputs;
      assert.ok(Array.isArray(base.aliases) && (base.aliases as unknown[]).length === 1, `${to}: an alias to the load balancer`);
      assert.deepEqual(record(p.prepare, R53_RECORD)!.inputs, base, `${to}: prepare leaves the alias (it has no TTL of its own)`);
      const address = newAddress(p.cutover);
      if (to === "vm") assert.equal(address, "203.0.113.77");
      for (const r of [p.cutover, p.retire]) assert.deepEqual(record(r, R53_RECORD)!.inputs, { ...without(base, "aliases"), records: [address], ttl: 60 }, to);
      assert.deepEqual(record(p.rollback, R53_RECORD)!.inputs, base, `${to}: the alias again`);
      assert.equal(entry(p.retire, R53_RECORD)!.retainOnDelete, true);
      assert.equal(entry(p.cutover, R53_RECORD)!.retainOnDelete, false);
      // ACM's validation record stays as it was.
      const validation = (r: PlanResult) => record(r, { type: R53_RECORD.type, name: "cert-validation" });
      assert.deepEqual(validation(p.retire)!.inputs, validation(p.baseline)!.inputs);
      assert.equal(record(p.finish, R53_RECORD), undefined);
    }
  });

  it("no address an A record can hold (a vm host given by name; a load balancer): the record is left to the operator, never put back nor deleted", () => {
    const cases: { from: T; to: T; set: Settings; rec: { type: string; name: string }; fields: string[] }[] = [
      { from: "digitalocean", to: "vm", set: { vmHost: "new-host.bakery-co.example" }, rec: DO_RECORD, fields: ["value", "ttl"] },
      { from: "digitalocean", to: "aws", set: {}, rec: DO_RECORD, fields: ["value", "ttl"] },
    ];
    for (const c of cases) {
      const { baseline, prepare, cutover, retire } = phases(c.from, c.to, {}, c.set);
      for (const [phase, r] of Object.entries({ prepare, cutover, retire })) {
        assert.deepEqual(record(r, c.rec)!.inputs, record(baseline, c.rec)!.inputs, `${c.from} -> ${c.to} ${phase}: inputs unchanged`);
        assert.deepEqual(record(r, c.rec)!.options.ignoreChanges, c.fields, `${c.from} -> ${c.to} ${phase}: the operator's changes stay`);
        assert.equal(entry(r, c.rec)!.retainOnDelete, phase === "retire", `${c.from} -> ${c.to} ${phase}`);
      }
      assert.match(((cutover.outputs.moveStatus as { dns: string[] }).dns ?? []).join(" "), /After this up succeeded: change /);
    }
  });
});
